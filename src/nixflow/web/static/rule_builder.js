// The visual rule builder: conditions and actions as rows of inputs, offered from the server's vocabulary
// (GET /api/rules/vocabulary), read back as the JSON the API stores. A rule loaded and read back without edits is
// the same JSON, byte for byte (keys in the order they came); `load` says false when it cannot be (the page then
// keeps the JSON editor).
import { el } from "./dom.js";
import { priorityLabel, statusLabel, t } from "./i18n.js";
import { choiceSelect, customValue, flagSelect, listInput, numberInput, textInput } from "./rule_widgets.js";

const CONDITION_KEYS = ["field", "key", "op", "value"];
const GROUPS = { all: () => t("All of these"), any: () => t("Any of these") };
// A listed value of a condition field or an action: a status or priority by its translated name, else as it is.
const VALUE_LABELS = { status: statusLabel, priority: priorityLabel, set_status: statusLabel, set_priority: priorityLabel };

class Unrepresentable extends Error {}

// The keys of `values` that are not undefined, in the order `seen` had them, then in `order`.
function ordered(values, seen, order) {
  const out = {};
  for (const key of [...seen, ...order]) if (values[key] !== undefined && !(key in out)) out[key] = values[key];
  return out;
}

function found(list, predicate, what) {
  const item = list.find(predicate);
  if (!item) throw new Unrepresentable(what);
  return item;
}

export class RuleBuilder {
  constructor(root, vocabulary) {
    this.root = root;
    this.vocabulary = vocabulary;
    this.read = () => ({ conditions: {}, actions: [] });
  }

  choices(name) {
    return this.vocabulary.choices[name] || [];
  }

  customField(key) {
    return this.choices("fields").find((f) => f.value === key) || null;
  }

  // Show `conditions` and `actions`; true when reading them back gives the very same JSON.
  load(conditions, actions) {
    try {
      const groups = Object.fromEntries(Object.keys(GROUPS).map((g) => [g, this.group(g, conditions[g])]));
      const list = el("ol", { class: "rb-rows", "aria-label": t("Actions") });
      const rows = (actions || []).map((a) => this.actionRow(a, list));
      list.append(...rows.map((r) => r.node));
      const addAction = el("button", { type: "button", class: "secondary", onclick: () => {
        const row = this.actionRow({}, list);
        list.append(row.node);
        row.node.querySelector("select").focus();
      } }, t("Add action"));
      this.root.replaceChildren(
        el("h3", {}, t("When")), ...Object.values(groups).map((g) => g.node),
        el("h3", {}, t("Then")), list, el("p", {}, addAction));
      const seen = Object.keys(conditions);
      this.read = () => ({
        conditions: ordered(Object.fromEntries(Object.entries(groups).map(([g, s]) => [g, s.read()])), seen, Object.keys(GROUPS)),
        actions: [...list.children].map((node) => node.rbRead()),
      });
      const back = this.read();
      return JSON.stringify(back.conditions) === JSON.stringify(conditions)
        && JSON.stringify(back.actions) === JSON.stringify(actions);
    } catch (error) {
      if (error instanceof Unrepresentable) return false;
      throw error;
    }
  }

  // One group of conditions: its rows, read as a list (left out when empty unless it was there).
  group(name, given) {
    if (given !== undefined && !Array.isArray(given)) throw new Unrepresentable(name);
    const list = el("ol", { class: "rb-rows", "aria-label": GROUPS[name]() });
    list.append(...(given || []).map((c) => this.conditionRow(c, list).node));
    const add = el("button", { type: "button", class: "secondary", onclick: () => {
      const row = this.conditionRow({}, list);
      list.append(row.node);
      row.node.querySelector("select").focus();
    } }, el("span", { "aria-hidden": "true" }, t("Add condition")),
    el("span", { class: "sr-only" }, name === "all" ? t("Add condition to all of these") : t("Add condition to any of these")));
    const node = el("fieldset", { class: "rb-group", dataset: { group: name } },
      el("legend", {}, GROUPS[name]()), list, add);
    const read = () => {
      const rows = [...list.children].map((row) => row.rbRead());
      return rows.length || given !== undefined ? rows : undefined;
    };
    return { node, read };
  }

  conditionRow(original, list) {
    if (typeof original !== "object" || original === null) throw new Unrepresentable("condition");
    const fields = this.vocabulary.fields;
    const state = { ...original };
    const node = el("li", { class: "rb-row" });
    let read = () => ({});
    const render = () => {
      const term = found(fields, (f) => f.name === (state.field ?? fields[0].name), `field ${state.field}`);
      const operator = found(term.operators, (o) => o.name === (state.op ?? term.operators[0].name), `operator ${state.op}`);
      const fieldSelect = choiceSelect(t("Field"), fields.map((f) => ({ value: f.name, label: f.label })), term.name);
      const key = term.keyed ? choiceSelect(t("Custom field"), this.choices("fields"), state.key ?? this.choices("fields")[0]?.value) : null;
      const opSelect = choiceSelect(t("Operator"), term.operators.map((o) => ({ value: o.name, label: o.label })), operator.name);
      const value = this.conditionValue(term, operator, key ? key.read() : undefined, state.value);
      fieldSelect.node.addEventListener("change", () => {
        Object.assign(state, { field: fieldSelect.read(), op: undefined, key: undefined, value: undefined });
        render();
      });
      opSelect.node.addEventListener("change", () => {
        const next = found(term.operators, (o) => o.name === opSelect.read(), "operator");
        Object.assign(state, { op: next.name, key: key?.read(), value: next.value === operator.value ? value.read() : undefined });
        render();
      });
      key?.node.addEventListener("change", () => {
        Object.assign(state, { key: key.read(), value: undefined });
        render();
      });
      read = () => ordered({ field: term.name, key: key?.read(), op: operator.name, value: value.read() },
        Object.keys(original), CONDITION_KEYS);
      node.replaceChildren(fieldSelect.node, key?.node ?? "", opSelect.node, value.node, this.remove(node, "condition"));
    };
    render();
    node.rbRead = () => read();
    return { node };
  }

  conditionValue(term, operator, key, value) {
    const label = t("%(field)s value", { field: term.label });
    const shape = operator.value;
    if (shape === "flag") return flagSelect(label, value);
    if (shape === "number") return numberInput(label, value);
    if (term.type === "custom") return customValue(label, this.customField(key), value, shape);
    const shown = VALUE_LABELS[term.name] || String;
    const listed = term.values ? term.values.map((v) => ({ value: v, label: shown(v) }))
      : term.choices ? [...this.choices(term.choices), { value: null, label: t("(none)") }] : null;
    if (listed) return choiceSelect(label, listed, value, { multiple: shape === "list" });
    const suggestions = term.type === "tag" ? this.choices("tags") : null;
    const parse = term.type === "id" ? Number : (s) => s;
    if (shape === "list") return listInput(label, value, { parse, suggestions });
    if (shape === "words") return listInput(label, value, { asList: Array.isArray(value), suggestions });
    return term.type === "id" ? numberInput(label, value) : textInput(label, value, { suggestions });
  }

  actionRow(original, list) {
    if (typeof original !== "object" || original === null) throw new Unrepresentable("action");
    const kinds = this.vocabulary.actions;
    const state = { ...original };
    const node = el("li", { class: "rb-row" });
    let read = () => ({});
    const render = () => {
      const kind = found(kinds, (k) => k.type === (state.type ?? kinds[0].type), `action ${state.type}`);
      const typeSelect = choiceSelect(t("Action"), kinds.map((k) => ({ value: k.type, label: k.label })), kind.type);
      typeSelect.node.addEventListener("change", () => {
        for (const key of Object.keys(state)) delete state[key];
        state.type = typeSelect.read();
        render();
      });
      const params = {};
      for (const param of kind.params) {
        params[param.name] = this.paramInput(param, state, kind);
        if (param.type === "field_key") {
          params[param.name].node.addEventListener("change", () => {
            Object.assign(state, { key: params.key.read(), value: undefined });
            render();
          });
        }
      }
      read = () => ordered(
        { type: kind.type, ...Object.fromEntries(Object.entries(params).map(([name, p]) => [name, p.read()])) },
        Object.keys(original), ["type", ...kind.params.map((p) => p.name)]);
      node.replaceChildren(typeSelect.node, ...Object.values(params).map((p) => p.node), this.remove(node, "action"));
    };
    render();
    node.rbRead = () => read();
    return { node };
  }

  paramInput(param, state, { one_of: oneOf, type: action }) {
    const current = state[param.name];
    const optional = !param.required;
    const blank = optional ? (oneOf ? t("(anyone)") : t("(none)")) : null;
    const shown = VALUE_LABELS[action] || String;
    if (param.type === "enum") return choiceSelect(param.label, param.values.map((v) => ({ value: v, label: shown(v) })), current, { blank });
    if (param.type === "id") return choiceSelect(param.label, this.choices(param.choices), current, { blank });
    if (param.type === "field_key") {
      const fields = this.choices("fields");
      state.key = current ?? fields[0]?.value;
      return choiceSelect(param.label, fields, state.key);
    }
    if (param.type === "integer") return numberInput(param.label, current, { min: param.minimum, max: param.maximum, optional });
    if (param.type === "custom") return customValue(param.label, this.customField(state.key), current, "one", { optional: true });
    return textInput(param.label, current, { multiline: param.type === "template", suggestions: param.type === "tag" ? this.choices("tags") : null });
  }

  remove(node, what) {
    return el("button", { type: "button", class: "secondary rb-remove", onclick: () => node.remove() },
      el("span", { "aria-hidden": "true" }, t("Remove")),
      el("span", { class: "sr-only" }, what === "condition" ? t("Remove this condition") : t("Remove this action")));
  }
}
