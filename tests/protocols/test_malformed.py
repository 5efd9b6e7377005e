"""Malformed protocols that used to crash the validator (issue 20, finding 5): each must give
`file:line:column: field: message`, never a traceback (nor a 500 on the dashboard or the API)."""

from __future__ import annotations

import pytest

from tests.protocols.helpers import at, errors_of, protocol

R = "schedules[1].reminders[0]"


def _with_reminders(reminders: str, more: str = "") -> str:
    return protocol(
        schedules=f"- {{id: t, questionnaire: q, type: fixed, times: ['21:00'], {more}"
        f"reminders: {reminders}}}"
    )


# reminders: the expiry check read `after_minutes` of reminders that had failed their own checks


@pytest.mark.parametrize(
    ("reminders", "expected"),
    [
        ("[{after: 5}]", [("{after", f"{R}.after_minutes: is required"),
                          ("after:", f"{R}.after: unknown field")]),
        ("[{}]", [("{}", f"{R}.after_minutes: is required")]),
        ("[5]", [("5]", f"{R}: must be a mapping of fields")]),
        ("[{after_minutes: x}]", [("x}", f"{R}.after_minutes: must be a whole number")]),
        ("[{after_minutes: -1}]", [("-1", f"{R}.after_minutes: must be greater than or equal "
                                          "to 1")]),
    ],
    ids=["misspelt", "empty", "number", "text", "negative"],
)  # fmt: skip
def test_a_malformed_reminder_is_an_error_not_a_crash(reminders, expected):
    text = _with_reminders(reminders)
    assert errors_of(text) == [at(text, needle, message) for needle, message in expected]


def test_good_reminders_are_still_checked_beside_bad_ones():
    text = _with_reminders("[{after: 5}, {after_minutes: 90}]")
    assert errors_of(text) == [
        at(text, "{after: 5", f"{R}.after_minutes: is required"),
        at(text, "after: 5", f"{R}.after: unknown field"),
        at(text, "90", "schedules[1].reminders[1].after_minutes: must come before the prompt "
           "expires (60 minutes)"),
    ]  # fmt: skip


def test_reminders_are_not_compared_with_an_expiry_that_is_itself_wrong():
    # Not with the default 60 minutes either: the expiry written is simply not a number.
    text = _with_reminders("[{after_minutes: 90}]", more="expires_after_minutes: soon, ")
    assert errors_of(text) == [
        at(text, "soon", "schedules[1].expires_after_minutes: must be a whole number")
    ]


# nesting: PyYAML composes and eas builds values recursively


DEEP_LISTS = "[" * 494 + "]" * 494
TOO_DEEP = "nested too deeply: more than 50 levels of lists or mappings"


BLOCK_STYLE = "study:\n" + "".join(" " * level + "-\n" for level in range(1, 494))


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (DEEP_LISTS, "1:52: [0]"),
        ("study: " + DEEP_LISTS, "1:58: study"),
        ("study: " + "{a: " * 494 + "1" + "}" * 494, "1:205: study"),
        (BLOCK_STYLE, "52:52: study"),  # the 51st list down
    ],
    ids=["document", "field", "mappings", "block-style"],
)
def test_a_deeply_nested_value_is_an_error_not_a_crash(text, where):
    assert errors_of(text) == [f"p.yaml:{where}: {TOO_DEEP}"]


def test_nesting_through_aliases_is_limited_too():
    # Each alias adds its anchor's depth: 20 anchors 40 levels deep make 800 levels.
    lines = ["a0: &a0 1"]
    for number in range(1, 21):
        lines.append(f"a{number}: &a{number} " + "[" * 40 + f"*a{number - 1}" + "]" * 40)
    text = protocol() + "\n".join(lines) + "\n"
    errors = errors_of(text)
    assert len(errors) == 1 and errors[0].endswith(f": a2: {TOO_DEEP}")


def test_a_protocol_nested_as_deep_as_allowed_is_checked_as_usual():
    text = protocol(more="- " + "[" * 49 + "]" * 49)
    assert errors_of(text) == [
        at(text, "- [[", "questionnaires[1]: must be a mapping of fields", 2)
    ]


# numbers PyYAML recognises but Python will not convert


@pytest.mark.parametrize(
    ("number", "shown"),
    [
        ("1" * 5000, "1" * 20 + "... is not a number eas can read (too many digits)"),
        ("0x" + "f" * 4000, "0x" + "f" * 18 + "... is not a number eas can read (too many digits)"),
        ("0x_", "0x_ is not a number eas can read"),
        ("0b_", "0b_ is not a number eas can read"),
    ],
    ids=["5000-digits", "4800-digits-in-hex", "hex-without-digits", "binary-without-digits"],
)
def test_an_unreadable_number_is_an_error_not_a_crash(number, shown):
    text = protocol().replace("duration_days: 7", f"duration_days: {number}")
    assert errors_of(text) == [
        at(text, number, f"study.duration_days: {shown}"),
        at(
            text, number, 'study.duration_days: must be a whole number of days or "until_withdrawn"'
        ),
    ]


# branching on a number item with one bound


@pytest.mark.parametrize(
    ("bounds", "condition", "message"),
    [
        ("min: 0", "n == -1", "-1 is outside 'n' range (at least 0)"),
        ("max: 10", "n > 11", "11 is outside 'n' range (at most 10)"),
    ],
    ids=["at-least", "at-most"],
)
def test_a_comparison_outside_a_half_open_range_is_an_error_not_a_crash(bounds, condition, message):
    text = protocol(
        items=f"- {{id: n, type: number, {bounds}, text: N}}\n"
        f"- {{id: m, type: yes_no, text: M, show_if: '{condition}'}}"
    )
    assert errors_of(text) == [
        at(text, condition, f"questionnaires[0].items[5].show_if: {message}")
    ]


def test_validate_prints_a_malformed_reminder_as_an_error_line(runner, tmp_path):
    path = tmp_path / "p.yaml"
    text = _with_reminders("[{after: 5}]")
    path.write_text(text, encoding="utf-8")
    result = runner.invoke(args=["protocol", "validate", str(path)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)  # no traceback
    expected = [
        at(text, "{after", f"{R}.after_minutes: is required"),
        at(text, "after:", f"{R}.after: unknown field"),
    ]
    assert result.stdout.splitlines() == [line.replace("p.yaml", str(path), 1) for line in expected]


def test_a_number_too_large_to_show_in_an_expression_is_an_error_not_a_crash():
    condition = "mood == 0x" + "f" * 4000
    text = protocol(items=f"- {{id: m, type: yes_no, text: M, show_if: '{condition}'}}")
    assert errors_of(text) == [
        at(text, "0x", "questionnaires[0].items[4].show_if: the number is too large "
           "(at most 1,000,000,000,000,000,000)")
    ]  # fmt: skip


# keys YAML reads as other things than text


def test_null_true_and_number_keys_are_named_as_written():
    text = protocol().replace("title: Demo", "title: Demo, false: x") + "~: 1\n1.5: 2\n"
    assert errors_of(text) == [
        at(text, "false", "study.false: unknown field"),
        at(text, "~", "null: unknown field"),
        at(text, "1.5", "1.5: unknown field"),
    ]


def test_keys_with_line_breaks_or_spaces_are_quoted_and_every_error_stays_one_line():
    text = protocol() + '"a\\nb": 1\n"a\\nb": 2\n"": 3\n" c": 4\n'
    assert errors_of(text) == [
        'p.yaml:11:1: "a\\nb": unknown field',
        "p.yaml:12:1: \"a\\nb\": key 'a\\nb' appears twice (first on line 11)",
        'p.yaml:13:1: "": unknown field',
        'p.yaml:14:1: " c": unknown field',
    ]
