"""Encryption at rest for identifying values (phone numbers) and keyed hashes to look them up.

The clear value is encrypted with Fernet (AES-128-CBC + HMAC); `MultiFernet` decrypts with any
configured key and encrypts with the first, so keys can be rotated. Lookups use an HMAC-SHA256
of the normalised value under a separate key, so the database never needs the clear value to
find a participant by the number an SMS came from.
"""

from __future__ import annotations

import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app

_EXTENSION_KEY = "eas.cipher"


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

    def lookup_hash(self, value: str) -> str:
        return hmac.new(self._lookup_key, value.encode(), hashlib.sha256).hexdigest()


def init_cipher(app) -> None:
    app.extensions[_EXTENSION_KEY] = DataCipher(
        app.config["EAS_ENCRYPTION_KEYS"], app.config["EAS_LOOKUP_KEY"]
    )


def get_cipher() -> DataCipher:
    return current_app.extensions[_EXTENSION_KEY]
