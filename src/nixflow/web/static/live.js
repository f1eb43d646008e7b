// The live connection: /api/ws, resumed after the last event seen, with a visible connection state. It asks for
// pages (`pages=1`): each frame of events is a JSON array, handled message by message in order. Frames that are
// not events (presence) go to `onFrame`; `send` speaks on the socket while it is open.

import { t } from "./i18n.js";

const LABELS = { connecting: () => t("Connecting…"), live: () => t("Live"), offline: () => t("Offline — reconnecting…") };

export function connect({ after, onEvent, onOpen, onFrame }) {
  const indicator = document.getElementById("live-status");
  let last = after || "";
  let delay = 250;
  let socket = null;
  let wasOpen = false;
  let stopped = false;

  function show(state) {
    if (!indicator) return;
    indicator.dataset.state = state;
    indicator.textContent = LABELS[state]();
  }

  function open() {
    show(wasOpen ? "offline" : "connecting");
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const query = last ? `&after=${encodeURIComponent(last)}` : "";
    socket = new WebSocket(`${scheme}//${location.host}/api/ws?pages=1${query}`);
    socket.addEventListener("open", () => {
      delay = 250;
      show("live");
      onOpen(wasOpen);
      wasOpen = true;
    });
    socket.addEventListener("message", (message) => {
      let data;
      try {
        data = JSON.parse(message.data);
      } catch {
        return;
      }
      for (const item of Array.isArray(data) ? data : [data]) {
        if (stopped) return;
        handle(item);
      }
    });
    socket.addEventListener("close", () => {
      if (stopped) return;
      show("offline");
      setTimeout(open, delay);
      delay = Math.min(delay * 2, 4000);
    });
  }

  function handle(data) {
    if (data.type === "resync" || data.type === "signed_out") {
      // Too far behind to catch up event by event, or the role changed: start again from the page's
      // current state. Signed out (or revoked) elsewhere: reloading leads to the sign-in page.
      stopped = true;
      window.location.reload();
      return;
    }
    if (!data.event_id) {
      if (onFrame && data.type !== "heartbeat") onFrame(data);
      return;
    }
    last = data.event_id;
    onEvent(data);
  }

  open();
  return {
    get lastEventId() { return last; },
    get isOpen() { return socket !== null && socket.readyState === WebSocket.OPEN; },
    send(data) {
      if (socket !== null && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(data));
    },
  };
}
