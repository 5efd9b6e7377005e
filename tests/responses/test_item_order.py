"""Item order randomised per prompt (issue 22): a questionnaire's `shuffle` lists are shown in
an order drawn from the prompt (`responses.context.in_prompt_order`, which `presented` applies),
the same every time that prompt is shown, different between prompts; answers are stored, and
exported, in the order shown."""

from __future__ import annotations

import csv
import itertools
import random
from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa

from eas.export.operations import export_study
from eas.protocols.validation import validate_protocol_text
from eas.responses import context
from eas.responses import operations as responses
from eas.responses import state as response_state
from eas.responses.lapsed import close_lapsed
from eas.responses.models import Response
from eas.responses.replies import parse_reply
from eas.scheduling.models import PlannedPrompt, PromptStatus
from eas.scheduling.planner import derive_seed
from tests.helpers import PHONE

PROTOCOL = """
study: {id: order-context, title: Order, timezone: America/New_York, duration_days: 14}
participant_defaults: {wake: "08:00", sleep: "23:00", channel: sms}
questionnaires:
  - id: feel
    shuffle: [[happy, sad, anxious], [social, alone]]
    items:
      - {id: happy, type: scale, min: 0, max: 10, text: "How happy do you feel?"}
      - {id: sad, type: scale, min: 0, max: 10, text: "How sad do you feel?"}
      - {id: anxious, type: scale, min: 0, max: 10, text: "How anxious do you feel?"}
      - {id: company, type: yes_no, text: "Are you with someone?"}
      - {id: social, type: yes_no, text: "Do you enjoy it?", show_if: "company == yes"}
      - {id: alone, type: yes_no, text: "Rather be alone?", show_if: "company == yes"}
      - {id: note, type: text, text: "Anything else?"}
  - id: plain
    items:
      - {id: x, type: yes_no, text: "X?"}
      - {id: y, type: yes_no, text: "Y?"}
schedules:
  - {id: beeps, questionnaire: feel, type: fixed, times: ["09:00", "13:00", "17:00", "21:00"]}
  - {id: others, questionnaire: plain, type: fixed, times: ["11:00"]}
"""
CSV = f"label,phone,timezone,start_date\nP1,{PHONE},America/New_York,2026-03-19\n"


def _feel(definition):
    return next(q for q in definition["questionnaires"] if q["id"] == "feel")


def _ids(questionnaire) -> list[str]:
    return [item["id"] for item in questionnaire["items"]]


@pytest.fixture
def questionnaire():
    return _feel(validate_protocol_text(PROTOCOL, "order.yaml").definition)


@pytest.fixture
def person(db, create_study, enroll_csv):
    return enroll_csv(create_study(PROTOCOL), CSV).created[0]


def _prompts(db, person, schedule="beeps") -> list[PlannedPrompt]:
    return db.session.scalars(
        sa.select(PlannedPrompt)
        .where(PlannedPrompt.participant_id == person.id, PlannedPrompt.schedule_id == schedule)
        .order_by(PlannedPrompt.due_at)
    ).all()


# the order ----------------------------------------------------------------------------------


def test_a_prompt_shows_the_same_order_every_time(questionnaire):
    first = context.in_prompt_order(questionnaire, 1234)
    assert _ids(context.in_prompt_order(questionnaire, 1234)) == _ids(first)
    # Ordering a copy again (for the same prompt or another) starts from the protocol's lists.
    assert _ids(context.in_prompt_order(first, 1234)) == _ids(first)
    other = context.in_prompt_order(questionnaire, 99)
    assert _ids(context.in_prompt_order(other, 1234)) == _ids(first)
    # The protocol's own is left as it is.
    assert _ids(questionnaire) == ["happy", "sad", "anxious", "company", "social", "alone", "note"]


def test_each_list_keeps_its_place_and_other_items_stay(questionnaire):
    for prompt_id in range(1, 50):
        ids = _ids(context.in_prompt_order(questionnaire, prompt_id))
        assert sorted(ids[:3]) == ["anxious", "happy", "sad"]
        assert ids[3] == "company" and ids[6] == "note"
        assert sorted(ids[4:6]) == ["alone", "social"]


def test_the_order_is_drawn_from_the_prompt_and_the_lists_number(questionnaire):
    for prompt_id in (1, 17, 40_000):
        expected = []
        for number, ids in enumerate(questionnaire["shuffle"]):
            drawn = list(ids)
            random.Random(derive_seed("item-order", prompt_id, number)).shuffle(drawn)
            expected.append(drawn)
        ids = _ids(context.in_prompt_order(questionnaire, prompt_id))
        assert [ids[:3], ids[4:6]] == expected


def test_prompts_show_different_orders_and_every_order_can_come(questionnaire):
    orders = [_ids(context.in_prompt_order(questionnaire, n)) for n in range(1, 21)]
    assert len({tuple(ids[:3]) for ids in orders}) >= 2
    assert len({tuple(ids[4:6]) for ids in orders}) == 2
    counts = Counter(
        tuple(_ids(context.in_prompt_order(questionnaire, n))[:3]) for n in range(1, 1201)
    )
    assert set(counts) == set(itertools.permutations(["happy", "sad", "anxious"]))
    assert min(counts.values()) > 120  # about 200 each


def test_a_questionnaire_without_shuffle_is_left_as_it_is(demo_protocol):
    questionnaire = demo_protocol.definition["questionnaires"][0]
    assert context.in_prompt_order(questionnaire, 5) is questionnaire


# as the prompt presents it --------------------------------------------------------------------


def test_presented_reorders_for_the_prompt_without_a_query(db, person, statements):
    definition = person.study.current_version.definition
    prompts = _prompts(db, person)
    assert len(prompts) >= 20
    statements.clear()
    orders = set()
    for prompt in prompts[:20]:
        shown = context.presented(
            _feel(definition), prompt_id=prompt.id, participant_id=person.id, definition=definition
        )
        assert _ids(shown) == _ids(context.in_prompt_order(_feel(definition), prompt.id))
        orders.add(tuple(_ids(shown)))
    assert statements == []
    assert len(orders) >= 2


def test_deciding_branching_on_the_protocols_order_is_refused(db, person, clock):
    definition = person.study.current_version.definition
    prompt = _prompts(db, person)[0]
    questionnaire = _feel(definition)
    shown = context.in_prompt_order(questionnaire, prompt.id)
    response = response_state.start(
        prompt.id, prompt.channel, shown["items"][0]["id"], clock.now(), encrypts_free_text=False
    )
    with pytest.raises(ValueError, match="in_prompt_order"):
        responses.advance(response, questionnaire, clock.now())
    # Nothing answered yet: the first item of the prompt's order is the one waiting.
    assert responses.advance(response, shown, clock.now())["id"] == shown["items"][0]["id"]


# stored and exported in the order shown --------------------------------------------------------


def _answer_all(db, clock, prompt, shown, values: dict) -> None:
    """Answer every item shown, in the order shown, as the channels do."""
    response = response_state.start(
        prompt.id, prompt.channel, shown["items"][0]["id"], clock.now(), encrypts_free_text=False
    )
    while response.current_item_id is not None:
        item = next(i for i in shown["items"] if i["id"] == response.current_item_id)
        raw = values[item["id"]]
        responses.record(response, item, parse_reply(item, raw), raw, clock.now())
        responses.advance(response, shown, clock.now())
    response_state.save(response)
    db.session.flush()


def test_answers_are_stored_and_exported_in_the_order_shown(db, clock, person, tmp_path):
    definition = person.study.current_version.definition
    values = {"happy": "1", "sad": "2", "anxious": "3", "company": "y", "social": "y"}
    values |= {"alone": "n", "note": "fine"}
    prompts = _prompts(db, person)[:3]
    expected = {}
    for prompt in prompts:
        clock.set(prompt.due_at + timedelta(minutes=1))
        prompt.status, prompt.sent_at = PromptStatus.sent, clock.now()
        shown = context.in_prompt_order(_feel(definition), prompt.id)
        _answer_all(db, clock, prompt, shown, values)
        expected[prompt.id] = _ids(shown)
        response = db.session.scalar(sa.select(Response).where(Response.prompt_id == prompt.id))
        stored = sorted(response.answers, key=lambda a: a.position)
        assert [a.item_id for a in stored] == _ids(shown)
        assert [a.position for a in stored] == list(range(1, 8))
    export_study(person.study, tmp_path / "out", now=clock.now())
    with (tmp_path / "out" / "responses.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for prompt_id, ids in expected.items():
        mine = [r for r in rows if int(r["prompt_id"]) == prompt_id]
        assert [r["item"] for r in sorted(mine, key=lambda r: int(r["position"]))] == ids
        by_item = {r["item"]: r for r in mine}
        assert [by_item[i]["value_numeric"] for i in ("happy", "sad", "anxious")] == ["1", "2", "3"]


def test_a_lapsed_response_codes_what_it_never_reached_in_the_order_shown(db, clock, person):
    definition = person.study.current_version.definition
    prompt = _prompts(db, person)[1]
    clock.set(prompt.due_at + timedelta(minutes=1))
    prompt.status, prompt.sent_at = PromptStatus.sent, clock.now()
    shown = context.in_prompt_order(_feel(definition), prompt.id)
    response = response_state.start(
        prompt.id, prompt.channel, shown["items"][0]["id"], clock.now(), encrypts_free_text=False
    )
    first = shown["items"][0]
    responses.record(response, first, parse_reply(first, "5"), "5", clock.now())
    responses.advance(response, shown, clock.now())
    response_state.save(response)
    db.session.flush()
    clock.set(prompt.expires_at + timedelta(hours=2))
    assert close_lapsed(clock.now()) == 1
    db.session.expire_all()
    response = db.session.scalar(sa.select(Response).where(Response.prompt_id == prompt.id))
    stored = sorted(response.answers, key=lambda a: a.position)
    assert [a.item_id for a in stored] == _ids(shown)
    assert stored[1].missing_code.value == "timeout"
