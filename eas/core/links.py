"""What every link eas gives out shares: the address it starts with, and how its secret token is
kept (only its SHA-256: a copy of the database opens nothing)."""

from __future__ import annotations

import hashlib

from flask import current_app

from eas.config import served_at

_DEFAULT_BASE = "http://127.0.0.1:5000"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def base_url() -> str:
    """EAS_PUBLIC_BASE_URL, or else the address `eas run` serves on (this process's, or the one
    it noted in the instance folder for other commands)."""
    config = current_app.config
    base = (
        config.get("EAS_PUBLIC_BASE_URL")
        or config.get("EAS_SERVED_AT")
        or served_at(current_app.instance_path)
        or _DEFAULT_BASE
    )
    return base.rstrip("/")
