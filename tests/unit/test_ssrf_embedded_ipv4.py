"""The SSRF guard sees through IPv6 addresses that carry an IPv4 one (issue 22)."""

from __future__ import annotations

import ipaddress

import pytest

from nixflow.outbound import targets


@pytest.mark.parametrize(
    ("form", "address"),
    [
        ("6to4 of loopback", "2002:7f00:1::"),
        ("6to4 of 10/8", "2002:a00:1::1"),
        ("6to4 of 192.168/16", "2002:c0a8:101::"),
        ("6to4 of the metadata service", "2002:a9fe:a9fe::1"),
        ("site-local", "fec0::1"),
        ("site-local carrying 10.0.0.1", "fec0::a00:1"),
        ("IPv4-mapped loopback", "::ffff:127.0.0.1"),
        ("NAT64 of loopback", "64:ff9b::7f00:1"),
        ("NAT64 of the metadata service", "64:ff9b::a9fe:a9fe"),
        ("Teredo with a private client", "2001:0:4136:e378:8000:63bf:f5ff:fffe"),
    ],
)
def test_an_ipv6_form_carrying_a_private_address_is_refused(form: str, address: str) -> None:
    assert targets.refusal(ipaddress.ip_address(address)) is not None, form


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("2002:7f00:1::", "a loopback address embedded in an IPv6 one"),
        ("2002:a9fe:a9fe::", "a cloud metadata address embedded in an IPv6 one"),
        ("fec0::1", "a site-local address"),
    ],
)
def test_the_refusal_names_what_was_found(address: str, why: str) -> None:
    assert targets.refusal(ipaddress.ip_address(address)) == why


@pytest.mark.parametrize("address", ["2002:808:808::1", "::ffff:8.8.8.8", "64:ff9b::808:808"])
def test_an_ipv6_form_carrying_a_public_address_is_allowed(address: str) -> None:
    assert targets.refusal(ipaddress.ip_address(address)) is None


async def test_a_literal_6to4_url_of_a_private_address_is_refused_before_sending() -> None:
    with pytest.raises(targets.Refused, match="embedded in an IPv6 one"):
        await targets.check("http://[2002:a00:1::1]/hook", allow_private=False)
