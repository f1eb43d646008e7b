// Who else is on this ticket's page, and who is typing a reply (staff only): announced and read over the live
// connection. Nothing here is an event: it is gone when the tab is.
import { el } from "./dom.js";
import { t, tn, withNodes } from "./i18n.js";

const bar = document.getElementById("presence");
const ticketId = Number(bar.dataset.ticket);
const reply = document.getElementById("comment-body");
const note = document.getElementById("typing-note"); // beside the reply box: who else is writing one
const IDLE_MS = 4000; // typing ends this long after the last keystroke
const AGAIN_MS = 3000; // while typing goes on, say so again this often (the server keeps the latest)
let typing = false;
let saidAt = 0;
let idle = null;

function say() {
  if (!window.nixflowLive) return;
  window.nixflowLive.send({ type: "presence", ticket_id: ticketId, typing });
  saidAt = Date.now();
}

function stopTyping() {
  clearTimeout(idle);
  if (!typing) return;
  typing = false;
  say();
}

if (reply) {
  reply.addEventListener("input", () => {
    if (!reply.value.trim()) {
      stopTyping();
      return;
    }
    clearTimeout(idle);
    idle = setTimeout(stopTyping, IDLE_MS);
    if (!typing || Date.now() - saidAt > AGAIN_MS) {
      typing = true;
      say();
    }
  });
  reply.form.addEventListener("reset", stopTyping);
}

// One person on the page, their name in bold within the sentence that says what they do.
function present(person, index) {
  const name = { name: el("strong", {}, person.name) };
  return el(
    "span",
    { class: "present", dataset: { userId: person.user_id, typing: person.typing ? "true" : "false" } },
    index ? ", " : "",
    person.typing
      ? el("em", { class: "typing" }, withNodes(t("%(name)s is typing a reply…"), name))
      : withNodes(t("%(name)s viewing"), name),
  );
}

function show(people) {
  bar.replaceChildren(
    ...(people.length ? [el("span", { class: "muted" }, t("Also here:")), " "] : []),
    ...people.map(present),
  );
  bar.hidden = !people.length;
  if (!note) return;
  const typists = people.filter((person) => person.typing).map((person) => person.name);
  note.textContent = typists.length
    ? tn("%(names)s is typing a reply too…", "%(names)s are typing a reply too…", typists.length, { names: typists.join(", ") })
    : "";
  note.hidden = !typists.length;
}

document.addEventListener("nixflow:frame", ({ detail: frame }) => {
  if (frame.type === "presence" && frame.ticket_id === ticketId) show(frame.people);
});
document.addEventListener("nixflow:live-open", say); // and again after a reconnect
if (window.nixflowLive && window.nixflowLive.isOpen) say();
window.addEventListener("pagehide", () => {
  if (window.nixflowLive) window.nixflowLive.send({ type: "presence", ticket_id: null });
});
