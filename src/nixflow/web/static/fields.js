// Admin: custom field definitions against /api/fields (archived ones listed too, to restore).
import { api, flash, problemText } from "./api.js";
import { el } from "./dom.js";
import { t } from "./i18n.js";

const tbody = document.querySelector("#fields tbody");
const form = document.getElementById("field-form");
const TYPES = {
  text: () => t("Text"),
  number: () => t("Number"),
  date: () => t("Date"),
  select: () => t("Single select"),
  multiselect: () => t("Multi select"),
  checkbox: () => t("Checkbox"),
};
const ENTITIES = { ticket: () => t("ticket"), user: () => t("user"), organization: () => t("organization") };

async function act(label, call) {
  try {
    await call();
    flash(label, "ok");
    await load();
  } catch (error) {
    flash(problemText(error));
  }
}

function button(text, field, onclick, kind = "secondary") {
  return el("button", { type: "button", class: kind, onclick }, text, " ",
    el("span", { class: "sr-only" }, t("field %(key)s", { key: field.key })));
}

function required(field) {
  const who = [field.required_for_requesters ? t("requesters") : null, field.required_for_agents ? t("agents (to resolve)") : null];
  return who.filter(Boolean).join(", ") || t("no");
}

function row(field) {
  const url = `/api/fields/${field.id}`;
  return el("tr", { dataset: { fieldKey: field.key }, class: field.archived ? "muted" : "" },
    el("td", { "data-label": t("Key") }, el("code", {}, field.key)),
    el("td", { "data-label": t("Label") }, field.label, field.archived ? [" ", el("small", {}, t("(archived)"))] : null),
    el("td", { "data-label": t("Type") }, TYPES[field.type] ? TYPES[field.type]() : field.type,
      field.options.length ? [" ", el("small", {}, field.options.join(", "))] : null),
    el("td", { "data-label": t("On") }, ENTITIES[field.entity] ? ENTITIES[field.entity]() : field.entity),
    el("td", { "data-label": t("Requesters") }, field.requester_visible ? t("see it") : t("staff only")),
    el("td", { "data-label": t("Required") }, required(field)),
    el("td", { class: "actions", "data-label": t("Change") },
      button(t("Rename"), field, () => {
        const label = window.prompt(t("New label for %(key)s", { key: field.key }), field.label);
        if (label && label.trim()) act(t("Field %(key)s renamed", { key: field.key }), () => api("PATCH", url, { label: label.trim() }));
      }),
      field.archived
        ? button(t("Restore"), field, () => act(t("Field %(key)s restored", { key: field.key }), () => api("PATCH", url, { archived: false })))
        : button(t("Archive"), field, () => {
          if (window.confirm(t("Archive %(key)s? Its values stay on tickets and in their history.", { key: field.key }))) {
            act(t("Field %(key)s archived", { key: field.key }), () => api("DELETE", url));
          }
        }, "danger")));
}

async function load() {
  try {
    const fields = await api("GET", "/api/fields?archived=true");
    tbody.replaceChildren(...(fields.length ? fields.map(row) : [el("tr", {}, el("td", { colspan: 7, class: "empty" }, t("No fields yet.")))]));
  } catch (error) {
    tbody.replaceChildren(el("tr", {}, el("td", { colspan: 7, class: "empty" }, t("Fields are not available: %(error)s", { error: problemText(error) }))));
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const f = form.elements;
  const body = {
    key: f.key.value.trim(),
    label: f.label.value.trim(),
    type: f.type.value,
    entity: f.entity.value,
    options: f.options.value.split(",").map((o) => o.trim()).filter(Boolean),
    requester_visible: f.requester_visible.checked,
    required_for_requesters: f.required_for_requesters.checked,
    required_for_agents: f.required_for_agents.checked,
    position: Number(f.position.value || 0),
  };
  act(t("Field %(key)s created", { key: body.key }), async () => {
    await api("POST", "/api/fields", body);
    form.reset();
  });
});

document.addEventListener("nixflow:event", (event) => {
  if (event.detail.type.startsWith("workflow.field_")) load();
});
load();
