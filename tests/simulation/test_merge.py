"""Copying participants between databases: a plain copy of rows whose ids the source gave from a
range of its own, with foreign keys checked. Alert numbers stay unique within the study: the
shards of a simulation each number their alerts from 1 (200 participants crashed on
uq_safety_alerts_study_id_number when the shards were merged)."""

from __future__ import annotations

import json
import sqlite3

import flask_migrate
import pytest
import sqlalchemy as sa

from eas import create_app
from eas.core.clock import VirtualClock, install_clock
from eas.core.crypto import get_cipher
from eas.core.db import db
from eas.participants.csv_import import parse_participants_csv
from eas.participants.operations import import_participants
from eas.protocols.validation import validate_protocol_file
from eas.safety.models import SafetyAlert
from eas.safety.operations import raise_triggered
from eas.simulation.database import start_ids
from eas.simulation.merge import IdsTaken, copy_participants, participant_ids
from eas.sms.senders import sender_of
from eas.studies.operations import publish_protocol
from tests.helpers import DEMO_PROTOCOL, T0, make_test_config


def _shard(folder, phone: str, config: dict | None = None, *, ids_after: int = 0) -> dict:
    """A database with the demo study, one participant, and one alert of theirs; the rows about
    the participant have ids after `ids_after`."""
    config = config or make_test_config(f"sqlite:///{folder / 'shard.sqlite3'}", folder)
    config = {**config, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'shard.sqlite3'}"}
    app = create_app(config)
    install_clock(app, VirtualClock(T0))
    with app.app_context():
        flask_migrate.upgrade()
        start_ids(participant_ids(ids_after))
        study = publish_protocol(validate_protocol_file(DEMO_PROTOCOL), actor="test").study
        csv = f"label,phone,timezone\nP{phone[-2:]},{phone},America/New_York\n"
        parsed = parse_participants_csv(csv, study.current_version.definition, "US")
        import_participants(study, parsed, actor="test")
        sender = sender_of(get_cipher().lookup_hash(phone), T0)
        raise_triggered(sender, sender.definition, None, None, {}, {}, ["I want to die"],
                        channel="sms", now=T0)  # fmt: skip
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return config


@pytest.fixture
def shards(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    config = _shard(tmp_path / "a", "+12025550131")
    _shard(tmp_path / "b", "+12025550132", config, ids_after=1_000)  # the same keys, as shards
    return tmp_path / "a" / "shard.sqlite3", tmp_path / "b" / "shard.sqlite3"


def test_copied_alerts_are_numbered_after_the_targets(shards):
    assert copy_participants(*shards)
    engine = sa.create_engine(f"sqlite:///{shards[0]}")
    with engine.connect() as connection:
        numbers = (
            connection.execute(sa.select(SafetyAlert.number).order_by(SafetyAlert.number))
            .scalars()
            .all()
        )
    engine.dispose()
    assert numbers == [1, 2]


def test_rows_are_copied_with_the_ids_they_have(shards):
    target, source = shards
    audit = "SELECT id, action, details FROM audit_events WHERE id > 1000 ORDER BY id"
    with sqlite3.connect(source) as connection:
        recorded = connection.execute(audit).fetchall()
    copy_participants(target, source)
    with sqlite3.connect(target) as connection:
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
        labels = connection.execute("SELECT id, label FROM participants ORDER BY id").fetchall()
        alerts = connection.execute("SELECT id FROM safety_alerts ORDER BY id").fetchall()
        copied = connection.execute(audit).fetchall()
    assert labels == [(1, "P31"), (1_001, "P32")]
    assert alerts == [(1,), (1_001,)]
    # The audit records as they were (the target has its own of the study): the ids they
    # name are the rows' ids.
    assert copied == [row for row in recorded if not row[1].startswith("study.")]
    assert any(json.loads(details).get("alert_id") == 1_001 for _, _, details in copied)


def test_rows_whose_ids_the_target_has_given_are_not_copied(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    config = _shard(tmp_path / "a", "+12025550131")
    _shard(tmp_path / "b", "+12025550132", config)  # from 1 too
    target = tmp_path / "a" / "shard.sqlite3"
    with pytest.raises(IdsTaken, match="the rows to copy start at id 1, the target has 1"):
        copy_participants(target, tmp_path / "b" / "shard.sqlite3")
    with sqlite3.connect(target) as connection:
        assert connection.execute("SELECT count(*) FROM participants").fetchone() == (1,)


def test_a_check_that_says_no_copies_nothing(shards):
    assert copy_participants(*shards, check=lambda connection: False) is False
    with sqlite3.connect(shards[0]) as connection:
        assert connection.execute("SELECT count(*) FROM participants").fetchone() == (1,)
