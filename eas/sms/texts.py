"""The fixed texts of the SMS conversation, short enough for one GSM-7 segment each.

Where one is sent it is tagged as what it is (`eas.safety.operations.Kind`): the thanks and
notes (ALREADY_DONE, CLOSED, `nothing_open`) are courtesies, left out after a safety reply."""

from __future__ import annotations

from typing import Any

from eas.scheduling.events import event_schedules

REASK = "Sorry, I didn't get that. {hint}"
MOVE_ON = "OK, let's move on."
#: To a text that asks to stop in other words than the keyword ("stop please").
HOW_TO_STOP = "To stop all texts from this study, reply with the one word STOP."
CLOSED = "Sorry, this check-in has closed. Watch for the next one!"
ALREADY_DONE = "You've answered this check-in, thank you!"
OPTED_IN = "Welcome back: your check-ins start again. Text STOP at any time to stop."
STILL_OPTED_OUT = "You opted out of this study, so you will get no more check-ins."
ENDED = "You are no longer receiving check-ins from this study."


def contact_line(definition: dict[str, Any]) -> str:
    contact = definition["study"].get("contact")
    return f" {contact}" if contact else ""


def help_text(definition: dict[str, Any]) -> str:
    study = definition["study"]
    return (
        f"{study['title']}.{contact_line(definition)} Text STOP to stop, SKIP to skip a question."
    )


def nothing_open(definition: dict[str, Any], arm: str | None = None) -> str:
    """Said when nothing is open; it names the reports this participant (of `arm`) can send."""
    keywords = [schedule["keyword"].upper() for schedule in event_schedules(definition, arm=arm)]
    event = f" Text {' or '.join(keywords)} to send a report." if keywords else ""
    return f"No check-in is open right now.{event} Text HELP for help, STOP to stop."
