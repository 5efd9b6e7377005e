"""The database extension, its naming convention and column types shared by every domain."""

from __future__ import annotations

import enum
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import sqlalchemy as sa
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase

#: Constraint names are deterministic so migrations can drop and alter them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)


def sqlite_utc_text(value: datetime) -> str:
    """How a UTC timestamp is stored in SQLite: SQLAlchemy's own DATETIME text, naive UTC."""
    if value.tzinfo is not UTC:
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r} given for a UTC column")
        value = value.astimezone(UTC)
    return value.isoformat(" ", "microseconds")[:26]  # without the "+00:00"


class UTCDateTime(sa.TypeDecorator):
    """An aware UTC timestamp on every backend.

    Refuses naive datetimes on the way in (a naive time is a bug: whose wall clock is it?) and
    returns aware UTC datetimes on the way out, also from SQLite, which stores no offset.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r} given for a UTC column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def bind_processor(self, dialect):
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def process(value: datetime | None) -> str | None:
            # One step instead of two (ours, then SQLite's DATETIME formatting): prompts are
            # written by the hundred thousand. Same text as SQLAlchemy's SQLite DATETIME.
            return None if value is None else sqlite_utc_text(value)

        return process

    def result_processor(self, dialect, coltype):
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)

        def process(value: str | None) -> datetime | None:
            # The stored text is naive UTC: one parse instead of SQLAlchemy's and ours (exports
            # read millions of these).
            if value is None:
                return None
            try:
                return datetime.fromisoformat(value + "+00:00")  # aware UTC in one step
            except ValueError:  # not written by us: a text with an offset of its own
                return datetime.fromisoformat(value).astimezone(UTC)

        return process

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def enum_type(enum_class: type[enum.Enum]) -> sa.Enum:
    """A portable enum column storing the members' values, checked by a named constraint."""
    return sa.Enum(
        enum_class,
        name=enum_class.__name__.lower(),
        native_enum=False,
        create_constraint=True,
        length=max(len(member.value) for member in enum_class),
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


@event.listens_for(Engine, "connect")
def _configure_sqlite(dbapi_connection, connection_record) -> None:
    """Give SQLite real transactions, foreign keys and a write-ahead log.

    pysqlite's own transaction handling delays BEGIN and breaks SAVEPOINT; we switch it off and
    emit BEGIN ourselves (see the `begin` listener), as the SQLAlchemy documentation recommends.
    """
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


@event.listens_for(Engine, "begin")
def _begin_sqlite(connection) -> None:
    # Deferred, as SQLite's default: readers never wait. A transaction that reads and then writes
    # fails at once ("database is locked") if another connection wrote in between, so writers
    # that run beside others (the dispatcher) start their write transactions with the write.
    if connection.dialect.name == "sqlite":
        immediate = connection.get_execution_options().get("eas_write")
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


#: PostgreSQL's detail of an error, which can quote a row ("Failing row contains (...)").
_DETAIL = re.compile(r"\nDETAIL:.*?(?=\n\[SQL|\Z)", re.S)


@event.listens_for(Engine, "handle_error")
def _without_row_values(context) -> None:
    """PostgreSQL's errors quote a failing row's values ("DETAIL: Failing row contains (...)",
    "Key (...)=(...)"): participants' texts and numbers, which `hide_parameters` cannot hide.
    The errors, the driver's and SQLAlchemy's, keep their class (and SQLSTATE) without them."""
    if context.dialect.name != "postgresql":
        return
    for error in (context.original_exception, context.sqlalchemy_exception):
        if error is not None and error.args and isinstance(error.args[0], str):
            error.args = (_DETAIL.sub("\nDETAIL:  (withheld: it may quote data)", error.args[0]),)


class BoundSession(Session):
    """A session on the connection it was made with (Flask-SQLAlchemy's asks its engines)."""

    def get_bind(self, *args, **kwargs):
        return self.bind


@contextmanager
def session_on(connection: sa.Connection, **options) -> Iterator[None]:
    """`db.session` on `connection` until the block ends, then as before: every transaction
    runs on that one connection, with none to open and give back (a simulation runs tens of
    thousands). `options` are the session's (`join_transaction_mode`...). For the whole
    process (`db.session` is one object): only while nothing else in it uses the database,
    as in a simulation or a test."""
    original = db.session
    db.session = db._make_scoped_session({"class_": BoundSession, "bind": connection, **options})
    try:
        yield
    finally:
        try:
            db.session.remove()
        finally:
            db.session = original


#: SQLSTATEs after which running the whole transaction again can succeed: a serialization
#: failure and a deadlock (PostgreSQL chose this transaction as the victim).
_TRANSIENT_SQLSTATES = frozenset({"40001", "40P01"})


def is_transient(error: BaseException) -> bool:
    """Whether `error` ended the transaction for a reason that running it again can cure
    (a deadlock or serialization failure), rather than a fault in what it did."""
    if not isinstance(error, sa.exc.DBAPIError) or error.connection_invalidated:
        return False
    return getattr(error.orig, "sqlstate", None) in _TRANSIENT_SQLSTATES


def begin_write() -> None:
    """Start the session's next transaction as a writer (SQLite: BEGIN IMMEDIATE, waiting its
    turn for the write lock), for commands that read and then write while a dispatcher runs."""
    if not db.session().in_transaction():
        db.session.connection(execution_options={"eas_write": True})


def core_execute(statement: sa.Executable, params=None) -> sa.CursorResult:
    """Run a Core statement (built once) on the session's connection, in its transaction, after
    flushing what is pending (as the session would). For hot paths: the ORM's per-statement
    work (bulk-update bookkeeping, result processing) costs 3-4 times what such a statement
    does, and it needs nothing from it."""
    session = db.session()
    session.flush()
    return session.connection().execute(statement, params)


def bulk_insert(
    connection: sa.Connection, table: sa.Table, names: list[str], rows: list[tuple]
) -> None:
    """Insert many rows at once (each a tuple of values for `names`): one executemany."""
    if rows:
        connection.execute(table.insert(), [dict(zip(names, row, strict=True)) for row in rows])
