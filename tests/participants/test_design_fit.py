"""A participant's own hours and zone are checked against every schedule at enrolment (issue
22): a long study is planned weeks ahead, so what cannot be planned must be found now, not when
the plan is extended."""

from __future__ import annotations

import pytest

from eas.participants.csv_import import CsvInvalid

HEAD = "label,phone,timezone,wake,sleep,start_date\n"


def _protocol(schedules: str, zone: str = "America/New_York", days: int = 120) -> str:
    return f"""
study: {{id: fit, title: Fit, timezone: {zone}, duration_days: {days}}}
participant_defaults: {{wake: "08:00", sleep: "23:00"}}
questionnaires:
  - id: q
    items: [{{id: mood, type: scale, min: 0, max: 10, text: "Mood?"}}]
schedules:
{schedules}
"""


def test_a_relative_interval_window_that_is_empty_for_the_participant_is_refused(
    create_study, enroll_csv
):
    study = create_study(
        _protocol(
            "  - {id: i, questionnaire: q, type: interval, every_minutes: 60, "
            "window: {start: wake+7h, end: sleep-6h}}"
        )
    )
    enroll_csv(study, HEAD + "A,+12025550101,America/New_York,08:00,22:00,2026-03-19\n")
    with pytest.raises(CsvInvalid) as info:
        enroll_csv(study, HEAD + "B,+12025550102,America/New_York,10:00,22:00,2026-03-19\n")
    (error,) = info.value.errors
    assert error.line == 2 and error.column == "sleep"
    assert "schedule 'i'" in error.message and "leaves no time" in error.message


def test_a_clock_change_night_in_the_participants_zone_is_found_at_enrolment(
    create_study, enroll_csv
):
    """The study's zone (Phoenix) has no clock change; the participant's (New York) has, and
    the 01:00-04:00 window of 3 prompts an hour apart does not fit its spring-forward night
    (day 63 of the study, past the first weeks that are planned at once)."""
    study = create_study(
        _protocol(
            "  - {id: r, questionnaire: q, type: random, per_day: 3, min_gap_minutes: 60, "
            "window: {start: '01:00', end: '04:00'}}",
            zone="America/Phoenix",
        )
    )
    with pytest.raises(CsvInvalid) as info:
        enroll_csv(study, HEAD + "A,+12025550101,America/New_York,08:00,23:00,2026-01-05\n")
    (error,) = info.value.errors
    assert "when the clocks change in America/New_York" in error.message
