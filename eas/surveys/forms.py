"""Reading a posted page on the server, which alone decides what is valid.

Two kinds of problems: what a participant can get wrong (a required item left blank, a number
out of range, too many choices) comes back on the page with a message; what the page cannot
produce (an option that does not exist, a scale point off the scale, a missing field) means the
form was tampered with. Either way nothing of the page is stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from werkzeug.datastructures import MultiDict

from eas.responses.replies import (
    ZERO_WIDTH,
    Answered,
    Outcome,
    Skipped,
    choices_answer,
    option_answer,
    option_with_value,
    parse_reply,
    printable,
)


class Tampered(ValueError):
    """A value the page could not have sent."""


@dataclass
class PageResult:
    #: (item, outcome, raw value) in page order, when the page is valid.
    outcomes: list[tuple[dict[str, Any], Outcome, str | None]] = field(default_factory=list)
    #: Item id -> message for the participant.
    errors: dict[str, str] = field(default_factory=dict)
    #: What was typed, to show again with the errors.
    entered: dict[str, Any] = field(default_factory=dict)


def _range_text(item: dict[str, Any]) -> str:
    low, high = item.get("min"), item.get("max")
    if low is not None and high is not None:
        return f" from {low:g} to {high:g}"
    if low is not None:
        return f" of at least {low:g}"
    if high is not None:
        return f" of at most {high:g}"
    return ""


def _option(item: dict[str, Any], value: str) -> dict[str, Any]:
    option = option_with_value(item, value)
    if option is None:
        raise Tampered(f"{item['id']}: '{value[:40]}' is not one of its options")
    return option


def _read(item: dict[str, Any], form: MultiDict) -> tuple[Outcome | None, str | None]:
    """One item's outcome (None: blank), or ValueError for the participant, Tampered.

    Answers mean what they mean by SMS: a typed number is read by the SMS reply parser (so
    "1,000", "2,5" and "7/10" read the same, and "1e300" or "inf" are refused on both), and a
    chosen option gives the answer choosing it gives by SMS."""
    name, kind = item["id"], item["type"]
    if kind == "multi_choice":
        chosen_values = form.getlist(name)
        chosen = [_option(item, value) for value in chosen_values]
        if not chosen:
            return None, None
        low, high = item.get("min_choices", 0), item.get("max_choices", len(item["options"]))
        if len(chosen) > high:
            raise ValueError(f"Please choose at most {high}.")
        if len(chosen) < low:
            raise ValueError(f"Please choose at least {low}.")
        return choices_answer(item, chosen), ",".join(chosen_values)
    # As it is stored (the raw value is kept): no NUL or other control characters, which
    # PostgreSQL refuses and the reply parser would read past.
    raw = printable(form.get(name, "")).strip()
    if not raw:
        return None, None
    if kind == "yes_no":
        if raw not in ("yes", "no"):
            raise Tampered(f"{name}: '{raw[:40]}' is not yes or no")
        return parse_reply(item, raw), raw
    if kind == "choice":
        return option_answer(_option(item, raw)), raw
    if kind == "text":
        if not ZERO_WIDTH.sub("", raw).strip():
            return None, None
        if len(raw) > item.get("max_length", 500):
            raise ValueError(f"Please keep this under {item.get('max_length', 500)} characters.")
        return Answered(None, raw), raw
    outcome = parse_reply(item, raw)  # a scale, slider or number
    if kind == "scale" and not isinstance(outcome, Answered):
        raise Tampered(f"{name}: '{raw[:40]}' is not a point of the scale")
    if isinstance(outcome, Skipped):  # "skip", as by SMS
        return None, None
    if not isinstance(outcome, Answered):
        kind_text = "a whole number" if kind == "slider" or item.get("integer") else "a number"
        raise ValueError(f"Please enter {kind_text}{_range_text(item)}.")
    return outcome, raw


def read_page(items: list[dict[str, Any]], form: MultiDict) -> PageResult:
    """Check every shown item of a page; raises Tampered for a forged form."""
    result = PageResult()
    for item in items:
        result.entered[item["id"]] = (
            form.getlist(item["id"]) if item["type"] == "multi_choice" else form.get(item["id"])
        )
        try:
            outcome, raw = _read(item, form)
        except Tampered:
            raise
        except ValueError as problem:
            result.errors[item["id"]] = str(problem)
            continue
        if outcome is None:
            if item.get("required"):
                result.errors[item["id"]] = "Please answer this question."
                continue
            outcome = Skipped()
        result.outcomes.append((item, outcome, raw))
    if result.errors:
        result.outcomes = []
    return result
