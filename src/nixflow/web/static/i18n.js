// The page's language for scripts: messages, plurals, dates, numbers and durations. The catalogue is the JSON the
// base page embeds (`<script type="application/json" id="nixflow-i18n">`), read once; without it, or for a message
// it lacks, the msgid itself is shown (msgids are the English text). Placeholders are named, `%(name)s`.

function embedded() {
  const node = typeof document === "undefined" ? null : document.getElementById("nixflow-i18n");
  let data = {};
  try {
    data = node ? JSON.parse(node.textContent || "{}") || {} : {};
  } catch {
    data = {}; // an unreadable catalogue: English, rather than no script at all
  }
  return {
    lang: data.lang || document.documentElement.lang || "en",
    timezone: data.timezone || undefined, // undefined: the browser's own zone
    messages: data.messages || {},
    plurals: data.plurals || {},
  };
}

const CATALOGUE = embedded();
const PLURAL_RULES = new Intl.PluralRules(CATALOGUE.lang);
const ENGLISH_RULES = new Intl.PluralRules("en"); // the msgids' own language, for a message the catalogue lacks

// `%(name)s` / `%(name)d` replaced by params[name]; "%%" is a percent sign. An unknown name stays as it is.
function fill(text, params) {
  return text.replace(/%(?:\((\w+)\)[sd]|%)/g, (whole, name) => {
    if (name === undefined) return "%";
    return Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : whole;
  });
}

export function t(msgid, params = {}) {
  return fill(CATALOGUE.messages[msgid] || msgid, params);
}

// Singular and plural by the language's CLDR category for n; `num` is n, formatted for the language.
export function tn(singular, plural, n, params = {}) {
  const forms = CATALOGUE.plurals[singular];
  const english = ENGLISH_RULES.select(n) === "one" ? singular : plural;
  const text = forms ? forms[PLURAL_RULES.select(n)] || forms.other : null;
  return fill(text || english, { num: formatNumber(n), ...params });
}

// A translated sentence with elements in it: each `%(name)s` left in `text` whose name `nodes` has becomes that node
// (a name in bold, a link), the rest stays text. For `el(...)`'s children.
export function withNodes(text, nodes) {
  return text
    .split(/(%\(\w+\)s)/)
    .map((part) => {
      const name = /^%\((\w+)\)s$/.exec(part)?.[1];
      return name !== undefined && name in nodes ? nodes[name] : part;
    })
    .filter((part) => part !== "");
}

// The page's language code ("en", "de", ...).
export function language() {
  return CATALOGUE.lang;
}

export function formatNumber(n) {
  return new Intl.NumberFormat(CATALOGUE.lang).format(n);
}

// An instant (RFC 3339 text, a Date or epoch ms) as a date and time in the page's language and zone; "" if none.
export function formatWhen(instant, { dateOnly = false } = {}) {
  if (instant === null || instant === undefined || instant === "") return "";
  const date = instant instanceof Date ? instant : new Date(instant);
  if (Number.isNaN(date.getTime())) return String(instant);
  const style = dateOnly ? { dateStyle: "medium" } : { dateStyle: "medium", timeStyle: "short" };
  return new Intl.DateTimeFormat(CATALOGUE.lang, { ...style, timeZone: CATALOGUE.timezone }).format(date);
}

const UNITS = [
  ["day", 86400000],
  ["hour", 3600000],
  ["minute", 60000],
  ["second", 1000],
];

// A span of ms from now as words: positive is ahead ("in 3 hours"), negative behind ("2 hours ago"), in the
// largest whole unit.
export function formatDuration(ms) {
  const [unit, size] = UNITS.find(([, length]) => Math.abs(ms) >= length) || UNITS[UNITS.length - 1];
  const amount = Math.trunc(ms / size);
  return new Intl.RelativeTimeFormat(CATALOGUE.lang, { numeric: "always" }).format(amount, unit);
}

// A span of ms as a compact clock for countdowns ("2d 3h 4m", "3h 4m 5s", "4m 5s"), in the page's language.
export function formatSpan(ms) {
  const s = Math.floor(Math.abs(ms) / 1000);
  const [days, hours, minutes, seconds] = [Math.floor(s / 86400), Math.floor((s % 86400) / 3600), Math.floor((s % 3600) / 60), s % 60];
  const shown = days ? { days, hours, minutes } : hours ? { hours, minutes, seconds } : { minutes, seconds };
  const always = Object.fromEntries(Object.keys(shown).map((unit) => [`${unit}Display`, "always"]));
  return new Intl.DurationFormat(CATALOGUE.lang, { style: "narrow", ...always }).format(shown);
}

// A ticket's status and priority as the scripts show them: the API's stable names, translated.
const STATUSES = {
  new: () => t("new"),
  open: () => t("open"),
  pending: () => t("pending"),
  resolved: () => t("resolved"),
  closed: () => t("closed"),
};
const PRIORITIES = {
  low: () => t("low"),
  normal: () => t("normal"),
  high: () => t("high"),
  critical: () => t("critical"),
};
export const statusLabel = (name) => (STATUSES[name] ? STATUSES[name]() : String(name));
export const priorityLabel = (name) => (PRIORITIES[name] ? PRIORITIES[name]() : String(name));
