"""Where a webhook may be sent: http(s) URLs on public addresses only (the SSRF guard), unless private
targets are allowed (`NIXFLOW_WEBHOOK_ALLOW_PRIVATE`, for tests and on-premise installs).

The address is checked when a subscription is saved and again before every attempt (DNS can change), and
the request then goes to the address that was checked, so a name cannot resolve to one address for the check
and another for the connection.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from nixflow.domain.errors import ValidationFailed

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# Cloud instance metadata services, refused by name even where their range would not say so.
METADATA = {
    ipaddress.ip_address("169.254.169.254"),
    ipaddress.ip_address("169.254.170.2"),
    ipaddress.ip_address("100.100.100.200"),
    ipaddress.ip_address("fd00:ec2::254"),
}
NAT64 = ipaddress.ip_network("64:ff9b::/96")  # the well-known prefix: the last 32 bits are the IPv4 address
RESOLVE_TIMEOUT = 5.0
# What a target URL may look like: http(s), an ASCII host name or IP literal, a port, then printable ASCII
# without spaces or a fragment (the OpenAPI schema says the same). International names go in punycode.
URL_PATTERN = r'^https?://([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?([/?][!"$-~]*)?$'
_URL = re.compile(URL_PATTERN)


class Refused(Exception):
    """A target NixFlow will not send to; the message says why."""


def parse(url: str) -> SplitResult:
    """The parts of a webhook URL; anything but http(s)://host[:port]/path?query is refused."""
    if not _URL.match(url):
        raise Refused("must be http(s)://host[:port][/path][?query], in printable ASCII (names in punycode)")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - a bad port raises here
    except ValueError as exc:
        raise Refused(f"not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Refused("must be an http:// or https:// URL with a host")
    if parts.username is not None or parts.password is not None:
        raise Refused("must not carry credentials (user:password@); the signature authenticates NixFlow")
    if parts.fragment:
        raise Refused("must not have a #fragment")
    return parts


def embedded_ipv4(address: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, bool] | None:
    """The IPv4 address an IPv6 one carries, and whether the IPv6 address only stands for it (a translation:
    IPv4-mapped, NAT64 `64:ff9b::/96`) rather than tunnelling to it (6to4 `2002::/16`, Teredo `2001::/32`)."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped, True
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF), True
    if address.sixtofour is not None:
        return address.sixtofour, False
    if address.teredo is not None:
        return address.teredo[1], False
    return None


def refusal(address: IPAddress) -> str | None:
    """Why an address is not a public one, or None when it is; an IPv6 address embedding an IPv4 one is judged
    by that one too, so a private address cannot hide in it."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.is_site_local:  # fec0::/10: deprecated, and routed only inside a site
            return "a site-local address"
        embedded = embedded_ipv4(address)
        if embedded is not None:
            inner, translated = embedded
            why = refusal(inner)
            if why is not None or translated:
                return None if why is None else f"{why} embedded in an IPv6 one"
    if address in METADATA:
        return "a cloud metadata address"
    for kind, flag in (
        ("a loopback", address.is_loopback),
        ("a private", address.is_private),
        ("a link-local", address.is_link_local),
        ("a multicast", address.is_multicast),
        ("an unspecified", address.is_unspecified),
        ("a reserved", address.is_reserved),
    ):
        if flag:
            return f"{kind} address"
    return None if address.is_global else "not a public address"


@dataclass(frozen=True)
class Target:
    """A URL and, when private targets are refused, the checked address to connect to."""

    url: str
    host: str
    address: IPAddress | None

    def request_url(self) -> str:
        """The URL to connect to: the checked address in place of the name (the name goes in Host and SNI)."""
        if self.address is None:
            return self.url
        parts = urlsplit(self.url)
        literal = f"[{self.address}]" if self.address.version == 6 else str(self.address)
        netloc = literal if parts.port is None else f"{literal}:{parts.port}"
        return parts._replace(netloc=netloc).geturl()

    def host_header(self) -> str:
        """The Host header of the original URL."""
        parts = urlsplit(self.url)
        return parts.netloc.rsplit("@", 1)[-1]


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to (an IP literal: itself)."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout=RESOLVE_TIMEOUT)
    except (OSError, TimeoutError, UnicodeError) as exc:
        raise Refused(f"{host} cannot be resolved: {exc or 'timed out'}") from None
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))


async def check(url: str, *, allow_private: bool) -> Target:
    """The target of `url` if NixFlow may send there now; Refused says why not."""
    parts = parse(url)
    host = parts.hostname or ""
    if allow_private:
        return Target(url, host, None)
    addresses = await resolve(host, parts.port or (443 if parts.scheme == "https" else 80))
    for address in addresses:
        why = refusal(address)
        if why is not None:
            raise Refused(f"{host} resolves to {address}, {why}; set NIXFLOW_WEBHOOK_ALLOW_PRIVATE=true to allow it")
    if not addresses:
        raise Refused(f"{host} resolves to no address")
    return Target(url, host, addresses[0])


async def validate(url: str, *, allow_private: bool) -> str:
    """`url` if a subscription may use it; a 422 naming the reason otherwise."""
    try:
        await check(url, allow_private=allow_private)
    except Refused as exc:
        raise ValidationFailed(
            f"url refused: {exc}", errors=[{"loc": ["body", "url"], "msg": str(exc), "type": "value_error"}]
        ) from None
    return url
