"""Item order randomised per prompt (issue 22), by SMS: the first text asks the first item of the
prompt's order (a shuffled list may hold the first item), each reply brings the next item in
that order, compact replies answer the items in the order shown, and answers are stored and
exported in it."""

from __future__ import annotations

import csv
from datetime import timedelta

import pytest
import sqlalchemy as sa

from eas.delivery.compose import prompt_text
from eas.export.operations import export_study
from eas.protocols.sms_format import answer_hint, opening_text
from eas.responses import context
from eas.responses.models import Response
from eas.scheduling.models import PlannedPrompt
from tests.helpers import PHONE

PROTOCOL = """
study: {id: order-sms, title: Order by SMS, timezone: America/New_York, duration_days: 14}
participant_defaults: {wake: "08:00", sleep: "23:00", channel: sms}
questionnaires:
  - id: feel
    intro: "Quick check-in."
    thanks: "Thanks!"
    compact_replies: true
    shuffle: [[happy, sad, anxious], [social, alone]]
    items:
      - {id: happy, type: scale, min: 0, max: 10, text: "How happy do you feel?"}
      - {id: sad, type: scale, min: 0, max: 10, text: "How sad do you feel?"}
      - {id: anxious, type: scale, min: 0, max: 10, text: "How anxious do you feel?"}
      - {id: company, type: yes_no, text: "Are you with someone?"}
      - {id: social, type: scale, min: 1, max: 5, text: "Enjoying it?", show_if: "company == yes"}
      - {id: alone, type: yes_no, text: "Rather be alone?", show_if: "company == yes"}
      - {id: note, type: text, text: "Anything else?"}
  - id: report
    shuffle: [[kind, long, fun]]
    items:
      - {id: kind, type: yes_no, text: "Was the chat kind?"}
      - {id: long, type: yes_no, text: "Was it long?"}
      - {id: fun, type: yes_no, text: "Was it fun?"}
schedules:
  - {id: beeps, questionnaire: feel, type: fixed, times: ["09:00", "13:00", "17:00", "21:00"],
     expires_after_minutes: 60, reminders: [{after_minutes: 15}]}
  - {id: after, questionnaire: report, type: event, keyword: AI}
"""
CSV = f"label,phone,timezone,start_date\nP1,{PHONE},America/New_York,2026-03-19\n"
#: What the participant answers to each item (social is 1-5).
ANSWERS = {"happy": "1", "sad": "2", "anxious": "3", "company": "y", "social": "4", "alone": "n"}


@pytest.fixture
def person(db, create_study, enroll_csv):
    return enroll_csv(create_study(PROTOCOL), CSV).created[0]


def _questionnaire(person, name="feel"):
    definition = person.study.current_version.definition
    return next(q for q in definition["questionnaires"] if q["id"] == name)


def _prompts(db, person, schedule="beeps") -> list[PlannedPrompt]:
    return db.session.scalars(
        sa.select(PlannedPrompt)
        .where(PlannedPrompt.participant_id == person.id, PlannedPrompt.schedule_id == schedule)
        .order_by(PlannedPrompt.due_at)
    ).all()


def _send(db, clock, dispatcher, prompt) -> PlannedPrompt:
    clock.set(prompt.due_at + timedelta(seconds=1))
    dispatcher.tick()
    db.session.expire_all()
    return db.session.get(PlannedPrompt, prompt.id)


def _asked(shown, position: int) -> str:
    """The text asking the item at `position` (from 0) of the order shown."""
    items = shown["items"]
    item = items[position]
    return f"{position + 1}/{len(items)} {item['text']} {answer_hint(item)}"


def _stored(db, prompt) -> list:
    db.session.expire_all()
    response = db.session.scalar(sa.select(Response).where(Response.prompt_id == prompt.id))
    return sorted(response.answers, key=lambda answer: answer.position)


def test_each_prompts_first_text_asks_the_first_item_of_its_order(db, person):
    questionnaire = _questionnaire(person)
    prompts = _prompts(db, person)
    assert len(prompts) >= 20
    firsts = set()
    for prompt in prompts:
        shown = context.in_prompt_order(questionnaire, prompt.id)
        text = prompt_text(prompt, None)
        assert text == opening_text(shown) == f"Quick check-in.\n{_asked(shown, 0)}"
        assert prompt_text(prompt, None) == text  # the same every time
        firsts.add(shown["items"][0]["id"])
    assert firsts == {"happy", "sad", "anxious"}


def test_the_conversation_asks_in_the_prompts_order_and_stores_it(
    db, clock, dispatcher, provider, phone, person, tmp_path
):
    prompts = _prompts(db, person)
    done = []
    for prompt in prompts[:3]:
        prompt = _send(db, clock, dispatcher, prompt)
        shown = context.in_prompt_order(_questionnaire(person), prompt.id)
        ids = [item["id"] for item in shown["items"]]
        assert provider.bodies_for(person.id)[-1] == f"Quick check-in.\n{_asked(shown, 0)}"
        for position, item_id in enumerate(ids[:-1]):
            if position == 2:  # HELP repeats the question waiting, as it was asked
                assert phone.text("HELP")[-1] == _asked(shown, position)
            assert phone.text(ANSWERS[item_id]) == [_asked(shown, position + 1)]
        assert ids[-1] == "note"
        assert phone.text("fine") == ["Thanks!"]
        stored = _stored(db, prompt)
        assert [a.item_id for a in stored] == ids
        assert [a.position for a in stored] == list(range(1, 8))
        done.append((prompt.id, ids))

    export_study(person.study, tmp_path / "out", now=clock.now())
    with (tmp_path / "out" / "responses.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for prompt_id, ids in done:
        mine = sorted(
            (r for r in rows if int(r["prompt_id"]) == prompt_id), key=lambda r: int(r["position"])
        )
        assert [r["item"] for r in mine] == ids
        assert [r["position"] for r in mine] == [str(n) for n in range(1, 8)]
        assert {r["item"]: r["value_raw"] for r in mine if r["item"] in ANSWERS} == ANSWERS


def test_a_compact_reply_answers_the_items_in_the_order_shown(
    db, clock, dispatcher, provider, phone, person
):
    prompt = _send(db, clock, dispatcher, _prompts(db, person)[1])
    shown = context.in_prompt_order(_questionnaire(person), prompt.id)
    ids = [item["id"] for item in shown["items"]]
    # The first three words answer the three feelings in the order shown, the fourth company,
    # the last two social (1-5) and alone (yes or no) in the order shown.
    words = ["7", "8", "9", "y", *("5" if item_id == "social" else "n" for item_id in ids[4:6])]
    assert phone.text(" ".join(words)) == [_asked(shown, 6)]
    stored = _stored(db, prompt)
    assert [a.item_id for a in stored] == ids[:6]
    assert [a.raw_value for a in stored] == words
    by_item = {a.item_id: a.value_numeric for a in stored}
    assert [by_item[item_id] for item_id in ids[:3]] == [7, 8, 9]


def test_a_reminder_repeats_the_first_text_of_the_prompts_order(
    db, clock, dispatcher, provider, person
):
    prompt = _send(db, clock, dispatcher, _prompts(db, person)[2])
    first = provider.bodies_for(person.id)[-1]
    shown = context.in_prompt_order(_questionnaire(person), prompt.id)
    assert first == f"Quick check-in.\n{_asked(shown, 0)}"
    clock.set(clock.now() + timedelta(minutes=16))
    dispatcher.tick()
    assert provider.bodies_for(person.id)[-1] == f"Reminder: {first}"


def test_a_report_texted_opens_with_the_first_item_of_its_order(db, clock, phone, person):
    clock.set(_prompts(db, person)[0].due_at - timedelta(minutes=30))  # 08:30 on day 1
    for _ in range(3):
        first = phone.text("AI")
        report = _prompts(db, person, "after")[-1]
        shown = context.in_prompt_order(_questionnaire(person, "report"), report.id)
        assert first == [_asked(shown, 0)]
        assert phone.text("y") == [_asked(shown, 1)]
        assert phone.text("n") == [_asked(shown, 2)]
        assert phone.text("y") == ["Thank you!"]
        assert [a.item_id for a in _stored(db, report)] == [i["id"] for i in shown["items"]]
        clock.set(clock.now() + timedelta(minutes=10))
