"""Is this request really from Twilio? `X-Twilio-Signature` checked against the exact URL.

Twilio signs the public URL it posted to. Behind a proxy the app sees another scheme or host, so
eas checks against `EAS_PUBLIC_BASE_URL` when it is set (plus the path and query as sent), or
else the request's own URL, which `EAS_TRUSTED_PROXIES` corrects from X-Forwarded-* headers.
The path and query are taken undecoded where the server gives them, since Werkzeug decodes
non-ASCII escapes, and the form is passed whole (repeated keys included).
"""

from __future__ import annotations

from urllib.parse import quote

from flask import current_app, request
from twilio.request_validator import RequestValidator


def _raw_path() -> str:
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if raw:
        return raw
    path = quote(request.script_root + request.path, safe="/:@!$&'()*+,;=-._~%")
    query = request.query_string.decode("latin-1")
    return f"{path}?{query}" if query else path


def signed_url() -> str:
    base = current_app.config.get("EAS_PUBLIC_BASE_URL")
    if base:
        return base.rstrip("/") + _raw_path()
    return f"{request.scheme}://{request.host}{_raw_path()}"


def is_from_twilio() -> bool:
    token = current_app.config.get("EAS_TWILIO_AUTH_TOKEN")
    signature = request.headers.get("X-Twilio-Signature")
    if not token or not signature:
        return False
    return RequestValidator(token).validate(signed_url(), request.form, signature)
