"""Query pieces about planned prompts, shared by the dispatcher and the reminders."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from eas.participants.models import Participant, ParticipantStatus, Pause
from eas.scheduling.models import PlannedPrompt


def reachable_prompts(
    now: datetime | sa.BindParameter, *conditions, lock: bool = True
) -> sa.Select:
    """Ids of prompts meeting `conditions` whose participant is active and not paused at `now`
    (a time, or `now_parameter()`); with `lock`, locked for a claim (`FOR UPDATE SKIP LOCKED`
    on PostgreSQL; SQLite ignores it), else a plain read (the last look before sending)."""
    query = (
        sa.select(PlannedPrompt.id)
        .join(Participant, Participant.id == PlannedPrompt.participant_id)
        .where(*conditions, Participant.status == ParticipantStatus.active, ~paused_now(now))
    )
    return query.with_for_update(skip_locked=True, of=PlannedPrompt) if lock else query


def claim_statement(candidates: sa.Select, **values) -> sa.Update:
    """The statement applying `values` to the candidate prompts, returning the ids it changed.
    Build it once with bind parameters (`sa.bindparam("now")`) where it runs every tick."""
    return (
        sa.update(PlannedPrompt)
        .where(PlannedPrompt.id.in_(candidates.scalar_subquery()))
        .values(**values)
        .returning(PlannedPrompt.id)
        .execution_options(synchronize_session=False)
    )


def now_parameter() -> sa.BindParameter:
    """`now` as a bind parameter, for statements built once and run with the time of each run."""
    return sa.bindparam("now", type_=PlannedPrompt.due_at.type)


def paused_now(now: datetime | sa.BindParameter):
    """SQL: the prompt's participant has a pause in force at `now`."""
    return (
        sa.exists()
        .where(Pause.participant_id == PlannedPrompt.participant_id, Pause.starts_at <= now)
        .where(sa.or_(Pause.ends_at.is_(None), Pause.ends_at > now))
    )
