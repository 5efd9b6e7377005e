"""What a prompt shows besides its own answers: its place in the participant's day, which
`show_if` may use (`expressions.CONTEXT_NAMES`), and the participant's earlier answers its
texts pipe (`protocols.piping`). Worked out here only, for every channel: the SMS conversation,
the web pages, the server's record of which items were presented (`operations.advance`) and
the simulator's participants, so they cannot disagree.

The beep rule (the export's): a prompt's beep is its position, from 1, among the participant's
prompts of the same questionnaire on the same study day, ordered by due time then id, counting
every prompt not replaced by a re-plan (status reason `superseded`), cancelled and missed ones
included, across all planned schedules of the questionnaire; reports the participant starts
(`event` schedules) are a sequence of their own. `first_beep` is beep 1, `last_beep` a prompt
with no later one in its sequence that day. `study_day` is the prompt's, `local_time` its due
time in the participant's zone ("HH:MM"), `weekday` that of its study day's date ('mon'...).

The item order (`in_prompt_order`): the items of each of a questionnaire's `shuffle` lists are
shown in an order drawn for the prompt, `random.Random(derive_seed("item-order", prompt id,
the list's number from 0))` shuffling the list as the protocol writes it, into the places the
list's items hold; so a prompt shows the same order every time (the SMS conversation, its first
text, its pages, the server's record, the simulator), and every order can come.

A questionnaire as a prompt presents it (`presented`) is a copy of the protocol's that carries
what this prompt adds (`Presented`): branching reads its place with the answers
(`branching_values`), and texts read the earlier answers (`lookup`); its items are in the
prompt's order. One query works out the place, one the earlier answers, each only for a
questionnaire that uses it; the order takes none.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from eas.core.crypto import unsealed
from eas.core.db import core_execute
from eas.participants.models import Participant
from eas.protocols import piping
from eas.protocols.expressions import ExpressionError, parse
from eas.protocols.fields import WEEKDAYS
from eas.responses.models import Answer, Response
from eas.responses.replies import answer_value
from eas.scheduling.models import PlannedPrompt
from eas.scheduling.planner import derive_seed
from eas.scheduling.reasons import CancelReason

#: The key of a presented questionnaire that holds its `Presented`.
PRESENTED = "_presented"
#: The key of a questionnaire whose `shuffle` lists are in a prompt's order: the prompt's id.
ORDERED_FOR = "_ordered_for"

_PROMPTS = PlannedPrompt.__table__
_PARTICIPANTS = Participant.__table__
_RESPONSES = Response.__table__
_ANSWERS = Answer.__table__
_ME = _PROMPTS.alias("me")
_DAY = _PROMPTS.alias("same_day")

#: The prompt, its participant's zone, and every prompt of its questionnaire that day (itself
#: included): what the beep rule counts.
_PLACE = (
    sa.select(
        _DAY.c.id,
        _DAY.c.schedule_id,
        _DAY.c.occurrence,
        _DAY.c.revision,
        _DAY.c.due_at,
        _DAY.c.status_reason,
        _ME.c.schedule_id.label("own_schedule"),
        _ME.c.due_at.label("own_due_at"),
        _ME.c.local_date,
        _ME.c.study_day,
        _PARTICIPANTS.c.timezone,
    )
    .select_from(
        _ME.join(_PARTICIPANTS, _PARTICIPANTS.c.id == _ME.c.participant_id).join(
            _DAY,
            sa.and_(
                _DAY.c.participant_id == _ME.c.participant_id,
                _DAY.c.questionnaire_id == _ME.c.questionnaire_id,
                _DAY.c.study_day == _ME.c.study_day,
            ),
        )
    )
    .where(_ME.c.id == sa.bindparam("prompt_id"))
)

_RANKED = (
    sa.select(
        _ANSWERS.c.item_id,
        _ANSWERS.c.value_numeric,
        _ANSWERS.c.value_text,
        _PROMPTS.c.questionnaire_id,
        sa.func.row_number()
        .over(
            partition_by=_ANSWERS.c.item_id,
            order_by=(_ANSWERS.c.answered_at.desc(), _ANSWERS.c.id.desc()),
        )
        .label("latest"),
    )
    .select_from(
        _ANSWERS.join(_RESPONSES, _RESPONSES.c.id == _ANSWERS.c.response_id).join(
            _PROMPTS, _PROMPTS.c.id == _RESPONSES.c.prompt_id
        )
    )
    .where(
        _PROMPTS.c.participant_id == sa.bindparam("participant_id"),
        _PROMPTS.c.id != sa.bindparam("prompt_id"),
        _ANSWERS.c.item_id.in_(sa.bindparam("item_ids", expanding=True)),
        _ANSWERS.c.missing_code.is_(None),
    )
    .subquery()
)
#: The participant's latest answer to each of some items, in prompts other than this one.
_EARLIER = sa.select(
    _RANKED.c.item_id, _RANKED.c.value_numeric, _RANKED.c.value_text, _RANKED.c.questionnaire_id
).where(_RANKED.c.latest == 1)


@dataclass(frozen=True)
class Place:
    """A prompt's place in the participant's day, as `show_if` names it."""

    #: None for a prompt that a re-plan replaced (it is never presented).
    beep: int | None
    first_beep: bool | None
    last_beep: bool | None
    study_day: int
    #: "HH:MM", 24-hour: compared as text, in time order.
    local_time: str
    weekday: str

    def names(self) -> dict[str, Any]:
        return {
            "beep": self.beep,
            "first_beep": self.first_beep,
            "last_beep": self.last_beep,
            "study_day": self.study_day,
            "local_time": self.local_time,
            "weekday": self.weekday,
        }


@dataclass(frozen=True)
class Presented:
    """What a prompt adds to its questionnaire: its place (None: its branching does not use
    it) and the participant's latest answers in other prompts to the items its texts pipe, as
    they show (item id -> text; decrypted where the study seals free text: never log them)."""

    place: Place | None = None
    earlier: Mapping[str, str] = field(default_factory=dict)


def place_of(prompt_id: int, definition: dict[str, Any]) -> Place:
    """The prompt's place in its participant's day (one query). `definition`: its protocol
    version's, which says which schedules are participant-initiated."""
    rows = core_execute(_PLACE, {"prompt_id": prompt_id}).all()
    if not rows:
        raise LookupError(f"no prompt {prompt_id}")
    own = rows[0]
    reports = {s["id"] for s in definition["schedules"] if s["type"] == "event"}
    is_report = own.own_schedule in reports
    # A slot's earlier revisions were replaced (superseded, or paused and planned again).
    latest: dict[tuple[str, str], int] = {}
    for row in rows:
        key = (row.schedule_id, row.occurrence)
        latest[key] = max(row.revision, latest.get(key, row.revision))
    sequence = sorted(
        (row.due_at, row.id)
        for row in rows
        if row.status_reason != CancelReason.superseded.value
        and row.revision == latest[(row.schedule_id, row.occurrence)]
        and (row.schedule_id in reports) == is_report
    )
    ids = [prompt for _, prompt in sequence]
    beep = ids.index(prompt_id) + 1 if prompt_id in ids else None
    local = own.own_due_at.astimezone(ZoneInfo(own.timezone))
    return Place(
        beep=beep,
        first_beep=None if beep is None else beep == 1,
        last_beep=None if beep is None else beep == len(ids),
        study_day=own.study_day,
        local_time=local.strftime("%H:%M"),
        weekday=WEEKDAYS[own.local_date.weekday()],
    )


def _item_of(definition: dict[str, Any], questionnaire_id: str, item_id: str) -> dict | None:
    """The item an answer answered: of its questionnaire, else any with its id."""
    found = None
    for questionnaire in definition["questionnaires"]:
        for item in questionnaire["items"]:
            if item["id"] == item_id:
                if questionnaire["id"] == questionnaire_id:
                    return item
                found = found or item
    return found


def earlier_answers(
    participant_id: int, prompt_id: int, item_ids: list[str], definition: dict[str, Any]
) -> dict[str, str]:
    """The participant's latest answer to each of `item_ids` in a prompt other than
    `prompt_id`, as it shows (one query): item id -> text, for those answered."""
    if not item_ids:
        return {}
    rows = core_execute(
        _EARLIER,
        {"participant_id": participant_id, "prompt_id": prompt_id, "item_ids": list(item_ids)},
    ).all()
    shown = {}
    for item_id, numeric, text, questionnaire_id in rows:
        item = _item_of(definition, questionnaire_id, item_id)
        text = unsealed(text)
        if item is not None:
            value = answer_value(item, numeric, text)
        else:  # an item no longer in the protocol: as stored
            value = text if text is not None else numeric
        found = piping.shown_value(item, value)
        if found is not None:
            shown[item_id] = found
    return shown


def uses_place(questionnaire: dict[str, Any]) -> bool:
    """Whether the questionnaire's branching names the prompt's place in the day."""
    return _uses_place(tuple(item.get("show_if") for item in questionnaire["items"]))


@functools.lru_cache(maxsize=256)
def _uses_place(conditions: tuple[str | None, ...]) -> bool:
    for condition in conditions:
        if not condition:
            continue
        try:
            if parse(condition).context_names:
                return True
        except ExpressionError:
            continue
    return False


def in_prompt_order(questionnaire: dict[str, Any], prompt_id: int) -> dict[str, Any]:
    """The questionnaire with the items of each `shuffle` list in the order drawn for the prompt
    (see the module's docstring): the protocol's own when it has none, else a copy (no query).
    The order is drawn from the lists as the protocol writes them, so ordering a copy ordered
    already, for this prompt or another, gives this prompt's order."""
    lists = questionnaire.get("shuffle")
    if not lists:
        return questionnaire
    if questionnaire.get(ORDERED_FOR) == prompt_id:
        return questionnaire
    items = list(questionnaire["items"])
    places = {item["id"]: index for index, item in enumerate(items)}
    by_id = {item["id"]: item for item in items}
    for number, ids in enumerate(lists):
        drawn = list(ids)
        random.Random(derive_seed("item-order", prompt_id, number)).shuffle(drawn)
        for place, item_id in zip(sorted(places[i] for i in ids), drawn, strict=True):
            items[place] = by_id[item_id]
    return {**questionnaire, "items": items, ORDERED_FOR: prompt_id}


def presented(
    questionnaire: dict[str, Any],
    *,
    prompt_id: int,
    participant_id: int,
    definition: dict[str, Any],
) -> dict[str, Any]:
    """The questionnaire as this prompt presents it: the protocol's own when nothing in it
    depends on the prompt, else a copy: its items in the prompt's order (`in_prompt_order`),
    and carrying its `Presented` (at most two queries) with its intro's wordings rendered
    (braces, and answers of earlier prompts) where it uses them."""
    questionnaire = in_prompt_order(questionnaire, prompt_id)
    place_needed = uses_place(questionnaire)
    piped = piping.piped_ids(questionnaire)
    intro = questionnaire.get("intro")
    if not (place_needed or piped or piping.has_braces(piping.intro_texts(intro))):
        return questionnaire
    copy = dict(questionnaire)
    copy[PRESENTED] = Presented(
        place_of(prompt_id, definition) if place_needed else None,
        earlier_answers(participant_id, prompt_id, piped, definition),
    )
    copy["intro"] = piping.render_intro(intro, lookup(copy, {}))
    return copy


def presented_of(questionnaire: dict[str, Any]) -> Presented | None:
    return questionnaire.get(PRESENTED)


def branching_values(questionnaire: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """Answers as branching sees them, with the prompt's place where the questionnaire is a
    presented one whose branching uses it (item ids never take its names)."""
    found = questionnaire.get(PRESENTED)
    if found is None or found.place is None:
        return values
    return {**found.place.names(), **values}


def require_place(questionnaire: dict[str, Any]) -> None:
    """Refuse to decide branching on the place in the day without knowing it (the items it
    shows would silently be coded not presented)."""
    found = questionnaire.get(PRESENTED)
    if (found is None or found.place is None) and uses_place(questionnaire):
        raise ValueError(
            f"questionnaire '{questionnaire['id']}' branches on the prompt's place in the day: "
            "decide it on the questionnaire as the prompt presents it (context.presented)"
        )


def require_order(questionnaire: dict[str, Any]) -> None:
    """Refuse to decide which items come next on the protocol's order of a questionnaire
    whose items a prompt shows in its own (`in_prompt_order`)."""
    if questionnaire.get("shuffle") and ORDERED_FOR not in questionnaire:
        raise ValueError(
            f"questionnaire '{questionnaire['id']}' shows its items in an order drawn per "
            "prompt: decide on the questionnaire in the prompt's order (context.presented, or "
            "context.in_prompt_order)"
        )


def lookup(
    questionnaire: dict[str, Any], values: dict[str, Any], *, limit: int | None = None
) -> Callable[[str], str | None]:
    """What a placeholder shows: the answer given earlier in this prompt (`values`, as
    branching sees them), else the participant's latest in another prompt (a presented
    questionnaire's), else None (the fallback). `limit`: cut longer answers (SMS)."""
    items = {item["id"]: item for item in questionnaire["items"]}
    found = questionnaire.get(PRESENTED)
    earlier = found.earlier if found is not None else {}

    def shown(item_id: str) -> str | None:
        if item_id in items and values.get(item_id) is not None:
            return piping.shown_value(items[item_id], values[item_id], limit=limit)
        if item_id in earlier:
            return piping.cut(earlier[item_id], limit)
        return None

    return shown


def shown_text(
    questionnaire: dict[str, Any], text: str, values: dict[str, Any], *, limit: int | None = None
) -> str:
    """A text of the questionnaire with what it pipes (see `lookup`)."""
    if "{" not in text and "}" not in text:
        return text
    return piping.render(text, lookup(questionnaire, values, limit=limit))
