"""The pilot report, from a small hand-made export package whose numbers are worked out below."""

from __future__ import annotations

import csv
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from eas.export.tables import COMPLIANCE_DAYS, PARTICIPANTS, PROMPTS, RESPONSES, Table
from eas.simulation.report import build_report, quantile, write_report

FACTS = {
    "protocol": "pilot-demo",
    "participants": 2,
    "days": 2,
    "seed": 7,
    "start": "2026-03-18",
    "timezones": ["Europe/Berlin", "America/New_York"],
    "sms_segments_sent": 40,
    "sms_segments_received": 20,
    "price_per_segment": 0.0083,
    "seconds_per_item": 10.0,
    "alerts_fired": {"distress_high": 2, "crisis_words": 1},
    "opted_out": 0,
    "withdrawn": 1,
    "malformed_replies": 3,
}


def _prompt(prompt_id, person, schedule, day, beep, hour, weekday, status, **extra):
    return {
        "prompt_id": prompt_id,
        "participant": person,
        "schedule": schedule,
        "questionnaire": "momentary" if schedule == "beeps" else "evening",
        "channel": "sms",
        "study_day": day,
        "beep": beep,
        "scheduled_local": f"2026-03-{17 + day}T{hour:02d}:15:00",
        "local_hour": hour,
        "weekday": weekday,
        "status": status,
        **extra,
    }


SENT = {"sent_utc": "2026-03-18T13:15:00Z"}
#: p1: day 1 completed, missed, completed (evening); day 2 cancelled (paused), completed, and
#: a re-planned prompt without a beep. p2: day 1 expired, missed; day 2 completed.
PROMPT_ROWS = [
    _prompt(1, "p1", "beeps", 1, 1, 9, "Wed", "completed", items_answered=2, **SENT),
    _prompt(2, "p1", "beeps", 1, 2, 14, "Wed", "missed", **SENT),
    _prompt(3, "p1", "evening", 1, 1, 20, "Wed", "completed", items_answered=1, **SENT),
    _prompt(4, "p1", "beeps", 2, 1, 9, "Thu", "cancelled", status_reason="paused"),
    _prompt(9, "p1", "beeps", 2, None, 15, "Thu", "cancelled", status_reason="superseded"),
    _prompt(5, "p1", "beeps", 2, 2, 14, "Thu", "completed", items_answered=2, **SENT),
    _prompt(6, "p2", "beeps", 1, 1, 9, "Wed", "expired", status_reason="outage"),
    _prompt(7, "p2", "beeps", 1, 2, 14, "Wed", "missed", **SENT),
    _prompt(8, "p2", "beeps", 2, 1, 10, "Thu", "completed", items_answered=2, **SENT),
]


def _answer(prompt_id, person, day, item, value, missing=None):
    return {
        "prompt_id": prompt_id,
        "participant": person,
        "study_day": day,
        "item": item,
        "value_raw": value,
        "value": value,
        "missing": missing,
    }


#: Items with a value: p1 day 1: 3, p1 day 2: 2, p2 day 1: 0, p2 day 2: 2.
RESPONSE_ROWS = [
    _answer(1, "p1", 1, "mood", "4"),
    _answer(1, "p1", 1, "stress", "2"),
    _answer(3, "p1", 1, "day_rating", "5"),
    _answer(3, "p1", 1, "day_note", None, "skipped"),
    _answer(5, "p1", 2, "mood", "3"),
    _answer(5, "p1", 2, "stress", "1"),
    _answer(8, "p2", 2, "mood", "5"),
    _answer(8, "p2", 2, "stress", "2"),
    _answer(8, "p2", 2, "why", None, "not_presented"),
]
PARTICIPANT_ROWS = [
    {"participant": "p1", "status": "active", "prompts_planned": 5, "prompts_sendable": 4,
     "prompts_completed": 3, "compliance": 0.75},
    {"participant": "p2", "status": "withdrawn", "prompts_planned": 3, "prompts_sendable": 3,
     "prompts_completed": 1, "compliance": 1 / 3},
]  # fmt: skip
DAY_ROWS = [
    {"participant": p, "study_day": d, "planned": a, "sendable": b, "completed": c}
    for p, d, a, b, c in [("p1", 1, 3, 3, 2), ("p1", 2, 2, 1, 1), ("p2", 1, 2, 2, 0),
                          ("p2", 2, 1, 1, 1)]
]  # fmt: skip


def _write(folder: Path, table: Table, rows: list[dict]) -> None:
    with (folder / f"{table.name}.csv").open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(table.names)
        for row in rows:
            assert set(row) <= set(table.names)
            writer.writerow(["" if row.get(n) is None else row[n] for n in table.names])


@pytest.fixture
def package(tmp_path) -> Path:
    folder = tmp_path / "export"
    folder.mkdir()
    _write(folder, PROMPTS, PROMPT_ROWS)
    _write(folder, RESPONSES, RESPONSE_ROWS)
    _write(folder, PARTICIPANTS, PARTICIPANT_ROWS)
    _write(folder, COMPLIANCE_DAYS, DAY_ROWS)
    return folder


def _rate(planned, sendable, completed, compliance, compliance_planned):
    return {
        "planned": planned,
        "sendable": sendable,
        "completed": completed,
        "compliance": compliance,
        "compliance_planned": compliance_planned,
    }


def test_compliance(package):
    compliance = build_report(package, FACTS)["compliance"]
    # 8 prompts with a beep; the paused one is not sendable; 4 completed.
    assert compliance["overall"] == _rate(8, 7, 4, 0.5714, 0.5)
    assert compliance["by_day"] == [
        {"study_day": 1, **_rate(5, 5, 2, 0.4, 0.4)},
        {"study_day": 2, **_rate(3, 2, 2, 1.0, 0.6667)},
    ]
    by_hour = {row["local_hour"]: row for row in compliance["by_hour"]}
    assert [row["local_hour"] for row in compliance["by_hour"]] == list(range(24))
    assert by_hour[9] == {"local_hour": 9, **_rate(3, 2, 1, 0.5, 0.3333)}
    assert by_hour[10] == {"local_hour": 10, **_rate(1, 1, 1, 1.0, 1.0)}
    assert by_hour[14] == {"local_hour": 14, **_rate(3, 3, 1, 0.3333, 0.3333)}
    assert by_hour[20] == {"local_hour": 20, **_rate(1, 1, 1, 1.0, 1.0)}
    assert by_hour[3] == {"local_hour": 3, **_rate(0, 0, 0, None, None)}
    weekdays = {row["weekday"]: row["compliance"] for row in compliance["by_weekday"]}
    assert list(weekdays) == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    assert (weekdays["Wed"], weekdays["Thu"], weekdays["Mon"]) == (0.4, 1.0, None)
    assert compliance["by_schedule"] == {
        "beeps": _rate(7, 6, 3, 0.5, 0.4286),
        "evening": _rate(1, 1, 1, 1.0, 1.0),
    }
    spread = compliance["participants"]
    assert spread["values"] == [0.3333, 0.75]
    assert (spread["min"], spread["q1"], spread["median"], spread["q3"], spread["max"]) == (
        0.3333,
        0.4375,
        0.5417,
        0.6458,
        0.75,
    )
    assert spread["below_half"] == 1
    assert [b["participants"] for b in spread["bins"]] == [0, 0, 0, 1, 0, 0, 0, 1, 0, 0]


def test_prompts_burden_and_cost(package):
    report = build_report(package, FACTS)
    assert report["study"]["participant_days"] == 4
    per_day = report["prompts_per_day"]
    assert per_day["planned"] == {"mean": 2.0, "max": 3}
    assert per_day["sent"] == {"mean": 1.5, "max": 3}
    assert (per_day["planned_total"], per_day["sent_total"]) == (8, 6)
    assert per_day["by_schedule"] == {
        "beeps": {"planned_mean": 1.75, "sent_mean": 1.25},
        "evening": {"planned_mean": 0.25, "sent_mean": 0.25},
    }
    burden = report["burden"]
    assert burden["items_answered_total"] == 7
    assert burden["items_per_day"] == {"mean": 1.75, "max": 3}
    # 7 items x 10 s over 4 participant-days; at most 3 items (30 s) on one day.
    assert burden["minutes_per_day"] == {"mean": 0.2917, "max": 0.5}
    assert burden["items_per_completed_prompt"] == 1.75
    sms = report["sms"]
    assert sms["segments_total"] == 60
    assert sms["segments_per_participant_per_day"] == 15.0
    assert sms["cost_total"] == 0.498
    assert sms["cost_per_participant"] == 0.249
    assert sms["cost_per_participant_per_day"] == 0.1245


def test_timing_statuses_and_events(package):
    report = build_report(package, FACTS)
    beeps = report["timing"]["by_schedule"]["beeps"]
    assert len(beeps) == 24
    assert {hour: n for hour, n in enumerate(beeps) if n} == {9: 3, 10: 1, 14: 3}
    assert {h: n for h, n in enumerate(report["timing"]["by_schedule"]["evening"]) if n} == {20: 1}
    statuses = report["statuses"]
    assert statuses["status"] == {
        "cancelled": 2,
        "completed": 4,
        "expired": 1,
        "failed": 0,
        "missed": 2,
        "not_sent": 0,
        "open": 0,
        "partial": 0,
    }
    assert statuses["status_reason"] == {"outage": 1, "paused": 1, "superseded": 1}
    assert statuses["participant_status"] == {"active": 1, "withdrawn": 1}
    assert report["events"] == {
        "alerts_fired": {"crisis_words": 1, "distress_high": 2},
        "opted_out": 0,
        "withdrawn": 1,
        "malformed_replies": 3,
    }
    assert report["study"]["timezones"] == ["America/New_York", "Europe/Berlin"]


def test_html_is_accessible_and_self_contained(package, tmp_path):
    _, html_path = write_report(tmp_path / "out", build_report(package, FACTS))
    html = html_path.read_text(encoding="utf-8")
    assert html.startswith('<!doctype html>\n<html lang="en">')
    svgs = re.findall(r"<svg\b.*?</svg>", html, flags=re.S)
    # By day, by hour, across participants, and one timing histogram per schedule.
    assert len(svgs) == 5
    for svg in svgs:
        root = ET.fromstring(svg)  # well-formed
        assert root.get("role") == "img"
        assert root.get("aria-label")
        assert root.find("{http://www.w3.org/2000/svg}title").text
    assert "<caption>Compliance by study day</caption>" in html
    assert '<th scope="col">Study day</th>' in html
    assert '<th scope="row">1</th><td>5</td><td>5</td><td>2</td><td>40.0%</td>' in html
    assert '<th scope="row">9:00</th><td>3</td><td>2</td><td>1</td><td>50.0%</td>' in html
    assert "57.1%" in html
    assert "$0.50" in html  # the whole study's SMS cost
    assert "e17023" in html and "e11398" in html
    assert "response model, not from people" in html
    for forbidden in ("<script", "<link", " src=", 'href="http', "url("):
        assert forbidden not in html
    assert re.findall(r"<h1\b", html) == ["<h1"]


def test_output_is_byte_identical(package, tmp_path):
    report = build_report(package, FACTS)
    first = write_report(tmp_path / "a", report)
    again = build_report(package, dict(reversed(list(FACTS.items()))))
    second = write_report(tmp_path / "b", dict(reversed(list(again.items()))))
    for one, other in zip(first, second, strict=True):
        assert one.read_bytes() == other.read_bytes()
    text = first[0].read_text(encoding="utf-8")
    assert text.endswith("}\n")
    assert text == json.dumps(json.loads(text), sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    assert [p.name for p in first] == ["report.json", "report.html"]


def test_empty_package(tmp_path):
    for table in (PROMPTS, RESPONSES, PARTICIPANTS, COMPLIANCE_DAYS):
        _write(tmp_path, table, [])
    facts = {**FACTS, "sms_segments_sent": 0, "sms_segments_received": 0, "alerts_fired": {}}
    report = build_report(tmp_path, facts)
    assert report["compliance"]["overall"]["compliance"] is None
    assert report["prompts_per_day"]["planned"] == {"mean": 0.0, "max": 0}
    assert report["compliance"]["participants"]["median"] is None
    _, html_path = write_report(tmp_path / "out", report)
    assert "No alerts fired" in html_path.read_text(encoding="utf-8")


def test_quantile_matches_type_7():
    assert quantile([1.0, 2.0, 3.0, 4.0], 0.25) == 1.75
    assert quantile([5.0], 0.75) == 5.0
