"""Statements run straight on SQLite's driver give what SQLAlchemy's own execution gives."""

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from eas.core import direct
from eas.core.db import core_execute
from eas.delivery.models import Direction, Message, MessageStatus
from tests.databases import suite_backend

pytestmark = pytest.mark.skipif(suite_backend() != "sqlite", reason="SQLite's driver only")

_MESSAGES = Message.__table__
_INSERT = _MESSAGES.insert().returning(_MESSAGES.c.id)
_READ = (
    sa.select(
        _MESSAGES.c.id,
        _MESSAGES.c.direction,
        _MESSAGES.c.body,
        _MESSAGES.c.status,
        _MESSAGES.c.provider_payload,
        _MESSAGES.c.created_at,
        _MESSAGES.c.error_code,
    )
    .where(_MESSAGES.c.direction.in_([Direction.inbound, Direction.outbound]))
    .order_by(_MESSAGES.c.id)
)
_BY_IDS = _READ.where(_MESSAGES.c.id.in_(sa.bindparam("ids", expanding=True)))
_SINCE = _READ.where(_MESSAGES.c.created_at >= sa.bindparam("since"))
_MARK = (
    _MESSAGES.update()
    .where(_MESSAGES.c.status == MessageStatus.queued)
    .values(status=MessageStatus.sent, updated_at=sa.bindparam("now"))
)
T = datetime(2026, 3, 8, 6, 59, 30, 123456, tzinfo=UTC)


def _row(n: int, **changes) -> dict:
    return {
        "direction": Direction.inbound if n % 2 else Direction.outbound,
        "phone_encrypted": b"sealed",
        "phone_hash": f"hash-{n}",
        "body": f"text {n}: ça va? 🙂",
        "provider_sid": f"SM{n:032d}",
        "status": MessageStatus.queued,
        "provider_payload": {"n": n, "nested": [1, None]} if n % 3 else None,
        "created_at": T + timedelta(minutes=n),
        "updated_at": T,
        **changes,
    }


@pytest.fixture
def connection(db):
    return db.session.connection()


@pytest.fixture
def ids(connection):
    return [direct.execute(connection, _INSERT, _row(n)).scalar_one() for n in range(1, 6)]


def test_a_select_reads_what_sqlalchemy_reads(connection, ids):
    mine = direct.execute(connection, _READ).all()
    theirs = connection.execute(_READ).all()
    assert mine == [tuple(row) for row in theirs]
    assert [type(value) for value in mine[0]] == [type(value) for value in theirs[0]]
    assert mine[0].direction is Direction.inbound and mine[1].direction is Direction.outbound
    assert mine[0].created_at.tzinfo is UTC
    assert mine[1].provider_payload == {"n": 2, "nested": [1, None]}
    assert mine[2].provider_payload is None
    assert mine[0].body == "text 1: ça va? 🙂"


def test_parameters_are_stored_as_sqlalchemy_stores_them(connection, ids):
    theirs_id = connection.execute(_INSERT, _row(7)).scalar_one()
    stored = connection.exec_driver_sql(
        "SELECT direction, body, status, provider_payload, created_at FROM messages "
        f"WHERE id IN ({ids[0]}, {theirs_id}) ORDER BY id"
    ).all()
    mine, theirs = stored  # rows 1 and 7: both inbound, queued, with a payload
    assert (mine[0], mine[2]) == (theirs[0], theirs[2]) == ("inbound", "queued")
    assert mine[1].startswith("text 1") and theirs[1].startswith("text 7")
    assert [mine[3], theirs[3]] == [
        '{"n": 1, "nested": [1, null]}',
        '{"n": 7, "nested": [1, null]}',
    ]
    assert [mine[4], theirs[4]] == ["2026-03-08 07:00:30.123456", "2026-03-08 07:06:30.123456"]


def test_a_parameter_and_in_lists_given_per_execution(connection, ids):
    chosen = [ids[3], ids[0]]
    assert [row.id for row in direct.execute(connection, _BY_IDS, {"ids": chosen})] == sorted(
        chosen
    )
    since = T + timedelta(minutes=4)
    assert direct.execute(connection, _SINCE, {"since": since}).scalars().all() == ids[3:]


def test_what_it_cannot_do_the_same_way_is_left_to_sqlalchemy(connection, ids):
    assert direct.execute(connection, _BY_IDS, {"ids": []}) is None
    # A Python-side default, computed per row by SQLAlchemy.
    defaulted = sa.Table("defaulted", sa.MetaData(), sa.Column("a", sa.Integer, default=1))
    assert direct.execute(connection, defaulted.insert(), {}) is None
    assert core_execute(_BY_IDS, {"ids": []}).all() == []


def test_an_update_counts_its_rows_and_executemany_writes_every_row(connection, ids):
    assert direct.execute(connection, _MARK, {"now": T}).rowcount == 5
    assert direct.execute(connection, _MARK, {"now": T}).rowcount == 0
    many = direct.execute(connection, _MESSAGES.insert(), [_row(n) for n in (20, 21, 22)])
    assert many.rowcount == 3
    returned = direct.execute(connection, _INSERT, [_row(n) for n in (30, 31)]).scalars().all()
    assert returned == [ids[-1] + 4, ids[-1] + 5]
    assert (
        direct.execute(connection, sa.select(sa.func.count()).select_from(_MESSAGES)).scalar() == 10
    )


def test_constraint_violations_are_sqlalchemy_errors(connection, ids, db):
    with pytest.raises(sa.exc.IntegrityError, match="provider_sid"), db.session.begin_nested():
        direct.execute(connection, _INSERT, _row(1))
    with pytest.raises(sa.exc.ArgumentError, match="'since'"):
        direct.execute(connection, _SINCE, {})


def test_results_answer_as_sqlalchemy_results_do(connection, ids):
    one = _READ.where(_MESSAGES.c.id == sa.bindparam("id"))
    assert direct.execute(connection, one, {"id": ids[0]}).one().id == ids[0]
    assert direct.execute(connection, one, {"id": -1}).first() is None
    assert direct.execute(connection, one, {"id": -1}).scalar() is None
    assert direct.execute(connection, one, {"id": -1}).scalar_one_or_none() is None
    with pytest.raises(sa.exc.NoResultFound):
        direct.execute(connection, one, {"id": -1}).one()
    with pytest.raises(sa.exc.MultipleResultsFound):
        direct.execute(connection, _READ).one()


def test_statement_listeners_see_every_statement_of_core_execute(db, ids):
    seen = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    engine = db.session.get_bind()
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        assert len(core_execute(_READ).all()) == 5
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert len(seen) == 1 and seen[0].startswith("SELECT messages.id")


def test_savepoints_on_the_driver_keep_or_undo_what_they_hold(db, connection, ids):
    count = sa.select(sa.func.count()).select_from(_MESSAGES)
    with pytest.raises(RuntimeError), db.session.begin_nested():
        core_execute(_INSERT, _row(40))
        assert core_execute(count).scalar() == 6
        raise RuntimeError("undo")
    assert core_execute(count).scalar() == 5
    with db.session.begin_nested():
        core_execute(_INSERT, _row(41))
    assert core_execute(count).scalar() == 6
    with pytest.raises(sa.exc.OperationalError, match="no such savepoint"):
        direct.run_sql(connection, "RELEASE SAVEPOINT nowhere")
