"""Fixtures shared across packages (a pytest plugin, registered by the root conftest): a
demo-study participant, a dispatcher that sends their prompts to a stateful fake provider, the
participant's phone texting the signed webhook, the evening diary sent as a web link,
coordinator accounts, and a demo instance with a simulated history.

Helpers that are not fixtures (constants, `sign_in`, `Phone`, `Answerer`, ...) are in plain
modules: tests/helpers.py and each package's helpers.py."""

from __future__ import annotations

import re
from datetime import timedelta

import flask_migrate
import pytest
import sqlalchemy as sa

from eas import create_app
from eas.core.clock import VirtualClock, install_clock
from eas.core.db import db as _db
from eas.delivery.dispatcher import Dispatcher
from eas.participants.csv_import import parse_participants_csv
from eas.participants.operations import import_participants
from eas.protocols.validation import validate_protocol_file
from eas.scheduling.models import PlannedPrompt, PromptStatus
from eas.studies.operations import publish_protocol
from tests.delivery.fakes import FakeProvider
from tests.helpers import DEMO_PROTOCOL, PASSWORD, PHONE, ROOT, T0, make_test_config
from tests.simulation.helpers import HISTORY
from tests.sms.helpers import AUTH_TOKEN, Phone
from tests.surveys.helpers import DIARY_DUE


@pytest.fixture
def study(create_study):
    return create_study()


@pytest.fixture
def participant(db, study, enroll_csv):
    csv = f"label,phone,timezone,start_date\nP1,{PHONE},America/New_York,2026-03-19\n"
    return enroll_csv(study, csv).created[0]


@pytest.fixture
def provider(clock):
    return FakeProvider(clock)


@pytest.fixture
def dispatcher(clock, provider):
    dispatcher = Dispatcher(provider, name="sms-test", clock=clock, workers=2)
    yield dispatcher
    dispatcher.close()


@pytest.fixture
def send_next(db, clock, participant, dispatcher):
    """Move the clock to the participant's next SMS prompt and let the dispatcher send it."""

    def _send_next(schedule: str = "beeps") -> PlannedPrompt:
        prompt = db.session.scalar(
            sa.select(PlannedPrompt)
            .where(
                PlannedPrompt.participant_id == participant.id,
                PlannedPrompt.schedule_id == schedule,
                PlannedPrompt.status == PromptStatus.scheduled,
                PlannedPrompt.due_at > clock.now(),
            )
            .order_by(PlannedPrompt.due_at)
            .limit(1)
        )
        clock.set(prompt.due_at + timedelta(seconds=1))
        dispatcher.tick()  # earlier web prompts (the baseline) go out too
        db.session.expire_all()
        sent = db.session.get(PlannedPrompt, prompt.id)
        assert sent.status is PromptStatus.sent
        return sent

    return _send_next


@pytest.fixture
def make_user(db, clock):
    """Factory: a coordinator account, optionally on a study with a role."""
    from eas.users.models import StudyRole
    from eas.users.operations import create_user, grant

    def _make_user(email="coord@example.org", study=None, role="coordinator", admin=False):
        user = create_user(email, "Coordinator", PASSWORD, clock.now(), admin=admin)
        if study is not None:
            grant(user, study.id, StudyRole(role), clock.now(), actor="test")
        db.session.commit()
        return user

    return _make_user


# Texts from the participant's phone, through the signed webhook ------------------------------


@pytest.fixture
def twilio_config(app):
    """The app checks Twilio's signature with tests.sms.helpers.AUTH_TOKEN (then as it was)."""
    saved = {key: app.config.get(key) for key in ("EAS_TWILIO_AUTH_TOKEN", "EAS_PUBLIC_BASE_URL")}
    app.config["EAS_TWILIO_AUTH_TOKEN"] = AUTH_TOKEN
    app.config["EAS_PUBLIC_BASE_URL"] = None
    yield app.config
    app.config.update(saved)


@pytest.fixture
def phone(client, twilio_config):
    return Phone(client)


# The evening diary, sent as a web link --------------------------------------------------------


@pytest.fixture
def diary(db, clock, participant, dispatcher, provider):
    """The diary prompt, sent; returns (prompt, the path of its link)."""
    clock.set(DIARY_DUE + timedelta(seconds=1))
    dispatcher.tick()
    db.session.expire_all()
    prompt = db.session.scalar(
        sa.select(PlannedPrompt).where(
            PlannedPrompt.participant_id == participant.id,
            PlannedPrompt.schedule_id == "diary",
            PlannedPrompt.status == PromptStatus.sent,
        )
    )
    body = next(b for b in provider.bodies_for(participant.id) if b.startswith("Evening diary"))
    path = re.search(r"https?://[^/]+(/p/\S+)", body).group(1)
    return prompt, path


# A demo instance with a simulated history -----------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """A demo instance as `make run` leaves it: the study, its four demo participants (starting
    today), then its history, added twice. Returns (app, clock, first run, second run)."""
    folder = tmp_path_factory.mktemp("demo")
    app = create_app(make_test_config(f"sqlite:///{folder / 'eas.sqlite3'}", folder))
    clock = VirtualClock(T0)
    install_clock(app, clock)
    with app.app_context():
        flask_migrate.upgrade()
        study = publish_protocol(validate_protocol_file(DEMO_PROTOCOL)).study
        csv = (ROOT / "protocols" / "demo-participants.csv").read_text()
        parsed = parse_participants_csv(csv, study.current_version.definition, "US")
        import_participants(study, parsed, actor="cli", start_rule="same_day")
        _db.session.commit()
        _db.session.remove()
    runner = app.test_cli_runner()
    first, second = runner.invoke(args=HISTORY), runner.invoke(args=HISTORY)
    yield app, clock, first, second
    with app.app_context():
        _db.engine.dispose()


@pytest.fixture
def statements(db):
    """The SQL statements run while the test looks (a list it can clear)."""
    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        seen.append(statement)

    engine = db.session.get_bind().engine
    sa.event.listen(engine, "before_cursor_execute", record)
    yield seen
    sa.event.remove(engine, "before_cursor_execute", record)
