// The users admin page: deactivation with its consequences shown first, and CSV import with a preview.
import { api, flash, flashNextPage, problemText } from "./api.js";
import { el } from "./dom.js";
import { priorityLabel, statusLabel, t, tn } from "./i18n.js";

const dialog = document.getElementById("deactivate-dialog");
const dialogBody = document.getElementById("deactivate-body");
const confirmButton = document.getElementById("deactivate-confirm");
let leaving = null; // the preview the dialog shows

function consequences(preview) {
  const items = [];
  const name = preview.name;
  const tickets = preview.tickets.map((ticket) => el("li", {},
    el("a", { href: `/tickets/${ticket.id}` }, `#${ticket.id} ${ticket.title}`), " ",
    t("(%(status)s, %(priority)s)", { status: statusLabel(ticket.status), priority: priorityLabel(ticket.priority) })));
  const more = preview.open_tickets - preview.tickets.length;
  items.push(el("li", {}, preview.open_tickets
    ? [tn(
      "%(num)d open ticket assigned to %(name)s goes to the other agents (the assignment rules, such as round-robin in the category) or, where no rule assigns it, back to the Unassigned queue:",
      "%(num)d open tickets assigned to %(name)s go to the other agents (the assignment rules, such as round-robin in the category) or, where no rule assigns them, back to the Unassigned queue:",
      preview.open_tickets, { name }),
    el("ul", {}, tickets, more > 0 ? el("li", {}, tn("and %(num)d more", "and %(num)d more", more)) : null)]
    : t("%(name)s has no open tickets assigned.", { name })));
  items.push(el("li", {}, preview.categories.length
    ? t("Round-robin stops picking %(name)s in %(categories)s (they stay members: activating them again restores it).",
      { name, categories: preview.categories.map((c) => c.name).join(", ") })
    : t("%(name)s is in no round-robin category.", { name })));
  const sessions = tn("%(num)d session", "%(num)d sessions", preview.sessions);
  const tokens = tn("%(num)d API token", "%(num)d API tokens", preview.api_tokens);
  items.push(el("li", {}, t("%(sessions)s and %(tokens)s end at once; they cannot sign in.", { sessions, tokens })));
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
  document.getElementById("deactivate-title").textContent = t("Deactivate %(name)s?", { name: leaving.name });
  dialogBody.replaceChildren(
    leaving.blocked
      ? el("p", { class: "flash", dataset: { kind: "error" } }, t("This cannot be done: %(reason)s.", { reason: leaving.blocked }))
      : el("p", {}, t("This is what happens:")),
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
    flashNextPage(t("Deactivated %(name)s", { name: leaving.name }));
    window.location.reload();
  } catch (error) {
    dialog.close();
    flash(problemText(error));
  } finally {
    confirmButton.removeAttribute("aria-busy");
  }
});

const STATUS_WORDS = {
  would_create: () => t("will be created"),
  created: () => t("created"),
  exists: () => t("exists already"),
  invalid: () => t("refused"),
};
const COLUMNS = () => [t("Line"), t("Name"), t("Email"), t("Role"), t("Categories"), t("Result")];
const form = document.getElementById("import-form");
const fileInput = document.getElementById("import-file");
const runButton = document.getElementById("import-run");
const result = document.getElementById("import-result");

function showImport(answer) {
  const c = answer.counts;
  const counts = {
    users: tn("%(num)d user", "%(num)d users", answer.dry_run ? c.would_create : c.created),
    exists: c.exists,
    rows: tn("%(num)d row", "%(num)d rows", c.invalid),
  };
  const summary = answer.dry_run
    ? t("Preview: %(users)s will be created, %(exists)s exist already, %(rows)s refused. Nothing is written yet.", counts)
    : t("Imported: %(users)s created, %(exists)s existed already, %(rows)s refused.", counts);
  const [line, name, email, role, categories, outcome] = COLUMNS();
  const rows = answer.rows.map((r) => el("tr", { dataset: { status: r.status } },
    el("td", { "data-label": line }, r.line),
    el("td", { "data-label": name }, r.name),
    el("td", { "data-label": email }, r.email),
    el("td", { "data-label": role }, r.role),
    el("td", { "data-label": categories }, r.categories.join(", ")),
    el("td", { "data-label": outcome }, el("span", { class: `badge import-${r.status}` }, STATUS_WORDS[r.status]()), r.reason ? ` ${r.reason}` : "")));
  result.replaceChildren(
    el("p", { class: "import-summary" }, summary),
    el("div", { class: "table-wrap" }, el("table", { class: "stack", id: "import-rows" },
      el("caption", { class: "sr-only" }, t("Each row of the file and what happens to it")),
      el("thead", {}, el("tr", {}, COLUMNS().map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, rows))),
  );
  runButton.hidden = !(answer.dry_run && c.would_create > 0);
  runButton.textContent = tn("Import %(num)d user", "Import %(num)d users", c.would_create);
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
