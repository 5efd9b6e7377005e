"""A study's SMS life end to end through a stateful fake Twilio: the real transport and SDK out,
signed callbacks and replies in."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from eas.delivery.dispatcher import Dispatcher
from eas.delivery.models import Message, MessageStatus
from eas.participants.models import ParticipantStatus
from eas.responses.models import Response, ResponseStatus
from eas.scheduling.models import PlannedPrompt, PromptStatus
from tests.sms.fake_twilio import PUBLIC_BASE, FakeTwilio
from tests.sms.helpers import AUTH_TOKEN

ALICE, BOB = "+12025550111", "+15005550004"  # Bob's number answers 21610 (he texted STOP)


@pytest.fixture
def twilio(twilio_config, app):
    twilio_config["EAS_PUBLIC_BASE_URL"] = PUBLIC_BASE
    return FakeTwilio(AUTH_TOKEN)


@pytest.fixture
def people(db, study, enroll_csv):
    csv = (
        "label,phone,timezone,start_date\n"
        f"alice,{ALICE},America/New_York,2026-03-19\n"
        f"bob,{BOB},Europe/Berlin,2026-03-19\n"
    )
    return {p.label: p for p in enroll_csv(study, csv).created}


@pytest.fixture
def dispatcher(clock, twilio):
    dispatcher = Dispatcher(twilio.transport(clock), name="e2e", clock=clock, workers=2)
    yield dispatcher
    dispatcher.close()


def _first_beep(db, participant) -> PlannedPrompt:
    return db.session.scalar(
        sa.select(PlannedPrompt)
        .where(PlannedPrompt.participant_id == participant.id, PlannedPrompt.schedule_id == "beeps")
        .order_by(PlannedPrompt.due_at)
        .limit(1)
    )


def test_a_check_in_by_text_from_send_to_delivery_report_to_last_answer(
    db, clock, client, twilio, people, dispatcher
):
    alice = people["alice"]
    beep = _first_beep(db, alice)
    clock.set(beep.due_at - timedelta(seconds=1))
    dispatcher.tick()  # the baseline's web link, due earlier that morning
    twilio.outages[ALICE] = 1  # then Twilio has an outage for her check-in
    clock.set(beep.due_at + timedelta(seconds=1))
    assert dispatcher.tick().retried == 1
    clock.advance(timedelta(seconds=10))
    dispatcher.tick()
    db.session.expire_all()
    assert beep.status is PromptStatus.sent and beep.attempts == 2
    sent = [m for m in twilio.messages if m.to == ALICE and m.body.startswith("Check-in time!")]
    assert len(sent) == 1  # the retry sent it once
    key = f"prompt-{beep.id}-attempt-2"
    assert sent[0].form["StatusCallback"] == f"{PUBLIC_BASE}/sms/status?key={key}"
    assert sent[0].form["MessagingServiceSid"].startswith("MG")
    assert 0 < int(sent[0].form["ValidityPeriod"]) <= 45 * 60

    twilio.report(client, sent[0], "sent")
    twilio.report(client, sent[0], "delivered")
    db.session.expire_all()
    assert beep.delivered_at is not None

    for text in ["yes", "4", "8", "7", "6", "3", "5", "4", "2"]:
        twilio.text_from(client, ALICE, text)
    assert twilio.text_from(client, ALICE, "9") == ["Thanks, that's all for now."]
    response = db.session.scalar(sa.select(Response).where(Response.prompt_id == beep.id))
    assert response.status is ResponseStatus.completed
    assert {a.item_id: a.value_numeric for a in response.answers}["ai_intimate"] is None
    assert {a.item_id: a.value_text for a in response.answers}["ai_intimate"] == "both"
    assert twilio.inbox(ALICE)[-1] == "Thanks, that's all for now."


def test_a_number_that_replied_stop_at_twilio_is_opted_out_and_left_alone(
    db, clock, twilio, people, dispatcher
):
    bob = people["bob"]
    clock.set(_first_beep(db, bob).due_at + timedelta(seconds=1))
    dispatcher.tick()  # the baseline link and the first check-in are due
    db.session.expire_all()
    assert bob.status is ParticipantStatus.opted_out
    refused = db.session.scalars(
        sa.select(Message).where(Message.participant_id == bob.id, Message.error_code == 21610)
    ).all()
    assert refused and all(m.status is MessageStatus.failed for m in refused)
    failed = db.session.get(PlannedPrompt, refused[0].prompt_id)
    assert failed.status is PromptStatus.failed and "21610" in failed.status_reason
    clock.advance(timedelta(days=2))
    dispatcher.tick()
    assert twilio.inbox(BOB) == []
    statuses = db.session.scalars(
        sa.select(PlannedPrompt.status).where(PlannedPrompt.participant_id == bob.id)
    ).all()
    assert set(statuses) <= {PromptStatus.failed, PromptStatus.cancelled}


def test_stop_by_text_then_nothing_more(db, clock, client, twilio, people, dispatcher):
    alice = people["alice"]
    assert twilio.text_from(client, ALICE, "STOP") == []
    db.session.expire_all()
    assert alice.status is ParticipantStatus.opted_out
    clock.advance(timedelta(days=3))
    dispatcher.tick()
    assert twilio.inbox(ALICE) == []
