// Two-step sign-in: setting up TOTP (the account page, and a sign-in whose role requires it) with its QR code, key
// and first code, then the recovery codes shown once; new recovery codes on the account page.
import { api, flash, problemText } from "./api.js";
import { tn } from "./i18n.js";

function showCodes(list, codes) {
  list.replaceChildren(
    ...codes.map((code) => {
      const item = document.createElement("li");
      item.textContent = code;
      return item;
    }),
  );
  list.hidden = false;
}

const digits = (form) => form.elements.code.value.replace(/\s/g, "");

async function attempt(action) {
  try {
    await action();
    flash("");
  } catch (error) {
    flash(problemText(error));
  }
}

const start = document.getElementById("mfa-start");
start?.addEventListener("click", () =>
  attempt(async () => {
    const made = await api("POST", "/api/auth/mfa/totp");
    document.getElementById("mfa-qr").innerHTML = made.qr_svg; // our own server's SVG, no image from elsewhere
    document.getElementById("mfa-secret").textContent = made.secret;
    document.getElementById("mfa-setup").hidden = false;
    start.hidden = true;
    document.getElementById("mfa-confirm-code").focus();
  }),
);

document.getElementById("mfa-confirm")?.addEventListener("submit", (event) => {
  event.preventDefault();
  attempt(async () => {
    const done = await api("POST", "/api/auth/mfa/totp/confirm", { code: digits(event.target) });
    document.getElementById("mfa-setup").hidden = true;
    showCodes(document.getElementById("mfa-codes"), done.recovery_codes);
    document.getElementById("mfa-codes-box").hidden = false;
  });
});

document.getElementById("mfa-renew")?.addEventListener("submit", (event) => {
  event.preventDefault();
  attempt(async () => {
    const done = await api("POST", "/api/auth/mfa/recovery-codes", { code: digits(event.target) });
    showCodes(document.getElementById("mfa-renewed"), done.recovery_codes);
    document.getElementById("mfa-left").textContent = tn(
      "%(num)d recovery code left (a new one, shown only now).",
      "%(num)d recovery codes left (new ones, shown only now).",
      done.recovery_codes.length,
    );
    event.target.reset();
  });
});
