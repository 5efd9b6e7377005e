"""Compliance: how many of the prompts due so far each participant completed, and who is
falling below a threshold. Read by the dashboard, the API and the heatmap; the export counts
by the same rule, from its prompt statuses (`eas.export.derived.COUNTED`).

The rule: a *planned* prompt (not one the participant started themselves, by texting a keyword
or from their page: those are reports, counted apart) that fell due (sent, or due and not
sent: cancelled and future prompts do not count) counts once it is settled: completed, closed
(its window ended) unanswered, or never to be sent (expired, failed). An open prompt is
neither kept nor missed yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from eas.core.db import db
from eas.participants.models import Participant, ParticipantStatus, Pause
from eas.responses.models import Response, ResponseStatus
from eas.scheduling.models import PlannedPrompt, PromptStatus
from eas.studies.models import Study

#: Prompts that were due (sent, or due but not sent): cancelled and future ones do not count.
DUE_STATUSES = (PromptStatus.sent, PromptStatus.expired, PromptStatus.failed)
#: A common minimum in EMA studies (many analyses drop people below it), changeable per look.
DEFAULT_THRESHOLD = 0.6
#: Too few prompts say nothing about someone's compliance yet.
MIN_DUE = 3


def report_schedules(study: Study) -> set[str]:
    """Ids of the schedules whose prompts participants start themselves (any version's)."""
    return {
        schedule["id"]
        for version in study.versions
        for schedule in version.definition["schedules"]
        if schedule["type"] == "event"
    }


def _settled_due(now: datetime):
    """SQL: a planned prompt (its response outer-joined) that fell due and is settled."""
    return sa.and_(
        PlannedPrompt.status.in_(DUE_STATUSES),
        PlannedPrompt.due_at <= now,
        sa.or_(
            Response.status == ResponseStatus.completed,
            PlannedPrompt.expires_at <= now,
            PlannedPrompt.status != PromptStatus.sent,
        ),
    )


@dataclass(frozen=True)
class Compliance:
    participant: Participant
    due: int
    completed: int
    last_completed_at: datetime | None
    #: The pause in force now, if any.
    pause: Pause | None = None
    #: Of the due prompts: sent (not expired or failed before), and started but not finished.
    sent: int = 0
    partial: int = 0
    #: Reports the participant started themselves and completed (not part of `rate`).
    reports: int = 0

    @property
    def rate(self) -> float | None:
        return self.completed / self.due if self.due else None


def due_so_far(study: Study, now: datetime, *keys) -> sa.Select:
    """The study's planned prompts counting toward compliance at `now`, grouped by `keys`:
    the keys, then `due` and `completed` counts. The one reading of compliance for the
    dashboard, the heatmap and the API."""
    return (
        sa.select(
            *keys,
            sa.func.count().label("due"),
            sa.func.count(Response.id)
            .filter(Response.status == ResponseStatus.completed)
            .label("completed"),
        )
        .select_from(PlannedPrompt)
        .join(Participant, Participant.id == PlannedPrompt.participant_id)
        .outerjoin(Response, Response.prompt_id == PlannedPrompt.id)
        .where(
            Participant.study_id == study.id,
            PlannedPrompt.schedule_id.not_in(report_schedules(study)),
            _settled_due(now),
        )
        .group_by(*keys)
    )


def _reports_completed(study: Study) -> dict[int, int]:
    return dict(
        db.session.execute(
            sa.select(PlannedPrompt.participant_id, sa.func.count())
            .join(Response, Response.prompt_id == PlannedPrompt.id)
            .join(Participant, Participant.id == PlannedPrompt.participant_id)
            .where(
                Participant.study_id == study.id,
                PlannedPrompt.schedule_id.in_(report_schedules(study)),
                Response.status == ResponseStatus.completed,
            )
            .group_by(PlannedPrompt.participant_id)
        ).all()
    )


def compliance_by_participant(study: Study, now: datetime) -> list[Compliance]:
    query = due_so_far(study, now, PlannedPrompt.participant_id).add_columns(
        sa.func.count().filter(PlannedPrompt.status == PromptStatus.sent).label("sent"),
        sa.func.count(Response.id)
        .filter(Response.status != ResponseStatus.completed)
        .label("partial"),
        sa.func.max(Response.completed_at).label("last_completed_at"),
    )
    counts = {row.participant_id: row for row in db.session.execute(query)}
    reports = _reports_completed(study)
    people = db.session.scalars(
        sa.select(Participant)
        .where(Participant.study_id == study.id)
        .order_by(Participant.label)
        .options(selectinload(Participant.pauses))  # the pause in force: not a query each
    ).all()
    result = []
    for person in people:
        row = counts.get(person.id)
        pause = next(
            (
                p
                for p in person.pauses
                if p.starts_at <= now and (p.ends_at is None or p.ends_at > now)
            ),
            None,
        )
        if row is None:
            result.append(Compliance(person, 0, 0, None, pause, reports=reports.get(person.id, 0)))
        else:
            result.append(
                Compliance(
                    person,
                    row.due,
                    row.completed,
                    row.last_completed_at,
                    pause,
                    sent=row.sent,
                    partial=row.partial,
                    reports=reports.get(person.id, 0),
                )
            )
    return result


def below_threshold(rows: list[Compliance], threshold: float) -> list[Compliance]:
    """Active or paused participants with enough prompts behind them to judge, below it."""
    return [
        row
        for row in rows
        if row.participant.status in (ParticipantStatus.active, ParticipantStatus.paused)
        and row.due >= MIN_DUE
        and row.rate is not None
        and row.rate < threshold
    ]
