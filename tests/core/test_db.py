import traceback
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from eas.audit.models import AuditEvent
from eas.audit.operations import record
from eas.core.db import NAMING_CONVENTION
from eas.core.db import db as _db


def test_timestamps_round_trip_as_aware_utc(db):
    eastern = timezone(timedelta(hours=-4))
    event = AuditEvent(
        occurred_at=datetime(2026, 3, 8, 3, 30, tzinfo=eastern),
        actor="test",
        action="test.stamp",
        details={},
    )
    db.session.add(event)
    db.session.flush()
    db.session.expire_all()
    stored = db.session.get(AuditEvent, event.id)
    assert stored.occurred_at == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)
    assert stored.occurred_at.utcoffset() == timedelta(0)


def test_naive_timestamps_are_refused(db):
    db.session.add(
        AuditEvent(occurred_at=datetime(2026, 3, 8, 3, 30), actor="t", action="x", details={})
    )
    with pytest.raises(sa.exc.StatementError, match="naive datetime"):
        db.session.flush()


def test_enum_columns_reject_unknown_values(db, create_study, enroll_csv):
    study = create_study()
    enroll_csv(study, "label,phone,timezone\nP1,+12025550101,America/New_York\n")
    with pytest.raises(sa.exc.DBAPIError), db.session.begin_nested():
        db.session.execute(sa.text("UPDATE participants SET status = 'sleeping'"))


def test_constraints_follow_the_naming_convention():
    assert _db.metadata.naming_convention == NAMING_CONVENTION
    names = {
        constraint.name
        for table in _db.metadata.tables.values()
        for constraint in table.constraints
    }
    assert "uq_participants_study_id_label" in names
    assert "fk_participants_study_id_studies" in names
    assert "ck_answers_missing_has_no_value" in names


def test_audit_record_uses_the_clock(db, clock):
    event = record("test.happened", actor="cli", detail="x")
    assert event.occurred_at == clock.now()
    assert event.details == {"detail": "x"}


def test_write_transactions_take_the_sqlite_write_lock_first(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'lock.sqlite3'}")
    with engine.connect() as setup:
        setup.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        setup.commit()
    writer = engine.connect().execution_options(eas_write=True)
    writer.begin()  # BEGIN IMMEDIATE: the lock is taken before any statement
    other = engine.connect()
    other.exec_driver_sql("PRAGMA busy_timeout=50")
    with pytest.raises(sa.exc.OperationalError, match="locked"):
        other.exec_driver_sql("INSERT INTO t VALUES (1)")
    other.rollback()
    writer.rollback()
    other.close()
    writer.close()
    engine.dispose()


@pytest.mark.parametrize("statement", ["insert", "update"])
def test_a_database_error_quotes_no_value_of_the_row(db, statement):
    """Neither the bound values (hide_parameters) nor PostgreSQL's DETAIL ("Failing row
    contains (...)") reach an error's text or its traceback; its SQLSTATE is kept."""
    secret = "a participant's most private text"
    audit = AuditEvent.__table__
    with pytest.raises(sa.exc.IntegrityError) as raised, db.session.begin_nested():
        if statement == "insert":
            values = {"occurred_at": datetime.now(UTC), "actor": secret, "action": None}
            db.session.execute(audit.insert(), values)
        else:
            record("test.secret", actor=secret, details={})
            db.session.flush()
            db.session.execute(audit.update().values(action=None))
    shown = "".join(traceback.format_exception(raised.value))
    assert "audit" in shown and secret not in shown
    if db.engine.dialect.name == "postgresql":
        assert raised.value.orig.sqlstate == "23502"
