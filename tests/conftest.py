from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import flask_migrate
import pytest
from cryptography.fernet import Fernet

from eas import create_app
from eas.core.clock import VirtualClock, install_clock
from eas.core.db import db as _db
from eas.core.db import session_on
from eas.participants.csv_import import parse_participants_csv
from eas.participants.operations import import_participants
from eas.protocols.validation import validate_protocol_file, validate_protocol_text
from eas.studies.operations import publish_protocol
from tests.databases import suite_backend, temporary_database

pytest_plugins = ["tests.fixtures"]

ROOT = Path(__file__).resolve().parents[1]
DEMO_PROTOCOL = ROOT / "protocols" / "ai-connection.yaml"
#: A Wednesday, in the middle of a normal (non-DST-transition) week.
T0 = datetime(2026, 3, 18, 14, 0, tzinfo=UTC)


def make_test_config(database_url: str, instance_path: Path) -> dict:
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": "test-secret",
        "EAS_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "EAS_LOOKUP_KEY": "test-lookup-key",
        # Random prompt times drawn the same way every run: a test that depends on where a
        # beep falls passes or fails for good, not one run in twenty.
        "EAS_SCHEDULE_SEED": 2026,
    }


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("eas")
    with temporary_database(suite_backend(), tmp) as url:
        app = create_app(make_test_config(url, tmp))
        with app.app_context():
            flask_migrate.upgrade()
        yield app
        with app.app_context():
            _db.engine.dispose()


@pytest.fixture
def clock(app):
    clock = VirtualClock(T0)
    install_clock(app, clock)
    return clock


@pytest.fixture
def db(app, clock):
    """The database inside a transaction rolled back after the test (commits become savepoints)."""
    with app.app_context():
        connection = _db.engine.connect()
        transaction = connection.begin()
        try:
            with session_on(connection, join_transaction_mode="create_savepoint"):
                yield _db
        finally:
            transaction.rollback()
            connection.close()


@pytest.fixture
def client(app, db):
    return app.test_client()


@pytest.fixture
def runner(app, db):
    return app.test_cli_runner()


@pytest.fixture
def demo_protocol():
    return validate_protocol_file(DEMO_PROTOCOL)


@pytest.fixture
def create_study(db, demo_protocol):
    """Factory: publish a protocol (the demo protocol by default) and return its study."""

    def _create_study(text: str | None = None):
        protocol = demo_protocol if text is None else validate_protocol_text(text, "test.yaml")
        return publish_protocol(protocol, actor="test").study

    return _create_study


@pytest.fixture
def enroll_csv(db, app):
    """Factory: import participants from CSV text into a study."""

    def _enroll_csv(study, text: str):
        parsed = parse_participants_csv(
            text, study.current_version.definition, app.config["EAS_DEFAULT_PHONE_REGION"]
        )
        return import_participants(study, parsed, actor="test")

    return _enroll_csv
