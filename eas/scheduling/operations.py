"""Materialise the planner's prompts into the database, idempotently, and re-plan the future.

History is never rewritten: only prompts that are still `scheduled` and due after "now" are
touched. A slot's row is kept when the new plan agrees with it; otherwise it is cancelled with
the reason, and the slot gets a new row (the next `revision`). Running this twice changes
nothing, and draws already made are never redrawn (they come from stored seeds).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from eas.core.db import bulk_insert, db
from eas.participants.models import Channel, Participant, ParticipantStatus, Pause
from eas.scheduling.horizon import extend_before, planning_days
from eas.scheduling.localtime import local_date_of
from eas.scheduling.models import CancelReason, PlanHorizon, PlannedPrompt, PromptStatus
from eas.scheduling.planner import Group, PlannedSlot, PlanningError, Subject, plan_prompts

log = logging.getLogger(__name__)
_PLANNABLE = (ParticipantStatus.active, ParticipantStatus.paused)
#: Participants per query when loading rows for many of them (well under SQLite's 32,766).
_CHUNK = 500


@dataclass(frozen=True)
class ReplanResult:
    created: int
    cancelled: int
    kept: int


def subject_for(participant: Participant, pauses: list[Pause] | None = None) -> Subject:
    pauses = participant.pauses if pauses is None else pauses
    return Subject(
        timezone=participant.timezone,
        start_date=participant.start_date,
        wake=participant.wake_time,
        sleep=participant.sleep_time,
        weekend_wake=participant.weekend_wake_time,
        weekend_sleep=participant.weekend_sleep_time,
        channel=participant.channel.value,
        seed=participant.schedule_seed,
        pauses=tuple((pause.starts_at, pause.ends_at) for pause in pauses),
        arm=participant.arm,
    )


def group_for(participant: Participant) -> Group | None:
    group = participant.group
    if group is None:
        return None
    members = [m for m in group.members if m.status in _PLANNABLE] or [participant]
    return Group(seed=group.schedule_seed, members=tuple(subject_for(m) for m in members))


_NEW_ROW_COLUMNS = [
    "participant_id",
    "protocol_version_id",
    "schedule_id",
    "questionnaire_id",
    "occurrence",
    "revision",
    "channel",
    "study_day",
    "local_date",
    "due_at",
    "window_start_at",
    "window_end_at",
    "expires_at",
    "status",
    "status_reason",
    "attempts",
    "created_at",
]
_CHANNELS = {channel.value: channel for channel in Channel}


def _new_row(
    participant: Participant, slot: PlannedSlot, version_id: int, revision: int, now: datetime
) -> tuple:
    """Values of a new prompt row, in `_NEW_ROW_COLUMNS` order."""
    return (
        participant.id,
        version_id,
        slot.schedule_id,
        slot.questionnaire_id,
        slot.occurrence,
        revision,
        _CHANNELS[slot.channel],
        slot.study_day,
        slot.local_date,
        slot.due_at,
        slot.window_start_at,
        slot.window_end_at,
        slot.expires_at,
        PromptStatus.scheduled if slot.cancel_reason is None else PromptStatus.cancelled,
        slot.cancel_reason,
        0,
        now,
    )


def cancel_future(participant: Participant, now: datetime, reason: CancelReason) -> int:
    """Cancel every prompt of the participant not sent yet: due after `now`, or claimed by a
    dispatcher that has not sent it (it checks again just before sending)."""
    result = db.session.execute(
        sa.update(PlannedPrompt)
        .where(
            PlannedPrompt.participant_id == participant.id,
            sa.or_(
                sa.and_(
                    PlannedPrompt.status == PromptStatus.scheduled, PlannedPrompt.due_at >= now
                ),
                PlannedPrompt.status == PromptStatus.sending,
            ),
        )
        .values(status=PromptStatus.cancelled, status_reason=reason.value)
        .execution_options(synchronize_session="fetch")
    )
    return result.rowcount


def _by_participant(model, participant_ids: list[int], order_by) -> dict[int, list]:
    """Rows of `model` for many participants, a few queries in all instead of one each."""
    grouped: dict[int, list] = defaultdict(list)
    for start in range(0, len(participant_ids), _CHUNK):
        chunk = participant_ids[start : start + _CHUNK]
        query = sa.select(model).where(model.participant_id.in_(chunk)).order_by(order_by)
        for row in db.session.scalars(query):
            grouped[row.participant_id].append(row)
    return grouped


def _inactive_reason(participant: Participant) -> CancelReason:
    return {
        ParticipantStatus.opted_out: CancelReason.opted_out,
        ParticipantStatus.withdrawn: CancelReason.withdrawn,
    }.get(participant.status, CancelReason.study_ended)


def replan_participants(
    participants: list[Participant],
    now: datetime,
    *,
    reason: CancelReason = CancelReason.superseded,
) -> ReplanResult:
    """Bring the participants' future prompts in line with their current plans."""
    created = cancelled = kept = 0
    active = [p for p in participants if p.status in _PLANNABLE]
    for participant in participants:
        if participant.status not in _PLANNABLE:
            cancelled += cancel_future(participant, now, _inactive_reason(participant))
    ids = [p.id for p in active]
    existing = _by_participant(PlannedPrompt, ids, PlannedPrompt.revision)
    pauses = _by_participant(Pause, ids, Pause.starts_at)
    horizons = _by_participant(PlanHorizon, ids, PlanHorizon.participant_id)
    new_rows: list[tuple] = []
    for participant in active:
        plan = _Replan(participant, pauses.get(participant.id, []), now, reason)
        rows, one_cancelled, one_kept = plan.run(existing.get(participant.id, []))
        new_rows += rows
        cancelled, kept = cancelled + one_cancelled, kept + one_kept
        _record_horizon(participant, plan, horizons.get(participant.id))
    db.session.flush()  # the cancellations above, before their slots' new revisions
    # A study plans hundreds of rows per participant at once: no ORM objects for them.
    bulk_insert(db.session.connection(), PlannedPrompt.__table__, _NEW_ROW_COLUMNS, new_rows)
    return ReplanResult(created + len(new_rows), cancelled, kept)


def _record_horizon(participant: Participant, plan: _Replan, found: list[PlanHorizon] | None):
    """Remember how far an incomplete plan reaches (the periodic work extends it)."""
    horizon = found[0] if found else None
    if plan.complete:
        if horizon is not None:
            db.session.delete(horizon)
        return
    through = participant.start_date + timedelta(days=plan.last_day - 1)
    if horizon is None:
        db.session.add(
            PlanHorizon(
                participant_id=participant.id,
                planned_through_day=plan.last_day,
                planned_through=through,
            )
        )
    else:
        horizon.planned_through_day, horizon.planned_through = plan.last_day, through


class _Replan:
    """One participant: compare the stored prompts with a fresh plan of the whole study."""

    def __init__(
        self, participant: Participant, pauses: list[Pause], now: datetime, reason: CancelReason
    ) -> None:
        self.participant = participant
        self.now = now
        self.reason = reason
        #: A pause in force now also stops overdue prompts no dispatcher has picked up yet.
        self.paused_now = any(
            pause.starts_at <= now and (pause.ends_at is None or now < pause.ends_at)
            for pause in pauses
        )
        self.version = participant.study.current_version
        definition = self.version.definition
        local_today = local_date_of(now, participant.timezone)
        self.first_day, self.last_day, self.complete = planning_days(
            definition, participant.start_date, local_today
        )
        slots = plan_prompts(
            definition,
            subject_for(participant, pauses),
            group_for(participant),
            with_reminders=False,
            days=(self.first_day, self.last_day),
        )
        self.planned = {(slot.schedule_id, slot.occurrence): slot for slot in slots}
        self.min_gaps = {
            schedule["id"]: timedelta(minutes=schedule.get("min_gap_minutes", 0))
            for schedule in self.version.definition["schedules"]
        }

    def run(self, rows: list[PlannedPrompt]) -> tuple[list[tuple], int, int]:
        latest: dict[tuple[str, str], PlannedPrompt] = {}
        last_sent: dict[str, datetime] = {}
        for row in rows:
            latest[row.schedule_id, row.occurrence] = row
            if row.status in (PromptStatus.sent, PromptStatus.sending):
                last_sent[row.schedule_id] = max(
                    row.due_at, last_sent.get(row.schedule_id, row.due_at)
                )
        cancelled = kept = 0
        for key, row in latest.items():
            # Still sendable: not yet sent and not expired (an overdue prompt a dispatcher has
            # not picked up yet counts too: a pause must stop it).
            if row.status is not PromptStatus.scheduled or row.expires_at <= self.now:
                continue
            if row.study_day < self.first_day or (
                row.study_day > self.last_day and not self.complete
            ):
                continue  # outside the days planned now (past, or beyond a horizon)
            slot = self.planned.get(key)
            if self.paused_now and row.due_at < self.now:
                row.status, row.status_reason = PromptStatus.cancelled, CancelReason.paused.value
                cancelled += 1
                continue
            if slot is not None and slot.cancel_reason is None and self._same_timing(row, slot):
                # A new protocol version that leaves the timing alone: the prompt stays and
                # goes out with the new version's wording.
                row.protocol_version_id = self.version.id
                kept += 1
                continue
            row.status = PromptStatus.cancelled
            if slot is None:
                row.status_reason = CancelReason.study_ended.value
            elif slot.cancel_reason is not None:
                row.status_reason = slot.cancel_reason
            else:  # moved (perhaps into the past, where it is not sent late)
                row.status_reason = self.reason.value
            cancelled += 1

        new_rows = []
        for key, slot in self.planned.items():
            if slot.due_at < self.now:
                continue
            row = latest.get(key)
            if row is None:
                revision = 0
            elif row.status is PromptStatus.cancelled and slot.cancel_reason is None:
                revision = row.revision + 1  # cancelled earlier, wanted again
            else:
                continue
            previous = last_sent.get(slot.schedule_id)
            if previous is not None and previous < slot.due_at < previous + self.min_gaps.get(
                slot.schedule_id, timedelta(0)
            ):
                # After travel, the new zone's plan may put a prompt right after one that was
                # sent in the old zone: it is recorded, not sent.
                slot.cancel_reason = CancelReason.too_close.value
                if row is not None:
                    continue
            new_rows.append(_new_row(self.participant, slot, self.version.id, revision, self.now))
        return new_rows, cancelled, kept

    @staticmethod
    def _same_timing(row: PlannedPrompt, slot: PlannedSlot) -> bool:
        return (
            row.due_at == slot.due_at
            and row.expires_at == slot.expires_at
            and row.channel.value == slot.channel
            and row.questionnaire_id == slot.questionnaire_id
        )


def replan_participant(
    participant: Participant,
    now: datetime,
    *,
    reason: CancelReason = CancelReason.superseded,
) -> ReplanResult:
    return replan_participants([participant], now, reason=reason)


def replan_group_of(
    participant: Participant,
    now: datetime,
    *,
    reason: CancelReason = CancelReason.superseded,
) -> ReplanResult:
    """Re-plan the participant and, since members share draws, everyone in their group (whose
    prompts are superseded: `reason` is this participant's, a pause or a withdrawal)."""
    own = replan_participants([participant], now, reason=reason)
    others = [
        m for m in (participant.group.members if participant.group else []) if m is not participant
    ]
    if not others:
        return own
    theirs = replan_participants(others, now)
    return ReplanResult(
        own.created + theirs.created, own.cancelled + theirs.cancelled, own.kept + theirs.kept
    )


#: Participants whose plans one tick extends (the rest wait for the next tick).
EXTEND_BATCH = 200


def extend_plans(now: datetime, batch: int = EXTEND_BATCH) -> int:
    """Extend the plans of long studies that reach less than a few weeks ahead: the same
    re-planning as any change, which keeps every stored prompt and adds the new days. Returns
    how many participants' plans were extended."""
    due = list(
        db.session.scalars(
            sa.select(Participant)
            .join(PlanHorizon, PlanHorizon.participant_id == Participant.id)
            .where(
                PlanHorizon.planned_through < extend_before(now),
                Participant.status.in_(_PLANNABLE),
            )
            .order_by(PlanHorizon.planned_through, Participant.id)
            .limit(batch)
            # Several dispatchers: each extends the plans no other is extending (PostgreSQL;
            # SQLite's writers take turns anyway).
            .with_for_update(of=PlanHorizon, skip_locked=True)
        )
    )
    if not due:
        return 0
    try:
        with db.session.begin_nested():
            replan_participants(due, now)
        return len(due)
    except PlanningError:
        pass  # one participant's day cannot be planned: extend the others one by one
    extended = 0
    for participant in due:
        try:
            with db.session.begin_nested():
                replan_participant(participant, now)
            extended += 1
        except PlanningError as error:
            # Logged, and tried again tomorrow (not every tick): the coordinator must change
            # the participant's hours or the protocol.
            log.error("participant %s: plan not extended: %s", participant.id, error)
            horizon = db.session.get(PlanHorizon, participant.id)
            horizon.planned_through += timedelta(days=1)
    return extended
