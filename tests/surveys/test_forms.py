"""Reading a posted page: the server alone decides what is valid."""

from __future__ import annotations

import json

import pytest
from werkzeug.datastructures import MultiDict

from eas.responses.replies import Answered, Skipped
from eas.surveys.forms import Tampered, read_page
from eas.surveys.pages import pages_of

SLIDER = {"id": "closeness", "type": "slider", "min": 0, "max": 100, "text": "How close?"}
TOPICS = {
    "id": "topics",
    "type": "multi_choice",
    "text": "About?",
    "options": [{"value": "work", "label": "Work"}, {"value": 3, "label": "Three"}],
    "min_choices": 0,
    "max_choices": 1,
}
HOURS = {"id": "hours", "type": "number", "integer": False, "min": 0, "max": 24, "text": "Hours?"}
NAME = {"id": "name", "type": "text", "max_length": 5, "text": "Name?", "required": True}


def test_an_untouched_slider_is_missing_not_its_middle():
    result = read_page([SLIDER], MultiDict({"closeness": ""}))
    assert result.outcomes == [(SLIDER, Skipped(), None)]
    moved = read_page([SLIDER], MultiDict({"closeness": "50"}))
    assert moved.outcomes == [(SLIDER, Answered(50, None), "50")]


def test_a_slider_off_its_range_is_a_message():
    assert read_page([SLIDER], MultiDict({"closeness": "101"})).errors == {
        "closeness": "Please enter a whole number from 0 to 100."
    }


def test_multi_choice_values_and_limits():
    one = read_page([TOPICS], MultiDict([("topics", "3")]))
    assert one.outcomes[0][1] == Answered(None, json.dumps([3]))
    two = read_page([TOPICS], MultiDict([("topics", "3"), ("topics", "work")]))
    assert two.errors == {"topics": "Please choose at most 1."}
    with pytest.raises(Tampered, match="'7' is not one of its options"):
        read_page([TOPICS], MultiDict([("topics", "7")]))


def test_numbers_and_required_text():
    result = read_page([HOURS, NAME], MultiDict({"hours": "2,5", "name": ""}))
    assert result.errors == {"name": "Please answer this question."}
    assert result.outcomes == []  # nothing of a page with an error is stored
    ok = read_page([HOURS, NAME], MultiDict({"hours": "2.5", "name": "Sam"}))
    assert [o for _, o, _ in ok.outcomes] == [Answered(2.5, None), Answered(None, "Sam")]
    assert read_page([HOURS], MultiDict({"hours": "nan"})).errors == {
        "hours": "Please enter a number."
    }
    assert read_page([NAME], MultiDict({"name": "Samantha"})).errors == {
        "name": "Please keep this under 5 characters."
    }


def test_pages_break_where_branching_needs_an_answer(demo_protocol):
    evening = next(q for q in demo_protocol.definition["questionnaires"] if q["id"] == "evening")
    assert [[item["id"] for item in page] for page in pages_of(evening)] == [
        ["day_ai_minutes"],
        ["day_ai_replaced", "day_ai_expectations", "day_partner_compared", "day_in_person"],
        ["day_contact_quality", "day_lonely", "day_note"],
    ]
