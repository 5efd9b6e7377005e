"""Texts arriving at the same moment are all stored and answered: the webhook takes SQLite's
write lock before it reads (a transaction that reads, then writes after another connection
committed, fails at once with "database is locked", and the text would be lost); on PostgreSQL
texts from one number wait for each other, and a transaction the database ends for a deadlock
runs again."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import flask_migrate
import sqlalchemy as sa

from eas import create_app
from eas.core.clock import VirtualClock, install_clock
from eas.core.db import db
from eas.delivery.dispatcher import Dispatcher
from eas.delivery.models import Direction, Message
from eas.participants.csv_import import parse_participants_csv
from eas.participants.operations import import_participants
from eas.protocols.validation import validate_protocol_file
from eas.scheduling.models import PlannedPrompt
from eas.studies.operations import publish_protocol
from tests.databases import suite_backend, temporary_database
from tests.delivery.fakes import FakeProvider
from tests.helpers import DEMO_PROTOCOL, PHONE, T0, make_test_config
from tests.sms.helpers import AUTH_TOKEN, sign

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


ROUNDS, AT_ONCE = 6, 6


def test_simultaneous_texts_from_one_participant_are_all_answered(tmp_path, caplog):
    """Texts from one number arriving together (a compact reply split by the phone, a double
    tap) are handled one after another: each is understood in the conversation and answered,
    never left "stored only" (on PostgreSQL they deadlocked on the participant's row)."""
    with temporary_database(suite_backend(), tmp_path) as url:
        app = create_app({**make_test_config(url, tmp_path), "EAS_TWILIO_AUTH_TOKEN": AUTH_TOKEN})
        clock = VirtualClock(T0)
        install_clock(app, clock)
        with app.app_context():
            flask_migrate.upgrade()
            study = publish_protocol(validate_protocol_file(DEMO_PROTOCOL), actor="test").study
            csv = f"label,phone,timezone,start_date\nP1,{PHONE},America/New_York,2026-03-19\n"
            parsed = parse_participants_csv(csv, study.current_version.definition, "US")
            (participant,) = import_participants(study, parsed, actor="test").created
            db.session.commit()
            beep = db.session.scalar(
                sa.select(PlannedPrompt)
                .where(
                    PlannedPrompt.participant_id == participant.id,
                    PlannedPrompt.schedule_id == "beeps",
                )
                .order_by(PlannedPrompt.due_at)
                .limit(1)
            )
            beep_id = beep.id
            clock.set(beep.due_at + timedelta(seconds=1))
            dispatcher = Dispatcher(FakeProvider(clock), name="test", clock=clock, workers=0)
            dispatcher.tick()
            dispatcher.close()
        statuses: list[int] = []
        start = threading.Barrier(AT_ONCE)

        def texting() -> None:
            client = app.test_client()
            for _ in range(ROUNDS):
                start.wait()
                params = {"MessageSid": f"SM{uuid.uuid4().hex}", "From": PHONE, "Body": "maybe"}
                response = client.post(
                    "/sms/inbound",
                    data=params,
                    headers={"X-Twilio-Signature": sign("http://localhost/sms/inbound", params)},
                )
                statuses.append(response.status_code)

        threads = [threading.Thread(target=texting) for _ in range(AT_ONCE)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        with app.app_context():
            inbound = db.session.scalars(
                sa.select(Message).where(Message.direction == Direction.inbound)
            ).all()
            replies = db.session.scalar(
                sa.select(sa.func.count()).select_from(Message).where(Message.purpose == "reply")
            )
            db.session.remove()  # its connection back to the pool, which dispose closes
            db.engine.dispose()
    assert statuses == [200] * ROUNDS * AT_ONCE
    assert "could not be handled" not in caplog.text
    assert len(inbound) == ROUNDS * AT_ONCE
    # Each was understood as part of the check-in (an answer it re-asks for) and answered.
    assert [message.prompt_id for message in inbound] == [beep_id] * ROUNDS * AT_ONCE
    assert replies >= ROUNDS * AT_ONCE
