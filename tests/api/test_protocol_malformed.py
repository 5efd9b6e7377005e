"""Protocols that used to crash the validator (issue 20, finding 5) are refused by the API
with 422 and every error located, not with a 500."""

from __future__ import annotations

import pytest

from tests.helpers import DEMO_PROTOCOL

STUDY = "/studies/ai-connection"
DEMO = DEMO_PROTOCOL.read_text()
REMINDERS = "    reminders: [{after_minutes: 15}]\n"
LINE = DEMO.splitlines().index(REMINDERS.rstrip("\n")) + 1
TOO_DEEP = "nested too deeply: more than 50 levels of lists or mappings"


@pytest.mark.parametrize(
    ("reminders", "errors"),
    [
        (
            "[{after: 5}]",
            [
                (LINE, 17, "schedules[0].reminders[0].after_minutes", "is required"),
                (LINE, 18, "schedules[0].reminders[0].after", "unknown field"),
            ],
        ),
        ("[5]", [(LINE, 17, "schedules[0].reminders[0]", "must be a mapping of fields")]),
        ("[" * 494 + "]" * 494, [(LINE, 64, "schedules", TOO_DEEP)]),
    ],
    ids=["misspelt", "number", "nested-494-deep"],
)
def test_a_malformed_protocol_is_refused_with_its_errors(study, api, reminders, errors):
    text = DEMO.replace(REMINDERS, f"    reminders: {reminders}\n")
    refused = api.post(f"{STUDY}/versions", json={"protocol": text, "source_name": "v2.yaml"})
    assert refused.status_code == 422
    body = refused.get_json()["errors"]["json"]["protocol"]
    assert [(e["line"], e["column"], e["field"], e["message"]) for e in body] == errors
    assert api.get(STUDY).get_json()["current_version"] == 1
