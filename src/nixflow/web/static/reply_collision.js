// The collision prompt: a reply was refused because someone else commented after the writer's page last showed
// the conversation. Show what they wrote, refresh the page so the conversation has it, then offer "Send anyway".
import { el } from "./dom.js";

export function showCollision(form, comments, sendAnyway) {
  const old = document.getElementById("collision");
  if (old) old.remove();
  const newest = Math.max(...comments.map((comment) => comment.id));
  const anyway = el("button", { type: "button", id: "send-anyway", disabled: true }, "Send anyway");
  const box = el(
    "div",
    { id: "collision", class: "collision", role: "alertdialog", "aria-labelledby": "collision-h" },
    el("p", { id: "collision-h" }, el("strong", {}, comments.length > 1 ? "New replies" : "A new reply"), " arrived while you were writing. Read it before you send yours:"),
    ...comments.map((comment) =>
      el(
        "blockquote",
        { dataset: { commentId: comment.id } },
        el("p", { class: "meta" }, el("strong", {}, comment.author_name), " · ", new Date(comment.created_at).toLocaleString()),
        el("p", { class: "quoted" }, comment.body),
      ),
    ),
    el(
      "p",
      { class: "collision-actions" },
      anyway,
      " ",
      el("button", { type: "button", class: "secondary", onclick: () => { box.remove(); form.elements.body.focus(); } }, "Edit my reply"),
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
