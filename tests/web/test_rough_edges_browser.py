"""Issue 25, rough edges of the dashboard in headless Chromium at 1280 px: the header says who
is signed in with Sign out on one line, dates stay on one line in the 920 px column, the
heatmap's cells are big enough to point at and its rows open the participant, and the phone
simulator's links can be followed. axe checks each page; screenshots go to
artifacts/dashboard/."""

from __future__ import annotations

import threading
from datetime import timedelta

import flask_migrate
import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from eas import create_app
from eas.core.clock import VirtualClock, install_clock
from eas.core.db import db
from eas.delivery.dispatcher import Dispatcher
from eas.delivery.models import SimulatedMessage
from eas.participants.csv_import import parse_participants_csv
from eas.participants.models import Participant
from eas.participants.operations import import_participants
from eas.protocols.validation import validate_protocol_file
from eas.scheduling.models import PlannedPrompt
from eas.sms.inbound import receive
from eas.studies.operations import publish_protocol
from eas.users.models import StudyRole
from eas.users.operations import create_user, grant
from tests.browsers import check_page, chromium, expect_visible, require_browser
from tests.delivery.fakes import FakeProvider
from tests.helpers import DEMO_PROTOCOL, PASSWORD, ROOT, T0, make_test_config

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = ROOT / "artifacts" / "dashboard"
DESKTOP = {"width": 1280, "height": 900}
CSV = (
    "label,phone,timezone,start_date\n"
    "P1,+12025550101,America/New_York,2026-03-19\n"
    "P2,+13125550102,America/Chicago,2026-03-19\n"
)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The demo study with two participants after their first day (P1 answered a check-in)."""
    require_browser()
    tmp = tmp_path_factory.mktemp("rough-edges-dashboard")
    app = create_app(make_test_config(f"sqlite:///{tmp / 'eas.sqlite3'}", tmp))
    clock = VirtualClock(T0)
    install_clock(app, clock)
    provider = FakeProvider(clock)
    with app.app_context():
        flask_migrate.upgrade()
        study = publish_protocol(validate_protocol_file(DEMO_PROTOCOL), actor="test").study
        parsed = parse_participants_csv(CSV, study.current_version.definition, "US")
        import_participants(study, parsed, actor="test")
        user = create_user("coord@example.org", "Casey Coordinator", PASSWORD, clock.now())
        grant(user, study.id, StudyRole.owner, clock.now(), actor="test")
        db.session.commit()
        dispatcher = Dispatcher(provider, name="browser", clock=clock, workers=1)
        due = db.session.execute(
            sa.select(PlannedPrompt.due_at, PlannedPrompt.schedule_id, Participant.label)
            .join(Participant, Participant.id == PlannedPrompt.participant_id)
            .where(PlannedPrompt.study_day == 1)
            .order_by(PlannedPrompt.due_at)
        ).all()
        answered = False
        for moment, schedule, label in due:
            clock.set(moment + timedelta(seconds=1))
            dispatcher.tick()
            if (schedule, label, answered) == ("beeps", "P1", False):
                reply = {"MessageSid": "SMrough1", "From": "+12025550101", "Body": "n 3 5 6 2 4"}
                receive(reply, clock.now())
                db.session.commit()
                answered = True
        dispatcher.close()
        clock.set(due[-1][0] + timedelta(hours=3))
        # What the fake provider took, on the simulated phone too: the diary's link.
        diary = next(m.message.body for m in provider.accepted if "/p/" in m.message.body)
        p1 = db.session.scalar(sa.select(Participant.id).where(Participant.label == "P1"))
        db.session.add(
            SimulatedMessage(
                idempotency_key="rough-1",
                provider_sid="SMrough-landed",
                participant_id=p1,
                body=diary,
                received_at=clock.now(),
            )
        )
        db.session.commit()
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"base": f"http://127.0.0.1:{server.server_port}"}
    server.shutdown()
    thread.join()
    with app.app_context():
        db.engine.dispose()


def _lines(locator) -> int:
    """How many lines an element's text takes (the distinct tops of its text's boxes)."""
    return locator.evaluate(
        "e => { const range = document.createRange(); range.selectNodeContents(e);"
        " return new Set([...range.getClientRects()].map(r => Math.round(r.top))).size; }"
    )


def test_the_dashboard_at_1280px(site):
    with chromium() as browser:
        page = browser.new_page(viewport=DESKTOP)
        page.goto(site["base"] + "/studies/ai-connection")
        page.get_by_label("E-mail address").fill("coord@example.org")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect_visible(page.get_by_role("heading", name="Open safety alerts"))

        # Who is signed in, beside Sign out: one row, "Sign out" on one line.
        header = page.locator("header.top")
        expect_visible(header.get_by_text("Signed in as Casey Coordinator"))
        sign_out = header.get_by_role("button", name="Sign out")
        studies = header.get_by_role("link", name="Studies")
        assert abs(sign_out.bounding_box()["y"] - studies.bounding_box()["y"]) < 12
        assert sign_out.evaluate("e => e.getClientRects().length") == 1
        assert sign_out.bounding_box()["height"] < 40  # one line of text
        assert header.bounding_box()["height"] < 60

        # The heatmap: cells to point at, rows that open the participant.
        cell = page.locator("svg[role=img] rect").first.bounding_box()
        assert cell["width"] >= 24 and cell["height"] >= 24
        check_page(page, ARTIFACTS, "rough-edges-overview")
        page.locator("svg.heatmap-rows").get_by_role("link", name="P1").click()
        expect_visible(page.get_by_role("heading", name="P1", exact=True))

        # Dates in the prompts table stay on one line in the 920 px column.
        due = page.locator("td.when").first
        expect_visible(due)
        assert page.locator("main").bounding_box()["width"] <= 960
        assert _lines(due) == 1
        check_page(page, ARTIFACTS, "rough-edges-participant")

        # The phone simulator: the diary's link can be followed.
        page.goto(site["base"] + "/simulator/")
        page.get_by_role("link", name="P1").click()
        link = page.locator(".thread a[href*='/p/']").first
        expect_visible(link)
        assert link.get_attribute("rel") == "noopener noreferrer"
        check_page(page, ARTIFACTS, "rough-edges-phone")
        page.close()
