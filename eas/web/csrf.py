"""CSRF protection for forms: a random token kept in the signed session cookie, echoed by each
form in a hidden field. Webhooks (signed by Twilio) do not use it."""

from __future__ import annotations

import hmac
import secrets

from flask import abort, request, session

_KEY = "csrf"
FIELD = "csrf_token"


def csrf_token() -> str:
    if _KEY not in session:
        session[_KEY] = secrets.token_urlsafe(24)
    return session[_KEY]


def require_csrf() -> None:
    expected = session.get(_KEY)
    given = request.form.get(FIELD, "")
    if not expected or not hmac.compare_digest(expected, given):
        abort(400, description="This form has expired or your browser did not keep its cookie. "
              "Go back, reload the page and try again.")  # fmt: skip
