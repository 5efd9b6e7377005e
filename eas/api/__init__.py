"""The REST API, `/api/v1`: studies, protocol versions, participants, prompts, compliance and
exports, as thin views over the operations the command line uses. Each request authenticates
with a user's API token (`eas users token EMAIL --name NAME`); the OpenAPI document is served
at `/api/v1/openapi.json`. Views only read and call operations; the request end commits
(`eas.web.finish_request`), so a failed request leaves no trace."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api
from werkzeug.exceptions import HTTPException

from eas.api.auth import SECURITY_SCHEME
from eas.api.base import PREFIX, SECURITY, handle_http_error

_DESCRIPTION = """\
Run an eas study from a script. Authenticate every request with a personal API token:
`Authorization: Bearer <token>` (create one with `eas users token EMAIL --name NAME`). The
token acts with your role in each study: a study you are not on answers 404, and a viewer who
tries to change something gets 403.

Times are ISO 8601 in UTC with their offset; local times say so (`due_local`, with the
participant's offset). Lists are paged with `page` and `page_size`; the `X-Pagination` header
gives the total. Errors are JSON, `{"code", "status", "message", "errors"}`, with `errors`
naming each bad field. Phone numbers are accepted when enrolling and never returned.
"""


class _Api(Api):
    def _register_error_handlers(self):
        # flask-smorest would make every error of the app JSON; the web pages keep theirs.
        self._app.register_error_handler(HTTPException, handle_http_error)


def init_api(app: Flask) -> None:
    from eas.api import participants, prompts, studies, versions

    app.config.setdefault("API_TITLE", "eas")
    app.config.setdefault("API_VERSION", "1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", PREFIX)
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    api = _Api(
        app,
        spec_kwargs={"info": {"description": _DESCRIPTION}, "security": SECURITY},
    )
    api.spec.components.security_scheme(
        SECURITY_SCHEME,
        {"type": "http", "scheme": "bearer", "description": "A personal API token."},
    )
    for module in (studies, versions, participants, prompts):
        api.register_blueprint(module.blp)
