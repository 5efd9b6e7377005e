"""What a synthetic participant knows of their prompts: what the texts on their phone say, read
with the study's information in hand (its questionnaires' texts, how long a check-in stays
open), and what they did themselves. Never the server's records: a person answers what they
were asked, and knows only what they were told (but see `presenting`).

A check-in is known from the text that brought it: an SMS questionnaire's opening text (intro
and first question, any a shuffled list may put first: a prompt, or the answer to a report's
keyword) or a link to a web one. Its reminders ("Reminder: ..." and the texts of the protocol's
own) are about the latest one; the replies to the participant's texts ask the next question,
ask again ("Sorry, ..."), or end it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from eas.protocols.expressions import parse
from eas.protocols.sms_format import opening_text
from eas.responses.models import ResponseStatus
from eas.responses.operations import window_is_open
from eas.responses.replies import (
    COMPACT_TYPES,
    Answered,
    Invalid,
    Skipped,
    answer_value,
    parse_reply,
    split_compact,
)
from eas.sms import texts

#: "3/10 How is your mood right now? ...": a question, after at most one line of intro.
_QUESTION = re.compile(r"^(?:.*\n)?(\d+)/(\d+) ", re.S)
_REASK = texts.REASK.split("{", 1)[0]
_REMINDER = "Reminder: "
#: "Evening diary: https://.../p/TOKEN", perhaps after "Reminder: ".
LINK = re.compile(r"/p/([A-Za-z0-9_-]+)")
_TITLED_LINK = re.compile(r"^(?:Reminder: )?(.*): \S*/p/[A-Za-z0-9_-]+$", re.S)


class Prompted(NamedTuple):
    """A prompt as its participant names it: whose, which questionnaire, and when its first text
    arrived (when it was sent; in the export, `participant`, `questionnaire`, `sent_utc`)."""

    label: str
    questionnaire: str | None
    received: datetime


@dataclass(eq=False)
class CheckIn:
    """One prompt, as its participant knows it."""

    prompted: Prompted
    study_day: int
    #: When the protocol says it expires, counted from when it arrived.
    expires: datetime
    #: The participant answered in it (a text while it was open, a page saved).
    started: bool = False
    #: eas asked nothing more after their last text: it is complete.
    done: bool = False
    #: Their last text in it.
    last_activity: datetime | None = None
    #: SMS: the position of the question last asked, and whether it was asked again.
    asking: int = 0
    reasked: bool = False
    #: The answers they gave, as branching sees them.
    values: dict[str, Any] = field(default_factory=dict)
    #: SMS: the questionnaire as its texts ask it, where that is not the protocol's own (its
    #: items in the prompt's order: `presenting.learn_prompt`).
    shown: dict[str, Any] | None = None

    @property
    def questionnaire(self) -> str | None:
        return self.prompted.questionnaire

    def is_open(self, now: datetime) -> bool:
        """Whether an answer now still counts, by the study's rule for windows (a check-in in
        progress stays open a while past its expiry while the participant keeps going)."""
        if self.done:
            return False
        status = ResponseStatus.in_progress if self.started else None
        return window_is_open(self.expires, status, self.last_activity, now)


@dataclass
class Phone:
    """A participant's phone and memory: the SMS check-in of the latest prompt, the latest
    link of each web questionnaire, and whether they left the study."""

    sms: CheckIn | None = None
    links: dict[str | None, CheckIn] = field(default_factory=dict)
    #: They texted STOP, or withdrew.
    left: bool = False


class Texts:
    """The study's texts as its participants know them (their information sheet)."""

    def __init__(self, definition: dict[str, Any]) -> None:
        questionnaires = definition["questionnaires"]
        self.questionnaires = {q["id"]: q for q in questionnaires}
        self.openings = {
            text: q["id"] for q in reversed(questionnaires) for text in _opening_texts(q)
        }
        self.titles = {_title(q): q["id"] for q in reversed(questionnaires)}
        self.expiry: dict[tuple[str, bool], timedelta] = {}
        for schedule in reversed(definition["schedules"]):
            minutes = timedelta(minutes=schedule["expires_after_minutes"])
            self.expiry[(schedule["questionnaire"], schedule["type"] == "event")] = minutes

    def opening(self, body: str) -> str | None:
        """The questionnaire whose SMS conversation `body` opens, if it does."""
        return self.openings.get(body)

    def expires(self, questionnaire: str | None, received: datetime, *, report: bool) -> datetime:
        """When a prompt of `questionnaire` that arrived then expires (`report`: one the
        participant asked for), as the protocol says (unknown questionnaire: at once)."""
        expiry = self.expiry.get((questionnaire, report)) or self.expiry.get(
            (questionnaire, not report), timedelta(0)
        )
        return received + expiry

    def link_questionnaire(self, body: str) -> str | None:
        """The web questionnaire a link's text names (by its title), if it names one."""
        titled = _TITLED_LINK.match(body)
        return self.titles.get(titled.group(1)) if titled else None

    def item(self, questionnaire: str | None, item_id: str) -> dict[str, Any] | None:
        """An item of `questionnaire` (unknown: of the first questionnaire that has it)."""
        candidates = (
            [self.questionnaires[questionnaire]] if questionnaire else self.questionnaires.values()
        )
        for q in candidates:
            for item in q["items"]:
                if item["id"] == item_id:
                    return item
        return None


def _opening_texts(questionnaire: dict[str, Any]) -> list[str]:
    """Every text an SMS conversation of the questionnaire may open with: the intro and its
    first item, or any item that a `shuffle` list holding the first item may put first."""
    items = questionnaire["items"]
    firsts = [items[0]]
    for ids in questionnaire.get("shuffle", []):
        if items[0]["id"] in ids:
            firsts = [item for item in items if item["id"] in ids]
    return [opening_text({**questionnaire, "items": [first, *items[1:]]}) for first in firsts]


def _title(questionnaire: dict[str, Any]) -> str:
    """As a link's text names the questionnaire."""
    return questionnaire.get("title") or questionnaire["id"].replace("_", " ").capitalize()


def read_as(questionnaire: dict[str, Any], position: int, values: dict, body: str) -> dict | None:
    """What a text answers, by the study's rules for replies (those its questions state: "Reply
    Y or N", "Reply 0-10", several answers at once where allowed), when it is sent while the
    question at `position` waits and the answers so far are `values`: item id -> value as
    branching sees it (None: skipped), or None when it answers nothing (it is asked again). A
    participant knows what they meant; this is what a text they did not think about (a
    malformed reply) turns out to say."""
    items = questionnaire["items"]
    item = items[position]
    if questionnaire.get("compact_replies") and item["type"] in COMPACT_TYPES:
        words = split_compact(body)
        read = _read_compact(items[position:], dict(values), words) if words else None
        if read is not None:
            return read
    outcome = parse_reply(item, body)
    if isinstance(outcome, Invalid):
        return None
    if isinstance(outcome, Skipped):
        return {item["id"]: None}
    return {item["id"]: answer_value(item, outcome.numeric, outcome.text)}


def _read_compact(pending: list[dict], values: dict, words: list[str]) -> dict | None:
    """Each word answers the next item branching shows, all of them one-word types, or none."""
    read: dict[str, Any] = {}
    for word in words:
        while pending and pending[0].get("show_if"):
            if parse(pending[0]["show_if"]).evaluate(values):
                break
            pending = pending[1:]
        if not pending or pending[0]["type"] not in COMPACT_TYPES:
            return None
        item, pending = pending[0], pending[1:]
        outcome = parse_reply(item, word)
        if isinstance(outcome, Answered):
            read[item["id"]] = values[item["id"]] = answer_value(
                item, outcome.numeric, outcome.text
            )
        elif isinstance(outcome, Skipped):
            read[item["id"]] = None
        else:
            return None
    return read


def question(body: str) -> int | None:
    """The position (from 0) of the question `body` asks, if it asks one."""
    asked = _QUESTION.match(body)
    return int(asked.group(1)) - 1 if asked else None


def is_reask(body: str) -> bool:
    return body.startswith(_REASK)


def is_reminder(body: str) -> bool:
    return body.startswith(_REMINDER)


def study_day(now: datetime, zone: str, start: date, wake: str, sleep: str) -> int:
    """The study day a moment falls in, for a participant who started on `start` and is awake
    from `wake` to `sleep` (local times; a day that ends after midnight owns its small hours)."""
    local = now.astimezone(ZoneInfo(zone))
    day = local.date()
    wakes, sleeps = time.fromisoformat(wake), time.fromisoformat(sleep)
    if sleeps < wakes and local.time() < wakes:
        day -= timedelta(days=1)
    return (day - start).days + 1
