"""Encryption at rest for identifying values (phone numbers) and keyed hashes to look them up.

The clear value is encrypted with Fernet (AES-128-CBC + HMAC); `MultiFernet` decrypts with any
configured key and encrypts with the first, so keys can be rotated. Lookups use an HMAC-SHA256
of the normalised value under a separate key, so the database never needs the clear value to
find a participant by the number an SMS came from.
"""

from __future__ import annotations

import hashlib
import hmac

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app

_EXTENSION_KEY = "eas.cipher"
#: Marks a text column's value as encrypted (studies that encrypt free text at rest).
SEALED_PREFIX = "enc1:"


class DataCipher:
    def __init__(self, encryption_keys: str, lookup_key: str) -> None:
        keys = [key.strip() for key in encryption_keys.split(",") if key.strip()]
        if not keys:
            raise ValueError("EAS_ENCRYPTION_KEYS holds no key")
        self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])
        self._lookup_key = lookup_key.encode()

    def encrypt(self, value: str) -> bytes:
        return self._fernet.encrypt(value.encode())

    def decrypt(self, token: bytes) -> str:
        try:
            return self._fernet.decrypt(token).decode()
        except InvalidToken as exc:
            raise ValueError("value cannot be decrypted with the configured keys") from exc

    def rotate(self, token: bytes) -> bytes:
        """The same value, encrypted with the first (newest) key."""
        try:
            return self._fernet.rotate(token)
        except InvalidToken as exc:
            raise ValueError("value cannot be decrypted with the configured keys") from exc

    def seal(self, text: str) -> str:
        """Text to store encrypted in a `SealedText` column (read back decrypted)."""
        return SEALED_PREFIX + self._fernet.encrypt(text.encode()).decode()

    def unseal(self, stored: str) -> str:
        return self.decrypt(stored[len(SEALED_PREFIX) :].encode())

    def lookup_hash(self, value: str) -> str:
        return hmac.new(self._lookup_key, value.encode(), hashlib.sha256).hexdigest()


def init_cipher(app) -> None:
    app.extensions[_EXTENSION_KEY] = DataCipher(
        app.config["EAS_ENCRYPTION_KEYS"], app.config["EAS_LOOKUP_KEY"]
    )


def get_cipher() -> DataCipher:
    return current_app.extensions[_EXTENSION_KEY]


class SealedText(sa.TypeDecorator):
    """Text that may be stored encrypted: values written as `cipher.seal(text)` are read back
    decrypted, others as they are. Whether to seal is the writer's decision (a study option)."""

    impl = sa.Text
    cache_ok = True

    def process_result_value(self, value: str | None, dialect) -> str | None:
        return unsealed(value)


def unsealed(value: str | None) -> str | None:
    """A text column's value as written, also when it was sealed in this session (reads from
    the database are unsealed by `SealedText` already)."""
    if value is not None and value.startswith(SEALED_PREFIX):
        return get_cipher().unseal(value)
    return value
