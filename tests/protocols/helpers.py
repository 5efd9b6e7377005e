"""Small protocols for validation tests, and where their errors are expected."""

from __future__ import annotations

import textwrap

import pytest

from eas.protocols.validation import ProtocolInvalid, validate_protocol_text

STUDY = "study: {id: demo, title: Demo, timezone: Europe/Berlin, duration_days: 7}\n"
QUESTIONNAIRE = """\
questionnaires:
  - id: q
    items:
      - {id: mood, type: scale, min: 0, max: 10, text: Mood}
      - {id: ok, type: yes_no, text: OK}
      - {id: kind, type: choice, text: Kind, options: [a, b]}
      - {id: kinds, type: multi_choice, text: Kinds, options: [a, b, c]}
"""
ITEMS_HERE = "items here: kind, kinds, mood, ok, x"


def _block(part: str, indent: int) -> str:
    part = textwrap.dedent(part)
    return textwrap.indent(part if part.endswith("\n") or not part else part + "\n", " " * indent)


def protocol(items="", schedules="", alerts="", more="", head=STUDY) -> str:
    """A small valid protocol plus extra items (of q), questionnaires, schedules and alerts."""
    text = head + QUESTIONNAIRE + _block(items, 6) + _block(more, 2)
    text += "schedules:\n  - {id: s, questionnaire: q, type: fixed, times: ['20:00']}\n"
    text += _block(schedules, 2)
    return text + ("alerts:\n" + _block(alerts, 2) if alerts else "")


def errors_of(text: str) -> list[str]:
    with pytest.raises(ProtocolInvalid) as info:
        validate_protocol_text(text, "p.yaml")
    return [str(error) for error in info.value.errors]


def at(text: str, needle: str, message: str, shift: int = 0) -> str:
    """The error expected at `needle` (which occurs once in `text`), moved `shift` columns."""
    assert text.count(needle) == 1, f"{needle!r} is not unique"
    before = text[: text.index(needle)]
    column = len(before) - before.rfind("\n") + shift
    return f"p.yaml:{before.count(chr(10)) + 1}:{column}: {message}"
