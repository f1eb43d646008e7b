// Sign-in page: "Sign in with a passkey", shown where the browser can use one. The server's options name no user:
// the passkey the person picks does, and the server signs its owner in.
import { api, flash, problemText } from "./api.js";
import { t } from "./i18n.js";

const card = document.getElementById("passkey-signin-card");
const button = document.getElementById("passkey-signin");

async function signIn() {
  const options = await api("POST", "/api/auth/passkeys/login/options");
  const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(options);
  const credential = await navigator.credentials.get({ publicKey });
  await api("POST", "/api/auth/passkeys/login", { credential: credential.toJSON() });
  window.location.assign(button.dataset.next || "/");
}

if (typeof window.PublicKeyCredential === "function" && PublicKeyCredential.parseRequestOptionsFromJSON) {
  card.hidden = false;
  button.addEventListener("click", () => {
    flash("");
    signIn().catch((error) =>
      flash(error.name === "NotAllowedError" ? t("No passkey was used (cancelled or timed out).") : problemText(error)),
    );
  });
}
