"""Copying participants between databases keeps alert numbers unique within the study: the
shards of a simulation each number their alerts from 1 (200 participants crashed on
uq_safety_alerts_study_id_number when the shards were merged)."""

from __future__ import annotations

import flask_migrate
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
from eas.simulation.merge import copy_participants
from eas.sms.senders import sender_of
from eas.studies.operations import publish_protocol
from tests.conftest import DEMO_PROTOCOL, T0, make_test_config


def _shard(folder, phone: str, config: dict | None = None) -> dict:
    """A database with the demo study, one participant, and one alert of theirs."""
    config = config or make_test_config(f"sqlite:///{folder / 'shard.sqlite3'}", folder)
    config = {**config, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'shard.sqlite3'}"}
    app = create_app(config)
    install_clock(app, VirtualClock(T0))
    with app.app_context():
        flask_migrate.upgrade()
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


def test_copied_alerts_are_numbered_after_the_targets(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    config = _shard(tmp_path / "a", "+12025550131")
    _shard(tmp_path / "b", "+12025550132", config)  # the same keys, as shards have
    copy_participants(tmp_path / "a" / "shard.sqlite3", tmp_path / "b" / "shard.sqlite3")
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'a' / 'shard.sqlite3'}")
    with engine.connect() as connection:
        numbers = (
            connection.execute(sa.select(SafetyAlert.number).order_by(SafetyAlert.number))
            .scalars()
            .all()
        )
    engine.dispose()
    assert numbers == [1, 2]
