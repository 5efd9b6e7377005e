"""Alerts are numbered per study (1, 2, ... in each), and the team acknowledges them by that
number: two alerts raised at once in one study never share one, on PostgreSQL either; the
migration numbers the alerts there were in the order they were raised."""

from __future__ import annotations

import threading
import time

import flask_migrate
import pytest
import sqlalchemy as sa

from eas import create_app
from eas.core.db import begin_write, db
from eas.participants.csv_import import parse_participants_csv
from eas.participants.operations import import_participants
from eas.protocols.validation import validate_protocol_file, validate_protocol_text
from eas.safety.models import SafetyAlert
from eas.safety.operations import raise_alerts
from eas.studies.operations import publish_protocol
from tests.databases import temporary_database
from tests.helpers import DEMO_PROTOCOL, T0, make_test_config

CRISIS = [({"id": "crisis_words"}, "keyword")]


def _second_study(create_study, enroll_csv):
    text = DEMO_PROTOCOL.read_text().replace("  id: ai-connection", "  id: second-study", 1)
    study = create_study(text)
    csv = "label,phone,timezone,start_date\nQ1,+12025550199,America/New_York,2026-03-19\n"
    return enroll_csv(study, csv).created[0]


def test_alerts_are_numbered_per_study_and_acknowledged_by_number(
    db, runner, clock, participant, create_study, enroll_csv, make_user
):
    other = _second_study(create_study, enroll_csv)
    raise_alerts(participant, None, CRISIS, channel="sms", now=clock.now())
    raise_alerts(other, None, CRISIS, channel="sms", now=clock.now())
    raise_alerts(other, None, CRISIS * 2, channel="sms", now=clock.now())
    db.session.commit()
    numbers = db.session.execute(
        sa.select(SafetyAlert.study_id, SafetyAlert.id, SafetyAlert.number).order_by(SafetyAlert.id)
    ).all()
    assert [(s, n) for s, _, n in numbers] == [
        (participant.study_id, 1),
        (other.study_id, 1),
        (other.study_id, 2),
        (other.study_id, 3),
    ]
    make_user("lee@example.org", study=other.study)
    listed = runner.invoke(args=["alerts", "list", "second-study"]).output
    assert [line.split("\t")[0] for line in listed.splitlines()] == ["1", "2", "3"]
    ack = ["alerts", "ack", "second-study", "2", "--by", "lee@example.org", "--note", "called"]
    done = runner.invoke(args=ack)
    assert done.exit_code == 0, done.output
    assert "alert 2 acknowledged by lee@example.org" in done.output
    db.session.expire_all()
    acknowledged = db.session.scalar(
        sa.select(SafetyAlert).where(SafetyAlert.acknowledged_at.is_not(None))
    )
    assert (acknowledged.study_id, acknowledged.number) == (other.study_id, 2)


def _setup(url, tmp_path, participants: int):
    app = create_app(make_test_config(url, tmp_path))
    with app.app_context():
        flask_migrate.upgrade()
        study = publish_protocol(validate_protocol_file(DEMO_PROTOCOL), actor="test").study
        csv = "label,phone,timezone\n" + "".join(
            f"P{n},+1202555{n:04d},America/New_York\n" for n in range(participants)
        )
        parsed = parse_participants_csv(csv, study.current_version.definition, "US")
        ids = [p.id for p in import_participants(study, parsed, actor="test").created]
        db.session.commit()
    return app, ids


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_alerts_raised_at_once_in_one_study_get_distinct_numbers(backend, tmp_path):
    at_once = 4
    with temporary_database(backend, tmp_path) as url:
        app, ids = _setup(url, tmp_path, at_once)
        start = threading.Barrier(at_once)
        failures: list[BaseException] = []

        def raising(participant_id: int) -> None:
            with app.app_context():
                try:
                    start.wait()
                    begin_write()
                    from eas.participants.models import Participant

                    participant = db.session.get(Participant, participant_id)
                    raise_alerts(participant, None, CRISIS, channel="sms", now=T0)
                    time.sleep(0.2)  # the others read the highest number meanwhile
                    db.session.commit()
                except BaseException as problem:
                    failures.append(problem)
                finally:
                    db.session.remove()

        threads = [threading.Thread(target=raising, args=(i,)) for i in ids]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        with app.app_context():
            numbers = sorted(db.session.scalars(sa.select(SafetyAlert.number)).all())
            db.session.remove()
            db.engine.dispose()
    assert failures == []
    assert numbers == list(range(1, at_once + 1))


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_the_migration_numbers_existing_alerts_in_order_per_study(backend, tmp_path):
    with temporary_database(backend, tmp_path) as url:
        app, ids = _setup(url, tmp_path, 1)
        with app.app_context():
            from eas.participants.models import Participant

            text = DEMO_PROTOCOL.read_text().replace("  id: ai-connection", "  id: second", 1)
            other = publish_protocol(validate_protocol_text(text, "t.yaml"), actor="t").study
            csv = "label,phone,timezone\nQ1,+12025550199,America/New_York\n"
            parsed = parse_participants_csv(csv, other.current_version.definition, "US")
            q1 = import_participants(other, parsed, actor="test").created[0]
            p0 = db.session.get(Participant, ids[0])
            for person in (p0, q1, p0, q1, q1):
                raise_alerts(person, None, CRISIS, channel="sms", now=T0)
            db.session.commit()
            first, second = p0.study_id, q1.study_id
            # Nothing of the session may hold a table the downgrade alters (PostgreSQL waits).
            db.session.remove()
            # To before the alert-numbers migration (a4d2c7e9b813), whatever came after it.
            flask_migrate.downgrade(revision="7c1e9a2f5d30")
            flask_migrate.upgrade()
            rows = db.session.execute(
                sa.text("SELECT study_id, number FROM safety_alerts ORDER BY id")
            ).all()
            db.session.remove()
            db.engine.dispose()
    assert [tuple(r) for r in rows] == [
        (first, 1),
        (second, 1),
        (first, 2),
        (second, 2),
        (second, 3),
    ]
