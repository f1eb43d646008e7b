// Knowledge base in the pages: suggestions while a new ticket's title is typed, "this solved my problem",
// feedback on an article, and inserting an article link into a reply.
import { api, flash, problemText } from "./api.js";
import { el } from "./dom.js";
import { t } from "./i18n.js";

const DEBOUNCE_MS = 300;
const MIN_LENGTH = 3;

// Server snippets are escaped text with <mark> around matches: rebuild them from text and <mark> nodes only.
function highlighted(snippet) {
  const parsed = new DOMParser().parseFromString(`<p>${snippet}</p>`, "text/html").body.firstChild;
  const out = el("p", { class: "snippet" });
  for (const node of parsed ? parsed.childNodes : []) {
    out.append(node.nodeName === "MARK" ? el("mark", {}, node.textContent) : document.createTextNode(node.textContent));
  }
  return out;
}

// The page's language (the reader's locale, on <html lang>) as the suggestions' preferred article language.
const ARTICLE_LANGUAGES = ["en", "de", "fr", "es", "ar"];
function pageLanguage() {
  const lang = (document.documentElement.lang || "").toLowerCase().split(/[-_]/)[0];
  return ARTICLE_LANGUAGES.includes(lang) ? `&language=${lang}` : "";
}

function suggestionsWhileTyping() {
  const title = document.getElementById("title");
  const box = document.getElementById("kb-suggestions");
  const list = document.getElementById("kb-suggestion-list");
  const reading = document.getElementById("kb-reading");
  if (!title || !box || !list || !reading) return;
  let timer = null;
  let asked = "";
  let current = null;

  async function suggest() {
    const query = title.value.trim();
    if (query === asked) return;
    asked = query;
    if (query.length < MIN_LENGTH) {
      box.hidden = true;
      return;
    }
    let found;
    try {
      found = await api("GET", `/api/kb/suggest?q=${encodeURIComponent(query)}${pageLanguage()}`);
    } catch {
      return; // suggestions are a help, never in the way of opening a ticket
    }
    if (query !== asked) return; // a newer question is on its way
    list.replaceChildren(
      ...found.items.map((item) =>
        el("li", { dataset: { articleId: item.id } },
          el("button", { type: "button", class: "link", onclick: () => open(item.id) }, item.title),
          highlighted(item.snippet)),
      ),
    );
    box.hidden = found.items.length === 0;
  }

  async function open(id) {
    try {
      current = await api("GET", `/api/kb/articles/${id}`);
    } catch (error) {
      flash(problemText(error));
      return;
    }
    document.getElementById("kb-reading-title").textContent = current.title;
    // body_html is rendered from Markdown and sanitised by the server (nh3): no scripts, handlers or js: URLs.
    document.getElementById("kb-reading-body").innerHTML = current.body_html;
    reading.hidden = false;
    reading.scrollIntoView({ block: "nearest" });
  }

  document.getElementById("kb-solved").addEventListener("click", async () => {
    if (!current) return;
    try {
      await api("POST", `/api/kb/articles/${current.id}/solved`, { query: title.value.trim().slice(0, 500) });
    } catch (error) {
      flash(problemText(error));
      return;
    }
    document.getElementById("new-ticket").hidden = true;
    box.hidden = true;
    document.getElementById("kb-deflected").hidden = false;
  });
  document.getElementById("kb-not-solved").addEventListener("click", async () => {
    if (!current) return;
    try {
      await api("POST", `/api/kb/articles/${current.id}/feedback`, { helpful: false });
    } catch (error) {
      flash(problemText(error));
    }
    reading.hidden = true;
    current = null;
  });
  title.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(suggest, DEBOUNCE_MS);
  });
}

function feedbackOnArticle() {
  const section = document.getElementById("kb-feedback");
  if (!section) return;
  const id = section.dataset.articleId;
  const done = document.getElementById("kb-feedback-done");
  for (const button of section.querySelectorAll("[data-kb-feedback]")) {
    button.addEventListener("click", async () => {
      const helpful = button.dataset.kbFeedback === "true";
      const body = { helpful };
      if (section.dataset.ticketId) body.ticket_id = Number(section.dataset.ticketId);
      try {
        await api("POST", `/api/kb/articles/${id}/feedback`, body);
        done.textContent = t("Thank you for telling us.");
        done.hidden = false;
      } catch (error) {
        flash(problemText(error));
      }
    });
  }
  const solved = document.getElementById("kb-solved-ticket");
  if (solved) {
    solved.addEventListener("click", async () => {
      const ticketId = Number(section.dataset.ticketId);
      try {
        await api("POST", `/api/kb/articles/${id}/solved`, { ticket_id: ticketId });
        window.location.assign(`/tickets/${ticketId}`);
      } catch (error) {
        flash(problemText(error));
      }
    });
  }
}

function insertLinks() {
  document.addEventListener("click", (event) => {
    const button = event.target instanceof Element ? event.target.closest("button[data-kb-insert]") : null;
    const reply = document.getElementById("comment-body");
    if (!button || !reply) return;
    const line = `${button.dataset.kbTitle}: ${location.origin}${button.dataset.kbInsert}`;
    reply.value = reply.value ? `${reply.value.replace(/\s+$/, "")}\n${line}` : line;
    reply.focus();
  });
}

suggestionsWhileTyping();
feedbackOnArticle();
insertLinks();
