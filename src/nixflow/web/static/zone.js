// A signed-in person who has chosen no time zone (`data-zone-unset`): the browser's zone is stored once, through
// PATCH /api/auth/me, so their mail and pages use it. A zone they chose is never replaced: the page says none is
// stored, and the API is asked again just before, in case another tab chose one meanwhile.
import { api } from "./api.js";

const OFFERED = "nixflow-zone-offered";

async function storeBrowserZone() {
  if (!("zoneUnset" in document.body.dataset) || sessionStorage.getItem(OFFERED)) return;
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (!zone) return;
  sessionStorage.setItem(OFFERED, zone); // once a session, even when refused: no request on every page
  try {
    const me = await api("GET", "/api/auth/me");
    if (me.timezone === null) await api("PATCH", "/api/auth/me", { timezone: zone });
  } catch {
    /* a zone the server does not know (422) or offline: the instance's default zone stays */
  }
}

storeBrowserZone();
