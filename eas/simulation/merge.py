"""Copying simulated participants, with everything that refers to them, from one SQLite database
into another: the shards of a large simulation into one database, a demo study's simulated
history into the instance's own.

The rows keep their ids: the database they were simulated in gave each table's ids from a range
of its own (`participant_ids`, `database.start_ids`), past those of the database they are
copied into, and the study and protocol version they refer to have the target's ids. So the
copy is a plain one, table by table in foreign-key order, in one transaction with foreign keys
checked; ids that idempotency keys and audit records name are right as they are. Only alert
numbers, which count within a study, move past the target study's.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from eas.core.db import db

#: Audit actions about the study itself: the target has its own.
_STUDY_ACTIONS = "study.%"


class IdsTaken(RuntimeError):
    """Rows to copy have ids the target has given already (it changed since they were made)."""


def participant_tables() -> list[sa.Table]:
    """`participants` and every table whose rows refer to one of these, parents first: the
    tables a copy copies."""
    import eas.models  # noqa: F401  (every table on the metadata)

    tables: list[sa.Table] = []
    for table in db.metadata.sorted_tables:
        if table.name == "participants" or any(
            key.column.table in tables for key in table.foreign_keys
        ):
            tables.append(table)
    return tables


def _numbered(tables: list[sa.Table]) -> list[sa.Table]:
    """Tables with ids of their own (not those keyed by their participant, `plan_horizons`)."""
    return [table for table in tables if "id" in table.c]


def participant_ids(after: int) -> dict[str, int]:
    """For `database.start_ids`: the ids of every table a copy copies start after `after`."""
    return {table.name: after for table in _numbered(participant_tables())}


def last_ids(database: Path) -> dict[str, int]:
    """The highest id of each table a copy copies, in the SQLite file `database`: where a
    database whose rows are to be copied there starts its ids (`database.start_ids`)."""
    connection = sqlite3.connect(database)
    try:
        return {
            table.name: connection.execute(
                f'SELECT coalesce(max(id), 0) FROM "{table.name}"'
            ).fetchone()[0]
            for table in _numbered(participant_tables())
        }
    finally:
        connection.close()


def copy_participants(
    target: Path, source: Path, *, check: Callable[[sqlite3.Connection], bool] | None = None
) -> bool:
    """Copy the participant rows of the SQLite file `source` into the SQLite file `target`, in
    one transaction (which holds the write lock throughout). `check` runs first, inside the
    transaction: when it says no, nothing is copied (False). Raises `IdsTaken` when the target
    has given ids of the source's rows meanwhile."""
    tables = participant_tables()
    connection = sqlite3.connect(target, isolation_level=None, timeout=30)
    try:
        connection.execute("PRAGMA foreign_keys=ON")
        # Room for the indexes the rows go into (up to 128 MB, taken as needed): with SQLite's
        # default 2 MB, inserting a shard's messages re-reads index pages from the file.
        connection.execute("PRAGMA cache_size=-131072")
        connection.execute("ATTACH DATABASE ? AS source", (str(source),))
        connection.execute("BEGIN IMMEDIATE")
        try:
            if check is not None and not check(connection):
                connection.execute("ROLLBACK")
                return False
            _ids_are_free(connection, tables)
            alerts = _last_alert_number(connection)
            for table in tables:
                connection.execute(_insert(table, alerts))
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("DETACH DATABASE source")
    finally:
        connection.close()
    return True


def _ids_are_free(connection: sqlite3.Connection, tables: list[sa.Table]) -> None:
    for table in _numbered(tables):
        last, first = connection.execute(
            f'SELECT (SELECT max(id) FROM main."{table.name}"),'
            f' (SELECT min(id) FROM source."{table.name}")'
        ).fetchone()
        if last is not None and first is not None and first <= last:
            raise IdsTaken(
                f"{table.name}: the rows to copy start at id {first}, the target has {last}"
            )


def _last_alert_number(connection: sqlite3.Connection) -> int:
    """The highest alert number of the target's studies that the copied alerts belong to (a
    simulation has one study): the copied alerts are numbered after it, in their order."""
    return connection.execute(
        "SELECT coalesce(max(number), 0) FROM main.safety_alerts"
        " WHERE study_id IN (SELECT study_id FROM source.safety_alerts)"
    ).fetchone()[0]


def _insert(table: sa.Table, alerts: int) -> str:
    names = ", ".join(f'"{column.name}"' for column in table.columns)
    values = names
    if table.name == "safety_alerts":
        values = ", ".join(
            f'"{c.name}" + {alerts}' if c.name == "number" else f'"{c.name}"' for c in table.columns
        )
    where = f" WHERE action NOT LIKE '{_STUDY_ACTIONS}'" if table.name == "audit_events" else ""
    return (
        f'INSERT INTO main."{table.name}" ({names}) '
        f'SELECT {values} FROM source."{table.name}"{where} ORDER BY {_order(table)}'
    )


def _order(table: sa.Table) -> str:
    return ", ".join(f'"{column.name}"' for column in table.primary_key.columns)
