"""Benchmark: plan and store 10,000 participants x 28 days x 8 random prompts on SQLite.

Prints prompts per second for planning alone, for planning and storing through eas's own code
path (`replan_participant`, what `eas schedule plan` and enrolment run), and for a raw
`sqlite3.executemany` of the very same rows into an identical empty table, measured in this run;
then the ratio (raw time / eas time; target >= 0.5: the planner is not the bottleneck) and the
time to re-plan one participant after a time-zone change (target < 50 ms).

    .venv/bin/python bench/plan.py [--participants 10000] [--days 28] [--per-day 8]
"""

from __future__ import annotations

import argparse
import logging
import secrets
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

import flask_migrate
import sqlalchemy as sa
from cryptography.fernet import Fernet

from eas import create_app
from eas.core.clock import VirtualClock, install_clock
from eas.core.db import db
from eas.participants.lifecycle import change_timezone
from eas.participants.models import Channel, Participant, ParticipantStatus
from eas.protocols.validation import validate_protocol_text
from eas.scheduling.models import PlannedPrompt
from eas.scheduling.operations import replan_participants, subject_for
from eas.scheduling.planner import plan_prompts
from eas.studies.operations import publish_protocol

PROTOCOL = """
study: {{id: bench, title: Bench, timezone: America/New_York, duration_days: {days}}}
participant_defaults: {{wake: "08:00", sleep: "22:00"}}
questionnaires:
  - id: q
    items: [{{id: mood, type: scale, min: 0, max: 10, text: "How is your mood?"}}]
schedules:
  - {{id: beeps, questionnaire: q, type: random, per_day: {per_day}, min_gap_minutes: 60,
     expires_after_minutes: 30, reminders: [{{after_minutes: 10}}]}}
"""
ZONES = ["America/New_York", "Europe/Berlin", "Asia/Kathmandu", "Australia/Lord_Howe"]
NOW = datetime(2026, 2, 27, 12, 0, tzinfo=UTC)


def _enroll_many(study, count: int) -> list[int]:
    rows = [
        {
            "study_id": study.id,
            "label": f"P{index:05d}",
            "phone_encrypted": b"-",
            "phone_hash": f"bench-{index}",
            "timezone": ZONES[index % len(ZONES)],
            "wake_time": clock_time(8),
            "sleep_time": clock_time(22),
            "channel": Channel.sms,
            "status": ParticipantStatus.active,
            "enrolled_at": NOW,
            "start_date": date(2026, 3, 1),
            "schedule_seed": secrets.randbits(63),
        }
        for index in range(count)
    ]
    db.session.execute(sa.insert(Participant), rows)
    db.session.commit()
    return db.session.scalars(sa.select(Participant.id).order_by(Participant.id)).all()


def _raw_insert_seconds(database: Path, rows: list[tuple]) -> float:
    """Insert the same rows with plain sqlite3 into an identical empty table (same columns,
    constraints and indexes, same connection settings as eas)."""
    connection = sqlite3.connect(database, isolation_level=None)
    connection.execute("PRAGMA synchronous=NORMAL")
    definitions = connection.execute(
        "SELECT sql FROM sqlite_master WHERE tbl_name = 'planned_prompts' AND sql IS NOT NULL"
    ).fetchall()
    for (sql,) in definitions:
        sql = sql.replace("planned_prompts", "raw_prompts")
        connection.execute(sql.replace("INDEX ix_", "INDEX raw_ix_"))
    placeholders = ", ".join("?" * len(rows[0]))
    started = time.perf_counter()
    connection.execute("BEGIN")
    connection.executemany(f"INSERT INTO raw_prompts VALUES ({placeholders})", rows)
    connection.execute("COMMIT")
    seconds = time.perf_counter() - started
    connection.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--participants", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=28)
    parser.add_argument("--per-day", type=int, default=8)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        database = Path(folder) / "bench.sqlite3"
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
                "SECRET_KEY": "bench",
                "EAS_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
                "EAS_LOOKUP_KEY": "bench",
            }
        )
        clock = VirtualClock(NOW)
        install_clock(app, clock)
        with app.app_context():
            logging.disable(logging.INFO)  # Alembic's progress lines are not results
            flask_migrate.upgrade()
            text = PROTOCOL.format(days=args.days, per_day=args.per_day)
            study = publish_protocol(
                validate_protocol_text(text, "bench.yaml"), actor="bench"
            ).study
            db.session.commit()
            ids = _enroll_many(study, args.participants)
            participants = db.session.scalars(
                sa.select(Participant).where(Participant.id.in_(ids))
            ).all()
            definition = study.current_version.definition

            started = time.perf_counter()
            planned = sum(len(plan_prompts(definition, subject_for(p))) for p in participants)
            plan_seconds = time.perf_counter() - started

            started = time.perf_counter()
            replan_participants(participants, NOW)
            db.session.commit()
            eas_seconds = time.perf_counter() - started
            stored = db.session.scalar(sa.select(sa.func.count()).select_from(PlannedPrompt))
            assert stored == planned == args.participants * args.days * args.per_day, stored
            db.session.commit()  # end the read snapshot before another connection writes

            with db.engine.connect() as connection:
                rows = [
                    tuple(r) for r in connection.exec_driver_sql("SELECT * FROM planned_prompts")
                ]
            raw_seconds = _raw_insert_seconds(database, rows)

            timings = []
            for index, participant in enumerate(participants[:20]):
                clock.set(NOW + timedelta(days=10, hours=index))
                zone = "Europe/London" if participant.timezone != "Europe/London" else "UTC"
                started = time.perf_counter()
                change_timezone(participant, clock.now(), zone=zone, actor="bench")
                db.session.commit()
                timings.append((time.perf_counter() - started) * 1000)

    print(
        f"prompts: {planned:,} ({args.participants:,} participants x {args.days} days x "
        f"{args.per_day})"
    )
    print(
        f"planning alone:            {planned / plan_seconds:>12,.0f} prompts/s "
        f"({plan_seconds:.1f} s)"
    )
    print(
        f"eas plan + store (SQLite): {planned / eas_seconds:>12,.0f} prompts/s "
        f"({eas_seconds:.1f} s)"
    )
    print(
        f"raw sqlite3 executemany:   {planned / raw_seconds:>12,.0f} rows/s ({raw_seconds:.1f} s)"
    )
    print(f"ratio raw time / eas time: {raw_seconds / eas_seconds:.2f} (target >= 0.5)")
    print(
        f"re-plan after a time-zone change: median {statistics.median(timings):.1f} ms, "
        f"max {max(timings):.1f} ms over {len(timings)} participants (target < 50 ms)"
    )


if __name__ == "__main__":
    main()
