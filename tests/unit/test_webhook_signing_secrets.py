"""Which secrets sign when a key was dropped (issue 22): the current one must open; a previous one may not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from nixflow.crypto import BadSecret, Keyring
from nixflow.webhooks.model import Subscription
from nixflow.webhooks.subscriptions import signing_secrets

NOW = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)
KEYS = Keyring("the current key")
DROPPED = Keyring("a key no longer configured")


def subscription(secret: str, previous: str | None) -> Subscription:
    return Subscription(1, "https://hooks.example.com/in", ["*"], None, "active", secret, previous,
                        NOW + timedelta(hours=1), (0, 0), None)  # fmt: skip


def test_a_current_secret_no_key_opens_is_bad() -> None:
    with pytest.raises(BadSecret):
        signing_secrets(KEYS, subscription(DROPPED.encrypt("whsec_old"), None), NOW)


def test_a_previous_secret_no_key_opens_is_left_out_so_rotation_mends_the_subscription() -> None:
    rotated = subscription(KEYS.encrypt("whsec_new"), DROPPED.encrypt("whsec_old"))
    assert signing_secrets(KEYS, rotated, NOW) == ["whsec_new"]


def test_both_sign_during_the_overlap_when_both_open() -> None:
    both = subscription(KEYS.encrypt("whsec_new"), KEYS.encrypt("whsec_old"))
    assert signing_secrets(KEYS, both, NOW) == ["whsec_new", "whsec_old"]
    assert signing_secrets(KEYS, both, NOW + timedelta(hours=2)) == ["whsec_new"]
