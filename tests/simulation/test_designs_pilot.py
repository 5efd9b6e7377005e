"""`eas simulate` pilots the designs of issue 22: couples sharing their random times, and
reports started only when the protocol allows them."""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import datetime
from zoneinfo import ZoneInfo

from eas.simulation.run import run_simulation
from tests.helpers import ROOT

BURSTS = """
study: {id: bursts, title: Bursts, timezone: America/New_York, duration_days: 6}
questionnaires:
  - id: q
    items: [{id: mood, type: scale, min: 0, max: 10, text: "Mood?"}]
  - id: episode
    items: [{id: intimacy, type: scale, min: 0, max: 10, text: "How intimate?"}]
schedules:
  - {id: beeps, questionnaire: q, type: random, per_day: 2, min_gap_minutes: 60, days: [1, 2, 5, 6]}
  - id: night
    questionnaire: episode
    type: event
    keyword: NIGHT
    days: [1, 2, 5, 6]
    window: {start: "18:00", end: "02:00"}
    max_per_day: 3
"""


def _rows(path):
    with path.open() as handle:
        return list(csv.DictReader(handle))


def test_couples_share_their_random_times(tmp_path):
    result = run_simulation(
        ROOT / "protocols/examples/dyadic-couples.yaml",
        tmp_path / "pilot",
        participants=6,
        days=3,
        seed=2,
        group_size=2,
    )
    people = _rows(result.export / "participants.csv")
    assert [p["group"] for p in people] == ["G001", "G001", "G002", "G002", "G003", "G003"]
    times = defaultdict(list)
    for prompt in _rows(result.export / "prompts.csv"):
        if prompt["schedule"] == "shared_moments":
            times[prompt["participant"]].append(prompt["scheduled_utc"])
    assert times["S001"] == times["S002"] and times["S003"] == times["S004"]
    assert times["S001"] != times["S003"]


def test_reports_are_started_only_on_burst_days_inside_their_window(tmp_path):
    protocol = tmp_path / "bursts.yaml"
    protocol.write_text(BURSTS)
    result = run_simulation(protocol, tmp_path / "pilot", participants=12, days=6, seed=5)
    reports = [
        p
        for p in _rows(result.export / "prompts.csv")
        if p["status_reason"] == "participant-initiated"
    ]
    assert reports, "the cohort reports something"
    for report in reports:
        assert int(report["study_day"]) in (1, 2, 5, 6), report
        local = datetime.fromisoformat(report["scheduled_utc"].replace("Z", "+00:00")).astimezone(
            ZoneInfo(report["timezone"])
        )
        assert local.hour >= 18 or local.hour < 2, report


ARMS = """
study:
  id: arms
  title: Arms
  timezone: America/New_York
  duration_days: 3
  arms: {names: [boost, control], seed: 3}
questionnaires:
  - id: q
    items: [{id: mood, type: scale, min: 0, max: 10, text: "Mood?"}]
schedules:
  - {id: everyone, questionnaire: q, type: fixed, times: ["wake+1h"]}
  - {id: boosted, questionnaire: q, type: random, per_day: 2, min_gap_minutes: 60, arms: [boost]}
"""


def test_a_pilot_with_arms_assigns_them_and_plans_each_arms_schedules(tmp_path):
    protocol = tmp_path / "arms.yaml"
    protocol.write_text(ARMS)
    result = run_simulation(protocol, tmp_path / "pilot", participants=8, days=3, seed=4)
    arms = {p["participant"]: p["arm"] for p in _rows(result.export / "participants.csv")}
    assert sorted(arms.values()) == ["boost"] * 4 + ["control"] * 4  # balanced
    for prompt in _rows(result.export / "prompts.csv"):
        assert prompt["arm"] == arms[prompt["participant"]]
        if prompt["schedule"] == "boosted":
            assert prompt["arm"] == "boost"
