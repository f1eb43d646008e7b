"""A software passkey authenticator for API tests: a real P-256 key that makes real WebAuthn responses (packed
self-attestation on registration, signed assertions), the bytes a browser would send; nothing mocked on the
server's side. Its knobs (origin, sign count, user handle) let a test send what a hostile client would."""

from __future__ import annotations

import hashlib
import json
import os
import struct
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url, encode_cbor

ES256 = -7
UP, UV, AT = 0x01, 0x04, 0x40


@dataclass
class Authenticator:
    """One discoverable credential, made by `create` and used by `get`."""

    origin: str
    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    credential_id: bytes = field(default_factory=lambda: os.urandom(32))
    sign_count: int = 0
    user_handle: bytes | None = None
    rp_id: str = ""

    @property
    def id(self) -> str:
        """The credential id, as the browser and the server write it (base64url)."""
        return bytes_to_base64url(self.credential_id)

    def create(self, options: dict[str, Any], *, origin: str | None = None, verified: bool = True) -> dict[str, Any]:
        """The response of `navigator.credentials.create(options)`, as `PublicKeyCredential.toJSON()` writes it."""
        self.rp_id = options["rp"]["id"]
        self.user_handle = base64url_to_bytes(options["user"]["id"])
        client_data = self._client_data("webauthn.create", options["challenge"], origin)
        public = self.key.public_key().public_numbers()
        cose = {1: 2, 3: ES256, -1: 1, -2: public.x.to_bytes(32, "big"), -3: public.y.to_bytes(32, "big")}
        attested = bytes(16) + struct.pack(">H", len(self.credential_id)) + self.credential_id + encode_cbor(cose)
        auth_data = self._auth_data(UP | (UV if verified else 0) | AT) + attested
        signature = self._sign(auth_data, client_data)
        attestation = {"fmt": "packed", "attStmt": {"alg": ES256, "sig": signature}, "authData": auth_data}
        response = {
            "clientDataJSON": bytes_to_base64url(client_data),
            "attestationObject": bytes_to_base64url(encode_cbor(attestation)),
            "transports": ["internal"],
        }
        return self._credential(response)

    def get(
        self, options: dict[str, Any], *, origin: str | None = None, user_handle: bytes | None = None
    ) -> dict[str, Any]:
        """The response of `navigator.credentials.get(options)`: the sign count goes up by one each time."""
        self.sign_count += 1
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        auth_data = self._auth_data(UP | UV)
        handle = user_handle if user_handle is not None else self.user_handle
        response = {
            "clientDataJSON": bytes_to_base64url(client_data),
            "authenticatorData": bytes_to_base64url(auth_data),
            "signature": bytes_to_base64url(self._sign(auth_data, client_data)),
            "userHandle": bytes_to_base64url(handle) if handle is not None else None,
        }
        return self._credential(response)

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        data = {"type": kind, "challenge": challenge, "origin": origin or self.origin, "crossOrigin": False}
        return json.dumps(data).encode()

    def _auth_data(self, flags: int) -> bytes:
        return hashlib.sha256(self.rp_id.encode()).digest() + bytes([flags]) + struct.pack(">I", self.sign_count)

    def _sign(self, auth_data: bytes, client_data: bytes) -> bytes:
        return self.key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))

    def _credential(self, response: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": self.id,
            "rawId": self.id,
            "type": "public-key",
            "response": response,
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        }
