// The reply form's Preview: the Markdown rendered by the server's renderer (what the page and the mail will show).
import { api, problemText } from "./api.js";

const toggle = document.getElementById("preview-toggle");
const source = document.getElementById("comment-body");
const shown = document.getElementById("comment-preview");

async function show() {
  try {
    const { html } = await api("POST", "/api/markdown/preview", { body: source.value });
    shown.innerHTML = html || '<p class="empty">Nothing to preview.</p>'; // sanitised by the server (nh3)
  } catch (error) {
    shown.textContent = `The preview failed: ${problemText(error)}`;
  }
}

function write() {
  shown.hidden = true;
  source.hidden = false;
  toggle.textContent = "Preview";
  toggle.setAttribute("aria-pressed", "false");
  source.focus();
}

toggle.addEventListener("click", async () => {
  if (!shown.hidden) return write();
  await show();
  shown.hidden = false;
  source.hidden = true;
  toggle.textContent = "Write";
  toggle.setAttribute("aria-pressed", "true");
});
// Sending returns to writing: the next reply starts in the editor.
source.form.addEventListener("submit", () => {
  if (!shown.hidden) write();
});
