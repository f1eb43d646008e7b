-- wrk script for every HTTP scenario of `python -m bench`.
--   WRK_BODY  JSON body to POST (else GET); "%SENT_US%" in it becomes the send time (µs since the epoch)
--             and "%N%" a per-process counter, so each ticket carries the instant it was (meant to be) sent.
--   WRK_AUTH  Authorization header value.
--   WRK_RATE  offered rate (requests/s, whole process; run with -t1): open loop on a fixed schedule.
--             Request k is due at start + k / rate; a connection waits for its slot (delay()), and when
--             the server is late the next request goes at once and still carries its *intended* send
--             time, so late answers are charged in full (no coordinated omission, as in wrk2).
-- Prints one machine-readable WRK_RESULT line at the end.
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } nixflow_timespec;
int clock_gettime(int clk_id, nixflow_timespec *tp);
]]
local ts = ffi.new("nixflow_timespec")
local function now_us()
  ffi.C.clock_gettime(0, ts) -- CLOCK_REALTIME: the clock the database timestamps and the runner use
  return tonumber(ts.tv_sec) * 1000000 + math.floor(tonumber(ts.tv_nsec) / 1000)
end

local body, auth = os.getenv("WRK_BODY") or "", os.getenv("WRK_AUTH") or ""
local rate = tonumber(os.getenv("WRK_RATE") or "") or 0
local dynamic = body:find("%SENT_US%", 1, true) ~= nil
local counter, start_us, slot, slots = 0, nil, 0, {}

if body ~= "" then
  wrk.method = "POST"
  wrk.body = body
  wrk.headers["Content-Type"] = "application/json"
end
if auth ~= "" then wrk.headers["Authorization"] = auth end

if rate > 0 then
  function delay()
    local now = now_us()
    start_us = start_us or now
    local due = start_us + slot * 1000000 / rate
    slot = slot + 1
    slots[#slots + 1] = due
    local wait_ms = math.ceil((due - now) / 1000)
    if wait_ms < 0 then return 0 end
    return wait_ms
  end
end

if dynamic then
  function request()
    counter = counter + 1
    local sent = now_us()
    if #slots > 0 then sent = table.remove(slots, 1) end
    local b = body:gsub("%%SENT_US%%", string.format("%.0f", sent)):gsub("%%N%%", tostring(counter))
    return wrk.format(nil, nil, nil, b)
  end
end

function done(s, lat, _)
  local e = s.errors
  io.write(string.format(
    "WRK_RESULT requests=%d duration_us=%d http4xx5xx=%d sockerr=%d p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f\n",
    s.requests, s.duration, e.status, e.connect + e.read + e.write + e.timeout,
    lat:percentile(50) / 1000, lat:percentile(90) / 1000, lat:percentile(99) / 1000, lat.max / 1000))
end
