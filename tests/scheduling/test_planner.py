"""The planner's rules, one example each (eas/scheduling/planner.py module docstring).

Each test names the failure mode it guards against; the numbers are those of
../shared/reference/ema.md section 1, "Failure modes the anchors shipped".
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise

import pytest

from eas.scheduling.localtime import to_utc
from eas.scheduling.planner import Group, PlannedSlot, plan_prompts
from tests.scheduling.helpers import MONDAY, NY, by_day, definition, subject, wall

RANDOM = {"type": "random", "per_day": 4, "min_gap_minutes": 60}


def test_study_day_n_is_calendar_date_start_plus_n_minus_1():
    """Failure 8 (off-by-one study day, 24 h blocks instead of calendar days): day N of a study
    started on 2 March is 2 March + N - 1, through the spring-forward Sunday (8 March)."""
    slots = plan_prompts(definition({"type": "fixed", "times": ["09:00"]}, days=10), subject())
    assert [(s.study_day, s.local_date) for s in slots] == [
        (n, MONDAY + timedelta(days=n - 1)) for n in range(1, 11)
    ]
    assert all(wall(s) == datetime.combine(s.local_date, time(9)) for s in slots)


def test_once_is_on_its_study_day_only():
    """Failure 8: a `once` prompt (baseline, exit) lands on its own study day, at its time."""
    plan = plan_prompts(definition({"type": "once", "day": 3, "time": "10:00"}), subject())
    assert [(s.occurrence, s.study_day, wall(s)) for s in plan] == [
        ("once", 3, datetime(2026, 3, 4, 10, 0))
    ]


def test_enrolment_mid_day_drops_only_earlier_prompts():
    """Failure 8 (enrolment mid-day) and 9: `not_before` drops the prompts before it and changes
    nothing else: the day's later random draws are the draws of the full plan."""
    schedules = ({"type": "fixed", "times": ["09:00", "21:30"]}, RANDOM)
    full = plan_prompts(definition(*schedules), subject())
    noon = to_utc(MONDAY, time(12), NY)
    late = plan_prompts(definition(*schedules), subject(not_before=noon))
    assert late == [s for s in full if s.due_at >= noon]
    assert len(late) < len(full)
    assert ("s0", "2026-03-02@21:30") in {(s.schedule_id, s.occurrence) for s in late}
    assert ("s0", "2026-03-02@09:00") not in {(s.schedule_id, s.occurrence) for s in late}


def test_same_seed_same_plan_other_seed_other_draws():
    """Failure 15 (re-randomisation on every pass): a seed gives the same plan every time, and
    another seed gives other draws."""
    protocol = definition(RANDOM, days=14)
    first, again = plan_prompts(protocol, subject(seed=5)), plan_prompts(protocol, subject(seed=5))
    other = plan_prompts(protocol, subject(seed=6))
    assert first == again
    assert [s.occurrence for s in first] == [s.occurrence for s in other]
    differing = sum(a.due_at != b.due_at for a, b in zip(first, other, strict=True))
    assert differing > len(first) // 2


def test_replanning_later_keeps_the_later_draws():
    """Failure 15: re-planning with a later `not_before` (a new protocol version, a restart)
    keeps every remaining draw identical."""
    protocol = definition(RANDOM, {"type": "interval", "every_minutes": 90}, days=14)
    full = plan_prompts(protocol, subject(seed=9))
    for cut in (full[7].due_at, full[30].due_at + timedelta(seconds=1)):
        assert plan_prompts(protocol, subject(seed=9, not_before=cut)) == [
            s for s in full if s.due_at >= cut
        ]


def test_random_prompts_lie_in_their_blocks_and_blocks_tile_the_window():
    """Failure 17-ish (stratified sampling gone wrong): each random prompt is due inside its own
    block [window_start_at, window_end_at), and the blocks with the minimum gaps between them
    tile the waking window exactly."""
    protocol = definition({"type": "random", "per_day": 5, "min_gap_minutes": 90}, days=14)
    plan = plan_prompts(protocol, subject(start=date(2026, 3, 1)))
    for day, slots in by_day(plan).items():
        assert len(slots) == 5
        assert all(s.window_start_at <= s.due_at < s.window_end_at for s in slots)
        assert slots[0].window_start_at == to_utc(day, time(9), NY)
        assert slots[-1].window_end_at == to_utc(day, time(22), NY)
        for before, after in pairwise(slots):
            assert after.window_start_at - before.window_end_at == timedelta(minutes=90)
            assert after.due_at - before.due_at >= timedelta(minutes=90)


def test_blackouts_by_weekday_hold_for_random_and_interval():
    """Blackouts (school hours on weekdays) are never violated by random or interval prompts,
    and do not apply on the days they do not name."""
    school = [{"start": "08:00", "end": "15:00", "weekdays": ["mon", "tue", "wed", "thu", "fri"]}]
    protocol = definition(
        {"type": "random", "per_day": 4, "min_gap_minutes": 30, "blackouts": school},
        {
            "type": "interval",
            "every_minutes": 60,
            "window": {"start": "07:00", "end": "20:00"},
            "blackouts": school,
        },
        days=28,
    )
    plan = plan_prompts(protocol, subject(wake="07:00"))
    inside = [s for s in plan if time(8) <= wall(s).time() < time(15)]
    assert inside and all(s.local_date.weekday() >= 5 for s in inside)
    weekday_interval = [
        wall(s).hour for s in plan if s.schedule_id == "s1" and s.local_date == MONDAY
    ]
    assert weekday_interval == [7, 15, 16, 17, 18, 19]
    assert Counter(s.schedule_id for s in plan) == {"s0": 4 * 28, "s1": 20 * 6 + 13 * 8}


def test_weekend_windows_are_used_on_saturday_and_sunday():
    """Weekend waking windows (Subject.weekend_wake/sleep) replace the weekday ones on Sat/Sun."""
    protocol = definition({"type": "random", "per_day": 3}, days=14)
    plan = plan_prompts(protocol, subject(weekend_wake="11:00", weekend_sleep="23:30"))
    for day, slots in by_day(plan).items():
        wake, sleep = (time(11), time(23, 30)) if day.weekday() >= 5 else (time(9), time(22))
        assert slots[0].window_start_at == to_utc(day, wake, NY)
        assert slots[-1].window_end_at == to_utc(day, sleep, NY)
        assert all(wake <= wall(s).time() < sleep for s in slots)


def test_days_weekdays_and_days_per_week():
    """Burst designs (`days`), `weekdays`, and `days_per_week`: exactly N days in each full
    study week, the same for the same seed, other days for other seeds."""
    protocol = definition(
        {"type": "fixed", "times": ["10:00"], "days": [1, 2, 3, 15, 16, 17]},
        {"type": "fixed", "times": ["11:00"], "weekdays": ["tue", "sat"]},
        {"type": "fixed", "times": ["12:00"], "days_per_week": 3},
        days=17,
    )
    plan = plan_prompts(protocol, subject(seed=3))
    days = {sid: [s.study_day for s in plan if s.schedule_id == sid] for sid in ("s0", "s1", "s2")}
    assert days["s0"] == [1, 2, 3, 15, 16, 17]
    assert {(MONDAY + timedelta(days=d - 1)).strftime("%a") for d in days["s1"]} == {"Tue", "Sat"}
    assert len(days["s1"]) == 5
    weeks = Counter((d - 1) // 7 for d in days["s2"])
    assert weeks[0] == weeks[1] == 3 and weeks[2] <= 3
    assert plan == plan_prompts(protocol, subject(seed=3))
    picks = {
        tuple(
            s.study_day for s in plan_prompts(protocol, subject(seed=seed)) if s.schedule_id == "s2"
        )
        for seed in range(8)
    }
    assert len(picks) > 1


def test_interval_every_n_minutes_inside_the_window():
    """`interval`: every N minutes from the window's opening, none at or after its end."""
    protocol = definition(
        {"type": "interval", "every_minutes": 90, "window": {"start": "09:00", "end": "13:00"}}
    )
    plan = plan_prompts(protocol, subject())
    assert [wall(s) for s in plan if s.local_date == MONDAY] == [
        datetime(2026, 3, 2, 9, 0),
        datetime(2026, 3, 2, 10, 30),
        datetime(2026, 3, 2, 12, 0),
    ]
    assert [s.occurrence for s in plan[:3]] == ["2026-03-02#1", "2026-03-02#2", "2026-03-02#3"]


def test_interval_counts_from_the_window_opening_when_a_blackout_covers_it():
    """The docstring's `interval` rule ("every N minutes from the window's opening, skipping
    blackouts"): a blackout over the opening skips prompts, it does not shift the grid."""
    protocol = definition(
        {
            "type": "interval",
            "every_minutes": 60,
            "window": {"start": "09:00", "end": "13:00"},
            "blackouts": [{"start": "09:00", "end": "09:20"}],
        }
    )
    plan = plan_prompts(protocol, subject())
    assert [wall(s).time() for s in plan if s.local_date == MONDAY] == [
        time(10),
        time(11),
        time(12),
    ]


def test_reminders_come_before_expiry():
    """Reminders are planned only before the prompt expires, also when the overlap rule cuts
    its expiry short."""
    protocol = definition(
        {
            "type": "fixed",
            "times": ["10:00", "10:20", "18:00"],
            "expires_after_minutes": 45,
            "reminders": [{"after_minutes": 15}, {"after_minutes": 30}],
        },
        days=1,
    )
    plan = plan_prompts(protocol, subject())
    assert [[wall(r).time() for r in s.reminders_at] for s in plan] == [
        [time(10, 15)],
        [time(10, 35), time(10, 50)],
        [time(18, 15), time(18, 30)],
    ]
    assert all(r < s.expires_at for s in plan for r in s.reminders_at)


def overlap_plan(rule: str | None) -> list[PlannedSlot]:
    extra = {"overlap": rule} if rule else {}
    protocol = definition(
        {"type": "fixed", "times": ["10:00", "10:20"], "expires_after_minutes": 60},
        {"type": "fixed", "times": ["10:10"], "channel": "web", "expires_after_minutes": 60},
        days=1,
        **extra,
    )
    return plan_prompts(protocol, subject())


def test_overlap_close_previous_is_the_default():
    """Failure 14 (a new prompt while the previous is open): by default an SMS prompt closes
    when the next SMS prompt is due; web prompts have their own links and are never cut."""
    plan = overlap_plan(None)
    assert [
        (s.channel, wall(s).time(), wall(s.expires_at).time(), s.cancel_reason) for s in plan
    ] == [
        ("sms", time(10, 0), time(10, 20), None),
        ("web", time(10, 10), time(11, 10), None),
        ("sms", time(10, 20), time(11, 20), None),
    ]
    assert overlap_plan("close_previous") == plan


def test_overlap_skip_new():
    """Failure 14: with `overlap: skip_new` the later SMS prompt is planned as cancelled
    ('overlap') and the open one keeps its full expiry."""
    plan = overlap_plan("skip_new")
    assert [(wall(s).time(), wall(s.expires_at).time(), s.cancel_reason) for s in plan] == [
        (time(10, 0), time(11, 0), None),
        (time(10, 10), time(11, 10), None),
        (time(10, 20), time(11, 20), "overlap"),
    ]


@pytest.mark.parametrize("rule", ["close_previous", "skip_new"])
def test_two_sms_prompts_due_together_are_one_prompt(rule):
    """Failure 14 (and 4): two SMS prompts due at the same instant must not give a prompt that
    expires the moment it is due (sent and closed at once); the second is cancelled
    ('overlap') and the first keeps its full expiry."""
    protocol = definition(
        {"type": "fixed", "times": ["10:00"]},
        {"type": "fixed", "times": ["10:00"]},
        days=1,
        overlap=rule,
    )
    plan = plan_prompts(protocol, subject())
    assert [(s.schedule_id, s.cancel_reason) for s in plan] == [("s0", None), ("s1", "overlap")]
    assert plan[0].expires_at == plan[0].due_at + timedelta(minutes=60)


def test_pauses_cancel_the_prompts_inside_them():
    """Participant pauses: prompts due in [start, end) are planned as cancelled ('paused'); an
    open-ended pause cancels everything after its start; paused prompts do not cut others."""
    protocol = definition(
        {"type": "fixed", "times": ["09:00", "09:30"], "expires_after_minutes": 60}
    )
    start, end = to_utc(date(2026, 3, 3), time(9), NY), to_utc(date(2026, 3, 4), time(9), NY)
    paused = plan_prompts(
        protocol, subject(pauses=((start, end), (to_utc(date(2026, 3, 7), time(9, 30), NY), None)))
    )
    assert [(s.occurrence[:10], wall(s).time()) for s in paused if s.cancel_reason == "paused"] == [
        ("2026-03-03", time(9)),
        ("2026-03-03", time(9, 30)),
        ("2026-03-07", time(9, 30)),
        ("2026-03-08", time(9)),
        ("2026-03-08", time(9, 30)),
    ]
    assert {s.cancel_reason for s in paused} == {None, "paused"}
    by_occurrence = {s.occurrence: s for s in paused}
    assert by_occurrence["2026-03-04@09:00"].cancel_reason is None  # the end is open
    assert by_occurrence["2026-03-07@09:00"].expires_at == to_utc(date(2026, 3, 7), time(10), NY)
    assert by_occurrence["2026-03-06@09:00"].expires_at == to_utc(date(2026, 3, 6), time(9, 30), NY)


@pytest.mark.parametrize("zones", [(NY, NY), (NY, "Europe/London")])
def test_group_members_share_random_instants_inside_their_own_windows(zones):
    """Groups (couples, dyads): members get the same due instants for random schedules and the
    same `days_per_week` days, same zone or not, each inside their own waking window, through
    both zones' spring forward."""
    protocol = definition(
        {"type": "random", "per_day": 3, "min_gap_minutes": 60, "days_per_week": 4}, days=28
    )
    start = date(2026, 3, 2)
    members = (subject(zones[0], start, seed=1), subject(zones[1], start, "08:00", "23:00", seed=2))
    group = Group(seed=99, members=members)
    plans = [plan_prompts(protocol, member, group) for member in members]
    assert [s.due_at for s in plans[0]] == [s.due_at for s in plans[1]]
    assert [s.study_day for s in plans[0]] == [s.study_day for s in plans[1]]
    assert len(plans[0]) == 3 * 4 * 4
    for member, plan in zip(members, plans, strict=True):
        for slot in plan:
            assert member.wake <= wall(slot, member.timezone).time() < member.sleep
    alone = [plan_prompts(protocol, member) for member in members]
    assert {s.study_day for s in alone[0]} != {s.study_day for s in alone[1]}


def test_plan_is_sorted_and_unique():
    """Failure 4 and 10 (duplicates): (schedule_id, occurrence) is unique and the plan is
    sorted by due time for the demo-like mix of schedules."""
    protocol = definition(
        {"type": "random", "per_day": 5, "min_gap_minutes": 90, "expires_after_minutes": 45},
        {"type": "fixed", "times": ["21:30"], "channel": "web"},
        {"type": "once", "day": 1, "time": "10:00"},
        {"type": "interval", "every_minutes": 120},
        days=14,
    )
    plan = plan_prompts(protocol, subject(start=date(2026, 3, 1)))
    keys = [(s.schedule_id, s.occurrence) for s in plan]
    assert len(keys) == len(set(keys))
    assert [s.due_at for s in plan] == sorted(s.due_at for s in plan)
    assert all(s.due_at.tzinfo is not None and s.due_at.utcoffset() == timedelta(0) for s in plan)
    assert plan[0].due_at > datetime(2026, 3, 1, tzinfo=UTC)


def test_group_members_with_different_start_dates_share_days_per_week_days():
    """Groups share `days_per_week` days (planner docstring), also when members start on
    different dates: a partner enrolled a day later, or `start: next_day` across zones (21:00
    in New York is already the next day in London)."""
    protocol = definition({"type": "random", "per_day": 2, "days_per_week": 3}, days=14)
    members = (subject(NY, date(2026, 3, 2), seed=1), subject(NY, date(2026, 3, 3), seed=2))
    group = Group(seed=5, members=members)
    dates = [{s.local_date for s in plan_prompts(protocol, m, group)} for m in members]
    both = (members[1].start_date, members[0].start_date + timedelta(days=13))  # shared span
    assert {d for d in dates[0] if both[0] <= d <= both[1]} == {
        d for d in dates[1] if both[0] <= d <= both[1]
    }
