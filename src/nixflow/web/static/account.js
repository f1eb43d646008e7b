// Account page: the new password must be typed twice alike before the form is sent; notification preferences;
// passkeys.
import "./preferences.js";
import "./passkeys.js";
import "./mfa.js";
import { t } from "./i18n.js";

const form = document.getElementById("password-form");
const confirm = document.getElementById("confirm_password");

function check() {
  confirm.setCustomValidity(confirm.value === form.elements.new_password.value ? "" : t("The two new passwords differ"));
}

form.elements.new_password.addEventListener("input", check);
confirm.addEventListener("input", check);
