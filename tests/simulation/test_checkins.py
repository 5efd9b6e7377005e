"""What a synthetic participant makes of the texts on their phone: which check-in a text opens or
continues, which question it asks, what their own words say, and how long it stays open, from
the study's texts and rules alone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from eas.protocols.sms_format import opening_text, render_item
from eas.protocols.validation import validate_protocol_file
from eas.responses.operations import IDLE_TIMEOUT
from eas.simulation.checkins import (
    CheckIn,
    Prompted,
    Texts,
    is_reask,
    is_reminder,
    question,
    read_as,
    study_day,
)
from eas.sms import texts
from tests.helpers import DEMO_PROTOCOL

NOW = datetime(2026, 3, 3, 14, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def definition():
    return validate_protocol_file(DEMO_PROTOCOL).definition


def _questionnaire(definition, questionnaire_id: str) -> dict:
    return next(q for q in definition["questionnaires"] if q["id"] == questionnaire_id)


def test_a_prompt_is_known_by_its_opening_text_and_a_link_by_its_title(definition):
    study = Texts(definition)
    momentary = _questionnaire(definition, "momentary")
    assert study.opening(opening_text(momentary)) == "momentary"
    assert study.opening(f"Reminder: {opening_text(momentary)}") is None
    assert is_reminder(f"Reminder: {opening_text(momentary)}")
    link = "http://simulator.invalid/p/Abc_12-x"
    assert study.link_questionnaire(f"Evening diary: {link}") == "evening"
    assert study.link_questionnaire(f"Reminder: Evening diary: {link}") == "evening"
    assert study.link_questionnaire(f"Something else: {link}") is None


def test_a_question_is_known_by_its_number(definition):
    momentary = _questionnaire(definition, "momentary")
    items = momentary["items"]
    assert question(opening_text(momentary)) == 0
    assert question(render_item(items[5], 6, len(items))) == 5
    assert question(f"{texts.MOVE_ON}\n{render_item(items[7], 8, len(items))}") == 7
    assert question(momentary["thanks"]) is None
    assert is_reask(texts.REASK.format(hint="Reply 0-10"))
    assert not is_reask(texts.CLOSED)


def test_own_words_read_by_the_study_rules(definition):
    momentary = _questionnaire(definition, "momentary")
    assert read_as(momentary, 0, {}, "ok") == {"ai_chat": True}  # taken for a yes
    assert read_as(momentary, 0, {}, "idk") is None  # asked again
    assert read_as(momentary, 0, {}, "skip") == {"ai_chat": None}
    # Several answers at once, each to the next item branching shows.
    assert read_as(momentary, 0, {}, "n 3") == {"ai_chat": False, "lonely": 3}
    assert read_as(momentary, 0, {}, "y 2 5") == {
        "ai_chat": True,
        "ai_intimate": "romantic",
        "ai_expressive": 5,
    }
    assert read_as(momentary, 5, {"ai_chat": False}, "hmm not sure") is None


def test_the_study_day_is_the_participants_local_day():
    start = date(2026, 3, 2)
    assert study_day(NOW, "Europe/London", start, "08:00", "23:00") == 2
    assert study_day(NOW, "Pacific/Auckland", start, "08:00", "23:00") == 3  # 03:30 on 4 March
    # Awake until one in the morning: the small hours belong to the day before.
    night = datetime(2026, 3, 4, 0, 30, tzinfo=UTC)
    assert study_day(night, "Europe/London", start, "10:00", "01:00") == 2
    assert study_day(night, "Europe/London", start, "08:00", "23:00") == 3


def test_a_check_in_stays_open_by_the_study_rule(definition):
    study = Texts(definition)
    expires = study.expires("momentary", NOW, report=False)
    assert expires == NOW + timedelta(minutes=45)
    assert study.expires("ai_event", NOW, report=True) == NOW + timedelta(minutes=30)
    check_in = CheckIn(Prompted("S001", "momentary", NOW), 2, expires)
    assert check_in.is_open(expires - timedelta(seconds=1))
    assert not check_in.is_open(expires)
    check_in.started, check_in.last_activity = True, expires - timedelta(minutes=1)
    assert check_in.is_open(expires + IDLE_TIMEOUT - timedelta(minutes=2))  # going on
    assert not check_in.is_open(expires + IDLE_TIMEOUT)
    check_in.done = True
    assert not check_in.is_open(expires - timedelta(minutes=10))
