// Account page, "Passkeys": your passkeys (rename, delete) and adding one: the browser makes it with the options the
// server gives (discoverable, user verified), and the server keeps it once it verifies the browser's answer.
import { api, flash, problemText } from "./api.js";
import { formatWhen, t } from "./i18n.js";

const list = document.getElementById("passkey-list");
const none = document.getElementById("passkey-none");
const form = document.getElementById("passkey-form");
const status = document.getElementById("passkey-status");
const when = (instant) => (instant ? formatWhen(instant) : t("never"));

export const passkeysWork = () =>
  typeof window.PublicKeyCredential === "function" &&
  typeof PublicKeyCredential.parseCreationOptionsFromJSON === "function";

function item(passkey) {
  const li = document.createElement("li");
  li.dataset.passkeyId = passkey.id;
  const rename = document.createElement("form");
  rename.className = "passkey";
  const label = document.createElement("label");
  label.className = "visually-hidden";
  label.htmlFor = `passkey-${passkey.id}`;
  label.textContent = t("Passkey name");
  const name = document.createElement("input");
  Object.assign(name, { id: `passkey-${passkey.id}`, value: passkey.name, maxLength: 100, required: true });
  const facts = document.createElement("span");
  facts.className = "muted";
  facts.textContent = t("added %(added)s, last used %(used)s", { added: when(passkey.created_at), used: when(passkey.last_used_at) });
  const save = Object.assign(document.createElement("button"), { type: "submit", textContent: t("Rename") });
  save.className = "secondary";
  const remove = Object.assign(document.createElement("button"), { type: "button", textContent: t("Delete") });
  remove.className = "secondary";
  rename.append(label, name, save, remove, facts);
  rename.addEventListener("submit", (event) => {
    event.preventDefault();
    act(() => api("PATCH", `/api/auth/passkeys/${passkey.id}`, { name: name.value }), t("Passkey renamed"));
  });
  remove.addEventListener("click", () => {
    if (!window.confirm(t("Delete the passkey “%(name)s”? It will not sign you in any more.", { name: passkey.name }))) return;
    act(() => api("DELETE", `/api/auth/passkeys/${passkey.id}`), t("Passkey deleted"));
  });
  li.append(rename);
  return li;
}

async function show() {
  const passkeys = await api("GET", "/api/auth/passkeys");
  list.replaceChildren(...passkeys.map(item));
  none.hidden = passkeys.length > 0;
}

async function act(call, done) {
  status.textContent = "";
  try {
    await call();
    await show();
    status.textContent = done;
    flash("");
  } catch (error) {
    flash(error.name === "NotAllowedError" ? t("The passkey was not made (cancelled or timed out).") : problemText(error));
  }
}

async function add(name) {
  const options = await api("POST", "/api/auth/passkeys/register/options");
  const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(options);
  const credential = await navigator.credentials.create({ publicKey });
  await api("POST", "/api/auth/passkeys/register", { name, credential: credential.toJSON() });
  form.reset();
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  act(() => add(form.elements.name.value), t("Passkey added"));
});
if (!passkeysWork()) {
  form.hidden = true;
  document.getElementById("passkey-unsupported").hidden = false;
}
await show().catch((error) => flash(problemText(error)));
