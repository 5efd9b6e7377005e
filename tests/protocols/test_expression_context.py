"""Issue 22 in the protocol: `show_if` over the prompt's place in the day (beep, first_beep,
last_beep, study_day, local_time, weekday), and item texts that pipe earlier answers
(`{item_id}`): evaluation, templates, and the validator's errors at their line and column."""

from __future__ import annotations

import itertools

import pytest

from eas.protocols import piping
from eas.protocols.expressions import CONTEXT_NAMES, parse
from eas.protocols.sms_format import conversation_texts, render_item
from eas.protocols.validation import validate_protocol_text
from tests.protocols.helpers import at, errors_of, protocol

Q = "questionnaires[0].items[4]"
#: The third prompt of four that day, due at 18:30 on a Saturday, study day 3.
PLACE = {
    "beep": 3,
    "first_beep": False,
    "last_beep": False,
    "study_day": 3,
    "local_time": "18:30",
    "weekday": "sat",
}

# evaluation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("beep == 3", True),
        ("beep == 2", False),
        ("beep >= 2 and not last_beep", True),
        ("first_beep", False),
        ("last_beep", False),
        ("not first_beep", True),
        ("last_beep == no", True),
        ("study_day in [1, 3, 5]", True),
        ("study_day > 3", False),
        ("local_time >= '18:00'", True),
        ("local_time >= '18:31'", False),
        ("'09:00' <= local_time < '19:00'", True),
        ("local_time < '09:30'", False),
        ("weekday in ['sat', 'sun']", True),
        ("weekday == 'mon'", False),
        ("mood >= 5 and beep == 3", True),
        ("mood >= 5 and last_beep", False),
    ],
)
def test_the_place_in_the_day_evaluates_like_answers(source, expected):
    assert parse(source).evaluate({**PLACE, "mood": 7}) is expected


def test_an_unknown_place_is_unknown_like_an_unanswered_item():
    assert parse("beep == 1").evaluate({}) is False
    assert parse("not last_beep").evaluate({}) is False


def test_local_time_compares_in_time_order_because_hours_have_two_digits():
    times = ["00:05", "07:59", "08:00", "09:30", "12:00", "18:00", "23:59"]
    assert sorted(times) == times
    for earlier, later in itertools.pairwise(times):
        assert parse(f"local_time < '{later}'").evaluate({"local_time": earlier})


def test_item_ids_leave_out_the_place_names():
    expression = parse("beep == 2 and mood > 3 or last_beep and local_time > '18:00'")
    assert expression.item_ids == ["mood"]
    assert expression.context_names == ["beep", "last_beep", "local_time"]
    assert set(CONTEXT_NAMES) == {
        "beep", "first_beep", "last_beep", "study_day", "local_time", "weekday",
    }  # fmt: skip


# templates ----------------------------------------------------------------------------------


def test_a_template_is_literal_text_and_placeholders():
    parts = piping.parse_template("Was {ai_topic|it} about {{love}}? {mood}")
    assert parts == (
        "Was ",
        piping.Placeholder("ai_topic", "it", 4),
        " about {love}? ",
        piping.Placeholder("mood", None, 34),
    )


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("Earlier: {mood}.", "Earlier: 7."),
        ("About {topic|your chat}?", "About your chat?"),
        ("About {topic}?", "About ?"),
        ("Braces {{like this}}", "Braces {like this}"),
        ("{ mood }/10", "7/10"),
        ("An {unbalanced", "An {unbalanced"),  # not a template: stored before braces meant anything
    ],
)
def test_rendering_fills_in_answers_fallbacks_and_braces(text, shown):
    assert piping.render(text, {"mood": "7"}.get) == shown


@pytest.mark.parametrize(
    ("item", "value", "shown"),
    [
        ({"type": "yes_no"}, True, "Yes"),
        ({"type": "yes_no"}, False, "No"),
        ({"type": "scale"}, 7.0, "7"),
        ({"type": "number"}, 2.5, "2.5"),
        ({"type": "choice", "options": [{"value": "work", "label": "Work stuff"}]}, "work",
         "Work stuff"),
        ({"type": "choice", "options": [{"value": 1, "label": "Hardly ever"}]}, 1, "Hardly ever"),
        ({"type": "multi_choice", "options": [{"value": "a", "label": "Love"},
          {"value": "b", "label": "Sex"}, {"value": "c", "label": "Work"}]}, ["a", "c"],
         "Love, Work"),
        ({"type": "text"}, "Long walk\nwith Sam", "Long walk with Sam"),
    ],
)  # fmt: skip
def test_answers_show_as_people_gave_them(item, value, shown):
    assert piping.shown_value(item, value) == shown


def test_by_sms_a_long_answer_is_cut():
    shown = piping.shown_value({"type": "text"}, "word " * 30, limit=piping.SMS_VALUE_LIMIT)
    assert len(shown) <= piping.SMS_VALUE_LIMIT and shown.endswith("...")


def test_an_sms_item_shows_its_fallback_without_answers_and_counts_placeholders_as_20():
    item = {"type": "yes_no", "text": "Still about {topic|that}? {{yes}}"}
    assert render_item(item, 2, 3) == "2/3 Still about that? {yes} Reply Y or N"
    questionnaire = {"id": "q", "items": [{"type": "yes_no", "text": "A"}, item]}
    assert (
        conversation_texts(questionnaire)[1] == f"2/2 Still about {'x' * 20}? {{yes}} Reply Y or N"
    )


# validation: the place names ----------------------------------------------------------------


def test_show_if_may_use_the_place_in_the_day():
    text = protocol(
        items="""\
        - {id: x, type: yes_no, text: X, show_if: "last_beep and local_time >= '18:00'"}
        - {id: y, type: yes_no, text: Y, show_if: "beep in [1, 2] or weekday in ['sat', 'sun']"}
        - {id: z, type: yes_no, text: Z, show_if: "study_day == 7 and not first_beep == no"}
        """
    )
    validate_protocol_text(text, "p.yaml")


SHOW_IF = '- {{id: x, type: yes_no, text: X, show_if: "{}"}}'


@pytest.mark.parametrize(
    ("condition", "needle", "message"),
    [
        ("beep == 'x'", "beep",
         "'beep' is a whole number from 1: compare it with one, not 'x'"),
        ("beep == 0", "beep", "'beep' counts from 1: 0 never matches"),
        ("study_day == 8", "study_day", "day 8 is after the study's last day (7)"),
        ("last_beep == 2", "last_beep",
         "'last_beep' is yes or no (whether the prompt is the last of its questionnaire that "
         "day): compare it with yes or no, not 2"),
        ("local_time >= '25:00'", "local_time",
         "'local_time' is the prompt's local time written \"HH:MM\" (24-hour, two-digit hour, "
         "e.g. '08:30' or '18:00'): compare it with such a time, not '25:00'"),
        ("local_time < '9:30'", "local_time",
         "'local_time' is the prompt's local time written \"HH:MM\" (24-hour, two-digit hour, "
         "e.g. '08:30' or '18:00'): compare it with such a time, not '9:30'"),
        ("local_time > 18", "local_time",
         "'local_time' is the prompt's local time written \"HH:MM\" (24-hour, two-digit hour, "
         "e.g. '08:30' or '18:00'): compare it with such a time, not 18"),
        ("weekday == 'monday'", "weekday",
         "'weekday' is one of mon, tue, wed, thu, fri, sat, sun: compare it with one of them, "
         "not 'monday'"),
        ("weekday < 'fri'", "weekday", "'weekday' has no order: test it with == or in [...]"),
        ("'x' in beep", "beep", "'beep' holds one value: write beep in [...] to test several"),
    ],
)  # fmt: skip
def test_a_value_the_place_never_has_is_an_error_at_its_column(condition, needle, message):
    text = protocol(items=SHOW_IF.format(condition))
    column = condition.index(needle)
    assert errors_of(text) == [at(text, condition, f"{Q}.show_if: {message}", column)]


@pytest.mark.parametrize("name", sorted(CONTEXT_NAMES))
def test_an_item_id_may_not_be_a_place_name(name):
    text = protocol(items=f"- {{id: {name}, type: yes_no, text: X}}")
    reserved = ", ".join(CONTEXT_NAMES)
    message = (
        f"{Q}.id: '{name}' is reserved: show_if uses it for the prompt's place in the day "
        f"(reserved: {reserved}); choose another id"
    )
    assert errors_of(text) == [at(text, name, message)]


def test_an_alert_rule_may_not_use_the_place():
    text = protocol(
        alerts="- {id: a, when: 'mood >= 8 and last_beep', notify: [coordinators]}",
    )
    message = (
        "alerts[0].when: 'last_beep' describes a prompt's place in the day and is for show_if "
        "only: an alert rule sees answers only"
    )
    assert errors_of(text) == [at(text, "last_beep'", message)]


def test_the_first_item_cannot_be_hidden_by_the_place():
    text = protocol().replace(
        "{id: mood, type: scale, min: 0, max: 10, text: Mood}",
        "{id: mood, type: scale, min: 0, max: 10, text: Mood, show_if: last_beep}",
    )
    message = (
        "questionnaires[0].items[0].show_if: the first item is always asked (it opens the "
        "prompt), so its show_if cannot use 'last_beep': put the condition on a later item"
    )
    assert errors_of(text) == [at(text, "last_beep}", message)]


# validation: piping -------------------------------------------------------------------------

OTHER = """\
- id: other
  items:
    - {id: topic, type: choice, text: Topic, options: [work, love]}
    - {id: ok, type: yes_no, text: "Again {{ok}}"}
"""


def test_placeholders_may_name_earlier_items_and_items_of_other_questionnaires():
    text = protocol(
        items="""\
        - {id: x, type: yes_no, text: "Mood {mood}, kind {kind|none}, topic {topic}?"}
        - {id: y, type: yes_no, text: "{{not a placeholder}}", sms_text: "Was it {kinds}?"}
        """,
        more=OTHER,
    )
    validate_protocol_text(text, "p.yaml")


@pytest.mark.parametrize(
    ("item", "needle", "message"),
    [
        ('text: "About {nope}?"', "{nope}",
         "text: pipes unknown item 'nope': no questionnaire of the protocol has it"),
        ('text: "About {later}?"', "{later}",
         "text: pipes 'later', which has no answer yet when this shows (item 'later', which "
         "comes later): pipe an earlier item, or an item of another questionnaire"),
        ('text: "Again {x}?"', "{x}",
         "text: pipes 'x', which has no answer yet when this shows (its own answer): pipe an "
         "earlier item, or an item of another questionnaire"),
        ('text: X, sms_text: "An {open brace"', "{open",
         "sms_text: '{' is never closed: write {item_id} to show an answer, or '{{' for a "
         "brace"),
        ('text: "A single } brace"', "} brace",
         "text: a single '}': write '}}' for a brace"),
        ('text: "A {bad name}"', "{bad name}",
         "text: {bad name} is not a placeholder: write {item_id} or {item_id|fallback} to "
         "show an answer, and '{{' '}}' for braces"),
    ],
)  # fmt: skip
def test_a_placeholder_without_an_answer_to_show_is_an_error_at_its_column(item, needle, message):
    text = protocol(
        items=f"- {{id: x, type: yes_no, {item}}}\n- {{id: later, type: yes_no, text: Later}}\n",
        more=OTHER,
    )
    assert errors_of(text) == [at(text, needle, f"{Q}.{message}")]


def test_a_later_item_that_another_questionnaire_has_may_be_piped():
    # `later` comes after `x` here, but `other` asks it too: its latest answer there shows.
    text = protocol(
        items='- {id: x, type: yes_no, text: "Still {later}?"}\n'
        "- {id: later, type: yes_no, text: Later}\n",
        more=OTHER + "    - {id: later, type: yes_no, text: Later}\n",
    )
    validate_protocol_text(text, "p.yaml")


def test_the_first_text_of_an_sms_prompt_cannot_pipe():
    text = protocol(more=OTHER).replace("text: Mood}", 'text: "Mood, after {topic}?"}')
    text = text.replace("  - id: q\n", '  - id: q\n    intro: "Hi! About {topic|it}:"\n')
    message = (
        "the first text of an SMS prompt (the intro and the first item) is written when the "
        "prompt is sent and cannot show answers: move {topic} to a later item"
    )
    assert errors_of(text) == [
        at(text, "{topic|it}", f"questionnaires[0].intro: {message}"),
        at(text, "{topic}?", f"questionnaires[0].items[0].text: {message}"),
    ]


def test_a_web_questionnaire_may_pipe_in_its_intro_and_first_item():
    text = protocol(more=OTHER).replace("text: Mood}", 'text: "Mood, after {topic}?"}')
    text = text.replace("  - id: q\n", '  - id: q\n    intro: "Hi! About {topic|it}:"\n')
    text = text.replace("times: ['20:00']}", "times: ['20:00'], channel: web}")
    validate_protocol_text(text, "p.yaml")


def test_the_sms_length_check_counts_a_placeholder_as_20_characters():
    words = "word " * 28  # with a 20-character answer, one segment (160) is too few
    text = protocol(items=f'- {{id: x, type: yes_no, text: "{words}{{mood}}"}}').replace(
        "duration_days: 7}", "duration_days: 7, sms: {max_segments: 1}}"
    )
    message = (
        f"{Q}.text: as a text message this item needs 2 SMS segments (177 GSM-7 characters with "
        "its answer hint, each {placeholder} counted as 20 characters); the study allows 1: "
        "shorten it or add a shorter sms_text"
    )
    assert errors_of(text) == [at(text, f'"{words}', message)]
