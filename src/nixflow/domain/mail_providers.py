"""OAuth2 providers of mailboxes: the presets (Microsoft 365, Google) and what a custom provider must give."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from nixflow.domain.errors import ValidationFailed

_TENANT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]{0,99}$")  # a GUID, a domain, `organizations` or `common`


@dataclass(frozen=True)
class Preset:
    label: str
    authorization_endpoint: str  # `{tenant}` is the organization's directory, where the provider has one
    token_endpoint: str
    scopes: str
    # What the consent screen must be asked for a refresh token (Google gives none without them).
    authorization_params: Mapping[str, str] = field(default_factory=dict)


_MICROSOFT = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0"
PRESETS: Mapping[str, Preset] = MappingProxyType(
    {
        "microsoft": Preset(
            "Microsoft 365",
            f"{_MICROSOFT}/authorize",
            f"{_MICROSOFT}/token",
            "https://outlook.office.com/IMAP.AccessAsUser.All https://outlook.office.com/SMTP.Send offline_access",
        ),
        "google": Preset(
            "Google",
            "https://accounts.google.com/o/oauth2/v2/auth",
            "https://oauth2.googleapis.com/token",
            "https://mail.google.com/",
            MappingProxyType({"access_type": "offline", "prompt": "consent"}),
        ),
    }
)
CUSTOM = "custom"


@dataclass(frozen=True)
class Endpoints:
    authorization_endpoint: str
    token_endpoint: str
    scopes: str


def preset_endpoints(provider: str, *, tenant: str | None, scopes: str | None) -> Endpoints:
    """A preset's endpoints for `tenant` (Microsoft: `organizations` when not given), with its scopes or others."""
    preset = PRESETS[provider]
    tenant = tenant or "organizations"
    if "{tenant}" in preset.authorization_endpoint and not _TENANT.match(tenant):
        raise ValidationFailed("tenant: a directory id, a domain, `organizations` or `common`")
    return Endpoints(
        preset.authorization_endpoint.format(tenant=tenant),
        preset.token_endpoint.format(tenant=tenant),
        scopes or preset.scopes,
    )


# Any other provider is asked for its consent screen explicitly: an OpenID provider grants offline access (a
# refresh token) only with the person's explicit consent (OpenID Connect Core 11), and the rest ignore it.
_CUSTOM_PARAMS: Mapping[str, str] = MappingProxyType({"prompt": "consent"})


def authorization_params(provider: str) -> Mapping[str, str]:
    """The extra parameters of `provider`'s consent screen."""
    preset = PRESETS.get(provider)
    return preset.authorization_params if preset is not None else _CUSTOM_PARAMS
