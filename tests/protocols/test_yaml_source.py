"""Reading YAML with positions, without YAML 1.1 surprises."""

from __future__ import annotations

import textwrap

import pytest

from eas.protocols.validation import ProtocolInvalid, validate_protocol_text
from eas.protocols.yaml_source import Position, SourceMap, YamlSourceError, load_yaml


def load(text: str):
    return load_yaml(textwrap.dedent(text))


# positions ----------------------------------------------------------------------------------

NESTED = """\
study:
  id: demo
  items:
    - 1
    - {a: 'x', b: "y"}
"""


def test_positions_are_one_based_line_and_column():
    data, source_map, errors = load(NESTED)
    assert errors == []
    assert data == {"study": {"id": "demo", "items": [1, {"a": "x", "b": "y"}]}}
    values = source_map.values
    assert values[()] == Position(1, 1)
    assert values[("study",)] == Position(2, 3)
    assert values[("study", "id")] == Position(2, 7)
    assert values[("study", "items", 0)] == Position(4, 7)
    assert values[("study", "items", 1)] == Position(5, 7)
    assert values[("study", "items", 1, "a")] == Position(5, 11)
    assert values[("study", "items", 1, "b")] == Position(5, 19)


def test_keys_have_their_own_positions():
    _, source_map, _ = load(NESTED)
    assert source_map.keys[("study",)] == Position(1, 1)
    assert source_map.keys[("study", "id")] == Position(2, 3)
    assert source_map.keys[("study", "items", 1, "b")] == Position(5, 16)
    assert ("study", "items", 0) not in source_map.keys  # list entries have no key


def test_scalar_styles_are_recorded():
    text = """\
    plain: a
    single: 'b'
    double: "c"
    literal: |
      d
    folded: >
      e
    """
    _, source_map, _ = load(text)
    assert source_map.styles == {
        ("plain",): None,
        ("single",): "'",
        ("double",): '"',
        ("literal",): "|",
        ("folded",): ">",
    }


# SourceMap.locate ---------------------------------------------------------------------------


def test_locate_finds_a_value_or_a_key():
    _, source_map, _ = load(NESTED)
    assert source_map.locate(("study", "id")) == Position(2, 7)
    assert source_map.locate(("study", "id"), key=True) == Position(2, 3)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (("study", "missing"), Position(2, 3)),
        (("study", "items", 1, "c"), Position(5, 7)),
        (("study", "items", 7, "x", "y"), Position(4, 5)),
        (("elsewhere", 0), Position(1, 1)),
    ],
)
def test_locate_falls_back_to_the_nearest_ancestor(path, expected):
    _, source_map, _ = load(NESTED)
    assert source_map.locate(path) == expected


def test_locate_a_missing_key_falls_back_to_the_ancestors_value():
    _, source_map, _ = load(NESTED)
    assert source_map.locate(("study", "title"), key=True) == Position(2, 3)


def test_locate_in_an_empty_map_is_the_start_of_the_file():
    assert SourceMap().locate(("a", 0, "b")) == Position(1, 1)
    assert SourceMap().locate((), key=True) == Position(1, 1)


# scalars: no YAML 1.1 surprises -------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("21:30", "21:30"),
        ("9:30", "9:30"),
        ("09:30", "09:30"),
        ("1:30:00", "1:30:00"),
        ("-1:30", "-1:30"),
        ("'21:30'", "21:30"),
        ("no", "no"),
        ("yes", "yes"),
        ("No", "No"),
        ("YES", "YES"),
        ("on", "on"),
        ("off", "off"),
        ("y", "y"),
        ("true", True),
        ("false", False),
        ("True", True),
        ("FALSE", False),
        ("~", None),
        ("null", None),
        ("", None),
        ("12", 12),
        ("-3", -3),
        ("1_000", 1000),
        ("1.5", 1.5),
        ("'12'", "12"),
        ("2024-01-01", "2024-01-01"),
        ("2024-01-01 10:00:00", "2024-01-01 10:00:00"),
        ("hello world", "hello world"),
    ],
)
def test_scalars(written, expected):
    data, _, errors = load_yaml(f"value: {written}\n")
    assert errors == []
    assert data["value"] == expected
    assert type(data["value"]) is type(expected)


def test_a_time_is_not_a_sexagesimal_number():
    data, _, _ = load_yaml("times: [21:30, 7:05]\n")
    assert data["times"] == ["21:30", "7:05"]  # PyYAML's safe_load gives [1290, 425]


def test_yes_and_no_as_options_and_keys_stay_words():
    data, _, _ = load_yaml("options: [yes, no, maybe]\nno: 1\n")
    assert data == {"options": ["yes", "no", "maybe"], "no": 1}


def test_aliases_are_expanded_into_independent_copies():
    data, source_map, errors = load("a: &shared [{x: 1}]\nb: *shared\n")
    assert errors == []
    assert data["a"] == data["b"] == [{"x": 1}]
    assert data["a"] is not data["b"]
    assert data["a"][0] is not data["b"][0]
    assert source_map.values[("b", 0, "x")] == Position(1, 17)  # where the anchor wrote it


def test_empty_text_is_no_document():
    data, source_map, errors = load_yaml("")
    assert (data, errors) == (None, [])
    assert source_map == SourceMap()


def test_comment_only_text_is_no_document():
    assert load_yaml("# nothing here\n")[0] is None


# structural errors are collected, not raised ------------------------------------------------


def test_duplicate_key_names_the_first_line():
    text = """\
    study:
      id: one
      title: T
      id: two
    """
    data, _, errors = load(text)
    assert data == {"study": {"id": "one", "title": "T"}}  # the first value is kept
    assert len(errors) == 1
    error = errors[0]
    assert error.message == "key 'id' appears twice (first on line 2)"
    assert error.position == Position(4, 3)
    assert error.path == ("study", "id")


def test_duplicate_keys_inside_a_list_entry():
    _, _, errors = load("items:\n  - {id: a, text: x, id: b}\n")
    assert [(e.message, e.position, e.path) for e in errors] == [
        ("key 'id' appears twice (first on line 2)", Position(2, 22), ("items", 0, "id"))
    ]


def test_every_duplicate_is_reported():
    _, _, errors = load("a: 1\nb: 2\na: 3\nb: 4\na: 5\n")
    assert [(e.message, e.position.line) for e in errors] == [
        ("key 'a' appears twice (first on line 1)", 3),
        ("key 'b' appears twice (first on line 2)", 4),
        ("key 'a' appears twice (first on line 1)", 5),
    ]


def test_merge_keys_are_rejected():
    text = """\
    base: &base {type: scale, min: 0}
    item:
      <<: *base
      id: mood
    """
    data, _, errors = load(text)
    assert data["item"] == {"id": "mood"}  # nothing merged in
    assert [(e.message, e.position, e.path) for e in errors] == [
        (
            "merge keys (<<) are not supported; write the fields out",
            Position(3, 3),
            ("item",),
        )
    ]


def test_keys_that_are_not_scalars_are_rejected():
    data, _, errors = load("? [a, b]\n: 1\nok: 2\n")
    assert data == {"ok": 2}
    assert [(e.message, e.position, e.path) for e in errors] == [
        ("keys must be plain names", Position(1, 3), ())
    ]


# syntax errors are raised with a position ---------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message", "position"),
    [
        ("a: [1, 2\nb: 3\n", "YAML syntax error: expected ',' or ']', but got ':'", (2, 2)),
        ("a: 1\n  b: 2\n", "YAML syntax error: mapping values are not allowed here", (2, 4)),
        ('a: "open\n', "YAML syntax error: found unexpected end of stream", (2, 1)),
        ("a: 1\n---\nb: 2\n", "YAML syntax error: but found another document", (2, 1)),
        ("a: *nowhere\n", "YAML syntax error: found undefined alias 'nowhere'", (1, 4)),
    ],
)
def test_syntax_errors_raise_with_a_position(text, message, position):
    with pytest.raises(YamlSourceError) as info:
        load_yaml(text)
    assert info.value.message == message
    assert info.value.position == Position(*position)
    assert info.value.path == ()
    assert isinstance(info.value, ValueError)


# known bugs ---------------------------------------------------------------------------------


def test_a_recursive_alias_is_reported_not_followed_forever():
    data, _, errors = load_yaml("a: &loop [*loop]\n")
    assert data == {"a": [None]}
    assert [(e.message, e.path, e.position.line) for e in errors] == [
        ("an alias refers to itself", ("a", 0), 1)
    ]


def test_a_control_character_is_a_yaml_source_error():
    with pytest.raises(YamlSourceError) as info:
        load_yaml("study:\n  title: bell\x07\n")
    assert info.value.position.line == 2


def test_aliases_of_aliases_stop_before_memory_runs_out():
    levels = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for name, previous in zip("bcdefghi", "abcdefgh", strict=True):
        levels.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
    with pytest.raises(ProtocolInvalid) as info:
        validate_protocol_text("\n".join(levels) + "\n", "laughs.yaml")
    (error,) = info.value.errors
    assert "expands to more than 100,000 values" in error.message
