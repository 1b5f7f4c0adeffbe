"""Keys and sealed columns: personal data encrypted at rest (AES-256-GCM).

`KESU_DATA_KEY` (a random string of 32 characters or more; `kesu keygen` prints one) is
stretched with HKDF into three independent keys: the AES key that seals columns, the HMAC key
of the phone lookup digest (`Complainant.phone_hash`), and — from `KESU_SECRET_KEY` — the HMAC
key that signs audit anchors. A sealed value reads `v1.<key id>.<base64(nonce | ciphertext)>`; the
column name is the associated data, so a value copied into another column does not open.

The keys are process-wide: an entry point calls `configure(settings)` (create_app, the CLI,
the worker); anything that touches a sealed column first falls back to `Settings()` from
the environment. Nothing is read at import time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Text, TypeDecorator

from kesu.settings import Settings


def _derive(material: str, info: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"kesu", info=info.encode()).derive(
        material.encode()
    )


class SealError(Exception):
    """A sealed value does not open: another key, or the value was altered."""


@dataclass(frozen=True)
class Keys:
    data: bytes
    lookup: bytes
    anchor: bytes

    @classmethod
    def from_settings(cls, settings: Settings) -> Keys:
        material = settings.data_key or "derived-from-secret:" + settings.secret_key
        return cls(
            data=_derive(material, "kesu data key"),
            lookup=_derive(material, "kesu lookup key"),
            anchor=_derive(settings.secret_key, "kesu audit anchor key"),
        )

    @property
    def data_key_id(self) -> str:
        return hashlib.sha256(self.data).hexdigest()[:8]

    @property
    def anchor_key_id(self) -> str:
        return hashlib.sha256(self.anchor).hexdigest()[:8]

    def seal(self, plain: str, column: str) -> str:
        nonce = os.urandom(12)
        sealed = AESGCM(self.data).encrypt(nonce, plain.encode(), column.encode())
        return f"v1.{self.data_key_id}.{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def open(self, value: str, column: str) -> str:
        version, _, rest = value.partition(".")
        key_id, _, body = rest.partition(".")
        if version != "v1" or not body:
            raise SealError(f"{column}: not a sealed value")
        if key_id != self.data_key_id:
            raise SealError(f"{column}: sealed under key {key_id}, KESU_DATA_KEY is another key")
        raw = base64.urlsafe_b64decode(body)
        try:
            return AESGCM(self.data).decrypt(raw[:12], raw[12:], column.encode()).decode()
        except InvalidTag as exc:
            raise SealError(f"{column}: the sealed value was altered") from exc

    def lookup_digest(self, value: str) -> str:
        return hmac.new(self.lookup, value.encode(), hashlib.sha256).hexdigest()

    def sign(self, body: bytes) -> str:
        return hmac.new(self.anchor, body, hashlib.sha256).hexdigest()


_keys: Keys | None = None


def configure(settings: Settings) -> Keys:
    global _keys
    _keys = Keys.from_settings(settings)
    return _keys


def keys() -> Keys:
    return _keys or configure(Settings())


class SealedText(TypeDecorator[str]):
    """A text column stored sealed; reads give the plain text back. Not comparable in SQL:
    look values up through a keyed digest column instead."""

    impl = Text
    cache_ok = True

    def __init__(self, column: str, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.column = column

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else keys().seal(value, self.column)

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else keys().open(value, self.column)
