"""The phone simulator: replies go through the same inbound code as Twilio's webhook. Only a
signed-in user on a participant's study sees their phone, only one who may change the study
(not a viewer) texts as them, and only with the session's form token."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from eas.delivery.models import Direction, Message, SimulatedMessage
from eas.participants.models import ParticipantStatus
from eas.responses.models import Response, ResponseStatus
from tests.helpers import sign_in
from tests.web.helpers import csrf, post, text


def _inbound(db) -> list[str]:
    db.session.expire_all()
    return db.session.scalars(
        sa.select(Message.body).where(Message.direction == Direction.inbound).order_by(Message.id)
    ).all()


@pytest.fixture
def other_participant(participant, create_study, enroll_csv):
    """P9, on a study of its own."""
    other = create_study(
        participant.study.current_version.source_text.replace(
            "  id: ai-connection\n", "  id: other-study\n"
        )
    )
    csv = "label,phone,timezone,start_date\nP9,+13125550199,America/Chicago,2026-03-19\n"
    return enroll_csv(other, csv).created[0]


@pytest.fixture
def coordinator(client, participant, make_user):
    make_user(study=participant.study)
    sign_in(client)


def test_a_participant_answers_a_check_in_from_the_simulated_phone(
    db, client, coordinator, participant, send_next
):
    prompt = send_next()
    for reply in ["no", "3", "5", "6", "2", "4"]:
        response = post(client, f"/simulator/{participant.id}", {"body": reply})
        assert response.status_code == 302
    page = client.get(f"/simulator/{participant.id}").get_data(as_text=True)
    assert "Thanks, that&#39;s all for now." in page
    assert "6/10 Right now, how lonely do you feel?" in page
    db.session.expire_all()
    answered = db.session.scalar(sa.select(Response).where(Response.prompt_id == prompt.id))
    assert answered.status is ResponseStatus.completed
    assert _inbound(db) == ["no", "3", "5", "6", "2", "4"]
    on_phone = db.session.scalars(
        sa.select(SimulatedMessage.body).order_by(SimulatedMessage.id)
    ).all()
    assert on_phone[-1] == "Thanks, that's all for now."


def test_stop_from_the_simulator_opts_out(db, client, clock, coordinator, participant):
    clock.advance(timedelta(days=1))
    post(client, f"/simulator/{participant.id}", {"body": "STOP"})
    db.session.expire_all()
    assert participant.status is ParticipantStatus.opted_out
    listing = client.get("/simulator/").get_data(as_text=True)
    assert "P1" in listing and "opted_out" in listing
    assert "+1202" not in listing


def test_an_unknown_phone_is_a_404(db, client, coordinator):
    assert client.get("/simulator/999999").status_code == 404
    assert client.get(f"/simulator/{2**64}").status_code == 404  # beyond any id, not a crash


def test_the_reply_form_carries_the_sessions_token(client, coordinator, participant):
    page = text(client.get(f"/simulator/{participant.id}"))
    form = page[page.index('id="reply"') :]
    assert f'name="csrf_token" value="{csrf(client)}"' in form[: form.index("</form>")]


@pytest.mark.parametrize("path", ["/simulator/", "/simulator/{id}"])
def test_anonymous_people_are_sent_to_sign_in(client, participant, path):
    response = client.get(path.format(id=participant.id))
    assert response.status_code == 302 and "/login?next=" in response.location


def test_anonymous_people_cannot_text_as_a_participant(db, client, participant):
    response = post(client, f"/simulator/{participant.id}", {"body": "STOP"})
    assert response.status_code == 302 and "/login?next=" in response.location
    assert _inbound(db) == []


def test_no_text_is_sent_without_the_form_token(db, client, coordinator, participant):
    path = f"/simulator/{participant.id}"
    assert client.post(path, data={"body": "STOP"}).status_code == 400
    assert client.post(path, data={"body": "STOP", "csrf_token": "forged"}).status_code == 400
    assert _inbound(db) == []


def test_a_phone_of_another_study_does_not_exist(
    db, client, coordinator, participant, other_participant
):
    listing = text(client.get("/simulator/"))
    assert f"/simulator/{participant.id}" in listing
    assert "P9" not in listing and f"/simulator/{other_participant.id}" not in listing
    path = f"/simulator/{other_participant.id}"
    assert client.get(path).status_code == 404
    assert post(client, path, {"body": "STOP"}).status_code == 404
    assert _inbound(db) == []


def test_a_viewer_reads_the_phone_but_cannot_text_as_the_participant(
    db, client, participant, make_user
):
    make_user(study=participant.study, role="viewer")
    sign_in(client)
    path = f"/simulator/{participant.id}"
    page = text(client.get(path))
    assert "P1's phone" in page and "Reply as P1" not in page
    assert post(client, path, {"body": "STOP"}).status_code == 404
    assert _inbound(db) == []
