"""A pilot of a protocol whose items depend on the prompt's place in the day and pipe earlier
answers (issue 22): the synthetic participants answer what the server asks, so the export says
exactly what they gave, and the items shown only at the day's last beep are answered there."""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import date

import pytest

from tests.helpers import DEMO_PROTOCOL
from tests.simulation.helpers import assert_answers_exported_as_given, read_csv

START = date(2026, 3, 6)
ZONES = ["America/New_York", "Europe/London"]
#: The demo protocol, with branching on the place in the day and piping.
CHANGES = [
    ("      - id: seek_contact\n", '      - id: seek_contact\n        show_if: "last_beep"\n'),
    (
        "      - id: mood\n",
        "      - id: mood\n        show_if: \"beep >= 2 or local_time >= '21:00'\"\n",
    ),
    (
        'sms_text: "How much distress have you felt in the last hours? 0=none, 10=extreme"',
        'sms_text: "Mood {mood|not rated}. Distress in the last hours? 0=none, 10=extreme"',
    ),
    (
        '        text: "Anything else about today you would like to tell us? (optional)"',
        '        show_if: "study_day >= 2 and last_beep"\n'
        '        text: "You rated today {day_lonely|-}/10. Anything else? (optional)"',
    ),
    (
        '        text: "How much did you feel like your true self?"',
        '        text: "After a chat about {ev_topics|that}, how much did you feel like yourself?"',
    ),
]


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    from eas.simulation.run import run_simulation

    folder = tmp_path_factory.mktemp("context")
    text = DEMO_PROTOCOL.read_text(encoding="utf-8")
    for old, new in CHANGES:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = folder / "context.yaml"
    path.write_text(text, encoding="utf-8")
    logging.disable(logging.INFO)
    try:
        return run_simulation(
            path, folder / "pilot", participants=5, days=3, seed=5, start=START, zones=ZONES
        )
    finally:
        logging.disable(logging.NOTSET)


def test_every_answer_given_is_in_the_export_as_given(simulated):
    assert_answers_exported_as_given(simulated, at_least=100)


def test_items_of_the_last_beep_are_shown_there_only(simulated):
    prompts = read_csv(simulated.export, "prompts")
    last: dict[tuple, int] = defaultdict(int)
    for prompt in prompts:
        if prompt["questionnaire"] == "momentary" and prompt["beep"]:
            key = (prompt["participant"], prompt["study_day"])
            last[key] = max(last[key], int(prompt["beep"]))
    shown = hidden = 0
    for row in read_csv(simulated.export, "responses"):
        if row["item"] != "seek_contact":
            continue
        at_last = int(row["beep"]) == last[(row["participant"], row["study_day"])]
        if row["missing"] == "not_presented":
            hidden += 1
        elif row["missing"] != "timeout":
            shown += 1
            assert at_last, row["prompt_id"]
    assert shown and hidden


def test_what_the_place_shows_the_participants_answered_as_asked(simulated):
    # Each item shown by the place in the day was answered as the synthetic participant meant:
    # one who did not know their beep would give its answer to the next item instead.
    sent = {
        p["prompt_id"]: (p["participant"], p["questionnaire"], p["sent_utc"])
        for p in read_csv(simulated.export, "prompts")
    }
    for item in ("mood", "seek_contact", "day_note"):
        exported = {
            (*sent[row["prompt_id"]], item)
            for row in read_csv(simulated.export, "responses")
            if row["item"] == item and row["missing"] in ("", "skipped")
        }
        given = {
            (label, questionnaire, received.isoformat(timespec="seconds")[:19] + "Z", name)
            for label, questionnaire, received, name in simulated.truth.answers
            if name == item
        }
        assert exported and exported == given, item
