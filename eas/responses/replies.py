"""Understanding a text-message reply to one questionnaire item.

Any text gives an `Answered`, a `Skipped` or an `Invalid` (with a hint to re-ask with); nothing
raises. Replies are read the way people type on phones: case, spaces, punctuation and emoji
around the answer do not matter ("Yes!", " 7 ", "7/10", "about 30 min", "1, 3", "👍"). A
scale an answer names must be the item's own: "7/10" and "70%" answer a 0-10 and a 0-100
item; "7%" or "7 of 100" on a 0-10 item are asked again.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from eas.protocols.sms_format import answer_hint

SKIP_WORDS = frozenset({"skip", "pass"})
_YES = frozenset(
    {"y", "yes", "yeah", "yea", "yah", "ya", "yep", "yup", "yes please", "sure", "ok", "okay",
     "true", "si", "sí", "oui", "ja", "👍", "✅", "✔", "✔️", "☑️"}
)  # fmt: skip
_NO = frozenset(
    {"n", "no", "nope", "nah", "na", "not", "no thanks", "false", "non", "nein", "👎", "❌",
     "✖", "✖️", "🚫"}
)  # fmt: skip
_NUMBER_WORDS = {
    word: value
    for value, word in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
        ]
    )
} | {"none": 0, "nothing": 0, "nil": 0}
_NUMBER = re.compile(r"[-+]?(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+(?:[.,]\d+)?|[.,]\d+)")
THOUSANDS_SEPARATED = re.compile(r"^[-+]?\d{1,3}(?:,\d{3})+$")
#: Tops of a scale as words ("7 out of ten").
_TOP_WORDS = {word: float(value) for word, value in _NUMBER_WORDS.items()} | {
    "hundred": 100.0,
    "a hundred": 100.0,
    "one hundred": 100.0,
}
#: "7/10" and "7 out of 10" name the scale's top after the answer.
_OUT_OF = re.compile(
    # A word top starts a word: "7 often" is not 7 out of ten.
    r"^\s*(\S+?)\s*(?:/|out of|of)\s*(\d+|\b(?:"
    + "|".join(re.escape(word) for word in sorted(_TOP_WORDS, key=len, reverse=True))
    + r"))\s*$"
)
#: "out of" with a top `_OUT_OF` cannot read ("7 out of a thousand", "7 out of 10 today").
_OUT_OF_ANYWHERE = re.compile(r"\bout of\b")
#: Signs that name a top too: "70%" is 70 out of 100. Looked for after NFKC, which makes the
#: full-width and small percent signs a "%" (it leaves the Arabic one and per mille alone).
_PER = {"%": 100.0, "\u066a": 100.0, "\u2030": 1000.0}
_PERCENT_WORDS = re.compile(r"\b(?:per ?cent|pct)\b")
_PARTS = re.compile(r"\s*(?:[,;&+/]|\band\b)\s*")


@dataclass(frozen=True)
class Answered:
    #: Numbers (scale, slider, number; yes=1/no=0; a choice's numeric value).
    numeric: float | None
    #: A choice's value, a multi-choice's values as a JSON list, or free text.
    text: str | None


@dataclass(frozen=True)
class Skipped:
    pass


@dataclass(frozen=True)
class Invalid:
    hint: str


Outcome = Answered | Skipped | Invalid


#: Dashes and minus signs phones type for "-"; emoji modifiers and invisible characters.
_DASHES = str.maketrans({"\u2212": "-", "\u2013": "-", "\u2014": "-", "\u2012": "-"})
ZERO_WIDTH = re.compile("[\u200b-\u200f\u2060\ufe0e\ufe0f]")
_INVISIBLE = re.compile("[\u200b-\u200f\u2060\ufe0e\ufe0f\U0001f3fb-\U0001f3ff]")


def normalise(text: str) -> str:
    """Lower case, compatibility forms, no punctuation or symbols at either end (a sign right
    before a digit stays)."""
    text = _INVISIBLE.sub("", unicodedata.normalize("NFKC", text).translate(_DASHES))
    text = text.casefold().strip()
    start, end = 0, len(text)
    while start < end and _is_trim(text[start]):
        if text[start] in "+-" and start + 1 < end and text[start + 1].isdigit():
            break
        start += 1
    while end > start and _is_trim(text[end - 1]):
        end -= 1
    return " ".join(text[start:end].split())


def _is_trim(char: str) -> bool:
    category = unicodedata.category(char)
    return char.isspace() or category[0] in "PSZC"


def printable(text: str) -> str:
    """Text as it can be stored: no NUL or other control characters but line breaks."""
    return "".join(
        char for char in text if char in "\n\t" or unicodedata.category(char) not in ("Cc", "Cs")
    )


def is_skip(text: str) -> bool:
    return normalise(text) in SKIP_WORDS


def parse_reply(item: dict[str, Any], text: str) -> Outcome:
    if is_skip(text):
        return Skipped()
    try:
        outcome = _PARSERS[item["type"]](item, text)
    except (ValueError, OverflowError):  # defensive: odd input is a re-ask, never an error
        outcome = None
    return outcome if outcome is not None else Invalid(answer_hint(item))


#: Replies that start like yes or no but are neither.
_HEDGES = frozenset({"not sure", "no idea", "no clue", "dont know", "don't know", "idk", "maybe"})


def _yes_no(item: dict[str, Any], text: str) -> Answered | None:
    cleaned = normalise(text)
    raw = _INVISIBLE.sub("", unicodedata.normalize("NFKC", text)).casefold().strip()
    for candidate in (raw, cleaned):
        if candidate in _YES:
            return Answered(1, "yes")
        if candidate in _NO:
            return Answered(0, "no")
    words = [word for word in re.split(r"[\s,.;:!?]+", cleaned) if word]
    if not words or len(words) > 4 or any(cleaned.startswith(h) for h in _HEDGES):
        return None
    said = {word in _YES for word in words if word in _YES | _NO}
    if words[0] in _YES | _NO and len(said) == 1:  # "yes I did", "no, not really"
        return Answered(1, "yes") if words[0] in _YES else Answered(0, "no")
    return None


_LEADING_POINT = re.compile(r"^\s*([-+]?)[.,](\d)")


@dataclass(frozen=True)
class _Number:
    value: float
    #: The top of the scale the reply says the value is on ("7/10", "7 out of 10", "70%").
    top: float | None = None


def _one_number(text: str) -> _Number | None:
    # ".5" is a half, not 5 (normalise would trim the point as punctuation).
    cleaned = normalise(_LEADING_POINT.sub(r"\g<1>0.\2", text))
    tops = _percent_tops(text, cleaned)
    out_of = _OUT_OF.match(cleaned)
    if out_of:
        cleaned, top = out_of.groups()
        # A float: no limit on the digits, as int() has.
        tops.add(_TOP_WORDS[top] if top in _TOP_WORDS else float(top))
    elif _OUT_OF_ANYWHERE.search(cleaned):
        return None
    if len(tops) > 1:  # "7% of 10": on which scale?
        return None
    value = _plain_number(cleaned)
    return None if value is None else _Number(value, next(iter(tops), None))


def _percent_tops(text: str, cleaned: str) -> set[float]:
    """The tops that percent (or per mille) signs or words in a reply name."""
    # Signs are looked for before normalising, which trims a trailing "%" as punctuation.
    tops = {top for sign, top in _PER.items() if sign in unicodedata.normalize("NFKC", text)}
    return (tops | {100.0}) if _PERCENT_WORDS.search(cleaned) else tops


def _plain_number(cleaned: str) -> float | None:
    """The one number in normalised text, in digits or as a word."""
    if cleaned in _NUMBER_WORDS:
        return float(_NUMBER_WORDS[cleaned])
    found = _NUMBER.findall(cleaned)
    if len(found) != 1:
        return None
    # "1,000" is a thousand; "2,5" is two and a half.
    token = (
        found[0].replace(",", "")
        if THOUSANDS_SEPARATED.match(found[0])
        else found[0].replace(",", ".")
    )
    number = float(token)
    return number if abs(number) < 1e12 else None


def _in_range(item: dict[str, Any], number: _Number | None, whole: bool) -> Answered | None:
    if number is None:
        return None
    value, low, high = number.value, item.get("min"), item.get("max")
    # "7 of 100", "7%" or "7/0" on a 0-10 scale says the answer is on another scale than the
    # item's: which point of this one was meant is a guess, so it is asked again.
    if number.top is not None and number.top != high:
        return None
    if whole and value != int(value):
        return None
    if (low is not None and value < low) or (high is not None and value > high):
        return None
    return Answered(int(value) if whole else value, None)


def _scale(item: dict[str, Any], text: str) -> Answered | None:
    return _in_range(item, _one_number(text), whole=True)


def _number(item: dict[str, Any], text: str) -> Answered | None:
    return _in_range(item, _one_number(text), whole=bool(item.get("integer")))


def option_answer(option: dict[str, Any]) -> Answered:
    """The answer choosing an option gives, however it was chosen (by SMS or on the web)."""
    value = option["value"]
    numeric = value if isinstance(value, int | float) and not isinstance(value, bool) else None
    return Answered(numeric, str(value))


def option_with_value(item: dict[str, Any], value: str) -> dict[str, Any] | None:
    """The option whose value, as text, is `value`: as a stored answer or a web form names it."""
    for option in item["options"]:
        if str(option["value"]) == value:
            return option
    return None


def choices_answer(item: dict[str, Any], chosen: list[dict[str, Any]]) -> Answered:
    """The answer choosing these options of a multi-choice item gives: their values in the
    item's order."""
    return Answered(
        None, json.dumps([o["value"] for o in item["options"] if any(o is c for c in chosen)])
    )


def _find_option(options: list[dict[str, Any]], token: str) -> dict[str, Any] | None:
    """An option by its number in the list (as the SMS shows them), label or value."""
    if token.isdigit() and 1 <= int(token) <= len(options):
        return options[int(token) - 1]
    for option in options:
        if token in (normalise(str(option["label"])), normalise(str(option["value"]))):
            return option
    return None


def _choice(item: dict[str, Any], text: str) -> Answered | None:
    option = _find_option(item["options"], normalise(text))
    return option_answer(option) if option is not None else None


def _options_in(options: list[dict[str, Any]], text: str) -> list[dict[str, Any]] | None:
    """Options named in a list ("1 3", "phone, social media and tv"): each part between commas
    or "and" is one option's label, or words that each name an option."""
    found = []
    for part in (part for part in _PARTS.split(text) if part):
        whole = _find_option(options, part)
        if whole is not None and not part.isdigit():
            found.append(whole)
            continue
        for word in part.split():
            option = _find_option(options, word)
            if option is None:
                return None
            found.append(option)
    return found or None


def _multi_choice(item: dict[str, Any], text: str) -> Answered | None:
    options = item["options"]
    cleaned = normalise(text)
    whole = _find_option(options, cleaned)
    if whole is not None and not cleaned.isdigit():
        chosen = [whole]
    elif cleaned in ("none", "nothing", "0") and item.get("min_choices", 0) == 0:
        chosen = []
    else:
        found = _options_in(options, cleaned)
        if found is None:
            return None
        chosen = [option for option in options if any(option is f for f in found)]
    if not item.get("min_choices", 0) <= len(chosen) <= item.get("max_choices", len(options)):
        return None
    return choices_answer(item, chosen)


def _text(item: dict[str, Any], text: str) -> Answered | None:
    stripped = printable(text).strip()
    if not ZERO_WIDTH.sub("", stripped).strip():
        return None
    if not stripped or len(stripped) > item.get("max_length", 500):
        return None
    return Answered(None, stripped)


_PARSERS = {
    "yes_no": _yes_no,
    "scale": _scale,
    "slider": _scale,
    "choice": _choice,
    "multi_choice": _multi_choice,
    "number": _number,
    "text": _text,
}

#: Item types a compact reply ("7 2 5") may answer: each answer is one word.
COMPACT_TYPES = frozenset({"yes_no", "scale", "slider", "choice", "number"})


def split_compact(text: str) -> list[str]:
    """The words of a compact reply, or [] when it is not one."""
    # A comma before exactly three digits is a thousands separator ("1,000"), not a break.
    words = [word for word in re.split(r"[\s;]+|(?<!\d),|,(?!\d{3}(?!\d))", text.strip()) if word]
    return words if len(words) >= 2 else []


def answer_value(item: dict[str, Any], numeric: float | None, text: str | None) -> Any:
    """A stored answer as branching expressions see it."""
    kind = item["type"]
    if kind == "yes_no":
        return None if numeric is None else bool(numeric)
    if kind == "multi_choice":
        return json.loads(text) if text is not None else None
    if kind == "choice":
        if text is None:
            return None
        option = option_with_value(item, text)
        return option["value"] if option is not None else text
    if kind == "text":
        return text
    return numeric
