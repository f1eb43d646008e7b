// The users admin page: deactivation with its consequences shown first, and CSV import with a preview.
import { api, flash, flashNextPage, problemText } from "./api.js";
import { el } from "./dom.js";

const dialog = document.getElementById("deactivate-dialog");
const dialogBody = document.getElementById("deactivate-body");
const confirmButton = document.getElementById("deactivate-confirm");
let leaving = null; // the preview the dialog shows

function plural(n, one, many = one + "s") {
  return `${n} ${n === 1 ? one : many}`;
}

function consequences(preview) {
  const items = [];
  const tickets = preview.tickets.map((t) => el("li", {}, el("a", { href: `/tickets/${t.id}` }, `#${t.id} ${t.title}`), ` (${t.status}, ${t.priority})`));
  const more = preview.open_tickets - preview.tickets.length;
  items.push(el("li", {}, preview.open_tickets
    ? [`${plural(preview.open_tickets, "open ticket")} assigned to ${preview.name} ${preview.open_tickets === 1 ? "goes" : "go"} to the other agents (the assignment rules, such as round-robin in the category) or, where no rule assigns ${preview.open_tickets === 1 ? "it" : "them"}, back to the Unassigned queue:`,
       el("ul", {}, tickets, more > 0 ? el("li", {}, `and ${more} more`) : null)]
    : `${preview.name} has no open tickets assigned.`));
  items.push(el("li", {}, preview.categories.length
    ? `Round-robin stops picking ${preview.name} in ${preview.categories.map((c) => c.name).join(", ")} (they stay members: activating them again restores it).`
    : `${preview.name} is in no round-robin category.`));
  items.push(el("li", {}, `${plural(preview.sessions, "session")} and ${plural(preview.api_tokens, "API token")} end at once; they cannot sign in.`));
  return el("ul", { id: "deactivate-consequences" }, items);
}

document.addEventListener("click", async (event) => {
  const button = event.target instanceof Element ? event.target.closest("button[data-deactivate]") : null;
  if (!button) return;
  try {
    leaving = await api("GET", `/api/users/${button.dataset.deactivate}/deactivation-preview`);
  } catch (error) {
    flash(problemText(error));
    return;
  }
  document.getElementById("deactivate-title").textContent = `Deactivate ${leaving.name}?`;
  dialogBody.replaceChildren(
    leaving.blocked ? el("p", { class: "flash", dataset: { kind: "error" } }, `This cannot be done: ${leaving.blocked}.`) : el("p", {}, "This is what happens:"),
    consequences(leaving),
  );
  confirmButton.disabled = Boolean(leaving.blocked);
  dialog.showModal();
});

document.getElementById("deactivate-cancel").addEventListener("click", () => dialog.close());
confirmButton.addEventListener("click", async () => {
  confirmButton.setAttribute("aria-busy", "true");
  try {
    await api("PATCH", `/api/users/${leaving.user_id}`, { active: false });
    flashNextPage(`Deactivated ${leaving.name}`);
    window.location.reload();
  } catch (error) {
    dialog.close();
    flash(problemText(error));
  } finally {
    confirmButton.removeAttribute("aria-busy");
  }
});

const STATUS_WORDS = { would_create: "will be created", created: "created", exists: "exists already", invalid: "refused" };
const form = document.getElementById("import-form");
const fileInput = document.getElementById("import-file");
const runButton = document.getElementById("import-run");
const result = document.getElementById("import-result");

function showImport(answer) {
  const c = answer.counts;
  const summary = answer.dry_run
    ? `Preview: ${plural(c.would_create, "user")} will be created, ${c.exists} exist already, ${plural(c.invalid, "row")} refused. Nothing is written yet.`
    : `Imported: ${plural(c.created, "user")} created, ${c.exists} existed already, ${plural(c.invalid, "row")} refused.`;
  const rows = answer.rows.map((r) => el("tr", { dataset: { status: r.status } },
    el("td", { "data-label": "Line" }, r.line),
    el("td", { "data-label": "Name" }, r.name),
    el("td", { "data-label": "Email" }, r.email),
    el("td", { "data-label": "Role" }, r.role),
    el("td", { "data-label": "Categories" }, r.categories.join(", ")),
    el("td", { "data-label": "Result" }, el("span", { class: `badge import-${r.status}` }, STATUS_WORDS[r.status]), r.reason ? ` ${r.reason}` : "")));
  result.replaceChildren(
    el("p", { class: "import-summary" }, summary),
    el("div", { class: "table-wrap" }, el("table", { class: "stack", id: "import-rows" },
      el("caption", { class: "sr-only" }, "Each row of the file and what happens to it"),
      el("thead", {}, el("tr", {}, ["Line", "Name", "Email", "Role", "Categories", "Result"].map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, rows))),
  );
  runButton.hidden = !(answer.dry_run && c.would_create > 0);
  runButton.textContent = `Import ${plural(c.would_create, "user")}`;
}

async function send(dryRun) {
  const file = fileInput.files[0];
  if (!file) return;
  const body = new Blob([file], { type: "text/csv" });
  try {
    showImport(await api("POST", `/api/users/import?dry_run=${dryRun}`, body));
    flash("");
  } catch (error) {
    runButton.hidden = true;
    result.replaceChildren();
    flash(problemText(error));
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  send(true);
});
fileInput.addEventListener("change", () => {
  runButton.hidden = true;
  result.replaceChildren();
});
runButton.addEventListener("click", () => send(false));
