// The approval mail's link: the token comes in the URL's fragment (no server, log or Referer sees it). Take it
// out of the address bar, ask the API what it is for, and let the approver confirm with a button.
import { ApiError, api, problemText } from "./api.js";
import { t } from "./i18n.js";

const token = new URLSearchParams(window.location.hash.slice(1)).get("token") || "";
if (window.location.hash) history.replaceState(null, "", window.location.pathname + window.location.search);
const done = new URLSearchParams(window.location.search).has("done");

async function show() {
  if (!token) {
    document.getElementById("decide-missing").hidden = done;
    return;
  }
  try {
    const asked = await api("POST", "/api/workflow-links/preview", { token });
    document.getElementById("decide-what").textContent = t(
      "%(approver)s: ticket #%(id)s “%(title)s” needs your decision on step %(step)s (%(step_name)s) of %(workflow)s.",
      {
        approver: asked.approver_name,
        id: asked.ticket_id,
        title: asked.ticket_title,
        step: asked.step + 1,
        step_name: asked.step_name,
        workflow: asked.workflow,
      },
    );
    for (const form of document.querySelectorAll("#decide-card form")) form.elements.token.value = token;
    document.getElementById("decide-card").hidden = false;
  } catch (error) {
    const refused = document.getElementById("decide-refused");
    refused.textContent = error instanceof ApiError ? problemText(error) : t("This link cannot be used.");
    refused.hidden = false;
  }
}
show();
