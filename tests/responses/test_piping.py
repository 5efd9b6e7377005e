"""Piping earlier answers into item texts (`responses.context`): the participant's latest answer
in another prompt, as it shows (labels, Yes/No, numbers), in one query; this prompt's own
answers first; and questionnaires that pipe nothing are left as they are."""

from __future__ import annotations

from datetime import timedelta

import pytest

from eas.responses import context
from eas.scheduling.models import PlannedPrompt
from tests.responses.helpers import CSV, protocol, send_due


@pytest.fixture(params=[False, True], ids=["plain", "sealed"])
def person(request, db, create_study, enroll_csv):
    study = create_study(protocol("sms", privacy=request.param))
    return enroll_csv(study, CSV).created[0]


def _report(clock, phone, topic: str) -> None:
    clock.set(clock.now() + timedelta(minutes=5))
    phone.text("AI")
    clock.set(clock.now() + timedelta(minutes=1))
    phone.text(topic)
    phone.text("y")


def _definition(person):
    return person.study.current_version.definition


def _questionnaire(person, name="checkin"):
    return next(q for q in _definition(person)["questionnaires"] if q["id"] == name)


def test_the_latest_answer_in_another_prompt_shows(
    db, clock, phone, dispatcher, person, statements
):
    clock.set(clock.now() + timedelta(days=1))  # 2026-03-19 10:00 in New York: study day 1
    _report(clock, phone, "first chat")
    _report(clock, phone, "second chat\nover two lines")
    _report(clock, phone, "skip")  # skipped: not an answer to show
    morning = send_due(db, clock, dispatcher, person, day=1, beep=2)
    definition = _definition(person)
    statements.clear()
    earlier = context.earlier_answers(
        person.id, morning.id, ["ai_topic", "topic", "mood", "nothing"], definition
    )
    assert earlier == {"ai_topic": "second chat over two lines"}
    assert len(statements) == 1

    phone.text("7")
    phone.text("2")  # Love life
    evening = send_due(db, clock, dispatcher, person, day=2, beep=1)
    earlier = context.earlier_answers(
        person.id, evening.id, ["ai_topic", "topic", "mood"], _definition(person)
    )
    assert earlier == {"ai_topic": "second chat over two lines", "topic": "Love life", "mood": "7"}
    # Not the prompt's own answers: those come from the prompt itself.
    assert context.earlier_answers(person.id, morning.id, ["topic"], _definition(person)) == {}


def test_this_prompts_answer_comes_first_then_an_earlier_one_then_the_fallback(
    db, clock, phone, dispatcher, person
):
    clock.set(clock.now() + timedelta(days=1))
    _report(clock, phone, "a chat")
    prompt = send_due(db, clock, dispatcher, person, day=1, beep=2)
    questionnaire = context.presented(
        _questionnaire(person),
        prompt_id=prompt.id,
        participant_id=person.id,
        definition=_definition(person),
    )
    shown = context.lookup(questionnaire, {"topic": "work", "ai_topic": "ignored"})
    # `topic` answered here; `ai_topic` is not an item of the check-in: the report's answer.
    assert (shown("topic"), shown("ai_topic"), shown("mood")) == ("Work stuff", "a chat", None)
    text = "{topic}, {ai_topic}, {mood|no mood yet}"
    assert context.shown_text(questionnaire, text, {"topic": "love"}) == (
        "Love life, a chat, no mood yet"
    )
    # Its place in the day is there for branching, beside the answers.
    values = context.branching_values(questionnaire, {"mood": 3})
    assert values["mood"] == 3 and values["last_beep"] is True and values["beep"] == 2


def test_a_questionnaire_that_depends_on_nothing_is_the_protocols_own(db, person, statements):
    report = _questionnaire(person, "report")
    plain = {**report, "items": [{"id": "x", "type": "yes_no", "text": "X"}], "intro": "Hi"}
    statements.clear()
    kept = context.presented(plain, prompt_id=1, participant_id=person.id, definition={})
    assert kept is plain and statements == []
    assert context.branching_values(plain, {"x": True}) == {"x": True}


def test_branching_on_the_place_needs_the_questionnaire_as_the_prompt_presents_it(person):
    from eas.responses import operations
    from eas.responses.state import ResponseState

    state = ResponseState(1, None, None, None, "mood", False, False)
    with pytest.raises(ValueError, match="branches on the prompt's place in the day"):
        operations.advance(state, _questionnaire(person), None)


def test_presenting_takes_a_query_for_the_place_and_one_for_earlier_answers(
    db, clock, dispatcher, person, statements
):
    prompt = send_due(db, clock, dispatcher, person, day=1, beep=1)
    questionnaire, definition = _questionnaire(person), _definition(person)
    statements.clear()
    context.presented(
        questionnaire, prompt_id=prompt.id, participant_id=person.id, definition=definition
    )
    assert len(statements) == 2
    assert db.session.get(PlannedPrompt, prompt.id) is not None
