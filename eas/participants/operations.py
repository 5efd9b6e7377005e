"""Enrolling participants. Operations flush; the caller commits."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from eas.audit.operations import record
from eas.core.clock import now_utc
from eas.core.crypto import get_cipher
from eas.core.db import db
from eas.participants.csv_import import CsvInvalid, ParsedCsv, ParticipantRow, RowError
from eas.participants.models import Participant, TimezoneChange
from eas.studies.models import Study


@dataclass
class ImportResult:
    created: list[Participant] = field(default_factory=list)
    unchanged: list[Participant] = field(default_factory=list)


def default_start_date(zone: str, now: datetime) -> date:
    """Study day 1 is the participant's next local calendar day: enrolment mid-day starts fresh."""
    return now.astimezone(ZoneInfo(zone)).date() + timedelta(days=1)


def enroll(study: Study, row: ParticipantRow, *, now: datetime) -> Participant:
    participant = Participant(
        study=study,
        label=row.label,
        timezone=row.timezone,
        wake_time=row.wake,
        sleep_time=row.sleep,
        channel=row.channel,
        enrolled_at=now,
        start_date=row.start_date or default_start_date(row.timezone, now),
        schedule_seed=secrets.randbits(63),
    )
    participant.phone = row.phone
    participant.timezone_changes.append(
        TimezoneChange(timezone=row.timezone, effective_at=now, recorded_at=now)
    )
    db.session.add(participant)
    return participant


def _differences(participant: Participant, row: ParticipantRow, phone_hash: str) -> list[str]:
    differences = []
    if participant.phone_hash != phone_hash:
        differences.append("phone")
    for name, value in (
        ("timezone", row.timezone),
        ("wake", row.wake),
        ("sleep", row.sleep),
        ("channel", row.channel),
    ):
        attribute = {"wake": "wake_time", "sleep": "sleep_time"}.get(name, name)
        if getattr(participant, attribute) != value:
            differences.append(name)
    if row.start_date is not None and participant.start_date != row.start_date:
        differences.append("start_date")
    return differences


def import_participants(study: Study, parsed: ParsedCsv, *, actor: str) -> ImportResult:
    """Enroll every new row if every row is good; rows already enrolled identically change nothing.

    A row whose label or phone is enrolled with other details is an error, not an update:
    re-importing a file must never silently move someone's time zone or number. Raises
    `CsvInvalid` with the file's problems and these together, and then enrolls nobody.
    """
    cipher = get_cipher()
    existing = {
        p.label: p
        for p in db.session.scalars(sa.select(Participant).where(Participant.study_id == study.id))
    }
    label_by_phone = {p.phone_hash: p.label for p in existing.values()}
    errors: list[RowError] = list(parsed.errors)
    result = ImportResult()
    new_rows = []
    for row in parsed.rows:
        phone_hash = cipher.lookup_hash(row.phone)
        participant = existing.get(row.label)
        if participant is not None:
            differences = _differences(participant, row, phone_hash)
            if differences:
                errors.append(
                    RowError(
                        row.line,
                        differences[0],
                        f"{row.label} is already enrolled with a different "
                        f"{', '.join(differences)}; change enrolled participants one by one",
                    )
                )
            else:
                result.unchanged.append(participant)
        elif phone_hash in label_by_phone:
            errors.append(
                RowError(
                    row.line,
                    "phone",
                    f"this number is already enrolled as {label_by_phone[phone_hash]}",
                )
            )
        else:
            new_rows.append(row)
    if errors:
        raise CsvInvalid(sorted(errors, key=lambda error: error.line))

    now = now_utc()
    result.created = [enroll(study, row, now=now) for row in new_rows]
    db.session.flush()
    if result.created:
        record(
            "participants.imported",
            actor=actor,
            study_id=study.id,
            labels=[p.label for p in result.created],
            unchanged=len(result.unchanged),
        )
    return result
