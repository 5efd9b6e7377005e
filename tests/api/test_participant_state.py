"""The API says what the dashboard says about a pause (issue 25, blocker 5): `state` is
"paused" while a pause is in force, with `paused_until` (UTC) and `paused_until_local` (the
participant's zone) and the words of the page in `state_text`; `status` stays as stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

STUDY = "/studies/ai-connection"
UNTIL = datetime(2026, 3, 21, 18, 0, tzinfo=UTC)
PAUSED = "paused until Sat 21 Mar 2026 14:00 EDT"


def _state(answer: dict) -> tuple:
    return (
        answer["state"],
        answer["state_text"],
        answer["paused_until"],
        answer["paused_until_local"],
    )


def test_a_pause_with_an_end_date_is_in_every_answer_until_it_ends(db, clock, participant, api):
    base = f"{STUDY}/participants/P1"
    assert _state(api.get(base).get_json()) == ("active", "active", None, None)
    paused = api.post(f"{base}/pause", json={"until": "2026-03-21T14:00:00-04:00"})
    assert paused.status_code == 200, paused.get_json()
    expected = ("paused", PAUSED, "2026-03-21T18:00:00+00:00", "2026-03-21T14:00:00-04:00")
    answers = [
        paused.get_json()["participant"],
        api.get(base).get_json(),
        api.get(f"{STUDY}/participants").get_json()[0],
    ]
    for answer in answers:
        assert answer["status"] == "active"  # as stored: the pause ends by itself
        assert _state(answer) == expected

    clock.set(UNTIL + timedelta(seconds=1))
    db.session.expire_all()
    for path in (base, f"{STUDY}/participants"):
        answer = api.get(path).get_json()
        answer = answer[0] if isinstance(answer, list) else answer
        assert _state(answer) == ("active", "active", None, None)


def test_an_open_ended_pause_and_a_withdrawal(db, clock, participant, api):
    base = f"{STUDY}/participants/P1"
    paused = api.post(f"{base}/pause", json={}).get_json()["participant"]
    assert paused["status"] == "paused"
    assert _state(paused) == ("paused", "paused", None, None)
    withdrawn = api.post(f"{base}/withdraw", json={}).get_json()["participant"]
    assert _state(withdrawn) == ("withdrawn", "withdrawn", None, None)


def test_the_state_fields_are_documented(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    properties = spec["components"]["schemas"]["Participant"]["properties"]
    assert properties["state"]["enum"] == [
        "active",
        "paused",
        "withdrawn",
        "completed",
        "opted_out",
    ]
    assert properties["state"]["readOnly"] is True
    for name in ("paused_until", "paused_until_local"):
        assert properties[name]["format"] == "date-time" and properties[name]["nullable"]
    assert "paused until" in properties["state_text"]["description"]
    assert "stored status" in properties["status"]["description"].lower()
