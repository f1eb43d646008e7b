"""What a webhook subscription is and how its deliveries are timed: plain values, no I/O."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from nixflow.domain.catalogue import CATALOGUE
from nixflow.domain.errors import ValidationFailed

Mode = Literal["active", "paused", "shadow"]
MODES: tuple[Mode, ...] = ("active", "paused", "shadow")
DeliveryStatus = Literal["pending", "retrying", "succeeded", "failed"]
UNFINISHED: tuple[DeliveryStatus, ...] = ("pending", "retrying")

# After the first attempt fails, the next ones wait this long (seconds); after the last, the delivery is failed.
RETRY_DELAYS: tuple[float, ...] = (5, 30, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600)
# A subscription whose deliveries fail this long without a success in between is disabled.
FAILING_LIMIT = timedelta(hours=24)
SECRET_PREFIX = "whsec_"
ALL = "*"


def event_type_filters() -> list[str]:
    """Every filter a subscription may name: `*`, each category's `<category>.*`, and each event type."""
    prefixes = sorted({f"{spec.category}.*" for spec in CATALOGUE.values()})
    return [ALL, *prefixes, *sorted(CATALOGUE)]


def check_event_types(event_types: Sequence[str]) -> list[str]:
    """The filters, without repeats, in the order given; an unknown one is a 422 naming it."""
    known = set(event_type_filters())
    unknown = [t for t in event_types if t not in known]
    if unknown:
        raise ValidationFailed(
            f"unknown event type filter(s): {', '.join(unknown)} (exact types, '<category>.*' or '*')",
            errors=[{"loc": ["body", "event_types"], "msg": f"unknown: {t}", "type": "value_error"} for t in unknown],
        )
    if not event_types:
        raise ValidationFailed("event_types must name at least one type, '<category>.*' or '*'")
    return list(dict.fromkeys(event_types))


def matches_type(event_types: Sequence[str], event_type: str) -> bool:
    """Whether an event type passes a subscription's filters: exact types, `<prefix>.*` prefixes, or `*`."""
    for wanted in event_types:
        if wanted in (ALL, event_type):
            return True
        if wanted.endswith(".*") and event_type.startswith(wanted[:-1]):
            return True
    return False


@dataclass(frozen=True)
class Subscription:
    """A subscription as the deliverer sees it (secrets still encrypted)."""

    id: int
    url: str
    event_types: list[str]
    category_id: int | None
    mode: Mode
    secret: str
    previous_secret: str | None
    previous_secret_until: datetime | None
    cursor: tuple[int, int]
    failing_since: datetime | None

    def wants(self, event_type: str, aggregate_type: str, ticket_category: int | None) -> bool:
        """Whether an event belongs to this subscription (a category filter takes only events about its tickets)."""
        if not matches_type(self.event_types, event_type):
            return False
        if self.category_id is None:
            return True
        return aggregate_type == "ticket" and ticket_category == self.category_id


def new_secret() -> str:
    """A Standard Webhooks signing secret: `whsec_` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def retry_delay(attempts: int, scale: float) -> timedelta | None:
    """How long to wait after the `attempts`-th failed attempt; None once every retry is spent."""
    if attempts < 1 or attempts > len(RETRY_DELAYS):
        return None
    return timedelta(seconds=RETRY_DELAYS[attempts - 1] * scale)


def is_success(status_code: int) -> bool:
    """2xx is success; anything else (redirects included: they are not followed) is a failure."""
    return 200 <= status_code < 300
