"""How a questionnaire item reads as a text message.

One item per message: "2/5 How lonely do you feel right now? Reply 0-10". The validator uses the
same rendering to refuse items too long for the study's SMS budget, and the SMS conversation
sends exactly this text. Texts are templates (`eas.protocols.piping`): the conversation passes
the answers they pipe; without them a placeholder shows its fallback, and the validator and
cost estimates count it as `piping.ESTIMATED_LENGTH` characters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eas.protocols import piping


def _option_list(options: list[dict[str, Any]]) -> str:
    return " ".join(f"{number}={option['label']}" for number, option in enumerate(options, 1))


def answer_hint(item: dict[str, Any]) -> str:
    """The answer format in a few words."""
    kind = item["type"]
    if kind == "yes_no":
        return "Reply Y or N"
    if kind in ("scale", "slider"):
        return f"Reply {item['min']}-{item['max']}"
    if kind == "choice":
        return f"Reply one number: {_option_list(item['options'])}"
    if kind == "multi_choice":
        return f"Reply all that apply, e.g. 1 3: {_option_list(item['options'])}"
    if kind == "number":
        low, high = item.get("min"), item.get("max")
        if low is not None and high is not None:
            return f"Reply a number {low:g}-{high:g}"
        return "Reply a number"
    return "Reply in your own words"


#: Item id -> the answer a placeholder shows (None: not answered; the fallback shows).
Lookup = Callable[[str], str | None]


def render_item(item: dict[str, Any], number: int, total: int, lookup: Lookup | None = None) -> str:
    """The item as a text: its SMS wording, with the answers `lookup` gives for what it pipes."""
    text = piping.render(item.get("sms_text") or item["text"], lookup)
    return f"{number}/{total} {text} {answer_hint(item)}"


def estimated_item(item: dict[str, Any], number: int, total: int) -> str:
    """The item as the validator and the cost estimates measure it: each placeholder as
    `piping.ESTIMATED_LENGTH` characters."""
    return render_item(item, number, total, lambda _: "x" * piping.ESTIMATED_LENGTH)


#: Sent after the last item of a questionnaire that has no `thanks` of its own.
DEFAULT_THANKS = "Thank you!"


def opening_text(questionnaire: dict[str, Any], lookup: Lookup | None = None) -> str:
    """The first text of an SMS conversation: the intro (its SMS wording), then the first item.
    (The validator refuses placeholders in both, where a questionnaire goes out by SMS: the
    dispatcher writes this text.)"""
    items = questionnaire["items"]
    first = render_item(items[0], 1, len(items), lookup)
    intro = piping.channel_intro(questionnaire, "sms")
    return f"{intro}\n{first}" if intro else first


def closing_text(questionnaire: dict[str, Any]) -> str:
    return questionnaire.get("thanks") or DEFAULT_THANKS


def conversation_texts(questionnaire: dict[str, Any]) -> list[str]:
    """Every text eas sends when all items are answered by SMS (for cost estimates)."""
    items = questionnaire["items"]
    rest = [estimated_item(item, number, len(items)) for number, item in enumerate(items[1:], 2)]
    return [opening_text(questionnaire), *rest, closing_text(questionnaire)]
