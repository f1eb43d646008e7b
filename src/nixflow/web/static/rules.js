// Admin: automation rules against /api/rules.
import { api, flash, problemText } from "./api.js";
import { el, listOf } from "./dom.js";
import { t, tn } from "./i18n.js";
import { RuleEditor } from "./rule_editor.js";

const form = document.getElementById("rule-form");
const tbody = document.querySelector("#rules tbody");
const heading = document.getElementById("rule-form-h");
const save = document.getElementById("rule-save");
const cancel = document.getElementById("rule-cancel");
// The builder's vocabulary comes from the server; without it, the JSON tab is the editor.
const vocabulary = await api("GET", "/api/rules/vocabulary").catch((error) => {
  flash(t("The rule builder is not available: %(error)s", { error: problemText(error) }));
  return null;
});
const editor = new RuleEditor(form, vocabulary);

async function change(rule, patch, done) {
  try {
    await api("PATCH", `/api/rules/${rule.id}`, patch);
    flash(done, "ok");
    await load();
  } catch (error) {
    flash(problemText(error));
  }
}

function edit(rule) {
  form.elements.id.value = rule.id;
  form.elements.name.value = rule.name;
  form.elements.kind.value = rule.kind;
  form.elements.position.value = rule.position;
  form.elements.mode.value = rule.mode;
  form.elements.rollout_percent.value = rule.rollout_percent;
  form.elements.active.checked = rule.active;
  editor.load(rule.conditions || {}, rule.actions || []);
  heading.textContent = t("Edit rule: %(name)s", { name: rule.name });
  save.textContent = t("Save rule");
  cancel.hidden = false;
  form.elements.name.focus();
}

function reset() {
  form.reset();
  form.elements.id.value = "";
  editor.load({}, []);
  heading.textContent = t("New rule");
  save.textContent = t("Create rule");
  cancel.hidden = true;
}

function row(rule) {
  return el("tr", { dataset: { ruleId: rule.id } },
    el("td", { "data-label": t("Position") }, rule.position),
    el("td", { "data-label": t("Name") }, rule.name),
    el("td", { "data-label": t("Kind") }, rule.kind),
    el("td", { "data-label": t("Mode") }, el("span", { class: `badge mode-${rule.mode}` }, rule.mode === "shadow" ? t("shadow") : t("enforce"))),
    el("td", { "data-label": t("Rollout") }, t("%(percent)s%%", { percent: rule.rollout_percent })),
    el("td", { "data-label": t("Active") }, rule.active ? t("yes") : t("no")),
    el("td", { class: "actions", "data-label": t("Change") },
      el("button", { type: "button", class: "secondary", onclick: () => edit(rule) }, t("Edit"), " ", el("span", { class: "sr-only" }, rule.name)),
      el("button", { type: "button", class: "secondary", onclick: () => change(rule, { active: !rule.active }, rule.active ? t("Disabled: %(name)s", { name: rule.name }) : t("Enabled: %(name)s", { name: rule.name })) },
        rule.active ? t("Disable") : t("Enable"), " ", el("span", { class: "sr-only" }, rule.name)),
      el("button", { type: "button", class: "secondary",
        onclick: () => change(rule, { mode: rule.mode === "shadow" ? "enforce" : "shadow" }, t("Mode changed: %(name)s", { name: rule.name })) },
        rule.mode === "shadow" ? t("Enforce") : t("Shadow"), " ", el("span", { class: "sr-only" }, rule.name)),
      el("button", { type: "button", class: "danger", onclick: async () => {
        if (!window.confirm(t('Delete rule "%(name)s"?', { name: rule.name }))) return;
        try {
          await api("DELETE", `/api/rules/${rule.id}`);
          await load();
        } catch (error) {
          flash(problemText(error));
        }
      } }, t("Delete"), " ", el("span", { class: "sr-only" }, rule.name))));
}

async function load() {
  try {
    const rules = listOf(await api("GET", "/api/rules"), "id").sort((a, b) => a.position - b.position || a.id - b.id);
    tbody.replaceChildren(...(rules.length ? rules.map(row) : [el("tr", {}, el("td", { colspan: 7, class: "empty" }, t("No rules.")))]));
  } catch (error) {
    tbody.replaceChildren(el("tr", {}, el("td", { colspan: 7, class: "empty" }, t("Rules are not available: %(error)s", { error: problemText(error) }))));
  }
}

// The rule in the form, as the body of POST /api/rules; null (and a message) when its JSON does not parse.
function ruleOfForm() {
  const logic = editor.value();
  if (!logic) {
    flash(t("Conditions and actions must be JSON: see the notice above them."));
    return null;
  }
  return {
    name: form.elements.name.value.trim(),
    kind: form.elements.kind.value,
    position: Number(form.elements.position.value || 0),
    mode: form.elements.mode.value,
    rollout_percent: Number(form.elements.rollout_percent.value || 0),
    active: form.elements.active.checked,
    conditions: logic.conditions,
    actions: logic.actions,
  };
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const body = ruleOfForm();
  if (!body) return;
  const id = form.elements.id.value;
  try {
    const saved = await api(id ? "PATCH" : "POST", id ? `/api/rules/${id}` : "/api/rules", body);
    flash(id ? t("Saved rule: %(name)s", { name: saved.name }) : t("Created rule: %(name)s", { name: saved.name }), "ok");
    reset();
    await load();
  } catch (error) {
    flash(problemText(error));
  }
});
cancel.addEventListener("click", reset);

// Simulation over history: POST /api/rules/simulate with the form's rule and the period chosen.
const simForm = document.getElementById("simulate-form");
const simOut = document.getElementById("simulation");

function localInput(date) {
  const shifted = new Date(date.getTime() - date.getTimezoneOffset() * 60000);
  return shifted.toISOString().slice(0, 16);
}
// "To" is "now" until the person picks another time: a page left open an hour still includes the last hour.
const untilNow = () => localInput(new Date(Date.now() + 60 * 1000)); // this minute included
simForm.elements.until.value = untilNow();
let untilShown = simForm.elements.until.value;
simForm.elements.until.addEventListener("change", () => { untilShown = null; });
simForm.elements.since.value = localInput(new Date(Date.now() - 7 * 24 * 3600 * 1000)); // last week's tickets
document.getElementById("rule-test").addEventListener("click", () => {
  simForm.requestSubmit();
  simForm.scrollIntoView({ block: "start" });
});

function describe(action) {
  const arg = action.value ?? action.user_id ?? action.level ?? action.role;
  return arg === undefined ? action.type : `${action.type} ${arg}`;
}

function doneBy(d) {
  const action = describe(d.action);
  return d.rule_id !== null ? t("%(action)s (rule #%(rule)s)", { action, rule: d.rule_id }) : t("%(action)s (by a person)", { action });
}

function results(result) {
  const counts = Object.entries(result.actions).filter(([, n]) => n > 0).map(([type, n]) => `${type}: ${n}`);
  const params = { matched: result.matched, counts: counts.join(", ") };
  const summary = el("p", { id: "simulation-summary" }, counts.length
    ? tn("Would have acted on %(matched)s of %(num)d ticket evaluated (%(counts)s).",
      "Would have acted on %(matched)s of %(num)d tickets evaluated (%(counts)s).", result.tickets_evaluated, params)
    : tn("Would have acted on %(matched)s of %(num)d ticket evaluated.",
      "Would have acted on %(matched)s of %(num)d tickets evaluated.", result.tickets_evaluated, params));
  if (!result.sample.length) return [summary];
  const table = el("table", { id: "simulation-sample", class: "stack" },
    el("caption", { class: "sr-only" }, t("Tickets the rule would have acted on")),
    el("thead", {}, el("tr", {}, el("th", { scope: "col" }, t("Ticket")), el("th", { scope: "col" }, t("Would have")),
      el("th", { scope: "col" }, t("What was done")))),
    el("tbody", {}, result.sample.map((s) => el("tr", { dataset: { ticketId: s.ticket_id } },
      el("td", { "data-label": t("Ticket") }, el("a", { href: `/tickets/${s.ticket_id}` }, `#${s.ticket_id} ${s.title}`)),
      el("td", { "data-label": t("Would have") }, s.would.map((w) => describe(w.action)).join(", ")),
      el("td", { "data-label": t("What was done") }, s.did.length ? s.did.map(doneBy).join(", ") : t("nothing"))))));
  return [summary, table];
}

simForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const rule = ruleOfForm();
  if (!rule) return;
  if (untilShown !== null && simForm.elements.until.value === untilShown) {
    simForm.elements.until.value = untilShown = untilNow();
  }
  const since = new Date(simForm.elements.since.value);
  const until = new Date(simForm.elements.until.value);
  simOut.replaceChildren(el("p", { class: "muted" }, t("Simulating…")));
  try {
    const result = await api("POST", "/api/rules/simulate", { rule, since: since.toISOString(), until: until.toISOString() });
    simOut.replaceChildren(...results(result));
  } catch (error) {
    simOut.replaceChildren();
    flash(problemText(error));
  }
});
document.addEventListener("nixflow:event", (event) => {
  if (event.detail.type.startsWith("automation.rule_") && !event.detail.type.match(/applied|shadowed|failed/)) load();
});
load();
