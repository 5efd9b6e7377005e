"""The evening diary in a real browser: headless Chromium at a phone's size, driven by
playwright, against the app served on loopback; axe-core checks each page state.

Needs Debian's chromium, the playwright package and axe-core (`.ci/run` installs them); skipped
without them unless EAS_REQUIRE_BROWSER=1. Screenshots of every state go to artifacts/surveys/.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from eas.core.db import db
from eas.responses.models import Response, ResponseStatus
from eas.scheduling.models import PlannedPrompt
from tests import browsers
from tests.browsers import PHONE, check_page, chromium, expect_visible
from tests.helpers import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.slow]  # Chromium, and a served app

ARTIFACTS = ROOT / "artifacts" / "surveys"
CSV = (
    "label,phone,timezone,start_date\n"
    "P1,+12025550101,America/New_York,2026-03-19\n"
    "P2,+12025550102,America/New_York,2026-03-19\n"
)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    folder = tmp_path_factory.mktemp("browser")
    app, clock, provider = browsers.demo_site(folder, CSV, owner="Coordinator")
    browsers.send_the_diary(app, clock, provider)
    with browsers.serving(app) as base:
        links = browsers.diary_links(provider, base)
        yield {"app": app, "clock": clock, "base": base, "links": links}


@pytest.fixture(scope="module")
def browser(site):
    with chromium() as browser:
        yield browser


def _check(page, name: str) -> None:
    check_page(page, ARTIFACTS, name)


def _stored(site, label: str) -> dict:
    with site["app"].app_context():
        response = db.session.scalar(
            sa.select(Response)
            .join(PlannedPrompt, PlannedPrompt.id == Response.prompt_id)
            .where(
                PlannedPrompt.schedule_id == "diary", PlannedPrompt.participant_id == int(label[1:])
            )
        )
        answers = (
            {
                a.item_id: (a.value_numeric, a.value_text, a.missing_code and a.missing_code.value)
                for a in response.answers
            }
            if response
            else {}
        )
        status = response.status if response else None
        db.session.remove()
    return {"status": status, "answers": answers}


def test_the_evening_diary_on_a_phone(site, browser):
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(site["links"]["P1"])
    expect_visible(page.get_by_text("Page 1 of 3"))
    _check(page, "1-first-page")

    page.get_by_label("About how many minutes").fill("abc")
    page.get_by_role("button", name="Next").click()
    expect_visible(
        page.get_by_role("alert").get_by_text("Please enter a whole number from 0 to 1440.")
    )
    _check(page, "2-error")

    page.get_by_label("About how many minutes").fill("30")
    page.get_by_role("button", name="Next").click()
    expect_visible(page.get_by_text("Page 2 of 3"))
    replaced = page.get_by_role("group", name="take the place of contact with people")
    replaced.get_by_role("radio", name="3", exact=True).check()
    page.reload()  # a dropped connection mid-page: page 2 again, nothing lost before it
    expect_visible(page.get_by_text("Page 2 of 3"))
    _check(page, "3-resumed")

    page.get_by_role("group", name="take the place of contact with people").get_by_role(
        "radio", name="3", exact=True
    ).check()
    page.get_by_role("group", name="raise what you expect").get_by_role(
        "radio", name="7", exact=True
    ).check()
    page.get_by_role("group", name="compare a real person").get_by_label("Yes").check()
    page.get_by_role("group", name="with someone in person").get_by_label("Yes").check()
    page.get_by_role("button", name="Next").click()
    expect_visible(page.get_by_text("Page 3 of 3"))
    page.get_by_role("group", name="How satisfying").get_by_role("radio", name="6").check()
    page.get_by_role("group", name="Overall today").get_by_role(
        "radio", name="2", exact=True
    ).check()
    page.get_by_label("Anything else about today").fill("Long walk with my sister.")
    _check(page, "4-last-page")
    page.get_by_role("button", name="Send").click()
    expect_visible(page.get_by_role("heading", name="Thank you"))
    _check(page, "5-thanks")

    stored = _stored(site, "P1")
    assert stored["status"] is ResponseStatus.completed
    answers = stored["answers"]
    assert answers["day_ai_minutes"][0] == 30
    assert answers["day_ai_replaced"][0] == 3 and answers["day_ai_expectations"][0] == 7
    assert answers["day_partner_compared"][1] == "yes" and answers["day_in_person"][1] == "yes"
    assert answers["day_contact_quality"][0] == 6 and answers["day_lonely"][0] == 2
    assert answers["day_note"][1] == "Long walk with my sister."

    page.goto(site["links"]["P1"])  # the link again: thanks, not the form
    expect_visible(page.get_by_text("Your answers are saved"))
    assert page.locator("form").count() == 0
    _check(page, "6-reused-link")
    context.close()


def test_another_token_never_shows_someone_elses_answers(site, browser):
    page = browser.new_page(viewport=PHONE)
    own = site["links"]["P2"]
    page.goto(own)
    expect_visible(page.get_by_text("Page 1 of 3"))
    assert page.get_by_label("About how many minutes").input_value() == ""
    forged = own[:-3] + ("aaa" if not own.endswith("aaa") else "bbb")
    response = page.goto(forged)
    assert response.status == 404
    expect_visible(page.get_by_role("heading", name="This link does not work"))
    _check(page, "7-unknown-link")
    page.close()


def test_an_expired_link(site, browser):
    clock = site["clock"]
    saved = clock.now()
    clock.set(saved + timedelta(hours=3))  # past the diary's 150-minute window
    try:
        page = browser.new_page(viewport=PHONE)
        response = page.goto(site["links"]["P2"])
        assert response.status == 410
        expect_visible(page.get_by_role("heading", name="This questionnaire has closed"))
        _check(page, "8-expired-link")
        page.close()
    finally:
        clock.set(saved)


def test_the_coordinators_study_page_after_signing_in(site, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(site["base"] + "/studies/ai-connection")
    expect_visible(page.get_by_role("heading", name="Sign in"))
    _check(page, "9-sign-in")
    browsers.sign_in(page)
    expect_visible(page.get_by_role("heading", name="Open safety alerts"))
    expect_visible(page.get_by_role("img", name="Share of due prompts completed"))
    _check(page, "10-study-page")
    page.close()
