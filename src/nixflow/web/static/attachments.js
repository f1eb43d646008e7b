// The comment form of a ticket: files dropped on it (or chosen) are uploaded with the comment, as its attachments.
import { ApiError, api, flash, problemText } from "./api.js";

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
    ...pending.map((file) => {
      const item = document.createElement("li");
      item.textContent = `${file.name} (${file.size} bytes)`;
      return item;
    }),
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

// With files waiting, this form posts the comment, then each file on it; without, the page's usual handler does.
form.addEventListener("submit", async (event) => {
  if (!pending.length) return;
  event.preventDefault();
  event.stopPropagation();
  form.setAttribute("aria-busy", "true");
  try {
    const comment = await api("POST", form.dataset.api, {
      body: form.elements.body.value,
      internal: form.elements.internal ? form.elements.internal.checked : false,
    });
    while (pending.length) {
      await upload(pending[0], comment.id);
      pending.shift();
    }
    window.location.reload();
  } catch (error) {
    flash(problemText(error));
  } finally {
    form.removeAttribute("aria-busy");
    show();
  }
});
