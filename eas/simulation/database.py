"""A simulation's own SQLite database: held in memory while it runs, written to its file at
the end, its CHECK constraints checked once then rather than at every statement."""

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


class BrokenConstraints(Exception):
    """Rows of a simulation's database break CHECK constraints (a bug in what wrote them)."""


def _fernet_key(seed: int) -> str:
    digest = hashlib.sha256(f"eas-simulation-{seed}".encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()


#: The simulation's database is thrown away afterwards: nothing needs to survive a power cut,
#: and nothing real is in it to overwrite when deleted. (Never used for the platform's own.)
_THROWAWAY_PRAGMAS = (
    "PRAGMA synchronous=OFF",
    "PRAGMA cache_size=-65536",
    "PRAGMA secure_delete=OFF",
)
#: While a simulation runs in memory. SQLite checks `status IN ('a', 'b', 'c')` (the CHECK of
#: every enum column: lists of more than two values) by building a temporary B-tree, page
#: zeroed, each time a statement writes such a column: 4% of a simulation's instructions. The
#: values are SQLAlchemy's Enum's, which refuses any other, and `check_constraints` reads
#: every row against every CHECK constraint before the database is written to its file.
_UNCHECKED = "PRAGMA ignore_check_constraints=ON"


def _throwaway(dbapi_connection, connection_record) -> None:
    cursor = dbapi_connection.cursor()
    for pragma in _THROWAWAY_PRAGMAS:
        cursor.execute(pragma)
    cursor.close()


def _unchecked(dbapi_connection, connection_record) -> None:
    dbapi_connection.execute(_UNCHECKED).close()


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
    `save_database` writes it to that file, CHECK constraints left to `check_constraints`);
    `settings` replace the defaults (a demo history uses the instance's own keys, so its rows
    can be copied there)."""
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
        if in_memory:
            sa.event.listen(db.engine, "connect", _unchecked)
    return app


def check_constraints() -> None:
    """Every row of the app's database against every CHECK constraint of its tables (as the
    statements writing them would have, had they been checked); raises `BrokenConstraints`."""
    import eas.models  # noqa: F401  (every table on the metadata)

    broken = []
    with db.engine.connect() as connection:
        for table in db.metadata.sorted_tables:
            for check in table.constraints:
                if not isinstance(check, sa.CheckConstraint):
                    continue
                condition = check.sqltext.compile(
                    dialect=connection.dialect, compile_kwargs={"literal_binds": True}
                )
                # NULL passes a CHECK: only rows where it is false break it.
                rows = connection.execute(
                    sa.select(sa.func.count())
                    .select_from(table)
                    .where(sa.text(f"NOT ({condition})"))
                ).scalar_one()
                if rows:
                    broken.append(f"{table.name}: {rows} rows break {check.name} ({condition})")
    if broken:
        raise BrokenConstraints("; ".join(broken))


def save_database(database: Path) -> None:
    """Write the app's in-memory database to the file `database` (SQLite's online backup)."""
    with db.engine.connect() as connection:
        target = sqlite3.connect(database)
        try:
            connection.connection.driver_connection.backup(target)
        finally:
            target.close()
