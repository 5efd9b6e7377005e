"""Issue 25, rough edges of the dashboard in headless Chromium at 1280 px: the header says who
is signed in with Sign out on one line, dates stay on one line in the 920 px column, the
heatmap's cells are big enough to point at and its rows open the participant, and the phone
simulator's links can be followed. axe checks each page; screenshots go to
artifacts/dashboard/."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from eas.core.db import db
from eas.delivery.models import SimulatedMessage
from eas.participants.models import Participant
from tests import browsers
from tests.browsers import DESKTOP, check_page, chromium, expect_visible
from tests.helpers import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = ROOT / "artifacts" / "dashboard"
CSV = (
    "label,phone,timezone,start_date\n"
    "P1,+12025550101,America/New_York,2026-03-19\n"
    "P2,+13125550102,America/Chicago,2026-03-19\n"
)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The demo study with two participants after their first day (P1 answered a check-in)."""
    folder = tmp_path_factory.mktemp("rough-edges-dashboard")
    app, clock, provider = browsers.demo_site(folder, CSV, owner="Casey Coordinator")
    browsers.first_day_passes(app, clock, provider, "SMrough1")
    with app.app_context():
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
    with browsers.serving(app) as base:
        yield {"base": base}
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
        browsers.sign_in(page, site["base"] + "/studies/ai-connection")
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
