"""What every API module shares: its blueprint (token checked before each request, JSON
errors, never cached), field-level errors, and pages of query results."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Response, request
from flask_smorest import Blueprint, abort
from flask_smorest.error_handler import ErrorSchema
from werkzeug.exceptions import HTTPException, MethodNotAllowed, default_exceptions

from eas.api.auth import SECURITY_SCHEME, authenticate, record_use
from eas.core.db import db

PREFIX = "/api/v1"
NO_STUDY = "No such study, or you are not on it"
NO_PARTICIPANT = "No such study or participant, or you are not on the study"
#: Documented on every operation: each needs a token.
SECURITY = [{SECURITY_SCHEME: []}]


def is_api_request() -> bool:
    return request.path == PREFIX or request.path.startswith(PREFIX + "/")


def error_payload(error: HTTPException) -> tuple[dict, int, dict]:
    """flask-smorest's error body, `{"code", "status", "message", "errors"}`: for every HTTP
    error under /api/v1, including routing's 404 and 405 and the 500 of a crash."""
    data = getattr(error, "data", None) or {}
    payload = {"code": error.code, "status": error.name}
    payload["message"] = data.get("message") or error.description
    errors = data.get("errors") or data.get("messages")
    if errors:
        payload["errors"] = errors
    headers = dict(data.get("headers") or {})
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        headers["Allow"] = ", ".join(error.valid_methods)
    return payload, error.code, headers


def handle_http_error(error: HTTPException):
    if not is_api_request():
        return error  # the web pages' own error pages
    return error_payload(error)


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


class ApiBlueprint(Blueprint):
    def error(self, code: int, description: str):
        """Document an error answer of an operation (body: `ErrorSchema`)."""
        return self.alt_response(code, schema=ErrorSchema, description=description)


def api_blueprint(name: str, import_name: str, description: str) -> ApiBlueprint:
    """A blueprint of the API. Its name is its section (tag) in the OpenAPI document, so it
    reads as a heading ("Participants"), which also keeps it apart from the web pages'."""
    blueprint = ApiBlueprint(name, import_name, url_prefix=PREFIX, description=description)
    blueprint.before_request(authenticate)
    blueprint.teardown_request(record_use)
    blueprint.after_request(_no_store)
    # Raised by these views: JSON even if the web pages register handlers of their own.
    for code in default_exceptions:
        blueprint.register_error_handler(code, error_payload)
    return blueprint


def field_errors(status: int, message: str, errors: dict) -> None:
    """Abort with errors by location and field, as flask-smorest reports bad arguments:
    `{"json": {"phone": ["..."]}}`."""
    abort(status, message=message, errors=errors)


def page_of(query, pagination, *, scalars: bool = True) -> list:
    """One page of a SELECT (flask-smorest's `page` and `page_size`); sets the total count
    for the `X-Pagination` header."""
    pagination.item_count = db.session.scalar(
        sa.select(sa.func.count()).select_from(query.order_by(None).subquery())
    )
    if pagination.first_item >= pagination.item_count:
        return []  # past the last page (also pages too far out for the database's integers)
    paged = query.limit(pagination.page_size).offset(pagination.first_item)
    result = db.session.execute(paged)
    return result.scalars().all() if scalars else result.all()
