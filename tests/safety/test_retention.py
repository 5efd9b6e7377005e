"""Withdrawal with deletion leaves no trace of the answers; purging removes every number."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from eas.audit.models import AuditEvent
from eas.delivery.models import Message, SimulatedMessage
from eas.export.operations import export_study
from eas.participants.lifecycle import withdraw
from eas.participants.models import Participant, ParticipantStatus
from eas.protocols.validation import validate_protocol_text
from eas.responses.models import Answer, Response
from eas.scheduling.models import PlannedPrompt
from eas.studies.operations import publish_protocol
from tests.helpers import DEMO_PROTOCOL


def _count(db, model, **where) -> int:
    query = sa.select(sa.func.count()).select_from(model)
    for name, value in where.items():
        query = query.where(getattr(model, name) == value)
    return db.session.scalar(query)


def test_withdrawal_with_deletion_leaves_no_trace_of_the_answers(
    db, clock, phone, participant, send_next, tmp_path
):
    text = DEMO_PROTOCOL.read_text().replace(
        "  contact:", "  consent: {on_withdrawal: delete}\n  contact:", 1
    )
    publish_protocol(validate_protocol_text(text, "consent.yaml"), actor="test")
    send_next()
    phone.text("y 2 7 8 9 3 5 6 2 4")  # a whole check-in, compact
    phone.text("n")
    assert _count(db, Answer) > 0
    withdraw(participant, clock.now(), reason="asked", actor="coordinator")
    db.session.commit()
    for model in (Answer, Response, SimulatedMessage):
        assert _count(db, model) == 0, model
    assert _count(db, Message, participant_id=participant.id) == 0
    assert _count(db, PlannedPrompt, participant_id=participant.id) == 0
    db.session.expire_all()
    kept = db.session.get(Participant, participant.id)
    assert kept.status is ParticipantStatus.withdrawn and kept.phone_encrypted == b""
    audit = db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "participant.data_deleted")
    )
    assert audit.details["deleted"]["answers"] == 10 and audit.actor == "coordinator"
    export_study(kept.study, tmp_path / "out", now=clock.now(), wide=True)
    everything = "".join(p.read_text() for p in (tmp_path / "out").iterdir())
    assert "y 2 7 8 9" not in everything
    assert "P1,,withdrawn" in (tmp_path / "out" / "participants.csv").read_text()


def test_withdrawal_keeps_data_by_default(db, clock, phone, participant, send_next):
    send_next()
    phone.text("n 3 5 6 2 4")
    withdraw(participant, clock.now(), actor="coordinator")
    assert _count(db, Answer) > 0


def test_purging_identifiers_after_the_study(db, runner, clock, phone, participant):
    phone.text("help")
    db.session.commit()
    refused = runner.invoke(args=["study", "purge-identifiers", "ai-connection", "--yes"])
    assert refused.exit_code == 1 and "still to be sent" in refused.output
    clock.advance(timedelta(days=20))
    withdraw(participant, clock.now(), actor="test")  # nothing left to send
    db.session.commit()
    done = runner.invoke(args=["study", "purge-identifiers", "ai-connection", "--yes"])
    assert done.exit_code == 0, done.output
    db.session.expire_all()
    assert db.session.get(Participant, participant.id).phone_encrypted == b""
    assert set(db.session.scalars(sa.select(Message.phone_encrypted))) == {b""}
    assert phone.text("hello") == []  # the number is no one's any more
