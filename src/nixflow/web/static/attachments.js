// The comment form of a ticket: files dropped on it (or chosen) wait, removable, until they are uploaded with the
// comment, as its attachments; files may go without text.
import { ApiError, api, flash, flashNextPage, problemText } from "./api.js";
import { el } from "./dom.js";
import { formatNumber, t, tn } from "./i18n.js";

const form = document.getElementById("comment-form");
const zone = document.getElementById("drop-zone");
const input = document.getElementById("comment-files");
const list = document.getElementById("pending-files");
const pending = [];

function cookie(name) {
  const found = document.cookie.split("; ").find((part) => part.startsWith(name + "="));
  return found ? decodeURIComponent(found.slice(name.length + 1)) : "";
}

function show() {
  list.replaceChildren(
    ...pending.map((file, index) =>
      el("li", {},
        tn("%(name)s (%(num)d byte)", "%(name)s (%(num)d bytes)", file.size, { name: file.name }),
        el("button", {
          type: "button",
          class: "secondary",
          "aria-label": t("Remove %(name)s", { name: file.name }),
          onclick: () => {
            pending.splice(index, 1);
            show();
          },
        }, t("Remove"))),
    ),
  );
}

function add(files) {
  for (const file of files) pending.push(file);
  show();
}

async function upload(file, commentId) {
  const data = new FormData();
  data.append("file", file, file.name);
  data.append("comment_id", String(commentId));
  const response = await fetch(form.dataset.files, {
    method: "POST",
    body: data,
    credentials: "same-origin",
    headers: { Accept: "application/json", "X-CSRF-Token": cookie("nixflow_csrf") },
  });
  if (!response.ok) {
    let problem = {};
    try {
      problem = await response.json();
    } catch {
      /* not JSON: the status says enough */
    }
    throw new ApiError(response.status, problem);
  }
}

zone.addEventListener("dragover", (event) => {
  event.preventDefault();
  zone.classList.add("dragging");
});
zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
zone.addEventListener("drop", (event) => {
  event.preventDefault();
  zone.classList.remove("dragging");
  add(event.dataTransfer.files);
});
input.addEventListener("change", () => {
  add(input.files);
  input.value = "";
});

// A comment needs words: one that only brings files says which it brings. Empty: nothing to send.
export function bodyText() {
  const text = form.elements.body.value.trim();
  return text || (pending.length ? t("Attached %(files)s", { files: pending.map((file) => file.name).join(", ") }) : "");
}

// Each waiting file, uploaded onto the comment just made.
export async function uploadPending(commentId) {
  try {
    while (pending.length) {
      await upload(pending[0], commentId);
      pending.shift();
    }
  } finally {
    show();
  }
}

// With files waiting, this form posts the comment, then each file on it; without, the page's usual handler does.
// Staff's reply form (`data-split`) sends through reply_send.js, which uses the two helpers above.
form.addEventListener("submit", async (event) => {
  if ("split" in form.dataset) return;
  if (!pending.length) {
    if (form.elements.body.value.trim()) return;
    event.preventDefault();
    event.stopPropagation();
    flash(t("Write a comment or attach a file"));
    return;
  }
  event.preventDefault();
  event.stopPropagation();
  form.setAttribute("aria-busy", "true");
  try {
    const comment = await api("POST", form.dataset.api, {
      body: bodyText(),
      internal: form.elements.internal ? form.elements.internal.checked : false,
    });
    await uploadPending(comment.id);
    flashNextPage(t("Saved"));
    window.location.reload();
  } catch (error) {
    flash(problemText(error));
  } finally {
    form.removeAttribute("aria-busy");
    show();
  }
});

form.dataset.filesReady = "true"; // the drop zone and the form are bound: what a test (or a script) waits for
