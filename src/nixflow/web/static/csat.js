// The survey link's page: the token comes in the URL's fragment (never sent to a server, so no log or Referer
// holds it), the rating the mail's button chose in the query. Nothing is recorded until the person confirms.
import { api, flash, problemText } from "./api.js";

const form = document.getElementById("csat-form");
const done = document.getElementById("csat-done");
const token = new URLSearchParams(window.location.hash.slice(1)).get("token") || "";
const chosen = new URLSearchParams(window.location.search).get("rating");

function show(survey) {
  document.getElementById("csat-ticket").textContent = `Ticket #${survey.ticket_id}: ${survey.title}`;
  const rating = survey.rating || chosen;
  for (const radio of form.elements.rating) radio.checked = radio.value === rating;
  if (survey.comment && !form.elements.comment.value) form.elements.comment.value = survey.comment;
  const until = survey.changeable_until ? new Date(survey.changeable_until).toLocaleDateString() : null;
  document.getElementById("csat-window").textContent = until
    ? `You answered "${survey.rating}". You can change your answer until ${until}.`
    : "You can change your answer for 7 days.";
  form.hidden = !survey.can_answer;
  if (!survey.can_answer && survey.rating) {
    done.textContent = `Your answer "${survey.rating}" stands: it can no longer be changed.`;
    done.hidden = false;
  }
}

if (!token) {
  document.getElementById("csat-missing").hidden = false;
} else {
  api("POST", "/api/csat/survey", { token })
    .then(show)
    .catch((error) => flash(problemText(error)));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const rating = form.elements.rating.value;
    try {
      const survey = await api("POST", "/api/csat/answer", { token, rating, comment: form.elements.comment.value });
      done.textContent = `Thank you: your answer "${survey.rating}" was recorded.`;
      done.hidden = false;
      show(survey);
    } catch (error) {
      flash(problemText(error));
    }
  });
}
