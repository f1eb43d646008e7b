// Account page: notification preferences, read from and saved to /api/auth/me/notification-preferences.
import { api, flash, problemText } from "./api.js";
import { t } from "./i18n.js";

const URL = "/api/auth/me/notification-preferences";
const form = document.getElementById("prefs-form");
const saved = document.getElementById("prefs-saved");

function boxes() {
  return form.querySelectorAll("input[data-channel]");
}

function show(prefs) {
  for (const box of boxes()) box.checked = Boolean(prefs[box.dataset.channel][box.dataset.kind]);
  form.elements.digest.value = prefs.digest;
}

function read() {
  const prefs = { email: {}, in_app: {}, digest: form.elements.digest.value };
  for (const box of boxes()) prefs[box.dataset.channel][box.dataset.kind] = box.checked;
  return prefs;
}

if (form) {
  api("GET", URL).then(show, (error) => flash(problemText(error)));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      show(await api("PUT", URL, read()));
      saved.textContent = t("Saved.");
      flash("");
    } catch (error) {
      flash(problemText(error));
    }
  });
}
