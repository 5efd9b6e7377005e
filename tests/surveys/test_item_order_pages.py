"""Item order randomised per prompt (issue 22), on the web: a prompt's pages show each shuffled
list in the prompt's order, the same on every load; the server records the items in that order
(which the export's `position` says); other prompts show other orders."""

from __future__ import annotations

import csv
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from eas.export.operations import export_study
from eas.responses import context
from eas.responses.models import Response
from eas.scheduling.models import PlannedPrompt
from tests.helpers import PHONE
from tests.surveys.helpers import Answerer

PROTOCOL = """
study: {id: order-web, title: Order on the web, timezone: America/New_York, duration_days: 14}
participant_defaults: {wake: "08:00", sleep: "23:00", channel: web}
questionnaires:
  - id: feel
    title: Feelings
    shuffle: [[happy, sad, anxious], [social, alone]]
    items:
      - {id: happy, type: scale, min: 0, max: 10, text: "How happy do you feel?"}
      - {id: sad, type: scale, min: 0, max: 10, text: "How sad do you feel?"}
      - {id: anxious, type: scale, min: 0, max: 10, text: "How anxious do you feel?"}
      - {id: company, type: yes_no, text: "Are you with someone?"}
      - {id: social, type: yes_no, text: "Enjoying it?", show_if: "company == yes"}
      - {id: alone, type: yes_no, text: "Rather be alone?", show_if: "company == yes"}
      - {id: note, type: text, text: "Anything else?"}
schedules:
  - {id: beeps, questionnaire: feel, type: fixed, times: ["09:00", "13:00", "17:00", "21:00"],
     expires_after_minutes: 60}
"""
CSV = f"label,phone,timezone,start_date\nP1,{PHONE},America/New_York,2026-03-19\n"
PAGE_1 = {"happy": "1", "sad": "2", "anxious": "3", "company": "yes"}
PAGE_2 = {"social": "yes", "alone": "no", "note": "fine"}


@pytest.fixture
def person(db, create_study, enroll_csv):
    return enroll_csv(create_study(PROTOCOL), CSV).created[0]


def _prompts(db, person) -> list[PlannedPrompt]:
    return db.session.scalars(
        sa.select(PlannedPrompt)
        .where(PlannedPrompt.participant_id == person.id)
        .order_by(PlannedPrompt.due_at)
    ).all()


def _names(html: str) -> list[str]:
    """The items a page asks, in order."""
    fields = re.findall(r'<(?:input|textarea)[^>]* name="([a-z_]+)"', html)
    return [name for name in dict.fromkeys(fields) if name not in ("csrf_token", "page_item")]


def _order(person, prompt) -> list[str]:
    definition = person.study.current_version.definition
    questionnaire = next(q for q in definition["questionnaires"] if q["id"] == "feel")
    return [item["id"] for item in context.in_prompt_order(questionnaire, prompt.id)["items"]]


def _link(provider, person) -> str:
    body = provider.bodies_for(person.id)[-1]
    assert body.startswith("Feelings: ")
    return re.search(r"https?://[^/]+(/p/\S+)", body).group(1)


def _open(db, clock, client, dispatcher, provider, person, prompt) -> Answerer:
    clock.set(prompt.due_at + timedelta(seconds=1))
    dispatcher.tick()
    return Answerer(client, _link(provider, person))


def test_the_pages_show_the_prompts_order_on_every_load_and_record_it(
    db, clock, client, dispatcher, provider, person, tmp_path
):
    prompt = _prompts(db, person)[0]
    ids = _order(person, prompt)
    answerer = _open(db, clock, client, dispatcher, provider, person, prompt)
    for _ in range(3):
        assert _names(answerer.page().get_data(as_text=True)) == ids[:4]
    assert answerer.submit(PAGE_1).status_code == 303
    for _ in range(2):
        assert _names(answerer.page().get_data(as_text=True)) == ids[4:]
    assert answerer.submit(PAGE_2).status_code == 303
    db.session.expire_all()
    response = db.session.scalar(sa.select(Response).where(Response.prompt_id == prompt.id))
    stored = sorted(response.answers, key=lambda answer: answer.position)
    assert [a.item_id for a in stored] == ids
    assert [a.position for a in stored] == list(range(1, 8))

    export_study(person.study, tmp_path / "out", now=clock.now())
    with (tmp_path / "out" / "responses.csv").open(newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if int(r["prompt_id"]) == prompt.id]
    assert [r["item"] for r in sorted(rows, key=lambda r: int(r["position"]))] == ids
    assert {r["item"]: r["value_raw"] for r in rows} == {**PAGE_1, **PAGE_2}


def test_other_prompts_show_other_orders(db, clock, client, dispatcher, provider, person):
    orders = set()
    for prompt in _prompts(db, person)[:8]:
        answerer = _open(db, clock, client, dispatcher, provider, person, prompt)
        shown = _names(answerer.page().get_data(as_text=True))
        assert shown == _order(person, prompt)[:4]
        orders.add(tuple(shown))
    assert len(orders) >= 2


def test_a_page_hiding_the_second_list_records_it_in_the_order_shown(
    db, clock, client, dispatcher, provider, person
):
    prompt = _prompts(db, person)[1]
    ids = _order(person, prompt)
    answerer = _open(db, clock, client, dispatcher, provider, person, prompt)
    answerer.submit({**PAGE_1, "company": "no"})
    assert _names(answerer.page().get_data(as_text=True)) == ["note"]
    answerer.submit({"note": ""})
    db.session.expire_all()
    response = db.session.scalar(sa.select(Response).where(Response.prompt_id == prompt.id))
    stored = sorted(response.answers, key=lambda answer: answer.position)
    assert [a.item_id for a in stored] == ids
    assert [a.missing_code.value for a in stored[4:6]] == ["not_presented"] * 2
