"""Identity providers' pure rules: each kind's config model, the group -> role mapping."""

from __future__ import annotations

from typing import get_args

import pytest

from nixflow.domain.errors import ValidationFailed
from nixflow.domain.identity import (
    KIND_MODELS,
    ProviderConfig,
    RoleMapping,
    check_slug,
    parse_config,
    parse_role_mapping,
    role_for,
)
from nixflow.domain.values import Role


def test_every_kind_of_the_union_is_in_the_table_of_kinds() -> None:
    union = get_args(ProviderConfig)[0]
    members = get_args(union) or (union,)
    assert {m.model_fields["kind"].annotation.__args__[0]: m for m in members} == dict(KIND_MODELS)


def test_the_highest_role_of_the_mapped_groups_wins_else_the_default() -> None:
    mapping = parse_role_mapping(
        {"rules": [{"group": "agents", "role": "agent"}, {"group": "admins", "role": "admin"}]}
    )
    assert role_for(mapping, ["agents", "admins", "other"]) == Role.ADMIN
    assert role_for(mapping, ["agents"]) == Role.AGENT
    assert role_for(mapping, ["other"]) == Role.REQUESTER
    assert role_for(RoleMapping(), ["admins"]) is None  # no rules: roles are not the provider's


def test_bad_config_mapping_and_slug_are_refused_naming_the_field() -> None:
    with pytest.raises(ValidationFailed) as failed:
        parse_config({"kind": "oidc", "issuer": "https://x", "client_id": "a", "extra": 1})
    assert failed.value.errors and failed.value.errors[0]["loc"] == ["body", "config", "oidc", "extra"]
    with pytest.raises(ValidationFailed):
        parse_role_mapping({"rules": [{"group": "g", "role": "system"}]})
    for bad in ("", "Corp", "-corp", "corp-", "a" * 41, "co rp"):
        with pytest.raises(ValidationFailed):
            check_slug(bad)
    assert check_slug("corp-sso-2") == "corp-sso-2"
