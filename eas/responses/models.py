from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eas.core.crypto import SealedText
from eas.core.db import UTCDateTime, db, enum_type
from eas.participants.models import Channel

if TYPE_CHECKING:
    from eas.participants.models import Participant
    from eas.scheduling.models import PlannedPrompt


class ResponseStatus(enum.Enum):
    in_progress = "in_progress"
    completed = "completed"
    #: Started but closed (expired or abandoned) before the last item.
    partial = "partial"


class MissingCode(enum.Enum):
    skipped = "skipped"
    not_presented = "not_presented"
    invalid = "invalid"
    timeout = "timeout"


class Response(db.Model):
    __tablename__ = "responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: One response per prompt; participant-initiated reports get a prompt row of their own.
    prompt_id: Mapped[int] = mapped_column(sa.ForeignKey("planned_prompts.id"), unique=True)
    channel: Mapped[Channel] = mapped_column(enum_type(Channel))
    #: Indexed: every dispatcher tick looks for lapsed responses in progress.
    status: Mapped[ResponseStatus] = mapped_column(
        enum_type(ResponseStatus), default=ResponseStatus.in_progress, index=True
    )
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: SMS: the item whose answer the next reply gives (None once nothing is awaited).
    current_item_id: Mapped[str | None] = mapped_column(sa.String(64))
    #: SMS: whether the current item was already asked again after an invalid reply.
    reasked: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    prompt: Mapped[PlannedPrompt] = relationship()
    answers: Mapped[list[Answer]] = relationship(
        back_populates="response", order_by="Answer.position"
    )

    def add_answer(self, **values) -> Answer:
        answer = Answer(**values)
        self.answers.append(answer)
        return answer


class Answer(db.Model):
    """One item of one response: the value, or why there is none."""

    __tablename__ = "answers"
    __table_args__ = (
        sa.UniqueConstraint("response_id", "item_id"),
        sa.CheckConstraint(
            "(missing_code IS NULL) OR (value_numeric IS NULL AND value_text IS NULL)",
            name="missing_has_no_value",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(sa.ForeignKey("responses.id"), index=True)
    item_id: Mapped[str] = mapped_column(sa.String(64))
    #: Order in which the item was presented, from 1.
    position: Mapped[int]
    #: Exactly what the participant sent (the SMS text, the form value).
    raw_value: Mapped[str | None] = mapped_column(SealedText)
    value_numeric: Mapped[float | None]
    #: Chosen option value(s) or free text.
    value_text: Mapped[str | None] = mapped_column(SealedText)
    missing_code: Mapped[MissingCode | None] = mapped_column(enum_type(MissingCode))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    response: Mapped[Response] = relationship(back_populates="answers")


class AccessLink(db.Model):
    """A participant's link to a web page: one prompt's questionnaire, or (without a prompt) the
    participant's own page for reports they start. Only a hash of the token is stored: the
    link itself exists in the text message alone."""

    __tablename__ = "access_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    participant_id: Mapped[int] = mapped_column(sa.ForeignKey("participants.id"), index=True)
    prompt_id: Mapped[int | None] = mapped_column(sa.ForeignKey("planned_prompts.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: Personal links can be revoked (a new one issued); prompt links end with their prompt.
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    prompt: Mapped[PlannedPrompt | None] = relationship()
    participant: Mapped[Participant] = relationship()
