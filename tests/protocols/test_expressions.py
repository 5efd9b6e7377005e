"""The `show_if` / alert expression language: parsing, safety and evaluation."""

from __future__ import annotations

import pytest

from eas.protocols.expressions import Comparison, Expression, ExpressionError, parse

# parsing ------------------------------------------------------------------------------------


def test_parse_returns_an_expression_with_the_stripped_source():
    expression = parse("  distress >= 8  ")
    assert isinstance(expression, Expression)
    assert expression.source == "distress >= 8"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("", "expression is empty"),
        ("   ", "expression is empty"),
        (None, "expression is empty"),
        (8, "expression is empty"),
        ("a == 1\nor b == 2", "expression must fit on one line"),
    ],
)
def test_parse_rejects_empty_non_text_and_multi_line_sources(source, message):
    with pytest.raises(ExpressionError) as info:
        parse(source)
    assert info.value.message == message
    assert info.value.offset == 0


def test_surrounding_newlines_are_not_multi_line():
    assert parse("\n  ai_chat == yes \n").source == "ai_chat == yes"


def test_expression_error_is_a_value_error_carrying_its_message():
    error = ExpressionError("boom", 3)
    assert isinstance(error, ValueError)
    assert str(error) == "boom"
    assert (error.message, error.offset) == ("boom", 3)


@pytest.mark.parametrize(
    ("source", "message", "offset"),
    [
        ("x ==== 1", "invalid syntax (invalid syntax)", 4),
        ("mood >> = 3", "invalid syntax (invalid syntax)", 8),
        ("(a == 1", "invalid syntax ('(' was never closed)", 0),
        ("x := 1", "invalid syntax (invalid syntax)", 2),
    ],
)
def test_syntax_errors_name_the_offending_character(source, message, offset):
    with pytest.raises(ExpressionError) as info:
        parse(source)
    assert (info.value.message, info.value.offset) == (message, offset)


# safety: only comparisons, boolean logic, names and literal values -------------------------


@pytest.mark.parametrize(
    ("source", "message", "offset"),
    [
        ("len(x) > 3", "function calls are not allowed in expressions", 0),
        ("__import__('os').system('ls')", "function calls are not allowed in expressions", 0),
        ("x.real > 1", "attribute access is not allowed in expressions", 0),
        ("x == y.__class__", "attribute access is not allowed in expressions", 5),
        ("x[0] == 1", "indexing is not allowed in expressions", 0),
        ("x + 1 > 2", "arithmetic is not allowed in expressions", 0),
        ("y == 1 and x * 2 > 2", "arithmetic is not allowed in expressions", 11),
        ("x in [f(1)]", "a list may only hold values (numbers, 'text', yes, no)", 6),
        ("x in [[1]]", "a list may only hold values (numbers, 'text', yes, no)", 6),
        ("x == None", "unsupported value None", 5),
        ("x == True", "unsupported value True", 5),
        ("x == b'a'", "unsupported value b'a'", 5),
        ("x if y else z", "IfExp is not allowed in expressions", 0),
        ("lambda: 1", "Lambda is not allowed in expressions", 0),
        ("x in {1, 2}", "Set is not allowed in expressions", 5),
        ("x in {'a': 1}", "Dict is not allowed in expressions", 5),
        ("[v for v in x]", "ListComp is not allowed in expressions", 0),
        ("+x > 1", "UnaryOp is not allowed in expressions", 0),
        ("~x > 1", "UnaryOp is not allowed in expressions", 0),
    ],
)
def test_anything_but_comparisons_and_logic_is_refused(source, message, offset):
    with pytest.raises(ExpressionError) as info:
        parse(source)
    assert (info.value.message, info.value.offset) == (message, offset)


def test_deep_nesting_is_refused():
    with pytest.raises(ExpressionError) as info:
        parse("not " * 40 + "x")
    assert info.value.message == "expression is nested too deeply"
    parse("not " * 20 + "x")  # moderate nesting is fine


@pytest.mark.parametrize(
    "source",
    [
        "distress >= 8",
        "1 <= x <= 3",
        "ai_chat == yes and not (kind in ['romantic', 'sexual'] or x != -1.5)",
        "'sexual' in kinds",
        "x not in (1, 2)",
        "ai_connected",
    ],
)
def test_the_documented_forms_parse(source):
    assert parse(source).source == source


# evaluation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "answers", "expected"),
    [
        ("distress >= 8", {"distress": 9}, True),
        ("distress >= 8", {"distress": 8}, True),
        ("distress >= 8", {"distress": 7}, False),
        ("ai_chat == yes", {"ai_chat": True}, True),
        ("ai_chat == yes", {"ai_chat": False}, False),
        ("ai_chat == no", {"ai_chat": False}, True),
        ("ai_chat == true", {"ai_chat": True}, True),
        ("ai_chat != false", {"ai_chat": True}, True),
        ("ai_chat", {"ai_chat": True}, True),
        ("ai_chat", {"ai_chat": False}, False),
        ("minutes", {"minutes": 0}, False),
        ("not ai_chat", {"ai_chat": False}, True),
        ("x == -1", {"x": -1}, True),
        ("x < -1.5", {"x": -2}, True),
        ("kind == 'romantic'", {"kind": "romantic"}, True),
        ("kind == 1", {"kind": 1}, True),
        ("a and (b or not c)", {"a": True, "b": False, "c": False}, True),
        ("a and (b or not c)", {"a": True, "b": False, "c": True}, False),
        ("a and (b or not c)", {"a": False, "b": True, "c": False}, False),
        ("a > 5 or b > 5", {"a": 1, "b": 6}, True),
        ("yes", {}, True),
        ("no", {}, False),
    ],
)
def test_evaluate(source, answers, expected):
    assert parse(source).evaluate(answers) is expected


@pytest.mark.parametrize(
    ("x", "expected"), [(1, True), (2, True), (3, True), (0, False), (4, False), (None, False)]
)
def test_chained_comparisons_need_every_link(x, expected):
    assert parse("1 <= x <= 3").evaluate({"x": x}) is expected


def test_chained_comparison_between_two_items():
    expression = parse("0 < a < b")
    assert expression.evaluate({"a": 1, "b": 2}) is True
    assert expression.evaluate({"a": 2, "b": 1}) is False
    assert expression.evaluate({"a": 1}) is False


@pytest.mark.parametrize(
    "source",
    [
        "distress >= 8",
        "distress < 8",
        "distress == 8",
        "distress != 8",
        "1 <= distress <= 10",
        "distress in [1, 2]",
        "distress not in [1, 2]",
        "'a' in distress",
        "distress == yes",
        "distress or distress > 1",
    ],
)
@pytest.mark.parametrize("answers", [{}, {"distress": None}])
def test_an_unknown_answer_makes_every_comparison_false(source, answers):
    assert parse(source).evaluate(answers) is False


@pytest.mark.parametrize("answers", [{}, {"distress": None}])
def test_an_unknown_answer_inside_logic_is_not_truthy(answers):
    assert parse("distress and yes").evaluate(answers) is False
    assert parse("distress or yes").evaluate(answers) is True


@pytest.mark.parametrize("answers", [{}, {"distress": None}])
def test_a_bare_unanswered_item_is_false(answers):
    assert parse("distress").evaluate(answers) is False


def test_unknown_answers_combine_with_boolean_logic():
    assert parse("skipped > 1 or known == 2").evaluate({"known": 2}) is True
    assert parse("skipped > 1 and known == 2").evaluate({"known": 2}) is False


@pytest.mark.parametrize(
    ("kind", "expected"), [("romantic", True), ("sexual", True), ("neither", False), (None, False)]
)
def test_in_a_literal_list(kind, expected):
    assert parse("kind in ['romantic', 'sexual']").evaluate({"kind": kind}) is expected


@pytest.mark.parametrize(
    ("kind", "expected"), [("romantic", False), ("neither", True), (None, False)]
)
def test_not_in_a_literal_list(kind, expected):
    assert parse("kind not in ('romantic', 'sexual')").evaluate({"kind": kind}) is expected


@pytest.mark.parametrize(
    ("kinds", "expected"),
    [
        (["sexual", "support"], True),
        (["sexual"], True),
        (["support"], False),
        ([], False),
        (None, False),
    ],
)
def test_multi_choice_containment(kinds, expected):
    assert parse("'sexual' in kinds").evaluate({"kinds": kinds}) is expected


def test_multi_choice_exclusion():
    assert parse("'sexual' not in kinds").evaluate({"kinds": ["support"]}) is True
    assert parse("'sexual' not in kinds").evaluate({"kinds": ["sexual"]}) is False


@pytest.mark.parametrize(
    ("source", "answers"),
    [
        ("x > 'abc'", {"x": 3}),
        ("x < 3", {"x": "text"}),
        ("3 in x", {"x": 5}),
        ("'a' in x", {"x": 5}),
    ],
)
def test_type_mismatches_are_false_not_errors(source, answers):
    assert parse(source).evaluate(answers) is False


def test_evaluate_accepts_any_mapping_and_ignores_extra_answers():
    from types import MappingProxyType

    answers = MappingProxyType({"x": 5, "unrelated": "value"})
    assert parse("x == 5").evaluate(answers) is True


# names and comparisons, used by validation --------------------------------------------------


def test_item_ids_in_order_without_repeats_or_literals():
    expression = parse("b > 1 and a == yes and b < 5 and no == c")
    assert expression.item_ids == ["b", "a", "c"]


def test_literal_names_are_not_items():
    assert parse("yes and not false or true == no").item_ids == []


def test_name_offsets_in_source_order():
    assert parse("a == 1 or b == 2 and a").name_offsets() == [("a", 0), ("b", 10), ("a", 21)]


def test_name_offsets_are_relative_to_the_stripped_source():
    assert parse("   x == 1").name_offsets() == [("x", 0)]


def test_comparisons_pair_items_with_their_literals():
    expression = parse("distress >= 8 and (kind == 'a' or not 3 < x <= 5)")
    assert expression.comparisons() == [
        Comparison("distress", (8,), 0),
        Comparison("kind", ("a",), 19),
        Comparison("x", (3, 5), 42),
    ]


def test_comparisons_flatten_lists_negatives_and_literal_names():
    assert parse("x in [1, -2, yes, 'no']").comparisons() == [
        Comparison("x", (1, -2, True, "no"), 0)
    ]


def test_comparisons_of_two_items_have_no_literals():
    assert parse("a == b").comparisons() == [Comparison("a", (), 0), Comparison("b", (), 5)]


def test_a_bare_item_is_not_a_comparison():
    assert parse("a and not b").comparisons() == []


def test_literal_on_the_left_of_in():
    assert parse("'sexual' in kinds").comparisons() == [
        Comparison("kinds", ("sexual",), 12, item_is_container=True)
    ]


# once bugs, now pinned -------------------------------------------------------------------------


def test_an_item_inside_a_list_is_refused_at_parse_time():
    with pytest.raises(ExpressionError) as info:
        parse("x in [y, 1]")
    assert info.value.message.startswith("a list may only hold values (numbers, 'text', yes, no)")
    assert info.value.offset == 6


def test_a_negated_item_is_refused_at_parse_time():
    with pytest.raises(ExpressionError) as info:
        parse("-x < 3")
    assert info.value.message == "minus applies to numbers only"
    assert parse("x > -3").comparisons()[0].literals == (-3,)


def test_negating_a_non_number_answer_is_false_not_an_error():
    try:
        expression = parse("-x < 3")
    except ExpressionError:
        return  # refusing a negated item at parse time would also be a fix
    assert expression.evaluate({"x": "abc"}) is False


def test_name_offsets_count_characters_not_bytes():
    assert parse("'müde' == x").name_offsets() == [("x", 10)]
