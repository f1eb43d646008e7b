// The reply box's picker: "/" and a few letters find canned replies and macros (arrows, Enter, Escape). A reply
// inserts its text, rendered for this ticket; a macro shows what it would do, and applies on confirm.
import { api, flash, problemText } from "./api.js";
import { el } from "./dom.js";
import { priorityLabel, statusLabel, t } from "./i18n.js";

const SHOWN = 10;
const form = document.getElementById("comment-form");
const box = form.elements.body;
const ticketId = (document.body.dataset.liveScope || "").replace(/^ticket:/, "");
const list = el("ul", { id: "reply-picker", role: "listbox", class: "picker", "aria-label": t("Replies and macros"), hidden: true });
const panel = el("section", { id: "macro-preview", class: "macro-preview", "aria-label": t("Macro preview"), hidden: true });
box.after(list, panel);
box.setAttribute("aria-autocomplete", "list");
box.setAttribute("aria-controls", "reply-picker");
box.setAttribute("aria-expanded", "false");
box.setAttribute("aria-keyshortcuts", "/");

let entries = [];
let active = -1;
let token = null;
let asked = 0;

// The "/letters" just before the caret: at the start of the box or after a space, no space inside.
function slashToken() {
  const upto = box.value.slice(0, box.selectionStart);
  const match = /(?:^|\s)\/([^\s/]{0,40})$/.exec(upto);
  return match ? { start: upto.length - match[1].length - 1, end: upto.length, q: match[1] } : null;
}

function close() {
  list.hidden = true;
  list.replaceChildren();
  entries = [];
  active = -1;
  box.setAttribute("aria-expanded", "false");
  box.removeAttribute("aria-activedescendant");
}

function show() {
  active = entries.length ? Math.min(Math.max(active, 0), entries.length - 1) : -1;
  const option = (entry, i) => el("li", {
    id: `pick-${i}`, role: "option", "aria-selected": String(i === active), dataset: { kind: entry.kind },
    onmousedown: (event) => { event.preventDefault(); choose(i); },
  }, el("span", { class: `badge kind-${entry.kind}` }, entry.kind === "reply" ? t("reply") : t("macro")), " ", entry.item.name);
  list.replaceChildren(...(entries.length ? entries.map(option) : [el("li", { class: "empty" }, t("No reply or macro by that name"))]));
  list.hidden = false;
  box.setAttribute("aria-expanded", "true");
  if (active >= 0) box.setAttribute("aria-activedescendant", `pick-${active}`);
  else box.removeAttribute("aria-activedescendant");
}

async function search() {
  token = slashToken();
  if (!token) return close();
  const ask = ++asked;
  const q = encodeURIComponent(token.q);
  const [replies, macros] = await Promise.all([api("GET", `/api/replies?q=${q}`), api("GET", `/api/macros?q=${q}`)]);
  if (ask !== asked || !slashToken()) return; // a later keystroke's answer wins
  const found = [...replies.map((item) => ({ kind: "reply", item })), ...macros.map((item) => ({ kind: "macro", item }))];
  entries = found.slice(0, SHOWN);
  active = 0;
  show();
}

// A field's value in words, as the ticket's actions box names it (an assignee's or category's name).
function named(field, value) {
  if (value === null || value === undefined) return t("none");
  if (field === "status") return statusLabel(value);
  if (field === "priority") return priorityLabel(value);
  const select = { assignee_id: "assignee", category_id: "category" }[field];
  const option = select && document.querySelector(`#${select} option[value="${value}"]`);
  return option ? option.textContent.trim() : String(value);
}

// What a macro's preview calls each change (the API's names, translated).
const CHANGE_NAMES = {
  status: () => t("status"),
  priority: () => t("priority"),
  assignee_id: () => t("assignee"),
  category_id: () => t("category"),
  add_tags: () => t("add tags"),
  remove_tags: () => t("remove tags"),
};
const changeName = (field) => (CHANGE_NAMES[field] ? CHANGE_NAMES[field]() : field.replace(/_id$/, "").replaceAll("_", " "));

function closePanel() {
  panel.hidden = true;
  panel.replaceChildren();
  box.focus();
}

async function apply(preview) {
  try {
    const url = `/api/tickets/${ticketId}/macros/${preview.macro_id}/apply`;
    const result = await api("POST", url, { version: preview.version });
    closePanel();
    flash(t("Applied “%(name)s”; the ticket is %(status)s", { name: preview.name, status: statusLabel(result.ticket.status) }), "ok");
    document.dispatchEvent(new CustomEvent("nixflow:refresh"));
  } catch (problem) {
    flash(problemText(problem));
  }
}

async function showPreview(macro) {
  const preview = await api("POST", `/api/tickets/${ticketId}/macros/${macro.id}/preview`);
  const changes = Object.entries(preview.changes).map(([field, change]) => el("li", {}, Array.isArray(change)
    ? t("%(what)s: %(values)s", { what: changeName(field), values: change.join(", ") })
    : t("%(what)s: %(old)s → %(new)s", { what: changeName(field), old: named(field, change.old), new: named(field, change.new) })));
  const confirm = el("button", { type: "button", id: "macro-apply", onclick: () => apply(preview) }, t("Apply macro"));
  panel.replaceChildren(
    el("h3", {}, t("Macro “%(name)s”", { name: preview.name })),
    preview.reply ? el("p", { class: "muted" }, preview.reply.internal ? t("Adds the internal note:") : t("Sends the reply:")) : null,
    preview.reply ? el("blockquote", { class: "macro-reply" }, preview.reply.body) : null,
    changes.length ? el("ul", { class: "macro-changes" }, changes) : el("p", { class: "muted" }, t("Changes nothing else.")),
    el("p", {}, confirm, " ", el("button", { type: "button", class: "secondary", onclick: closePanel }, t("Cancel"))),
  );
  panel.hidden = false;
  confirm.focus();
}

async function choose(i) {
  const entry = entries[i];
  const at = token;
  close();
  if (!entry || !at) return;
  try {
    const text = entry.kind === "reply"
      ? (await api("POST", `/api/tickets/${ticketId}/replies/${entry.item.id}/render`)).body
      : "";
    box.value = box.value.slice(0, at.start) + text + box.value.slice(at.end);
    box.setSelectionRange(at.start + text.length, at.start + text.length);
    box.focus();
    if (entry.kind === "macro") await showPreview(entry.item);
  } catch (problem) {
    flash(problemText(problem));
  }
}

box.addEventListener("input", () => search().catch((problem) => flash(problemText(problem))));
box.addEventListener("blur", close);
box.addEventListener("keydown", (event) => {
  if (list.hidden) return;
  const moves = { ArrowDown: 1, ArrowUp: -1 };
  if (event.key in moves && entries.length) {
    event.preventDefault();
    active = (active + moves[event.key] + entries.length) % entries.length;
    show();
  } else if (event.key === "Enter" && !event.ctrlKey && !event.metaKey && active >= 0) {
    event.preventDefault();
    choose(active);
  } else if (event.key === "Escape") {
    event.preventDefault();
    close();
  }
});
panel.addEventListener("keydown", (event) => {
  if (event.key === "Escape") closePanel();
});
box.dataset.pickerReady = "true"; // bound: what a test waits for
