"""A small, safe expression language for `show_if` branching and alert rules.

Expressions use Python's syntax, parsed by `ast` and never evaluated by Python: only the node
types below are accepted, so a protocol file cannot run code. Supported:

    distress >= 8                      comparisons: == != < <= > >=, chained (1 <= x <= 3)
    ai_chat == yes                     yes / no / true / false are literals
    ai_kind in ['romantic', 'sexual']  membership in a literal list
    'sexual' in ai_kinds               a multi-choice answer contains a value
    a and (b or not c)                 boolean logic
    ai_connected                       a bare item: answered with something truthy

Besides items, `show_if` may name the prompt's place in the participant's day (`CONTEXT_NAMES`;
never item ids): `beep` (its number among the day's prompts of its questionnaire, from 1),
`first_beep` and `last_beep` (yes or no), `study_day` (from 1), `local_time` (the local time it
was due, as "HH:MM": 24-hour with a two-digit hour, so text comparison is time order:
`local_time >= '18:00'`) and `weekday` ('mon' ... 'sun'). The evaluator takes them from the
same mapping as the answers (`eas.responses.context` puts them there).

Unanswered items are unknown, and logic is three-valued: a comparison with an unknown value is
unknown, `not` of unknown is unknown, `a or b` is true if either is true, `a and b` is false if
either is false. An expression that ends unknown counts as false, so a branch that depends on a
skipped item is not shown (whether it is written `x == 3`, `x != 3` or `not x`).
"""

from __future__ import annotations

import ast
import functools
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

#: Bare names that are values, not item ids.
LITERAL_NAMES: dict[str, Any] = {"yes": True, "no": False, "true": True, "false": False}
#: Names of the prompt's place in the day that `show_if` may use besides items, and what each
#: holds: a count from 1, yes/no, a local time "HH:MM" or a weekday ("mon"...). Item ids may not
#: take them.
CONTEXT_NAMES: dict[str, str] = {
    "beep": "count",
    "first_beep": "flag",
    "last_beep": "flag",
    "study_day": "count",
    "local_time": "time",
    "weekday": "weekday",
}

_COMPARISONS: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda left, right: left in right,
    ast.NotIn: lambda left, right: left not in right,
}


class ExpressionError(ValueError):
    """An expression that is not valid; `offset` is the 0-based character it concerns."""

    def __init__(self, message: str, offset: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


@dataclass(frozen=True)
class Comparison:
    """An item (or a `CONTEXT_NAMES` name) compared with literal values: what validation
    checks against the item's type."""

    item_id: str
    literals: tuple[Any, ...]
    offset: int
    #: True when the item is the container of a membership test (`'x' in item`).
    item_is_container: bool = False
    #: True when the comparison orders (< <= > >=) rather than tests equality or membership.
    ordered: bool = field(default=False, compare=False)


def _char_offset(source: str, byte_offset: int) -> int:
    """`ast` counts UTF-8 bytes; people count characters."""
    return len(source.encode()[:byte_offset].decode(errors="ignore"))


@dataclass(frozen=True)
class Expression:
    source: str
    tree: ast.Expression

    @property
    def item_ids(self) -> list[str]:
        """Item ids named by the expression, in order of appearance, without repeats (not the
        `CONTEXT_NAMES`)."""
        return list(
            dict.fromkeys(name for name, _ in self.name_offsets() if name not in CONTEXT_NAMES)
        )

    @property
    def context_names(self) -> list[str]:
        """The `CONTEXT_NAMES` the expression uses, in order of appearance, without repeats."""
        return list(dict.fromkeys(name for name, _ in self.name_offsets() if name in CONTEXT_NAMES))

    def name_offsets(self) -> list[tuple[str, int]]:
        """(name, 0-based offset) of every item (or `CONTEXT_NAMES` name) named, in source
        order."""
        return sorted(
            (
                (node.id, _char_offset(self.source, node.col_offset))
                for node in ast.walk(self.tree)
                if isinstance(node, ast.Name) and node.id not in LITERAL_NAMES
            ),
            key=lambda pair: pair[1],
        )

    def comparisons(self) -> list[Comparison]:
        found = []
        for node in ast.walk(self.tree):
            if not isinstance(node, ast.Compare):
                continue
            operands = [node.left, *node.comparators]
            names = [o for o in operands if isinstance(o, ast.Name) and o.id not in LITERAL_NAMES]
            literals = tuple(
                value
                for o in operands
                if not isinstance(o, ast.Name) or o.id in LITERAL_NAMES
                for value in _literal_values(o)
            )
            containers = {
                id(right)
                for op, right in zip(node.ops, node.comparators, strict=True)
                if isinstance(op, ast.In | ast.NotIn)
            }
            ordered = any(isinstance(op, ast.Lt | ast.LtE | ast.Gt | ast.GtE) for op in node.ops)
            found.extend(
                Comparison(
                    name.id,
                    literals,
                    _char_offset(self.source, name.col_offset),
                    item_is_container=id(name) in containers,
                    ordered=ordered,
                )
                for name in names
            )
        return found

    def evaluate(self, answers: Mapping[str, Any]) -> bool:
        """Evaluate against answers by item id (and the prompt's `CONTEXT_NAMES`, where the
        mapping has them); a missing or None answer is unknown (false)."""
        return _evaluate(self.tree.body, answers) is True


def _literal_values(node: ast.AST) -> list[Any]:
    if isinstance(node, ast.Constant):
        return [node.value]
    if isinstance(node, ast.Name):
        return [LITERAL_NAMES[node.id]]
    if isinstance(node, ast.List | ast.Tuple):
        return [value for element in node.elts for value in _literal_values(element)]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return [-value for value in _literal_values(node.operand)]
    return []


_UNKNOWN = object()


def _truth(value: Any) -> Any:
    """True, False or unknown."""
    return value if value is _UNKNOWN else bool(value)


def _evaluate(node: ast.AST, answers: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.BoolOp):
        values = [_truth(_evaluate(value, answers)) for value in node.values]
        decisive = isinstance(node.op, ast.Or)  # True decides `or`, False decides `and`
        if decisive in values:
            return decisive
        return _UNKNOWN if _UNKNOWN in values else not decisive
    if isinstance(node, ast.UnaryOp):
        operand = _evaluate(node.operand, answers)
        if operand is _UNKNOWN:
            return _UNKNOWN
        if isinstance(node.op, ast.Not):
            return not operand
        return -operand  # parse() allows minus on number literals only
    if isinstance(node, ast.Compare):
        left = _evaluate(node.left, answers)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = _evaluate(comparator, answers)
            if left is _UNKNOWN or right is _UNKNOWN:
                return _UNKNOWN
            try:
                if not _COMPARISONS[type(op)](left, right):
                    return False
            except TypeError:
                return False
            left = right
        return True
    if isinstance(node, ast.Name):
        if node.id in LITERAL_NAMES:
            return LITERAL_NAMES[node.id]
        value = answers.get(node.id)
        return _UNKNOWN if value is None else value
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.List | ast.Tuple):
        return [_evaluate(element, answers) for element in node.elts]
    raise ExpressionError(f"cannot evaluate {type(node).__name__}")  # excluded by parse()


def _is_number_literal(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Constant)
        and isinstance(node.value, int | float)
        and not isinstance(node.value, bool)
    )


def _is_value(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.Name):
        return node.id in LITERAL_NAMES
    return (
        isinstance(node, ast.UnaryOp)
        and isinstance(node.op, ast.USub)
        and _is_number_literal(node.operand)
    )


#: Far beyond any answer's range (and within a 64-bit integer).
_MAX_INT = 10**18


def _check_node(node: ast.AST, depth: int = 0) -> None:
    if depth > 30:
        raise ExpressionError("expression is nested too deeply", getattr(node, "col_offset", 0))
    offset = getattr(node, "col_offset", 0)
    if isinstance(node, ast.BoolOp | ast.Compare):
        children = node.values if isinstance(node, ast.BoolOp) else [node.left, *node.comparators]
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        children = [node.operand]
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        if not _is_number_literal(node.operand):
            raise ExpressionError("minus applies to numbers only", offset)
        children = [node.operand]
    elif isinstance(node, ast.List | ast.Tuple):
        children = node.elts
        for element in node.elts:
            if not _is_value(element):
                raise ExpressionError(
                    "a list may only hold values (numbers, 'text', yes, no)", element.col_offset
                )
    elif isinstance(node, ast.Name):
        children = []
    elif isinstance(node, ast.Constant):
        if not isinstance(node.value, int | float | str) or isinstance(node.value, bool):
            raise ExpressionError(f"unsupported value {node.value!r}", offset)
        if isinstance(node.value, int) and abs(node.value) > _MAX_INT:
            # Written in hex, a number of any size parses, but one of over 4,300 digits cannot
            # even be shown in an error message.
            raise ExpressionError(f"the number is too large (at most {_MAX_INT:,})", offset)
        children = []
    else:
        what = {
            ast.Call: "function calls are",
            ast.Attribute: "attribute access is",
            ast.Subscript: "indexing is",
            ast.BinOp: "arithmetic is",
        }.get(type(node), f"{type(node).__name__} is")
        raise ExpressionError(f"{what} not allowed in expressions", offset)
    for child in children:
        _check_node(child, depth + 1)


def parse(source: str) -> Expression:
    """Parse and check an expression; raise `ExpressionError` naming the offending position.

    Parsed expressions are immutable and a protocol has few: each text is parsed once per
    process (branching is decided on every answer)."""
    if not isinstance(source, str):
        raise ExpressionError("expression is empty")
    return _parse(source)


@functools.lru_cache(maxsize=4096)
def _parse(source: str) -> Expression:
    if not isinstance(source, str) or not source.strip():
        raise ExpressionError("expression is empty")
    if "\n" in source.strip():
        raise ExpressionError("expression must fit on one line")
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        offset = max((exc.offset or 1) - 1, 0)
        raise ExpressionError(f"invalid syntax ({exc.msg})", offset) from None
    except (RecursionError, MemoryError):
        raise ExpressionError("expression is nested too deeply") from None
    try:
        _check_node(tree.body)
    except ExpressionError as exc:
        raise ExpressionError(exc.message, _char_offset(source.strip(), exc.offset)) from None
    return Expression(source=source.strip(), tree=tree)
