"""Reading an SMS reply to one questionnaire item (eas.responses.replies).

Properties: any text at all, for any item type, gives an Answered, Skipped or Invalid and never
raises, and an Answered value is always one the item allows. Examples: what participants really
type on phones. Round trip: an answer reads back the way `show_if` expressions expect.
"""

from __future__ import annotations

import json
import math
import re
import string
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from eas.protocols.expressions import parse
from eas.protocols.sms_format import answer_hint
from eas.responses.replies import (
    Answered,
    Invalid,
    Skipped,
    answer_value,
    choices_answer,
    is_skip,
    normalise,
    option_answer,
    option_with_value,
    parse_reply,
    printable,
    split_compact,
)

# items ---------------------------------------------------------------------------------------

YES_NO = {"id": "ai_chat", "type": "yes_no", "text": "Did you chat with an AI today?"}
MOOD = {"id": "mood", "type": "scale", "min": 0, "max": 10, "text": "How is your mood?"}
AGREE = {"id": "agree", "type": "scale", "min": 1, "max": 5, "text": "Do you agree?"}
BIPOLAR = {"id": "valence", "type": "scale", "min": -3, "max": 3, "text": "How do you feel?"}
SLIDER = {"id": "closeness", "type": "slider", "min": 0, "max": 100, "text": "How close?"}
MINUTES = {"id": "minutes", "type": "number", "integer": True, "min": 0, "max": 1440, "text": "?"}
HOURS = {"id": "hours", "type": "number", "integer": False, "text": "How many hours?"}
STEPS = {"id": "steps", "type": "number", "integer": True, "text": "How many steps?"}
KIND = {
    "id": "ai_kind",
    "type": "choice",
    "text": "What kind of conversation?",
    "options": [
        {"value": "romantic", "label": "Romantic"},
        {"value": "sexual", "label": "Sexual"},
        {"value": "both", "label": "Both"},
        {"value": "neither", "label": "Neither"},
    ],
}
FREQUENCY = {
    "id": "freq",
    "type": "choice",
    "text": "How often?",
    "options": [
        {"value": 0, "label": "Never"},
        {"value": 1, "label": "Weekly"},
        {"value": 2, "label": "Daily"},
    ],
}
CODED = {
    "id": "coded",
    "type": "choice",
    "text": "Where were you?",
    "options": [
        {"value": "home", "label": "At home"},
        {"value": "work", "label": "At work"},
        {"value": "out", "label": "Somewhere else"},
    ],
}
TOPICS = {
    "id": "topics",
    "type": "multi_choice",
    "text": "What did you talk about?",
    "min_choices": 0,
    "max_choices": 4,
    "options": [
        {"value": "work", "label": "Work"},
        {"value": "family", "label": "Family"},
        {"value": "sexual", "label": "Sexual"},
        {"value": "friends", "label": "Friends"},
    ],
}
TOPICS_1_TO_2 = TOPICS | {"id": "topics_12", "min_choices": 1, "max_choices": 2}
PLACES = {
    "id": "places",
    "type": "multi_choice",
    "text": "Where did you use it?",
    "min_choices": 0,
    "max_choices": 3,
    "options": [
        {"value": "phone", "label": "Phone"},
        {"value": "social", "label": "Social media"},
        {"value": "laptop", "label": "Laptop"},
    ],
}
MULTI_CODED = {
    "id": "when",
    "type": "multi_choice",
    "text": "When?",
    "min_choices": 0,
    "max_choices": 3,
    "options": [
        {"value": 0, "label": "Never"},
        {"value": 1, "label": "Weekly"},
        {"value": 2, "label": "Daily"},
    ],
}
NOTE = {"id": "note", "type": "text", "text": "Anything else?", "max_length": 20}
LONG_NOTE = {"id": "long_note", "type": "text", "text": "Tell us more"}  # default max 500

ALL_ITEMS = [
    YES_NO,
    MOOD,
    AGREE,
    BIPOLAR,
    SLIDER,
    MINUTES,
    HOURS,
    STEPS,
    KIND,
    FREQUENCY,
    CODED,
    TOPICS,
    TOPICS_1_TO_2,
    PLACES,
    MULTI_CODED,
    NOTE,
    LONG_NOTE,
]


def _ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]


# what an Answered may hold -------------------------------------------------------------------


def assert_valid_outcome(item: dict[str, Any], outcome: object) -> None:
    """The outcome is one of the three kinds, and an answer is one the item allows."""
    assert isinstance(outcome, Answered | Skipped | Invalid), outcome
    if isinstance(outcome, Invalid):
        assert outcome.hint == answer_hint(item)
    if not isinstance(outcome, Answered):
        return
    kind = item["type"]
    numeric, text = outcome.numeric, outcome.text
    if kind == "yes_no":
        assert (numeric, text) in ((1, "yes"), (0, "no"))
    elif kind in ("scale", "slider"):
        assert text is None
        assert type(numeric) is int
        assert item["min"] <= numeric <= item["max"]
    elif kind == "number":
        assert text is None
        assert isinstance(numeric, int | float) and not isinstance(numeric, bool)
        assert math.isfinite(numeric)
        if item.get("integer"):
            assert type(numeric) is int
        if item.get("min") is not None:
            assert numeric >= item["min"]
        if item.get("max") is not None:
            assert numeric <= item["max"]
    elif kind == "choice":
        matches = [option for option in item["options"] if str(option["value"]) == text]
        assert len(matches) == 1
        value = matches[0]["value"]
        assert numeric == (value if isinstance(value, int) else None)
    elif kind == "multi_choice":
        assert numeric is None
        chosen = json.loads(text)
        values = [option["value"] for option in item["options"]]
        assert isinstance(chosen, list)
        assert len(chosen) == len(set(map(repr, chosen)))
        assert all(any(c == v and type(c) is type(v) for v in values) for c in chosen)
        assert chosen == [v for v in values if v in chosen]  # in the options' order
        low = item.get("min_choices", 0)
        high = item.get("max_choices", len(item["options"]))
        assert low <= len(chosen) <= high
    elif kind == "text":
        assert numeric is None
        assert isinstance(text, str)
        assert text == text.strip()
        assert 1 <= len(text) <= item.get("max_length", 500)
    else:  # pragma: no cover
        raise AssertionError(kind)


# strategies ----------------------------------------------------------------------------------

ODD_REPLIES = [
    "",
    " ",
    "\n\t\r",
    "\x00",
    "\x1b[31m7",
    "\u200b",
    "\ufeff7",
    "1e400",
    "-1e400",
    "1e5",
    "9" * 400,
    "-" + "9" * 400,
    "9" * 5000,
    "1" * 5000,
    "0." + "0" * 400 + "1",
    "NaN",
    "nan",
    "-nan",
    "inf",
    "-inf",
    "Infinity",
    "1_000",
    "0x1f",
    "½",
    "²",
    "①",
    "\u0667",  # Arabic-Indic 7
    "७",
    "\uff17",  # full-width 7
    "𐩀",
    "\U0001d7d5",  # mathematical bold 7
    "7️⃣",
    "👍",
    "👍🏻",
    "👎",
    "✔️",
    "🚫",
    "🙂🙃",
    "skip",
    "SKIP!",
    "pass",
    "none",
    "nothing",
    "seven",
    "twelve",
    "yes",
    "No.",
    "1 3",
    "1,3",
    "1, 3 and 4",
    "and",
    ",,,",
    "7/10",
    "7 out of 10",
    "of 10",
    "7/0",
    "7 of 100",
    "7%",
    "%",
    "7% of 10",
    "7/" + "9" * 5000,
    "/",
    "-0",
    "+5",
    "--5",
    "+-5",
    ".5",
    "1,5",
    "1,000",
    "1.000.000",
    "12:30",
    "'; DROP TABLE answers; --",
    "\u202e01",
    "Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǧ̗͚̚o̙̔ͮ̇͐̇",
]

SEPARATORS = [" ", ",", ", ", ";", " & ", "+", " and ", "  ,  ", "\n"]
PADDING = ["", " ", "  ", "!", ".", "!!", "?", "\n", " 🙂", "👍 ", '"', "(", ")", "…"]

#: Any text, weighted towards the shapes that reach the parsers' deeper branches.
replies = st.one_of(
    st.text(),
    st.text(alphabet=string.digits + string.punctuation + " eE", max_size=30),
    st.sampled_from(ODD_REPLIES),
    st.integers(-(10**6), 10**6).map(str),
    st.integers().map(str),
    st.floats().map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(lambda x: f"{x:,.3f}"),
    st.lists(st.integers(-3, 25), min_size=1, max_size=6).flatmap(
        lambda numbers: st.sampled_from(SEPARATORS).map(
            lambda sep: sep.join(str(n) for n in numbers)
        )
    ),
    st.tuples(st.sampled_from(PADDING), st.sampled_from(ODD_REPLIES), st.sampled_from(PADDING)).map(
        "".join
    ),
)

labels = st.text(min_size=1, max_size=15).map(str.strip).filter(bool)


@st.composite
def option_lists(draw, label_strategy=labels) -> list[dict[str, Any]]:
    count = draw(st.integers(2, 20))
    if draw(st.booleans()):
        values = draw(st.lists(st.integers(-5, 30), min_size=count, max_size=count, unique=True))
    else:
        values = draw(st.lists(labels, min_size=count, max_size=count, unique=True))
    names = draw(st.lists(label_strategy, min_size=count, max_size=count))
    return [{"value": v, "label": name} for v, name in zip(values, names, strict=True)]


@st.composite
def scale_items(draw, kind: str = "scale") -> dict[str, Any]:
    low = draw(st.integers(-50, 50))
    high = low + draw(st.integers(1, 100))
    return {"id": "s", "type": kind, "text": "?", "min": low, "max": high}


@st.composite
def number_items(draw) -> dict[str, Any]:
    item: dict[str, Any] = {"id": "n", "type": "number", "text": "?"}
    item["integer"] = draw(st.booleans())
    bound = st.one_of(
        st.none(),
        st.integers(-1000, 1000).map(float),
        st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
    )
    low, high = draw(bound), draw(bound)
    if low is not None and high is not None and high <= low:
        low, high = high, low + (low - high) + 1
    if low is not None:
        item["min"] = low
    if high is not None:
        item["max"] = high
    return item


@st.composite
def choice_items(draw, label_strategy=labels) -> dict[str, Any]:
    return {"id": "c", "type": "choice", "text": "?", "options": draw(option_lists(label_strategy))}


@st.composite
def multi_choice_items(draw, label_strategy=labels) -> dict[str, Any]:
    options = draw(option_lists(label_strategy))
    high = draw(st.integers(1, len(options)))
    low = draw(st.integers(0, high))
    return {
        "id": "m",
        "type": "multi_choice",
        "text": "?",
        "options": options,
        "min_choices": low,
        "max_choices": high,
    }


@st.composite
def text_items(draw) -> dict[str, Any]:
    item: dict[str, Any] = {"id": "t", "type": "text", "text": "?"}
    if draw(st.booleans()):
        item["max_length"] = draw(st.one_of(st.integers(1, 40), st.just(5000)))
    return item


ITEM_STRATEGIES = {
    "yes_no": st.just(YES_NO),
    "scale": scale_items(),
    "slider": st.one_of(scale_items("slider"), st.just(SLIDER)),
    "choice": choice_items(),
    "multi_choice": multi_choice_items(),
    "number": number_items(),
    "text": text_items(),
}


@st.composite
def item_replies(draw, item: dict[str, Any]) -> str:
    """A reply aimed at the item: its option numbers, labels and values, numbers around its
    range, all padded the way phones pad them; or any text at all."""
    kind = item["type"]
    near: list[st.SearchStrategy[str]] = [replies]
    if kind in ("choice", "multi_choice"):
        options = item["options"]
        tokens = st.one_of(
            st.integers(0, len(options) + 2).map(str),
            st.sampled_from([str(o["label"]) for o in options]),
            st.sampled_from([str(o["value"]) for o in options]),
        )
        near.append(tokens)
        near.append(
            st.tuples(st.lists(tokens, min_size=1, max_size=6), st.sampled_from(SEPARATORS)).map(
                lambda pair: pair[1].join(pair[0])
            )
        )
    if kind in ("scale", "slider", "number"):
        low = int(item.get("min", -100) or 0) - 3
        high = int(item.get("max", 100) or 0) + 3
        near.append(st.integers(min(low, high), max(low, high)).map(str))
        near.append(st.floats(low, max(high, low + 1), allow_nan=False).map(lambda x: f"{x:.2f}"))
    core = draw(st.one_of(near))
    return draw(st.sampled_from(PADDING)) + core + draw(st.sampled_from(PADDING))


@st.composite
def items_with_replies(draw, kinds: tuple[str, ...] = tuple(ITEM_STRATEGIES)):
    item = draw(st.sampled_from(kinds).flatmap(ITEM_STRATEGIES.__getitem__))
    return item, draw(item_replies(item))


# 1. properties: never raises, always a valid outcome -----------------------------------------


@pytest.mark.parametrize("kind", list(ITEM_STRATEGIES))
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_any_reply_to_any_item_gives_a_valid_outcome(kind, data):
    item = data.draw(ITEM_STRATEGIES[kind], label="item")
    reply = data.draw(st.one_of(replies, item_replies(item)), label="reply")
    outcome = parse_reply(item, reply)
    assert_valid_outcome(item, outcome)


@pytest.mark.parametrize("item", ALL_ITEMS, ids=_ids(ALL_ITEMS))
def test_odd_replies_never_raise(item):
    for reply in ODD_REPLIES:
        assert_valid_outcome(item, parse_reply(item, reply))


@settings(max_examples=300, deadline=None)
@given(pair=items_with_replies())
def test_skipped_exactly_when_the_reply_is_a_skip_word(pair):
    item, reply = pair
    outcome = parse_reply(item, reply)
    assert isinstance(outcome, Skipped) == is_skip(reply)
    assert is_skip(reply) == (normalise(reply) in ("skip", "pass"))


@settings(max_examples=200, deadline=None)
@given(item=scale_items(), pad=st.sampled_from(PADDING), data=st.data())
def test_every_whole_number_in_a_scale_and_nothing_outside_it(item, pad, data):
    number = data.draw(st.integers(item["min"] - 5, item["max"] + 5))
    # A point right before the digits is a decimal point (".5"), so "." pads the right only.
    outcome = parse_reply(item, f"{'' if pad == '.' else pad}{number}{pad}")
    if item["min"] <= number <= item["max"]:
        assert outcome == Answered(number, None)
    else:
        assert isinstance(outcome, Invalid)


@settings(max_examples=200, deadline=None)
@given(item=number_items(), data=st.data())
def test_a_number_in_range_is_read_exactly(item, data):
    low, high = item.get("min", -1e6), item.get("max", 1e6)
    assume(math.ceil(low * 100) <= math.floor(high * 100))  # some 0.01 step in range
    cents = data.draw(st.integers(math.ceil(low * 100), math.floor(high * 100)))
    reply = f"{cents // 100}" if cents % 100 == 0 else f"{cents / 100:.2f}"
    outcome = parse_reply(item, reply)
    if item["integer"] and cents % 100:
        assert isinstance(outcome, Invalid)
    else:
        assert isinstance(outcome, Answered)
        assert outcome.numeric == pytest.approx(cents / 100)


@settings(max_examples=200, deadline=None)
@given(item=choice_items(), data=st.data())
def test_a_choice_by_its_sms_number_is_that_option(item, data):
    number = data.draw(st.integers(1, len(item["options"])))
    pad = data.draw(st.sampled_from(PADDING))
    outcome = parse_reply(item, f"{pad}{number}{pad}")
    option = item["options"][number - 1]
    assert outcome == Answered(
        option["value"] if isinstance(option["value"], int) else None, str(option["value"])
    )


#: Labels of letters only, so that no label reads as an option number or a list of them.
word_labels = st.text(alphabet=string.ascii_letters, min_size=1, max_size=10)


@settings(max_examples=200, deadline=None)
@given(item=multi_choice_items(word_labels), data=st.data())
def test_multi_choice_by_sms_numbers_is_exactly_that_set(item, data):
    options = item["options"]
    numbers = data.draw(st.lists(st.integers(1, len(options)), min_size=1, max_size=8))
    separator = data.draw(st.sampled_from(SEPARATORS))
    outcome = parse_reply(item, separator.join(map(str, numbers)))
    expected = [option["value"] for n, option in enumerate(options, 1) if n in numbers]
    if item["min_choices"] <= len(expected) <= item["max_choices"]:
        assert isinstance(outcome, Answered)
        assert json.loads(outcome.text) == expected
    else:
        assert isinstance(outcome, Invalid)


@settings(max_examples=200, deadline=None)
@given(item=text_items(), reply=st.text())
def test_text_is_kept_verbatim_when_it_fits(item, reply):
    """Verbatim but for control characters (a NUL cannot even be stored by PostgreSQL)."""
    outcome = parse_reply(item, reply)
    stripped = printable(reply).strip()
    if is_skip(reply):
        assert outcome == Skipped()
    elif stripped.strip("\u200b\u200c\u200d\u200e\u200f\u2060\ufe0e\ufe0f") and len(
        stripped
    ) <= item.get("max_length", 500):
        assert outcome == Answered(None, stripped)
    else:
        assert isinstance(outcome, Invalid)


# 2. examples: yes / no ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [
        "yes",
        "Yes",
        "YES",
        "Yes!",
        " y ",
        "Y",
        "Y.",
        "YEP",
        "yup",
        "yeah",
        "Yeah!!",
        "sure",
        "ok",
        "Okay.",
        "yes please",
        "yes I did",
        "Yes I did!",
        "yeah I did",
        "👍",
        " 👍 ",
        "✅",
        "✔️",
        "yes 😊",
        "Sí",
        "oui",
        "ja",
        "\uff39\uff45\uff53",  # full-width "Yes"
    ],
)
def test_yes(reply):
    assert parse_reply(YES_NO, reply) == Answered(1, "yes")


@pytest.mark.parametrize(
    "reply",
    [
        "no",
        "No",
        "NO",
        "No.",
        " n ",
        "N",
        "nope.",
        "Nope",
        "nah",
        "no thanks",
        "No thanks!",
        "not really",
        "no I didn't",
        "No not today",
        "👎",
        "❌",
        "🚫",
        "non",
        "nein",
    ],
)
def test_no(reply):
    assert parse_reply(YES_NO, reply) == Answered(0, "no")


@pytest.mark.parametrize(
    "reply",
    [
        "",
        "   ",
        "maybe",
        "idk",
        "7",
        "y/n",
        "what?",
        "yes I did talk to it",  # too long to be sure it is an answer
        "I don't know",
        "ye s",
    ],
)
def test_not_a_yes_or_no(reply):
    assert parse_reply(YES_NO, reply) == Invalid("Reply Y or N")


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("Yes, I did", Answered(1, "yes")),
        ("yes, a bit", Answered(1, "yes")),
        ("No, not really", Answered(0, "no")),
        ("no, thanks", Answered(0, "no")),
    ],
)
def test_yes_no_followed_by_a_comma(reply, expected):
    assert parse_reply(YES_NO, reply) == expected


@pytest.mark.parametrize("reply", ["👍🏻", "👍🏽", "👍🏿"])
def test_thumbs_up_with_a_skin_tone(reply):
    assert parse_reply(YES_NO, reply) == Answered(1, "yes")


@pytest.mark.parametrize("reply", ["not sure", "yes and no", "no idea"])
def test_hedges_are_not_answers(reply):
    assert isinstance(parse_reply(YES_NO, reply), Invalid)


# scales and sliders -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("7", 7),
        (" 7 ", 7),
        ("7!", 7),
        ("7.", 7),
        ("07", 7),
        ("7.0", 7),
        ("7/10", 7),
        ("7 / 10", 7),
        ("7 out of 10", 7),
        ("7 of 10", 7),
        ("seven", 7),
        ("Seven!", 7),
        ("SEVEN", 7),
        ("about 7", 7),
        ("I'd say 7", 7),
        ("7 🙂", 7),
        ("7️⃣", 7),
        ("\uff17", 7),  # full width
        ("\u0667", 7),  # Arabic-Indic
        ("0", 0),
        ("zero", 0),
        ("none", 0),
        ("10", 10),
        ("ten", 10),
        ("10/10", 10),
        ("+7", 7),
    ],
)
def test_scale_replies(reply, expected):
    outcome = parse_reply(MOOD, reply)
    assert outcome == Answered(expected, None)
    assert type(outcome.numeric) is int


@pytest.mark.parametrize(
    "reply",
    [
        "11",
        "-1",
        "100",
        "eleven",
        "7.5",
        "7,5",
        "6.9",
        "7 or 8",
        "7-8",
        "7 8",
        "between 6 and 8",
        "lots",
        "",
        "1e1",
        "9" * 400,
        "1e400",
        "nan",
        "inf",
    ],
)
def test_scale_rejects(reply):
    assert parse_reply(MOOD, reply) == Invalid("Reply 0-10")


@pytest.mark.parametrize(("reply", "expected"), [("1", 1), ("5", 5), ("3/5", 3), ("three", 3)])
def test_scale_from_one(reply, expected):
    assert parse_reply(AGREE, reply) == Answered(expected, None)


@pytest.mark.parametrize("reply", ["0", "6", "none", "zero"])
def test_scale_from_one_rejects_outside(reply):
    assert parse_reply(AGREE, reply) == Invalid("Reply 1-5")


@pytest.mark.parametrize(("reply", "expected"), [("-2", -2), ("-3", -3), ("+3", 3), ("0", 0)])
def test_scale_with_negative_points(reply, expected):
    assert parse_reply(BIPOLAR, reply) == Answered(expected, None)


@pytest.mark.parametrize("reply", ["\u22122", "\u20132"])  # minus sign, en dash
def test_scale_unicode_minus_keeps_the_sign(reply):
    assert parse_reply(BIPOLAR, reply) in (Answered(-2, None), Invalid("Reply -3-3"))


#: Replies naming a scale other than 0-10: which point of MOOD was meant is a guess.
OTHER_SCALES = [
    "7 of 100",
    "7 out of 100",
    "7/100",
    "7 / 5",
    "7/0",
    "0/0",
    "10/100",
    "7/" + "9" * 5000,
    "7%",
    "7 %",
    "7%!",
    "7 percent",
    "7 per cent",
    "about 7%",
    "7 out of a hundred",
    "7 out of twelve",
    "7 out of a thousand",
    "7 out of 10 today",
    "seven%",
    "7\uff05",  # full-width percent sign
    "7\u066a",  # Arabic percent sign
    "7\u2030",  # per mille
    "%7",
    "7% of 10",
    "7/10%",
]


@pytest.mark.parametrize("reply", OTHER_SCALES)
def test_scale_rejects_an_answer_on_another_scale(reply):
    assert parse_reply(MOOD, reply) == Invalid("Reply 0-10")


@pytest.mark.parametrize(
    ("item", "reply", "expected"),
    [
        (MOOD, "7 out of ten", Answered(7, None)),
        (MOOD, "seven out of ten", Answered(7, None)),
        (MOOD, "7/ten", Answered(7, None)),
        (AGREE, "3 out of 5", Answered(3, None)),
        (AGREE, "3/5", Answered(3, None)),
        (AGREE, "3/10", Invalid("Reply 1-5")),
        (AGREE, "3 of 7", Invalid("Reply 1-5")),
        (BIPOLAR, "-2/3", Answered(-2, None)),
        (BIPOLAR, "2 out of 10", Invalid("Reply -3-3")),
        (SLIDER, "70 of 100", Answered(70, None)),
        (SLIDER, "70/100", Answered(70, None)),
        (SLIDER, "70 %", Answered(70, None)),
        (SLIDER, "70 percent", Answered(70, None)),
        (SLIDER, "70 out of a hundred", Answered(70, None)),
        (SLIDER, "7/10", Invalid("Reply 0-100")),
        (SLIDER, "70\u2030", Invalid("Reply 0-100")),
    ],
)
def test_a_named_top_must_be_the_items_own(item, reply, expected):
    assert parse_reply(item, reply) == expected


@settings(max_examples=300, deadline=None)
@given(
    item=st.one_of(scale_items(), scale_items("slider")),
    form=st.sampled_from(["{}/{}", "{} / {}", "{} out of {}", "{} of {}", "{}%"]),
    data=st.data(),
)
def test_a_scale_answer_naming_a_top_is_read_only_on_the_items_own_scale(item, form, data):
    number = data.draw(st.integers(item["min"] - 2, item["max"] + 2), label="number")
    top = data.draw(
        st.one_of(st.just(item["max"]), st.integers(0, 1000), st.just(100)), label="top"
    )
    top = 100 if form == "{}%" else top
    outcome = parse_reply(item, form.format(number, top))
    # A top is written without a sign: "-1/-1" is no point of a scale from -3 to -1.
    if top == item["max"] >= 0 and item["min"] <= number <= item["max"]:
        assert outcome == Answered(number, None)
    else:
        assert isinstance(outcome, Invalid)


def test_scale_leading_decimal_point_is_not_a_whole_number():
    assert parse_reply(MOOD, ".5") == Invalid("Reply 0-10")


@pytest.mark.parametrize(("reply", "expected"), [("0", 0), ("55", 55), ("100", 100), ("70%", 70)])
def test_slider(reply, expected):
    assert parse_reply(SLIDER, reply) == Answered(expected, None)


@pytest.mark.parametrize("reply", ["101", "-5", "55.5"])
def test_slider_rejects(reply):
    assert parse_reply(SLIDER, reply) == Invalid("Reply 0-100")


# numbers -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("item", "reply", "expected"),
    [
        (MINUTES, "30", 30),
        (MINUTES, " 30 ", 30),
        (MINUTES, "about 30 min", 30),
        (MINUTES, "30 minutes", 30),
        (MINUTES, "~30", 30),
        (MINUTES, "30.0", 30),
        (MINUTES, "none", 0),
        (MINUTES, "None!", 0),
        (MINUTES, "nothing", 0),
        (MINUTES, "zero", 0),
        (MINUTES, "0", 0),
        (MINUTES, "five", 5),
        (MINUTES, "1440", 1440),
        (HOURS, "1,5", 1.5),
        (HOURS, "1.5", 1.5),
        (HOURS, "1.5 hours", 1.5),
        (HOURS, "0.25", 0.25),
        (HOURS, "2", 2.0),
        (HOURS, "-2", -2.0),  # no min on this item
        (HOURS, "none", 0.0),
        (STEPS, "12000", 12000),
        (STEPS, "12000 steps", 12000),
    ],
)
def test_number_replies(item, reply, expected):
    outcome = parse_reply(item, reply)
    assert outcome == Answered(expected, None)
    assert type(outcome.numeric) is (int if item["integer"] else float)


@pytest.mark.parametrize(
    ("item", "reply"),
    [
        (MINUTES, "1.5"),  # not a whole number
        (MINUTES, "1,5"),
        (MINUTES, "-5"),  # below min
        (MINUTES, "1441"),  # above max
        (MINUTES, "half an hour"),
        (MINUTES, "30 or 40"),
        (MINUTES, "10-20"),
        (MINUTES, "12:30"),
        (MINUTES, "a lot"),
        (MINUTES, ""),
        (HOURS, "1e400"),
        (HOURS, "9" * 400),
        (HOURS, "1" + "0" * 12),  # implausibly large
        (HOURS, "nan"),
        (HOURS, "NaN hours"),
        (HOURS, "inf"),
        (HOURS, "Infinity"),
        (HOURS, "1/2"),  # a half, not 1; no top to be out of
        (HOURS, "3 of 4"),
        (HOURS, "50%"),
        (MINUTES, "30%"),
        (MINUTES, "30/60"),
        (STEPS, "7 out of 10"),
    ],
)
def test_number_rejects(item, reply):
    assert parse_reply(item, reply) == Invalid(answer_hint(item))


def test_number_hint_names_the_range():
    assert parse_reply(MINUTES, "lots") == Invalid("Reply a number 0-1440")
    assert parse_reply(HOURS, "lots") == Invalid("Reply a number")


def test_a_comma_before_three_digits_separates_thousands():
    assert parse_reply(STEPS, "1,000") == Answered(1000, None)
    assert parse_reply(STEPS, "2,500 steps") == Answered(2500, None)
    assert parse_reply(HOURS, "2,5") == Answered(2.5, None)


def test_number_with_a_leading_decimal_point():
    assert parse_reply(HOURS, ".5") == Answered(0.5, None)


def test_number_with_a_unicode_minus():
    assert parse_reply(HOURS, "\u22122") == Answered(-2.0, None)


# choices -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "value"),
    [
        ("1", "romantic"),
        ("2", "sexual"),
        ("4", "neither"),
        (" 2 ", "sexual"),
        ("2.", "sexual"),
        ("2!", "sexual"),
        ("#2", "sexual"),
        ("(2)", "sexual"),
        ("02", "sexual"),
        ("\uff12", "sexual"),  # full width
        ("Romantic", "romantic"),
        ("romantic", "romantic"),
        ("ROMANTIC", "romantic"),
        ("Romantic!", "romantic"),
        ("romantic 😍", "romantic"),
        ("  both  ", "both"),
        ("Neither.", "neither"),
    ],
)
def test_choice_by_number_or_label(reply, value):
    assert parse_reply(KIND, reply) == Answered(None, value)


@pytest.mark.parametrize(
    ("reply", "value"),
    [
        ("1", "home"),
        ("At home", "home"),
        ("at WORK", "work"),
        ("home", "home"),  # the value
        ("OUT", "out"),
        ("somewhere else", "out"),
    ],
)
def test_choice_by_label_or_value(reply, value):
    assert parse_reply(CODED, reply) == Answered(None, value)


@pytest.mark.parametrize(
    ("reply", "value"),
    [
        ("1", 0),  # the SMS lists options from 1: "1=Never 2=Weekly 3=Daily"
        ("2", 1),
        ("3", 2),
        ("Never", 0),
        ("weekly", 1),
        ("DAILY!", 2),
    ],
)
def test_choice_with_numeric_values_is_numbered_from_one(reply, value):
    assert answer_hint(FREQUENCY) == "Reply one number: 1=Never 2=Weekly 3=Daily"
    assert parse_reply(FREQUENCY, reply) == Answered(value, str(value))


@pytest.mark.parametrize(
    "reply", ["0", "5", "-1", "1 or 2", "1 2", "option 5", "romance", "", "12", "1.5", "1,2"]
)
def test_choice_rejects(reply):
    assert parse_reply(KIND, reply) == Invalid(
        "Reply one number: 1=Romantic 2=Sexual 3=Both 4=Neither"
    )


def test_choice_with_numeric_values_rejects_past_the_list():
    assert parse_reply(FREQUENCY, "4") == Invalid(answer_hint(FREQUENCY))


# multiple choices ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "values"),
    [
        ("1", ["work"]),
        ("1 3", ["work", "sexual"]),
        ("1,3", ["work", "sexual"]),
        ("1, 3", ["work", "sexual"]),
        ("1;3", ["work", "sexual"]),
        ("1 & 3", ["work", "sexual"]),
        ("1+3", ["work", "sexual"]),
        ("1 and 3", ["work", "sexual"]),
        ("1, 3 and 4", ["work", "sexual", "friends"]),
        ("1,3,4.", ["work", "sexual", "friends"]),
        ("3 1", ["work", "sexual"]),  # stored in the options' order
        ("1 1 3", ["work", "sexual"]),  # duplicates count once
        ("1 2 3 4", ["work", "family", "sexual", "friends"]),
        ("Work", ["work"]),
        ("work, family", ["work", "family"]),
        ("Work and Family", ["work", "family"]),
        ("friends & family", ["family", "friends"]),
        ("FAMILY 2", ["family"]),
        ("1 family", ["work", "family"]),
        ("1/3", ["work", "sexual"]),
        ("none", []),
        ("None.", []),
        ("nothing", []),
        ("0", []),
    ],
)
def test_multi_choice_replies(reply, values):
    outcome = parse_reply(TOPICS, reply)
    assert outcome == Answered(None, json.dumps(values))


@pytest.mark.parametrize(
    "reply",
    [
        "5",  # no option 5
        "1 5",
        "0 1",
        "-1",
        "1-3",
        "13",  # no option 13, not "1 and 3"
        "work, gym",
        "all",
        "and",
        ",",
        "",
    ],
)
def test_multi_choice_rejects(reply):
    assert parse_reply(TOPICS, reply) == Invalid(answer_hint(TOPICS))


@pytest.mark.parametrize("reply", ["1 2 3", "1 2 3 4", "none", "nothing", "0"])
def test_multi_choice_outside_min_and_max_choices(reply):
    assert parse_reply(TOPICS_1_TO_2, reply) == Invalid(answer_hint(TOPICS_1_TO_2))


@pytest.mark.parametrize(("reply", "values"), [("2", ["family"]), ("1 4", ["work", "friends"])])
def test_multi_choice_within_min_and_max_choices(reply, values):
    assert parse_reply(TOPICS_1_TO_2, reply) == Answered(None, json.dumps(values))


@pytest.mark.parametrize(
    ("reply", "values"),
    [("1", [0]), ("1 3", [0, 2]), ("never, daily", [0, 2]), ("2 3", [1, 2])],
)
def test_multi_choice_with_numeric_values_is_numbered_from_one(reply, values):
    assert parse_reply(MULTI_CODED, reply) == Answered(None, json.dumps(values))


def test_multi_choice_with_a_multi_word_label_alone():
    assert parse_reply(PLACES, "Social media") == Answered(None, '["social"]')


@pytest.mark.parametrize("reply", ["phone, social media", "Social media and laptop"])
def test_multi_choice_combining_multi_word_labels(reply):
    outcome = parse_reply(PLACES, reply)
    assert isinstance(outcome, Answered)
    assert "social" in json.loads(outcome.text)


# text ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("Talked to my sister", "Talked to my sister"),
        ("  padded  ", "padded"),
        ("👍", "👍"),
        ("7", "7"),
        ("yes", "yes"),
        ("Ça va, merci!", "Ça va, merci!"),
        ("x" * 20, "x" * 20),
        ("line one\nline two", "line one\nline two"),
    ],
)
def test_text_replies(reply, expected):
    assert parse_reply(NOTE, reply) == Answered(None, expected)


@pytest.mark.parametrize("reply", ["", "   ", "\n\t", "x" * 21])
def test_text_rejects_empty_and_too_long(reply):
    assert parse_reply(NOTE, reply) == Invalid("Reply in your own words")


def test_text_default_max_length_is_500():
    assert parse_reply(LONG_NOTE, "x" * 500) == Answered(None, "x" * 500)
    assert isinstance(parse_reply(LONG_NOTE, "x" * 501), Invalid)


@pytest.mark.parametrize("reply", ["\x00", "\u200b", "\x1b"])
def test_text_of_only_invisible_characters_is_not_an_answer(reply):
    assert isinstance(parse_reply(NOTE, reply), Invalid)


# skipping ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [
        "SKIP",
        "skip",
        "Skip",
        "Skip.",
        " skip ",
        "skip!",
        "Pass",
        "\uff33\uff2b\uff29\uff30",
        '"skip"',
    ],
)
def test_skip_skips_any_item(reply):
    for item in ALL_ITEMS:
        assert parse_reply(item, reply) == Skipped(), item["id"]


@pytest.mark.parametrize("reply", ["skip it", "skipped", "s k i p", "skip 7"])
def test_not_quite_skip(reply):
    assert not is_skip(reply)
    assert parse_reply(MOOD, reply) != Skipped()


# 3. answer_value: as show_if expressions see an answer --------------------------------------


def _branch(item: dict[str, Any], reply: str, expression: str) -> bool:
    outcome = parse_reply(item, reply)
    assert isinstance(outcome, Answered)
    value = answer_value(item, outcome.numeric, outcome.text)
    return parse(expression).evaluate({item["id"]: value})


@pytest.mark.parametrize(
    ("item", "reply", "expected"),
    [
        (YES_NO, "Yes!", True),
        (YES_NO, "nope", False),
        (YES_NO, "👍", True),
        (MOOD, "7/10", 7),
        (BIPOLAR, "-2", -2),
        (MINUTES, "about 30 min", 30),
        (HOURS, "1,5", 1.5),
        (KIND, "2", "sexual"),
        (KIND, "Both", "both"),
        (FREQUENCY, "1", 0),
        (FREQUENCY, "Daily", 2),
        (TOPICS, "1, 3", ["work", "sexual"]),
        (TOPICS, "none", []),
        (MULTI_CODED, "1 3", [0, 2]),
        (NOTE, " hi ", "hi"),
    ],
)
def test_answer_value(item, reply, expected):
    outcome = parse_reply(item, reply)
    assert isinstance(outcome, Answered)
    value = answer_value(item, outcome.numeric, outcome.text)
    assert value == expected
    assert type(value) is type(expected)
    # the store keeps numbers as floats: the same value comes back
    numeric = None if outcome.numeric is None else float(outcome.numeric)
    stored = answer_value(item, numeric, outcome.text)
    assert stored == expected
    if isinstance(expected, bool | str | list):
        assert type(stored) is type(expected)


@pytest.mark.parametrize(
    ("item", "reply", "expression", "expected"),
    [
        (YES_NO, "Yes!", "ai_chat == yes", True),
        (YES_NO, "yes I did", "ai_chat", True),
        (YES_NO, "no thanks", "ai_chat == no", True),
        (YES_NO, "no thanks", "ai_chat", False),
        (MOOD, "seven", "mood >= 7", True),
        (MOOD, "6", "mood >= 7", False),
        (MINUTES, "none", "minutes > 0", False),
        (KIND, "ROMANTIC", "ai_kind in ['romantic', 'sexual', 'both']", True),
        (KIND, "4", "ai_kind in ['romantic', 'sexual', 'both']", False),
        (FREQUENCY, "1", "freq == 0", True),
        (FREQUENCY, "2", "freq >= 1", True),
        (TOPICS, "1 3", "'sexual' in topics", True),
        (TOPICS, "1 2", "'sexual' in topics", False),
        (MULTI_CODED, "3", "2 in when", True),
    ],
)
def test_answers_drive_branching(item, reply, expression, expected):
    assert _branch(item, reply, expression) is expected


def test_answer_value_of_nothing():
    for item in ALL_ITEMS:
        assert answer_value(item, None, None) is None


@settings(max_examples=300, deadline=None)
@given(pair=items_with_replies())
def test_answer_value_round_trip(pair):
    item, reply = pair
    outcome = parse_reply(item, reply)
    if not isinstance(outcome, Answered):
        return
    value = answer_value(item, outcome.numeric, outcome.text)
    kind = item["type"]
    if kind == "yes_no":
        assert value is (outcome.numeric == 1)
    elif kind in ("scale", "slider", "number"):
        assert value == outcome.numeric
        assert isinstance(value, int | float) and not isinstance(value, bool)
    elif kind == "choice":
        options = [o["value"] for o in item["options"]]
        assert any(value == v and type(value) is type(v) for v in options)
        assert str(value) == outcome.text
    elif kind == "multi_choice":
        assert isinstance(value, list)
        assert value == json.loads(outcome.text)
    else:
        assert value == outcome.text


# 4. compact replies --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "words"),
    [
        ("7 2 5", ["7", "2", "5"]),
        ("7, 2;5", ["7", "2", "5"]),
        ("  7   2  ", ["7", "2"]),
        ("7,2", ["7", "2"]),
        ("7\n2\n5", ["7", "2", "5"]),
        ("y 7 3", ["y", "7", "3"]),
        ("7,,2", ["7", "2"]),
    ],
)
def test_split_compact(reply, words):
    assert split_compact(reply) == words


@pytest.mark.parametrize("reply", ["7", " 7 ", "", "   ", ",", "7,", ";7;"])
def test_split_compact_single_word_is_not_compact(reply):
    assert split_compact(reply) == []


@settings(max_examples=200, deadline=None)
@given(reply=st.one_of(st.text(), replies))
def test_split_compact_words_are_non_empty_and_unseparated(reply):
    words = split_compact(reply)
    assert words == [] or len(words) >= 2
    for word in words:
        assert word
        assert not any(ch.isspace() or ch == ";" for ch in word)
        # A comma stays only as a thousands separator: a digit, then exactly three digits.
        assert all(
            re.fullmatch(r"\d,\d{3}", word[i - 1 : i + 4]) and not word[i + 4 : i + 5].isdigit()
            for i, ch in enumerate(word)
            if ch == ","
        )


def test_a_compact_reply_keeps_a_thousands_separator():
    assert split_compact("1,000 2") == ["1,000", "2"]
    assert split_compact("7,2,5") == ["7", "2", "5"]


# 5. options by value: how a stored answer and the web form name an option -------------------


def test_an_option_by_its_value_as_text():
    assert option_with_value(FREQUENCY, "1") == {"value": 1, "label": "Weekly"}
    assert option_with_value(FREQUENCY, "Weekly") is None  # a label is not a value
    assert option_with_value(CODED, "work") == {"value": "work", "label": "At work"}


def test_choosing_an_option_answers_as_an_sms_reply_naming_it():
    weekly = option_with_value(FREQUENCY, "1")
    assert option_answer(weekly) == parse_reply(FREQUENCY, "weekly") == Answered(1, "1")
    chosen = [TOPICS["options"][3], TOPICS["options"][0]]
    assert choices_answer(TOPICS, chosen) == parse_reply(TOPICS, "friends, work")
    assert choices_answer(TOPICS, chosen).text == json.dumps(["work", "friends"])
