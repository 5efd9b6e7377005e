"""Piping: an item's text that shows an earlier answer.

An item's `text` and `sms_text` (and a questionnaire's `intro`) are templates: `{ai_topic}` is
replaced by the answer to `ai_topic` given earlier in the same prompt, else by the participant's
latest answer to an item with that id in an earlier prompt (of any questionnaire), else by the
fallback written after a bar, `{ai_topic|your chat}` (none written: nothing). `{{` and `}}`
are literal braces. Answers show as people gave them: an option's label, Yes or No, a number as
written (7, 2.5), several choices joined with ", ".

This module is the protocol's side (parsing templates, showing a value); where the answers come
from is `eas.responses.context`'s.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from eas.protocols.fields import for_channel

#: Characters the validator counts for each placeholder when it checks an SMS's length.
ESTIMATED_LENGTH = 20
#: By SMS a longer answer is cut to this many characters (with "..."), so that a long free
#: text does not turn one question into several texts.
SMS_VALUE_LIMIT = 40
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


class TemplateError(ValueError):
    """A text that is not a valid template; `offset` is the 0-based character it concerns."""

    def __init__(self, message: str, offset: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


@dataclass(frozen=True)
class Placeholder:
    item_id: str
    #: What shows when no answer is found (None: nothing).
    fallback: str | None
    #: Where the placeholder's `{` is, in characters.
    offset: int


Part = str | Placeholder


@functools.lru_cache(maxsize=4096)
def parse_template(text: str) -> tuple[Part, ...]:
    """The text as literal strings and placeholders; raise `TemplateError` for a brace that is
    neither a placeholder nor doubled."""
    parts: list[Part] = []
    literal: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char not in "{}":
            literal.append(char)
            index += 1
            continue
        if text.startswith(char * 2, index):
            literal.append(char)
            index += 2
            continue
        if char == "}":
            raise TemplateError("a single '}': write '}}' for a brace", index)
        end = text.find("}", index + 1)
        opening = text.find("{", index + 1)
        if end < 0 or 0 <= opening < end:
            raise TemplateError(
                "'{' is never closed: write {item_id} to show an answer, or '{{' for a brace",
                index,
            )
        name, bar, fallback = text[index + 1 : end].partition("|")
        if not _NAME.match(name.strip()):
            shown = text[index : end + 1]
            raise TemplateError(
                f"{shown} is not a placeholder: write {{item_id}} or {{item_id|fallback}} to show "
                "an answer, and '{{' '}}' for braces",
                index,
            )
        if literal:
            parts.append("".join(literal))
            literal = []
        parts.append(Placeholder(name.strip(), fallback if bar else None, index))
        index = end + 1
    if literal:
        parts.append("".join(literal))
    return tuple(parts)


def placeholders(text: str) -> list[Placeholder]:
    """The placeholders of a valid template ([] for an invalid one)."""
    try:
        return [part for part in parse_template(text) if isinstance(part, Placeholder)]
    except TemplateError:
        return []


def render(text: str, lookup: Callable[[str], str | None] | None = None) -> str:
    """The text with each placeholder replaced by `lookup(item_id)` (None: its fallback) and
    doubled braces made single. A text that is not a valid template (one stored before braces
    meant anything) is shown as it is."""
    try:
        parts = parse_template(text)
    except TemplateError:
        return text
    shown = []
    for part in parts:
        if isinstance(part, str):
            shown.append(part)
            continue
        value = lookup(part.item_id) if lookup is not None else None
        shown.append(value if value is not None else (part.fallback or ""))
    return "".join(shown)


def estimate(text: str) -> str:
    """The text as the validator measures it: each placeholder as `ESTIMATED_LENGTH` characters."""
    return render(text, lambda _: "x" * ESTIMATED_LENGTH)


def item_texts(item: dict[str, Any]) -> list[tuple[str, str]]:
    """(field, text) of an item's templates."""
    return [(name, item[name]) for name in ("text", "sms_text") if isinstance(item.get(name), str)]


def intro_texts(intro: Any) -> list[str]:
    """Every wording of an intro (one text, or one per channel)."""
    if isinstance(intro, str):
        return [intro]
    if isinstance(intro, dict):
        return [text for text in intro.values() if isinstance(text, str)]
    return []


def piped_ids(questionnaire: dict[str, Any]) -> list[str]:
    """Item ids the questionnaire's texts pipe, without repeats."""
    texts = [text for item in questionnaire["items"] for _, text in item_texts(item)]
    texts += intro_texts(questionnaire.get("intro"))
    return list(
        dict.fromkeys(
            placeholder.item_id
            for text in texts
            if "{" in text
            for placeholder in placeholders(text)
        )
    )


def has_braces(texts: Iterable[str]) -> bool:
    return any("{" in text or "}" in text for text in texts)


def render_intro(intro: Any, lookup: Callable[[str], str | None] | None) -> Any:
    """An intro (one text or one per channel) with its templates rendered."""
    if isinstance(intro, str):
        return render(intro, lookup)
    if isinstance(intro, dict):
        return {channel: render(text, lookup) for channel, text in intro.items()}
    return intro


def channel_intro(questionnaire: dict[str, Any], channel: str) -> str | None:
    """The intro's wording for `channel`, rendered without answers (braces made single)."""
    intro = for_channel(questionnaire.get("intro"), channel)
    return render(intro) if intro else intro


def _number(value: float) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def shown_value(item: dict[str, Any] | None, value: Any, *, limit: int | None = None) -> str | None:
    """An answer (as branching sees it: a value, True/False, a list of values) as a text shows
    it: an option's label, Yes or No, a number as written, choices joined with ", ". `item`:
    the item it answers (None: unknown, the value as it is). `limit`: cut longer text to it."""
    if value is None:
        return None
    kind = item["type"] if item else None
    labels = {str(o["value"]): str(o["label"]) for o in item.get("options", [])} if item else {}
    if isinstance(value, bool) or kind == "yes_no":
        shown = "Yes" if value else "No"
    elif isinstance(value, list):
        shown = ", ".join(labels.get(str(v), str(v)) for v in value)
    elif isinstance(value, int | float):
        shown = labels.get(_number(value)) or labels.get(str(value)) or _number(value)
    else:
        shown = labels.get(str(value), str(value))
    return cut(shown, limit)


def cut(shown: str, limit: int | None = None) -> str:
    """An answer as a text shows it: on one line (no line breaks from a free text), and at most
    `limit` characters (a longer one is cut, with "...")."""
    shown = " ".join(shown.split())
    if limit is not None and len(shown) > limit:
        shown = shown[: limit - 3].rstrip() + "..."
    return shown
