// Calls to the NixFlow API from pages: JSON in and out, the CSRF header, problem+json shown to the user.
import { language, t } from "./i18n.js";

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || t("request failed (%(status)s)", { status }));
    this.status = status;
    this.problem = problem;
  }
}

function cookie(name) {
  const found = document.cookie.split("; ").find((part) => part.startsWith(name + "="));
  return found ? decodeURIComponent(found.slice(name.length + 1)) : "";
}

// A Blob or File body (an upload) is sent as it is, with its own type; anything else as JSON.
export async function api(method, url, body) {
  const headers = { Accept: "application/json" };
  const raw = body instanceof Blob;
  if (body !== undefined) headers["Content-Type"] = raw ? body.type || "application/octet-stream" : "application/json";
  if (method !== "GET") headers["X-CSRF-Token"] = cookie("nixflow_csrf");
  const response = await fetch(url, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined || raw ? body : JSON.stringify(body),
  });
  if (response.status === 204) return null;
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { detail: text };
  }
  if (!response.ok) throw new ApiError(response.status, data || {});
  return data;
}

export function flash(message, kind = "error") {
  const box = document.getElementById("flash");
  if (!box) return;
  box.textContent = message;
  box.dataset.kind = kind;
  box.hidden = !message;
}

// Where a validation error is, in words: ["body", "conditions", "any", 0] is "Condition 1".
const CONNECTIVES = new Set(["body", "query", "path", "any", "all", "not"]);
const singular = (word) => word.replace(/ies$/, "y").replace(/s$/, "");
function place(loc) {
  const words = [];
  let named = false; // the last word is a list's name, which a number after it replaces
  for (const part of loc || []) {
    if (typeof part === "number" || /^\d+$/.test(String(part))) {
      words.push(`${named ? singular(words.pop()) : "item"} ${Number(part) + 1}`);
      named = false;
    } else if (!CONNECTIVES.has(part)) {
      words.push(String(part).replaceAll("_", " "));
      named = true;
    }
  }
  const text = words.join(", ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

// What a refused call means, in the page's language, by its status (the API's `detail` is English: it names the
// field or thing, machine-facing; an English page shows it alone, any other shows this first and the detail after).
const HEADLINES = {
  400: () => t("The request was not understood."),
  401: () => t("Please sign in again."),
  403: () => t("You may not do this."),
  404: () => t("It does not exist, or you may not see it."),
  409: () => t("This clashes with a change made meanwhile."),
  413: () => t("This is too large."),
  422: () => t("Some values are not valid."),
  429: () => t("Too many attempts: wait a moment and try again."),
};
function headline(status) {
  if (HEADLINES[status]) return HEADLINES[status]();
  return status >= 500 ? t("The server could not do this; try again later.") : t("This could not be done.");
}

function detailOf(error) {
  const errors = error.problem.errors || [];
  if (!errors.length) return error.message;
  return errors
    .map((e) => [place(e.loc), String(e.msg || "").replace(/^(Value|Assertion) error, /, "")].filter(Boolean).join(": "))
    .join("; ");
}

// One readable message for a failed call: the problem's field errors in words, else its detail; on a page not in
// English, after what the status means in the page's language.
export function problemText(error) {
  if (!(error instanceof ApiError)) {
    if (error instanceof TypeError) return t("The server could not be reached: %(error)s", { error: error.message });
    return String(error.message || error);
  }
  const detail = detailOf(error);
  if (language() === "en") return detail;
  return t("%(headline)s (%(detail)s)", { headline: headline(error.status), detail });
}

// A message that outlives a page load: shown by the next page of this tab (after "reload" or "go:").
const NEXT_FLASH = "nixflow:flash";
export function flashNextPage(message) {
  if (message) sessionStorage.setItem(NEXT_FLASH, message);
}
export function showCarriedFlash() {
  const message = sessionStorage.getItem(NEXT_FLASH);
  if (!message) return;
  sessionStorage.removeItem(NEXT_FLASH);
  flash(message, "ok");
}

function valueOf(element) {
  const type = element.dataset.type || "";
  if (type === "bool") return element.checked;
  if (type === "ints") return Array.from(element.selectedOptions, (o) => Number(o.value));
  if (type === "strs") return Array.from(element.selectedOptions, (o) => o.value);
  const raw = element.value.trim();
  // A custom field (`data-field`): left empty, it is cleared.
  if (element.dataset.field) return raw === "" ? null : element.type === "number" ? Number(raw) : raw;
  if (type === "int-or-null") return raw === "" ? null : Number(raw);
  if (type === "list") return raw.split(",").map((part) => part.trim()).filter(Boolean);
  if (raw === "") return undefined;
  if (type === "int" || element.type === "number") return Number(raw);
  if (type === "json") return JSON.parse(raw);
  return element.value;
}

export function formBody(form) {
  const body = {};
  for (const element of form.elements) {
    if (!element.name || element.disabled || element.type === "submit") continue;
    const value = valueOf(element);
    if (value === undefined) continue;
    if (element.dataset.field) (body.fields ??= {})[element.dataset.field] = value;
    else if (element.dataset.group) (body[element.dataset.group] ??= {})[element.name] = value; // a nested object
    else body[element.name] = value;
  }
  if ("withVersion" in form.dataset) {
    body.version = Number(document.getElementById("ticket-version").dataset.version);
  }
  return body;
}

export async function after(then, result, refresh, saved = "") {
  if (!then || then === "reload") {
    flashNextPage(saved);
    window.location.reload();
  } else if (then === "refresh") {
    await refresh();
    if (saved) flash(saved, "ok");
  } else if (then.startsWith("go:")) {
    flashNextPage(saved);
    window.location.assign(then.slice(3).replace("{id}", result && result.id !== undefined ? result.id : ""));
  }
}

// What a control says once done: `data-saved` if given (empty: nothing), else "Saved" for a form.
function savedText(control) {
  if ("saved" in control.dataset) return control.dataset.saved;
  return control instanceof HTMLFormElement ? t("Saved") : "";
}

// Forms and buttons with `data-api` send JSON to that URL (`data-method`, default POST); with `data-confirm`,
// only once the user confirms.
export function bindApiControls(refresh) {
  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.dataset.api) return;
    event.preventDefault();
    const submitter = event.submitter;
    const url = (submitter && submitter.dataset.api) || form.dataset.api;
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) return;
    let body;
    try {
      body = formBody(form);
    } catch (error) {
      flash(t("Not valid JSON: %(error)s", { error: error.message }));
      return;
    }
    const done = await run(form, form.dataset.method || "POST", url, body, form.dataset.then, refresh);
    if (done && "reset" in form.dataset) {
      form.reset();
      // A live refresh may have replaced the form, keeping what was typed: clear the one now on the page too.
      if (form.id && !form.isConnected) document.getElementById(form.id)?.reset();
    }
  });
  document.addEventListener("click", async (event) => {
    const button = event.target instanceof Element ? event.target.closest("button[data-api]") : null;
    if (!button || button.form) return;
    if (button.dataset.confirm && !window.confirm(button.dataset.confirm)) return;
    const body = button.dataset.body ? JSON.parse(button.dataset.body) : undefined;
    await run(button, button.dataset.method || "POST", button.dataset.api, body, button.dataset.then, refresh);
  });
}

async function run(control, method, url, body, then, refresh) {
  control.setAttribute("aria-busy", "true");
  try {
    const result = await api(method, url, body);
    flash("");
    await after(then, result, refresh, savedText(control));
    return true;
  } catch (error) {
    flash(problemText(error));
    return false;
  } finally {
    control.removeAttribute("aria-busy");
  }
}
