"""A burst of due prompts in a database of its own, for tests that run real dispatcher processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

import flask_migrate
import sqlalchemy as sa

from eas import create_app
from eas.core.crypto import get_cipher
from eas.core.db import bulk_insert, db
from eas.participants.models import Channel, Participant, ParticipantStatus
from eas.protocols.validation import validate_protocol_text
from eas.scheduling.models import PlannedPrompt, PromptStatus
from eas.studies.operations import publish_protocol
from tests.helpers import make_test_config

EAS = Path(sys.executable).with_name("eas")
PROTOCOL = """
study: {id: burst, title: Burst, timezone: UTC, duration_days: 1}
questionnaires:
  - id: q
    items: [{id: mood, type: scale, min: 0, max: 10, text: "Mood? 0-10"}]
schedules:
  - {id: s, questionnaire: q, type: fixed, times: ["12:00"]}
"""


@dataclass
class Burst:
    url: str
    config: dict
    prompts: int

    def environment(self, **settings) -> dict:
        env = dict(os.environ)
        env.update(
            EAS_DATABASE_URL=self.url,
            EAS_SECRET_KEY=self.config["SECRET_KEY"],
            EAS_ENCRYPTION_KEYS=self.config["EAS_ENCRYPTION_KEYS"],
            EAS_LOOKUP_KEY=self.config["EAS_LOOKUP_KEY"],
            EAS_DISPATCH_INTERVAL_SECONDS="0.2",
            EAS_DISPATCH_LEASE_SECONDS="3",
            EAS_DISPATCH_BATCH="100",
            EAS_DISPATCH_WORKERS="8",
            EAS_SIMULATOR_LATENCY_MS="5",
        )
        env.update({key: str(value) for key, value in settings.items()})
        return env

    def start_dispatcher(self, instance: Path, **settings) -> subprocess.Popen:
        env = self.environment(EAS_INSTANCE_PATH=instance, **settings)
        # The dispatcher's log goes to a file beside its instance (a pipe nobody reads would
        # fill up and stall it); the child keeps its own handle.
        with open(instance.parent / f"{instance.name}.log", "w") as log:
            return subprocess.Popen(
                [str(EAS), "scheduler"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=log,
                start_new_session=True,
            )

    def count(self, sql: str) -> int:
        engine = sa.create_engine(self.url)
        try:
            with engine.connect() as connection:
                return connection.exec_driver_sql(sql).scalar_one()
        finally:
            engine.dispose()

    def make_due(self) -> None:
        """Every prompt due from 5 seconds ago (a burst prepared as due later, so that its
        dispatchers are all running before any prompt falls due)."""
        now = datetime.now(UTC)
        due = now - timedelta(seconds=5)
        engine = sa.create_engine(self.url)
        try:
            with engine.begin() as connection:
                connection.execute(
                    PlannedPrompt.__table__.update().values(
                        due_at=due,
                        window_start_at=due,
                        window_end_at=due,
                        expires_at=due + timedelta(minutes=30),
                    )
                )
        finally:
            engine.dispose()

    def wait_for(self, sql: str, predicate, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while True:
            value = self.count(sql)
            if predicate(value) or time.monotonic() > deadline:
                return value
            time.sleep(0.05)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def prepare_burst(
    url: str,
    tmp: Path,
    prompts: int,
    participants: int = 50,
    *,
    first_due: datetime | None = None,
    spread_seconds: float = 0,
) -> Burst:
    """A study with `prompts` prompts over `participants` people, due from `first_due` (default:
    5 seconds ago), evenly spread over `spread_seconds`."""
    config = make_test_config(url, tmp)
    app = create_app(config)
    now = datetime.now(UTC)
    with app.app_context():
        flask_migrate.upgrade()
        study = publish_protocol(validate_protocol_text(PROTOCOL, "burst.yaml"), actor="test").study
        version_id = study.current_version.id
        cipher = get_cipher()
        people = [
            {
                "study_id": study.id,
                "label": f"B{index:03d}",
                "phone_encrypted": cipher.encrypt(f"+1202555{index:04d}"),
                "phone_hash": cipher.lookup_hash(f"+1202555{index:04d}"),
                "timezone": "UTC",
                "wake_time": clock_time(0),
                "sleep_time": clock_time(23, 59),
                "channel": Channel.sms,
                "status": ParticipantStatus.active,
                "enrolled_at": now,
                "start_date": date.today(),
                "schedule_seed": index,
            }
            for index in range(participants)
        ]
        db.session.execute(sa.insert(Participant), people)
        ids = db.session.scalars(sa.select(Participant.id).order_by(Participant.id)).all()
        columns = ["participant_id", "protocol_version_id", "schedule_id", "questionnaire_id",
                   "occurrence", "revision", "channel", "study_day", "local_date", "due_at",
                   "window_start_at", "window_end_at", "expires_at", "status", "attempts",
                   "reminders_sent", "created_at"]  # fmt: skip
        start = first_due or now - timedelta(seconds=5)
        step = timedelta(seconds=spread_seconds / prompts)
        rows = []
        for n in range(prompts):
            due = start + n * step
            rows.append(
                (ids[n % len(ids)], version_id, "s", "q", f"burst#{n}", 0, Channel.sms, 1,
                 date.today(), due, due, due, due + timedelta(minutes=30),
                 PromptStatus.scheduled, 0, 0, now)
            )  # fmt: skip
        bulk_insert(db.session.connection(), PlannedPrompt.__table__, columns, rows)
        db.session.commit()
        db.engine.dispose()
    return Burst(url=url, config=config, prompts=prompts)


SENT = "SELECT count(*) FROM planned_prompts WHERE status = 'sent'"
#: Dispatchers that have ticked (each writes its row at its first tick).
TICKED = "SELECT count(*) FROM dispatcher_heartbeats"
OPEN = "SELECT count(*) FROM planned_prompts WHERE status IN ('scheduled', 'sending')"
DELIVERED = "SELECT count(*) FROM simulator_messages"
#: Prompts the simulator received more than once (each attempt has its own key).
DUPLICATED = (
    "SELECT count(*) FROM (SELECT m.prompt_id FROM messages m JOIN simulator_messages s "
    "ON s.idempotency_key = m.idempotency_key GROUP BY m.prompt_id HAVING count(*) > 1) d"
)
