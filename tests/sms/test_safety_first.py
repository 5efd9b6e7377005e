"""A safety reply is the first text a participant gets, and no cheerful thanks follows it
(issue 25, blocker 4); what they need to go on (the pending question) still comes after it."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from eas.participants.models import Participant, ParticipantStatus
from eas.safety.models import SafetyAlert

CRISIS = "some days I just want to die honestly"
CRISIS_REPLY = "We are here for you. If you are thinking about hurting yourself, call or text 988"
DISTRESS_REPLY = "Thank you for telling us. If you feel unsafe or in crisis, call or text 988"
#: The thanks and notes that read as indifferent after a crisis.
CHEERFUL = (
    "thanks, that's all for now",
    "you've answered this check-in",
    "this check-in has closed",
    "no check-in is open",
    "sorry, i didn't get that",
)


def _alerts(db) -> list[tuple[str, str]]:
    db.session.expire_all()
    return [(a.rule, a.trigger) for a in db.session.scalars(sa.select(SafetyAlert))]


def _no_cheer(replies: list[str]) -> None:
    for reply in replies:
        assert not any(words in reply.lower() for words in CHEERFUL), reply


def test_a_crisis_text_right_after_a_completed_check_in(db, phone, send_next):
    send_next()
    assert phone.text("no 3 5 6 2 4") == ["Thanks, that's all for now."]
    replies = phone.text(CRISIS)
    assert replies[0].startswith(CRISIS_REPLY)
    assert len(replies) == 1  # not "You've answered this check-in, thank you!"
    assert not any("thank you" in reply.lower() for reply in replies)
    assert _alerts(db) == [("crisis_words", "keyword")]


def test_distress_9_on_the_last_answer_gets_the_crisis_reply_and_no_thanks(db, phone, send_next):
    send_next()
    assert phone.text("n 3 5 6")[0].startswith("9/10")
    replies = phone.text("9 4")  # distress 9, then the last item: the check-in is complete
    assert replies[0].startswith(DISTRESS_REPLY)
    assert "Thanks, that's all for now." not in replies
    assert len(replies) == 1
    assert _alerts(db) == [("high_distress", "rule")]


def test_distress_9_in_one_compact_reply_that_completes_the_check_in(db, phone, send_next):
    send_next()
    replies = phone.text("no 3 5 6 9 4")
    assert replies == [replies[0]] and replies[0].startswith(DISTRESS_REPLY)


def test_distress_9_before_the_last_item_the_crisis_reply_then_the_next_question(
    db, phone, send_next
):
    send_next()
    phone.text("n 3 5 6")
    replies = phone.text("9")
    assert replies[0].startswith(DISTRESS_REPLY)
    assert replies[1].startswith("10/10 How much do you want to see or talk to someone")
    assert len(replies) == 2


def test_a_crisis_text_in_the_middle_of_a_check_in_then_the_pending_question(db, phone, send_next):
    send_next()
    assert phone.text("n")[0].startswith("6/10 Right now, how lonely")
    replies = phone.text(CRISIS)
    assert replies[0].startswith(CRISIS_REPLY)
    # The question they are on, plainly, not "Sorry, I didn't get that."
    assert replies[1].startswith("6/10 Right now, how lonely do you feel?")
    assert replies[1].endswith("Reply 0-10")
    assert len(replies) == 2
    _no_cheer(replies)
    # The check-in goes on.
    assert phone.text("4")[0].startswith("7/10")


def test_a_second_unreadable_crisis_text_moves_on_without_the_ok(db, phone, send_next):
    send_next()
    phone.text("n")
    assert phone.text("banana") == ["Sorry, I didn't get that. Reply 0-10"]
    replies = phone.text(CRISIS)  # the second unreadable reply: kept as invalid
    assert replies[0].startswith(CRISIS_REPLY)
    assert replies[1].startswith("7/10 Right now, how connected")  # no "OK, let's move on."
    assert len(replies) == 2


def test_a_crisis_text_after_the_check_in_closed(db, clock, phone, send_next):
    prompt = send_next()
    clock.set(prompt.expires_at + timedelta(minutes=1))
    replies = phone.text(CRISIS)
    assert len(replies) == 1 and replies[0].startswith(CRISIS_REPLY)


def test_a_crisis_text_with_nothing_open(db, clock, phone, participant):
    clock.advance(timedelta(days=1, hours=5))
    replies = phone.text(CRISIS)
    assert len(replies) == 1 and replies[0].startswith(CRISIS_REPLY)


@pytest.mark.parametrize("status", [ParticipantStatus.withdrawn, ParticipantStatus.completed])
def test_a_crisis_text_after_the_study_the_crisis_reply_then_that_it_ended(
    db, phone, participant, status
):
    db.session.get(Participant, participant.id).status = status
    db.session.commit()
    replies = phone.text(CRISIS)
    assert replies[0].startswith(CRISIS_REPLY)
    assert replies[1].startswith("You are no longer receiving check-ins from this study.")
    assert len(replies) == 2


def test_a_retried_webhook_gets_the_same_replies_in_the_same_order(db, phone, send_next):
    send_next()
    phone.text("n")
    first = phone.text(CRISIS, sid="SM" + "2" * 32)
    assert first[0].startswith(CRISIS_REPLY)
    assert phone.text(CRISIS, sid="SM" + "2" * 32) == first
