"""Webhook values without I/O: filters, the retry schedule, secrets, signatures and the SSRF address checks."""

from __future__ import annotations

import base64
import ipaddress
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from nixflow.domain.errors import ValidationFailed
from nixflow.outbound import targets
from nixflow.webhooks.model import (
    Subscription,
    check_event_types,
    event_type_filters,
    matches_type,
    new_secret,
    retry_delay,
)
from nixflow.webhooks.sender import signed_headers


def test_filters_take_exact_types_prefixes_and_everything() -> None:
    assert matches_type(["ticket.assigned"], "ticket.assigned")
    assert not matches_type(["ticket.assigned"], "ticket.created")
    assert matches_type(["ticket.*"], "ticket.created")
    assert not matches_type(["ticket.*"], "sla.breached")
    assert not matches_type(["sla.*"], "slack.message")  # a prefix ends at the dot
    assert matches_type(["*"], "user.created")
    assert matches_type(["sla.breached", "ticket.*"], "sla.breached")


def test_unknown_filters_are_named_in_a_422() -> None:
    assert "ticket.*" in event_type_filters() and "*" in event_type_filters()
    assert check_event_types(["ticket.*", "ticket.*", "sla.warning"]) == ["ticket.*", "sla.warning"]
    with pytest.raises(ValidationFailed) as caught:
        check_event_types(["ticket.*", "ticket.teleported", "nope.*"])
    assert "ticket.teleported" in caught.value.detail and "nope.*" in caught.value.detail
    with pytest.raises(ValidationFailed):
        check_event_types([])


def test_a_category_filter_takes_only_that_categorys_tickets() -> None:
    hook = Subscription(1, "http://x", ["*"], 3, "active", "s", None, None, (0, 0), None)
    assert hook.wants("ticket.created", "ticket", 3)
    assert not hook.wants("ticket.created", "ticket", 4)
    assert not hook.wants("ticket.created", "ticket", None)
    assert not hook.wants("user.created", "user", None)


def test_the_retry_schedule_and_its_scale() -> None:
    hours = [retry_delay(n, 1.0) for n in range(1, 9)]
    assert hours == [
        timedelta(seconds=5),
        timedelta(seconds=30),
        timedelta(minutes=5),
        timedelta(minutes=30),
        timedelta(hours=2),
        timedelta(hours=5),
        timedelta(hours=10),
        timedelta(hours=10),
    ]
    assert retry_delay(9, 1.0) is None  # then failed
    assert retry_delay(2, 0.1) == timedelta(seconds=3)


def test_secrets_are_standard_webhooks_secrets() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert new_secret() != secret


def test_signed_headers_verify_with_each_secret_and_only_those() -> None:
    old, new, stranger = new_secret(), new_secret(), new_secret()
    body = '{"event_id":"e1","type":"ticket.created"}'
    headers = signed_headers("e1", body, [new, old], datetime.now(UTC))
    assert headers["webhook-id"] == "e1"
    assert [s[:3] for s in headers["webhook-signature"].split(" ")] == ["v1,", "v1,"]
    for secret in (old, new):
        assert Webhook(secret).verify(body, headers) == {"event_id": "e1", "type": "ticket.created"}
    with pytest.raises(WebhookVerificationError):
        Webhook(stranger).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new).verify(body.replace("e1", "e2"), headers)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.5",
        "172.16.3.4",
        "192.168.1.1",
        "169.254.169.254",
        "100.100.100.200",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "::1",
        "fe80::1",
        "fd00:ec2::254",
        "fc00::1",
        "::ffff:127.0.0.1",
        "::",
    ],
)
def test_private_and_special_addresses_are_refused(address: str) -> None:
    assert targets.refusal(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert targets.refusal(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/x",
        "http:///nohost",
        "http://user:pass@example.com/x",
        "http://example.com/x#part",
        "http://example.com:99999/x",
        "http://exa mple.com/",
        "javascript:alert(1)",
    ],
)
def test_malformed_urls_are_refused(url: str) -> None:
    with pytest.raises(targets.Refused):
        targets.parse(url)


def test_a_checked_target_is_reached_at_its_checked_address_under_its_own_name() -> None:
    target = targets.Target(
        "https://hooks.example.com:8443/in?x=1", "hooks.example.com", ipaddress.ip_address("93.184.216.34")
    )
    assert target.request_url() == "https://93.184.216.34:8443/in?x=1"
    assert target.host_header() == "hooks.example.com:8443"
    six = targets.Target("http://hooks.example.com/in", "hooks.example.com", ipaddress.ip_address("2606:4700::1"))
    assert six.request_url() == "http://[2606:4700::1]/in"
    assert targets.Target("http://x.test/in", "x.test", None).request_url() == "http://x.test/in"
