"""When synthetic participants start reports of their own: only as a participant may (the
schedule's days, weekdays, window and their arm), at random moments of the time it allows."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

from eas.core.db import db
from eas.core.timeofday import parse_hhmm
from eas.participants.models import Participant
from eas.scheduling.events import report_refusal
from eas.scheduling.localtime import to_utc, window_bounds


def report_schedule(definition: dict[str, Any], arm: str | None) -> dict[str, Any] | None:
    """The first event schedule of the participant's arm (or of every arm), if any."""
    return next(
        (
            schedule
            for schedule in definition["schedules"]
            if schedule["type"] == "event" and ("arms" not in schedule or arm in schedule["arms"])
        ),
        None,
    )


def report_schedules(definition: dict[str, Any], study_id: int) -> dict[str, dict[str, Any]]:
    """By participant label: the report each can start (of their arm), where there is one."""
    arms = db.session.execute(
        sa.select(Participant.label, Participant.arm).where(Participant.study_id == study_id)
    ).all()
    return {
        label: found
        for label, arm in arms
        for found in [report_schedule(definition, arm)]
        if found is not None
    }


def report_moments(
    schedule: dict[str, Any],
    definition: dict[str, Any],
    *,
    day: date,
    start: date,
    zone: str,
    waking: tuple[time, time],
    count: int,
    rng: random.Random,
) -> list[datetime]:
    """`count` moments on local date `day` when the person would report: in the schedule's
    window if it has one, else in their waking day; those it does not allow are dropped (the
    person does not try then)."""
    if "window" in schedule:
        window = schedule["window"]
        opens, closes = window_bounds(
            day, parse_hhmm(window["start"]), parse_hhmm(window["end"]), zone
        )
    else:
        opens, closes = to_utc(day, waking[0], zone), to_utc(day, waking[1], zone)
        if closes <= opens:
            closes += timedelta(days=1)
    span = (closes - opens).total_seconds()
    moments = [opens + timedelta(seconds=rng.uniform(0, span)) for _ in range(count)]
    return [
        moment
        for moment in moments
        if report_refusal(schedule, definition, moment, zone, start) is None
    ]
