from __future__ import annotations

import os
import tempfile

import flask_migrate
import pytest

from eas import create_app
from eas.core.clock import VirtualClock, install_clock
from eas.core.db import db as _db
from eas.core.db import session_on
from eas.participants.csv_import import parse_participants_csv
from eas.participants.operations import import_participants
from eas.protocols.validation import validate_protocol_file, validate_protocol_text
from eas.studies.operations import publish_protocol
from tests.databases import suite_backend, temporary_database
from tests.helpers import DEMO_PROTOCOL, T0, make_test_config

pytest_plugins = ["tests.fixtures"]


def pytest_configure(config):
    # Never the checkout's ./instance (or one the shell names): `make run` leaves its served
    # address, secrets and database there, and every app of the suite would read them. One
    # folder per process (each xdist worker configures its own).
    os.environ["EAS_INSTANCE_PATH"] = tempfile.mkdtemp(prefix="eas-test-instance-")


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
