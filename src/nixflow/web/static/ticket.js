// The ticket page: the reply form's helpers, and when a rule changes this ticket, say which rule changed what,
// once the page shows the new value.
import "./kb.js";
import { el } from "./dom.js";
import { priorityLabel, statusLabel, t, withNodes } from "./i18n.js";

const reply = document.getElementById("comment-form");
// This module is done (and the page's buttons take clicks: app.js) only once these have bound their handlers: a
// reply sent before reply_send.js listened went the generic way and did not refresh the page.
const parts = [];
if (reply && "split" in reply.dataset) parts.push(import("./reply_send.js"), import("./reply_picker.js"));
if (document.getElementById("preview-toggle")) parts.push(import("./reply_preview.js"));
if (document.getElementById("presence")) parts.push(import("./presence.js"));

const box = document.getElementById("rule-notices");
const ticketId = (document.body.dataset.liveScope || "").replace(/^ticket:/, "");
const ruleNames = box ? JSON.parse(box.dataset.ruleNames || "{}") : {};
const fieldText = (name) => (document.querySelector(`[data-field="${name}"]`) || { textContent: "?" }).textContent.trim();

// What a rule did, in words, read once the refreshed page shows the new value.
// Each sentence keeps "%(rule)s" (not given to t), where notice() puts the rule's name in bold.
const CHANGES = {
  "ticket.priority_changed": (data) => t("Rule %(rule)s set priority to %(priority)s", { priority: priorityLabel(data.new_priority) }),
  "ticket.status_changed": (data) => t("Rule %(rule)s moved the status to %(status)s", { status: statusLabel(data.new_status) }),
  "ticket.assigned": () => t("Rule %(rule)s assigned the ticket to %(name)s", { name: fieldText("assignee") }),
  "ticket.category_changed": () => t("Rule %(rule)s set the category to %(category)s", { category: fieldText("category") }),
  "ticket.tagged": (data) => t("Rule %(rule)s tagged it %(tags)s", { tags: data.tags.join(", ") }),
  "ticket.untagged": (data) => t("Rule %(rule)s removed the tag %(tags)s", { tags: data.tags.join(", ") }),
};

function notice(ruleId, sentence) {
  return el("li", { class: "rule-notice" }, withNodes(sentence, { rule: el("strong", {}, ruleName(ruleId)) }));
}
const waiting = [];

function ruleName(id) {
  return ruleNames[String(id)] || `#${id}`;
}

if (box) {
  document.addEventListener("nixflow:event", ({ detail: event }) => {
    if (event.aggregate_type !== "ticket" || event.aggregate_id !== ticketId) return;
    const data = event.data || {};
    if (event.type === "automation.rule_applied" && data.rule_name) ruleNames[String(data.rule_id)] = data.rule_name;
    const ruleId = (event.metadata || {}).rule_id;
    const said = CHANGES[event.type];
    if (ruleId !== undefined && ruleId !== null && said) {
      waiting.push(() => notice(ruleId, said(data)));
    }
  });
  document.addEventListener("nixflow:refreshed", () => {
    if (!waiting.length) return;
    box.append(...waiting.splice(0).map((notice) => notice()));
    box.hidden = false;
  });
}

await Promise.allSettled(parts);
