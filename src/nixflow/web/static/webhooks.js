// Admin: webhook subscriptions against /api/webhooks.
import { api, flash, problemText } from "./api.js";
import { el, listOf } from "./dom.js";
import { formatWhen, t, tn } from "./i18n.js";

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
  return el("button", { type: "button", class: kind, onclick }, text, " ",
    el("span", { class: "sr-only" }, t("webhook %(id)s", { id: hook.id })));
}

const MODES = { active: () => t("active"), paused: () => t("paused"), shadow: () => t("shadow") };
const modeLabel = (mode) => (MODES[mode] ? MODES[mode]() : mode);

function state(hook) {
  if (hook.disabled_reason) return t("disabled: %(reason)s", { reason: hook.disabled_reason });
  if (hook.failing_since) return t("failing since %(when)s", { when: formatWhen(hook.failing_since) });
  return t("ok");
}

function row(hook) {
  const mode = (m) => () => act(t("Webhook %(id)s is %(mode)s", { id: hook.id, mode: modeLabel(m) }), () => api("PATCH", `/api/webhooks/${hook.id}`, { mode: m }));
  return el("tr", { dataset: { webhookId: hook.id } },
    el("td", { "data-label": t("Id") }, hook.id),
    el("td", { "data-label": t("URL") }, hook.url, hook.description ? el("small", {}, ` ${hook.description}`) : null),
    el("td", { "data-label": t("Events") }, hook.event_types.join(", ")),
    el("td", { "data-label": t("Mode") }, el("span", { class: `badge mode-${hook.mode}` }, modeLabel(hook.mode))),
    el("td", { "data-label": t("State") }, state(hook)),
    el("td", { class: "actions", "data-label": t("Change") },
      hook.mode === "active" ? button(t("Pause"), hook, mode("paused")) : button(t("Resume"), hook, mode("active")),
      hook.mode !== "shadow" ? button(t("Shadow"), hook, mode("shadow")) : null,
      button(t("Deliveries"), hook, () => showDeliveries(hook)),
      button(t("Rotate secret"), hook, () => {
        if (window.confirm(t("New secret for webhook %(id)s? The old one keeps signing for 24 hours.", { id: hook.id }))) {
          act(t("Secret rotated"), () => api("POST", `/api/webhooks/${hook.id}/rotate-secret`, { overlap_hours: 24 }));
        }
      }),
      button(t("Delete"), hook, () => {
        if (window.confirm(t("Delete webhook %(id)s and its deliveries?", { id: hook.id }))) {
          act(t("Webhook %(id)s deleted", { id: hook.id }), () => api("DELETE", `/api/webhooks/${hook.id}`));
        }
      }, "danger")));
}

async function load() {
  try {
    const hooks = listOf(await api("GET", "/api/webhooks"), "id");
    tbody.replaceChildren(...(hooks.length ? hooks.map(row) : [el("tr", {}, el("td", { colspan: 6, class: "empty" }, t("No webhooks yet.")))]));
    if (shown) await showDeliveries(hooks.find((h) => h.id === shown.id) || shown, false);
  } catch (error) {
    tbody.replaceChildren(el("tr", {}, el("td", { colspan: 6, class: "empty" }, t("Webhooks are not available: %(error)s", { error: problemText(error) }))));
  }
}

async function replay(hook, body) {
  try {
    const done = await api("POST", `/api/webhooks/${hook.id}/replay`, body);
    flash(tn("Replayed: %(num)d scheduled", "Replayed: %(num)d scheduled", done.scheduled), "ok");
    await showDeliveries(hook, false);
  } catch (error) {
    flash(problemText(error));
  }
}

async function showDeliveries(hook, focus = true) {
  shown = hook;
  deliveriesBox.hidden = false;
  document.getElementById("deliveries-h").textContent = t("Deliveries of webhook %(id)s", { id: hook.id });
  try {
    const page = await api("GET", `/api/webhooks/${hook.id}/deliveries?limit=50`);
    deliveriesBody.replaceChildren(...(page.items.length ? page.items.map((d) => el("tr", {},
      el("td", { "data-label": t("Event") }, el("a", { href: `/events/${d.event_id}` }, d.event_type)),
      el("td", { "data-label": t("Status") }, el("span", { class: `badge delivery-${d.status}` }, d.shadow ? t("%(status)s (shadow)", { status: d.status }) : d.status)),
      el("td", { "data-label": t("Attempts") }, d.attempts),
      el("td", { "data-label": t("Last answer") }, d.last_error || d.last_status_code || "-"),
      el("td", { "data-label": t("Delivered / next") }, d.delivered_at ? formatWhen(d.delivered_at)
        : d.next_attempt_at ? t("next %(when)s", { when: formatWhen(d.next_attempt_at) }) : "-"),
      el("td", { "data-label": t("Replay") }, el("button", { type: "button", class: "secondary",
        onclick: () => replay(hook, { event_id: d.event_id }) }, t("Replay"), " ", el("span", { class: "sr-only" }, d.event_type)))))
      : [el("tr", {}, el("td", { colspan: 6, class: "empty" }, t("No deliveries yet.")))]));
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
  act(t("Webhook created"), async () => {
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
    flash(t("Give a time to replay from"));
    return;
  }
  replay(shown, { since: since.toISOString() });
});

document.addEventListener("nixflow:event", (event) => {
  if (event.detail.type.startsWith("webhook.")) load();
});
load();
