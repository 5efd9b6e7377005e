"""A simulation's database: CHECK constraints left unchecked while it runs in memory, checked
once at the end."""

from __future__ import annotations

from pathlib import Path

import flask_migrate
import pytest
import sqlalchemy as sa

from eas.core.db import db
from eas.simulation.database import BrokenConstraints, check_constraints, simulation_app

_BAD_DIRECTION = (
    "INSERT INTO messages (direction, phone_encrypted, phone_hash, body, purpose, status,"
    " created_at, updated_at) VALUES ('sideways', x'00', 'hash', 'hi', 'inbound',"
    " 'received', '2026-03-02 12:00:00.000000', '2026-03-02 12:00:00.000000')"
)


def _migrated(tmp_path, *, in_memory: bool):
    app = simulation_app(tmp_path / "simulation.sqlite3", 1, in_memory=in_memory)
    context = app.app_context()
    context.push()
    flask_migrate.upgrade()
    return context


@pytest.fixture
def in_memory(tmp_path):
    context = _migrated(tmp_path, in_memory=True)
    yield
    db.session.remove()
    db.engine.dispose()
    context.pop()


def test_a_row_breaking_a_check_is_written_but_the_check_at_the_end_names_it(in_memory):
    with db.engine.begin() as connection:
        connection.exec_driver_sql(_BAD_DIRECTION)
    with pytest.raises(BrokenConstraints, match=r"messages: 1 rows break ck_messages_direction"):
        check_constraints()


def test_a_database_whose_rows_keep_every_check_passes(in_memory):
    with db.engine.begin() as connection:
        connection.exec_driver_sql(_BAD_DIRECTION.replace("'sideways'", "'inbound'"))
    check_constraints()


def test_every_check_of_the_migrated_schema_is_among_those_checked(in_memory):
    import eas.models  # noqa: F401

    with db.engine.connect() as connection:
        schema = " ".join(
            connection.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table'")
            .scalars()
            .all()
        )
    checked = {
        check.name
        for table in db.metadata.sorted_tables
        for check in table.constraints
        if isinstance(check, sa.CheckConstraint)
    }
    assert schema.count(" CHECK ") == len(checked)
    assert all(f"CONSTRAINT {name} CHECK" in schema for name in checked)


def test_a_simulation_database_in_a_file_checks_each_statement(tmp_path):
    context = _migrated(tmp_path, in_memory=False)
    try:
        with (
            pytest.raises(sa.exc.IntegrityError, match="CHECK constraint failed"),
            db.engine.begin() as connection,
        ):
            connection.exec_driver_sql(_BAD_DIRECTION)
    finally:
        db.session.remove()
        db.engine.dispose()
        context.pop()


def test_a_relative_database_file_is_the_one_in_the_working_directory(tmp_path, monkeypatch):
    # Flask-SQLAlchemy would put a relative SQLite path in the app's instance folder, where
    # `save_database` and the export do not look.
    monkeypatch.setenv("EAS_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.chdir(tmp_path)
    app = simulation_app(Path("pilot") / "simulation.sqlite3", 1)
    with app.app_context():
        try:
            assert db.engine.url.database == str(
                (tmp_path / "pilot" / "simulation.sqlite3").resolve()
            )
        finally:
            db.engine.dispose()
