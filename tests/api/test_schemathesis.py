"""Schemathesis against the served OpenAPI document: requests generated from the schema, valid
and invalid, sent with an owner's token to a seeded study, never meet a server error, and
every answer is one the document describes.

Each operation gets a few dozen generated requests; the demo study and its participant P1
stand in for the path's study and participant, so the requests get past the 404. They run
inside the test's rolled-back transaction, so nothing is left for other tests.

(Schemathesis's own pytest integration, `schemathesis.pytest.from_fixture`, does not work with
pytest 9.2: this drives its Hypothesis strategies directly.)
"""

from __future__ import annotations

import schemathesis
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from eas.api.tokens import issue_token


class _ClosingClient(FlaskClient):
    """Closes each response once read, as a server does (Schemathesis leaves them open, and
    the export's temporary file with them)."""

    def open(self, *args, **kwargs):
        response = super().open(*args, **kwargs)
        response.get_data()
        response.close()
        return response


#: No server error, above all; and every answer as documented (status, content type, schema).
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
_SETTINGS = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,  # the same requests on every run: CI does not flicker
    database=None,
    suppress_health_check=list(HealthCheck),
)


def test_no_generated_request_meets_a_server_error(app, db, clock, participant, make_user):
    owner = make_user("owner@example.org", study=participant.study, role="owner")
    _, token = issue_token(owner, "schemathesis", clock.now(), actor="test")
    db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    client = _ClosingClient(app, app.response_class)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15

    for operation in operations:
        seeded = {
            name: value
            for name, value in (("slug", "ai-connection"), ("label", "P1"))
            if f"{{{name}}}" in operation.path
        }
        cases = st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE, path_parameters=seeded),
            operation.as_strategy(GenerationMode.NEGATIVE),
        )

        @_SETTINGS
        @given(case=cases)
        def no_server_error(case):
            case.call_and_validate(session=client, headers=headers, checks=CHECKS)

        try:
            no_server_error()
        except Exception as failure:
            failure.add_note(f"operation: {operation.label}")
            raise
