// A rule's conditions and actions in the rules form: the builder, or the JSON for experts, one tab each.
// The tab shown is what the form saves; switching carries the rule across. JSON the builder cannot show exactly
// stays in the JSON tab, with a notice: the builder never alters a rule silently.
import { t } from "./i18n.js";
import { RuleBuilder } from "./rule_builder.js";

const notice = () => t("The builder cannot show this rule exactly, so it is shown as JSON. Edit it here; nothing was changed.");

export class RuleEditor {
  constructor(form, vocabulary) {
    this.form = form;
    this.tabs = { builder: document.getElementById("tab-builder"), json: document.getElementById("tab-json") };
    this.panels = { builder: document.getElementById("panel-builder"), json: document.getElementById("panel-json") };
    this.notice = document.getElementById("builder-notice");
    this.builder = vocabulary ? new RuleBuilder(document.getElementById("builder"), vocabulary) : null;
    this.tabs.builder.addEventListener("click", () => this.toBuilder());
    this.tabs.json.addEventListener("click", () => this.toJson());
    for (const tab of Object.values(this.tabs)) tab.addEventListener("keydown", (event) => this.arrow(event));
    this.load({}, []);
    // The tabs work from here on (disabled in the page until then, so an early click is not lost).
    this.tabs.json.disabled = false;
    this.tabs.builder.disabled = !this.builder;
  }

  get shown() {
    return this.tabs.json.getAttribute("aria-selected") === "true" ? "json" : "builder";
  }

  show(name) {
    for (const [key, tab] of Object.entries(this.tabs)) {
      tab.setAttribute("aria-selected", String(key === name));
      tab.tabIndex = key === name ? 0 : -1;
      this.panels[key].hidden = key !== name;
    }
  }

  arrow(event) {
    if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") return;
    const next = this.shown === "json" ? "builder" : "json";
    if (next === "builder" ? this.toBuilder() : this.toJson()) this.tabs[next].focus();
  }

  writeJson(conditions, actions) {
    this.form.elements.conditions.value = JSON.stringify(conditions, null, 2);
    this.form.elements.actions.value = JSON.stringify(actions, null, 2);
  }

  // Load a rule's conditions and actions: into the builder when it can show them exactly, else as JSON.
  load(conditions, actions) {
    this.writeJson(conditions, actions);
    const exact = this.builder !== null && this.builder.load(conditions, actions);
    this.notice.hidden = exact || !this.builder;
    this.notice.textContent = exact ? "" : notice();
    this.show(exact ? "builder" : "json");
    return exact;
  }

  toJson() {
    if (this.shown === "builder" && this.builder) {
      const { conditions, actions } = this.builder.read();
      this.writeJson(conditions, actions);
    }
    this.notice.hidden = true;
    this.show("json");
    return true;
  }

  toBuilder() {
    if (this.shown === "builder" || !this.builder) return false;
    const parsed = this.parsedJson();
    if (!parsed) return false;
    return this.load(parsed.conditions, parsed.actions);
  }

  parsedJson() {
    try {
      return {
        conditions: JSON.parse(this.form.elements.conditions.value || "{}"),
        actions: JSON.parse(this.form.elements.actions.value || "[]"),
      };
    } catch (error) {
      this.notice.textContent = t("Conditions and actions must be JSON: %(error)s", { error: error.message });
      this.notice.hidden = false;
      return null;
    }
  }

  // What the form saves: the tab shown; null (and a notice) when its JSON does not parse.
  value() {
    return this.shown === "builder" && this.builder ? this.builder.read() : this.parsedJson();
  }
}
