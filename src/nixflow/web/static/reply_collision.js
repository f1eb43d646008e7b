// The collision prompt: a reply was refused because someone else commented after the writer's page last showed
// the conversation. Show what they wrote, refresh the page so the conversation has it, then offer "Send anyway".
import { el } from "./dom.js";
import { formatWhen, t, tn } from "./i18n.js";

export function showCollision(form, comments, sendAnyway) {
  const old = document.getElementById("collision");
  if (old) old.remove();
  const newest = Math.max(...comments.map((comment) => comment.id));
  const anyway = el("button", { type: "button", id: "send-anyway", disabled: true }, t("Send anyway"));
  const box = el(
    "div",
    { id: "collision", class: "collision", role: "alertdialog", "aria-labelledby": "collision-h" },
    el("p", { id: "collision-h" }, tn(
      "A new reply arrived while you were writing. Read it before you send yours:",
      "%(num)d new replies arrived while you were writing. Read them before you send yours:",
      comments.length,
    )),
    ...comments.map((comment) =>
      el(
        "blockquote",
        { dataset: { commentId: comment.id } },
        // <bdi>: a Latin name or date keeps its own order inside a right-to-left page.
        el("p", { class: "meta" }, el("strong", {}, el("bdi", {}, comment.author_name)), " · ", el("bdi", {}, formatWhen(comment.created_at))),
        el("p", { class: "quoted" }, comment.body),
      ),
    ),
    el(
      "p",
      { class: "collision-actions" },
      anyway,
      " ",
      el("button", { type: "button", class: "secondary", onclick: () => { box.remove(); form.elements.body.focus(); } }, t("Edit my reply")),
    ),
  );
  anyway.addEventListener("click", () => {
    box.remove();
    sendAnyway(newest);
  });
  // Enabled once the page shows the new comment and the ticket's new version (which the resend carries).
  document.addEventListener(
    "nixflow:refreshed",
    () => {
      for (const comment of comments) {
        const shown = document.querySelector(`#conversation [data-comment-id="${comment.id}"]`);
        if (shown) shown.classList.add("arrived");
      }
      anyway.disabled = false;
      anyway.focus();
    },
    { once: true },
  );
  form.querySelector(".split-send").before(box);
  document.dispatchEvent(new CustomEvent("nixflow:refresh"));
}
