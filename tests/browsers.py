"""A real browser for tests: Debian's Chromium driven by playwright (never a downloaded
browser), and axe-core to check each page state. `.ci/run` installs both; tests skip without
them unless EAS_REQUIRE_BROWSER=1.

Also the browser tests' shared set-up: an app on a virtual clock, the demo study with an owner,
the diary or a first day sent, the app served on loopback, and a coordinator signing in."""

from __future__ import annotations

import os
import shutil
import threading
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import flask_migrate
import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from eas import create_app
from eas.core.clock import VirtualClock, install_clock
from eas.core.db import db
from eas.delivery.dispatcher import Dispatcher
from eas.participants.csv_import import parse_participants_csv
from eas.participants.models import Participant
from eas.participants.operations import import_participants
from eas.protocols.validation import validate_protocol_file
from eas.scheduling.models import PlannedPrompt
from eas.sms.inbound import receive
from eas.studies.operations import publish_protocol
from eas.users.models import StudyRole
from eas.users.operations import create_user, grant
from tests.delivery.fakes import FakeProvider
from tests.helpers import DEMO_PROTOCOL, PASSWORD, T0, make_test_config
from tests.surveys.helpers import DIARY_DUE

ROOT = Path(__file__).resolve().parents[1]
AXE = Path(os.environ.get("EAS_TEST_AXE", ROOT / ".tools/axe/node_modules/axe-core/axe.min.js"))
CHROMIUM = os.environ.get("EAS_TEST_CHROMIUM") or shutil.which("chromium")
#: Viewports: a desktop's, and a 390 px wide phone's.
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip


def missing_requirement() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed"
    if not CHROMIUM:
        return "Debian's chromium is not installed"
    if not AXE.exists():
        return f"axe-core is not at {AXE}"
    return None


def require_browser() -> None:
    missing = missing_requirement()
    if missing:
        if os.environ.get("EAS_REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser tests required but {missing}")
        pytest.skip(missing)


@contextmanager
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def check_page(page, folder: Path, name: str) -> None:
    """Screenshot the state, and fail on serious or critical accessibility violations."""
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
    # Evaluated over the DevTools protocol: the page's CSP (no inline script) stays in force.
    page.evaluate(AXE.read_text())
    result = page.evaluate("async () => await axe.run(document)")
    serious = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == [], f"{name}: {serious}"


def expect_visible(locator) -> None:
    """Wait (up to playwright's timeout) until `locator` is visible: after a click the next page
    may still be loading, and `is_visible()` would not wait for it."""
    from playwright.sync_api import expect

    expect(locator).to_be_visible()


def sign_in(page, url: str | None = None) -> None:
    """coord@example.org signs in on `page`'s sign-in form (at `url`, if given)."""
    if url is not None:
        page.goto(url)
    page.get_by_label("E-mail address").fill("coord@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


# Set-up: an app with a study and what it has sent, served on loopback -------------------------


def app_on_a_virtual_clock(folder: Path, database_url: str | None = None):
    """An app on `database_url` (by default a SQLite file in `folder`), its clock a virtual one
    at T0: returns (app, clock)."""
    url = database_url or f"sqlite:///{folder / 'eas.sqlite3'}"
    app = create_app(make_test_config(url, folder))
    clock = VirtualClock(T0)
    install_clock(app, clock)
    return app, clock


def make_owner(study_id: int, now: datetime, name: str = "Coordinator"):
    """coord@example.org, owner of the study; not committed."""
    user = create_user("coord@example.org", name, PASSWORD, now)
    grant(user, study_id, StudyRole.owner, now, actor="test")
    return user


def demo_study(
    participants: str,
    *,
    owner: str | None = None,
    now: datetime | None = None,
    actor: str = "test",
    start_rule: str | None = None,
):
    """In an app context: the database migrated, the demo study published, the participants of
    the CSV text enrolled, and (if `owner` names them) coord@example.org its owner; committed."""
    flask_migrate.upgrade()
    study = publish_protocol(validate_protocol_file(DEMO_PROTOCOL), actor=actor).study
    parsed = parse_participants_csv(participants, study.current_version.definition, "US")
    import_participants(study, parsed, actor=actor, start_rule=start_rule)
    if owner is not None:
        make_owner(study.id, now, owner)
    db.session.commit()
    return study


def demo_site(folder: Path, participants: str, **study):
    """For a browser test (skipped without a browser): the demo study (`demo_study`, with
    `study`'s options) in an app on a virtual clock, and a fake provider on that clock. Returns
    (app, clock, provider)."""
    require_browser()
    app, clock = app_on_a_virtual_clock(folder)
    with app.app_context():
        demo_study(participants, now=clock.now(), **study)
        db.session.remove()
    return app, clock, FakeProvider(clock)


def due_prompts(*where) -> list:
    """(due at, schedule, participant's label) of the planned prompts `where` says, in order."""
    return db.session.execute(
        sa.select(PlannedPrompt.due_at, PlannedPrompt.schedule_id, Participant.label)
        .join(Participant, Participant.id == PlannedPrompt.participant_id)
        .where(*where)
        .order_by(PlannedPrompt.due_at)
    ).all()


def send_the_diary(app, clock, provider) -> None:
    """The clock passes the evening diary's time on day 1, and the dispatcher sends what is due
    to `provider`."""
    with app.app_context():
        clock.set(DIARY_DUE + timedelta(seconds=1))
        dispatcher = Dispatcher(provider, name="browser", clock=clock, workers=1)
        dispatcher.tick()
        dispatcher.close()
        db.session.remove()


def diary_links(provider, base: str) -> dict[str, str]:
    """The evening diary's links `provider` took, at `base`: {"P<participant id>": url}."""
    links = {}
    for accepted in provider.accepted:
        body = accepted.message.body
        if body.startswith("Evening diary: "):
            links[f"P{accepted.message.participant_id}"] = f"{base}/p/{body.rsplit('/p/', 1)[1]}"
    return links


def first_day_passes(app, clock, provider, sid: str) -> None:
    """The dispatcher sends day 1's prompts to `provider` as they fall due; P1 (+12025550101)
    answers the first check-in by SMS (MessageSid `sid`). The clock stops three hours after the
    last prompt."""
    with app.app_context():
        dispatcher = Dispatcher(provider, name="browser", clock=clock, workers=1)
        due = due_prompts(PlannedPrompt.study_day == 1)
        answered = False
        for moment, schedule, label in due:
            clock.set(moment + timedelta(seconds=1))
            dispatcher.tick()
            if (schedule, label, answered) == ("beeps", "P1", False):
                reply = {"MessageSid": sid, "From": "+12025550101", "Body": "n 3 5 6 2 4"}
                receive(reply, clock.now())
                db.session.commit()
                answered = True
        dispatcher.close()
        db.session.remove()
    clock.set(due[-1][0] + timedelta(hours=3))


@contextmanager
def serving(app):
    """`app` served by a threaded server on a free loopback port: yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()
