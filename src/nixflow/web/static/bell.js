// The bell in the header: the unread notification count, fetched on load and again whenever a
// notification event for this user arrives over the live connection.
import { api } from "./api.js";
import { tn } from "./i18n.js";

const count = document.getElementById("bell-count");

async function update() {
  if (!count) return;
  try {
    const { count: unread } = await api("GET", "/api/notifications/unread-count");
    count.textContent = String(unread);
    count.dataset.count = String(unread);
    count.hidden = unread === 0;
    document.getElementById("bell").setAttribute("aria-label", tn("Notifications: %(num)d unread", "Notifications: %(num)d unread", unread));
  } catch {
    /* signed out, or offline: the next event or reload tries again */
  }
}

if (count) {
  update();
  document.addEventListener("nixflow:event", (event) => {
    if (event.detail.category === "notification") update();
  });
  document.addEventListener("nixflow:refreshed", update);
}
