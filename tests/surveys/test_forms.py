"""Reading a posted page: the server alone decides what is valid."""

from __future__ import annotations

import json

import pytest
from werkzeug.datastructures import MultiDict

from eas.responses.replies import Answered, Skipped, parse_reply
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
AMOUNT = {"id": "amount", "type": "number", "text": "How much?"}


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
        "hours": "Please enter a number from 0 to 24."
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


@pytest.mark.parametrize(
    "value",
    ["1e300", "1E5", "inf", "-inf", "Infinity", "nan", "1_000", "0x10", "1000000000000", "1 2"],
)
def test_a_number_sms_refuses_is_refused_on_the_page_too(value):
    assert read_page([AMOUNT], MultiDict({"amount": value})).errors == {
        "amount": "Please enter a number."
    }
    assert not isinstance(parse_reply(AMOUNT, value), Answered)


@pytest.mark.parametrize(
    ("value", "number"),
    [("999999999999", 999999999999.0), ("-3", -3.0), ("1,000", 1000.0), ("2,5", 2.5), (".5", 0.5)],
)
def test_a_number_reads_the_same_on_the_page_and_by_sms(value, number):
    assert read_page([AMOUNT], MultiDict({"amount": value})).outcomes == [
        (AMOUNT, Answered(number, None), value)
    ]
    assert parse_reply(AMOUNT, value) == Answered(number, None)


def test_a_refused_number_is_shown_again_with_its_message():
    result = read_page([HOURS, AMOUNT], MultiDict({"hours": "1e300", "amount": "inf"}))
    assert result.errors == {
        "hours": "Please enter a number from 0 to 24.",
        "amount": "Please enter a number.",
    }
    assert result.entered == {"hours": "1e300", "amount": "inf"}
    assert result.outcomes == []


def test_a_scale_point_sms_refuses_is_tampering():
    scale = {"id": "mood", "type": "scale", "min": 1, "max": 7, "text": "Mood?", "anchors": []}
    for value in ("1e300", "inf", "8", "4.5"):
        with pytest.raises(Tampered, match="is not a point of the scale"):
            read_page([scale], MultiDict({"mood": value}))


def test_options_give_the_answers_they_give_by_sms():
    choice = {**TOPICS, "id": "topic", "type": "choice"}
    assert read_page([choice], MultiDict({"topic": "3"})).outcomes[0][1] == parse_reply(choice, "2")
    both = read_page(
        [{**TOPICS, "max_choices": 2}], MultiDict([("topics", "3"), ("topics", "work")])
    )
    assert both.outcomes[0][1] == parse_reply({**TOPICS, "max_choices": 2}, "1 2")


#: A slider typed into as a 0-10 scale: its hint says "A number from 0 to 10".
TEN = {"id": "ten", "type": "slider", "min": 0, "max": 10, "text": "How much?"}


@pytest.mark.parametrize("value", ["7 of 100", "7%", "7/0", "7 out of 5"])
def test_a_typed_answer_on_another_scale_is_a_message(value):
    assert read_page([TEN], MultiDict({"ten": value})).errors == {
        "ten": "Please enter a whole number from 0 to 10."
    }
    assert read_page([HOURS], MultiDict({"hours": value})).errors == {
        "hours": "Please enter a number from 0 to 24."
    }


def test_a_typed_answer_out_of_the_items_own_top_reads_as_by_sms():
    assert read_page([TEN], MultiDict({"ten": "7/10"})).outcomes == [
        (TEN, Answered(7, None), "7/10")
    ]
    assert parse_reply(TEN, "7/10") == Answered(7, None)


def test_a_scale_point_on_another_scale_is_tampering():
    scale = {"id": "mood", "type": "scale", "min": 0, "max": 10, "text": "Mood?", "anchors": []}
    for value in ("7%", "7 of 100", "7/0"):
        with pytest.raises(Tampered, match="is not a point of the scale"):
            read_page([scale], MultiDict({"mood": value}))
