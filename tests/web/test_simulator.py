"""The phone simulator: replies go through the same inbound code as Twilio's webhook."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from eas.delivery.models import Direction, Message, SimulatedMessage
from eas.participants.models import ParticipantStatus
from eas.responses.models import Response, ResponseStatus


def test_a_participant_answers_a_check_in_from_the_simulated_phone(
    db, client, participant, send_next
):
    prompt = send_next()
    for reply in ["no", "3", "5", "6", "2", "4"]:
        response = client.post(f"/simulator/{participant.id}", data={"body": reply})
        assert response.status_code == 302
    page = client.get(f"/simulator/{participant.id}").get_data(as_text=True)
    assert "Thanks, that&#39;s all for now." in page
    assert "6/10 Right now, how lonely do you feel?" in page
    db.session.expire_all()
    answered = db.session.scalar(sa.select(Response).where(Response.prompt_id == prompt.id))
    assert answered.status is ResponseStatus.completed
    inbound = db.session.scalars(
        sa.select(Message.body).where(Message.direction == Direction.inbound).order_by(Message.id)
    ).all()
    assert inbound == ["no", "3", "5", "6", "2", "4"]
    on_phone = db.session.scalars(
        sa.select(SimulatedMessage.body).order_by(SimulatedMessage.id)
    ).all()
    assert on_phone[-1] == "Thanks, that's all for now."


def test_stop_from_the_simulator_opts_out(db, client, clock, participant):
    clock.advance(timedelta(days=1))
    client.post(f"/simulator/{participant.id}", data={"body": "STOP"})
    db.session.expire_all()
    assert participant.status is ParticipantStatus.opted_out
    listing = client.get("/simulator/").get_data(as_text=True)
    assert "P1" in listing and "opted_out" in listing
    assert "+1202" not in listing


def test_an_unknown_phone_is_a_404(db, client):
    assert client.get("/simulator/999999").status_code == 404
