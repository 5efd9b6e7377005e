"""What a questionnaire link opens, read as values with Core statements: the link's prompt, its
participant and the prompt's response with its answers, in one statement.

Every page view and every page sent reads this (a participant sends a page and sees the next
at once), and the ORM's loading of five objects, or its flush per answer, cost several times
the statements themselves. Answers are recorded on a `ResponseState` and written by
`responses.state.save`, as the SMS conversation does: both channels keep one set of rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from eas.core.db import core_execute
from eas.participants.models import Participant, ParticipantStatus
from eas.responses import operations as responses
from eas.responses import state as response_state
from eas.responses.models import AccessLink, Answer, Response, ResponseStatus
from eas.responses.state import AnswerRow, ResponseState
from eas.scheduling.models import PlannedPrompt, PromptStatus
from eas.studies.definitions import definition_of
from eas.studies.models import ProtocolVersion
from eas.web.links import token_hash

_LINKS = AccessLink.__table__
_PROMPTS = PlannedPrompt.__table__
_PARTICIPANTS = Participant.__table__
_RESPONSES = Response.__table__
_ANSWERS = Answer.__table__
_VERSIONS = ProtocolVersion.__table__

#: The columns before the answer's, on every row (see `Visit`).
_VISIT_COLUMNS = (
    _PROMPTS.c.id,
    _PROMPTS.c.status,
    _PROMPTS.c.protocol_version_id,
    _VERSIONS.c.source_hash,
    _PROMPTS.c.questionnaire_id,
    _PROMPTS.c.study_day,
    _PROMPTS.c.expires_at,
    _PARTICIPANTS.c.id,
    _PARTICIPANTS.c.study_id,
    _PARTICIPANTS.c.status,
    *response_state.RESPONSE_READ,
)
#: A prompt's link (never revoked: only personal links are), its prompt and participant, the
#: prompt's response and its answers, a row each (one row, with NULLs, when none).
_VISIT = (
    sa.select(*_VISIT_COLUMNS, *response_state.ANSWER_READ)
    .select_from(
        _LINKS.join(_PROMPTS, _PROMPTS.c.id == _LINKS.c.prompt_id)
        .join(_VERSIONS, _VERSIONS.c.id == _PROMPTS.c.protocol_version_id)
        .join(_PARTICIPANTS, _PARTICIPANTS.c.id == _PROMPTS.c.participant_id)
        .outerjoin(_RESPONSES, _RESPONSES.c.prompt_id == _PROMPTS.c.id)
        .outerjoin(_ANSWERS, _ANSWERS.c.response_id == _RESPONSES.c.id)
    )
    .where(_LINKS.c.token_hash == sa.bindparam("token_hash"), _LINKS.c.revoked_at.is_(None))
    .order_by(_ANSWERS.c.position)
)
#: Saving locks the prompt's row to the end of the transaction (PostgreSQL; SQLite has one
#: writer), so two submits of one page take turns. Only the prompt's: locking the
#: participant's would hold up their other work.
_VISIT_FOR_SAVING = _VISIT.with_for_update(of=_PROMPTS)


@dataclass(frozen=True)
class Answerer:
    """The participant, as much of them as raising a safety alert needs."""

    id: int
    study_id: int


@dataclass(frozen=True)
class Visit:
    """A prompt's link opened: the prompt, its participant and its response (if started)."""

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

    @property
    def started(self) -> bool:
        return self.response_id is not None

    @property
    def participant(self) -> Answerer:
        return Answerer(self.participant_id, self.study_id)

    def is_open(self, now: datetime) -> bool:
        return responses.window_is_open(self.expires_at, self.status, self.last_activity_at, now)

    def definition(self) -> dict[str, Any]:
        """The definition of the protocol version the prompt was planned from."""
        return definition_of(self.protocol_version_id, self.source_hash)

    def questionnaire(self, definition: dict[str, Any]) -> dict[str, Any]:
        """The prompt's questionnaire, of its protocol version's `definition`."""
        return next(q for q in definition["questionnaires"] if q["id"] == self.questionnaire_id)

    def answered_values(self, questionnaire: dict[str, Any]) -> dict[str, Any]:
        """Its answers as branching sees them (what the participant gave so far)."""
        return responses.values_of(self.answers, questionnaire)

    def response(self, *, encrypts_free_text: bool) -> ResponseState | None:
        """Its response, to record answers in (None: not started)."""
        return response_state.state_of(self, encrypts_free_text=encrypts_free_text)


_FIELDS = len(_VISIT_COLUMNS)


def open_visit(token: str, *, lock: bool = False) -> Visit | None:
    """What a prompt's link token opens, or None (unknown, or a personal page's link). `lock`:
    for saving a page (see `_VISIT_FOR_SAVING`)."""
    if not token or len(token) > 64:
        return None
    statement = _VISIT_FOR_SAVING if lock else _VISIT
    rows = core_execute(statement, {"token_hash": token_hash(token)}).all()
    if not rows:
        return None
    answers = tuple(AnswerRow(*row[_FIELDS:]) for row in rows if row[_FIELDS] is not None)
    return Visit(*rows[0][:_FIELDS], answers=answers)
