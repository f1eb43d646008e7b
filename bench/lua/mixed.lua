-- wrk script of the mixed scenario ("a helpdesk's day"): every connection sends a mix of operations, and the
-- latency of each is kept per operation. Run with as many threads as connections (-tN -cN): each wrk thread has
-- its own Lua state and one connection, so request() and response() alternate and the time between them is that
-- request's latency (wrk itself keeps only one histogram for all).
--   WRK_OPS     one operation a line: name <TAB> weight <TAB> method <TAB> path <TAB> body (may be empty).
--               In path and body: {ticket} a random ticket id in 1..WRK_TICKET_MAX; {own} the next of this
--               thread's own tickets, {status} the status it moves to (the two of WRK_STATUSES in turn, default
--               "open,pending": each own ticket is in the first at the start and only this thread changes it);
--               %SENT_US% the send time (µs since the epoch) and %N% a per-thread counter, as in load.lua.
--   WRK_TICKET_MAX, WRK_OWNED (comma-separated ids, dealt to the threads in turn), WRK_THREADS (-t),
--   WRK_AUTH (Authorization).
--   WRK_SAMPLES file done() writes: "<op> <latency µs> <status>" a line.
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } nixflow_timespec;
int clock_gettime(int clk_id, nixflow_timespec *tp);
]]
local ts = ffi.new("nixflow_timespec")
local function now_us(clock)
  ffi.C.clock_gettime(clock, ts)
  return tonumber(ts.tv_sec) * 1000000 + math.floor(tonumber(ts.tv_nsec) / 1000)
end
local REALTIME, MONOTONIC = 0, 1

local function split(text, sep)
  local parts = {}
  for part in (text .. sep):gmatch("(.-)" .. sep) do parts[#parts + 1] = part end
  return parts
end

local threads = {}

function setup(thread) -- in the main state, just before the thread's init()
  threads[#threads + 1] = thread
  thread:set("thread_index", #threads)
end

local ops, cycle, position = {}, {}, 0
local owned, own_status, own_next = {}, {}, 0
local ticket_max, counter = 1, 0
local current, started, moving = nil, 0, nil
local get_headers, body_headers = {}, { ["Content-Type"] = "application/json" }
local first, second = "open", "pending"
samples = {} -- read back by done() in the main state: "<op> <µs> <status>" strings

function init(_)
  local auth = os.getenv("WRK_AUTH") or ""
  if auth ~= "" then
    get_headers["Authorization"], body_headers["Authorization"] = auth, auth
  end
  local thread_count = tonumber(os.getenv("WRK_THREADS") or "1") or 1
  first, second = (os.getenv("WRK_STATUSES") or "open,pending"):match("([^,]+),([^,]+)")
  ticket_max = tonumber(os.getenv("WRK_TICKET_MAX") or "1") or 1
  for line in (os.getenv("WRK_OPS") or ""):gmatch("[^\n]+") do
    local f = split(line, "\t")
    ops[#ops + 1] = { name = f[1], weight = tonumber(f[2]), method = f[3], path = f[4], body = f[5] or "" }
  end
  for _, op in ipairs(ops) do
    for _ = 1, op.weight do cycle[#cycle + 1] = op end
  end
  math.randomseed(thread_index * 7919)
  for i = #cycle, 2, -1 do -- Fisher-Yates: each thread its own order of the same exact mix
    local j = math.random(i)
    cycle[i], cycle[j] = cycle[j], cycle[i]
  end
  position = thread_index -- the threads do not start in step
  local index = 0
  for id in (os.getenv("WRK_OWNED") or ""):gmatch("[^,]+") do
    if index % thread_count == thread_index - 1 then
      owned[#owned + 1] = id
      own_status[id] = first
    end
    index = index + 1
  end
end

-- The status an own ticket moves to is taken as its status once the server says 2xx (response()): wrk calls
-- request() once more than it sends, in thread 1, to check the request.
local function fill(text)
  moving = nil
  if text:find("{own}", 1, true) then
    own_next = own_next % #owned + 1
    local own = owned[own_next]
    moving = { id = own, to = own_status[own] == first and second or first }
  end
  text = text:gsub("{ticket}", function() return tostring(math.random(ticket_max)) end)
  if moving then text = text:gsub("{own}", moving.id):gsub("{status}", moving.to) end
  text = text:gsub("%%SENT_US%%", function() return string.format("%.0f", now_us(REALTIME)) end)
  return (text:gsub("%%N%%", tostring(counter)))
end

function request()
  position = position % #cycle + 1
  current = cycle[position]
  counter = counter + 1
  local path = current.path
  local body = current.body
  if #owned == 0 and (path:find("{own}", 1, true) or body:find("{own}", 1, true)) then
    error("an operation needs own tickets, and this thread has none: give WRK_OWNED at least one id a thread")
  end
  -- one fill of path and body together, so {own} names the same ticket in both
  local filled = fill(path .. "\0" .. body)
  local at = filled:find("\0", 1, true)
  path, body = filled:sub(1, at - 1), filled:sub(at + 1)
  started = now_us(MONOTONIC)
  if body == "" then return wrk.format(current.method, path, get_headers, nil) end
  return wrk.format(current.method, path, body_headers, body)
end

function response(status, _, _)
  -- 409: the ticket already had that status (a move answered after an earlier run stopped): in step again
  if moving and (status < 300 or status == 409) then own_status[moving.id] = moving.to end
  samples[#samples + 1] = string.format("%s %d %d", current.name, now_us(MONOTONIC) - started, status)
end

function done(s, lat, _)
  local path = os.getenv("WRK_SAMPLES")
  local out = assert(io.open(path, "w"))
  for _, thread in ipairs(threads) do
    for _, line in ipairs(thread:get("samples")) do out:write(line, "\n") end
  end
  out:close()
  local e = s.errors
  io.write(string.format(
    "WRK_RESULT requests=%d duration_us=%d http4xx5xx=%d sockerr=%d p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f\n",
    s.requests, s.duration, e.status, e.connect + e.read + e.write + e.timeout,
    lat:percentile(50) / 1000, lat:percentile(90) / 1000, lat:percentile(99) / 1000, lat.max / 1000))
end
