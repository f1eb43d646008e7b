// The rule builder's inputs: each is {node, read()}, read() giving the JSON value (undefined: leave the key out).
// They hold the values they were given as they are (a number stays a number, null stays null), so a rule
// loaded and read back unchanged is the same JSON.
import { el } from "./dom.js";
import { t } from "./i18n.js";

let serial = 0;
const uid = (prefix) => `${prefix}-${++serial}`;

// A select over `options` ({value, label}); the value it was given is kept as an option even when not listed.
export function choiceSelect(label, options, current, { multiple = false, blank = null } = {}) {
  const values = [];
  const node = el("select", { "aria-label": label, multiple });
  const add = (value, text) => {
    values.push(value);
    node.append(el("option", { value: String(values.length - 1) }, text));
  };
  if (blank !== null) add(undefined, blank);
  for (const option of options) add(option.value, option.label);
  const wanted = multiple ? (Array.isArray(current) ? current : []) : [current];
  for (const value of wanted) {
    if (value === undefined) continue;
    if (!values.some((v) => v === value)) add(value, t("%(value)s (not in the list)", { value: value === null ? t("(none)") : value }));
  }
  for (const option of node.options) option.selected = wanted.some((v) => v === values[Number(option.value)]);
  if (!multiple && node.selectedIndex < 0 && values.length) node.selectedIndex = 0;
  const read = () => multiple
    ? [...node.selectedOptions].map((o) => values[Number(o.value)])
    : values[Number(node.value)];
  return { node, read };
}

// Comma-separated text: a list, or (`asList` false) a single string when one item is given.
export function listInput(label, current, { parse = (s) => s, asList = true, suggestions = null } = {}) {
  const items = Array.isArray(current) ? current : current === undefined || current === null ? [] : [current];
  const list = suggestions ? uid("suggest") : null;
  const node = el("span", { class: "rb-input" },
    el("input", { "aria-label": t("%(label)s (comma-separated)", { label }), value: items.join(", "), list }),
    suggestions ? el("datalist", { id: list }, suggestions.map((s) => el("option", { value: s.value }))) : null);
  const input = node.querySelector("input");
  const read = () => {
    const parts = input.value.split(",").map((s) => s.trim()).filter((s) => s !== "").map(parse);
    return asList || parts.length !== 1 ? parts : parts[0];
  };
  return { node, read };
}

export function textInput(label, current, { suggestions = null, multiline = false } = {}) {
  const list = suggestions ? uid("suggest") : null;
  const field = multiline
    ? el("textarea", { "aria-label": label, rows: 3 })
    : el("input", { "aria-label": label, list });
  field.value = current ?? "";
  const node = el("span", { class: multiline ? "rb-input rb-wide" : "rb-input" }, field,
    suggestions ? el("datalist", { id: list }, suggestions.map((s) => el("option", { value: s.value }))) : null);
  return { node, read: () => (field.value === "" && current === undefined ? undefined : field.value) };
}

export function numberInput(label, current, { min = null, max = null, optional = false } = {}) {
  const node = el("input", { type: "number", step: "any", "aria-label": label, min, max, class: "rb-number" });
  node.value = current ?? "";
  return { node, read: () => (node.value === "" ? (optional ? undefined : null) : Number(node.value)) };
}

const yesNo = () => [{ value: true, label: t("yes") }, { value: false, label: t("no") }];

// A custom field's value, by its definition (`field`: {type, options}); `shape` one or list; unknown: text.
export function customValue(label, field, current, shape, { optional = false } = {}) {
  const type = field ? field.type : "text";
  const blank = optional ? t("(clear the field)") : null;
  const options = (field ? field.options : []).map((o) => ({ value: o, label: o }));
  if (type === "select" || type === "multiselect") {
    const multiple = shape === "list" || (optional && type === "multiselect");
    const picked = choiceSelect(label, options, current, { multiple, blank: multiple ? null : blank });
    if (!optional || !multiple) return picked;
    // Setting a multi select: nothing picked clears the field (no value), unless it was set to none.
    return { node: picked.node, read: () => (picked.read().length || Array.isArray(current) ? picked.read() : undefined) };
  }
  if (type === "checkbox") return shape === "list" ? choiceSelect(label, yesNo(), current, { multiple: true })
    : choiceSelect(label, yesNo(), current, { blank });
  if (type === "number") return shape === "list" ? listInput(label, current, { parse: Number })
    : numberInput(label, current, { optional });
  if (shape === "list") return listInput(label, current);
  return textInput(label, current);
}

export function flagSelect(label, current) {
  return choiceSelect(label, [{ value: true, label: t("yes") }, { value: false, label: t("no (it is set)") }], current);
}
