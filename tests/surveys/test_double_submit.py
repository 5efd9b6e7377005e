"""Two submits of one questionnaire page at once (a double click, a second tab): the first is
saved, the second is sent back to where things stand, on both backends. On PostgreSQL the
second waits for the first's lock and must then read what the first saved (a locking read
would read the response as it was when it began waiting, and insert it a second time)."""

from __future__ import annotations

import re
import threading
import time
from datetime import timedelta

import flask_migrate
import sqlalchemy as sa

from eas import create_app
from eas.core.clock import VirtualClock, install_clock
from eas.core.db import db
from eas.delivery.dispatcher import Dispatcher
from eas.participants.csv_import import parse_participants_csv
from eas.participants.operations import import_participants
from eas.protocols.validation import validate_protocol_file
from eas.responses.models import Answer, Response
from eas.studies.operations import publish_protocol
from eas.surveys import views
from tests.databases import suite_backend, temporary_database
from tests.delivery.fakes import FakeProvider
from tests.helpers import DEMO_PROTOCOL, PHONE, T0, make_test_config
from tests.surveys.helpers import DIARY_DUE, csrf_of, page_item_of


def test_a_page_sent_twice_at_once_is_saved_once(tmp_path, monkeypatch):
    with temporary_database(suite_backend(), tmp_path) as url:
        app = create_app(make_test_config(url, tmp_path))
        clock = VirtualClock(T0)
        install_clock(app, clock)
        provider = FakeProvider(clock)
        with app.app_context():
            flask_migrate.upgrade()
            study = publish_protocol(validate_protocol_file(DEMO_PROTOCOL), actor="test").study
            csv = f"label,phone,timezone,start_date\nP1,{PHONE},America/New_York,2026-03-19\n"
            parsed = parse_participants_csv(csv, study.current_version.definition, "US")
            (participant,) = import_participants(study, parsed, actor="test").created
            participant_id = participant.id
            db.session.commit()
            clock.set(DIARY_DUE + timedelta(seconds=1))
            Dispatcher(provider, name="t", clock=clock, workers=0).tick()
            db.session.remove()
        body = next(b for b in provider.bodies_for(participant_id) if b.startswith("Evening diary"))
        path = re.search(r"https?://[^/]+(/p/\S+)", body).group(1)

        # The first save to start takes its time: the other arrives meanwhile.
        save, first = views.response_state.save, threading.Event()

        def slow_save(state):
            if not first.is_set():
                first.set()
                time.sleep(0.5)
            save(state)

        monkeypatch.setattr(views.response_state, "save", slow_save)
        forms, statuses = [], []
        clients = [app.test_client() for _ in range(2)]
        for client in clients:
            html = client.get(path).get_data(as_text=True)
            forms.append({"csrf_token": csrf_of(html), "page_item": page_item_of(html)})
        item = forms[0]["page_item"]
        start = threading.Barrier(2)

        def send(client, form):
            start.wait()
            statuses.append(client.post(path, data={**form, item: "30"}).status_code)

        threads = [
            threading.Thread(target=send, args=pair) for pair in zip(clients, forms, strict=True)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert statuses == [303, 303]
        with app.app_context():
            assert db.session.scalar(sa.select(sa.func.count()).select_from(Response)) == 1
            answers = db.session.scalars(sa.select(Answer.item_id)).all()
            assert answers == [item]
            db.session.remove()
            db.engine.dispose()
