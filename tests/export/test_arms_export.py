"""The export carries each participant's arm (issue 22): in `participants` (with the stratum
it was balanced in), in `prompts` and in the wide tables, described in the data package."""

from __future__ import annotations

import csv
import json
from datetime import timedelta
from pathlib import Path

from frictionless import validate

from eas.export.operations import export_study
from eas.export.stats_files import write_stats_files
from tests.participants.helpers import BALANCED_BY_SITE, arms_protocol, people_csv


def _read(folder: Path, name: str) -> list[dict[str, str]]:
    with (folder / f"{name}.csv").open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_the_export_carries_the_arm(db, clock, dispatcher, create_study, enroll_csv, tmp_path):
    study = create_study(arms_protocol(BALANCED_BY_SITE))
    enroll_csv(study, people_csv(4, sites=("north", "south")))
    arms = {p.label: p.arm for p in study.participants}
    strata = {p.label: p.arm_stratum for p in study.participants}
    clock.advance(timedelta(days=1, minutes=1))  # day 1, 10:01 in New York
    dispatcher.tick()  # the morning check-ins go out
    clock.advance(timedelta(days=4))
    dispatcher.tick()  # and the rest expire: every prompt fell due
    out = tmp_path / "out"
    export_study(study, out, now=clock.now(), wide=True)

    participants = _read(out, "participants")
    assert {r["participant"]: r["arm"] for r in participants} == arms
    assert {r["participant"]: r["arm_stratum"] for r in participants} == strata
    prompts = _read(out, "prompts")
    assert prompts and all(r["arm"] == arms[r["participant"]] for r in prompts)
    # Each one's prompts are their arm's schedules.
    for row in prompts:
        if row["schedule"] == "boost_evening":
            assert row["arm"] == "boost"
        if row["schedule"] == "control_noon":
            assert row["arm"] == "control"
    wide = _read(out, "responses_wide_checkin")
    assert wide and all(r["arm"] == arms[r["id"]] for r in wide)

    package = json.loads((out / "datapackage.json").read_text())
    fields = {
        resource["name"]: {f["name"]: f for f in resource["schema"]["fields"]}
        for resource in package["resources"]
    }
    assert "arm" in fields["participants"] and "arm_stratum" in fields["participants"]
    assert "arm" in fields["prompts"] and "arm" in fields["responses_wide_checkin"]
    report = validate(str(out / "datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])[:10]

    import pyreadstat

    write_stats_files(out, study.current_version.definition["questionnaires"], ["sav"])
    frame, meta = pyreadstat.read_sav(str(out / "responses_wide_checkin.sav"))
    assert meta.column_names_to_labels["arm"].startswith("Between-person arm")
    assert set(frame["arm"]) == set(arms.values())


def test_without_arms_the_column_is_empty(db, clock, participant, tmp_path):
    """`participants` and `prompts` keep their columns; the wide tables have none to add."""
    export_study(participant.study, tmp_path / "out", now=clock.now(), wide=True)
    (row,) = _read(tmp_path / "out", "participants")
    assert row["arm"] == "" and row["arm_stratum"] == ""
    assert {r["arm"] for r in _read(tmp_path / "out", "prompts")} == {""}
    with (tmp_path / "out" / "responses_wide_momentary.csv").open(encoding="utf-8") as fh:
        assert "arm" not in fh.readline().strip().split(",")
