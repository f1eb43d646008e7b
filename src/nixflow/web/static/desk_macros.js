// Replies and macros page, against /api/replies and /api/macros: the list, and one form to make or edit either.
import { api, flash, problemText } from "./api.js";
import { el } from "./dom.js";
import { priorityLabel, statusLabel, t } from "./i18n.js";

const form = document.getElementById("macro-form");
const tbody = document.querySelector("#macro-list tbody");
const error = document.getElementById("m-error");
const categories = JSON.parse(form.dataset.categories || "{}");
const admin = document.body.dataset.role === "admin";
const F = form.elements;

const tags = (text) => text.split(/[\s,]+/).filter(Boolean);
const idOrNull = (value) => (value === "none" ? null : Number(value));

// "key=value" lines to {key: value}: a JSON value as such, other text as a string, nothing as null (clear).
function fieldValues(text) {
  const out = {};
  for (const line of text.split("\n")) {
    const at = line.indexOf("=");
    if (at < 1) continue;
    const raw = line.slice(at + 1).trim();
    let value = raw === "" ? null : raw;
    try { if (raw !== "") value = JSON.parse(raw); } catch { /* plain text */ }
    out[line.slice(0, at).trim()] = value;
  }
  return out;
}
const fieldLines = (values) =>
  Object.entries(values || {}).map(([k, v]) => `${k}=${v === null ? "" : typeof v === "string" ? v : JSON.stringify(v)}`).join("\n");

// What a macro changes, one "what: value" per action; the names of the API's actions, translated.
const ACTION_NAMES = {
  status: () => t("status"),
  priority: () => t("priority"),
  assignee_id: () => t("assignee id"),
  category_id: () => t("category id"),
  add_tags: () => t("add tags"),
  remove_tags: () => t("remove tags"),
  fields: () => t("fields"),
};
function actionValue(key, value) {
  if (key === "fields") return fieldLines(value).replaceAll("\n", ", ");
  if (key === "status") return statusLabel(value);
  if (key === "priority") return priorityLabel(value);
  return Array.isArray(value) ? value.join(", ") : value ?? t("none");
}
function actionsText(actions) {
  const parts = Object.entries(actions || {}).map(([key, value]) => t("%(what)s: %(value)s", {
    what: ACTION_NAMES[key] ? ACTION_NAMES[key]() : key.replaceAll("_", " "),
    value: actionValue(key, value),
  }));
  return parts.join("; ");
}

function scopeText(item) {
  if (item.scope !== "team") return item.scope === "personal" ? t("personal") : item.scope === "everyone" ? t("everyone") : item.scope;
  return t("team %(category)s", { category: categories[item.category_id] || `#${item.category_id}` });
}

function showKind() {
  document.getElementById("m-actions").hidden = F.kind.value !== "macros";
  document.getElementById("m-team").hidden = F.scope.value !== "team";
}

function fresh() {
  form.reset();
  F.id.value = "";
  error.hidden = true;
  document.getElementById("macro-form-h").textContent = t("New reply or macro");
  showKind();
}

function edit(kind, item) {
  fresh();
  F.id.value = item.id;
  F.kind.value = kind;
  F.name.value = item.name;
  F.scope.value = item.scope;
  F.category_id.value = item.category_id ?? "";
  F.body.value = item.body || "";
  const actions = item.actions || {};
  F.internal.checked = Boolean(item.internal);
  F.status.value = actions.status || "";
  F.priority.value = actions.priority || "";
  F.assignee_id.value = "assignee_id" in actions ? actions.assignee_id ?? "none" : "";
  F.set_category_id.value = "category_id" in actions ? actions.category_id ?? "none" : "";
  F.add_tags.value = (actions.add_tags || []).join(", ");
  F.remove_tags.value = (actions.remove_tags || []).join(", ");
  F.fields.value = fieldLines(actions.fields);
  document.getElementById("macro-form-h").textContent = t("Edit “%(name)s”", { name: item.name });
  showKind();
  F.name.focus();
}

async function remove(kind, item) {
  if (!window.confirm(t("Delete “%(name)s”?", { name: item.name }))) return;
  try {
    await api("DELETE", `/api/${kind}/${item.id}`);
    flash(t("Deleted “%(name)s”", { name: item.name }), "ok");
    await load();
  } catch (problem) {
    flash(problemText(problem));
  }
}

function row(kind, item) {
  const mine = item.scope === "personal" || admin;
  return el("tr", { dataset: { kind, id: item.id } },
    el("td", { class: "name", "data-label": t("Name") }, el("strong", {}, item.name)),
    el("td", { "data-label": t("Kind") }, kind === "replies" ? t("reply") : t("macro")),
    el("td", { "data-label": t("Scope") }, scopeText(item)),
    el("td", { class: "wrap", "data-label": t("Text") }, item.body ? item.body.slice(0, 120) : el("span", { class: "muted" }, t("no text"))),
    el("td", { class: "wrap", "data-label": t("Changes") }, actionsText(item.actions)),
    el("td", { "data-label": t("Edit") }, mine ? [
      el("button", { type: "button", class: "secondary", onclick: () => edit(kind, item) }, t("Edit"), " ", el("span", { class: "sr-only" }, item.name)),
      " ",
      el("button", { type: "button", class: "danger", onclick: () => remove(kind, item) }, t("Delete"), " ", el("span", { class: "sr-only" }, item.name)),
    ] : el("span", { class: "muted" }, t("shared"))));
}

async function load() {
  try {
    const [replies, macros] = await Promise.all([api("GET", "/api/replies"), api("GET", "/api/macros")]);
    const rows = [...replies.map((r) => row("replies", r)), ...macros.map((m) => row("macros", m))];
    tbody.replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colspan: 6, class: "empty" }, t("No replies or macros yet.")))]));
  } catch (problem) {
    tbody.replaceChildren(el("tr", {}, el("td", { colspan: 6, class: "empty" }, t("Not available: %(error)s", { error: problemText(problem) }))));
  }
}

function body() {
  const out = { name: F.name.value, scope: F.scope.value, body: F.body.value };
  if (F.scope.value === "team") out.category_id = F.category_id.value ? Number(F.category_id.value) : null;
  if (F.kind.value === "replies") return out;
  if (!out.body.trim()) out.body = null;
  const actions = {};
  if (F.status.value) actions.status = F.status.value;
  if (F.priority.value) actions.priority = F.priority.value;
  if (F.assignee_id.value) actions.assignee_id = idOrNull(F.assignee_id.value);
  if (F.set_category_id.value) actions.category_id = idOrNull(F.set_category_id.value);
  if (tags(F.add_tags.value).length) actions.add_tags = tags(F.add_tags.value);
  if (tags(F.remove_tags.value).length) actions.remove_tags = tags(F.remove_tags.value);
  if (Object.keys(fieldValues(F.fields.value)).length) actions.fields = fieldValues(F.fields.value);
  return { ...out, internal: F.internal.checked, actions };
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const kind = F.kind.value;
  const id = F.id.value;
  try {
    const saved = await api(id ? "PUT" : "POST", id ? `/api/${kind}/${id}` : `/api/${kind}`, body());
    flash(t("Saved “%(name)s”", { name: saved.name }), "ok");
    fresh();
    await load();
  } catch (problem) {
    error.textContent = problemText(problem);
    error.hidden = false;
    F.body.focus();
  }
});
F.kind.addEventListener("change", showKind);
F.scope.addEventListener("change", showKind);
document.getElementById("m-new").addEventListener("click", fresh);
showKind();
load();
form.dataset.ready = "true"; // bound: what a test waits for
