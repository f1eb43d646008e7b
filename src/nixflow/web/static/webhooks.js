// Admin: webhook subscriptions against /api/webhooks.
import { api, flash, problemText } from "./api.js";
import { el, listOf } from "./dom.js";

const tbody = document.querySelector("#webhooks tbody");
const form = document.getElementById("webhook-form");
const secretBox = document.getElementById("secret-box");
const deliveriesBox = document.getElementById("deliveries-box");
const deliveriesBody = document.querySelector("#deliveries tbody");
const replayForm = document.getElementById("replay-form");
let shown = null;

function showSecret(secret) {
  document.getElementById("secret-value").textContent = secret;
  secretBox.hidden = false;
}

async function act(label, call) {
  try {
    const result = await call();
    flash(label, "ok");
    if (result && result.secret) showSecret(result.secret);
    await load();
  } catch (error) {
    flash(problemText(error));
  }
}

function button(text, hook, onclick, kind = "secondary") {
  return el("button", { type: "button", class: kind, onclick }, text, el("span", { class: "sr-only" }, ` webhook ${hook.id}`));
}

function state(hook) {
  if (hook.disabled_reason) return `disabled: ${hook.disabled_reason}`;
  if (hook.failing_since) return `failing since ${new Date(hook.failing_since).toLocaleString()}`;
  return "ok";
}

function row(hook) {
  const mode = (m) => () => act(`Webhook ${hook.id} is ${m}`, () => api("PATCH", `/api/webhooks/${hook.id}`, { mode: m }));
  return el("tr", { dataset: { webhookId: hook.id } },
    el("td", { "data-label": "Id" }, hook.id),
    el("td", { "data-label": "URL" }, hook.url, hook.description ? el("small", {}, ` ${hook.description}`) : null),
    el("td", { "data-label": "Events" }, hook.event_types.join(", ")),
    el("td", { "data-label": "Mode" }, el("span", { class: `badge mode-${hook.mode}` }, hook.mode)),
    el("td", { "data-label": "State" }, state(hook)),
    el("td", { class: "actions", "data-label": "Change" },
      hook.mode === "active" ? button("Pause", hook, mode("paused")) : button("Resume", hook, mode("active")),
      hook.mode !== "shadow" ? button("Shadow", hook, mode("shadow")) : null,
      button("Deliveries", hook, () => showDeliveries(hook)),
      button("Rotate secret", hook, () => {
        if (window.confirm(`New secret for webhook ${hook.id}? The old one keeps signing for 24 hours.`)) {
          act("Secret rotated", () => api("POST", `/api/webhooks/${hook.id}/rotate-secret`, { overlap_hours: 24 }));
        }
      }),
      button("Delete", hook, () => {
        if (window.confirm(`Delete webhook ${hook.id} and its deliveries?`)) {
          act(`Webhook ${hook.id} deleted`, () => api("DELETE", `/api/webhooks/${hook.id}`));
        }
      }, "danger")));
}

async function load() {
  try {
    const hooks = listOf(await api("GET", "/api/webhooks"), "id");
    tbody.replaceChildren(...(hooks.length ? hooks.map(row) : [el("tr", {}, el("td", { colspan: 6, class: "empty" }, "No webhooks yet."))]));
    if (shown) await showDeliveries(hooks.find((h) => h.id === shown.id) || shown, false);
  } catch (error) {
    tbody.replaceChildren(el("tr", {}, el("td", { colspan: 6, class: "empty" }, `Webhooks are not available: ${problemText(error)}`)));
  }
}

async function replay(hook, body, label) {
  try {
    const done = await api("POST", `/api/webhooks/${hook.id}/replay`, body);
    flash(`${label}: ${done.scheduled} scheduled`, "ok");
    await showDeliveries(hook, false);
  } catch (error) {
    flash(problemText(error));
  }
}

async function showDeliveries(hook, focus = true) {
  shown = hook;
  deliveriesBox.hidden = false;
  document.getElementById("deliveries-h").textContent = `Deliveries of webhook ${hook.id}`;
  try {
    const page = await api("GET", `/api/webhooks/${hook.id}/deliveries?limit=50`);
    deliveriesBody.replaceChildren(...(page.items.length ? page.items.map((d) => el("tr", {},
      el("td", { "data-label": "Event" }, el("a", { href: `/events/${d.event_id}` }, d.event_type)),
      el("td", { "data-label": "Status" }, el("span", { class: `badge delivery-${d.status}` }, d.shadow ? `${d.status} (shadow)` : d.status)),
      el("td", { "data-label": "Attempts" }, d.attempts),
      el("td", { "data-label": "Last answer" }, d.last_error || d.last_status_code || "-"),
      el("td", { "data-label": "Delivered / next" }, d.delivered_at ? new Date(d.delivered_at).toLocaleString()
        : d.next_attempt_at ? `next ${new Date(d.next_attempt_at).toLocaleString()}` : "-"),
      el("td", { "data-label": "Replay" }, el("button", { type: "button", class: "secondary",
        onclick: () => replay(hook, { event_id: d.event_id }, "Replayed") }, "Replay", el("span", { class: "sr-only" }, ` ${d.event_type}`)))))
      : [el("tr", {}, el("td", { colspan: 6, class: "empty" }, "No deliveries yet."))]));
  } catch (error) {
    deliveriesBody.replaceChildren(el("tr", {}, el("td", { colspan: 6, class: "empty" }, problemText(error))));
  }
  if (focus) deliveriesBox.scrollIntoView();
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const category = form.elements.category_id.value;
  const body = {
    url: form.elements.url.value.trim(),
    event_types: form.elements.event_types.value.split(",").map((t) => t.trim()).filter(Boolean),
    category_id: category ? Number(category) : null,
    mode: form.elements.mode.value,
    description: form.elements.description.value.trim(),
  };
  act("Webhook created", async () => {
    const created = await api("POST", "/api/webhooks", body);
    form.reset();
    return created;
  });
});

replayForm.addEventListener("submit", (event) => {
  event.preventDefault();
  if (!shown) return;
  const since = new Date(replayForm.elements.since.value);
  if (Number.isNaN(since.getTime())) {
    flash("Give a time to replay from");
    return;
  }
  replay(shown, { since: since.toISOString() }, "Replayed");
});

document.addEventListener("nixflow:event", (event) => {
  if (event.detail.type.startsWith("webhook.")) load();
});
load();
