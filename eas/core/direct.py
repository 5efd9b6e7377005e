"""Core statements run straight on SQLite's driver, compiled once.

SQLAlchemy's per-execution work (parameter construction, execution context, result metadata,
events) costs 20-30 times what a small indexed statement costs SQLite itself (see
bench/simulate.py: an inbound text runs about a dozen). On SQLite, `core_execute` hands the
statements it can to `execute` here instead: compiled once per statement, dialect and set of
parameter names, with SQLAlchemy's own bind and result processors, so the values written and
read are exactly those of the ordinary path, and IN lists are written out as SQLAlchemy writes
them. What it cannot do the same way (an empty or tuple IN list, Python-side column defaults,
literal-execute or per-execution parameters, executemany with IN lists) it leaves to
SQLAlchemy: `execute` returns None, before running anything, and the caller runs the statement
as usual.

Statement listeners (tests counting statements) see nothing of a direct execution: while any
is listening, `core_execute` takes the ordinary path.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

#: A statement and parameter-name set the direct path cannot run (SQLAlchemy runs them).
_UNSUITABLE = object()
#: Per statement object (by id, with the object, so the id cannot be another's), its plans by
#: (dialect, parameter names, executemany). Statements are built once, at import; the few
#: built per call are forgotten when the cache grows past `_PLANNED`.
_PLANS: dict[int, tuple[sa.Executable, dict]] = {}
_PLANNED = 2000


@dataclass(frozen=True)
class _Plan:
    sql: str
    #: Per positional parameter: its name, the statement's own value when not given, the bind
    #: processor turning a Python value into what the driver stores (or None), and whether it
    #: is a list given per execution for an IN (`bindparam(..., expanding=True)`).
    parameters: tuple[tuple[str, Any, Callable | None, bool], ...]
    #: The result's row class and (column index, result processor) for each processed column.
    row: type | None
    processors: tuple[tuple[int, Callable], ...]
    width: int
    returns_rows: bool
    expands: bool


def _token(name: str) -> str:
    return f"__[POSTCOMPILE_{name}]"


def _plan(statement: sa.Executable, dialect: Dialect, keys: tuple[str, ...] | None):
    # An INSERT or UPDATE sets the columns given (as SQLAlchemy compiles it for them).
    compiled = statement.compile(dialect=dialect, column_keys=None if keys is None else list(keys))
    if (
        compiled.positiontup is None
        or compiled.literal_execute_params
        or compiled.insert_prefetch
        or compiled.update_prefetch
        or any(not bind.expanding for bind in compiled.post_compile_params)
    ):
        return _UNSUITABLE
    sql = compiled.string
    expanding = {compiled.bind_names[bind] for bind in compiled.post_compile_params}
    parameters = []
    for name in compiled.positiontup:
        bind = compiled.binds[name]
        if bind.callable is not None:
            return _UNSUITABLE  # a value computed per execution
        processor = bind.type._cached_bind_processor(dialect)
        if name not in expanding:
            parameters.append((name, _MISSING if bind.required else bind.value, processor, False))
        elif sql.count(_token(name)) != 1:
            return _UNSUITABLE
        elif bind.required:  # given per execution: expanded then
            parameters.append((name, _MISSING, processor, True))
        elif not bind.value or isinstance(bind.value[0], tuple):
            return _UNSUITABLE  # SQLAlchemy's own forms for an empty IN, a tuple IN
        else:  # the statement's own list (`column.in_([...])`): expanded once, here
            sql = sql.replace(_token(name), ", ".join("?" * len(bind.value)))
            parameters += [(name, value, processor, False) for value in bind.value]
    columns = compiled._result_columns
    returns_rows = bool(columns)
    row = processors = None
    if returns_rows:
        row = namedtuple("Row", [column[0] for column in columns], rename=True)
        processors = tuple(
            (index, processor)
            for index, column in enumerate(columns)
            if (processor := column[3]._cached_result_processor(dialect, None)) is not None
        )
    expands = any(entry[3] for entry in parameters)
    return _Plan(sql, tuple(parameters), row, processors or (), len(columns), returns_rows, expands)


class _Missing:
    def __repr__(self) -> str:
        return "<required>"


_MISSING = _Missing()


def _values(plan: _Plan, params: Mapping[str, Any]) -> list:
    values = []
    for name, default, processor, expanding in plan.parameters:
        value = params.get(name, default)
        if value is _MISSING:
            raise sa.exc.ArgumentError(f"a value is required for bind parameter '{name}'")
        if expanding:
            values += [processor(one) if processor else one for one in value]
        else:
            values.append(processor(value) if processor and value is not None else value)
    return values


def _expanded_sql(plan: _Plan, params: Mapping[str, Any]) -> str | None:
    """The statement with each IN list given per execution written out (None: one is empty
    or of tuples, forms SQLAlchemy writes its own way)."""
    sql = plan.sql
    for name, _, _, expanding in plan.parameters:
        if expanding:
            value = params.get(name)
            if not value or isinstance(value[0], tuple):
                return None
            sql = sql.replace(_token(name), ", ".join("?" * len(value)))
    return sql


def execute(
    connection: sa.Connection, statement: sa.Executable, params=None
) -> DirectResult | None:
    """Run `statement` with `params` (a dict, or a list of dicts for executemany) on the
    connection's SQLite driver connection, in its transaction; None when it cannot."""
    many = type(params) is list or type(params) is tuple
    if many and not params:
        return None
    first = (params[0] if many else params) or {}
    keys = tuple(sorted(first)) if isinstance(statement, sa.Insert | sa.Update) else None
    entry = _PLANS.get(id(statement))
    if entry is None or entry[0] is not statement:
        if len(_PLANS) >= _PLANNED:
            _PLANS.clear()
        entry = _PLANS[id(statement)] = (statement, {})
    plans = entry[1]
    dialect = connection.dialect
    key = (id(dialect), keys, many)
    plan = plans.get(key)
    if plan is None:
        plan = plans[key] = _plan(statement, dialect, keys)
    if plan is _UNSUITABLE:
        return None
    sql = plan.sql
    if plan.expands:
        if many:
            return None
        sql = _expanded_sql(plan, first)
        if sql is None:
            return None
    driver = connection.connection.driver_connection
    rows: list = []
    try:
        if not many:
            cursor = driver.execute(sql, _values(plan, first))
            raw = cursor.fetchall() if plan.returns_rows else ()
            rowcount = cursor.rowcount
        elif plan.returns_rows:  # one row back per set of parameters, in their order
            raw, rowcount = [], 0
            for one in params:
                cursor = driver.execute(sql, _values(plan, one))
                raw += cursor.fetchall()
                rowcount += cursor.rowcount
        else:
            cursor = driver.executemany(sql, [_values(plan, one) for one in params])
            raw, rowcount = (), cursor.rowcount
    except dialect.loaded_dbapi.Error as error:
        raise sa.exc.DBAPIError.instance(
            sql,
            params,
            error,
            dialect.loaded_dbapi.Error,
            hide_parameters=connection.engine.hide_parameters,  # as SQLAlchemy's own errors
            dialect=dialect,
            ismulti=many,
        ) from error
    if raw:
        if len(raw[0]) != plan.width:
            raise RuntimeError(f"{plan.sql!r} returned {len(raw[0])} columns, not {plan.width}")
        make = plan.row._make
        if plan.processors:
            for values in raw:
                record = list(values)
                for index, processor in plan.processors:
                    record[index] = processor(record[index])
                rows.append(make(record))
        else:
            rows = [make(values) for values in raw]
    return DirectResult(rows, rowcount)


def run(connection: sa.Connection, statement: sa.Executable, params=None):
    """`statement` on `connection`: directly where it can (SQLite, nothing listening), else
    by SQLAlchemy."""
    if connection.dialect.name == "sqlite" and not listened(connection):
        result = execute(connection, statement, params)
        if result is not None:
            return result
    return connection.execute(statement, params)


def listened(connection: sa.Connection) -> bool:
    """Whether something watches each statement (tests counting them): it sees them all."""
    dispatch = connection.dispatch
    return bool(dispatch.before_cursor_execute or dispatch.after_cursor_execute)


def run_sql(connection: sa.Connection, sql: str) -> None:
    """A statement without parameters or results (BEGIN, SAVEPOINT...) on the driver, or
    through SQLAlchemy while something watches each statement."""
    if listened(connection):
        connection.exec_driver_sql(sql)
        return
    dialect = connection.dialect
    try:
        connection.connection.driver_connection.execute(sql)
    except dialect.loaded_dbapi.Error as error:
        raise sa.exc.DBAPIError.instance(
            sql, None, error, dialect.loaded_dbapi.Error, dialect=dialect
        ) from error


def quick_savepoints(dialect: Dialect) -> None:
    """Give this SQLite dialect's savepoints the SQL SQLAlchemy writes, run by `run_sql`."""
    quote = dialect.identifier_preparer.quote
    dialect.do_savepoint = lambda connection, name: run_sql(connection, f"SAVEPOINT {quote(name)}")
    dialect.do_release_savepoint = lambda connection, name: run_sql(
        connection, f"RELEASE SAVEPOINT {quote(name)}"
    )
    dialect.do_rollback_to_savepoint = lambda connection, name: run_sql(
        connection, f"ROLLBACK TO SAVEPOINT {quote(name)}"
    )


class DirectResult:
    """The part of SQLAlchemy's result API the hot paths use, over rows already fetched."""

    __slots__ = ("_rows", "rowcount")

    def __init__(self, rows: list, rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount

    def __iter__(self) -> Iterator:
        return iter(self._rows)

    def all(self) -> list:
        return self._rows

    def first(self):
        return self._rows[0] if self._rows else None

    def one_or_none(self):
        if len(self._rows) > 1:
            raise sa.exc.MultipleResultsFound(
                "Multiple rows were found when one or none was required"
            )
        return self.first()

    def one(self):
        if not self._rows:
            raise sa.exc.NoResultFound("No row was found when one was required")
        if len(self._rows) > 1:
            raise sa.exc.MultipleResultsFound(
                "Multiple rows were found when exactly one was required"
            )
        return self._rows[0]

    def scalar(self):
        return self._rows[0][0] if self._rows else None

    def scalar_one(self):
        return self.one()[0]

    def scalar_one_or_none(self):
        row = self.one_or_none()
        return None if row is None else row[0]

    def scalars(self) -> DirectResult:
        return DirectResult([row[0] for row in self._rows], self.rowcount)
