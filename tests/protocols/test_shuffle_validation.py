"""A questionnaire's `shuffle` lists (issue 22: item order randomised per prompt): what the
validator refuses, each at its line and column. Lists name items of the questionnaire, each
list at least two items that follow each other, an item in one list at most; no item of a list
depends on another one of it (its show_if or its text), since the order drawn may show it first;
and a list holding the first item has no show_if (any of its items may open the prompt), nor,
by SMS, an item that pipes an answer (the first text is written when the prompt is sent)."""

from __future__ import annotations

import pytest

from eas.protocols.json_schema import protocol_json_schema
from eas.protocols.validation import validate_protocol_text
from tests.protocols.helpers import at, errors_of

BASE = """\
study: {id: demo, title: Demo, timezone: Europe/Berlin, duration_days: 7}
questionnaires:
  - id: q
    intro: "Hi."
    shuffle: [[happy, sad, anxious], [social, alone]]
    items:
      - {id: happy, type: scale, min: 0, max: 10, text: "Happy?"}
      - {id: sad, type: scale, min: 0, max: 10, text: "Sad?"}
      - {id: anxious, type: scale, min: 0, max: 10, text: "Anxious?"}
      - {id: company, type: yes_no, text: "Company?"}
      - {id: social, type: yes_no, text: "Social?", show_if: "company == yes"}
      - {id: alone, type: yes_no, text: "Alone? (you said {company})", show_if: "company == yes"}
  - id: other
    items:
      - {id: topic, type: text, text: "Topic?"}
schedules:
  - {id: s, questionnaire: q, type: fixed, times: ['20:00']}
  - {id: o, questionnaire: other, type: fixed, times: ['10:00'], channel: web}
"""
SHUFFLE = "shuffle: [[happy, sad, anxious], [social, alone]]"
HERE = "items here: alone, anxious, company, happy, sad, social"


def _with(old: str, new: str, text: str = BASE) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def test_the_base_protocol_is_valid_and_keeps_its_lists():
    definition = validate_protocol_text(BASE, "p.yaml").definition
    assert definition["questionnaires"][0]["shuffle"] == [
        ["happy", "sad", "anxious"],
        ["social", "alone"],
    ]
    assert "shuffle" not in definition["questionnaires"][1]


def test_an_unknown_item():
    text = _with(SHUFFLE, "shuffle: [[happy, sadd, anxious]]")
    assert errors_of(text) == [
        at(
            text,
            "sadd",
            f"questionnaires[0].shuffle[0][1]: names unknown item 'sadd' ({HERE})",
        )
    ]


def test_a_list_of_one():
    text = _with(SHUFFLE, "shuffle: [[happy, sad, anxious], [social]]")
    assert errors_of(text) == [
        at(
            text,
            "[social]",
            "questionnaires[0].shuffle[1]: a shuffled list needs 2 or more items",
        )
    ]


def test_lists_that_are_not_lists_of_ids():
    text = _with(SHUFFLE, "shuffle: [happy, sad]")
    assert errors_of(text) == [
        at(
            text,
            "happy, sad]",
            "questionnaires[0].shuffle[0]: must be a list of item ids, such as [happy, sad] "
            "(shuffle is a list of such lists)",
        ),
        at(
            text,
            "sad]",
            "questionnaires[0].shuffle[1]: must be a list of item ids, such as [happy, sad] "
            "(shuffle is a list of such lists)",
        ),
    ]


def test_items_that_do_not_follow_each_other():
    text = _with(SHUFFLE, "shuffle: [[happy, anxious], [company, alone]]")
    assert errors_of(text) == [
        at(
            text,
            "[happy, anxious]",
            "questionnaires[0].shuffle[0]: the items of a shuffled list must follow each other "
            "in the questionnaire, but sad comes between them: add it to the list or move it",
        ),
        at(
            text,
            "[company, alone]",
            "questionnaires[0].shuffle[1]: the items of a shuffled list must follow each other "
            "in the questionnaire, but social comes between them: add it to the list or move it",
        ),
    ]


def test_an_item_in_two_lists_or_twice_in_one():
    text = _with(SHUFFLE, "shuffle: [[happy, sad], [sad, anxious], [social, alone, social]]")
    assert errors_of(text) == [
        at(
            text,
            "sad, anxious",
            "questionnaires[0].shuffle[1][0]: 'sad' is in shuffle[0] already: an item is "
            "shuffled in one list at most",
        ),
        at(
            text,
            "social]]",
            "questionnaires[0].shuffle[2][2]: 'social' is in this list already",
        ),
    ]


def test_a_show_if_on_another_item_of_the_list():
    text = _with(SHUFFLE, "shuffle: [[company, social]]")
    assert errors_of(text) == [
        at(
            text,
            'company == yes"}\n      - {id: alone',
            "questionnaires[0].items[4].show_if: names 'company', which is shuffled with this "
            "item (shuffle[0]): the order drawn may show this item first; take one of them out "
            "of the list",
        )
    ]


def test_a_text_piping_another_item_of_the_list():
    text = _with(SHUFFLE, "shuffle: [[social, alone]]")
    text = _with('show_if: "company == yes"}\n  - id: other', "}\n  - id: other", text)
    text = _with("(you said {company})", "(you said {social})", text)
    assert errors_of(text) == [
        at(
            text,
            "{social})",
            "questionnaires[0].items[5].text: pipes 'social', which is shuffled with this item "
            "(shuffle[0]): the order drawn may show this item first; take one of them out of "
            "the list",
        )
    ]


def test_a_list_holding_the_first_item_has_no_show_if():
    text = _with('"Sad?"}', '"Sad?", show_if: "beep >= 2"}')
    assert errors_of(text) == [
        at(
            text,
            '"beep >= 2"',
            "questionnaires[0].items[1].show_if: shuffle[0] holds the first item, which opens "
            "the prompt and is always asked: any item of the list may come first, so none of "
            "them can have a show_if",
        )
    ]


def test_by_sms_an_item_that_may_open_the_prompt_pipes_nothing():
    text = _with('"Anxious?"', '"Anxious, after {topic}?"')
    assert errors_of(text) == [
        at(
            text,
            "{topic}",
            "questionnaires[0].items[2].text: shuffled with the first item (shuffle[0]), this "
            "item may open an SMS prompt, whose first text is written when the prompt is sent "
            "and cannot show answers: move {topic} to an item after the list",
        )
    ]
    # On the web, the page is written when it is opened: it may.
    validate_protocol_text(_with("times: ['20:00']}", "times: ['20:00'], channel: web}", text))


def test_by_sms_each_item_that_may_open_the_prompt_fits_with_the_intro():
    long = "x" * 250
    text = _with('intro: "Hi."', f'intro: "{long}"')
    text = _with('"Anxious?"', f'"Anxious? {"y" * 40}"', text)
    assert errors_of(text) == [
        at(
            text,
            f'"{long}"',
            "questionnaires[0].intro: sent with items[2] (shuffle[0] may put it first), this "
            "needs 3 SMS segments (315 GSM-7 characters); the study allows 2",
        )
    ]


def test_a_first_list_item_that_pipes_nothing_is_fine_by_sms():
    validate_protocol_text(BASE, "p.yaml")


@pytest.mark.parametrize("value", [[["a", "b"]], []])
def test_the_json_schema_takes_lists_of_ids(value):
    import jsonschema

    schema = protocol_json_schema()
    shuffle = schema["$defs"]["Questionnaire"]["properties"]["shuffle"]
    jsonschema.validate(value, {**shuffle, "$defs": schema["$defs"]})
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate([["a"]], {**shuffle, "$defs": schema["$defs"]})
