"""What the export reads for a chunk of participants: Core statements, built once, giving tuples.

The ORM's result machinery (entity loading, per-row bookkeeping) costs more than the export
does with the rows, and nothing in the export needs ORM objects, so these run on the session's
connection (`core_execute`). Prompts and responses become named tuples (read by name many
times); answers, the bulk, stay rows and are unpacked where they are used.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from operator import itemgetter
from typing import NamedTuple

import sqlalchemy as sa

from eas.core.db import core_execute
from eas.delivery.models import Message
from eas.participants.models import Participant, ParticipantGroup, TimezoneChange
from eas.responses.models import Answer, Response
from eas.scheduling.models import PlannedPrompt

_IDS = sa.bindparam("ids", expanding=True)


def stored(column) -> sa.ColumnElement:
    """A column read as the text stored, without its type's result processing: for enums whose
    value is all that is exported (no member lookup per value), and for sealed text, unsealed by
    the reader only where it was sealed (`SealedText` makes three calls per value)."""
    return sa.type_coerce(column, sa.String).label(column.key)


class PromptRow(NamedTuple):
    id: int
    participant_id: int
    protocol_version_id: int
    schedule_id: str
    questionnaire_id: str
    occurrence: str
    revision: int
    channel: str
    study_day: int
    due_at: datetime
    window_start_at: datetime
    window_end_at: datetime
    expires_at: datetime
    status: object
    status_reason: str | None
    sent_at: datetime | None
    delivered_at: datetime | None
    delivery_error_code: int | None
    reminders_sent: int


class ResponseRow(NamedTuple):
    id: int
    prompt_id: int
    status: object
    started_at: datetime | None
    completed_at: datetime | None
    last_activity_at: datetime | None


#: Answers stay SQLAlchemy rows (tuples for every purpose here): (prompt_id, item_id, position,
#: raw_value, value_numeric, value_text, missing_code, answered_at), raw_value and value_text
#: as stored (see `stored`), missing_code as its value.
ANSWER_MISSING = 6


_PARTICIPANTS = (
    sa.select(
        Participant.id,
        Participant.label,
        ParticipantGroup.label,
        Participant.status,
        Participant.channel,
        Participant.timezone,
        Participant.enrolled_at,
        Participant.start_date,
        Participant.wake_time,
        Participant.sleep_time,
    )
    .outerjoin(ParticipantGroup, ParticipantGroup.id == Participant.group_id)
    .where(Participant.study_id == sa.bindparam("study"))
    .order_by(Participant.label)
)
_PROMPTS = (
    sa.select(
        *(
            stored(PlannedPrompt.channel) if name == "channel" else getattr(PlannedPrompt, name)
            for name in PromptRow._fields
        )
    )
    .where(PlannedPrompt.participant_id.in_(_IDS))
    .order_by(PlannedPrompt.participant_id, PlannedPrompt.due_at, PlannedPrompt.id)
)
_RESPONSES = (
    sa.select(*(getattr(Response, name) for name in ResponseRow._fields))
    .join(PlannedPrompt, PlannedPrompt.id == Response.prompt_id)
    .where(PlannedPrompt.participant_id.in_(_IDS))
)
_ANSWERS = (
    sa.select(
        Response.prompt_id,
        Answer.item_id,
        Answer.position,
        stored(Answer.raw_value),
        Answer.value_numeric,
        stored(Answer.value_text),
        stored(Answer.missing_code),
        Answer.answered_at,
    )
    .join(Response, Response.id == Answer.response_id)
    .join(PlannedPrompt, PlannedPrompt.id == Response.prompt_id)
    .where(PlannedPrompt.participant_id.in_(_IDS))
    .order_by(Response.prompt_id, Answer.position)
)
_DELIVERY = (
    sa.select(Message.prompt_id, stored(Message.status))
    .where(Message.participant_id.in_(_IDS), Message.purpose == "prompt")
    .order_by(Message.id)
)
_HISTORY = (
    sa.select(TimezoneChange.participant_id, TimezoneChange.effective_at, TimezoneChange.timezone)
    .where(TimezoneChange.participant_id.in_(_IDS))
    .order_by(TimezoneChange.effective_at, TimezoneChange.id)
)


@dataclass
class Chunk:
    prompts: dict[int, list[PromptRow]]  # by participant, in due order
    responses: dict[int, ResponseRow]  # by prompt
    answers: dict[int, list]  # by prompt, in position order
    delivery: dict[int, str]  # prompt -> last status of its text
    history: dict[int, list[tuple[datetime, str]]]  # participant -> zone changes


def participants(study_id: int) -> list[tuple]:
    return [tuple(row) for row in core_execute(_PARTICIPANTS, {"study": study_id})]


def load_chunk(ids: list[int]) -> Chunk:
    # Every prompt, also before --since: beeps, indexes, gaps and lags must not depend on
    # where an export starts (so incremental exports can be put together).
    params = {"ids": ids}
    prompts: dict[int, list[PromptRow]] = defaultdict(list)
    for row in core_execute(_PROMPTS, params).all():
        prompt = PromptRow._make(row)
        prompts[prompt.participant_id].append(prompt)
    responses = {row[1]: ResponseRow._make(row) for row in core_execute(_RESPONSES, params).all()}
    answers = {
        prompt_id: list(rows)
        for prompt_id, rows in groupby(core_execute(_ANSWERS, params).all(), itemgetter(0))
    }
    delivery = dict(core_execute(_DELIVERY, params).all())
    history: dict[int, list[tuple[datetime, str]]] = defaultdict(list)
    for participant_id, effective_at, zone_name in core_execute(_HISTORY, params).all():
        history[participant_id].append((effective_at, zone_name))
    return Chunk(prompts, responses, answers, delivery, history)
