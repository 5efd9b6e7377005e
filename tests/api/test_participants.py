"""Participants: enrolled one by one or from CSV by the rules of `eas participants import`
(errors by field or line), paused, resumed, withdrawn, moved; every change audited with the
user as actor; phone numbers go in and never come out."""

from __future__ import annotations

import json

import sqlalchemy as sa

from eas.audit.models import AuditEvent
from eas.participants.models import Participant
from eas.scheduling.models import PlannedPrompt, PromptStatus
from tests.helpers import PHONE

STUDY = "/studies/ai-connection"
P2 = {"label": "P2", "phone": "+1 312 555 0102", "timezone": "America/Chicago"}


def _actions(db) -> list[tuple[str, str]]:
    return db.session.execute(
        sa.select(AuditEvent.action, AuditEvent.actor)
        .where(AuditEvent.actor == "owner@example.org")
        .order_by(AuditEvent.id)
    ).all()


def test_participants_are_listed_and_read_without_phone_numbers(participant, enroll_csv, api):
    enroll_csv(participant.study, "label,phone,timezone,group\nP0,+12025550100,Asia/Tokyo,g\n")
    listed = api.get(f"{STUDY}/participants?page_size=1")
    assert [p["label"] for p in listed.get_json()] == ["P0"]
    assert json.loads(listed.headers["X-Pagination"])["total"] == 2
    assert [p["label"] for p in api.get(f"{STUDY}/participants?page=2&page_size=1").get_json()] == [
        "P1"
    ]
    p1 = api.get(f"{STUDY}/participants/P1").get_json()
    assert p1["status"] == "active" and p1["timezone"] == "America/New_York"
    assert p1["wake"] == "09:00" and p1["sleep"] == "22:00" and p1["start_date"] == "2026-03-19"
    assert p1["group"] is None and p1["pauses"] == []
    assert p1["timezone_history"] == [
        {"timezone": "America/New_York", "effective_at": "2026-03-18T14:00:00+00:00"}
    ]
    assert api.get(f"{STUDY}/participants/P0").get_json()["group"] == "g"
    assert "phone" not in p1 and "phone_hash" not in p1
    assert api.get(f"{STUDY}/participants?status=withdrawn").get_json() == []
    assert api.get(f"{STUDY}/participants/P9").status_code == 404


def test_enrolling_one_participant(db, participant, api):
    enrolled = api.post(f"{STUDY}/participants", json={**P2, "wake": "8:00", "start": "today"})
    assert enrolled.status_code == 201, enrolled.get_json()
    body = enrolled.get_json()
    assert body["created"] is True and body["prompts_planned"] > 0
    assert body["participant"]["label"] == "P2" and body["participant"]["wake"] == "08:00"
    assert body["participant"]["start_date"] == "2026-03-18"  # today, in Chicago
    person = db.session.scalar(sa.select(Participant).where(Participant.label == "P2"))
    assert person.phone == "+13125550102"
    again = api.post(f"{STUDY}/participants", json={**P2, "wake": "08:00"})
    assert again.status_code == 200 and again.get_json()["created"] is False
    assert ("participants.imported", "owner@example.org") in _actions(db)


def test_a_bad_participant_is_refused_field_by_field(db, participant, api):
    refused = api.post(
        f"{STUDY}/participants",
        json={
            "label": "P2",
            "phone": "+1 555 0102",
            "timezone": "Mars/Olympus",
            "wake": "25:00",
            "channel": "fax",
        },
    )
    assert refused.status_code == 422
    errors = refused.get_json()["errors"]["json"]
    assert set(errors) == {"phone", "timezone", "wake", "channel"}
    # Written with its +: the hint about numbers without one would not apply.
    assert errors["phone"] == ["this number is not a valid phone number"]
    assert "'Mars/Olympus' is not an IANA time zone" in errors["timezone"][0]
    assert "555 0102" not in refused.get_data(as_text=True)

    taken = api.post(f"{STUDY}/participants", json={**P2, "phone": PHONE})
    assert taken.status_code == 422
    assert taken.get_json()["errors"]["json"]["phone"] == ["this number is already enrolled as P1"]
    moved = api.post(f"{STUDY}/participants", json={**P2, "label": "P1"})
    assert moved.status_code == 422
    assert "already enrolled" in moved.get_json()["errors"]["json"]["phone"][0]
    for body, field in (
        ({"phone": "x", "timezone": "UTC"}, "label"),
        ({**P2, "label": "a/b"}, "label"),
        ({**P2, "label": "P\n2"}, "label"),
        ({**P2, "phone": 12025550102}, "phone"),
        ({**P2, "start": "someday"}, "start"),
        ({**P2, "start_date": "9999-12-31"}, "start_date"),
        ({**P2, "mobile": "x"}, "mobile"),
    ):
        response = api.post(f"{STUDY}/participants", json=body)
        assert response.status_code == 422, body
        assert field in response.get_json()["errors"]["json"], body
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Participant)) == 1


def test_importing_a_csv_all_or_nothing(db, participant, api):
    bad = "label,phone,timezone\nP2,+13125550102,America/Chicago\nP3,+1 555,Nowhere\n"
    refused = api.post(f"{STUDY}/participants/import", json={"csv": bad})
    assert refused.status_code == 422
    errors = refused.get_json()["errors"]["json"]["csv"]
    assert {(e["line"], e["column"]) for e in errors} == {(3, "phone"), (3, "timezone")}
    assert "nobody was enrolled" in refused.get_json()["message"]
    assert "+1 555" not in refused.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Participant)) == 1

    good = "label,phone,timezone\nP1,+12025550101,America/New_York\nP2,+13125550102,UTC\n"
    imported = api.post(f"{STUDY}/participants/import", json={"csv": good, "start": "tomorrow"})
    assert imported.status_code == 200
    body = imported.get_json()
    assert body["created"] == ["P2"] and body["unchanged"] == ["P1"]
    header = api.post(f"{STUDY}/participants/import", json={"csv": "name,phone\n"})
    assert header.status_code == 422
    assert header.get_json()["errors"]["json"]["csv"][0]["line"] == 1


def test_pause_resume_move_and_withdraw(db, clock, participant, api):
    base = f"{STUDY}/participants/P1"
    paused = api.post(f"{base}/pause", json={"reason": "holiday"})
    assert paused.status_code == 200, paused.get_json()
    assert paused.get_json()["participant"]["status"] == "paused"
    assert paused.get_json()["cancelled"] > 0
    detail = api.get(base).get_json()
    assert detail["pauses"][0]["reason"] == "holiday" and detail["pauses"][0]["ends_at"] is None
    twice = api.post(f"{base}/pause", json={})
    assert twice.status_code == 409 and "already paused" in twice.get_json()["message"]
    for until in ("2020-01-01T00:00:00Z", "9999-12-31T23:00:00-14:00", "next week"):
        refused = api.post(f"{base}/pause", json={"until": until})
        assert refused.status_code == 422 and "until" in refused.get_json()["errors"]["json"]

    resumed = api.post(f"{base}/resume")
    assert resumed.status_code == 200 and resumed.get_json()["planned"] > 0
    assert api.post(f"{base}/resume").status_code == 409

    moved = api.post(f"{base}/timezone", json={"timezone": "Europe/Berlin"})
    assert moved.status_code == 200
    assert moved.get_json()["participant"]["timezone"] == "Europe/Berlin"
    assert api.post(f"{base}/timezone", json={"timezone": "Europe/Berlin"}).status_code == 409
    bad_zone = api.post(f"{base}/timezone", json={"timezone": "Berlin"})
    assert bad_zone.status_code == 422 and "timezone" in bad_zone.get_json()["errors"]["json"]

    withdrawn = api.post(f"{base}/withdraw", json={"reason": "asked to stop"})
    assert withdrawn.status_code == 200
    assert withdrawn.get_json()["participant"]["status"] == "withdrawn"
    future = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(PlannedPrompt)
        .where(
            PlannedPrompt.participant_id == participant.id,
            PlannedPrompt.status == PromptStatus.scheduled,
        )
    )
    assert future == 0
    assert api.post(f"{base}/pause", json={}).status_code == 409
    assert api.post(f"{STUDY}/participants/P9/withdraw", json={}).status_code == 404
    assert [action for action, _ in _actions(db)] == [
        "participant.paused",
        "participant.resumed",
        "participant.timezone_changed",
        "participant.withdrawn",
    ]


def test_no_phone_number_in_any_answer(db, clock, phone, participant, send_next, api):
    send_next()
    phone.text("n 3 5 6 2 4")
    api.post(f"{STUDY}/participants", json=P2)
    api.post(f"{STUDY}/participants", json={**P2, "label": "P3"})  # the number is taken
    api.post(f"{STUDY}/participants/import", json={"csv": f"label,phone,timezone\nP4,{PHONE},x\n"})
    for path in (
        "/studies",
        STUDY,
        f"{STUDY}/participants",
        f"{STUDY}/participants/P1",
        f"{STUDY}/participants/P1/prompts",
        f"{STUDY}/participants/P2/prompts",
        f"{STUDY}/prompts",
        f"{STUDY}/compliance",
        f"{STUDY}/versions/1",
    ):
        assert api.get(path).status_code == 200, path
    api.post(f"{STUDY}/participants/P1/pause", json={})
    api.post(f"{STUDY}/participants/P2/withdraw", json={})
    seen = "\n".join(api.bodies)
    assert len(api.bodies) == 14
    for number in (PHONE, PHONE[2:], "3125550102", "312 555 0102"):
        assert number not in seen


def test_blank_fields_and_unaddressable_labels_are_field_errors(participant, api):
    blank = api.post(f"{STUDY}/participants", json={"label": " ", "phone": "", "timezone": ""})
    assert blank.status_code == 422
    assert blank.get_json()["errors"]["json"] == {
        "label": ["is required"],
        "phone": ["is required"],
        "timezone": ["is required"],
    }
    dotted = api.post(f"{STUDY}/participants", json={**P2, "label": ".."})
    assert dotted.status_code == 422 and "label" in dotted.get_json()["errors"]["json"]
    blank_rows = api.post(
        f"{STUDY}/participants/import", json={"csv": "label,phone,timezone\n,,\n"}
    )
    assert blank_rows.status_code == 422


def test_every_field_error_comes_at_once(db, participant, api):
    refused = api.post(
        f"{STUDY}/participants",
        json={"label": "", "phone": "12", "timezone": "Mars/Olympus", "wake": "99:00"},
    )
    assert refused.status_code == 422
    errors = refused.get_json()["errors"]["json"]
    assert errors["label"] == ["is required"]
    assert set(errors) == {"label", "phone", "timezone", "wake"}


def test_a_body_that_is_not_json_gets_the_apis_own_error(db, participant, api):
    refused = api.post(
        f"{STUDY}/participants", data="{not json", headers={"Content-Type": "application/json"}
    )
    assert refused.status_code == 400
    body = refused.get_json()
    assert body["code"] == 400 and body["errors"] == {"json": ["Invalid JSON body."]}
