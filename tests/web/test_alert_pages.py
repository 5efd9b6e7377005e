"""Alerts a team can work with on the web: acknowledged with a note saying what was done, kept
in a history with who, when and what set them off; open alerts on Today, the studies list and
the participant page; the truth about telling the team when no mail is configured."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from eas.safety.models import AlertStatus, SafetyAlert
from tests.helpers import sign_in

STUDY = "/studies/ai-connection"


def _csrf(client, path: str) -> str:
    return re.search(
        r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)
    ).group(1)


@pytest.fixture
def crisis(db, clock, phone, participant):
    clock.advance(timedelta(days=1, hours=5))
    phone.text("I want to die")
    return db.session.scalar(sa.select(SafetyAlert))


def test_acknowledging_on_the_web_takes_a_note_and_keeps_the_alert_in_a_history(
    db, client, clock, crisis, participant, make_user
):
    make_user(study=participant.study)
    sign_in(client)
    page = client.get(STUDY).get_data(as_text=True)
    assert 'name="note" required' in page and "Acknowledge alert 1" in page
    assert "I want to die" in page  # what set it off, for a coordinator

    no_note = client.post(f"{STUDY}/alerts/1/ack", data={"csrf_token": _csrf(client, STUDY)})
    assert no_note.status_code == 303
    db.session.expire_all()
    assert db.session.get(SafetyAlert, crisis.id).status is AlertStatus.open
    assert "Alert 1 is still open: say what was done" in client.get(STUDY).get_data(as_text=True)

    done = client.post(
        f"{STUDY}/alerts/1/ack",
        data={"csrf_token": _csrf(client, STUDY), "note": "called participant, safe"},
    )
    assert done.status_code == 303
    db.session.expire_all()
    alert = db.session.get(SafetyAlert, crisis.id)
    assert alert.acknowledged_note == "called participant, safe"
    page = client.get(STUDY).get_data(as_text=True)
    history = page[page.index('id="alert-history"') :]
    history = history[: history.index("</section>")]
    assert "coord@example.org" in history and "called participant, safe" in history
    assert clock.now().strftime("%Y-%m-%d %H:%M") in history
    assert "I want to die" in history and "crisis_words" in history


def test_a_viewer_sees_the_history_as_they_see_answers_but_cannot_acknowledge(
    db, client, crisis, participant, make_user
):
    make_user("lee@example.org", study=participant.study)
    from eas.safety.operations import acknowledge
    from eas.users.models import User

    lee = db.session.scalar(sa.select(User).where(User.email == "lee@example.org"))
    acknowledge(participant.study_id, 1, by=lee, note="called, safe", now=crisis.raised_at)
    db.session.commit()
    make_user(study=participant.study, role="viewer")
    sign_in(client)
    page = client.get(STUDY).get_data(as_text=True)
    assert "called, safe" in page and "lee@example.org" in page
    # Viewers see answers and texts on the participant page: the words that set it off too.
    assert "I want to die" in page
    assert 'name="note"' not in page and "/ack" not in page


def test_open_alerts_are_on_today_the_studies_list_and_the_participant_page(
    db, client, crisis, participant, make_user
):
    make_user(study=participant.study)
    sign_in(client)
    index = client.get("/").get_data(as_text=True)
    assert "1 open safety alert<" in index and f"{STUDY}#open-alerts" in index
    today = client.get(f"{STUDY}/today").get_data(as_text=True)
    assert "Open safety alerts (1)" in today and "Alert 1:" in today
    person = client.get(f"{STUDY}/participants/P1").get_data(as_text=True)
    assert "Alert 1: crisis_words" in person and "I want to die" in person


def test_without_mail_the_pages_say_nobody_was_told(db, client, crisis, participant, make_user):
    make_user(study=participant.study)
    sign_in(client)
    page = client.get(STUDY).get_data(as_text=True)
    assert "no e-mail configured: nobody was told; check this page" in page
    assert "not yet" not in page
