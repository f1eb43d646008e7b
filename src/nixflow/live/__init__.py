"""Live views: committed events fanned out to WebSocket clients, each behind a bounded queue.

The hub (`hub.py`) only has to be fed `publish(records)` on its event loop, in log order: the log tailer
(events/tail.py) does, with every process's commits, in the order a resuming client reads them.
One fan-out task hands a page to every subscriber, deciding requester visibility with one query per
page for all requester connections. The filter runs once per page and view (`views.py`: subscribers who may
see the same events share one `Page`, and its text is made once for all of them); each client's sender wakes
once per page and sends it back to back, or as one frame when the client asked for pages.
"""

from nixflow.live.hub import RESYNC, LiveHub, Subscriber
from nixflow.live.views import Page, later_than, page_frame, texts_for, visible

__all__ = ["RESYNC", "LiveHub", "Page", "Subscriber", "later_than", "page_frame", "texts_for", "visible"]
