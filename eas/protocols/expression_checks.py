"""Checks of expressions (`show_if`, alert `when`): the names they use (earlier items, the
prompt's place in the day) and the values they compare them with."""

from __future__ import annotations

import re
from typing import Any

from eas.protocols import expressions
from eas.protocols.fields import WEEKDAYS
from eas.protocols.yaml_source import Path


class ExpressionChecks:
    """Part of the protocol checker (`crossref`): its state is the checker's."""

    def check_expression(
        self,
        path: Path,
        source: str,
        order: dict[str, int],
        items_by_id: dict[str, dict[str, Any]],
        *,
        before: int | None = None,
        own_id: str | None = None,
    ) -> None:
        """A show_if (`before`: its item's position) or an alert's `when` (`before` None):
        names that are items of `order`, literals that fit them. Only show_if may use the
        prompt's `CONTEXT_NAMES`, and not on a questionnaire's first item (always asked)."""
        try:
            expression = expressions.parse(source)
        except expressions.ExpressionError as exc:
            self.add(path, exc.message, exc.offset)
            return
        for name, offset in expression.name_offsets():
            if name in expressions.CONTEXT_NAMES:
                if before is None:
                    self.add(
                        path,
                        f"'{name}' describes a prompt's place in the day and is for show_if "
                        "only: an alert rule sees answers only",
                        offset,
                    )
                elif before == 0:
                    self.add(
                        path,
                        f"the first item is always asked (it opens the prompt), so its show_if "
                        f"cannot use '{name}': put the condition on a later item",
                        offset,
                    )
            elif name not in order:
                known = ", ".join(sorted(order)) or "none"
                self.add(path, f"names unknown item '{name}' (items here: {known})", offset)
            elif before is not None and name == own_id:
                self.add(path, f"item '{name}' cannot depend on itself", offset)
            elif before is not None and order[name] > before:
                self.add(
                    path,
                    f"names item '{name}', which comes later; show_if may only use earlier items",
                    offset,
                )
        for comparison in expression.comparisons():
            if comparison.item_id in expressions.CONTEXT_NAMES:
                problem = self.context_problem(comparison) if before is not None else None
            else:
                item = items_by_id.get(comparison.item_id)
                problem = _comparison_problem(item, comparison) if item is not None else None
            if problem:
                self.add(path, problem, comparison.offset)

    def context_problem(self, comparison: expressions.Comparison) -> str | None:
        """A `CONTEXT_NAMES` name compared with literals it can never equal or be ordered by."""
        name = comparison.item_id
        kind = expressions.CONTEXT_NAMES[name]
        if comparison.item_is_container:
            return f"'{name}' holds one value: write {name} in [...] to test several"
        for literal in comparison.literals:
            if kind == "flag" and not isinstance(literal, bool):
                return (
                    f"'{name}' is yes or no (whether the prompt is the {name.split('_')[0]} of "
                    f"its questionnaire that day): compare it with yes or no, not {literal!r}"
                )
            if kind == "count":
                if isinstance(literal, bool) or not isinstance(literal, int):
                    return (
                        f"'{name}' is a whole number from 1: compare it with one, not {literal!r}"
                    )
                if literal < 1:
                    return f"'{name}' counts from 1: {literal!r} never matches"
                duration = self.study.get("duration_days") if self.study else None
                if name == "study_day" and isinstance(duration, int) and literal > duration:
                    return f"day {literal} is after the study's last day ({duration})"
            if kind == "time" and not (isinstance(literal, str) and _HHMM.match(literal)):
                return (
                    f"'{name}' is the prompt's local time written \"HH:MM\" (24-hour, two-digit "
                    f"hour, e.g. '08:30' or '18:00'): compare it with such a time, not {literal!r}"
                )
            if kind == "weekday":
                if literal not in WEEKDAYS:
                    return (
                        f"'{name}' is one of {', '.join(WEEKDAYS)}: compare it with one of them, "
                        f"not {literal!r}"
                    )
                if comparison.ordered:
                    return f"'{name}' has no order: test it with == or in [...]"
        if kind == "flag" and comparison.ordered:
            return f"'{name}' is yes or no: test it with == or on its own, not with < or >"
        return None


def _comparison_problem(item: dict[str, Any], comparison: expressions.Comparison) -> str | None:
    kind, name = item["type"], item["id"]
    if kind == "multi_choice" and not comparison.item_is_container:
        return (
            f"'{name}' is a multi_choice item (a set of choices): test a choice with "
            f"'value' in {name}"
        )
    if comparison.item_is_container and kind not in ("multi_choice", "text"):
        return f"'{name}' holds one value: write {name} in [...] to test several"
    for literal in comparison.literals:
        if kind == "yes_no" and not isinstance(literal, bool):
            return f"'{item['id']}' is a yes/no item: compare it with yes or no, not {literal!r}"
        if kind in ("scale", "slider", "number"):
            if isinstance(literal, bool) or not isinstance(literal, int | float):
                return f"'{item['id']}' is a {kind} item: compare it with a number, not {literal!r}"
            low, high = item.get("min"), item.get("max")
            if (low is not None and literal < low) or (high is not None and literal > high):
                return f"{literal!r} is outside '{item['id']}' range {_range_text(low, high)}"
        if kind in ("choice", "multi_choice"):
            values = [option["value"] for option in item["options"]]
            if literal not in values:
                listed = ", ".join(repr(value) for value in values)
                return f"{literal!r} is not an option of '{item['id']}' (options: {listed})"
    return None


_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def _range_text(low: float | None, high: float | None) -> str:
    """A number item's range; either bound may be open (a scale or slider has both)."""
    if low is None:
        return f"(at most {high:g})"
    if high is None:
        return f"(at least {low:g})"
    return f"{low:g}-{high:g}"
