// The reply form's Preview: the Markdown rendered by the server's renderer (what the page and the mail will show).
import { api, problemText } from "./api.js";
import { el } from "./dom.js";
import { t } from "./i18n.js";

const toggle = document.getElementById("preview-toggle");
const source = document.getElementById("comment-body");
const shown = document.getElementById("comment-preview");

async function show() {
  try {
    const { html } = await api("POST", "/api/markdown/preview", { body: source.value });
    if (html) shown.innerHTML = html; // sanitised by the server (nh3)
    else shown.replaceChildren(el("p", { class: "empty" }, t("Nothing to preview.")));
  } catch (error) {
    shown.textContent = t("The preview failed: %(error)s", { error: problemText(error) });
  }
}

function write() {
  shown.hidden = true;
  source.hidden = false;
  toggle.textContent = t("Preview");
  toggle.setAttribute("aria-pressed", "false");
  source.focus();
}

toggle.addEventListener("click", async () => {
  if (!shown.hidden) return write();
  await show();
  shown.hidden = false;
  source.hidden = true;
  toggle.textContent = t("Write");
  toggle.setAttribute("aria-pressed", "true");
});
// Sending returns to writing: the next reply starts in the editor.
source.form.addEventListener("submit", () => {
  if (!shown.hidden) write();
});
