"""Issue 25, rough edges, in a real browser (headless Chromium at a 390 px wide phone): a 0-10
scale's eleven points share one row, each at least 24 px, its end labels shown once under it;
the page passes axe. Needs what tests/surveys/test_browser.py needs (see tests/browsers.py)."""

from __future__ import annotations

import pytest

from eas.core.db import db
from tests import browsers
from tests.browsers import PHONE, check_page, chromium, expect_visible
from tests.helpers import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = ROOT / "artifacts" / "surveys"
CSV = "label,phone,timezone,start_date\nP1,+12025550101,America/New_York,2026-03-19\n"


@pytest.fixture(scope="module")
def diary_link(tmp_path_factory):
    """The evening diary's link for P1, from an app served on loopback."""
    app, clock, provider = browsers.demo_site(tmp_path_factory.mktemp("rough-edges"), CSV)
    browsers.send_the_diary(app, clock, provider)
    with browsers.serving(app) as base:
        yield browsers.diary_links(provider, base)["P1"]
    with app.app_context():
        db.engine.dispose()


def test_a_0_to_10_scale_fits_one_row_of_a_390px_phone(diary_link):
    with chromium() as browser:
        context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
        page = context.new_page()
        page.goto(diary_link)
        page.get_by_label("About how many minutes").fill("30")
        page.get_by_role("button", name="Next").click()
        expect_visible(page.get_by_text("Page 2 of 3"))
        scale = page.locator("#q-day_ai_replaced")
        points = [label.bounding_box() for label in scale.locator("label.point").all()]
        assert len(points) == 11
        assert len({round(box["y"]) for box in points}) == 1, points  # one row
        assert min(box["width"] for box in points) >= 24
        assert min(box["height"] for box in points) >= 24
        # Nothing sticks out sideways.
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        # The end labels, once each, under the row's ends; the point itself says it to a
        # screen reader.
        anchors = scale.locator(".anchors li")
        assert anchors.all_inner_texts() == ["0 = not at all", "10 = completely"]
        first, last = anchors.first.bounding_box(), anchors.last.bounding_box()
        assert first["x"] <= points[0]["x"] + 1
        assert last["x"] + last["width"] >= points[-1]["x"] + points[-1]["width"] - 1
        assert scale.get_by_role("radio", name="0 (not at all)").count() == 1
        assert "not at all" not in " ".join(scale.locator("legend, .hint").all_inner_texts())
        # A tap on the number's box chooses it.
        scale.locator("label.point").nth(7).tap()
        assert scale.get_by_role("radio", name="7", exact=True).is_checked()
        check_page(page, ARTIFACTS, "rough-edges-scale-390px")
        context.close()
