"""Sign-in against the enabled LDAP providers with the sign-in form's name and password: who the directory says it
is, then the identity seam makes them a user (linked or just in time, the role from their groups)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Connection

from nixflow.crypto import Keyring
from nixflow.directory.ldap import DirectoryPerson, DirectoryUnavailable, authenticate
from nixflow.domain.identity import LdapConfig
from nixflow.services import identity, identity_providers
from nixflow.store import identity as identity_rows
from nixflow.store.db import Tx

KIND = "ldap"


@dataclass(frozen=True)
class Found:
    provider: Mapping[str, Any]  # the provider's row, as the identity seam takes it
    person: DirectoryPerson
    trust_email: bool


def providers(conn: Connection) -> list[dict[str, Any]]:
    """The enabled LDAP providers' rows, by name: the directories a password sign-in may ask."""
    return identity_rows.list_all(conn, enabled_only=True, kind=KIND)


def find(rows: list[dict[str, Any]], *, keys: Keyring, login: str, password: str) -> Found | None:
    """The first directory whose person `login` is and whose password `password` is, asked in order; None when no
    directory knows them (or the password is wrong). DirectoryUnavailable when none knew them and one could not
    answer: the person may be theirs. Blocking: run it on a thread."""
    down: DirectoryUnavailable | None = None
    for row in rows:
        config = cast(LdapConfig, identity_providers.config_of(row, keys))
        try:
            person = authenticate(config, bind_password=config.bind_password, login=login, password=password)
        except DirectoryUnavailable as exc:
            down = exc
            continue
        if person is not None:
            return Found(row, person, config.trust_email)
    if down is not None:
        raise down
    return None


def sign_in(tx: Tx, *, found: Found) -> int:
    """The user the directory's person is (linked, or created just in time), with the role their groups give."""
    person = found.person
    return identity.sign_in_federated(
        tx,
        provider=found.provider,
        subject=person.subject,
        email=person.email.lower() if person.email else None,
        email_verified=found.trust_email,
        name=person.name,
        groups=person.groups,
    )
