// The reset link's page: the token comes in the URL's fragment (never sent to a server, so no log or Referer
// holds it). Take it into the form, out of the address bar, and make sure the new password was typed twice alike.
import { t } from "./i18n.js";

const form = document.getElementById("reset-form");
const token = new URLSearchParams(window.location.hash.slice(1)).get("token") || "";
if (window.location.hash) history.replaceState(null, "", window.location.pathname);
if (!token) {
  form.hidden = true;
  document.getElementById("reset-missing").hidden = false;
}
form.elements.token.value = token;

const confirm = document.getElementById("confirm_password");
function check() {
  confirm.setCustomValidity(confirm.value === form.elements.password.value ? "" : t("The two passwords differ"));
}
form.elements.password.addEventListener("input", check);
confirm.addEventListener("input", check);
