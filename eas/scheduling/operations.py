"""Materialise the planner's prompts into the database, idempotently, and re-plan the future.

History is never rewritten: only prompts that are still `scheduled` and due after "now" are
touched. A slot's row is kept when the new plan agrees with it; otherwise it is cancelled with
the reason, and the slot gets a new row (the next `revision`). Running this twice changes
nothing, and draws already made are never redrawn (they come from stored seeds).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from eas.core.db import db
from eas.participants.models import Channel, Participant, ParticipantStatus
from eas.scheduling.models import CancelReason, PlannedPrompt, PromptStatus
from eas.scheduling.planner import Group, PlannedSlot, Subject, plan_prompts

_PLANNABLE = (ParticipantStatus.active, ParticipantStatus.paused)


@dataclass(frozen=True)
class ReplanResult:
    created: int
    cancelled: int
    kept: int


def subject_for(participant: Participant) -> Subject:
    return Subject(
        timezone=participant.timezone,
        start_date=participant.start_date,
        wake=participant.wake_time,
        sleep=participant.sleep_time,
        weekend_wake=participant.weekend_wake_time,
        weekend_sleep=participant.weekend_sleep_time,
        channel=participant.channel.value,
        seed=participant.schedule_seed,
        pauses=tuple((pause.starts_at, pause.ends_at) for pause in participant.pauses),
    )


def group_for(participant: Participant) -> Group | None:
    group = participant.group
    if group is None:
        return None
    members = [m for m in group.members if m.status in _PLANNABLE] or [participant]
    return Group(seed=group.schedule_seed, members=tuple(subject_for(m) for m in members))


def _same_plan(row: PlannedPrompt, slot: PlannedSlot, version_id: int) -> bool:
    return (
        row.protocol_version_id == version_id
        and row.due_at == slot.due_at
        and row.expires_at == slot.expires_at
        and row.channel.value == slot.channel
        and row.questionnaire_id == slot.questionnaire_id
    )


def _new_row(
    participant: Participant, slot: PlannedSlot, version_id: int, revision: int, now: datetime
) -> dict:
    cancelled = slot.cancel_reason is not None
    return {
        "participant_id": participant.id,
        "protocol_version_id": version_id,
        "schedule_id": slot.schedule_id,
        "questionnaire_id": slot.questionnaire_id,
        "occurrence": slot.occurrence,
        "revision": revision,
        "channel": Channel(slot.channel),
        "study_day": slot.study_day,
        "local_date": slot.local_date,
        "due_at": slot.due_at,
        "window_start_at": slot.window_start_at,
        "window_end_at": slot.window_end_at,
        "expires_at": slot.expires_at,
        "status": PromptStatus.cancelled if cancelled else PromptStatus.scheduled,
        "status_reason": slot.cancel_reason,
        "attempts": 0,
        "created_at": now,
    }


def cancel_future(participant: Participant, now: datetime, reason: CancelReason) -> int:
    """Cancel every prompt of the participant still scheduled after `now`."""
    result = db.session.execute(
        sa.update(PlannedPrompt)
        .where(
            PlannedPrompt.participant_id == participant.id,
            PlannedPrompt.status == PromptStatus.scheduled,
            PlannedPrompt.due_at >= now,
        )
        .values(status=PromptStatus.cancelled, status_reason=reason.value)
        .execution_options(synchronize_session="fetch")
    )
    return result.rowcount


def replan_participant(
    participant: Participant,
    now: datetime,
    *,
    reason: CancelReason = CancelReason.superseded,
) -> ReplanResult:
    """Bring the participant's future prompts in line with their current plan."""
    if participant.status not in _PLANNABLE:
        cancelled = cancel_future(
            participant,
            now,
            CancelReason.opted_out
            if participant.status is ParticipantStatus.opted_out
            else CancelReason.withdrawn
            if participant.status is ParticipantStatus.withdrawn
            else CancelReason.study_ended,
        )
        return ReplanResult(created=0, cancelled=cancelled, kept=0)

    version = participant.study.current_version
    # Plan the whole study (so a slot that moved into the past is told from one that no longer
    # exists), then keep the future.
    slots = plan_prompts(version.definition, subject_for(participant), group_for(participant))
    in_plan = {(slot.schedule_id, slot.occurrence) for slot in slots}
    wanted = {(slot.schedule_id, slot.occurrence): slot for slot in slots if slot.due_at >= now}

    rows = db.session.scalars(
        sa.select(PlannedPrompt)
        .where(PlannedPrompt.participant_id == participant.id)
        .order_by(PlannedPrompt.revision)
    ).all()
    latest: dict[tuple[str, str], PlannedPrompt] = {}
    for row in rows:
        latest[row.schedule_id, row.occurrence] = row

    cancelled = kept = 0
    for key, row in latest.items():
        if row.status is not PromptStatus.scheduled or row.due_at < now:
            continue
        slot = wanted.get(key)
        if slot is not None and slot.cancel_reason is None and _same_plan(row, slot, version.id):
            kept += 1
            continue
        row.status = PromptStatus.cancelled
        if key not in in_plan:
            row.status_reason = CancelReason.study_ended.value
        elif slot is None:  # the new plan puts this slot in the past
            row.status_reason = reason.value
        elif slot.cancel_reason is not None:
            row.status_reason = slot.cancel_reason
        else:
            row.status_reason = reason.value
        cancelled += 1

    new_rows = []
    for key, slot in wanted.items():
        row = latest.get(key)
        if row is None:
            new_rows.append(_new_row(participant, slot, version.id, 0, now))
        elif row.status is PromptStatus.cancelled and slot.cancel_reason is None:
            # Cancelled earlier (paused, superseded...) and wanted again: a new revision.
            new_rows.append(_new_row(participant, slot, version.id, row.revision + 1, now))
    db.session.flush()  # the cancellations above, before their slots' new revisions
    if new_rows:
        # A plain Core executemany (no ORM bookkeeping, no RETURNING): a study plans hundreds
        # of rows per participant at once.
        db.session.connection().execute(PlannedPrompt.__table__.insert(), new_rows)
    return ReplanResult(created=len(new_rows), cancelled=cancelled, kept=kept)


def replan_group_of(
    participant: Participant,
    now: datetime,
    *,
    reason: CancelReason = CancelReason.superseded,
) -> ReplanResult:
    """Re-plan the participant and, since members share draws, everyone in their group."""
    people = participant.group.members if participant.group else [participant]
    if participant not in people:
        people = [*people, participant]
    results = [replan_participant(person, now, reason=reason) for person in people]
    return ReplanResult(
        created=sum(r.created for r in results),
        cancelled=sum(r.cancelled for r in results),
        kept=sum(r.kept for r in results),
    )
