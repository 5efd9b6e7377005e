"""A prompt in progress, as values: the prompt, its participant, its response and the response's
answers, read in one statement.

The SMS conversation (a participant's latest SMS prompt) and a questionnaire page (a link's
prompt) read the same record; `progress_select` builds either statement from what leads to the
prompt, and `progress_of` reads its rows. The columns are derived from the tables, labelled with
`PromptProgress`'s field names, so the record and its statement cannot disagree.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from eas.participants.models import Participant, ParticipantStatus
from eas.responses import context
from eas.responses import operations as responses
from eas.responses import state as response_state
from eas.responses.models import Answer, Response, ResponseStatus
from eas.responses.state import AnswerRow, ResponseState
from eas.scheduling.models import PlannedPrompt, PromptStatus
from eas.studies.definitions import definition_of
from eas.studies.models import ProtocolVersion
from eas.studies.operations import seals_free_text_column

PROMPTS = PlannedPrompt.__table__
PARTICIPANTS = Participant.__table__
_VERSIONS = ProtocolVersion.__table__.alias("prompt_version")
_RESPONSES = Response.__table__
_ANSWERS = Answer.__table__


@dataclass(frozen=True)
class Answerer:
    """The participant, as much of them as raising a safety alert needs."""

    id: int
    study_id: int


@dataclass(frozen=True)
class PromptProgress:
    """A prompt, its participant and its response (if started), with the response's answers."""

    prompt_id: int
    prompt_status: PromptStatus
    protocol_version_id: int
    source_hash: str
    questionnaire_id: str
    study_day: int
    expires_at: datetime
    participant_id: int
    study_id: int
    participant_status: ParticipantStatus
    response_id: int | None
    #: The response's (None: not started).
    status: ResponseStatus | None
    last_activity_at: datetime | None
    completed_at: datetime | None
    current_item_id: str | None
    reasked: bool | None
    #: The response's answers, in order.
    answers: tuple[AnswerRow, ...] = ()
    #: Whether the study's current protocol seals what participants write, where the statement
    #: read it (`SEALS_FREE_TEXT`); None where it did not.
    seals_free_text: bool | None = None
    #: The questionnaire as the prompt presents it, once worked out (`questionnaire`).
    _presented: dict[int, dict[str, Any]] = dataclasses.field(
        default_factory=dict, compare=False, repr=False
    )

    @property
    def participant(self) -> Answerer:
        return Answerer(self.participant_id, self.study_id)

    @property
    def started(self) -> bool:
        return self.response_id is not None

    def is_open(self, now: datetime) -> bool:
        """Whether an answer now continues it."""
        return responses.window_is_open(self.expires_at, self.status, self.last_activity_at, now)

    def closes_at(self) -> datetime:
        return responses.window_closes_at(self.expires_at, self.status, self.last_activity_at)

    def definition(self) -> dict[str, Any]:
        """The definition of the protocol version the prompt was planned from."""
        return definition_of(self.protocol_version_id, self.source_hash)

    def questionnaire(self, definition: dict[str, Any]) -> dict[str, Any]:
        """The prompt's questionnaire, of its protocol version's `definition`, as the prompt
        presents it (`context.presented`: with its place in the day and the earlier answers its
        texts pipe, where it uses them; worked out once)."""
        key = id(definition)
        if key not in self._presented:
            plain = next(
                q for q in definition["questionnaires"] if q["id"] == self.questionnaire_id
            )
            self._presented[key] = context.presented(
                plain,
                prompt_id=self.prompt_id,
                participant_id=self.participant_id,
                definition=definition,
            )
        return self._presented[key]

    def answered_values(self, questionnaire: dict[str, Any]) -> dict[str, Any]:
        """Its answers as branching sees them (what the participant gave so far, and its place
        in the day where `questionnaire`, as `questionnaire` returns it, uses it)."""
        return responses.values_of(self.answers, questionnaire)

    def response(self, *, encrypts_free_text: bool) -> ResponseState | None:
        """Its response, to record answers in (None: not started)."""
        return response_state.state_of(self, encrypts_free_text=encrypts_free_text)


#: Each field of `PromptProgress` but `answers`, and the column it is read from.
_SOURCES = {
    "prompt_id": PROMPTS.c.id,
    "prompt_status": PROMPTS.c.status,
    "protocol_version_id": PROMPTS.c.protocol_version_id,
    "source_hash": _VERSIONS.c.source_hash,
    "questionnaire_id": PROMPTS.c.questionnaire_id,
    "study_day": PROMPTS.c.study_day,
    "expires_at": PROMPTS.c.expires_at,
    "participant_id": PARTICIPANTS.c.id,
    "study_id": PARTICIPANTS.c.study_id,
    "participant_status": PARTICIPANTS.c.status,
    "response_id": _RESPONSES.c.id,
    **{name: _RESPONSES.c[name] for name in response_state.RESPONSE_FIELDS},
}
_ANSWER_FIELDS = [f.name for f in dataclasses.fields(AnswerRow)]
_ANSWER_LABEL = "answer_"
COLUMNS = (
    *(column.label(name) for name, column in _SOURCES.items()),
    *(_ANSWERS.c[name].label(_ANSWER_LABEL + name) for name in _ANSWER_FIELDS),
)
assert list(_SOURCES) == [f.name for f in dataclasses.fields(PromptProgress)][:-3]
#: An extra column for `progress_select`: what `PromptProgress.seals_free_text` says.
SEALS_FREE_TEXT = seals_free_text_column(PARTICIPANTS.c.study_id).label("seals_free_text")


def progress_select(source: sa.FromClause, *extra: sa.ColumnElement) -> sa.Select:
    """The progress of the prompts `source` leads to (a FROM clause holding `PROMPTS` and
    `PARTICIPANTS`, joined), a row per answer (one, with NULLs, when none), in answer order
    after `extra` columns: add the WHERE (and any ORDER BY before the answers')."""
    return sa.select(*extra, *COLUMNS).select_from(
        source.outerjoin(_VERSIONS, _VERSIONS.c.id == PROMPTS.c.protocol_version_id)
        .outerjoin(_RESPONSES, _RESPONSES.c.prompt_id == PROMPTS.c.id)
        .outerjoin(_ANSWERS, _ANSWERS.c.response_id == _RESPONSES.c.id)
    )


def order_answers(statement: sa.Select) -> sa.Select:
    return statement.order_by(_ANSWERS.c.position)


def progress_of(rows: Sequence[sa.Row]) -> PromptProgress | None:
    """The progress read in `rows` (one prompt's, from `progress_select`), or None when they
    hold no prompt."""
    if not rows or rows[0].prompt_id is None:
        return None
    first = rows[0]._mapping
    return PromptProgress(
        **{name: first[name] for name in _SOURCES},
        answers=tuple(_answers(rows)),
        seals_free_text=first.get("seals_free_text"),
    )


def _answers(rows: Iterable[sa.Row]) -> Iterable[AnswerRow]:
    for row in rows:
        values = row._mapping
        if values[_ANSWER_LABEL + "item_id"] is not None:
            yield AnswerRow(**{name: values[_ANSWER_LABEL + name] for name in _ANSWER_FIELDS})
