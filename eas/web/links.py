"""Links in web prompts: signed, bound to one prompt, valid until the prompt expires."""

from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

_SALT = "eas.prompt-link"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def prompt_link(prompt_id: int) -> str:
    base = current_app.config.get("EAS_PUBLIC_BASE_URL") or "http://127.0.0.1:5000"
    return f"{base.rstrip('/')}/p/{_serializer().dumps(prompt_id)}"


def prompt_id_from_token(token: str) -> int | None:
    try:
        value = _serializer().loads(token)
    except BadSignature:
        return None
    return value if isinstance(value, int) else None
