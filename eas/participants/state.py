"""A participant's state as a person reads it at a moment: the one rule behind the participant
page, the participants list, `eas participants list` and the API.

A participant's stored `status` is not the whole story: a pause with an end date leaves the
status `active` (it ends by itself), so whether they are paused at a moment follows from the
pauses in force then. Times a person reads are in the participant's own zone, with its
abbreviation ("paused until Sat 21 Mar 2026 14:00 EDT"); machines get UTC as well.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from eas.core.db import db
from eas.participants.models import Participant, ParticipantStatus, Pause
from eas.scheduling.localtime import local

#: How a person reads a local time: weekday, date, time and the zone's abbreviation.
LOCAL_FORMAT = "%a %d %b %Y %H:%M %Z"

#: The states `participant_state` gives: ParticipantStatus values, paused from the pauses.
STATES = tuple(status.value for status in ParticipantStatus)


def local_text(moment: datetime, zone: str) -> str:
    """A moment as the participant reads their clock, e.g. "Sat 21 Mar 2026 14:00 EDT"."""
    return local(moment, zone).strftime(LOCAL_FORMAT)


def _in_force(pause: Pause, now: datetime) -> bool:
    return pause.starts_at <= now and (pause.ends_at is None or pause.ends_at > now)


def _end_of_pauses(pauses: list[Pause], now: datetime) -> datetime | None:
    """When the pauses in force at `now` end, following pauses that start before the one
    before ends (one pause runs into the next); None if any of them is open-ended."""
    until = max(p.ends_at for p in pauses if _in_force(p, now))
    extended = True
    while extended:
        extended = False
        for pause in pauses:
            if pause.starts_at <= until and (pause.ends_at is None or pause.ends_at > until):
                if pause.ends_at is None:
                    return None
                until, extended = pause.ends_at, True
    return until


@dataclass(frozen=True)
class ShownState:
    """What a participant's state is at a moment, for people and for machines."""

    #: One of STATES: active, paused, withdrawn, completed or opted_out.
    state: str
    #: The participant's IANA zone, in which local times are given.
    timezone: str
    #: UTC end of the pause in force; None when not paused or paused until resumed.
    paused_until: datetime | None = None
    #: A pause planned to start later (UTC start, end or None), while not paused now.
    next_pause: tuple[datetime, datetime | None] | None = None

    @property
    def paused(self) -> bool:
        return self.state == ParticipantStatus.paused.value

    @property
    def paused_until_local(self) -> datetime | None:
        """The end of the pause in the participant's zone (aware, with its offset)."""
        return local(self.paused_until, self.timezone) if self.paused_until else None

    @property
    def text(self) -> str:
        """As people read it: active, paused until Sat 21 Mar 2026 14:00 EDT, paused (until
        resumed), withdrawn, completed or opted out."""
        if self.paused_until is not None:
            return f"paused until {local_text(self.paused_until, self.timezone)}"
        return self.state.replace("_", " ")

    @property
    def sentence(self) -> str:
        """`text` starting with a capital: "Paused until Sat 21 Mar 2026 14:00 EDT"."""
        return self.text[:1].upper() + self.text[1:]

    @property
    def next_pause_text(self) -> str | None:
        """A pause yet to start: pause from Sat 21 Mar 2026 14:00 EDT to (an end or until
        resumed)."""
        if self.next_pause is None:
            return None
        starts_at, ends_at = self.next_pause
        end = local_text(ends_at, self.timezone) if ends_at else "until resumed"
        to = f"to {end}" if ends_at else end
        return f"pause from {local_text(starts_at, self.timezone)} {to}"

    def __str__(self) -> str:
        return self.text


def participant_state(participant: Participant, now: datetime) -> ShownState:
    """The participant's state at `now`: their status, and for an active or paused participant
    the pause in force (its end, followed through pauses that continue it). A pause whose end
    has passed no longer counts; one that starts later leaves them active (`next_pause`)."""
    zone = participant.timezone
    status = participant.status
    if status not in (ParticipantStatus.active, ParticipantStatus.paused):
        return ShownState(status.value, zone)
    pauses = list(participant.pauses)
    if status is ParticipantStatus.paused:  # until resumed (nothing is sent, whatever the ends)
        return ShownState(ParticipantStatus.paused.value, zone)
    if any(_in_force(p, now) for p in pauses):
        open_ended = any(p.ends_at is None and _in_force(p, now) for p in pauses)
        until = None if open_ended else _end_of_pauses(pauses, now)
        return ShownState(ParticipantStatus.paused.value, zone, paused_until=until)
    later = sorted((p for p in pauses if p.starts_at > now), key=lambda p: p.starts_at)
    upcoming = (later[0].starts_at, later[0].ends_at) if later else None
    return ShownState(ParticipantStatus.active.value, zone, next_pause=upcoming)


def _pause_in_force(now: datetime) -> sa.Exists:
    """SQL: the participant has a pause in force at `now` (as `_in_force` reads one)."""
    return (
        sa.exists()
        .where(Pause.participant_id == Participant.id, Pause.starts_at <= now)
        .where(sa.or_(Pause.ends_at.is_(None), Pause.ends_at > now))
    )


def in_state(state: str, now: datetime) -> sa.ColumnElement[bool]:
    """SQL: the participant's state at `now` is `state` (one of STATES), by the rule of
    `participant_state`: paused when the stored status is `paused` or when an active
    participant has a pause in force (a timed pause leaves the status `active`); active only
    without one; any other state is the stored status."""
    status = ParticipantStatus(state)
    paused_now = _pause_in_force(now)
    if status is ParticipantStatus.paused:
        return sa.or_(
            Participant.status == ParticipantStatus.paused,
            sa.and_(Participant.status == ParticipantStatus.active, paused_now),
        )
    if status is ParticipantStatus.active:
        return sa.and_(Participant.status == ParticipantStatus.active, ~paused_now)
    return Participant.status == status


def state_counts(study_ids: list[int], now: datetime) -> dict[int, dict[str, int]]:
    """How many participants of each study are in each state at `now` (as `participant_state`
    reads them: active participants with a pause in force count as paused), in one query."""
    paused_now = _pause_in_force(now)
    counts = {study_id: dict.fromkeys(STATES, 0) for study_id in study_ids}
    rows = db.session.execute(
        sa.select(Participant.study_id, Participant.status, paused_now, sa.func.count())
        .where(Participant.study_id.in_(study_ids))
        .group_by(Participant.study_id, Participant.status, paused_now)
    )
    for study_id, status, paused, count in rows:
        state = (
            ParticipantStatus.paused if status is ParticipantStatus.active and paused else status
        )
        counts[study_id][state.value] += count
    return counts
