"""A simulation's database: the production schema and its checks, in memory while it runs; the
ids of each table starting where the simulation says (a shard's range)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import flask_migrate
import pytest
import sqlalchemy as sa

from eas.core.db import db
from eas.simulation.database import save_database, simulation_app, start_ids
from eas.simulation.merge import participant_ids

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


def _schema(connection) -> dict[str, str]:
    rows = connection.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL")
    return {name: sql for name, sql in rows}


@pytest.mark.parametrize("in_memory", [True, False], ids=["in memory", "in a file"])
def test_a_row_breaking_a_check_is_refused_as_in_production(tmp_path, in_memory):
    context = _migrated(tmp_path, in_memory=in_memory)
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


def test_ids_start_after_the_range_given_and_nothing_else_changes(in_memory, tmp_path):
    with db.engine.connect() as connection:
        before = _schema(connection)
    start_ids({**participant_ids(3_000), "studies": 0})
    with db.engine.begin() as connection:
        after = _schema(connection)
        for _ in range(2):
            connection.exec_driver_sql(_BAD_DIRECTION.replace("'sideways'", "'inbound'"))
        ids = connection.exec_driver_sql("SELECT id FROM messages ORDER BY id").scalars().all()
        with pytest.raises(sa.exc.IntegrityError, match="CHECK constraint failed"):
            connection.exec_driver_sql(_BAD_DIRECTION)
    assert ids == [3_001, 3_002]
    changed = {name for name in before if before[name] != after.get(name)}
    assert changed == {table for table in participant_ids(0)}  # studies: from 1, as it was
    assert set(after) == set(before) | {"sqlite_sequence"}  # every index made again
    for table in changed:
        key = f"CONSTRAINT pk_{table} PRIMARY KEY (id"
        assert after[table] == before[table].replace(f"{key})", f"{key} AUTOINCREMENT)")
    save_database(tmp_path / "saved.sqlite3")
    with sqlite3.connect(tmp_path / "saved.sqlite3") as saved:
        assert saved.execute("PRAGMA foreign_key_check").fetchall() == []
        assert saved.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_ids_start_only_in_empty_tables(in_memory):
    with db.engine.begin() as connection:
        connection.exec_driver_sql(_BAD_DIRECTION.replace("'sideways'", "'inbound'"))
    with pytest.raises(ValueError, match="messages has rows already"):
        start_ids({"messages": 100})
    start_ids({"messages": 0})  # nothing to do


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
