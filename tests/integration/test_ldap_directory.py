"""The LDAP adapter against the real slapd: find, bind, groups, over plain LDAP, StartTLS and LDAPS; what it says
for a wrong password, an injected user name, an empty password and a directory it cannot reach."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError
from tests.ldap_directory import USER_PASSWORD, Directory, closed_port, directory  # noqa: F401

from nixflow.directory.ldap import DirectoryUnavailable, authenticate
from nixflow.domain.identity import LdapConfig


def config(directory: Directory, **overrides: Any) -> tuple[LdapConfig, str]:  # noqa: F811
    values = directory.config(**overrides)
    return LdapConfig.model_validate(values), values["bind_password"]


@pytest.mark.parametrize("transport", ["plain", "starttls", "ldaps"])
def test_a_person_signs_in_with_their_groups(directory: Directory, transport: str) -> None:  # noqa: F811
    login = directory.person(name="Ada Lovelace")
    agents, _other = directory.group(login), directory.group()
    overrides: dict[str, Any] = {"plain": {}, "starttls": {"start_tls": True}, "ldaps": {"url": directory.ldaps_url}}
    cfg, bind_password = config(directory, **overrides[transport])
    person = authenticate(cfg, bind_password=bind_password, login=login, password=USER_PASSWORD)
    assert person is not None
    assert person.dn == f"uid={login},ou=people,dc=nixflow,dc=test"
    assert (person.email, person.name, person.groups) == (f"{login}@nixflow.test", "Ada Lovelace", (agents,))
    assert len(person.subject) == 36  # entryUUID: stays when the entry is renamed


def test_group_membership_is_read_at_each_sign_in(directory: Directory) -> None:  # noqa: F811
    login = directory.person()
    group = directory.group(login)
    cfg, bind_password = config(directory)

    def groups() -> tuple[str, ...]:
        person = authenticate(cfg, bind_password=bind_password, login=login, password=USER_PASSWORD)
        assert person is not None
        return person.groups

    assert groups() == (group,)
    directory.remove_member(group, login)
    assert groups() == ()


def test_wrong_or_empty_password_and_unknown_people_are_nobody(directory: Directory) -> None:  # noqa: F811
    login = directory.person()
    cfg, bind_password = config(directory)
    assert authenticate(cfg, bind_password=bind_password, login=login, password="not it") is None
    assert authenticate(cfg, bind_password=bind_password, login=login, password="") is None
    assert authenticate(cfg, bind_password=bind_password, login="nobody-here", password=USER_PASSWORD) is None


@pytest.mark.parametrize("injected", ["*", "{login})(uid=*", "*)(uid={login}", "{login}*"])
def test_a_user_name_cannot_change_the_filter(directory: Directory, injected: str) -> None:  # noqa: F811
    """Unescaped, each of these finds the person (`*)(uid=x` turns the filter into "anyone who is x")."""
    login = directory.person()
    cfg, bind_password = config(directory)
    typed = injected.format(login=login)
    assert authenticate(cfg, bind_password=bind_password, login=typed, password=USER_PASSWORD) is None
    assert authenticate(cfg, bind_password=bind_password, login=login, password=USER_PASSWORD) is not None


@pytest.mark.parametrize(
    "problem", ["closed port", "untrusted certificate", "search account refused", "ldaps to a plain port"]
)
def test_a_directory_that_cannot_answer_says_so(directory: Directory, problem: str) -> None:  # noqa: F811
    login = directory.person()
    overrides: dict[str, Any] = {
        "closed port": {"url": f"ldap://127.0.0.1:{closed_port()}"},
        "untrusted certificate": {"url": directory.ldaps_url, "ca_certificate": None},
        "search account refused": {"bind_password": "not the search password"},
        "ldaps to a plain port": {"url": directory.url.replace("ldap://", "ldaps://")},
    }
    cfg, bind_password = config(directory, **overrides[problem])
    with pytest.raises(DirectoryUnavailable):
        authenticate(cfg, bind_password=bind_password, login=login, password=USER_PASSWORD)


@pytest.mark.parametrize(
    "bad",
    [
        {"user_filter": "(uid=alice)"},
        {"url": "http://example.com"},
        {"start_tls": "true"},
        {"timeout_seconds": 0},
        {"surprise": 1},
    ],
)
def test_a_configuration_that_cannot_work_is_refused(directory: Directory, bad: dict[str, Any]) -> None:  # noqa: F811
    with pytest.raises(ValidationError):
        LdapConfig.model_validate(directory.config(**bad))
