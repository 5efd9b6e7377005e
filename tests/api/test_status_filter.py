"""`GET .../participants?status=` filters by the state the pages show (`participant_state`),
not by the stored status: a pause with an end date leaves the status `active`, yet the
participant is paused while it is in force (issue 25)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from eas.participants.models import Pause
from eas.participants.state import STATES, participant_state

STUDY = "/studies/ai-connection"
UNTIL = datetime(2026, 3, 21, 18, 0, tzinfo=UTC)
CSV = (
    "label,phone,timezone\n"
    "P2,+13125550102,America/Chicago\n"
    "P3,+13125550103,America/Chicago\n"
    "P4,+13125550104,America/Chicago\n"
)


def _labels(api, status: str) -> list[str]:
    answer = api.get(f"{STUDY}/participants?status={status}")
    assert answer.status_code == 200, answer.get_json()
    return [p["label"] for p in answer.get_json()]


def test_a_timed_pause_is_paused_not_active_until_it_ends(db, clock, participant, api):
    paused = api.post(f"{STUDY}/participants/P1/pause", json={"until": UNTIL.isoformat()})
    assert paused.status_code == 200
    assert paused.get_json()["participant"]["status"] == "active"  # as stored
    assert _labels(api, "paused") == ["P1"]
    assert _labels(api, "active") == []

    clock.set(UNTIL)  # the pause has ended
    db.session.expire_all()
    assert _labels(api, "paused") == []
    assert _labels(api, "active") == ["P1"]


def test_every_state_lists_exactly_those_the_pages_show_in_it(
    db, clock, participant, enroll_csv, api
):
    study = participant.study
    p2, p3, _ = enroll_csv(study, CSV).created
    now = clock.now()
    api.post(f"{STUDY}/participants/P1/pause", json={})  # until resumed: stored `paused`
    # A pause planned for later leaves P2 active; P3's ended; P4 was withdrawn.
    p2.pauses.append(Pause(starts_at=now + timedelta(days=1), ends_at=None, created_at=now))
    p3.pauses.append(
        Pause(starts_at=now - timedelta(days=2), ends_at=now - timedelta(days=1), created_at=now)
    )
    db.session.flush()
    api.post(f"{STUDY}/participants/P4/withdraw", json={})
    db.session.expire_all()
    shown = {p.label: participant_state(p, now).state for p in study.participants}
    assert shown == {"P1": "paused", "P2": "active", "P3": "active", "P4": "withdrawn"}
    for state in STATES:
        assert _labels(api, state) == sorted(k for k, v in shown.items() if v == state), state


def test_an_unknown_status_is_refused(db, participant, api):
    answer = api.get(f"{STUDY}/participants?status=sleeping")
    assert answer.status_code == 422


@pytest.mark.parametrize("word", ["pause in force", "participant_state"])
def test_the_filter_is_documented(client, word):
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/studies/{slug}/participants"]["get"]
    status = next(p for p in operation["parameters"] if p["name"] == "status")
    text = (operation["description"] + " " + status["description"]).replace("`", "")
    assert word in text
