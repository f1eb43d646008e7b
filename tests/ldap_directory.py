"""The test directory (slapd, started by scripts/services.sh): people and groups of each test's own, written with
ldapadd / ldapmodify as the directory's manager, so tests running side by side never share an entry."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from nixflow.ids import uuid7
from tests.conftest import not_running

BASE = "dc=nixflow,dc=test"
MANAGER = f"cn=admin,{BASE}"
MANAGER_PASSWORD = "nixflow-ldap-admin"
SEARCH_DN = f"cn=nixflow,ou=services,{BASE}"
SEARCH_PASSWORD = "nixflow-ldap-search"
PEOPLE = f"ou=people,{BASE}"
GROUPS = f"ou=groups,{BASE}"
USER_PASSWORD = "directory pass 1"


def _ldif(tool: str, url: str, text: str) -> None:
    done = subprocess.run(
        [tool, "-x", "-H", url, "-D", MANAGER, "-w", MANAGER_PASSWORD],
        input=text.encode(),
        capture_output=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr.decode()


@dataclass
class Directory:
    url: str
    ldaps_url: str
    ca_certificate: str
    created: list[str] = field(default_factory=list)

    def unique(self, prefix: str) -> str:
        return f"{prefix}-{uuid7()[-12:]}"

    def person(self, login: str | None = None, *, email: str | None = None, name: str = "Dana Directory") -> str:
        """A new person (password USER_PASSWORD; `email=""`: no address); their login."""
        login = login or self.unique("p")
        address = f"{login}@nixflow.test" if email is None else email
        mail = f"mail: {address}\n" if address else ""
        dn = f"uid={login},{PEOPLE}"
        _ldif(
            "ldapadd",
            self.url,
            f"dn: {dn}\nobjectClass: inetOrgPerson\nuid: {login}\ncn: {name}\nsn: Directory\n{mail}"
            f"userPassword: {USER_PASSWORD}\n",
        )
        self.created.append(dn)
        return login

    def group(self, *logins: str) -> str:
        """A new group (groupOfNames) of these people; its name."""
        name = self.unique("g")
        dn = f"cn={name},{GROUPS}"
        # groupOfNames needs a member: the manager stays in every group, so the last person can leave it
        members = "".join(f"member: {dn}\n" for dn in (MANAGER, *(f"uid={login},{PEOPLE}" for login in logins)))
        _ldif("ldapadd", self.url, f"dn: {dn}\nobjectClass: groupOfNames\ncn: {name}\n{members}")
        self.created.append(dn)
        return name

    def remove_member(self, group: str, login: str) -> None:
        _ldif(
            "ldapmodify",
            self.url,
            f"dn: cn={group},{GROUPS}\nchangetype: modify\ndelete: member\nmember: uid={login},{PEOPLE}\n",
        )

    def config(self, **overrides: Any) -> dict[str, Any]:
        """A provider configuration for this directory (plain LDAP unless overridden)."""
        values: dict[str, Any] = {
            "kind": "ldap",
            "url": self.url,
            "ca_certificate": self.ca_certificate,
            "bind_dn": SEARCH_DN,
            "bind_password": SEARCH_PASSWORD,
            "user_base": PEOPLE,
            "user_filter": "(&(objectClass=inetOrgPerson)(uid={login}))",
            "group_base": GROUPS,
            "timeout_seconds": 3,
        }
        values.update(overrides)
        return values

    def cleanup(self) -> None:
        if self.created:
            subprocess.run(
                ["ldapdelete", "-x", "-H", self.url, "-D", MANAGER, "-w", MANAGER_PASSWORD, *reversed(self.created)],
                capture_output=True,
                timeout=30,
            )


def closed_port() -> int:
    """A loopback port nothing listens on: a directory that is down."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def directory() -> Iterator[Directory]:
    """The running test directory, and its entries made by this test (deleted afterwards)."""
    url, ldaps_url, ca = (os.environ.get(f"NIXFLOW_TEST_{v}") for v in ("LDAP_URL", "LDAPS_URL", "LDAP_CA"))
    if url is None or ldaps_url is None or ca is None:
        not_running("slapd (LDAP)")
    found = Directory(url, ldaps_url, Path(ca).read_text())
    yield found
    found.cleanup()
