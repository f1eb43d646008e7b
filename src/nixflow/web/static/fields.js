// Admin: custom field definitions against /api/fields (archived ones listed too, to restore).
import { api, flash, problemText } from "./api.js";
import { el } from "./dom.js";

const tbody = document.querySelector("#fields tbody");
const form = document.getElementById("field-form");
const TYPES = { text: "Text", number: "Number", date: "Date", select: "Single select", multiselect: "Multi select", checkbox: "Checkbox" };

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
  return el("button", { type: "button", class: kind, onclick }, text, el("span", { class: "sr-only" }, ` field ${field.key}`));
}

function required(field) {
  const who = [field.required_for_requesters ? "requesters" : null, field.required_for_agents ? "agents (to resolve)" : null];
  return who.filter(Boolean).join(", ") || "no";
}

function row(field) {
  const url = `/api/fields/${field.id}`;
  return el("tr", { dataset: { fieldKey: field.key }, class: field.archived ? "muted" : "" },
    el("td", { "data-label": "Key" }, el("code", {}, field.key)),
    el("td", { "data-label": "Label" }, field.label, field.archived ? el("small", {}, " (archived)") : null),
    el("td", { "data-label": "Type" }, TYPES[field.type], field.options.length ? el("small", {}, ` ${field.options.join(", ")}`) : null),
    el("td", { "data-label": "On" }, field.entity),
    el("td", { "data-label": "Requesters" }, field.requester_visible ? "see it" : "staff only"),
    el("td", { "data-label": "Required" }, required(field)),
    el("td", { class: "actions", "data-label": "Change" },
      button("Rename", field, () => {
        const label = window.prompt(`New label for ${field.key}`, field.label);
        if (label && label.trim()) act(`Field ${field.key} renamed`, () => api("PATCH", url, { label: label.trim() }));
      }),
      field.archived
        ? button("Restore", field, () => act(`Field ${field.key} restored`, () => api("PATCH", url, { archived: false })))
        : button("Archive", field, () => {
          if (window.confirm(`Archive ${field.key}? Its values stay on tickets and in their history.`)) {
            act(`Field ${field.key} archived`, () => api("DELETE", url));
          }
        }, "danger")));
}

async function load() {
  try {
    const fields = await api("GET", "/api/fields?archived=true");
    tbody.replaceChildren(...(fields.length ? fields.map(row) : [el("tr", {}, el("td", { colspan: 7, class: "empty" }, "No fields yet."))]));
  } catch (error) {
    tbody.replaceChildren(el("tr", {}, el("td", { colspan: 7, class: "empty" }, `Fields are not available: ${problemText(error)}`)));
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
  act(`Field ${body.key} created`, async () => {
    await api("POST", "/api/fields", body);
    form.reset();
  });
});

document.addEventListener("nixflow:event", (event) => {
  if (event.detail.type.startsWith("workflow.field_")) load();
});
load();
