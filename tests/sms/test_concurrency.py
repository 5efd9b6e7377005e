"""Texts arriving at the same moment are all stored: the webhook takes SQLite's write lock
before it reads (a transaction that reads, then writes after another connection committed,
fails at once with "database is locked", and the text would be lost)."""

from __future__ import annotations

import threading
import uuid

import flask_migrate
import sqlalchemy as sa

from eas import create_app
from eas.core.db import db
from eas.delivery.models import Direction, Message
from eas.participants.csv_import import parse_participants_csv
from eas.participants.operations import import_participants
from eas.protocols.validation import validate_protocol_file
from eas.studies.operations import publish_protocol
from tests.conftest import DEMO_PROTOCOL, make_test_config
from tests.sms.conftest import AUTH_TOKEN, sign

SENDERS, TEXTS_EACH = 4, 15


def test_simultaneous_texts_are_all_stored_on_sqlite(tmp_path):
    config = make_test_config(f"sqlite:///{tmp_path / 'busy.sqlite3'}", tmp_path)
    config["EAS_TWILIO_AUTH_TOKEN"] = AUTH_TOKEN
    app = create_app(config)
    numbers = [f"+1202555{n:04d}" for n in range(SENDERS)]
    with app.app_context():
        flask_migrate.upgrade()
        study = publish_protocol(validate_protocol_file(DEMO_PROTOCOL), actor="test").study
        csv = "label,phone,timezone\n" + "".join(
            f"P{n},{number},America/New_York\n" for n, number in enumerate(numbers)
        )
        parsed = parse_participants_csv(csv, study.current_version.definition, "US")
        import_participants(study, parsed, actor="test")
        db.session.commit()
    statuses: list[int] = []
    start = threading.Barrier(SENDERS)

    def texting(number: str) -> None:
        client = app.test_client()
        start.wait()
        for _ in range(TEXTS_EACH):
            params = {"MessageSid": f"SM{uuid.uuid4().hex}", "From": number, "Body": "help"}
            response = client.post(
                "/sms/inbound",
                data=params,
                headers={"X-Twilio-Signature": sign("http://localhost/sms/inbound", params)},
            )
            statuses.append(response.status_code)

    threads = [threading.Thread(target=texting, args=(number,)) for number in numbers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * SENDERS * TEXTS_EACH
    with app.app_context():
        stored = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Message)
            .where(Message.direction == Direction.inbound)
        )
        db.engine.dispose()
    assert stored == SENDERS * TEXTS_EACH
