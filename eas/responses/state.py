"""A response as plain values, read and written with Core statements: every SMS reply and every
web page reads one and writes it back, and building and flushing ORM objects cost several times
the statements themselves.

`record`, `advance` and `answered_values` (in `operations`) work on a `ResponseState`: both
channels record answers with the same rules. Each reads the state with its own one statement
(the SMS conversation with its prompt, `sms.conversation`; a web page with its link,
`surveys.visits`); `save` writes the row in one UPDATE and the new answers in one executemany.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from eas.core.db import core_execute
from eas.participants.models import Channel
from eas.responses.models import Answer, MissingCode, Response, ResponseStatus

_RESPONSES = Response.__table__
_ANSWERS = Answer.__table__
#: The columns an answer is written with, in order (see `AnswerRow`).
_ANSWER_COLUMNS = (
    "response_id",
    "item_id",
    "position",
    "raw_value",
    "value_numeric",
    "value_text",
    "missing_code",
    "answered_at",
)

#: What the SMS conversation and a web page read of a response, after their prompt's columns
#: (as `state_of` takes them), and of each of its answers (as `AnswerRow` takes them), from
#: `prompt LEFT JOIN responses LEFT JOIN answers`: one definition for both reads.
RESPONSE_READ = (
    _RESPONSES.c.id.label("response_id"),
    _RESPONSES.c.status,
    _RESPONSES.c.last_activity_at,
    _RESPONSES.c.completed_at,
    _RESPONSES.c.current_item_id,
    _RESPONSES.c.reasked,
)
ANSWER_READ = tuple(_ANSWERS.c[name] for name in _ANSWER_COLUMNS[1:])

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
_INSERT_ANSWER = _ANSWERS.insert().values({name: sa.bindparam(name) for name in _ANSWER_COLUMNS})


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


@dataclass
class ResponseState:
    """A `Response` row and its answers, as values. `encrypts_free_text`: whether the study
    seals what participants write (as `Response.encrypts_free_text` says for a row)."""

    id: int
    status: ResponseStatus
    last_activity_at: datetime
    completed_at: datetime | None
    current_item_id: str | None
    reasked: bool
    encrypts_free_text: bool
    answers: list[AnswerRow] = field(default_factory=list)
    #: Answers added since the state was read: `save` inserts them.
    added: list[AnswerRow] = field(default_factory=list)

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
    """A new response to `prompt_id`, in progress at its first item (as `start_response`)."""
    response_id = core_execute(
        _INSERT_RESPONSE,
        {
            "prompt_id": prompt_id,
            "channel": channel,
            "status": ResponseStatus.in_progress,
            "started_at": now,
            "last_activity_at": now,
            "current_item_id": first_item_id,
            "reasked": False,
        },
    ).scalar_one()
    return ResponseState(
        response_id, ResponseStatus.in_progress, now, None, first_item_id, False, encrypts_free_text
    )


def save(state: ResponseState) -> None:
    """Write the state's row and the answers added to it."""
    core_execute(
        _UPDATE_RESPONSE,
        {
            "response_id": state.id,
            "status": state.status,
            "last_activity_at": state.last_activity_at,
            "completed_at": state.completed_at,
            "current_item_id": state.current_item_id,
            "reasked": state.reasked,
        },
    )
    if state.added:
        core_execute(
            _INSERT_ANSWER,
            [
                {"response_id": state.id, **{name: getattr(answer, name) for name in _FIELDS}}
                for answer in state.added
            ],
        )
        state.added = []


_FIELDS = _ANSWER_COLUMNS[1:]
