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

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints, TypeAdapter, ValidationError

from nixflow.domain.errors import ValidationFailed
from nixflow.domain.json_types import NOT_BLANK
from nixflow.domain.values import Role

SLUG_PATTERN = "^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$"  # in URLs: /api/auth/oidc/{slug}/start
SLUG = re.compile(SLUG_PATTERN)
MAX_NAME = 100
# Most privileged first: a person in several mapped groups gets the highest of their roles.
ROLE_RANK = (Role.ADMIN, Role.AGENT, Role.REQUESTER)

Text = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=2000, pattern=NOT_BLANK)]
# Printable ASCII without spaces (international names in punycode): one meaning for every regex engine. No
# brackets or backslash: an IPv6 literal is named by a host name, and a URL with "[" is no URL to most parsers.
Url = Annotated[str, StringConstraints(strict=True, max_length=2000, pattern="^https?://[\\x21-\\x5a\\x5e-\\x7e]+$")]
GroupName = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=256, pattern=NOT_BLANK)]
AttributeName = Annotated[str, StringConstraints(strict=True, pattern="^[A-Za-z0-9_:./-]{1,200}$")]
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


LOGIN = "{login}"  # where the typed user name goes in `user_filter`, escaped

LdapUrl = Annotated[
    str, StringConstraints(strict=True, max_length=500, pattern="^ldaps?://[A-Za-z0-9.:\\[\\]-]+(:[0-9]{1,5})?/?$")
]
Dn = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=1000, pattern=NOT_BLANK)]
Filter = Annotated[str, StringConstraints(strict=True, min_length=3, max_length=1000, pattern="^\\(.*\\)$")]
UserFilter = Annotated[  # the schema says it holds {login}, so a client learns it before the server refuses
    str, StringConstraints(strict=True, min_length=9, max_length=1000, pattern="^\\(.*\\{login\\}.*\\)$")
]
Attribute = Annotated[str, StringConstraints(strict=True, pattern="^[A-Za-z][A-Za-z0-9-]{0,63}$")]
Pem = Annotated[
    str, StringConstraints(strict=True, max_length=100_000, pattern="-----BEGIN CERTIFICATE-----[\\s\\S]*-----END")
]
Secret = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=1024)]


class LdapConfig(KindConfig):
    """Where the directory is, how NixFlow finds a person in it, and what it reads from their entry."""

    SECRETS: ClassVar[tuple[str, ...]] = ("bind_password",)

    kind: Literal["ldap"]
    url: LdapUrl = Field(description="`ldap://host:389` (with `start_tls`, or plain) or `ldaps://host:636`.")
    start_tls: StrictBool = Field(
        default=False, description="Upgrade an `ldap://` connection with StartTLS (`ldaps://` is TLS already)."
    )
    ca_certificate: Pem | None = Field(
        default=None, description="PEM of the CA that signed the directory's certificate; none: the system's CAs."
    )
    bind_dn: Dn | None = Field(default=None, description="The account NixFlow searches with; none: anonymous.")
    bind_password: Secret | None = Field(default=None, description="Write only: reads say whether it is set.")
    user_base: Dn = Field(description="Where people are searched, e.g. `ou=people,dc=example,dc=com`.")
    user_filter: UserFilter = Field(
        default="(&(objectClass=person)(|(uid={login})(mail={login})))",
        description="Finds the one entry of the typed user name, `{login}` (escaped); AD: `(sAMAccountName={login})`.",
    )
    email_attribute: Attribute = "mail"
    name_attribute: Attribute = "cn"
    trust_email: StrictBool = Field(
        default=True,
        description="Whether the directory's address may link a person to an account or create one (false where "
        "people can edit their own `mail`: the address then does neither).",
    )
    id_attribute: Attribute = Field(
        default="entryUUID", description="A value that never changes for a person (AD: `objectGUID`); else the DN."
    )
    group_base: Dn | None = Field(default=None, description="Where groups are searched; none: no groups are read.")
    group_filter: Filter = "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=group))"
    member_attribute: Attribute = Field(default="member", description="`member`, `uniqueMember`, `memberUid`...")
    member_holds: Literal["dn", "login"] = Field(
        default="dn", description="What `member_attribute` holds: the person's DN, or their user name (posixGroup)."
    )
    group_name_attribute: Attribute = Field(default="cn", description="The group's name the role mapping names.")
    timeout_seconds: int = Field(default=5, ge=1, le=60, strict=True)

    @property
    def ldaps(self) -> bool:
        """Whether the connection is TLS from the start (`ldaps://`)."""
        return self.url.startswith("ldaps://")

    @property
    def starts_tls(self) -> bool:
        """Whether a plain `ldap://` connection is upgraded with StartTLS."""
        return self.start_tls and not self.ldaps


class MetadataXml(BaseModel):
    """The IdP's metadata, pasted in."""

    model_config = ConfigDict(extra="forbid", regex_engine="python-re")
    # Under the request body limit even written as JSON escapes; an aggregate of many IdPs goes by URL.
    xml: Annotated[str, StringConstraints(strict=True, min_length=1, max_length=150_000, pattern=NOT_BLANK)]


class MetadataUrl(BaseModel):
    """Where the IdP publishes its metadata (read at sign-in, kept a few minutes)."""

    model_config = ConfigDict(extra="forbid", regex_engine="python-re")
    url: Url


class SamlConfig(KindConfig):
    """SAML 2.0: the IdP's metadata (inline, or read from its URL) and which attributes carry email and name; the
    groups attribute is the role mapping's `claim`. The IdP must sign its assertions and send a persistent NameID."""

    kind: Literal["saml"]
    idp_metadata: MetadataXml | MetadataUrl = Field(description='`{"xml": "<EntityDescriptor ..."}` or `{"url": ...}`')
    idp_entity_id: Text | None = Field(default=None, description="Which IdP, when the metadata describes several.")
    email_attribute: AttributeName = "mail"
    name_attribute: AttributeName = "displayName"
    email_verified: bool = Field(
        default=True, description="The IdP vouches for the email addresses it asserts (links to existing accounts)."
    )


# Add a kind to both (and its model above): `kind` tells them apart (`test_identity.py` checks they agree).
ProviderConfig = Annotated[OidcConfig | SamlConfig | LdapConfig, Field(discriminator="kind")]
KIND_MODELS: Mapping[str, type[KindConfig]] = {"oidc": OidcConfig, "saml": SamlConfig, "ldap": LdapConfig}
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


def groups_in(claims: Mapping[str, Any], claim: str) -> list[str]:
    """The groups a provider's claims (or attributes) list under `claim`: a list of names, or one name."""
    value = claims.get(claim)
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [g for g in value if isinstance(g, str)]
    return []
