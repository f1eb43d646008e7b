"""Sign-in against an LDAP directory (ldap3): find the one entry of a user name with the search account, bind as
that entry with the typed password, read its groups. Synchronous (run it on a thread); nothing is kept between
calls."""

from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass
from typing import Any

from ldap3 import NONE, SUBTREE, Connection, Server, Tls
from ldap3.core.exceptions import LDAPException
from ldap3.utils.conv import escape_filter_chars

from nixflow.domain.identity import LOGIN, LdapConfig

log = logging.getLogger(__name__)
MAX_GROUPS = 1000


class DirectoryUnavailable(Exception):
    """The directory could not answer: not reachable, TLS refused, the search account refused, a bad filter."""


@dataclass(frozen=True)
class DirectoryPerson:
    """Who the directory says signed in."""

    subject: str  # `id_attribute`'s value, else the DN: what links the entry to a NixFlow user
    dn: str
    email: str | None
    name: str | None
    groups: tuple[str, ...]


def authenticate(config: LdapConfig, *, bind_password: str | None, login: str, password: str) -> DirectoryPerson | None:
    """The person `login` names if `password` is theirs; None when no single entry matches or the password is
    wrong (an empty password is refused before any bind: to LDAP it is an anonymous bind, which always succeeds).
    DirectoryUnavailable when the directory cannot say."""
    if not password or not login:
        return None
    server = _server(config)
    try:
        with _bound(config, server, config.bind_dn, bind_password, purpose="the search account") as search:
            entry = _find(search, config, login)
            if entry is None:
                return None
            if not _binds(config, server, entry.entry_dn, password):
                return None
            groups = _groups(search, config, login=login, dn=entry.entry_dn)
    except LDAPException as exc:
        log.warning("LDAP %s unavailable: %s", config.url, type(exc).__name__)
        raise DirectoryUnavailable(f"the directory at {config.url} did not answer ({type(exc).__name__})") from exc
    return DirectoryPerson(
        subject=_first(entry, config.id_attribute) or entry.entry_dn,
        dn=entry.entry_dn,
        email=_first(entry, config.email_attribute),
        name=_first(entry, config.name_attribute),
        groups=groups,
    )


def _server(config: LdapConfig) -> Server:
    tls = None
    if config.ldaps or config.starts_tls:
        tls = Tls(validate=ssl.CERT_REQUIRED, ca_certs_data=config.ca_certificate)
    return Server(
        config.url.rstrip("/"),
        use_ssl=config.ldaps,
        tls=tls,
        connect_timeout=config.timeout_seconds,
        get_info=NONE,
    )


def _connection(config: LdapConfig, server: Server, dn: str | None, password: str | None) -> Connection:
    """An open connection (TLS started when configured), not yet bound."""
    conn = Connection(
        server,
        user=dn,
        password=password,
        receive_timeout=config.timeout_seconds,
        raise_exceptions=False,
        read_only=True,
    )
    conn.open()
    if config.starts_tls and not conn.start_tls():
        raise DirectoryUnavailable(f"the directory at {config.url} refused StartTLS")
    return conn


def _bound(config: LdapConfig, server: Server, dn: str | None, password: str | None, *, purpose: str) -> Connection:
    conn = _connection(config, server, dn, password)
    if not conn.bind():
        conn.unbind()
        raise DirectoryUnavailable(f"the directory at {config.url} refused {purpose} ({conn.result['description']})")
    return conn


def _binds(config: LdapConfig, server: Server, dn: str, password: str) -> bool:
    conn = _connection(config, server, dn, password)
    try:
        return bool(conn.bind())
    finally:
        conn.unbind()


def _find(search: Connection, config: LdapConfig, login: str) -> Any | None:
    query = config.user_filter.replace(LOGIN, escape_filter_chars(login))
    attributes = [config.email_attribute, config.name_attribute, config.id_attribute]
    _search(search, config, config.user_base, query, attributes, size_limit=2)
    if len(search.entries) != 1:  # none, or a filter that is not unique: nobody signs in as "somebody"
        return None
    return search.entries[0]


def _groups(search: Connection, config: LdapConfig, *, login: str, dn: str) -> tuple[str, ...]:
    if config.group_base is None:
        return ()
    member = escape_filter_chars(dn if config.member_holds == "dn" else login)
    query = f"(&{config.group_filter}({config.member_attribute}={member}))"
    _search(search, config, config.group_base, query, [config.group_name_attribute], size_limit=MAX_GROUPS)
    return tuple(sorted({name for e in search.entries if (name := _first(e, config.group_name_attribute))}))


def _search(
    conn: Connection, config: LdapConfig, base: str, query: str, attributes: list[str], *, size_limit: int
) -> None:
    ok = conn.search(
        base, query, SUBTREE, attributes=attributes, size_limit=size_limit, time_limit=config.timeout_seconds
    )
    result = conn.result["result"]
    if not ok and result not in (0, 4, 32):  # success, size limit exceeded (a filter matching many), no such object
        raise DirectoryUnavailable(f"the directory at {config.url} refused a search ({conn.result['description']})")


def _first(entry: Any, attribute: str) -> str | None:
    values = entry.entry_attributes_as_dict.get(attribute) or []
    for value in values:
        text = _text(value).strip()
        if text:
            return text
    return None


def _text(value: Any) -> str:
    """A value as text; binary values (AD's `objectGUID`) as hex."""
    if not isinstance(value, bytes):
        return str(value)
    try:
        return value.decode()
    except UnicodeDecodeError:
        return value.hex()
