"""Issue 25, rough edges of the phone simulator: it says when it shows only the latest texts,
its links can be followed (and are escaped), and after STOP the phone says what that means."""

from __future__ import annotations

from datetime import timedelta

import pytest

from eas.core.db import db as _db
from eas.delivery.models import SimulatedMessage
from tests.helpers import DEMO_PROTOCOL, sign_in
from tests.web.helpers import post, text


@pytest.fixture
def coordinator(client, participant, make_user):
    make_user(study=participant.study)
    sign_in(client)


def _land(participant, clock, bodies: list[str]) -> None:
    """Texts landing on the participant's phone, a minute apart."""
    for number, body in enumerate(bodies):
        _db.session.add(
            SimulatedMessage(
                idempotency_key=f"test-{number}",
                provider_sid=f"SMtest{number}",
                participant_id=participant.id,
                body=body,
                received_at=clock.now() + timedelta(minutes=number),
            )
        )
    _db.session.commit()


def _phone(client, participant) -> str:
    return text(client.get(f"/simulator/{participant.id}"))


def test_a_long_thread_says_it_shows_the_latest_texts(db, client, clock, coordinator, participant):
    _land(participant, clock, [f"text {n}" for n in range(61)])
    page = _phone(client, participant)
    assert "Showing the latest 60 texts" in page
    assert "older ones are on" in page and "/studies/ai-connection/participants/P1#thread-h" in page
    assert "<p>text 60</p>" in page and "<p>text 0</p>" not in page


def test_a_short_thread_says_nothing_of_older_texts(db, client, clock, coordinator, participant):
    _land(participant, clock, [f"text {n}" for n in range(60)])
    page = _phone(client, participant)
    assert "<p>text 0</p>" in page and "Showing the latest" not in page


def test_links_in_texts_can_be_followed_and_are_escaped(
    db, client, clock, coordinator, participant
):
    _land(
        participant,
        clock,
        [
            "Evening diary: https://eas.example/p/Abc_123?a=1&b=2.",
            "<script>alert(1)</script> javascript:alert(2) http://x.example/\"onmouseover='y'",
        ],
    )
    page = _phone(client, participant)
    link = (
        '<a href="https://eas.example/p/Abc_123?a=1&amp;b=2" target="_blank" '
        'rel="noopener noreferrer">https://eas.example/p/Abc_123?a=1&amp;b=2</a>.'
    )
    assert f"<p>Evening diary: {link}</p>" in page
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'href="javascript' not in page
    # A quote ends a link: what follows it stays text, escaped.
    assert (
        '<a href="http://x.example/" target="_blank" rel="noopener noreferrer">http://x.example/</a>&#34;onmouseover=&#39;y&#39;'
        in page
    )


def test_after_stop_the_phone_says_the_participant_opted_out(
    db, client, clock, coordinator, participant
):
    clock.advance(timedelta(days=1))
    assert 'id="phone-state"' not in _phone(client, participant)
    post(client, f"/simulator/{participant.id}", {"body": "STOP"})
    page = _phone(client, participant)
    assert "You opted out: eas will not text this number again." in page
    # The demo protocol does not take START (sms.resubscribe is off).
    assert "texting START only gets a reply saying so" in page
    assert "Text START to resubscribe" not in page


@pytest.fixture
def resubscribing(create_study, enroll_csv, make_user, client):
    text_ = DEMO_PROTOCOL.read_text(encoding="utf-8").replace(
        "sms: {max_segments: 2}", "sms: {max_segments: 2, resubscribe: true}"
    )
    study = create_study(text_)
    csv = "label,phone,timezone,start_date\nP1,+12025550101,America/New_York,2026-03-19\n"
    person = enroll_csv(study, csv).created[0]
    make_user(study=study)
    sign_in(client)
    return person


def test_after_stop_a_study_that_resubscribes_says_start(db, client, clock, resubscribing):
    clock.advance(timedelta(days=1))
    post(client, f"/simulator/{resubscribing.id}", {"body": "STOP"})
    page = _phone(client, resubscribing)
    assert "You opted out" in page and "Text START to resubscribe." in page
    post(client, f"/simulator/{resubscribing.id}", {"body": "START"})
    page = _phone(client, resubscribing)
    assert "You opted out" not in page and "Welcome back" in page
