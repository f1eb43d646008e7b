"""Organizations: what a name and a mail domain may be, and whose tickets a requester sees through one. Pure.

A name is unique regardless of case (`name_key`). A domain is stored lower-cased, as compared; it belongs to at
most one organization, so a new sender from it joins exactly one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from nixflow.domain.errors import ValidationFailed

MAX_NAME = 120
MAX_DOMAINS = 50
# Labels of letters, digits and inner hyphens, at least two of them, the last alphabetic (a TLD): `acme.com`,
# `mail.example.co.uk`; no IP literals, no trailing dot. ASCII (IDNs in their `xn--` form).
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
DOMAIN_PATTERN = rf"^{_LABEL}(?:\.{_LABEL})*\.[a-z](?:[a-z0-9-]{{0,61}}[a-z0-9])?$"
_DOMAIN = re.compile(DOMAIN_PATTERN)
# As typed: either case, spaces around it (the schema's pattern; `clean_domains` trims and lower-cases).
_LABEL_IN = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
DOMAIN_INPUT_PATTERN = rf"^ *{_LABEL_IN}(?:\.{_LABEL_IN})*\.[A-Za-z](?:[A-Za-z0-9-]{{0,61}}[A-Za-z0-9])? *$"


def name_key(name: str) -> str:
    """The name as uniqueness compares it."""
    return name.casefold()


def clean_name(name: str) -> str:
    """The name trimmed; ValidationFailed when it is empty or too long."""
    cleaned = " ".join(name.split())
    if not cleaned or len(cleaned) > MAX_NAME:
        raise ValidationFailed(
            f"name must be 1 to {MAX_NAME} characters", errors=[{"loc": ["body", "name"], "msg": "invalid name"}]
        )
    return cleaned


def clean_domains(domains: Iterable[str]) -> list[str]:
    """Each domain lower-cased and trimmed, each once, in order; ValidationFailed naming one that is not a domain."""
    cleaned = list(dict.fromkeys(d.strip().lower() for d in domains))
    for domain in cleaned:
        if len(domain) > 253 or _DOMAIN.match(domain) is None:
            raise ValidationFailed(
                f"{domain!r} is not a mail domain (like example.com)",
                errors=[{"loc": ["body", "domains"], "msg": f"invalid domain {domain!r}"}],
            )
    if len(cleaned) > MAX_DOMAINS:
        raise ValidationFailed(
            f"at most {MAX_DOMAINS} domains", errors=[{"loc": ["body", "domains"], "msg": "too many"}]
        )
    return cleaned


def domain_of(email: str) -> str:
    """The domain of a mail address, lower-cased (`''` when it has none)."""
    return email.rpartition("@")[2].strip().lower()
