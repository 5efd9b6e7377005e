"""Pause, resume, withdraw, move time zone: each changes only the future and says why."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from eas.audit.operations import record
from eas.core.db import db
from eas.participants.models import Participant, ParticipantStatus, Pause, TimezoneChange
from eas.protocols.schemas import iana_zones
from eas.scheduling.models import CancelReason
from eas.scheduling.operations import ReplanResult, cancel_future, replan_group_of

log = logging.getLogger("eas.participants")


def pause_end(text: str, zone: str) -> datetime | None:
    """A pause's end as a person writes it (the page's form, `eas participants pause --until`):
    in the participant's local time unless it names its own offset; None when empty."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
        if not 2000 <= moment.year <= 2100:
            raise ValueError
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=ZoneInfo(zone))
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise LifecycleError(f"'{text}' is not a date and time (2000-2100)") from None


class LifecycleError(ValueError):
    """The change does not apply to the participant as they are now."""


def _require(participant: Participant, *allowed: ParticipantStatus) -> None:
    if participant.status not in allowed:
        raise LifecycleError(f"{participant.label} is {participant.status.value}")


def pause(
    participant: Participant,
    now: datetime,
    *,
    until: datetime | None = None,
    reason: str | None = None,
    actor: str,
) -> ReplanResult:
    """Stop prompts from now until `until` (or until resumed, when open-ended)."""
    _require(participant, ParticipantStatus.active, ParticipantStatus.paused)
    if until is not None and until <= now:
        raise LifecycleError("a pause must end in the future")
    if any(p.ends_at is None for p in participant.pauses):
        raise LifecycleError(f"{participant.label} is already paused until resumed")
    participant.pauses.append(Pause(starts_at=now, ends_at=until, reason=reason, created_at=now))
    if until is None:
        participant.status = ParticipantStatus.paused
    db.session.flush()
    result = replan_group_of(participant, now, reason=CancelReason.paused)
    record(
        "participant.paused",
        actor=actor,
        study_id=participant.study_id,
        participant_id=participant.id,
        until=until.isoformat() if until else None,
        reason=reason,
        cancelled=result.cancelled,
    )
    return result


def _close_pauses(participant: Participant, now: datetime) -> list[Pause]:
    open_pauses = [p for p in participant.pauses if p.ends_at is None or p.ends_at > now]
    for open_pause in open_pauses:
        open_pause.ends_at = max(now, open_pause.starts_at)
    return open_pauses


def resume(participant: Participant, now: datetime, *, actor: str) -> ReplanResult:
    # Withdrawn and opted-out people are never brought back by a resume: that would break
    # their consent (a STOP must always work).
    _require(participant, ParticipantStatus.active, ParticipantStatus.paused)
    open_pauses = _close_pauses(participant, now)
    if not open_pauses:
        raise LifecycleError(f"{participant.label} is not paused")
    participant.status = ParticipantStatus.active
    db.session.flush()
    result = replan_group_of(participant, now)
    record(
        "participant.resumed",
        actor=actor,
        study_id=participant.study_id,
        participant_id=participant.id,
        planned=result.created,
    )
    return result


def withdraw(
    participant: Participant, now: datetime, *, reason: str | None = None, actor: str
) -> ReplanResult:
    """Stop every future prompt at once. What happens to collected data is a separate step."""
    _require(participant, ParticipantStatus.active, ParticipantStatus.paused)
    participant.status = ParticipantStatus.withdrawn
    _close_pauses(participant, now)
    db.session.flush()
    result = replan_group_of(participant, now, reason=CancelReason.withdrawn)
    consent = participant.study.current_version.definition["study"]["consent"]
    record(
        "participant.withdrawn",
        actor=actor,
        study_id=participant.study_id,
        participant_id=participant.id,
        reason=reason,
        cancelled=result.cancelled,
        data=consent["on_withdrawal"],
    )
    if consent["on_withdrawal"] == "delete":
        from eas.safety.retention import delete_participant_data

        delete_participant_data(participant, now, actor=actor)
    return result


def opt_out(participant: Participant, now: datetime, *, source: str) -> ReplanResult | None:
    """The participant said STOP (or the provider reports they did): no more messages, at
    once. Like a withdrawal, with its own reason; collected data stays."""
    if participant.status is ParticipantStatus.opted_out:
        return None
    previous = participant.status
    participant.status = ParticipantStatus.opted_out
    _close_pauses(participant, now)
    db.session.flush()
    try:
        with db.session.begin_nested():
            result = replan_group_of(participant, now, reason=CancelReason.opted_out)
    except Exception:
        # A STOP must hold even if re-planning the partners of a group fails: cancel this
        # participant's future prompts directly, and say so.
        log.exception("re-planning after opt-out failed; cancelling %s directly", participant.id)
        cancelled = cancel_future(participant, now, CancelReason.opted_out)
        result = ReplanResult(created=0, cancelled=cancelled, kept=0)
    record(
        "participant.opted_out",
        actor="participant" if source.startswith("sms") else "system",
        study_id=participant.study_id,
        participant_id=participant.id,
        source=source,
        previous_status=previous.value,
        cancelled=result.cancelled,
    )
    return result


def opt_in(participant: Participant, now: datetime, *, source: str) -> ReplanResult:
    """START after STOP, where the protocol allows it: prompts resume from now on."""
    _require(participant, ParticipantStatus.opted_out)
    participant.status = ParticipantStatus.active
    db.session.flush()
    result = replan_group_of(participant, now)
    record(
        "participant.opted_in",
        actor="participant",
        study_id=participant.study_id,
        participant_id=participant.id,
        source=source,
        planned=result.created,
    )
    return result


def change_timezone(
    participant: Participant, now: datetime, *, zone: str, actor: str
) -> ReplanResult:
    """Travel or a move: future prompts follow the new zone; history keeps the old one."""
    if zone not in iana_zones():
        raise LifecycleError(f"'{zone}' is not an IANA time zone")
    if zone == participant.timezone:
        raise LifecycleError(f"{participant.label} is already in {zone}")
    previous = participant.timezone
    participant.timezone = zone
    participant.timezone_changes.append(
        TimezoneChange(timezone=zone, effective_at=now, recorded_at=now)
    )
    db.session.flush()
    result = replan_group_of(participant, now)
    record(
        "participant.timezone_changed",
        actor=actor,
        study_id=participant.study_id,
        participant_id=participant.id,
        previous=previous,
        timezone=zone,
        replanned=result.created,
    )
    return result


def find_participant(study_id: int, label: str) -> Participant | None:
    return db.session.scalar(
        sa.select(Participant).where(Participant.study_id == study_id, Participant.label == label)
    )
