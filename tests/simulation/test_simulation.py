"""A simulated study through the real pipeline: the export says exactly what the synthetic
participants did, across a clock change, and the same seed gives the same bytes."""

from __future__ import annotations

import csv
import logging
from datetime import date
from pathlib import Path

import pytest

from eas.simulation.run import run_simulation
from tests.conftest import DEMO_PROTOCOL

#: US clocks change on Sunday 2026-03-08, inside these four days.
START = date(2026, 3, 6)
ZONES = ["America/New_York", "Europe/London", "America/Los_Angeles"]


def _simulate(out: Path, seed: int = 3):
    logging.disable(logging.INFO)
    try:
        return run_simulation(
            DEMO_PROTOCOL, out, participants=6, days=4, seed=seed, start=START, zones=ZONES
        )
    finally:
        logging.disable(logging.NOTSET)


def _csv(folder: Path, name: str) -> list[dict[str, str]]:
    with (folder / f"{name}.csv").open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    return _simulate(tmp_path_factory.mktemp("simulation"))


def test_every_answer_given_is_in_the_export_as_given(simulated):
    truth = simulated.truth
    assert len(truth.answers) > 200
    rows = {
        (r["participant"], int(r["prompt_id"]), r["item"]): r
        for r in _csv(simulated.export, "responses")
    }
    for key, value in truth.answers.items():
        row = rows[key]
        if value is None:
            assert row["missing"] == "skipped", key
        elif isinstance(value, bool):
            assert row["value"] == ("yes" if value else "no"), key
        elif isinstance(value, list):
            assert row["value"] == ";".join(map(str, value)), key
        elif isinstance(value, int | float) and row["value_numeric"]:
            assert float(row["value_numeric"]) == value, key
        else:
            assert row["value"] == str(value), key


def test_every_miss_and_opt_out_is_in_the_export(simulated):
    prompts = {int(p["prompt_id"]): p for p in _csv(simulated.export, "prompts")}
    for prompt_id in simulated.truth.ignored_prompts:
        assert prompts[prompt_id]["status"] in ("missed", "cancelled"), prompt_id
    people = {p["participant"]: p for p in _csv(simulated.export, "participants")}
    for label in simulated.truth.opted_out:
        assert people[label]["status"] == "opted_out"
    for label in simulated.truth.withdrawn:
        assert people[label]["status"] == "withdrawn"
    assert simulated.truth.opted_out and simulated.truth.withdrawn
    reasons = {p["status_reason"] for p in prompts.values() if p["status"] == "cancelled"}
    assert {"opted_out", "withdrawn"} <= reasons


def test_prompts_follow_the_clock_change_in_each_zone(simulated):
    offsets = {
        (p["timezone"], p["scheduled_local"][:10]): p["utc_offset"]
        for p in _csv(simulated.export, "prompts")
    }
    assert offsets[("America/New_York", "2026-03-07")] == "-05:00"
    assert offsets[("America/New_York", "2026-03-09")] == "-04:00"
    assert offsets[("Europe/London", "2026-03-09")] == "+00:00"


def test_the_same_seed_gives_byte_identical_output(simulated, tmp_path):
    again = _simulate(tmp_path / "again")
    names = sorted(p.name for p in simulated.export.iterdir())
    assert names == sorted(p.name for p in again.export.iterdir())
    for name in names:
        assert (simulated.export / name).read_bytes() == (again.export / name).read_bytes(), name


def test_the_simulated_export_validates_and_has_its_report(simulated, tmp_path):
    from frictionless import validate

    from eas.simulation.report import build_report, write_report

    report = validate(str(simulated.export / "datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])[:5]
    data, html = write_report(tmp_path, build_report(simulated.export, simulated.facts))
    assert '"opted_out": 1' in data.read_text() and "<svg" in html.read_text()
