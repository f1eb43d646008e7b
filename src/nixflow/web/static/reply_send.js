// Staff's reply form: "Send", "Send as Pending", "Send as Resolved". The reply, the status and whatever the agent
// changed in the actions box (priority, assignee) go as one request, one unit of work: POST /api/tickets/{id}/update.
// A reply names the newest comment its page showed when it was begun: if someone else's public comment came after
// it, the server refuses it (409) and the page shows that comment first, with "Send anyway".
import { ApiError, api, flash, problemText } from "./api.js";
import { el } from "./dom.js";
import { statusLabel, t } from "./i18n.js";
import { bodyText, uploadPending } from "./attachments.js";
import { showCollision } from "./reply_collision.js";

const SPLIT_TARGETS = { pending: () => t("Send as Pending"), resolved: () => t("Send as Resolved") };
const form = document.getElementById("comment-form");
const split = document.getElementById("send-as");

// The split targets the live actions box offers now ("Move to"), so the buttons follow the ticket's status.
function targets() {
  const select = document.getElementById("move-status");
  const offered = select ? Array.from(select.options, (option) => option.value) : [];
  return Object.keys(SPLIT_TARGETS).filter((status) => offered.includes(status));
}

function showTargets() {
  const now = targets();
  const shown = Array.from(split.querySelectorAll("button"), (button) => button.dataset.status);
  if (now.join() === shown.join()) return; // unchanged: leave the buttons (and the focus) alone
  split.replaceChildren(
    ...now.map((status) => el("button", { type: "submit", class: "secondary", dataset: { status } }, SPLIT_TARGETS[status]())),
  );
}

// An actions-box field the agent changed and has not saved: sent with the reply.
function changed(id, name, parse) {
  const select = document.getElementById(id);
  if (!select) return {};
  const initial = Array.from(select.options).find((option) => option.defaultSelected) || select.options[0];
  return !initial || select.value === initial.value ? {} : { [name]: parse(select.value) };
}

// The newest comment the conversation shows; and the one it showed when this reply was begun.
function newestShown() {
  const ids = Array.from(document.querySelectorAll("#conversation [data-comment-id]"), (li) => Number(li.dataset.commentId));
  return Math.max(0, ...ids);
}
let seenAtStart = null;
form.elements.body.addEventListener("input", () => {
  if (seenAtStart === null) seenAtStart = newestShown();
});
form.addEventListener("reset", () => {
  seenAtStart = null;
});

function submission(status, seen) {
  const comment = { body: bodyText(), internal: form.elements.internal ? form.elements.internal.checked : false };
  comment.seen_comment_id = seen ?? seenAtStart ?? newestShown();
  const body = {
    version: Number(document.getElementById("ticket-version").dataset.version),
    comment,
    ...changed("priority", "priority", String),
    ...changed("assignee", "assignee_id", (value) => (value === "" ? null : Number(value))),
  };
  if (status) body.status = status;
  const minutes = document.getElementById("reply-minutes");
  if (minutes && minutes.value) body.time = { minutes: Number(minutes.value), billable: document.getElementById("reply-billable").checked };
  return body;
}

async function send(status, seen) {
  form.setAttribute("aria-busy", "true");
  try {
    const result = await api("POST", form.dataset.api, submission(status, seen));
    await uploadPending(result.comment.id);
    form.reset();
    flash(status ? t("Sent; the ticket is %(status)s", { status: statusLabel(result.ticket.status) }) : t("Sent"), "ok");
    document.dispatchEvent(new CustomEvent("nixflow:refresh"));
  } catch (error) {
    const arrived = error instanceof ApiError && error.status === 409 ? newComments(error.problem) : [];
    if (arrived.length) showCollision(form, arrived, (newest) => send(status, newest));
    else flash(problemText(error));
  } finally {
    form.removeAttribute("aria-busy");
  }
}

function newComments(problem) {
  return (problem.errors || []).filter((e) => e.type === "new_comment" && e.comment).map((e) => e.comment);
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  event.stopPropagation(); // this form is sent here, not by the page's generic handler
  if (!bodyText()) {
    flash(t("Write a comment or attach a file"));
    return;
  }
  send(event.submitter ? event.submitter.dataset.status : undefined);
});

// Ctrl+Enter (Cmd+Enter) in the reply sends it, as "Send".
form.elements.body.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
    event.preventDefault();
    form.requestSubmit(form.querySelector("button[type=submit]"));
  }
});

document.addEventListener("nixflow:refreshed", showTargets);
form.dataset.splitReady = "true"; // bound: what a test waits for
