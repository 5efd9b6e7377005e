"""When a participant may start a report of an event schedule: study days (`days`, bursts),
`weekdays`, a local `window` (one across midnight belongs to the day it opens on) and
`max_per_day`, in the participant's own zone, on the days the clocks change too. Pure: no
database (the simulator asks the same question)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from eas.scheduling import events
from tests.scheduling.helpers import MONDAY, NY, definition

BURSTS = [*range(1, 8), *range(29, 36)]
NIGHTS = {"start": "20:00", "end": "02:00"}
AUCKLAND = "Pacific/Auckland"
LOS_ANGELES = "America/Los_Angeles"


def event(duration: int = 35, **fields) -> tuple[dict, dict]:
    """A protocol with one event schedule, and that schedule."""
    protocol = definition({"type": "event", "keyword": "NIGHT", **fields}, days=duration)
    return protocol, protocol["schedules"][0]


def at(study_day: int, clock: str, zone: str = NY, start: date = MONDAY) -> datetime:
    """The instant of a local wall-clock time on a study day (the first one, if repeated)."""
    local = datetime.combine(
        start + timedelta(days=study_day - 1), datetime.strptime(clock, "%H:%M").time()
    )
    return local.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


def refusal(protocol, schedule, now, zone=NY, start=MONDAY, reports=0):
    return events.report_refusal(schedule, protocol, now, zone, start, reports_that_day=reports)


# Study days and weekdays ----------------------------------------------------------------------


def test_burst_days_refuse_between_the_bursts_and_accept_in_them():
    protocol, schedule = event(days=BURSTS)
    assert refusal(protocol, schedule, at(10, "12:00")) == (
        "Thanks! Reports can be sent on study days 1-7 and 29-35 only."
    )
    assert refusal(protocol, schedule, at(30, "12:00")) is None
    assert refusal(protocol, schedule, at(7, "23:59")) is None
    assert refusal(protocol, schedule, at(8, "00:00")) is not None
    assert events.report_refusal(schedule, protocol, at(30, "12:00"), NY, MONDAY) is None
    assert events.report_refusal(schedule, protocol, at(10, "12:00"), NY, MONDAY) is not None


def test_outside_the_study_the_old_text():
    protocol, schedule = event(days=BURSTS)
    assert refusal(protocol, schedule, at(0, "12:00")) == events.OUTSIDE_STUDY
    assert refusal(protocol, schedule, at(36, "12:00")) == events.OUTSIDE_STUDY
    plain, every_day = event()
    assert refusal(plain, every_day, at(36, "12:00")) == events.OUTSIDE_STUDY
    assert refusal(plain, every_day, at(35, "23:59")) is None


def test_weekdays_are_the_participants_local_weekdays():
    protocol, schedule = event(weekdays=["sat", "sun"])
    # Study day 6 is Saturday 7 March in New York.
    assert refusal(protocol, schedule, at(6, "09:00")) is None
    assert refusal(protocol, schedule, at(5, "23:00")) == (
        "Thanks! Reports can be sent on Saturdays and Sundays only."
    )
    # 23:30 on Friday in Los Angeles is already Saturday in New York and in UTC: the
    # participant's own Friday counts.
    friday_night = at(5, "23:30", LOS_ANGELES)
    assert refusal(protocol, schedule, friday_night, LOS_ANGELES) is not None
    assert refusal(protocol, schedule, friday_night, NY) is None


@pytest.mark.parametrize(
    ("weekdays", "said"),
    [
        (["mon", "tue", "wed", "thu", "fri"], "on Mondays to Fridays only"),
        (["fri", "mon", "wed"], "on Mondays, Wednesdays and Fridays only"),
        (["mon", "tue", "wed", "fri"], "on Mondays to Wednesdays and Fridays only"),
        (["sun"], "on Sundays only"),
    ],
)
def test_weekdays_are_named_compactly(weekdays, said):
    protocol, schedule = event(weekdays=weekdays)
    sunday_or_monday = at(8, "12:00") if "sun" in weekdays else at(7, "12:00")
    assert refusal(protocol, schedule, sunday_or_monday) == f"Thanks! Reports can be sent {said}."


@pytest.mark.parametrize(
    ("days", "said"),
    [
        ([4], "on study day 4 only"),
        ([1, 2], "on study days 1-2 only"),
        ([1, 3, 5], "on study days 1, 3 and 5 only"),
        ([5, 3, 1, 2, 8, 9, 10, 3], "on study days 1-3, 5 and 8-10 only"),
    ],
)
def test_days_are_named_as_ranges(days, said):
    protocol, schedule = event(days=days)
    assert refusal(protocol, schedule, at(20, "12:00")) == f"Thanks! Reports can be sent {said}."


def test_days_and_weekdays_together_are_both_said():
    protocol, schedule = event(days=BURSTS, weekdays=["mon", "tue", "wed", "thu", "fri"])
    assert refusal(protocol, schedule, at(29, "12:00")) is None  # Monday 30 March
    assert refusal(protocol, schedule, at(34, "12:00")) == (  # Saturday 4 April
        "Thanks! Reports can be sent on study days 1-7 and 29-35, Mondays to Fridays only."
    )


# A window, across midnight -------------------------------------------------------------------


def test_a_window_across_midnight_belongs_to_the_day_it_opened_on():
    protocol, schedule = event(window=NIGHTS)
    assert refusal(protocol, schedule, at(4, "21:00")) is None
    assert refusal(protocol, schedule, at(5, "01:30")) is None
    assert refusal(protocol, schedule, at(5, "15:00")) == (
        "Thanks! Reports can be sent between 20:00 and 02:00."
    )
    assert refusal(protocol, schedule, at(5, "02:00")) is not None
    assert refusal(protocol, schedule, at(5, "19:59")) is not None
    assert refusal(protocol, schedule, at(5, "20:00")) is None
    assert events.report_day(schedule, at(5, "01:30"), NY, MONDAY) == events.ReportDay(
        MONDAY + timedelta(days=3), 4
    )
    assert events.report_day(schedule, at(4, "21:00"), NY, MONDAY) == events.ReportDay(
        MONDAY + timedelta(days=3), 4
    )
    assert events.report_day(schedule, at(5, "15:00"), NY, MONDAY).study_day == 5


def test_a_window_within_the_day():
    protocol, schedule = event(window={"start": "09:00", "end": "17:00"})
    assert refusal(protocol, schedule, at(3, "09:00")) is None
    assert refusal(protocol, schedule, at(3, "16:59")) is None
    assert refusal(protocol, schedule, at(3, "17:00")) == (
        "Thanks! Reports can be sent between 09:00 and 17:00."
    )
    assert events.report_day(schedule, at(3, "01:00"), NY, MONDAY).study_day == 3


def test_a_burst_window_after_midnight_counts_on_the_burst_day():
    protocol, schedule = event(days=BURSTS, window=NIGHTS)
    assert refusal(protocol, schedule, at(8, "01:30")) is None  # day 7's night
    assert refusal(protocol, schedule, at(36, "01:30")) is None  # the last day's night
    assert refusal(protocol, schedule, at(1, "01:30")) == events.OUTSIDE_STUDY  # day 0's
    # Day 28's night is not a burst night, even after midnight on day 29.
    said = "Thanks! Reports can be sent between 20:00 and 02:00 on study days 1-7 and 29-35 only."
    assert refusal(protocol, schedule, at(29, "01:30")) == said
    assert refusal(protocol, schedule, at(28, "21:00")) == said
    assert refusal(protocol, schedule, at(10, "15:00")) == said
    # On a burst day before the window opens, only the window is said: tonight will do.
    assert refusal(protocol, schedule, at(30, "15:00")) == (
        "Thanks! Reports can be sent between 20:00 and 02:00."
    )


def test_weekdays_of_a_night_are_those_it_opened_on():
    protocol, schedule = event(weekdays=["fri", "sat"], window=NIGHTS)
    assert refusal(protocol, schedule, at(7, "01:00")) is None  # Sunday 01:00: Saturday's night
    assert refusal(protocol, schedule, at(7, "21:00")) is not None  # Sunday night
    assert refusal(protocol, schedule, at(5, "01:00")) is not None  # Friday 01:00: Thursday's


# The daily cap -------------------------------------------------------------------------------


def test_the_cap_counts_the_reports_of_the_window_day():
    protocol, schedule = event(window=NIGHTS, max_per_day=2)
    after_midnight = at(5, "01:00")
    assert refusal(protocol, schedule, after_midnight, reports=1) is None
    assert refusal(protocol, schedule, after_midnight, reports=2) == events.CAPPED.format(cap=2)
    assert (
        events.report_refusal(schedule, protocol, after_midnight, NY, MONDAY, reports_that_day=2)
        is not None
    )
    # Rules about the day come first: between the bursts, the cap is not the reason.
    protocol, schedule = event(days=BURSTS, max_per_day=1)
    assert refusal(protocol, schedule, at(10, "12:00"), reports=5) != events.CAPPED.format(cap=1)


# Zones far from UTC, and clock changes -------------------------------------------------------


def test_auckland_and_los_angeles_use_their_own_evening():
    protocol, schedule = event(window=NIGHTS, days=[1, 2, 3])
    start = date(2026, 6, 1)  # Auckland is UTC+12 in June; Los Angeles UTC-7
    nine_pm_auckland = at(2, "21:00", AUCKLAND, start)
    assert nine_pm_auckland == datetime(2026, 6, 2, 9, 0, tzinfo=UTC)
    assert refusal(protocol, schedule, nine_pm_auckland, AUCKLAND, start) is None
    # The same instant is 02:00 on 2 June in Los Angeles: day 1's night has just closed.
    assert refusal(protocol, schedule, nine_pm_auckland, LOS_ANGELES, start) is not None
    # 01:30 on day 4 in Auckland (13:30 UTC on day 3) is day 3's night: allowed.
    late = at(4, "01:30", AUCKLAND, start)
    assert refusal(protocol, schedule, late, AUCKLAND, start) is None
    assert events.report_day(schedule, late, AUCKLAND, start).study_day == 3
    la_late = at(4, "01:30", LOS_ANGELES, start)
    assert events.report_day(schedule, la_late, LOS_ANGELES, start) == events.ReportDay(
        date(2026, 6, 3), 3
    )


def test_spring_forward_night():
    # New York: on Sunday 8 March 2026 (study day 7) the clocks jump from 02:00 to 03:00.
    protocol, schedule = event(window={"start": "22:00", "end": "03:00"})
    assert refusal(protocol, schedule, datetime(2026, 3, 8, 6, 59, tzinfo=UTC)) is None  # 01:59
    assert (
        events.report_day(schedule, datetime(2026, 3, 8, 6, 59, tzinfo=UTC), NY, MONDAY).study_day
        == 6
    )
    # 07:00 UTC is 03:00 EDT: the window has closed (it lasted four real hours).
    assert refusal(protocol, schedule, datetime(2026, 3, 8, 7, 0, tzinfo=UTC)) is not None


def test_fall_back_night():
    # New York: on Sunday 1 November 2026 the clocks go back from 02:00 to 01:00.
    start = date(2026, 10, 26)  # day 6 is Saturday 31 October
    protocol, schedule = event(window=NIGHTS)
    first_one_thirty = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT
    second_one_thirty = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)  # 01:30 EST
    for moment in (first_one_thirty, second_one_thirty):
        assert refusal(protocol, schedule, moment, NY, start) is None
        assert events.report_day(schedule, moment, NY, start).study_day == 6
    assert refusal(protocol, schedule, datetime(2026, 11, 1, 7, 0, tzinfo=UTC), NY, start)


def test_auckland_clock_change():
    # Auckland: on Sunday 5 April 2026 the clocks go back from 03:00 to 02:00 (NZDT to NZST).
    start = date(2026, 4, 1)  # day 4 is Saturday 4 April
    protocol, schedule = event(window={"start": "21:00", "end": "03:00"})
    # 02:30 NZST on 5 April (the second 02:30) is 14:30 UTC: still Saturday's night.
    moment = datetime(2026, 4, 4, 14, 30, tzinfo=UTC)
    assert refusal(protocol, schedule, moment, AUCKLAND, start) is None
    assert events.report_day(schedule, moment, AUCKLAND, start).study_day == 4
    assert refusal(protocol, schedule, datetime(2026, 4, 4, 15, 0, tzinfo=UTC), AUCKLAND, start)


# When the next report is possible ------------------------------------------------------------


def test_the_next_chance():
    protocol, schedule = event(days=BURSTS, window=NIGHTS)
    # Day 30, 15:00: tonight at 20:00.
    assert events.next_report_at(schedule, protocol, at(30, "15:00"), NY, MONDAY) == at(30, "20:00")
    # Day 10: day 29's night.
    assert events.next_report_at(schedule, protocol, at(10, "15:00"), NY, MONDAY) == at(29, "20:00")
    # Inside the window: now.
    assert events.next_report_at(schedule, protocol, at(5, "01:00"), NY, MONDAY) == at(5, "01:00")
    # Capped on day 4's night: day 5's night.
    capped = events.next_report_at(
        schedule, protocol, at(5, "01:00"), NY, MONDAY, after_day=MONDAY + timedelta(days=3)
    )
    assert capped == at(5, "20:00")
    # After the last night: never.
    assert events.next_report_at(schedule, protocol, at(36, "03:00"), NY, MONDAY) is None


def test_the_next_chance_without_a_window_is_the_days_midnight():
    protocol, schedule = event(days=BURSTS)
    assert events.next_report_at(schedule, protocol, at(10, "15:00"), NY, MONDAY) == at(29, "00:00")
    before = at(0, "12:00")
    assert events.next_report_at(schedule, protocol, before, NY, MONDAY) == at(1, "00:00")
