"""Enrolment warns, per participant, when a schedule's own `window` puts their prompts outside
their waking hours (issue 25: a diary at 21:15 for someone who sleeps at 20:00); they are
enrolled all the same. CSV import (CLI and API) and the one-participant API say it."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from eas.api.tokens import issue_token
from eas.scheduling.models import PlannedPrompt, PromptStatus
from eas.scheduling.operations import subject_for
from eas.scheduling.preview import awake_at
from tests.api.helpers import ApiClient

PROTOCOL = {
    "study": {
        "id": "windows",
        "title": "Windows",
        "timezone": "America/New_York",
        "duration_days": 3,
    },
    "participant_defaults": {"wake": "07:00", "sleep": "22:00"},
    "questionnaires": [
        {"id": "q", "items": [{"id": "mood", "type": "scale", "min": 0, "max": 10, "text": "M"}]}
    ],
    "schedules": [
        {"id": "beeps", "questionnaire": "q", "type": "random", "per_day": 2},
        {
            "id": "diary",
            "questionnaire": "q",
            "type": "random",
            "per_day": 1,
            "window": {"start": "21:00", "end": "21:30"},
            "channel": "web",
        },
    ],
}
CSV = (
    "label,phone,timezone,sleep\n"
    "early,+12025550111,America/New_York,20:00\n"
    "late,+12025550112,America/New_York,\n"
)
STUDY = "/studies/windows"


@pytest.fixture
def windows(create_study):
    return create_study(json.dumps(PROTOCOL))


def test_a_csv_import_warns_for_whoever_sleeps_before_the_window(db, windows, enroll_csv):
    result = enroll_csv(windows, CSV)
    assert [p.label for p in result.created] == ["early", "late"]  # enrolled all the same
    (warning,) = result.warnings
    assert warning.label == "early" and warning.warning.schedule_id == "diary"
    assert (warning.warning.window, warning.warning.waking_hours) == ("21:00-21:30", "07:00-20:00")
    assert warning.message.startswith("early: schedule 'diary' prompts in its own window")
    assert "3 prompts fall outside" in warning.message and "study day 1" in warning.message
    # Exactly the prompts stored to be sent outside the waking hours.
    early = result.created[0]
    stored = db.session.scalars(
        sa.select(PlannedPrompt.due_at).where(
            PlannedPrompt.participant_id == early.id,
            PlannedPrompt.status == PromptStatus.scheduled,
        )
    ).all()
    outside = [due for due in stored if not awake_at(subject_for(early), due)]
    assert len(outside) == warning.warning.prompts == 3
    # Enrolling the same rows again plans nothing, and warns of nothing.
    assert enroll_csv(windows, CSV).warnings == []


def test_the_api_says_it_for_one_participant_and_for_a_csv(db, clock, client, windows, make_user):
    user = make_user(study=windows, role="coordinator")
    _, token = issue_token(user, "test", clock.now(), actor="test")
    api = ApiClient(client, token)
    one = api.post(
        f"{STUDY}/participants",
        json={
            "label": "solo",
            "phone": "+12025550113",
            "timezone": "America/Chicago",
            "sleep": "20:00",
        },
    )
    assert one.status_code == 201, one.get_json()
    (warning,) = one.get_json()["warnings"]
    assert warning["participant"] == "solo" and warning["schedule"] == "diary"
    assert warning["window"] == "21:00-21:30" and warning["waking_hours"] == "07:00-20:00"
    assert warning["prompts"] == 3 and warning["first_local"].endswith("CDT")
    assert warning["message"].startswith("solo: schedule 'diary'")

    many = api.post(f"{STUDY}/participants/import", json={"csv": CSV})
    assert many.status_code == 200, many.get_json()
    assert many.get_json()["created"] == ["early", "late"]
    assert [w["participant"] for w in many.get_json()["warnings"]] == ["early"]
    fine = api.post(
        f"{STUDY}/participants",
        json={"label": "owl", "phone": "+12025550114", "timezone": "America/Chicago"},
    )
    assert fine.status_code == 201 and fine.get_json()["warnings"] == []


def test_the_warnings_are_documented(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    for name in ("Enrolled", "Imported"):
        assert "waking hours" in schemas[name]["properties"]["warnings"]["description"]
    assert "waking_hours" in schemas["EnrolmentWarning"]["properties"]


def test_the_import_command_warns_and_enrols(db, runner, windows, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text(CSV)
    result = runner.invoke(args=["participants", "import", "windows", str(path)])
    assert result.exit_code == 0, result.output
    assert "windows: enrolled 2 participant(s)" in result.stdout
    assert "warning: early: schedule 'diary' prompts in its own window 21:00-21:30" in (
        result.stderr
    )
    assert "late:" not in result.stderr
