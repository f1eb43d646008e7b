"""Deflection, measured from the event log: per article and version, how often it was suggested, opened,
found helpful or not, and how many tickets the people it was suggested to filed within 24 hours anyway."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select

from nixflow.store.tables import events, kb_articles

WINDOW = timedelta(hours=24)
COUNTED = ("kb.article_suggested", "kb.article_viewed", "kb.feedback_received", "kb.ticket_deflected")


@dataclass
class Counts:
    suggested: int = 0
    viewed: int = 0
    helpful: int = 0
    not_helpful: int = 0
    deflected: int = 0
    tickets_after: int = 0
    reached: set[int] = field(default_factory=set)  # the signed-in people it was suggested to
    filed: set[int] = field(default_factory=set)  # ... of whom these filed a ticket within the window

    def count(self, event_type: str, data: dict[str, Any]) -> None:
        if event_type == "kb.article_suggested":
            self.suggested += 1
            if data.get("user_id") is not None:
                self.reached.add(int(data["user_id"]))
        elif event_type == "kb.article_viewed":
            self.viewed += 1
        elif event_type == "kb.ticket_deflected":
            self.deflected += 1
        elif data.get("helpful"):
            self.helpful += 1
        else:
            self.not_helpful += 1

    def public(self) -> dict[str, Any]:
        reached = len(self.reached)
        rate = None if not reached else round((reached - len(self.filed)) / reached, 4)
        return {
            "suggested": self.suggested,
            "viewed": self.viewed,
            "helpful": self.helpful,
            "not_helpful": self.not_helpful,
            "tickets_after": self.tickets_after,
            "deflected": self.deflected,
            "reached": reached,
            "deflection_rate": rate,
        }


@dataclass(frozen=True)
class Suggestion:
    at: datetime
    article_id: int
    version: int


def article_stats(conn: Connection) -> list[dict[str, Any]]:
    """One row per article (and per version of it) with its counts, from the events kept in the log."""
    by_article: dict[int, Counts] = defaultdict(Counts)
    by_version: dict[tuple[int, int], Counts] = defaultdict(Counts)
    suggested_to: dict[int, list[Suggestion]] = defaultdict(list)
    rows = conn.execute(
        select(events.c.event_type, events.c.timestamp, events.c.data)
        .where(events.c.event_type.in_(COUNTED))
        .order_by(events.c.seq)
    )
    for event_type, at, data in rows:
        article_id, version = int(data["article_id"]), int(data["version"])
        by_article[article_id].count(event_type, data)
        by_version[(article_id, version)].count(event_type, data)
        if event_type == "kb.article_suggested" and data.get("user_id") is not None:
            suggested_to[int(data["user_id"])].append(Suggestion(at, article_id, version))
    if suggested_to:
        _tickets_after(conn, suggested_to, by_article, by_version)
    titles = {int(r.id): r.title for r in conn.execute(select(kb_articles.c.id, kb_articles.c.title))}
    items = []
    for article_id in sorted(set(by_article) | set(titles)):
        versions = sorted(v for a, v in by_version if a == article_id)
        items.append(
            {
                "article_id": article_id,
                "title": titles.get(article_id),
                **by_article[article_id].public(),
                "versions": [{"version": v, **by_version[(article_id, v)].public()} for v in versions],
            }
        )
    return items


def _tickets_after(
    conn: Connection,
    suggested_to: dict[int, list[Suggestion]],
    by_article: dict[int, Counts],
    by_version: dict[tuple[int, int], Counts],
) -> None:
    """A ticket filed by someone within 24 h after an article was suggested to them was not deflected by it."""
    earliest = min(s.at for found in suggested_to.values() for s in found)
    rows = conn.execute(
        select(events.c.timestamp, events.c.data)
        .where(events.c.event_type == "ticket.created", events.c.timestamp >= earliest)
        .order_by(events.c.seq)
    )
    for at, data in rows:
        requester = int(data["requester_id"])
        before = [s for s in suggested_to.get(requester, []) if at - WINDOW <= s.at <= at]
        for article_id in {s.article_id for s in before}:
            by_article[article_id].tickets_after += 1
            by_article[article_id].filed.add(requester)
        for key in {(s.article_id, s.version) for s in before}:
            by_version[key].tickets_after += 1
            by_version[key].filed.add(requester)
