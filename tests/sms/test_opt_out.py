"""STOP always works; START only as the protocol allows; HELP; numbers no study knows."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from eas.audit.models import AuditEvent
from eas.delivery.models import Direction, Message
from eas.participants.models import ParticipantStatus
from eas.protocols.validation import validate_protocol_text
from eas.scheduling.models import CancelReason, PlannedPrompt, PromptStatus
from eas.studies.operations import publish_protocol
from tests.helpers import DEMO_PROTOCOL
from tests.sms.helpers import Phone


@pytest.mark.parametrize(
    "word", ["STOP", "stop", "Stop.", " unsubscribe ", "CANCEL", "end", "QUIT"]
)
def test_stop_words_opt_out_at_once_and_nothing_more_is_sent(
    db, clock, phone, participant, provider, dispatcher, word
):
    assert phone.text(word) == []  # Twilio confirms the opt-out itself
    db.session.expire_all()
    assert participant.status is ParticipantStatus.opted_out
    future = db.session.scalars(
        sa.select(PlannedPrompt).where(PlannedPrompt.participant_id == participant.id)
    ).all()
    assert future and all(p.status is PromptStatus.cancelled for p in future)
    assert {p.status_reason for p in future} == {CancelReason.opted_out.value}
    clock.advance(timedelta(days=3))
    dispatcher.tick()
    assert provider.accepted == []
    audit = db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "participant.opted_out")
    )
    assert audit.participant_id == participant.id and audit.details["source"] == "sms STOP"


def test_stop_in_the_middle_of_a_conversation_is_not_taken_for_an_answer(
    db, phone, participant, send_next
):
    send_next()
    phone.text("y")
    assert phone.text("stop") == []
    db.session.expire_all()
    assert participant.status is ParticipantStatus.opted_out
    # Whatever they text afterwards is kept, and left unanswered.
    assert phone.text("7") == []
    kept = db.session.scalars(
        sa.select(Message.body).where(Message.direction == Direction.inbound).order_by(Message.id)
    ).all()
    assert kept == ["y", "stop", "7"]


def test_twilio_opt_out_type_is_honoured_for_custom_keywords(db, phone, participant):
    assert phone.text("arrete", OptOutType="STOP") == []
    db.session.expire_all()
    assert participant.status is ParticipantStatus.opted_out


def test_start_does_not_bring_someone_back_unless_the_protocol_allows(db, phone, participant):
    phone.text("STOP")
    (reply,) = phone.text("START")
    assert reply.startswith("You opted out of this study")
    db.session.expire_all()
    assert participant.status is ParticipantStatus.opted_out
    # "yes" after STOP is Twilio's opt-in word too, never an answer.
    assert phone.text("yes")[0].startswith("You opted out")


def test_start_resubscribes_where_the_protocol_allows(db, phone, participant):
    text = DEMO_PROTOCOL.read_text().replace(
        "sms: {max_segments: 2}", "sms: {max_segments: 2, resubscribe: true}"
    )
    assert "resubscribe: true" in text
    publish_protocol(validate_protocol_text(text, "resubscribe.yaml"), actor="test")
    phone.text("STOP")
    assert phone.text("start") == [
        "Welcome back: your check-ins start again. Text STOP at any time to stop."
    ]
    db.session.expire_all()
    assert participant.status is ParticipantStatus.active
    scheduled = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(PlannedPrompt)
        .where(
            PlannedPrompt.participant_id == participant.id,
            PlannedPrompt.status == PromptStatus.scheduled,
        )
    )
    assert scheduled > 0


def test_a_number_no_study_knows_is_stored_and_gets_an_empty_answer(db, client, twilio_config):
    stranger = Phone(client, "+447700900123")
    assert stranger.text("who is this?") == []
    message = db.session.scalar(sa.select(Message))
    assert message.body == "who is this?"
    assert message.participant_id is None
    assert "From" not in message.provider_payload and "To" not in message.provider_payload


def test_a_withdrawn_participant_is_told_politely(db, phone, participant):
    from eas.participants.lifecycle import withdraw

    withdraw(participant, participant.enrolled_at, actor="test")
    (reply,) = phone.text("7")
    assert reply.startswith("You are no longer receiving check-ins from this study.")


def test_stop_stops_the_number_in_every_study_it_is_enrolled_in(
    db, phone, participant, create_study, enroll_csv
):
    from eas.protocols.validation import validate_protocol_text

    other_text = DEMO_PROTOCOL.read_text().replace("id: ai-connection", "id: ai-connection-two")
    other = publish_protocol(validate_protocol_text(other_text, "two.yaml"), actor="test").study
    second = enroll_csv(other, "label,phone,timezone\nQ1,+12025550101,America/New_York\n")
    assert phone.text("STOP") == []
    db.session.expire_all()
    assert participant.status is ParticipantStatus.opted_out
    assert second.created[0].status is ParticipantStatus.opted_out
