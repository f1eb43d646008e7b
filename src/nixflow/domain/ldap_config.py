"""An LDAP / Active Directory provider's configuration. Pure: no I/O."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from nixflow.domain.json_types import NOT_BLANK

LOGIN = "{login}"  # where the typed user name goes in `user_filter`, escaped

LdapUrl = Annotated[
    str, StringConstraints(strict=True, max_length=500, pattern="^ldaps?://[A-Za-z0-9.:\\[\\]-]+(:[0-9]{1,5})?/?$")
]
Dn = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=1000, pattern=NOT_BLANK)]
Filter = Annotated[str, StringConstraints(strict=True, min_length=3, max_length=1000, pattern="^\\(.*\\)$")]
Attribute = Annotated[str, StringConstraints(strict=True, pattern="^[A-Za-z][A-Za-z0-9-]{0,63}$")]
Pem = Annotated[
    str, StringConstraints(strict=True, max_length=100_000, pattern="-----BEGIN CERTIFICATE-----[\\s\\S]*-----END")
]
Secret = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=1024)]


class LdapConfig(BaseModel):
    """Where the directory is, how NixFlow finds a person in it, and what it reads from their entry."""

    model_config = ConfigDict(extra="forbid", regex_engine="python-re")
    SECRETS: ClassVar[tuple[str, ...]] = ("bind_password",)

    kind: Literal["ldap"]
    url: LdapUrl = Field(description="`ldap://host:389` (with `start_tls`, or plain) or `ldaps://host:636`.")
    start_tls: bool = Field(default=False, description="Upgrade an `ldap://` connection with StartTLS.")
    ca_certificate: Pem | None = Field(
        default=None, description="PEM of the CA that signed the directory's certificate; none: the system's CAs."
    )
    bind_dn: Dn | None = Field(default=None, description="The account NixFlow searches with; none: anonymous.")
    bind_password: Secret | None = Field(default=None, description="Write only: reads say whether it is set.")
    user_base: Dn = Field(description="Where people are searched, e.g. `ou=people,dc=example,dc=com`.")
    user_filter: Filter = Field(
        default="(&(objectClass=person)(|(uid={login})(mail={login})))",
        description="Finds the one entry of the typed user name, `{login}` (escaped); AD: `(sAMAccountName={login})`.",
    )
    email_attribute: Attribute = "mail"
    name_attribute: Attribute = "cn"
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

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if LOGIN not in self.user_filter:
            raise ValueError(f"user_filter must contain {LOGIN}")
        if self.start_tls and self.url.startswith("ldaps://"):
            raise ValueError("start_tls is for ldap:// URLs; ldaps:// is TLS already")
        return self

    @property
    def tls(self) -> bool:
        """Whether the connection is encrypted (LDAPS or StartTLS)."""
        return self.start_tls or self.url.startswith("ldaps://")
