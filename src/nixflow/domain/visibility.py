"""Who may see a ticket: the one rule behind the ticket API, the event API and WebSocket, notifications and
replies by mail. (Which fields of an event a requester sees is `services.visibility`; knowledge-base articles
and reports have their own, staff-only, sides.)"""

from __future__ import annotations

from collections.abc import Callable

from nixflow.domain.values import Role

STAFF = frozenset({Role.ADMIN, Role.AGENT, Role.SYSTEM})


def _no() -> bool:
    return False


def may_see_ticket(
    role: Role,
    *,
    requester: bool,
    shared: Callable[[], bool] = _no,
    watches: Callable[[], bool] = _no,
    internal: bool = False,
    active: bool = True,
) -> bool:
    """Staff (agents, admins and NixFlow itself) see every ticket, internal notes included; its requester, their
    colleagues when the organization it was opened under shares its tickets with them (`shared`), and the
    people watching it (a CC: `watches`) see its public side (`shared` and `watches` are asked only when they
    decide, as each costs a query); nobody else sees it, and an inactive account sees nothing."""
    if not active:
        return False
    if role in STAFF:
        return True
    return not internal and (requester or shared() or watches())
