"""Participant-initiated reports limited to burst days and an evening window across midnight,
capped per (window) day: by SMS keyword and on the participant's own page."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from html import unescape
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from eas.scheduling import events
from eas.scheduling.models import PlannedPrompt
from eas.surveys.links import personal_link
from tests.helpers import PHONE
from tests.surveys.helpers import csrf_of

PROTOCOL = """
study:
  id: nights
  title: Night reports
  timezone: America/New_York
  duration_days: 35
questionnaires:
  - id: night
    title: Night report
    thanks: "Thanks, noted."
    items:
      - {id: mood, type: scale, min: 0, max: 10, text: "How do you feel right now?"}
schedules:
  - id: night_report
    questionnaire: night
    type: event
    keyword: NIGHT
    max_per_day: 2
    expires_after_minutes: 30
    window: {start: "20:00", end: "02:00"}
    days: [1, 2, 3, 4, 5, 6, 7, 29, 30, 31, 32, 33, 34, 35]
"""
NY = "America/New_York"
#: Study day 1 (a Thursday).
START = date(2026, 3, 19)
WINDOW = "Thanks! Reports can be sent between 20:00 and 02:00."
BURSTS = "Thanks! Reports can be sent between 20:00 and 02:00 on study days 1-7 and 29-35 only."


def at(study_day: int, clock: str) -> datetime:
    local = datetime.combine(
        START + timedelta(days=study_day - 1), datetime.strptime(clock, "%H:%M").time()
    )
    return local.replace(tzinfo=ZoneInfo(NY)).astimezone(UTC)


@pytest.fixture
def nightly(db, create_study, enroll_csv):
    study = create_study(PROTOCOL)
    csv = f"label,phone,timezone,start_date\nP1,{PHONE},{NY},{START}\n"
    return enroll_csv(study, csv).created[0]


def _reports(db, participant) -> list[PlannedPrompt]:
    db.session.expire_all()
    return db.session.scalars(
        sa.select(PlannedPrompt)
        .where(
            PlannedPrompt.participant_id == participant.id,
            PlannedPrompt.schedule_id == "night_report",
        )
        .order_by(PlannedPrompt.id)
    ).all()


def _report_by_text(phone, clock, moment: datetime) -> None:
    clock.set(moment)
    started = phone.text("NIGHT")
    assert started[0].endswith("How do you feel right now? Reply 0-10"), started
    assert phone.text("6") == ["Thanks, noted."]


# By SMS ---------------------------------------------------------------------------------------


def test_the_keyword_outside_the_window_gets_the_hours(db, clock, phone, nightly):
    clock.set(at(1, "15:00"))
    assert phone.text("NIGHT") == [WINDOW]
    assert _reports(db, nightly) == []


def test_the_keyword_between_bursts_is_refused_and_in_a_burst_accepted(db, clock, phone, nightly):
    clock.set(at(10, "21:00"))
    assert phone.text("night") == [BURSTS]
    _report_by_text(phone, clock, at(30, "21:00"))
    (report,) = _reports(db, nightly)
    assert (report.study_day, report.local_date) == (30, START + timedelta(days=29))


def test_after_midnight_a_report_counts_on_the_night_it_opened(db, clock, phone, nightly):
    _report_by_text(phone, clock, at(1, "21:00"))
    _report_by_text(phone, clock, at(2, "01:30"))
    first, second = _reports(db, nightly)
    assert (first.study_day, first.local_date) == (1, START)
    assert (second.study_day, second.local_date) == (1, START)
    assert second.occurrence == f"{START.isoformat()}#2"


def test_the_daily_cap_spans_midnight(db, clock, phone, nightly):
    _report_by_text(phone, clock, at(1, "21:00"))
    _report_by_text(phone, clock, at(1, "23:00"))
    clock.set(at(2, "01:00"))
    assert phone.text("NIGHT") == [events.CAPPED.format(cap=2)]
    _report_by_text(phone, clock, at(2, "20:30"))  # the next night: a new count
    assert [r.study_day for r in _reports(db, nightly)] == [1, 1, 2]


# On the participant's own page ----------------------------------------------------------------


def _page(db, client, clock, participant) -> tuple[str, str]:
    url = personal_link(participant, clock.now())
    db.session.commit()
    token = url.rsplit("/", 1)[1]
    return token, unescape(client.get(f"/me/{token}").get_data(as_text=True))


def _button(html: str) -> str | None:
    found = re.search(r'action="([^"]+/reports/night_report)"', html)
    return found.group(1) if found else None


def test_the_page_hides_the_button_outside_the_window_and_says_when(db, clock, client, nightly):
    clock.set(at(1, "15:00"))
    _, html = _page(db, client, clock, nightly)
    assert _button(html) is None
    assert "Night report" in html
    assert "You can send this report from 20:00 today." in html
    assert "Or text NIGHT" not in html


def test_the_page_shows_the_button_inside_the_window(db, clock, client, nightly):
    clock.set(at(2, "01:30"))
    _, html = _page(db, client, clock, nightly)
    action = _button(html)
    assert action is not None
    assert "Or text NIGHT to the study" in html
    started = client.post(action, data={"csrf_token": csrf_of(html)})
    assert started.status_code == 303 and "/p/" in started.location
    (report,) = _reports(db, nightly)
    assert report.channel.value == "web" and report.study_day == 1


def test_between_the_bursts_the_page_names_the_next_burst(db, clock, client, nightly):
    clock.set(at(10, "21:00"))
    _, html = _page(db, client, clock, nightly)
    assert _button(html) is None
    # Day 29 is Thursday 16 April.
    assert "You can send this report from 20:00 on Thursday 16 April." in html


def test_a_capped_night_says_tomorrow(db, clock, client, phone, nightly):
    _report_by_text(phone, clock, at(3, "20:10"))
    _report_by_text(phone, clock, at(3, "21:10"))
    clock.set(at(3, "23:00"))
    _, html = _page(db, client, clock, nightly)
    assert _button(html) is None
    assert "Thank you for today's 2 reports! You can send more from 20:00 tomorrow." in html


def test_after_the_last_night_the_page_says_so(db, clock, client, nightly):
    clock.set(at(36, "12:00"))
    _, html = _page(db, client, clock, nightly)
    assert _button(html) is None
    assert "The days for this report are over." in html


def test_a_stale_page_is_still_refused_with_the_hours(db, clock, client, nightly):
    clock.set(at(1, "21:00"))
    token, html = _page(db, client, clock, nightly)
    action = _button(html)
    clock.set(at(2, "03:00"))  # the page stayed open past the window
    refused = client.post(action, data={"csrf_token": csrf_of(html)})
    assert refused.status_code == 303 and refused.location.endswith(f"/me/{token}")
    page = client.get(refused.location).get_data(as_text=True)
    assert WINDOW in page
    assert _button(page) is None
    assert _reports(db, nightly) == []
