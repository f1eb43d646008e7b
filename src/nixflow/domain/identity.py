"""Identity providers (single sign-on): each kind's configuration, the group -> role mapping. Pure: no I/O.

A provider's `config` is one model per kind, told apart by its `kind` field (a pydantic discriminated union).
To add a kind: write its model below (a `kind: Literal[...]` field, `SECRETS` naming the fields stored
encrypted and never returned), then add it to `ProviderConfig` and `KIND_MODELS`. The seam
(`services/identity.py`) and the admin API (`/api/identity-providers`) take it from there.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter, ValidationError

from nixflow.domain.errors import ValidationFailed
from nixflow.domain.json_types import NOT_BLANK
from nixflow.domain.values import Role

SLUG_PATTERN = "^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$"  # in URLs: /api/auth/oidc/{slug}/start
SLUG = re.compile(SLUG_PATTERN)
MAX_NAME = 100
# Most privileged first: a person in several mapped groups gets the highest of their roles.
ROLE_RANK = (Role.ADMIN, Role.AGENT, Role.REQUESTER)

Text = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=2000, pattern=NOT_BLANK)]
Url = Annotated[str, StringConstraints(strict=True, max_length=2000, pattern="^https?://[^\\s]+$")]
GroupName = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=256, pattern=NOT_BLANK)]
HumanRole = Literal["requester", "agent", "admin"]


class KindConfig(BaseModel):
    """Base of every kind's configuration: unknown fields are an error."""

    model_config = ConfigDict(extra="forbid", regex_engine="python-re")
    SECRETS: ClassVar[tuple[str, ...]] = ()


class OidcConfig(KindConfig):
    """OpenID Connect: the issuer's discovery document says where everything else is."""

    SECRETS: ClassVar[tuple[str, ...]] = ("client_secret",)
    kind: Literal["oidc"]
    issuer: Url = Field(description="Issuer URL; `/.well-known/openid-configuration` under it is read.")
    client_id: Text
    client_secret: Text | None = Field(default=None, description="Write only: reads say whether it is set.")
    scopes: list[Annotated[str, StringConstraints(strict=True, pattern="^[\\x21-\\x7e]{1,64}$")]] = Field(
        default_factory=lambda: ["openid", "email", "profile"], max_length=20
    )


# Add a kind to both (and its model above): `kind` tells them apart (`test_identity.py` checks they agree).
ProviderConfig = Annotated[OidcConfig, Field(discriminator="kind")]
KIND_MODELS: Mapping[str, type[KindConfig]] = {"oidc": OidcConfig}
_CONFIG: TypeAdapter[ProviderConfig] = TypeAdapter(ProviderConfig)


class RoleRule(BaseModel):
    model_config = ConfigDict(extra="forbid", regex_engine="python-re")
    group: GroupName
    role: HumanRole


class RoleMapping(BaseModel):
    """Which group gives which role, re-applied at every sign-in. No rules: roles are not managed by the provider
    (a new user gets `default_role`, an existing one keeps theirs)."""

    model_config = ConfigDict(extra="forbid", regex_engine="python-re")
    claim: Annotated[str, StringConstraints(strict=True, pattern="^[A-Za-z0-9_:./-]{1,200}$")] = Field(
        default="groups", description="The claim or attribute that lists the person's groups."
    )
    rules: list[RoleRule] = Field(default_factory=list, max_length=50)
    default_role: HumanRole = Field(default="requester", description="The role of someone in no mapped group.")


def parse_config(data: Mapping[str, Any]) -> KindConfig:
    """`data` as its kind's configuration; ValidationFailed naming what is wrong."""
    try:
        return _CONFIG.validate_python(dict(data))
    except ValidationError as exc:
        raise _failed("config", exc) from None


def secrets_of(kind: str) -> tuple[str, ...]:
    """The config fields of `kind` stored encrypted and never read back."""
    return KIND_MODELS[kind].SECRETS


def parse_role_mapping(data: Mapping[str, Any]) -> RoleMapping:
    """`data` as a role mapping; ValidationFailed naming what is wrong."""
    try:
        return RoleMapping.model_validate(dict(data))
    except ValidationError as exc:
        raise _failed("role_mapping", exc) from None


def _failed(field: str, exc: ValidationError) -> ValidationFailed:
    errors = [{"loc": ["body", field, *err["loc"]], "msg": err["msg"], "type": err["type"]} for err in exc.errors()]
    return ValidationFailed(f"invalid {field}", errors=errors)


def check_slug(slug: str) -> str:
    """`slug` if it is lower-case letters, digits and inner dashes (1-40)."""
    if not SLUG.match(slug):
        raise ValidationFailed(f"slug {slug!r} must be 1-40 lower-case letters, digits or inner dashes")
    return slug


def role_for(mapping: RoleMapping, groups: Iterable[str]) -> Role | None:
    """The role `groups` give under `mapping`: the highest any rule grants, else the default; None when the
    mapping has no rules (the provider does not manage roles)."""
    if not mapping.rules:
        return None
    held = set(groups)
    granted = {Role(rule.role) for rule in mapping.rules if rule.group in held}
    return next((role for role in ROLE_RANK if role in granted), Role(mapping.default_role))
