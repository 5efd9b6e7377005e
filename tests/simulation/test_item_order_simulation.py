"""A pilot of a protocol whose items are shown in an order drawn per prompt (issue 22): the
synthetic participants answer the items in the order their phone or page shows them, so the
export says exactly what they gave, and its `position` says the order shown."""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import date

import pytest

from eas.protocols.validation import validate_protocol_text
from eas.responses import context
from tests.helpers import DEMO_PROTOCOL
from tests.simulation.helpers import assert_answers_exported_as_given, read_csv

START = date(2026, 3, 6)
ZONES = ["America/New_York", "Europe/London"]
#: The demo protocol's lists to shuffle: the check-in's last five items (SMS), the report's
#: first three (texted: the first text asks any of them), the diary's three about AI (web),
#: and the baseline's three (web, its first page).
LISTS = {
    "momentary": ["lonely", "people_connected", "mood", "distress", "seek_contact"],
    "ai_event": ["ev_topics", "ev_expressive", "ev_true_self"],
    "evening": ["day_ai_replaced", "day_ai_expectations", "day_partner_compared"],
    "baseline": ["ucla_companionship", "ucla_left_out", "ucla_isolated"],
}
#: The line of each questionnaire that its `shuffle` goes after.
AFTER = {
    "momentary": "    compact_replies: true\n",
    "ai_event": '    thanks: "Got it, thank you."\n',
    "evening": '    thanks: "Thank you. Sleep well!"\n',
    "baseline": "    title: Before we start\n",
}


def _shuffled() -> str:
    """The demo protocol with `LISTS` shuffled."""
    text = DEMO_PROTOCOL.read_text(encoding="utf-8")
    for questionnaire, line in AFTER.items():
        assert text.count(line) == 1, line
        text = text.replace(line, f"{line}    shuffle: [[{', '.join(LISTS[questionnaire])}]]\n")
    return text


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    from eas.simulation.run import run_simulation

    folder = tmp_path_factory.mktemp("item-order")
    path = folder / "shuffled.yaml"
    path.write_text(_shuffled(), encoding="utf-8")
    logging.disable(logging.INFO)
    try:
        return run_simulation(
            path, folder / "pilot", participants=6, days=3, seed=7, start=START, zones=ZONES
        )
    finally:
        logging.disable(logging.NOTSET)


def test_every_answer_given_is_in_the_export_as_given(simulated):
    assert_answers_exported_as_given(simulated, at_least=100)


def test_the_shuffled_items_answered_are_those_exported_as_answered(simulated):
    # Each item of a shuffled list that a participant answered (or skipped) is exported as
    # answered (or skipped), and no other: none was lost or answered twice over.
    sent = {
        p["prompt_id"]: (p["participant"], p["questionnaire"], p["sent_utc"])
        for p in read_csv(simulated.export, "prompts")
    }
    for questionnaire, items in LISTS.items():
        exported = {
            (*sent[row["prompt_id"]], row["item"])
            for row in read_csv(simulated.export, "responses")
            if row["item"] in items and row["missing"] in ("", "skipped")
        }
        given = {
            (label, q, received.isoformat(timespec="seconds")[:19] + "Z", item)
            for label, q, received, item in simulated.truth.answers
            if item in items
        }
        assert exported and exported == given, questionnaire


def test_the_export_says_the_order_shown_and_it_varies(simulated):
    orders: dict[str, set[tuple[str, ...]]] = defaultdict(set)
    by_prompt: dict[str, list[dict]] = defaultdict(list)
    for row in read_csv(simulated.export, "responses"):
        by_prompt[row["prompt_id"]].append(row)
    questionnaires = {
        q["id"]: q
        for q in validate_protocol_text(_shuffled(), "shuffled.yaml").definition["questionnaires"]
    }
    for prompt_id, rows in by_prompt.items():
        rows.sort(key=lambda r: int(r["position"]))
        assert [int(r["position"]) for r in rows] == list(range(1, len(rows) + 1))
        questionnaire = rows[0]["questionnaire"]
        if questionnaire in LISTS:
            listed = [r["item"] for r in rows if r["item"] in LISTS[questionnaire]]
            # The order the server drew for the prompt (the simulation keeps prompt ids).
            shown = context.in_prompt_order(questionnaires[questionnaire], int(prompt_id))
            assert listed == [i["id"] for i in shown["items"] if i["id"] in listed]
            assert sorted(listed) == sorted(LISTS[questionnaire])
            orders[questionnaire].add(tuple(listed))
    for questionnaire in ("momentary", "evening", "baseline"):
        assert len(orders[questionnaire]) >= 2, questionnaire
