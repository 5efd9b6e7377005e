"""Prompts with their states, in UTC and in the participant's own zone, by date, paged."""

from __future__ import annotations

import json
from datetime import timedelta

import sqlalchemy as sa

from eas.scheduling.models import PlannedPrompt

STUDY = "/studies/ai-connection"


def test_a_participants_prompts_and_their_states(clock, phone, participant, send_next, api):
    sent = send_next()
    phone.text("n 3 5 6 2 4")
    prompts = api.get(f"{STUDY}/participants/P1/prompts?page_size=500").get_json()
    assert [p["due_at"] for p in prompts] == sorted(p["due_at"] for p in prompts)
    (answered,) = [p for p in prompts if p["id"] == sent.id]
    assert answered["state"] == "completed" and answered["status"] == "sent"
    assert answered["response"]["status"] == "completed"
    assert answered["due_at"].endswith("+00:00")
    assert answered["timezone"] == "America/New_York"
    assert answered["due_local"].endswith("-04:00")  # New York, daylight saving time
    assert answered["due_local"][:10] == answered["local_date"] == "2026-03-19"
    assert answered["participant"] == "P1" and answered["schedule"] == "beeps"
    later = [p for p in prompts if p["due_at"] > answered["due_at"]]
    assert later and all(p["state"] == "not_sent" and p["response"] is None for p in later)
    assert not any(p["status"] == "cancelled" for p in prompts)

    clock.advance(timedelta(days=1))
    day_one = api.get(f"{STUDY}/participants/P1/prompts?date=2026-03-19&page_size=500")
    states = {p["state"] for p in day_one.get_json()}
    assert {"completed"} <= states <= {"completed", "not_sent", "open", "missed", "expired"}
    assert all(p["local_date"] == "2026-03-19" for p in day_one.get_json())


def test_study_prompts_by_date_status_and_page(participant, enroll_csv, api):
    enroll_csv(
        participant.study, "label,phone,timezone,start_date\nP2,+13125550102,UTC,2026-03-19\n"
    )
    first = api.get(f"{STUDY}/prompts?date=2026-03-19&page_size=3")
    assert first.status_code == 200 and len(first.get_json()) == 3
    paging = json.loads(first.headers["X-Pagination"])
    assert paging["page"] == 1 and paging["next_page"] == 2 and paging["total"] > 3
    everything = api.get(f"{STUDY}/prompts?date=2026-03-19&page_size=500").get_json()
    assert len(everything) == paging["total"]
    assert {p["participant"] for p in everything} == {"P1", "P2"}
    assert api.get(f"{STUDY}/prompts?status=cancelled").get_json() == []
    assert api.get(f"{STUDY}/prompts?status=sent").get_json() == []
    for bad in ("date=tomorrow", "status=lost", "page=0", "page_size=501"):
        response = api.get(f"{STUDY}/prompts?{bad}")
        assert response.status_code == 422, bad
        assert bad.split("=")[0] in response.get_json()["errors"]["query"]
    assert api.get(f"{STUDY}/participants/P9/prompts").status_code == 404


def test_a_prompt_that_closed_before_it_could_be_sent_reads_as_in_the_export(
    db, clock, participant, dispatcher, api
):
    first = db.session.scalar(
        sa.select(PlannedPrompt)
        .where(PlannedPrompt.participant_id == participant.id)
        .order_by(PlannedPrompt.due_at)
        .limit(1)
    )
    clock.set(first.expires_at + timedelta(minutes=1))  # no dispatcher ran meanwhile
    dispatcher.tick()
    prompts = api.get(f"{STUDY}/participants/P1/prompts?page_size=500").get_json()
    (row,) = [p for p in prompts if p["id"] == first.id]
    assert row["status"] == "expired" and row["state"] == "expired"  # the export's word
    later = [p for p in prompts if p["due_at"] > clock.now().isoformat()]
    assert later and {p["state"] for p in later} == {"not_sent"}
