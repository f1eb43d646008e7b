// The queue's bulk actions and saved views: select tickets (shift-click for a range, or all that match), apply
// changes in chunks with a progress bar and each failure listed; save the current filters as a view.
import { api, flash, problemText } from "./api.js";
import { el } from "./dom.js";
import { t, tn, withNodes } from "./i18n.js";

const CHUNK = 50; // tickets per bulk request: the bar advances as each chunk commits
const OPEN = ["new", "open", "pending"];
const form = document.getElementById("bulk-form");
const selected = new Set();
let anchor = null; // the last checkbox clicked without shift: one end of a shift-click range

const picks = () => Array.from(document.querySelectorAll("#queue-table input.pick"));

function show() {
  for (const box of picks()) box.checked = selected.has(box.value);
  const onPage = picks();
  const all = document.getElementById("pick-page");
  if (all) all.checked = onPage.length > 0 && onPage.every((box) => box.checked);
  document.getElementById("bulk-count").textContent = tn("%(num)d selected", "%(num)d selected", selected.size);
  document.getElementById("bulk-apply").disabled = selected.size === 0;
}

function pick(box, on) {
  if (on) selected.add(box.value);
  else selected.delete(box.value);
}

document.addEventListener("click", (event) => {
  const box = event.target;
  if (!(box instanceof HTMLInputElement) || box.type !== "checkbox") return;
  if (box.id === "pick-page") {
    for (const each of picks()) pick(each, box.checked);
  } else if (box.classList.contains("pick")) {
    const boxes = picks();
    const from = boxes.indexOf(anchor);
    if (event.shiftKey && from >= 0) {
      const to = boxes.indexOf(box);
      for (const each of boxes.slice(Math.min(from, to), Math.max(from, to) + 1)) pick(each, box.checked);
    } else {
      pick(box, box.checked);
    }
    anchor = box;
  } else {
    return;
  }
  show();
});
// A live refresh replaced the rows: tick again what is selected.
document.addEventListener("nixflow:refreshed", () => {
  anchor = picks().find((box) => anchor && box.value === anchor.value) || null;
  show();
});

// The page's filters as the API takes them: the page's default ("open") is three statuses, "none" unassigned.
function apiFilters() {
  const page = new URLSearchParams(location.search);
  const filters = {};
  for (const key of ["priority", "category_id", "q", "tag"]) {
    const value = (page.get(key) || "").trim();
    if (value) filters[key] = key === "category_id" ? Number(value) : value;
  }
  const status = page.get("status") || "";
  if (status === "") filters.statuses = OPEN;
  else if (status !== "all") filters.status = status;
  const assignee = page.get("assignee_id") || "";
  if (assignee === "none") filters.unassigned = true;
  else if (/^\d+$/.test(assignee)) filters.assignee_id = Number(assignee);
  return filters;
}

async function matchingIds() {
  const { statuses, ...rest } = apiFilters();
  const ids = [];
  for (const status of statuses || [null]) {
    const query = new URLSearchParams(Object.entries(status ? { ...rest, status } : rest).map(([k, v]) => [k, String(v)]));
    ids.push(...(await api("GET", `/api/tickets/ids?${query}`)).ids);
  }
  return ids.sort((a, b) => b - a).slice(0, 1000);
}

document.getElementById("select-matching").addEventListener("click", async () => {
  try {
    for (const id of await matchingIds()) selected.add(String(id));
  } catch (error) {
    flash(problemText(error));
  }
  show();
});
document.getElementById("select-none").addEventListener("click", () => {
  selected.clear();
  show();
});

function actions() {
  const chosen = {};
  for (const name of ["status", "priority"]) if (form.elements[name].value) chosen[name] = form.elements[name].value;
  for (const name of ["assignee_id", "category_id"]) {
    const value = form.elements[name].value;
    if (value) chosen[name] = value === "none" ? null : Number(value);
  }
  if (form.elements.macro_id.value) chosen.macro_id = Number(form.elements.macro_id.value);
  for (const name of ["add_tags", "remove_tags"]) {
    const tags = form.elements[name].value.split(",").map((t) => t.trim()).filter(Boolean);
    if (tags.length) chosen[name] = tags;
  }
  return chosen;
}

function failure(result) {
  const link = el("a", { href: `/tickets/${result.ticket_id}` }, `#${result.ticket_id}`);
  const { title, status, detail } = result.error;
  return el("li", {}, withNodes(t("%(ticket)s: %(title)s (%(status)s) — %(detail)s", { title, status, detail }), { ticket: link }));
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const chosen = actions();
  if (!Object.keys(chosen).length) {
    flash(t("Choose at least one change to apply."));
    return;
  }
  const ids = Array.from(selected, Number);
  const bar = document.getElementById("bulk-progress");
  const done = document.getElementById("bulk-done");
  const failures = document.getElementById("bulk-failures");
  bar.max = ids.length;
  bar.value = 0;
  bar.parentElement.hidden = false;
  failures.replaceChildren();
  failures.hidden = true;
  document.getElementById("bulk-apply").disabled = true;
  let applied = 0;
  try {
    for (let start = 0; start < ids.length; start += CHUNK) {
      const answer = await api("POST", "/api/tickets/bulk", { ticket_ids: ids.slice(start, start + CHUNK), actions: chosen });
      applied += answer.applied;
      for (const result of answer.results) if (!result.ok) failures.append(failure(result));
      bar.value = Math.min(ids.length, start + CHUNK);
      done.textContent = t("%(done)s of %(total)s", { done: bar.value, total: ids.length });
    }
    failures.hidden = !failures.children.length;
    const changed = tn("Changed %(applied)s of %(num)d ticket.", "Changed %(applied)s of %(num)d tickets.", ids.length, { applied });
    flash(changed, failures.children.length ? "error" : "ok");
  } catch (error) {
    flash(problemText(error));
  }
  document.getElementById("bulk-apply").disabled = selected.size === 0;
});

document.addEventListener("click", async (event) => {
  if (!(event.target instanceof Element) || event.target.id !== "save-view") return;
  const name = (window.prompt(t("Name of the view")) || "").trim();
  if (!name) return;
  const query = new URLSearchParams(location.search);
  const sort = query.get("sort") || "-id";
  const columns = (query.get("columns") || "").split(",").filter(Boolean); // custom field columns: field:<key>
  try {
    await api("POST", "/api/views", { name, filters: apiFilters(), sort, columns });
    document.dispatchEvent(new CustomEvent("nixflow:refresh"));
  } catch (error) {
    flash(problemText(error));
  }
});

show();
