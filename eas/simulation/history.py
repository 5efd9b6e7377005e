"""A demo study's history, so a newcomer's dashboard is not empty: a few synthetic participants
(labelled sim-001, sim-002...) who enrolled some days ago and whose prompts were sent and
answered through the real pipeline, in virtual time ending now.

The history is simulated in a throwaway database of its own, with the instance's own keys and
the study's current protocol version, exactly as `eas simulate` pilots a protocol, its study and
protocol version having the ids they have in the instance and its other rows the ids after the
instance's; then the synthetic participants and everything about them are copied into the
instance's database as they are, in one transaction. At the end of their history they are
paused (open-ended, audited): nothing is ever sent to their fictional numbers afterwards, and a
coordinator who resumes one can play them in the phone simulator from then on. A study that
already has them gets nothing more.
"""

from __future__ import annotations

import sqlite3
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from eas.core.clock import VirtualClock, install_clock
from eas.core.db import db
from eas.participants.lifecycle import pause
from eas.participants.models import Participant, ParticipantStatus
from eas.protocols.validation import LoadedProtocol
from eas.scheduling.localtime import local_date_of
from eas.simulation.cohort import make_cohort
from eas.simulation.database import simulation_app
from eas.simulation.merge import IdsTaken, copy_participants, last_ids
from eas.simulation.run import Cohort, simulate_cohort
from eas.studies.models import Study

LABEL_PREFIX = "sim-"
#: +1 505 555 0001...: 555 numbers, which no real phone has.
PHONE_PREFIX = "+1505555"
PAUSE_REASON = "end of the simulated demo history"


class HistoryError(RuntimeError):
    """The history cannot be added to this instance."""


@dataclass(frozen=True)
class History:
    #: Synthetic participants the study has (added now, or found from an earlier run).
    participants: int
    #: False when the study already had its history: nothing was added.
    added: bool
    prompts: int = 0
    answers: int = 0
    alerts: int = 0


def _synthetic(study_id: int):
    return sa.select(sa.func.count()).where(
        Participant.study_id == study_id, Participant.label.startswith(LABEL_PREFIX)
    )


def _database_file() -> Path:
    url = db.engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        raise HistoryError("a demo history is added to a SQLite database file only")
    return Path(url.database)


def add_history(study: Study, *, days: int, participants: int, seed: int, now: datetime) -> History:
    """Give `study` `participants` synthetic people whose first study day was `days` days ago
    (in the study's zone), simulated up to `now`."""
    if current_app.config["EAS_ENV"] == "production":
        raise HistoryError("synthetic participants have no place in a production instance")
    target = _database_file()
    existing = db.session.scalar(_synthetic(study.id))
    if existing:
        return History(existing, added=False)
    version = study.current_version
    protocol = LoadedProtocol(
        definition=version.definition,
        source_text=version.source_text,
        source_hash=version.source_hash,
        source_name=version.source_name,
    )
    zones = sorted(
        set(
            db.session.scalars(
                sa.select(Participant.timezone).where(Participant.study_id == study.id)
            )
        )
    ) or [study.timezone]
    start = local_date_of(now, study.timezone) - timedelta(days=days)
    people = make_cohort(
        seed, participants, zones, days + 1, label_prefix=LABEL_PREFIX, phone_prefix=PHONE_PREFIX
    )
    settings = {
        # The instance's own keys, so the copied numbers can be read there, and its address in
        # the links the texts carry.
        key: current_app.config.get(key)
        for key in ("EAS_ENCRYPTION_KEYS", "EAS_LOOKUP_KEY", "EAS_PUBLIC_BASE_URL")
    }
    # The study and its version where the instance has them (the simulation makes them first),
    # everything else after the instance's rows.
    ids = {"studies": study.id - 1, "protocol_versions": version.id - 1, **last_ids(target)}
    study_id = study.id
    db.session.remove()  # the copy takes the write lock itself
    with tempfile.TemporaryDirectory(prefix="eas-history-") as folder:
        source = Path(folder) / "history.sqlite3"
        simulate_cohort(
            Cohort(protocol, people, source, seed, start, days + 1, now, settings, ids_after=ids)
        )
        _pause_everyone(source, seed, settings, now)
        try:
            copied = copy_participants(
                target,
                source,
                check=lambda connection: _still_without_history(connection, study_id),
            )
        except IdsTaken as taken:
            raise HistoryError(
                f"the database changed while the history was simulated ({taken}): run again"
            ) from None
        counts = _counts(source)
    if not copied:  # someone else added it meanwhile
        return History(db.session.scalar(_synthetic(study_id)), added=False)
    return History(participants, added=True, **counts)


def _pause_everyone(database: Path, seed: int, settings: dict, now: datetime) -> None:
    """Their history ends now: no prompt after it is sent to their fictional numbers."""
    app = simulation_app(database, seed, **settings)
    install_clock(app, VirtualClock(now))
    with app.app_context():
        active = db.session.scalars(
            sa.select(Participant).where(Participant.status == ParticipantStatus.active)
        ).all()
        for participant in active:
            pause(participant, now, reason=PAUSE_REASON, actor="simulation")
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


def _still_without_history(connection: sqlite3.Connection, study_id: int) -> bool:
    found = connection.execute(
        "SELECT count(*) FROM main.participants WHERE study_id = ? AND label LIKE ?",
        (study_id, f"{LABEL_PREFIX}%"),
    ).fetchone()[0]
    return found == 0


def _counts(database: Path) -> dict[str, int]:
    with sqlite3.connect(database) as connection:
        return {
            "prompts": connection.execute(
                "SELECT count(*) FROM planned_prompts WHERE status = 'sent'"
            ).fetchone()[0],
            "answers": connection.execute(
                "SELECT count(*) FROM answers WHERE missing_code IS NULL"
            ).fetchone()[0],
            "alerts": connection.execute("SELECT count(*) FROM safety_alerts").fetchone()[0],
        }
