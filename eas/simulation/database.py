"""A simulation's own SQLite database: held in memory while it runs, written to its file at
the end; the production schema, each table's ids starting where the simulation says."""

from __future__ import annotations

import base64
import hashlib
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.pool import StaticPool

from eas import create_app
from eas.core.db import db


def _fernet_key(seed: int) -> str:
    digest = hashlib.sha256(f"eas-simulation-{seed}".encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()


#: The simulation's database is thrown away afterwards: nothing needs to survive a power cut.
#: (Never used for the platform's own.)
_THROWAWAY_PRAGMAS = (
    "PRAGMA synchronous=OFF",
    "PRAGMA cache_size=-65536",
)


def _throwaway(dbapi_connection, connection_record) -> None:
    cursor = dbapi_connection.cursor()
    for pragma in _THROWAWAY_PRAGMAS:
        cursor.execute(pragma)
    cursor.close()


def _in_file(database: Path) -> dict[str, Any]:
    # Absolute: Flask-SQLAlchemy reads a relative SQLite path as inside the app's instance
    # folder, while everything else (`save_database`, the export) reads it from the working
    # directory. Quoted: a "%" or "#" in the path is part of the file's name.
    url = sa.engine.URL.create("sqlite", database=str(Path(database).resolve()))
    return {"SQLALCHEMY_DATABASE_URI": url.render_as_string(hide_password=False)}


def _in_memory() -> dict[str, Any]:
    """The settings of a simulation database held in memory until `save_database` writes it
    to its file: its commits write no file (a tenth of a simulation's time)."""
    # Never the same name twice: caches of what a database holds key on its URL. Not the
    # file's path: "#", "?" or "%" in it would be read as URI syntax (and a relative name
    # would be put in the instance folder).
    name = f"/eas-simulation-{uuid.uuid4().hex}"
    return {
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///file:{name}?mode=memory&uri=true",
        # The one connection to it (a second would open a database of its own, empty), never
        # rolled back when given back: a connection given back while another user of it is in
        # a transaction must not end that transaction (beginning another fails instead).
        "SQLALCHEMY_ENGINE_OPTIONS": {"poolclass": StaticPool, "pool_reset_on_return": None},
    }


def simulation_app(database: Path, seed: int, *, in_memory: bool = False, **settings: Any) -> Flask:
    """The app of a simulation in its own SQLite file (`in_memory`: in memory, until
    `save_database` writes it to that file); `settings` replace the defaults (a demo history
    uses the instance's own keys, so its rows can be copied there)."""
    app = create_app(
        {
            **(_in_memory() if in_memory else _in_file(database)),
            "SECRET_KEY": f"simulation-{seed}",
            "EAS_ENCRYPTION_KEYS": _fernet_key(seed),
            "EAS_LOOKUP_KEY": f"simulation-lookup-{seed}",
            "EAS_SMS_PROVIDER": "simulator",
            "EAS_PUBLIC_BASE_URL": "http://simulator.invalid",
            "EAS_SCHEDULE_SEED": seed,
            # Whatever the environment says: the phone simulator's endpoint exists outside
            # production only, and the test browsers' cookies are plain http.
            "EAS_ENV": "development",
            **settings,
        }
    )
    with app.app_context():
        sa.event.listen(db.engine, "connect", _throwaway)
    return app


def start_ids(after: dict[str, int]) -> None:
    """Make each table named in `after` give the rows inserted from now on the ids after
    `after[table]`, in the app's database, freshly migrated and empty.

    The production schema's ids are SQLite's rowids, each new one past the table's highest
    (`INTEGER PRIMARY KEY`): a table whose first id must be past 1 is made again with the same
    definition but `AUTOINCREMENT`, whose next id comes from `sqlite_sequence` instead. Nothing
    else about it changes (a simulation deletes no rows, so an id is never used twice either
    way)."""
    after = {table: first for table, first in after.items() if first}
    if not after:
        return
    with db.engine.connect() as connection:
        sqlite = connection.connection.driver_connection
        schema = dict(
            sqlite.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'").fetchall()
        )
        sqlite.execute("PRAGMA foreign_keys=OFF")  # tables referred to are made again too
        try:
            sqlite.execute("BEGIN")
            for table, first in after.items():
                _with_autoincrement(sqlite, table, schema[table], first)
            sqlite.execute("COMMIT")
        finally:
            if sqlite.in_transaction:
                sqlite.execute("ROLLBACK")
            sqlite.execute("PRAGMA foreign_keys=ON")


def _with_autoincrement(sqlite: sqlite3.Connection, table: str, sql: str, after: int) -> None:
    key = f"CONSTRAINT pk_{table} PRIMARY KEY (id)"
    if sql.count(key) != 1:
        raise ValueError(f"{table}: no single integer id to start past {after} ({sql})")
    if sqlite.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]:
        raise ValueError(f"{table} has rows already: its ids cannot start past {after}")
    indexes = sqlite.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
        (table,),
    ).fetchall()
    sqlite.execute(f'DROP TABLE "{table}"')
    sqlite.execute(sql.replace(key, f"CONSTRAINT pk_{table} PRIMARY KEY (id AUTOINCREMENT)"))
    for (index,) in indexes:
        sqlite.execute(index)
    sqlite.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (table, after))


def save_database(database: Path) -> None:
    """Write the app's in-memory database to the file `database` (SQLite's online backup)."""
    with db.engine.connect() as connection:
        target = sqlite3.connect(database)
        try:
            connection.connection.driver_connection.backup(target)
        finally:
            target.close()
