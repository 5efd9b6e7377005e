"""Whole SMS conversations through the signed webhook, with prompts sent by the dispatcher."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from eas.core.crypto import get_cipher
from eas.delivery.models import Direction, Message
from eas.responses.models import MissingCode, Response, ResponseStatus
from eas.scheduling.models import PlannedPrompt
from tests.sms.helpers import Phone


def _response(db, prompt) -> Response:
    db.session.expire_all()
    return db.session.scalar(sa.select(Response).where(Response.prompt_id == prompt.id))


def _answers(db, prompt) -> dict[str, tuple]:
    response = _response(db, prompt)
    return {
        a.item_id: (a.value_numeric, a.value_text, a.missing_code, a.raw_value)
        for a in response.answers
    }


def test_the_momentary_questionnaire_answered_item_by_item(db, phone, provider, send_next):
    prompt = send_next()
    # The baseline's web link may go out in the same tick, in either order (two workers).
    (first,) = [b for b in provider.bodies_for(prompt.participant_id) if "Check-in" in b]
    assert first.startswith("Check-in time!")
    assert "1/10 Since the last check-in, did you chat with an AI" in first

    assert phone.text("Yes!")[0].startswith("2/10 Was any of that AI chat romantic or sexual?")
    assert phone.text("romantic")[0].startswith("3/10 How comfortable")
    assert phone.text("7")[0].startswith("4/10")
    assert phone.text(" 8 ")[0].startswith("5/10")
    assert phone.text("9/10")[0].startswith("6/10 Right now, how lonely")
    assert phone.text("three")[0].startswith("7/10")
    assert phone.text("6")[0].startswith("8/10")
    assert phone.text("5 😊")[0].startswith("9/10")
    assert phone.text("2")[0].startswith("10/10")
    assert phone.text("10") == ["Thanks, that's all for now."]

    response = _response(db, prompt)
    assert response.status is ResponseStatus.completed
    assert response.completed_at is not None
    answers = _answers(db, prompt)
    assert answers["ai_chat"][:3] == (1, "yes", None)
    assert answers["ai_intimate"][:2] == (None, "romantic")
    assert answers["ai_true_self"][0] == 9
    assert answers["lonely"] == (3, None, None, "three")
    assert answers["mood"][0] == 5
    assert [a.item_id for a in response.answers][:3] == ["ai_chat", "ai_intimate", "ai_expressive"]


def test_branching_skips_the_ai_items_and_codes_them_not_presented(db, phone, send_next):
    prompt = send_next()
    assert phone.text("n")[0].startswith("6/10 Right now, how lonely")
    answers = _answers(db, prompt)
    for item in ("ai_intimate", "ai_expressive", "ai_connected", "ai_true_self"):
        assert answers[item][2] is MissingCode.not_presented


def test_a_compact_reply_answers_several_items_at_once(db, phone, send_next):
    prompt = send_next()
    assert phone.text("no 3 5 6 2 4") == ["Thanks, that's all for now."]
    answers = _answers(db, prompt)
    assert answers["ai_chat"][1] == "no"
    assert [answers[i][0] for i in ("lonely", "people_connected", "mood", "distress")] == [
        3,
        5,
        6,
        2,
    ]
    assert answers["seek_contact"][0] == 4
    assert _response(db, prompt).status is ResponseStatus.completed


def test_a_compact_reply_stops_where_the_questionnaire_does(db, phone, send_next):
    send_next()
    phone.text("n")
    assert phone.text("3 5")[0].startswith("8/10")  # lonely, people_connected
    # One word too many for the items left: not a compact reply, so a re-ask.
    assert phone.text("1 2 3 4").pop().startswith("Sorry, I didn't get that.")


def test_an_invalid_reply_is_asked_again_once_then_kept_as_invalid(db, phone, send_next):
    prompt = send_next()
    phone.text("n")
    reask = phone.text("banana")
    assert reask == ["Sorry, I didn't get that. Reply 0-10"]
    moved_on = phone.text("lots")[0]
    assert moved_on.startswith("OK, let's move on.\n7/10")
    answers = _answers(db, prompt)
    assert answers["lonely"] == (None, None, MissingCode.invalid, "lots")


def test_skip_skips_one_item(db, phone, send_next):
    prompt = send_next()
    assert phone.text("SKIP")[0].startswith("6/10")
    assert _answers(db, prompt)["ai_chat"][2] is MissingCode.skipped


def test_a_reply_after_the_window_closed_is_kept_and_told_so(db, clock, phone, send_next):
    prompt = send_next()
    clock.set(prompt.expires_at + timedelta(minutes=1))
    assert phone.text("7") == ["Sorry, this check-in has closed. Watch for the next one!"]
    late = db.session.scalars(
        sa.select(Message).where(Message.direction == Direction.inbound)
    ).all()
    assert [m.body for m in late] == ["7"]
    assert late[0].prompt_id == prompt.id
    assert _response(db, prompt) is None


def test_a_started_check_in_stays_open_a_little_past_expiry(db, clock, phone, send_next):
    prompt = send_next()
    clock.set(prompt.expires_at - timedelta(minutes=1))
    phone.text("n")
    clock.set(prompt.expires_at + timedelta(minutes=5))
    assert phone.text("4")[0].startswith("7/10")
    clock.set(prompt.expires_at + timedelta(minutes=25))  # idle for 20 minutes
    assert phone.text("4") == ["Sorry, this check-in has closed. Watch for the next one!"]


def test_the_dispatcher_closes_a_lapsed_conversation_as_partial(
    db, clock, phone, send_next, dispatcher
):
    prompt = send_next()
    phone.text("y")
    clock.set(prompt.expires_at + timedelta(minutes=31))
    assert dispatcher.tick().closed == 1
    response = _response(db, prompt)
    assert response.status is ResponseStatus.partial
    codes = {a.item_id: a.missing_code for a in response.answers}
    assert codes["ai_intimate"] is MissingCode.timeout
    assert codes["seek_contact"] is MissingCode.not_presented
    assert len(codes) == 10


def test_a_newer_prompt_takes_over_the_conversation(db, clock, phone, send_next):
    first = send_next()
    phone.text("n")
    second = send_next()
    assert phone.text("y")[0].startswith("2/10")
    assert _response(db, first).status is ResponseStatus.partial
    assert _response(db, second).status is ResponseStatus.in_progress


def test_a_duplicate_webhook_is_handled_once(db, phone, send_next):
    prompt = send_next()
    first = phone.text("n", sid="SM" + "1" * 32)
    assert first[0].startswith("6/10")
    # Twilio retried because our answer was lost: the same reply again, nothing recorded twice.
    assert phone.text("n", sid="SM" + "1" * 32) == first
    assert len(_response(db, prompt).answers) == 5  # ai_chat and four not presented
    inbound = db.session.scalars(
        sa.select(Message).where(Message.direction == Direction.inbound)
    ).all()
    assert len(inbound) == 1


def test_with_nothing_open_a_text_gets_a_note_and_the_keyword_starts_a_report(
    db, clock, phone, participant
):
    clock.set(clock.now() + timedelta(days=1, hours=4))  # study day 1, 14:00 local
    note = phone.text("hello?")
    assert note == [
        "No check-in is open right now. Text AI to send a report. Text HELP for help, STOP to stop."
    ]
    started = phone.text("ai")[0]
    assert started.startswith("Thanks for checking in after your AI chat.")
    assert "1/5 What was the chat about?" in started
    assert phone.text("1, 3")[0].startswith("2/5")
    report = db.session.scalar(
        sa.select(PlannedPrompt).where(PlannedPrompt.schedule_id == "after_ai")
    )
    assert report.study_day == 1
    assert report.status_reason == "participant-initiated"
    answers = _answers(db, report)
    assert json.loads(answers["ev_topics"][1]) == ["everyday", "romantic"]


def test_event_reports_are_capped_per_day(db, clock, phone, participant):
    clock.set(clock.now() + timedelta(days=1, hours=4))
    for _ in range(6):
        assert phone.text("AI")[0].startswith("Thanks for checking in")
        phone.text("skip")
        clock.advance(timedelta(hours=1))
        phone.text("skip")  # later: the report closed; the note is fine
    assert phone.text("AI") == ["Thanks! You've reached today's limit of 6 reports."]


def test_help_names_the_study_and_its_contact(db, phone, participant):
    (help_text,) = phone.text("help")
    assert help_text.startswith("AI conversations, connection and loneliness in daily life.")
    assert "ai-connection-study@example.edu" in help_text


def test_high_distress_gets_the_protocols_crisis_reply_at_once(db, phone, send_next):
    send_next()
    phone.text("n 3 5 6")
    replies = phone.text("9")  # distress
    assert replies[0].startswith("Thank you for telling us. If you feel unsafe or in crisis, call")
    assert replies[1].startswith("10/10")
    assert len(phone.text("4")) == 1  # no repeat for the next answer


def test_crisis_words_in_any_reply_get_the_crisis_reply(db, phone, send_next):
    send_next()
    replies = phone.text("honestly I want to die")
    assert replies[0].startswith("We are here for you. If you are thinking about hurting yourself")
    assert replies[1].startswith("1/10 Since the last check-in")  # the question, plainly


def test_a_reply_while_the_dispatcher_has_not_yet_recorded_the_send(db, phone, send_next):
    from eas.scheduling.models import PromptStatus

    prompt = send_next()
    prompt.status = PromptStatus.sending  # the batch is still going out
    db.session.commit()
    assert phone.text("y")[0].startswith("2/10")
    assert _answers(db, prompt)["ai_chat"][1] == "yes"


def test_every_text_keeps_the_number_it_came_from_encrypted(db, client, phone, send_next):
    send_next()
    phone.text("yes")
    Phone(client, "+12025550199").text("who is this?")
    inbound = db.session.scalars(
        sa.select(Message).where(Message.direction == Direction.inbound).order_by(Message.id)
    ).all()
    cipher = get_cipher()
    assert [cipher.decrypt(m.phone_encrypted) for m in inbound] == [phone.number, "+12025550199"]
    assert [m.phone_hash for m in inbound] == [
        cipher.lookup_hash(n) for n in (phone.number, "+12025550199")
    ]
    assert inbound[0].participant_id is not None and inbound[1].participant_id is None


def test_a_text_that_cannot_be_handled_is_stored_and_what_handling_did_is_undone(
    db, phone, send_next, monkeypatch, caplog
):
    prompt = send_next()
    phone.text("Yes!")

    def broken(*args, **kwargs):  # after the answer is written: a bug halfway through
        raise RuntimeError("a bug in the safety rules")

    with monkeypatch.context() as patched:
        patched.setattr("eas.sms.conversation.raise_triggered", broken)
        assert phone.text("romantic") == []
    assert "could not be handled; it is stored" in caplog.text
    db.session.expire_all()
    received = db.session.scalars(
        sa.select(Message.body).where(Message.direction == Direction.inbound).order_by(Message.id)
    ).all()
    assert received == ["Yes!", "romantic"]  # kept, once
    assert "ai_intimate" not in _answers(db, prompt)  # the answer went with the rollback
    assert _response(db, prompt).current_item_id == "ai_intimate"
    # The conversation goes on where it was.
    assert phone.text("romantic")[0].startswith("3/10 How comfortable")
    assert _answers(db, prompt)["ai_intimate"][1] == "romantic"


def test_receive_refuses_a_session_holding_unsaved_changes(db, participant):
    from eas.sms.inbound import receive

    participant.timezone = "Europe/London"  # a caller's change that a failure would roll back
    try:
        with pytest.raises(RuntimeError, match="begins its transaction"):
            receive({"MessageSid": "SMx", "From": "+12025550101", "Body": "hi"}, datetime.now(UTC))
    finally:
        db.session.rollback()
