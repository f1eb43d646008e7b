// Every page: forms that call the API, sign out, SLA countdowns, and live refresh of the page's regions.
import { api, bindApiControls, flash, problemText, showCarriedFlash } from "./api.js";
import { formatSpan, t } from "./i18n.js";
import { connect } from "./live.js";
import "./bell.js";
import "./zone.js";

const body = document.body;

// Re-render the page on the server and swap in its live regions (`data-live`), leaving forms alone.
// Under a stream of events a page refreshes at most once per MIN_GAP_MS with one request in flight,
// and always once more after the last event: the server renders a bounded number of pages per client.
const MIN_GAP_MS = 250;
async function refresh() {
  const response = await fetch(location.href, { headers: { Accept: "text/html" }, credentials: "same-origin" });
  if (!response.ok) return;
  const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
  for (const region of document.querySelectorAll("[data-live]")) {
    const next = fresh.querySelector(`[data-live="${region.dataset.live}"]`);
    if (!next) continue;
    const edits = editsIn(region);
    const imported = document.importNode(next, true);
    region.replaceWith(imported);
    keepEdits(imported, edits);
  }
  tick();
  document.dispatchEvent(new CustomEvent("nixflow:refreshed"));
}

// What the user has chosen or typed in a region's controls and not sent yet (by control id): a live refresh
// shows the ticket's new state but keeps a choice in progress, as long as it is still offered.
function editsIn(region) {
  const edits = new Map();
  for (const control of region.querySelectorAll("select[id], input[id], textarea[id]")) {
    if (control instanceof HTMLSelectElement) {
      const chosen = control.selectedOptions[0];
      if (chosen && !chosen.defaultSelected && (control.options[0] !== chosen || control.querySelector("option[selected]"))) {
        edits.set(control.id, chosen.value);
      }
    } else if (control.type === "checkbox") {
      if (control.checked !== control.defaultChecked) edits.set(control.id, control.checked);
    } else if (control.type !== "file" && control.value !== control.defaultValue) {
      edits.set(control.id, control.value);
    }
  }
  return edits;
}

function keepEdits(region, edits) {
  for (const [id, value] of edits) {
    const control = region.querySelector(`#${CSS.escape(id)}`);
    if (!control) continue;
    if (control instanceof HTMLSelectElement) {
      if (Array.from(control.options).some((o) => o.value === value)) control.value = value;
    } else if (control.type === "checkbox") {
      control.checked = value;
    } else {
      control.value = value;
    }
  }
}

let timer = null;
let running = false;
let again = false;
let lastDone = 0;
function refreshSoon() {
  if (running) {
    again = true;
    return;
  }
  if (timer) return;
  timer = setTimeout(runRefresh, Math.max(60, lastDone + MIN_GAP_MS - Date.now()));
}
async function runRefresh() {
  timer = null;
  running = true;
  try {
    await refresh();
  } catch {
    /* the next event or reconnect refreshes again */
  } finally {
    running = false;
    lastDone = Date.now();
    if (again) {
      again = false;
      refreshSoon();
    }
  }
}

function concerns(scope, event) {
  if (!scope) return false;
  if (scope === "all") return true;
  if (scope === "tickets") return event.aggregate_type === "ticket";
  if (scope === "users") return event.category === "user";
  if (scope === "notifications") return event.category === "notification";
  if (scope.startsWith("ticket:")) return event.aggregate_type === "ticket" && event.aggregate_id === scope.slice(7);
  return false;
}

function tick() {
  const now = Date.now();
  for (const el of document.querySelectorAll("[data-due]")) {
    const left = Date.parse(el.dataset.due) - now;
    const time = formatSpan(left);
    el.textContent = left >= 0 ? t("in %(time)s", { time }) : t("overdue by %(time)s", { time });
    el.classList.toggle("overdue", left < 0);
  }
}

bindApiControls(refresh);
document.addEventListener("nixflow:refresh", refreshSoon); // a page module's own request changed the page's data
showCarriedFlash();
tick();
setInterval(tick, 1000);

const logout = document.getElementById("logout");
if (logout) {
  logout.addEventListener("click", async () => {
    try {
      await api("POST", "/api/auth/logout");
    } catch (error) {
      if (error.status !== 401) {
        flash(problemText(error));
        return;
      }
    }
    window.location.assign("/login");
  });
}

if (body.dataset.role) {
  const scope = body.dataset.liveScope;
  window.nixflowLive = connect({
    after: body.dataset.after,
    onEvent(event) {
      document.dispatchEvent(new CustomEvent("nixflow:event", { detail: event }));
      if (concerns(scope, event)) refreshSoon();
    },
    onOpen(reconnected) {
      document.dispatchEvent(new CustomEvent("nixflow:live-open"));
      if (reconnected && scope) refreshSoon();
    },
    onFrame(frame) {
      document.dispatchEvent(new CustomEvent("nixflow:frame", { detail: frame }));
    },
  });
}

const modules = {
  "admin-rules": "./rules.js",
  "admin-sla": "./sla.js",
  "admin-round-robin": "./round_robin.js",
  "admin-webhooks": "./webhooks.js",
  "admin-fields": "./fields.js",
  "admin-users": "./users.js",
  "desk-macros": "./desk_macros.js",
  account: "./account.js",
  login: "./passkey_login.js",
  "login-mfa": "./mfa.js",
  "password-reset-confirm": "./password_reset.js",
  csat: "./csat.js",
  "workflow-decide": "./workflow_decide.js",
  "ticket-new": "./kb.js",
  ticket: "./ticket.js",
  queue: "./queue.js",
  "kb-article": "./kb.js",
};
// Until the page's scripts run, its API buttons do not take clicks (a form would otherwise be sent the browser's way,
// as a GET that puts what was typed in the address and loses it).
const loading = [];
if (modules[body.dataset.page]) loading.push(import(modules[body.dataset.page]));
if (document.getElementById("comment-form")) loading.push(import("./attachments.js"));
Promise.allSettled(loading).then(() => body.removeAttribute("data-loading"));
