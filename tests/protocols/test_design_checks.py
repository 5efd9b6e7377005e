"""Design mistakes found before a study starts (issue 22): each an error or a warning with its
line and column."""

from __future__ import annotations

from datetime import date, time

from eas.protocols.validation import validate_protocol_text
from eas.scheduling.preview import build_preview
from tests.protocols.helpers import errors_of, protocol


def _warnings(text: str) -> list[str]:
    return [str(warning) for warning in validate_protocol_text(text, "p.yaml").warnings]


def test_days_per_week_beyond_the_allowed_weekdays_is_an_error():
    text = protocol(
        schedules="- {id: r, questionnaire: q, type: random, per_day: 2, days_per_week: 4, "
        "weekdays: [sat, sun]}"
    )
    assert errors_of(text) == [
        "p.yaml:11:72: schedules[1].days_per_week: 4 days a week, but weekdays allows only 2 "
        "(sat, sun)"
    ]


def test_an_interval_window_its_blackouts_cover_is_an_error():
    text = protocol(
        schedules="- {id: i, questionnaire: q, type: interval, every_minutes: 60, "
        "window: {start: '09:00', end: '12:00'}, blackouts: [{start: '08:00', end: '13:00'}]}"
    )
    assert errors_of(text) == [
        "p.yaml:11:117: schedules[1].blackouts: on Mondays its window minus blackouts leaves no "
        "time: no prompt would be planned"
    ]


def test_a_random_window_its_blackouts_cover_is_an_error():
    text = protocol(
        schedules="- {id: r, questionnaire: q, type: random, per_day: 1, channel: web, "
        "window: {start: '09:00', end: '12:00'}, blackouts: [{start: '08:00', end: '13:00'}]}"
    )
    (error,) = errors_of(text)
    assert "schedules[1].per_day: 1 prompts need a minute each" in error
    assert "window 09:00-12:00 minus blackouts has 0 minutes" in error


def test_a_gap_shorter_than_the_expiry_is_a_warning_with_its_place():
    text = protocol(
        schedules="- {id: r, questionnaire: q, type: random, per_day: 5, min_gap_minutes: 30, "
        "expires_after_minutes: 60}"
    )
    assert _warnings(text) == [
        "p.yaml:11:74: schedules[1].min_gap_minutes: prompts may come 30 minutes apart "
        "(min_gap_minutes), sooner than they expire (60 minutes): an open prompt is closed when "
        "the next one is sent (overlap: close_previous); set min_gap_minutes to at least 60 or "
        "shorten expires_after_minutes"
    ]
    web = text.replace("per_day: 5,", "per_day: 5, channel: web,")
    assert _warnings(web) == []
    assert _warnings(text.replace("min_gap_minutes: 30", "min_gap_minutes: 60")) == []


def test_an_interval_shorter_than_the_expiry_under_skip_new_is_a_warning():
    text = protocol(
        schedules="- {id: i, questionnaire: q, type: interval, every_minutes: 30}",
        head="study: {id: demo, title: Demo, timezone: Europe/Berlin, duration_days: 7, "
        "overlap: skip_new}\n",
    )
    (warning,) = _warnings(text)
    assert "schedules[1].every_minutes: prompts may come 30 minutes apart" in warning
    assert "the next prompt is not sent while one is open (overlap: skip_new)" in warning


def test_the_cli_prints_warnings_and_still_succeeds(runner, tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(
        protocol(schedules="- {id: i, questionnaire: q, type: interval, every_minutes: 30}")
    )
    result = runner.invoke(args=["protocol", "validate", str(path)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"warning: {path}:11:")
    assert lines[1].startswith(f"{path}: ok")


def test_random_draws_must_fit_beside_the_fixed_sms_prompts():
    """The draws keep their gap from the fixed 20:00 prompt of schedule s: the day is smaller."""
    text = protocol(
        schedules="- {id: r, questionnaire: q, type: random, per_day: 6, min_gap_minutes: 120, "
        "expires_after_minutes: 120}"
    )
    (error,) = errors_of(text)
    assert "6 prompts at least 120 minutes apart need 720 minutes" in error
    assert "has 541 minutes once kept clear of the fixed SMS prompts (780 without them)" in error
    validate_protocol_text(text.replace("per_day: 6,", "per_day: 6, channel: web,"), "p.yaml")


def test_blocks_are_checked_in_order_and_for_room():
    overlapping = protocol(
        schedules="- {id: b, questionnaire: q, type: random, channel: web, blocks: "
        "[{start: '09:00', end: '12:00'}, {start: '11:00', end: '13:00'}]}"
    )
    assert errors_of(overlapping) == [
        "p.yaml:11:108: schedules[1].blocks[1].start: overlaps the block before (it ends 12:00)"
    ]
    crowded = protocol(
        schedules="- {id: b, questionnaire: q, type: random, channel: web, min_gap_minutes: 5, "
        "blocks: [{start: wake, end: wake+10m, prompts: 3}]}"
    )
    (error,) = errors_of(crowded)
    assert error.endswith(
        "schedules[1].blocks: block 1 (wake-wake+10m): 3 prompts at least 5 minutes apart "
        "need 15 minutes, but on Mondays it has 10 minutes"
    )
    both = protocol(
        schedules="- {id: b, questionnaire: q, type: random, per_day: 2, "
        "blocks: [{start: '09:00', end: '12:00'}]}"
    )
    assert "schedules[1].per_day: does not apply with blocks" in errors_of(both)[0]
    inverted = protocol(
        schedules="- {id: b, questionnaire: q, type: random, channel: web, "
        "blocks: [{start: sleep-1h, end: wake+1h}]}"
    )
    assert "block 1 (sleep-60m-wake+60m) is empty on Mondays" in errors_of(inverted)[0]


def test_relative_times_are_checked_where_they_are_written():
    text = protocol(
        schedules="- {id: f, questionnaire: q, type: fixed, times: [wake+13h]}\n"
        "- {id: e, questionnaire: q, type: event, keyword: mood, window: {start: wake, "
        "end: '22:00'}}"
    )
    assert errors_of(text) == [
        'p.yaml:11:52: schedules[1].times[0]: "wake+13h" is more than 12 hours from wake',
        'p.yaml:12:75: schedules[2].window.start: an event window is a clock time "HH:MM" '
        "(reports have no waking day)",
    ]


def test_burden_of_a_burst_design_is_per_active_day():
    text = protocol(
        schedules="- {id: burst, questionnaire: q, type: fixed, times: ['10:00', '14:00'], "
        "days: [1, 2]}",
        head="study: {id: demo, title: Demo, timezone: Europe/Berlin, duration_days: 7}\n",
    )
    definition = validate_protocol_text(text, "p.yaml").definition
    definition["schedules"] = [s for s in definition["schedules"] if s["id"] == "burst"]
    preview = build_preview(
        definition, start=date(2026, 3, 2), zone="Europe/Berlin", wake=time(9), sleep=time(22)
    )
    summary = preview.summary()
    assert (summary["days"], summary["active_days"], summary["prompts_per_day"]) == (7, 2, 2.0)


def test_the_fit_keeps_clear_of_once_times_and_only_of_the_same_arms():
    """As the planner does: a once time takes room from the draws; a fixed time of another arm
    does not (no participant has both)."""
    once = protocol(
        schedules="- {id: base, questionnaire: q, type: once, day: 1, time: '12:00'}\n"
        "- {id: r, questionnaire: q, type: random, min_gap_minutes: 30, "
        "blocks: [{start: '11:30', end: '12:30'}]}"
    )
    (error,) = errors_of(once)
    assert "schedules[2].blocks: block 1 (11:30-12:30)" in error and "has 1 minutes" in error
    arms = protocol(
        schedules="- {id: fa, questionnaire: q, type: fixed, times: ['12:00'], arms: [a]}\n"
        "- {id: rb, questionnaire: q, type: random, per_day: 1, min_gap_minutes: 60, "
        "window: {start: '11:00', end: '13:00'}, arms: [b]}",
        head="study: {id: demo, title: Demo, timezone: Europe/Berlin, duration_days: 7, "
        "arms: {names: [a, b]}}\n",
    ).replace("times: ['20:00']}", "times: ['20:00'], channel: web}")
    validate_protocol_text(arms, "p.yaml")
    same_arm = arms.replace("arms: [b]}", "arms: [a]}")
    assert "has 1 minutes once kept clear" in errors_of(same_arm)[0]


def test_a_once_time_can_be_relative_to_waking():
    text = protocol(schedules="- {id: intake, questionnaire: q, type: once, day: 1, time: wake+2h}")
    once = validate_protocol_text(text, "p.yaml").definition["schedules"][1]
    assert once["time"] == "wake+120m"
