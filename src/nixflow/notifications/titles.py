"""A notification's title in its reader's language. A row stores the English title (what an old row, or a reader
with no catalogue, shows) and the message key with its values, so the list, the page and mail render it for
whoever reads it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from nixflow import i18n
from nixflow.i18n import N_
from nixflow.i18n.locales import SOURCE_LOCALE

TITLE_LENGTH = 300
# A title about a ticket names it after what happened; a language may order or punctuate that differently.
TICKET_FRAME = N_("%(what)s: #%(ticket_id)s %(ticket_title)s")
SLA_TARGETS = {"first_response": N_("first response"), "resolution": N_("resolution")}


@dataclass(frozen=True)
class Title:
    """A message id (English, with `%(name)s` places) and the values that fill it; `ticket_id` and
    `ticket_title` among them put it in the ticket's frame."""

    key: str
    params: Mapping[str, str | int] = field(default_factory=dict)

    @property
    def english(self) -> str:
        """The title as stored for readers without a key (and as the `notification.created` event carries it)."""
        return render(i18n.translator(SOURCE_LOCALE), key=self.key, params=self.params, stored="")


def _shown(tr: i18n.Translator, name: str, value: str | int) -> str | int:
    """A value in the reader's language where it is one of ours (a status, an SLA target); names stay."""
    if name == "status" and isinstance(value, str):
        return tr.pgettext("status", value)
    if name == "target" and isinstance(value, str):
        return tr.gettext(SLA_TARGETS.get(value, value))
    return value


def render(tr: i18n.Translator, *, key: str | None, params: Mapping[str, Any] | None, stored: str) -> str:
    """The title for `tr`'s reader: the key translated and filled in; without a key (a row stored before keys
    were), or should a translation not fit its values, the stored title (a fixed English one translated)."""
    if not key:
        return tr.gettext(stored)
    values = {name: _shown(tr, name, value) for name, value in (params or {}).items()}
    try:
        title = tr.gettext(key) % values
        if "ticket_id" in values:
            title = tr.gettext(TICKET_FRAME) % {**values, "what": title}
    except (KeyError, ValueError, TypeError):
        return stored or key
    return title[:TITLE_LENGTH]


def localized(items: list[dict[str, Any]], locale: str) -> list[dict[str, Any]]:
    """Notification rows with `title` in `locale` (their key and values dropped: not part of what is shown)."""
    tr = i18n.translator(locale)
    shown = []
    for item in items:
        key, params = item.get("title_key"), item.get("title_params")
        rest = {k: v for k, v in item.items() if k not in ("title_key", "title_params")}
        shown.append({**rest, "title": render(tr, key=key, params=params, stored=str(item["title"]))})
    return shown
