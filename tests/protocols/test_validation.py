"""Protocol validation: schemas, cross-references and error positions (file:line:column)."""

from __future__ import annotations

import hashlib

import pytest

from eas.protocols.validation import ProtocolInvalid, validate_protocol_file, validate_protocol_text
from tests.helpers import DEMO_PROTOCOL, ROOT
from tests.protocols.helpers import ITEMS_HERE, STUDY, at, errors_of, protocol

TEN_MISTAKES = ROOT / "tests" / "protocols" / "data" / "ten_mistakes.yaml"

# the demo protocol --------------------------------------------------------------------------


def test_demo_protocol_validates(demo_protocol):
    text = DEMO_PROTOCOL.read_text(encoding="utf-8")
    assert demo_protocol.study_id == "ai-connection"
    assert demo_protocol.source_name == str(DEMO_PROTOCOL)
    assert demo_protocol.source_text == text
    assert demo_protocol.source_hash == hashlib.sha256(text.encode()).hexdigest()
    definition = demo_protocol.definition
    ids = {
        part: [x["id"] for x in definition[part]]
        for part in ("questionnaires", "schedules", "alerts")
    }
    assert ids == {
        "questionnaires": ["momentary", "evening", "ai_event", "baseline", "exit"],
        "schedules": ["beeps", "diary", "after_ai", "intake", "closing"],
        "alerts": ["high_distress", "crisis_words"],
    }


def test_demo_definition_has_defaults_filled(demo_protocol):
    definition = demo_protocol.definition
    assert definition["study"]["sms"] == {"max_segments": 2, "resubscribe": False}
    assert definition["questionnaires"][0]["compact_replies"] is True
    assert definition["questionnaires"][1]["compact_replies"] is False
    assert definition["participant_defaults"] == dict(wake="09:00", sleep="22:00", channel="sms")
    items = {item["id"]: item for q in definition["questionnaires"] for item in q["items"]}
    assert items["ai_connected"]["anchors"] == [
        {"value": 0, "label": "not at all"},
        {"value": 10, "label": "extremely"},
    ]
    assert (items["lonely"]["min"], items["lonely"]["max"]) == (0, 10)
    assert type(items["lonely"]["min"]) is int
    assert items["ai_chat"]["required"] is False
    assert items["ai_intimate"]["options"][0] == {"value": "neither", "label": "No"}
    assert items["ucla_left_out"]["options"][0] == {"value": 1, "label": "Hardly ever"}
    assert (items["ev_topics"]["min_choices"], items["ev_topics"]["max_choices"]) == (0, 5)
    assert items["day_note"]["max_length"] == 1000
    assert items["day_ai_minutes"]["integer"] is True
    schedules = {s["id"]: s for s in definition["schedules"]}
    assert schedules["beeps"]["min_gap_minutes"] == 90
    assert schedules["after_ai"]["reminders"] == []
    assert schedules["diary"]["times"] == ["21:30"]
    assert definition["alerts"][1]["notify"] == ["coordinators"]
    # `exit` reuses baseline's items through a YAML alias
    assert definition["questionnaires"][4]["items"] == definition["questionnaires"][3]["items"]


def test_defaults_and_normalisation_in_a_small_protocol():
    text = protocol(
        items="""\
        - {id: x, type: slider, text: X, anchors: {100: high, 0: low}}
        - {id: y, type: number, text: Y}
        - {id: z, type: text, text: Z}
        """,
        schedules="- {id: t, questionnaire: q, type: fixed, times: ['21:30', '9:05', '12:00']}\n"
        "- {id: r, questionnaire: q, type: random, per_day: 3}\n",
    )
    definition = validate_protocol_text(text, "p.yaml").definition
    items = {item["id"]: item for item in definition["questionnaires"][0]["items"]}
    assert (items["x"]["min"], items["x"]["max"]) == (0, 100)
    assert items["x"]["anchors"] == [{"value": 0, "label": "low"}, {"value": 100, "label": "high"}]
    assert items["mood"]["anchors"] == []
    assert items["kind"]["options"] == [{"value": "a", "label": "a"}, {"value": "b", "label": "b"}]
    assert (items["kinds"]["min_choices"], items["kinds"]["max_choices"]) == (0, 3)
    assert items["y"]["integer"] is False
    assert items["z"]["max_length"] == 500
    assert definition["schedules"][1]["times"] == ["09:05", "12:00", "21:30"]
    assert definition["schedules"][2]["min_gap_minutes"] == 0
    assert definition["schedules"][2]["expires_after_minutes"] == 60
    assert definition["alerts"] == []


# the ten-mistakes example -------------------------------------------------------------------


def test_ten_mistakes_yields_exactly_ten_errors_in_file_order():
    with pytest.raises(ProtocolInvalid) as info:
        validate_protocol_file(TEN_MISTAKES)
    f = str(TEN_MISTAKES)
    q = "questionnaires[0].items"
    assert [str(error) for error in info.value.errors] == [
        f"{f}:2:7: study.id: must be lower-case letters, digits and dashes",
        f'{f}:4:13: study.timezone: "Europe/Berln" is not an IANA time zone '
        '(e.g. "America/New_York", "Europe/Berlin")',
        f"{f}:11:46: {q}[1].max: must be greater than min (7)",
        f"{f}:12:76: {q}[2].show_if: names item 'later_item', which comes later; "
        "show_if may only use earlier items",
        f"{f}:13:14: {q}[3].id: duplicate item id 'lonely' (also items[0])",
        f"{f}:14:97: {q}[4].show_if: 'ai_chat' is a yes/no item: compare it with yes or no, not 3",
        f"{f}:17:15: {q}[5].text: as a text message this item needs 3 SMS segments "
        "(332 GSM-7 characters with its answer hint); the study allows 2: shorten it or add "
        "a shorter sms_text",
        f"{f}:18:56: {q}[6].colour: unknown field",
        f"{f}:20:66: schedules[0].per_day: 8 prompts at least 120 minutes apart need 960 "
        "minutes, but on Mondays the default waking day (participant_defaults) 09:00-21:00 "
        "has 631 minutes once kept clear of the fixed SMS prompts (720 without them)",
        f"{f}:21:32: schedules[1].questionnaire: unknown questionnaire 'evening' "
        "(known: momentary)",
    ]
    assert str(info.value).splitlines()[0] == str(info.value.errors[0])


# one check at a time: (extra protocol parts, where the error points, message) ---------------

Q = "questionnaires[0].items[4]"


def case(needle, message, shift=0, id=None, **parts):
    return pytest.param(parts, needle, shift, message, id=id)


SINGLE_ERRORS = [
    case("colour", f"{Q}.colour: unknown field",
         items="- {id: x, type: yes_no, text: X, colour: 1}"),
    case("{id: x", f"{Q}.text: is required", items="- {id: x, type: yes_no}", id="required"),
    case("max: 5", f"{Q}.max: must be greater than min (5)", 5,
         items="- {id: x, type: scale, min: 5, max: 5, text: X}", id="scale-max-eq-min"),
    case("max: 3", f"{Q}.max: must be greater than min (10)", 5,
         items="- {id: x, type: number, min: 10, max: 3, text: X}", id="number-max-lt-min"),
    case("max: 0", f"{Q}.max: must be greater than min (0)", 5,
         items="- {id: x, type: slider, max: 0, text: X}", id="slider-default-min"),
    case("{0: low", f"{Q}.anchors: anchor 0 is outside the range 1-5",
         items="- {id: x, type: scale, min: 1, max: 5, anchors: {0: low, 5: hi}, text: X}"),
    case("{150", f"{Q}.anchors: anchor 150 is outside the range 0-100",
         items="- {id: x, type: slider, anchors: {150: top}, text: X}", id="slider-anchor"),
    case("{id: x", f"{Q}.options: is required for a choice item",
         items="- {id: x, type: choice, text: X}", id="choice-no-options"),
    case("{id: x", f"{Q}.options: is required for a multi_choice item",
         items="- {id: x, type: multi_choice, text: X}", id="multi-no-options"),
    case("[b, {", f"{Q}.options: option values must differ; repeated: b",
         items="- {id: x, type: choice, text: X, options: [b, {value: b, label: B}]}"),
    case("[{", f"{Q}.options: option values must differ; repeated: 1",
         items="- {id: x, type: choice, text: X, options: [{value: 1, label: A}, "
         "{value: 1, label: B}]}", id="duplicate-int-options"),
    case("[a;b", f"{Q}.options: a multi_choice option cannot contain ';': a;b, C;D",
         items="- {id: x, type: multi_choice, text: X, options: [a;b, {value: c, label: C;D}]}",
         id="semicolon-in-multi-choice"),
    case("[c]", f"{Q}.options: length must be between 2 and 20",
         items="- {id: x, type: choice, text: X, options: [c]}", id="one-option"),
    case("max_choices: 4", f"{Q}.max_choices: there are only 3 options", 13,
         items="- {id: x, type: multi_choice, text: X, options: [c, d, e], max_choices: 4}"),
    case("options: [c", f"{Q}.options: does not apply to a scale item", 9,
         items="- {id: x, type: scale, min: 0, max: 4, options: [c, d], text: X}"),
    case("max_length: 9", f"{Q}.max_length: does not apply to a yes_no item", 12,
         items="- {id: x, type: yes_no, max_length: 9, text: X}"),
    case("times: ['10", "schedules[1].times: does not apply to a random schedule", 7,
         schedules="- {id: r, questionnaire: q, type: random, per_day: 3, times: ['10:00']}"),
    case("nope", f"{Q}.show_if: names unknown item 'nope' ({ITEMS_HERE})",
         items="- {id: x, type: yes_no, text: X, show_if: 'ok and nope == yes'}"),
    case("x == yes", f"{Q}.show_if: item 'x' cannot depend on itself",
         items="- {id: x, type: yes_no, text: X, show_if: 'ok or x == yes'}", id="show-if-self"),
    case("show_if: later", f"{Q}.show_if: names item 'later', which comes later; show_if may "
         "only use earlier items", 9, items="- {id: x, type: yes_no, text: X, show_if: later}\n"
         "- {id: later, type: yes_no, text: L}", id="show-if-later"),
    case("ok ==", f"{Q}.show_if: 'ok' is a yes/no item: compare it with yes or no, not 1",
         items="- {id: x, type: yes_no, text: X, show_if: 'ok == 1'}", id="yes-no-vs-number"),
    case("kind ==", f"{Q}.show_if: 'c' is not an option of 'kind' (options: 'a', 'b')",
         items="- {id: x, type: yes_no, text: X, show_if: \"kind == 'c'\"}", id="not-an-option"),
    case("kind in", f"{Q}.show_if: 'z' is not an option of 'kind' (options: 'a', 'b')",
         items="- {id: x, type: yes_no, text: X, show_if: \"kind in ['a', 'z']\"}"),
    case('kinds"', f"{Q}.show_if: 'd' is not an option of 'kinds' (options: 'a', 'b', 'c')",
         items="- {id: x, type: yes_no, text: X, show_if: \"'d' in kinds\"}"),
    case("mood < 11", f"{Q}.show_if: 11 is outside 'mood' range 0-10",
         items="- {id: x, type: yes_no, text: X, show_if: '2 < mood < 11'}", id="scale-range"),
    case("mood >", f"{Q}.show_if: 'mood' is a scale item: compare it with a number, not 'hi'",
         items="- {id: x, type: yes_no, text: X, show_if: \"mood > 'hi'\"}"),
    case(">> =", f"{Q}.show_if: invalid syntax (invalid syntax)", 3,
         items="- {id: x, type: yes_no, text: X, show_if: 'mood >> = 3'}", id="syntax"),
    case("len(", f"{Q}.show_if: function calls are not allowed in expressions",
         items="- {id: x, type: yes_no, text: X, show_if: 'len(mood) > 3'}", id="call"),
    case("ok, type: yes_no, text: Again", f"{Q}.id: duplicate item id 'ok' (also items[1])",
         items="- {id: ok, type: yes_no, text: Again}", id="duplicate-item"),
    case("id: q\n    items: [", "questionnaires[1].id: duplicate questionnaire id 'q' "
         "(also questionnaires[0])", 4, more="- id: q\n  items: [{id: a, type: yes_no, text: A}]"),
    case("s, questionnaire: q, type: once", "schedules[1].id: duplicate schedule id 's' "
         "(also schedules[0])",
         schedules="- {id: s, questionnaire: q, type: once, day: 1, time: '9:00'}"),
    case("id: a}", "alerts[1].id: duplicate alert id 'a' (also alerts[0])", 4,
         alerts="- {id: a, when: 'mood > 8'}\n- {keywords: [help me], id: a}"),
    case("nope", "schedules[1].questionnaire: unknown questionnaire 'nope' (known: q)",
         schedules="- {id: t, questionnaire: nope, type: fixed, times: ['21:00']}"),
    case("nope", "alerts[0].questionnaire: unknown questionnaire 'nope' (known: q)",
         alerts="- {id: a, questionnaire: nope, when: 'distress > 8'}", id="alert-unknown-q"),
    case("distress", "alerts[0].when: names unknown item 'distress' "
         "(items here: kind, kinds, mood, ok)", alerts="- {id: a, when: 'mood > 8 or distress'}"),
    case("{id: a", "alerts[0].when: give `when`, `keywords` or both",
         alerts="- {id: a, reply: hello}", id="alert-without-rule"),
    case("30}", "schedules[1].reminders[0].after_minutes: must come before the prompt expires "
         "(30 minutes)", schedules="- {id: t, questionnaire: q, type: fixed, times: ['21:00'], "
         "expires_after_minutes: 30, reminders: [{after_minutes: 30}]}", id="reminder-expiry"),
    case("60}", "schedules[1].reminders[0].after_minutes: must come before the prompt expires "
         "(60 minutes)", schedules="- {id: t, questionnaire: q, type: fixed, times: ['21:00'], "
         "reminders: [{after_minutes: 60}]}", id="reminder-default-expiry"),
    case("per_day: 10", "schedules[1].per_day: 10 prompts at least 90 minutes apart need 900 "
         "minutes, but on Mondays the default waking day (participant_defaults) 09:00-22:00 "
         "has 601 minutes once kept clear of the fixed SMS prompts (780 without them)", 9,
         schedules="- {id: r, questionnaire: q, type: random, per_day: 10, min_gap_minutes: 90}"),
    case("5,", "schedules[1].per_day: 5 prompts at least 60 minutes apart need 300 minutes, "
         "but on Mondays the window 22:00-02:00 has 240 minutes",
         schedules="- {id: r, questionnaire: q, type: random, per_day: 5, min_gap_minutes: 60, "
         "window: {start: '22:00', end: '2:00'}}"),
    case("8,", "schedules[1].day: day 8 is after the study's last day (7)",
         schedules="- {id: o, questionnaire: q, type: once, day: 8, time: '10:00'}"),
    case("9]", "schedules[1].days[1]: day 9 is after the study's last day (7)",
         schedules="- {id: o, questionnaire: q, type: fixed, times: ['10:00'], days: [1, 9]}"),
    case("stop", "schedules[1].keyword: 'STOP' is reserved for SMS commands",
         schedules="- {id: e, questionnaire: q, type: event, keyword: stop}", id="reserved"),
    case("ai}", "schedules[2].keyword: keyword 'AI' is also used by schedules[1]",
         schedules="- {id: e, questionnaire: q, type: event, keyword: AI}\n"
         "- {id: f, questionnaire: q, type: event, keyword: ai}", id="duplicate-keyword"),
    case("'25:00'", 'schedules[1].times[0]: "25:00" is not a time of day; write "HH:MM" '
         '(00:00-23:59) or an offset from the waking day such as "wake+30m", "sleep-1h" or '
         '"wake+1h30m"', schedules="- {id: t, questionnaire: q, type: fixed, times: ['25:00']}"),
    case("25:00", 'schedules[1].times[0]: "25:00" is not a time of day; write "HH:MM" '
         '(00:00-23:59) or an offset from the waking day such as "wake+30m", "sleep-1h" or '
         '"wake+1h30m"', schedules="- {id: t, questionnaire: q, type: fixed, times: [25:00]}"),
    case("930", 'schedules[1].time: must be a time written "HH:MM", in quotes',
         schedules="- {id: o, questionnaire: q, type: once, day: 1, time: 930}"),
    case("Mars", 'study.timezone: "Mars/Olympus" is not an IANA time zone (e.g. '
         '"America/New_York", "Europe/Berlin")',
         head=STUDY.replace("Europe/Berlin", "Mars/Olympus")),
]  # fmt: skip


@pytest.mark.parametrize(("parts", "needle", "shift", "message"), SINGLE_ERRORS)
def test_single_error(parts, needle, shift, message):
    text = protocol(**parts)
    assert errors_of(text) == [at(text, needle, message, shift)]


@pytest.mark.parametrize(
    "parts",
    [
        {"items": "- {id: x, type: yes_no, text: X, show_if: \"ok and kind in ['a', 'b']\"}"},
        {"items": "- {id: x, type: yes_no, text: X, show_if: \"'c' in kinds and 0 <= mood\"}"},
        {"alerts": "- {id: a, when: 'mood >= 8', questionnaire: q}\n- {id: b, keywords: [hi]}"},
        {
            "schedules": "- {id: r, questionnaire: q, type: random, per_day: 4, "
            "min_gap_minutes: 60, window: {start: '22:00', end: '02:00'}}"
        },
        {"schedules": "- {id: o, questionnaire: q, type: once, day: 7, time: 9:30}"},
        {"schedules": "- {id: e, questionnaire: q, type: event, keyword: mood}"},
    ],
    ids=["show-if", "containment", "alerts", "midnight-window-fits", "last-day", "keyword"],
)
def test_valid_variants(parts):
    validate_protocol_text(protocol(**parts), "p.yaml")


def test_unquoted_times_are_read_as_times():
    text = protocol(schedules="- {id: t, questionnaire: q, type: fixed, times: [21:30, 7:05]}")
    assert validate_protocol_text(text).definition["schedules"][1]["times"] == ["07:05", "21:30"]


def test_scale_without_min_and_max():
    text = protocol(items="- {id: x, type: scale, text: X}")
    assert errors_of(text) == [
        at(text, "{id: x", f"{Q}.max: is required for a scale item"),
        at(text, "{id: x", f"{Q}.min: is required for a scale item"),
    ]


def test_unknown_top_level_field_points_at_the_key():
    text = protocol() + "extras: {a: 1}\n"
    assert errors_of(text) == [at(text, "extras", "extras: unknown field")]


# SMS length -----------------------------------------------------------------------------------

LONG = "x" * 330
SMS_MESSAGE = (
    "as a text message this item needs 3 SMS segments (347 GSM-7 characters with its answer "
    "hint); the study allows 2: shorten it or add a shorter sms_text"
)


@pytest.mark.parametrize(
    ("fields", "blamed"),
    [(f"text: {LONG}", "text"), (f"text: Short, sms_text: {LONG}", "sms_text")],
)
def test_sms_text_too_long(fields, blamed):
    text = protocol(items=f"- {{id: x, type: yes_no, {fields}}}")
    assert errors_of(text) == [at(text, LONG, f"{Q}.{blamed}: {SMS_MESSAGE}")]


@pytest.mark.parametrize(
    "change",
    [
        lambda text: text.replace(LONG + "}", LONG + ", sms_text: Short}"),
        lambda text: text.replace("times: ['20:00']}", "times: ['20:00'], channel: web}"),
        lambda text: text.replace(
            "questionnaires:", "participant_defaults: {channel: web}\nquestionnaires:"
        ),
        lambda text: text.replace("duration_days: 7}", "duration_days: 7, sms: {max_segments: 3}}"),
    ],
    ids=["shorter-sms-text", "web-schedule", "web-by-default", "more-segments"],
)
def test_a_long_text_is_fine_when_not_sent_as_a_long_sms(change):
    text = change(protocol(items=f"- {{id: x, type: yes_no, text: {LONG}}}"))
    validate_protocol_text(text, "p.yaml")


# whole files ----------------------------------------------------------------------------------


def test_yaml_syntax_error_is_one_error_with_its_line():
    text = protocol(alerts="- {id: a, when: 'mood > 8'}").replace("text: OK}", "text: OK}}")
    assert errors_of(text) == [
        at(text, "}}", "YAML syntax error: expected <block end>, but found '}'", 1)
    ]


@pytest.mark.parametrize("text", ["- a\n- b\n", "just text\n", "", "# only a comment\n"])
def test_a_document_that_is_not_a_mapping(text):
    assert errors_of(text) == [
        "p.yaml:1:1: a protocol is a mapping with study, questionnaires and schedules"
    ]


def test_a_file_that_is_not_utf8(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(protocol().replace("Demo", "Caf\u00e9").encode("latin-1"))
    with pytest.raises(ProtocolInvalid) as info:
        validate_protocol_file(path)
    assert [str(error) for error in info.value.errors] == [
        f"{path}:1:1: not UTF-8 text (invalid continuation byte)"
    ]


def test_duplicate_keys_and_merge_keys_are_protocol_errors():
    text = protocol().replace("    items:\n", "    id: q2\n    items:\n", 1)
    text = text.replace("text: OK}", "text: OK, <<: {note: n}}")
    assert errors_of(text) == [
        at(text, "id: q2", "questionnaires[0].id: key 'id' appears twice (first on line 3)"),
        at(text, "<<", "questionnaires[0].items[1]: merge keys (<<) are not supported; write the "
           "fields out"),
    ]  # fmt: skip


def test_all_errors_at_once_sorted_by_line_and_column():
    text = protocol(
        items="- {id: x, type: yes_no, text: X, colour: 1, show_if: 'nope'}",
        schedules="- {id: t, questionnaire: nowhere, type: fixed, times: ['9:00']}",
        alerts="- {id: a, reply: hi}",
        head=STUDY.replace("id: demo", "id: Demo"),
    )
    assert errors_of(text) == [
        at(text, "id: Demo", "study.id: must be lower-case letters, digits and dashes", 4),
        at(text, "colour", f"{Q}.colour: unknown field"),
        at(text, "nope", f"{Q}.show_if: names unknown item 'nope' ({ITEMS_HERE})"),
        at(text, "nowhere", "schedules[1].questionnaire: unknown questionnaire 'nowhere' "
           "(known: q)"),
        at(text, "{id: a", "alerts[0].when: give `when`, `keywords` or both"),
    ]  # fmt: skip


def test_errors_inside_block_scalars_point_at_the_scalar():
    text = protocol(items="- id: x\n  type: yes_no\n  text: X\n  show_if: >\n    nope\n")
    assert errors_of(text) == [
        at(text, ">\n", f"{Q}.show_if: names unknown item 'nope' ({ITEMS_HERE})")
    ]


# known bugs -----------------------------------------------------------------------------------


def test_an_item_inside_a_list_is_an_error_not_a_crash():
    text = protocol(items="- {id: x, type: yes_no, text: X, show_if: 'mood in [ok, 1]'}")
    assert [error.split(": ", 2)[2] for error in errors_of(text)] == [
        "a list may only hold values (numbers, 'text', yes, no)"
    ]


def test_equality_with_a_multi_choice_item_is_an_error():
    text = protocol(items="- {id: x, type: yes_no, text: X, show_if: \"kinds == 'a'\"}")
    assert [error.split(": ", 2)[2] for error in errors_of(text)] == [
        "'kinds' is a multi_choice item (a set of choices): test a choice with 'value' in kinds"
    ]


def test_columns_in_expressions_count_characters():
    text = protocol(
        items="- {id: x, type: choice, text: X, options: [müde, wach]}\n"
        "- {id: y, type: yes_no, text: Y, show_if: \"x == 'müde' and zzz\"}"
    )
    assert errors_of(text) == [
        at(text, "zzz", "questionnaires[0].items[5].show_if: names unknown item 'zzz' "
           "(items here: kind, kinds, mood, ok, x, y)")
    ]  # fmt: skip


def test_an_intro_too_long_to_go_out_with_the_first_item_is_an_error():
    intro = "Hello there, this is your check-in for today; a few quick questions follow, so "
    text = f"""\
study: {{id: x, title: X, timezone: UTC, duration_days: 2, sms: {{max_segments: 1}}}}
questionnaires:
  - id: q
    intro: "{intro}please take a moment now."
    items:
      - {{id: a, type: scale, min: 0, max: 10, text: "How lonely do you feel right now, 0 to 10?"}}
schedules:
  - {{id: s, questionnaire: q, type: fixed, times: ["10:00"]}}
"""
    (error,) = errors_of(text)
    assert error.startswith("p.yaml:4:12: questionnaires[0].intro: sent with the first item")
    assert "needs 2 SMS segments" in error


@pytest.mark.parametrize("column", ["day", "arm"])
def test_item_ids_that_are_export_columns_are_refused(column):
    text = DEMO_PROTOCOL.read_text().replace("id: lonely\n", f"id: {column}\n", 1)
    errors = errors_of(text)
    assert any(
        f"questionnaires[0].items[5].id: '{column}' names a column of every export" in e
        for e in errors
    )
