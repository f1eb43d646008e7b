"""What `NIXFLOW_SECRET_KEY` protects: keyed token hashes, encrypted secrets, signed values (see SECURITY.md).

Every key is derived (HKDF-SHA256, one label per use) from the secret key and, for rotation, from each key in
`NIXFLOW_SECRET_KEY_PREVIOUS`: new values always use the current key, old ones are still accepted.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from nixflow.config import Settings

log = logging.getLogger(__name__)

# Outside production, without a key: a key everyone can read here. It keeps development working and
# protects nothing; production refuses to start without a real key.
DEVELOPMENT_KEY = "nixflow-development-key-known-to-everyone"


class BadSecret(Exception):
    """A ciphertext or signed value that no key opens, was altered, or has expired."""


def _derive(secret: str, label: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"nixflow " + label).derive(secret.encode())


def _fernet(secrets: Sequence[str], label: bytes) -> MultiFernet:
    return MultiFernet([Fernet(base64.urlsafe_b64encode(_derive(s, label))) for s in secrets])


class Keyring:
    """The keys derived from the current secret key and the previous ones, current first."""

    def __init__(self, secret: str, previous: Sequence[str] = ()) -> None:
        if not secret:
            raise ValueError("a keyring needs a secret key")
        secrets = [secret, *previous]
        self._peppers = [_derive(s, b"token-hash v1") for s in secrets]
        self._encryption = _fernet(secrets, b"encryption v1")
        self._signing = _fernet(secrets, b"signing v1")
        self._mail = [_derive(s, b"mail token v1") for s in secrets]

    def token_hash(self, token: str) -> str:
        """The stored form of a bearer token or CSRF token: HMAC-SHA256 under the current key."""
        return self._hash(self._peppers[0], token)

    def token_hashes(self, token: str) -> list[str]:
        """The forms `token` may be stored in: under the current key, then under each previous one."""
        return [self._hash(pepper, token) for pepper in self._peppers]

    def matches(self, token: str, stored: str) -> bool:
        """Whether `token` is the one stored as `stored`, under any key (constant time per key)."""
        return any(hmac.compare_digest(candidate, stored) for candidate in self.token_hashes(token))

    @staticmethod
    def _hash(pepper: bytes, token: str) -> str:
        return hmac.new(pepper, token.encode(), hashlib.sha256).hexdigest()

    def mail_token(self, message: str) -> str:
        """A short keyed token for `message` (a notification and its recipient), under the current key."""
        return self._short(self._mail[0], message)

    def mail_token_matches(self, message: str, token: str) -> bool:
        """Whether `token` is `mail_token(message)` under any key (constant time per key)."""
        return any(
            hmac.compare_digest(self._short(key, message).encode(), token.lower().encode()) for key in self._mail
        )

    @staticmethod
    def _short(key: bytes, message: str) -> str:
        # 128 bits of HMAC-SHA256, base32: it fits a Message-ID and an address's local part, in any case.
        digest = hmac.new(key, message.encode(), hashlib.sha256).digest()[:16]
        return base64.b32encode(digest).decode().rstrip("=").lower()

    def encrypt(self, plaintext: str) -> str:
        """A secret NixFlow must store and later use (a webhook signing key, a mailbox password)."""
        return self._encryption.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        """The plaintext of `encrypt`, under whichever key made it."""
        try:
            return self._encryption.decrypt(ciphertext.encode()).decode()
        except InvalidToken:
            raise BadSecret("no key opens this value") from None

    def reencrypt(self, ciphertext: str) -> str:
        """The same plaintext under the current key: how stored secrets move off a previous key."""
        try:
            return self._encryption.rotate(ciphertext.encode()).decode()
        except InvalidToken:
            raise BadSecret("no key opens this value") from None

    def sign(self, purpose: str, value: str, *, now: datetime) -> str:
        """A tamper-proof, opaque, timestamped token carrying `value`, valid only for `purpose`."""
        payload = f"{purpose}\n{value}".encode()
        return self._signing.encrypt_at_time(payload, int(now.timestamp())).decode()

    def unsign(self, purpose: str, token: str, *, max_age: timedelta, now: datetime) -> str:
        """The value `sign` put in `token`, if it was made for `purpose` less than `max_age` ago."""
        try:
            payload = self._signing.decrypt_at_time(
                token.encode(), int(max_age.total_seconds()), int(now.timestamp())
            ).decode()
        except (InvalidToken, UnicodeDecodeError):
            raise BadSecret("this value was altered, has expired or was never ours") from None
        made_for, _, value = payload.partition("\n")
        if made_for != purpose:
            raise BadSecret("this value was made for something else")
        return value


def keyring(settings: Settings) -> Keyring:
    """The keyring of `settings`: its secret key, else (outside production) the public development key."""
    previous = tuple((settings.secret_key_previous or "").split())
    return _keyring(settings.secret_key or DEVELOPMENT_KEY, previous)


@lru_cache(maxsize=8)
def _keyring(secret: str, previous: tuple[str, ...]) -> Keyring:
    if secret == DEVELOPMENT_KEY:
        log.warning(
            "NIXFLOW_SECRET_KEY is not set: tokens are hashed, and secrets encrypted, with the public development "
            "key, which protects nothing. Set it before this instance holds anything real."
        )
    return Keyring(secret, previous)
