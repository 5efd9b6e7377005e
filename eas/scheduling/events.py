"""Participant-initiated reports: a prompt of their own, started by the protocol's keyword by
SMS or by a button on the participant's web page."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from eas.core.db import db
from eas.participants.models import Channel, Participant
from eas.responses.replies import normalise
from eas.scheduling.localtime import local_date_of
from eas.scheduling.models import PlannedPrompt, PromptStatus

CAPPED = "Thanks! You've reached today's limit of {cap} reports; we'll count on tomorrow."
OUTSIDE_STUDY = "Thanks! Reports can be sent on the days of the study only."


def event_schedules(definition: dict[str, Any]) -> list[dict[str, Any]]:
    return [schedule for schedule in definition["schedules"] if schedule["type"] == "event"]


def event_schedule(definition: dict[str, Any], body: str) -> dict[str, Any] | None:
    word = normalise(body)
    return next(
        (
            schedule
            for schedule in definition["schedules"]
            if schedule["type"] == "event" and normalise(schedule["keyword"]) == word
        ),
        None,
    )


def start_report(
    participant: Participant,
    schedule: dict[str, Any],
    now: datetime,
    channel: Channel,
    *,
    version_id: int,
    definition: dict[str, Any],
) -> tuple[PlannedPrompt | None, str | None]:
    """A prompt row of its own (sent now, open for the schedule's expiry), so a report is
    exported like any other prompt; refused past the daily cap or outside the study days.
    `version_id` and `definition`: the study's current protocol version, as the caller has it
    (loading the study's versions here would decode every one of them)."""
    local_date = local_date_of(now, participant.timezone)
    study_day = (local_date - participant.start_date).days + 1
    if not 1 <= study_day <= definition["study"]["duration_days"]:
        return None, OUTSIDE_STUDY
    today = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(PlannedPrompt)
        .where(
            PlannedPrompt.participant_id == participant.id,
            PlannedPrompt.schedule_id == schedule["id"],
            PlannedPrompt.local_date == local_date,
        )
    )
    cap = schedule.get("max_per_day")
    if cap is not None and today >= cap:
        return None, CAPPED.format(cap=cap)
    expires_at = now + timedelta(minutes=schedule["expires_after_minutes"])
    prompt = PlannedPrompt(
        participant_id=participant.id,
        protocol_version_id=version_id,
        schedule_id=schedule["id"],
        questionnaire_id=schedule["questionnaire"],
        occurrence=f"{local_date.isoformat()}#{today + 1}",
        revision=0,
        channel=channel,
        study_day=study_day,
        local_date=local_date,
        due_at=now,
        window_start_at=now,
        window_end_at=expires_at,
        expires_at=expires_at,
        status=PromptStatus.sent,
        status_reason="participant-initiated",
        attempts=1,
        sent_at=now,
        created_at=now,
    )
    db.session.add(prompt)
    db.session.flush()
    return prompt, None
