"""A response as plain values, read and written with Core statements: every SMS reply and every
web page reads one and writes it back, and building and flushing ORM objects cost several times
the statements themselves.

`record`, `advance` and `answered_values` (in `operations`) work on a `ResponseState`: both
channels record answers with the same rules. Both read the state with their prompt in one
statement (`responses.progress`); `save` writes the row in one statement (an INSERT for a new
response, with the state its first answer left, else an UPDATE) and the new answers in one
executemany.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime

import sqlalchemy as sa

from eas.core.db import core_execute
from eas.participants.models import Channel
from eas.responses.models import Answer, MissingCode, Response, ResponseStatus

_RESPONSES = Response.__table__
_ANSWERS = Answer.__table__
#: What is read of a response besides its id, in the order `ResponseState` takes them.
RESPONSE_FIELDS = ("status", "last_activity_at", "completed_at", "current_item_id", "reasked")

# Built once: every SMS reply runs them.
_INSERT_RESPONSE = _RESPONSES.insert().returning(_RESPONSES.c.id)
_UPDATE_RESPONSE = (
    _RESPONSES.update()
    .where(_RESPONSES.c.id == sa.bindparam("response_id"))
    .values(
        status=sa.bindparam("status"),
        last_activity_at=sa.bindparam("last_activity_at"),
        completed_at=sa.bindparam("completed_at"),
        current_item_id=sa.bindparam("current_item_id"),
        reasked=sa.bindparam("reasked"),
    )
)


@dataclass
class AnswerRow:
    """One stored (or about to be stored) answer; the fields of `Answer`."""

    item_id: str
    position: int
    raw_value: str | None = None
    value_numeric: float | None = None
    value_text: str | None = None
    missing_code: MissingCode | None = None
    answered_at: datetime | None = None


#: The columns an answer is written with: its response's id and `AnswerRow`'s fields.
_FIELDS = tuple(f.name for f in fields(AnswerRow))
_INSERT_ANSWER = _ANSWERS.insert().values(
    {name: sa.bindparam(name) for name in ("response_id", *_FIELDS)}
)


@dataclass
class ResponseState:
    """A `Response` row and its answers, as values. `encrypts_free_text`: whether the study
    seals what participants write (as `Response.encrypts_free_text` says for a row)."""

    #: None until `save` first writes it (see `start`).
    id: int | None
    status: ResponseStatus
    last_activity_at: datetime
    completed_at: datetime | None
    current_item_id: str | None
    reasked: bool
    encrypts_free_text: bool
    answers: list[AnswerRow] = field(default_factory=list)
    #: Answers added since the state was read: `save` inserts them.
    added: list[AnswerRow] = field(default_factory=list)
    #: A response not written yet: its prompt, channel and start (`save` inserts it).
    new: tuple[int, Channel, datetime] | None = None

    def add_answer(self, **values) -> AnswerRow:
        answer = AnswerRow(**values)
        self.answers.append(answer)
        self.added.append(answer)
        return answer


def state_of(read, *, encrypts_free_text: bool) -> ResponseState | None:
    """The state of a response read with its prompt (None: not started). `read` has the
    response's `response_id` (None when there is none), `status`, `last_activity_at`,
    `completed_at`, `current_item_id`, `reasked` and `answers` (a conversation's or a web
    page's one query)."""
    if read.response_id is None:
        return None
    return ResponseState(
        read.response_id,
        read.status,
        read.last_activity_at,
        read.completed_at,
        read.current_item_id,
        bool(read.reasked),
        encrypts_free_text,
        list(read.answers),
    )


def start(
    prompt_id: int,
    channel: Channel,
    first_item_id: str,
    now: datetime,
    *,
    encrypts_free_text: bool,
) -> ResponseState:
    """A new response to `prompt_id`, in progress at its first item (as `start_response`),
    written by `save` with what the answer that started it changed: one INSERT."""
    return ResponseState(
        None,
        ResponseStatus.in_progress,
        now,
        None,
        first_item_id,
        False,
        encrypts_free_text,
        new=(prompt_id, channel, now),
    )


def save(state: ResponseState) -> None:
    """Write the state's row (inserting a new one) and the answers added to it."""
    values = {
        "status": state.status,
        "last_activity_at": state.last_activity_at,
        "completed_at": state.completed_at,
        "current_item_id": state.current_item_id,
        "reasked": state.reasked,
    }
    if state.id is None:
        prompt_id, channel, started_at = state.new
        state.id = core_execute(
            _INSERT_RESPONSE,
            {"prompt_id": prompt_id, "channel": channel, "started_at": started_at, **values},
        ).scalar_one()
        state.new = None
    else:
        core_execute(_UPDATE_RESPONSE, {"response_id": state.id, **values})
    if state.added:
        core_execute(
            _INSERT_ANSWER,
            [
                {"response_id": state.id, **{name: getattr(answer, name) for name in _FIELDS}}
                for answer in state.added
            ],
        )
        state.added = []
