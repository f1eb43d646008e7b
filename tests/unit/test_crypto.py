"""The keyring behind NIXFLOW_SECRET_KEY: keyed token hashes, encryption, signing, and key rotation."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from nixflow.config import load_settings
from nixflow.crypto import DEVELOPMENT_KEY, BadSecret, Keyring, keyring

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_a_token_hash_needs_the_key() -> None:
    keys, other = Keyring("key one"), Keyring("key two")
    stored = keys.token_hash("tok")
    assert stored != hashlib.sha256(b"tok").hexdigest()  # a leaked table alone cannot check tokens
    assert stored != other.token_hash("tok")
    assert keys.matches("tok", stored) and not keys.matches("tak", stored) and not other.matches("tok", stored)


def test_hashes_made_under_a_previous_key_still_match_after_rotation() -> None:
    old = Keyring("old key").token_hash("tok")
    rotated = Keyring("new key", ["old key"])
    assert rotated.matches("tok", old)
    assert rotated.token_hash("tok") != old  # new values use the new key
    assert not Keyring("new key").matches("tok", old)  # once the old key is dropped, so is what it protected


def test_encrypted_secrets_open_with_the_key_and_move_to_a_new_one() -> None:
    old = Keyring("old key")
    sealed = old.encrypt("smtp password")
    assert "smtp password" not in sealed and old.decrypt(sealed) == "smtp password"
    rotated = Keyring("new key", ["old key"])
    assert rotated.decrypt(sealed) == "smtp password"
    moved = rotated.reencrypt(sealed)
    assert Keyring("new key").decrypt(moved) == "smtp password"
    with pytest.raises(BadSecret):
        Keyring("new key").decrypt(sealed)
    with pytest.raises(BadSecret):
        old.decrypt(sealed[:-4] + "AAAA")


def test_signed_values_are_bound_to_their_purpose_and_expire() -> None:
    keys = Keyring("key")
    token = keys.sign("password-reset", "42", now=NOW)
    assert keys.unsign("password-reset", token, max_age=timedelta(hours=1), now=NOW + timedelta(minutes=59)) == "42"
    with pytest.raises(BadSecret):
        keys.unsign("password-reset", token, max_age=timedelta(hours=1), now=NOW + timedelta(minutes=61))
    with pytest.raises(BadSecret):
        keys.unsign("unsubscribe", token, max_age=timedelta(hours=1), now=NOW)
    with pytest.raises(BadSecret):
        Keyring("another key").unsign("password-reset", token, max_age=timedelta(hours=1), now=NOW)
    assert Keyring("new", ["key"]).unsign("password-reset", token, max_age=timedelta(hours=1), now=NOW) == "42"


def test_settings_choose_the_keys() -> None:
    production = keyring(load_settings(env="production", secret_key="s3cret", secret_key_previous="old1 old2"))
    assert production.matches("tok", Keyring("old2").token_hash("tok"))
    assert production.token_hash("tok") == Keyring("s3cret").token_hash("tok")
    # Outside production without a key: the public development key, which protects nothing (and says so).
    development = keyring(load_settings(env="development", secret_key=None))
    assert development.token_hash("tok") == Keyring(DEVELOPMENT_KEY).token_hash("tok")
