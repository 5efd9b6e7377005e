"""A coordinator runs a study from the browser alone, in headless Chromium: signs in, creates
the study from a protocol with an error (seen beside its line, then fixed), imports
participants from a CSV (a bad file first), opens the heatmap, a participant, today's page
and the audit log, and downloads the export. axe-core checks every page; screenshots go to
artifacts/dashboard/."""

from __future__ import annotations

import zipfile

import flask_migrate
import pytest

from eas.core.db import db
from eas.sms.inbound import receive
from eas.users.operations import create_user
from tests import browsers
from tests.browsers import DESKTOP, check_page, chromium, expect_visible, require_browser
from tests.delivery.fakes import FakeProvider
from tests.helpers import DEMO_PROTOCOL, PASSWORD, ROOT

pytestmark = [pytest.mark.browser, pytest.mark.slow]  # Chromium, and a served app

ARTIFACTS = ROOT / "artifacts" / "dashboard"
DEMO = DEMO_PROTOCOL.read_text()
BROKEN = DEMO.replace("  duration_days: 14\n", "  duration_days: fourteen\n")
GOOD_CSV = (
    "label,phone,timezone,start_date\n"
    "P1,+12025550101,America/New_York,2026-03-19\n"
    "P2,+13125550102,America/Chicago,2026-03-19\n"
)
BAD_CSV = GOOD_CSV + "P3,12,Mars/Base,2026-03-19\n"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    require_browser()
    app, clock = browsers.app_on_a_virtual_clock(tmp_path_factory.mktemp("dashboard"))
    with app.app_context():
        flask_migrate.upgrade()
        create_user("coord@example.org", "Coordinator", PASSWORD, clock.now(), admin=True)
        create_user("analyst@example.org", "Analyst", PASSWORD, clock.now())
        db.session.commit()
        db.session.remove()
    with browsers.serving(app) as base:
        yield {"app": app, "clock": clock, "base": base}


def test_a_coordinator_runs_the_study_from_the_browser(site):
    with chromium() as browser:
        page = browser.new_page(viewport=DESKTOP, accept_downloads=True)
        browsers.sign_in(page, site["base"] + "/")
        expect_visible(page.get_by_role("heading", name="Studies"))
        check_page(page, ARTIFACTS, "1-no-studies")

        page.get_by_role("link", name="Set up a new study").click()
        page.get_by_label("or paste or edit it here").fill(BROKEN)
        page.get_by_role("button", name="Check").click()
        alert = page.get_by_role("alert")
        assert "nothing was saved" in alert.inner_text()
        assert "(study.duration_days)" in alert.inner_text()
        assert page.get_by_role("button", name="Create the study").count() == 0
        check_page(page, ARTIFACTS, "2-protocol-error")

        page.get_by_label("or paste or edit it here").fill(DEMO)
        page.get_by_role("button", name="Check").click()
        expect_visible(page.get_by_text("prompts a day"))
        check_page(page, ARTIFACTS, "3-protocol-valid")
        page.get_by_role("button", name="Create the study").click()
        expect_visible(page.get_by_role("heading", name="AI conversations, connection"))
        created = page.get_by_role("status").inner_text()
        assert "created from the text pasted in the browser" in created

        page.get_by_role("navigation", name="Study").get_by_role(
            "link", name="Participants"
        ).click()
        files = page.get_by_label("CSV file (UTF-8)")
        files.set_input_files(
            {"name": "wave1.csv", "mimeType": "text/csv", "buffer": BAD_CSV.encode()}
        )
        page.get_by_role("button", name="Import").click()
        assert "nobody was enrolled" in page.get_by_role("alert").inner_text()
        check_page(page, ARTIFACTS, "4-import-errors")
        files = page.get_by_label("CSV file (UTF-8)")
        files.set_input_files(
            {"name": "wave1.csv", "mimeType": "text/csv", "buffer": GOOD_CSV.encode()}
        )
        page.get_by_role("button", name="Import").click()
        assert "enrolled 2 participant(s)" in page.get_by_role("status").inner_text()
        check_page(page, ARTIFACTS, "5-participants")

        # The dispatcher sends day 1's prompts; P1 answers the first check-in by SMS.
        app, clock = site["app"], site["clock"]
        browsers.first_day_passes(app, clock, FakeProvider(clock), "SMbrowser1")
        page.get_by_role("link", name="P1").click()
        expect_visible(page.get_by_role("heading", name="Text messages"))
        check_page(page, ARTIFACTS, "6-participant")

        page.get_by_role("link", name="Today").click()
        check_page(page, ARTIFACTS, "7-today")
        page.get_by_role("link", name="Team").click()
        adding = page.locator("form", has=page.get_by_role("button", name="Add to the team"))
        adding.get_by_label("Address they sign in with").fill("analyst@example.org")
        adding.get_by_label("Role", exact=True).select_option("viewer")
        page.get_by_role("button", name="Add to the team").click()
        expect_visible(page.get_by_text("analyst@example.org is now viewer of this study."))
        check_page(page, ARTIFACTS, "7b-team")
        page.get_by_role("link", name="Audit log").click()
        expect_visible(page.get_by_text("participants.imported"))
        check_page(page, ARTIFACTS, "8-audit")

        page.get_by_role("link", name="Overview").click()
        heatmap = page.get_by_role("img", name="Share of due prompts completed")
        expect_visible(heatmap)
        assert "P1, day 1: 1 of" in page.content()
        check_page(page, ARTIFACTS, "9-heatmap")
        with page.expect_download() as download:
            page.get_by_role("button", name="Download the data package (zip)").click()
        names = zipfile.ZipFile(download.value.path()).namelist()
        assert "ai-connection/datapackage.json" in names
        assert "ai-connection/responses.csv" in names


def test_a_crisis_text_an_alert_worked_and_a_pause_in_the_browser(site):
    """Runs after the study above exists. P1 texts words of crisis after their check-in: the
    crisis reply comes first; the coordinator sees the alert on Today, acknowledges it on the
    Overview with what was done, and finds it in the history; then pauses P2 until a date,
    which the participant page and the list show in P2's own time."""
    app, clock = site["app"], site["clock"]
    with app.app_context():
        crisis = {"MessageSid": "SMbrowser2", "From": "+12025550101",
                  "Body": "some days I just want to die honestly"}  # fmt: skip
        replies = receive(crisis, clock.now()).replies
        db.session.commit()
        db.session.remove()
    assert "988" in replies[0] and not any("thank you" in r.lower() for r in replies)
    with chromium() as browser:
        page = browser.new_page(viewport=DESKTOP)
        browsers.sign_in(page, site["base"] + "/login")
        page.goto(site["base"] + "/studies/ai-connection/today")
        expect_visible(page.get_by_text("Alert 1", exact=False).first)
        page.get_by_role("navigation", name="Study").get_by_role("link", name="Overview").click()
        page.get_by_label("What was done").fill("called P1: safe, with a friend tonight")
        page.get_by_role("button", name="Acknowledge alert 1").click()
        history = page.locator(
            "section", has=page.get_by_role("heading", name="Acknowledged safety alerts")
        )
        expect_visible(history.get_by_text("called P1: safe, with a friend tonight"))
        check_page(page, ARTIFACTS, "10-alert-history")

        page.goto(site["base"] + "/studies/ai-connection/participants/P2")
        page.get_by_label("Pause until (their local time; empty: until resumed)").fill(
            "2026-03-21T14:00"
        )
        page.get_by_role("button", name="Pause").click()
        expect_visible(page.get_by_text("Paused until Sat 21 Mar 2026 14:00 CDT").first)
        check_page(page, ARTIFACTS, "11-paused-until")
        page.goto(site["base"] + "/studies/ai-connection/participants")
        expect_visible(page.get_by_text("paused until Sat 21 Mar 2026 14:00 CDT"))
