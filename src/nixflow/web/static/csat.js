// The survey link's page: the token comes in the URL's fragment (never sent to a server, so no log or Referer
// holds it), the rating the mail's button chose in the query. Nothing is recorded until the person confirms.
import { api, flash, problemText } from "./api.js";
import { formatWhen, t } from "./i18n.js";

const form = document.getElementById("csat-form");
const done = document.getElementById("csat-done");
const token = new URLSearchParams(window.location.hash.slice(1)).get("token") || "";
const chosen = new URLSearchParams(window.location.search).get("rating");
const ratingWord = (rating) => ({ good: t("good"), bad: t("bad") })[rating] || rating;

function show(survey) {
  document.getElementById("csat-ticket").textContent = t("Ticket #%(id)s: %(title)s", { id: survey.ticket_id, title: survey.title });
  const rating = survey.rating || chosen;
  for (const radio of form.elements.rating) radio.checked = radio.value === rating;
  if (survey.comment && !form.elements.comment.value) form.elements.comment.value = survey.comment;
  const until = survey.changeable_until ? formatWhen(survey.changeable_until, { dateOnly: true }) : null;
  document.getElementById("csat-window").textContent = until
    ? t('You answered "%(rating)s". You can change your answer until %(until)s.', { rating: ratingWord(survey.rating), until })
    : t("You can change your answer for 7 days.");
  form.hidden = !survey.can_answer;
  if (!survey.can_answer && survey.rating) {
    done.textContent = t('Your answer "%(rating)s" stands: it can no longer be changed.', { rating: ratingWord(survey.rating) });
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
      done.textContent = t('Thank you: your answer "%(rating)s" was recorded.', { rating: ratingWord(survey.rating) });
      done.hidden = false;
      show(survey);
    } catch (error) {
      flash(problemText(error));
    }
  });
}
