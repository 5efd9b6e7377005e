"""Copying simulated participants, with everything that refers to them, from one SQLite database
into another: the shards of a large simulation into one database, a demo study's simulated
history into the instance's own.

Rows get ids past those already in the target, and every reference and key that embeds an id
moves with them; the study and protocol version they refer to can be replaced by the target's.
Everything is copied in one transaction, with foreign keys checked.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from eas.core.db import db

#: Audit actions about the study itself: the target has its own.
_STUDY_ACTIONS = "study.%"
#: Ids that audit records name in their details, and the table they are ids of.
_DETAIL_IDS = {"alert_id": "safety_alerts", "prompt_id": "planned_prompts"}


@dataclass(frozen=True)
class Copied:
    """What the ids of the copied rows became: table name -> number added to each id."""

    offsets: dict[str, int]

    def prompt(self, prompt_id: int) -> int:
        return prompt_id + self.offsets.get("planned_prompts", 0)


def participant_tables() -> list[sa.Table]:
    """`participants` and every table whose rows refer to one of these, parents first."""
    import eas.models  # noqa: F401  (every table on the metadata)

    tables: list[sa.Table] = []
    for table in db.metadata.sorted_tables:
        if table.name == "participants" or any(
            key.column.table in tables for key in table.foreign_keys
        ):
            tables.append(table)
    return tables


def shift_key(key: str | None, prompts: int, messages: int) -> str | None:
    """An idempotency key with the id it embeds moved: "prompt-<prompt id>-...",
    "reply-<inbound message id>-..." (other keys stay: a clash would stop the copy)."""
    if key is None:
        return None
    kind, _, rest = key.partition("-")
    number, dash, tail = rest.partition("-")
    offset = {"prompt": prompts, "reply": messages}.get(kind)
    if offset is None or not number.isdigit():
        return key
    return f"{kind}-{int(number) + offset}{dash}{tail}"


def _shift_details(details: str, offsets_json: str) -> str:
    values = json.loads(details)
    offsets = json.loads(offsets_json)
    if not isinstance(values, dict):
        return details
    changed = False
    for name, table in _DETAIL_IDS.items():
        if isinstance(values.get(name), int) and table in offsets:
            values[name] += offsets[table]
            changed = True
    return json.dumps(values) if changed else details


def _column(
    table: sa.Table, column: sa.Column, offsets: dict[str, int], fixed: dict, alerts: int
) -> str:
    name = f'"{column.name}"'
    if table.name == "safety_alerts" and column.name == "number":
        return f"{name} + {alerts}"  # numbered within the study: after the target's
    if column.primary_key and table.name in offsets:
        return f"{name} + {offsets[table.name]}"
    for key in column.foreign_keys:
        target = key.column.table.name
        if target in offsets:
            return f"{name} + {offsets[target]}"
        if target in fixed:
            return f"CASE WHEN {name} IS NULL THEN NULL ELSE {int(fixed[target])} END"
    if column.name == "idempotency_key":
        return (
            f"eas_shift_key({name}, {offsets.get('planned_prompts', 0)},"
            f" {offsets.get('messages', 0)})"
        )
    if table.name == "audit_events" and column.name == "details":
        return f"eas_shift_details({name}, '{json.dumps(offsets)}')"
    return name


def copy_participants(
    target: Path,
    source: Path,
    *,
    fixed: dict[str, int] | None = None,
    check: Callable[[sqlite3.Connection], bool] | None = None,
) -> Copied | None:
    """Copy the participant rows of the SQLite file `source` into the SQLite file `target`, in
    one transaction (which holds the write lock throughout). `fixed`: table name -> the
    target's id that every reference to that table becomes (its study, its protocol version).
    `check` runs first, inside the transaction: when it says no, nothing is copied (None)."""
    fixed = fixed or {}
    tables = participant_tables()
    connection = sqlite3.connect(target, isolation_level=None, timeout=30)
    try:
        connection.execute("PRAGMA foreign_keys=ON")
        # Room for the indexes the rows go into (up to 128 MB, taken as needed): with SQLite's
        # default 2 MB, inserting a shard's messages re-reads index pages from the file.
        connection.execute("PRAGMA cache_size=-131072")
        connection.create_function("eas_shift_key", 3, shift_key, deterministic=True)
        connection.create_function("eas_shift_details", 2, _shift_details, deterministic=True)
        connection.execute("ATTACH DATABASE ? AS source", (str(source),))
        connection.execute("BEGIN IMMEDIATE")
        try:
            if check is not None and not check(connection):
                connection.execute("ROLLBACK")
                return None
            offsets = {
                table.name: connection.execute(
                    f'SELECT coalesce(max(id), 0) FROM main."{table.name}"'
                ).fetchone()[0]
                for table in tables
            }
            alerts = _last_alert_number(connection, fixed.get("studies"))
            for table in tables:
                connection.execute(_insert(table, offsets, fixed, alerts))
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("DETACH DATABASE source")
    finally:
        connection.close()
    return Copied(offsets)


def _last_alert_number(connection: sqlite3.Connection, study_id: int | None) -> int:
    """The highest alert number in the target (in the study the rows go to, if fixed; a
    simulation's shards share its one study)."""
    where, parameters = ("WHERE study_id = ?", (study_id,)) if study_id else ("", ())
    query = f"SELECT coalesce(max(number), 0) FROM main.safety_alerts {where}"
    return connection.execute(query, parameters).fetchone()[0]


def _insert(table: sa.Table, offsets: dict[str, int], fixed: dict[str, int], alerts: int) -> str:
    names = ", ".join(f'"{column.name}"' for column in table.columns)
    values = ", ".join(_column(table, column, offsets, fixed, alerts) for column in table.columns)
    where = f" WHERE action NOT LIKE '{_STUDY_ACTIONS}'" if table.name == "audit_events" else ""
    return (
        f'INSERT INTO main."{table.name}" ({names}) '
        f'SELECT {values} FROM source."{table.name}"{where} ORDER BY id'
    )
