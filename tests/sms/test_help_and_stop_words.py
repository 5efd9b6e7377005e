"""HELP during a check-in gives the help text and the question it waits for again; a reply
that asks to stop in other words ("stop please") is told how to stop, never "Reply Y or N"."""

from __future__ import annotations

from eas.participants.models import ParticipantStatus
from eas.sms import texts


def test_help_in_a_check_in_repeats_the_pending_question(db, phone, send_next):
    send_next()
    first = phone.text("help")
    assert len(first) == 2 and "Text STOP to stop" in first[0]
    assert first[1].startswith("1/")  # the question it waits for
    phone.text("yes")
    again = phone.text("HELP")
    assert again[1].startswith("2/")


def test_help_outside_a_check_in_is_the_help_text_alone(db, phone, participant):
    (reply,) = phone.text("help")
    assert "Text STOP to stop" in reply


def test_stop_in_other_words_is_answered_with_how_to_stop(db, phone, send_next, participant):
    send_next()
    (reply,) = phone.text("stop please")
    assert reply.startswith(texts.HOW_TO_STOP)
    assert "Sorry, I didn't get that" not in reply and "Reply Y or N" not in reply.split("\n")[0]
    assert reply.split("\n")[1].startswith("1/")  # the question still waits
    db.session.refresh(participant)
    assert participant.status is ParticipantStatus.active  # only STOP itself stops
    # It was no answer: a reply that cannot be read still gets its one re-ask.
    assert phone.text("maybe")[0].startswith("Sorry, I didn't get that")
