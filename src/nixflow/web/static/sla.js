// Admin: SLA policies against /api/sla/policies.
import { api, flash, problemText } from "./api.js";
import { listOf } from "./dom.js";
import { priorityLabel, t } from "./i18n.js";

const FIELDS = ["first_response_minutes", "resolution_minutes", "warning_percent"];

async function load() {
  try {
    for (const policy of listOf(await api("GET", "/api/sla/policies"), "priority")) {
      const form = document.querySelector(`form[data-priority="${policy.priority}"]`);
      if (!form) continue;
      for (const field of FIELDS) form.elements[field].value = policy[field] ?? "";
      form.elements.calendar_id.value = policy.calendar_id ?? "";
    }
  } catch (error) {
    flash(t("SLA policies are not available: %(error)s", { error: problemText(error) }));
  }
}

document.getElementById("policies").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const body = Object.fromEntries(FIELDS.map((field) => [field, Number(form.elements[field].value)]));
  const calendar = form.elements.calendar_id.value;
  body.calendar_id = calendar === "" ? null : Number(calendar);
  try {
    await api("PUT", `/api/sla/policies/${form.dataset.priority}`, body);
    flash(t("Saved the %(priority)s policy", { priority: priorityLabel(form.dataset.priority) }), "ok");
    await load();
  } catch (error) {
    flash(problemText(error));
  }
});
load();
