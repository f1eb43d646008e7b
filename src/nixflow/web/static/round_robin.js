// Admin: round-robin counters against /api/round-robin/counters.
import { api, flash, problemText } from "./api.js";
import { el, listOf } from "./dom.js";
import { t } from "./i18n.js";

const tbody = document.querySelector("#counters tbody");

async function reset(key) {
  try {
    await api("DELETE", key === null ? "/api/round-robin/counters" : `/api/round-robin/counters/${encodeURIComponent(key)}`);
    flash(key === null ? t("Every counter reset") : t("Counter %(key)s reset", { key }), "ok");
    await load();
  } catch (error) {
    flash(problemText(error));
  }
}

async function load() {
  try {
    const counters = listOf(await api("GET", "/api/round-robin/counters"), "key");
    tbody.replaceChildren(...(counters.length ? counters.map((c) => el("tr", {},
      el("td", {}, c.key),
      el("td", {}, c.value ?? c.counter ?? c.count ?? JSON.stringify(c)),
      el("td", {}, el("button", { type: "button", class: "secondary", onclick: () => reset(c.key) }, t("Reset"), " ",
        el("span", { class: "sr-only" }, c.key))))) : [el("tr", {}, el("td", { colspan: 3, class: "empty" }, t("No counters yet.")))]));
  } catch (error) {
    tbody.replaceChildren(el("tr", {}, el("td", { colspan: 3, class: "empty" }, t("Counters are not available: %(error)s", { error: problemText(error) }))));
  }
}

document.getElementById("reset-all").addEventListener("click", () => {
  if (window.confirm(t("Reset every round-robin counter?"))) reset(null);
});
load();
