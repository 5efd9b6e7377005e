"""A simulated study through the real pipeline: the export says exactly what the synthetic
participants did, across a clock change, and the same seed gives the same bytes."""

from __future__ import annotations

import csv
import json
import logging
import shutil
import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from eas.simulation.run import run_simulation
from tests.conftest import DEMO_PROTOCOL

#: US clocks change on Sunday 2026-03-08, inside these four days.
START = date(2026, 3, 6)
ZONES = ["America/New_York", "Europe/London", "America/Los_Angeles"]


def _simulate(out: Path, seed: int = 3, **options):
    logging.disable(logging.INFO)
    try:
        return run_simulation(
            DEMO_PROTOCOL, out, participants=6, days=4, seed=seed, start=START, zones=ZONES,
            **options,
        )  # fmt: skip
    finally:
        logging.disable(logging.NOTSET)


def _csv(folder: Path, name: str) -> list[dict[str, str]]:
    with (folder / f"{name}.csv").open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    return _simulate(tmp_path_factory.mktemp("simulation"))


#: Three shards of two participants, simulated side by side, exported in parts of chunks of two.
SHARDED = {"shard_size": 2, "export_chunk": 2}


@pytest.fixture(scope="module")
def sharded(tmp_path_factory):
    """The same study in three shards, simulated side by side, exported in parts."""
    return _simulate(tmp_path_factory.mktemp("sharded"), **SHARDED)


@pytest.fixture(params=["one process", "shards"])
def any_simulation(request):
    return request.getfixturevalue("simulated" if request.param == "one process" else "sharded")


def test_every_answer_given_is_in_the_export_as_given(any_simulation):
    truth = any_simulation.truth
    assert len(truth.answers) > 200
    rows = {
        (r["participant"], int(r["prompt_id"]), r["item"]): r
        for r in _csv(any_simulation.export, "responses")
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


def test_every_miss_and_opt_out_is_in_the_export(any_simulation):
    prompts = {int(p["prompt_id"]): p for p in _csv(any_simulation.export, "prompts")}
    for prompt_id in any_simulation.truth.ignored_prompts:
        assert prompts[prompt_id]["status"] in ("missed", "cancelled"), prompt_id
    people = {p["participant"]: p for p in _csv(any_simulation.export, "participants")}
    for label in any_simulation.truth.opted_out:
        assert people[label]["status"] == "opted_out"
    for label in any_simulation.truth.withdrawn:
        assert people[label]["status"] == "withdrawn"
    assert any_simulation.truth.opted_out and any_simulation.truth.withdrawn
    reasons = {p["status_reason"] for p in prompts.values() if p["status"] == "cancelled"}
    assert {"opted_out", "withdrawn"} <= reasons


def test_prompts_go_out_when_due_as_by_a_dispatcher_ticking_every_minute(any_simulation):
    prompts = _csv(any_simulation.export, "prompts")
    sent = [p for p in prompts if p["sent_utc"] and p["status_reason"] != "participant-initiated"]
    assert len(sent) > 100
    for prompt in sent:
        due = datetime.fromisoformat(prompt["scheduled_utc"])
        late = datetime.fromisoformat(prompt["sent_utc"]) - due
        assert timedelta(0) <= late <= timedelta(minutes=1), prompt["prompt_id"]
    assert not [p for p in prompts if p["status_reason"] == "not sent before it expired"]


def test_shards_are_copied_into_one_consistent_database(sharded):
    with sqlite3.connect(sharded.folder / "simulation.sqlite3") as connection:
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
        labels = [
            row[0] for row in connection.execute("SELECT label FROM participants ORDER BY id")
        ]
        imports = connection.execute(
            "SELECT count(*) FROM audit_events WHERE action = 'participants.imported'"
        ).fetchone()[0]
    assert labels == [f"S{number:03d}" for number in range(1, 7)]
    assert imports == 3  # one per shard, each naming its own participants


def test_prompts_follow_the_clock_change_in_each_zone(simulated):
    offsets = {
        (p["timezone"], p["scheduled_local"][:10]): p["utc_offset"]
        for p in _csv(simulated.export, "prompts")
    }
    assert offsets[("America/New_York", "2026-03-07")] == "-05:00"
    assert offsets[("America/New_York", "2026-03-09")] == "-04:00"
    assert offsets[("Europe/London", "2026-03-09")] == "+00:00"


@pytest.mark.parametrize("shards", [False, True], ids=["one process", "shards"])
def test_the_same_seed_gives_byte_identical_output(shards, request, tmp_path):
    first = request.getfixturevalue("sharded" if shards else "simulated")
    again = _simulate(tmp_path / "again", **(SHARDED if shards else {}))
    names = sorted(p.name for p in first.export.iterdir())
    assert names == sorted(p.name for p in again.export.iterdir())
    for name in names:
        assert (first.export / name).read_bytes() == (again.export / name).read_bytes(), name


def test_a_folder_whose_name_looks_like_url_syntax_gets_the_pilot(simulated, tmp_path):
    out = tmp_path / "pilot #2 100%41"  # neither a fragment nor an escape: part of the name
    again = _simulate(out, shard_size=3)
    assert again.export == out / "export"
    assert sorted(p.name for p in out.iterdir()) == ["export", "simulation.sqlite3"]
    assert sorted(p.name for p in again.export.iterdir()) == sorted(
        p.name for p in simulated.export.iterdir()
    )
    assert list(tmp_path.iterdir()) == [out]


def test_the_simulated_export_validates_and_has_its_report(simulated, tmp_path):
    from frictionless import validate

    from eas.simulation.report import build_report, write_report

    report = validate(str(simulated.export / "datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])[:5]
    data, html = write_report(tmp_path, build_report(simulated.export, simulated.facts))
    assert '"opted_out": 1' in data.read_text() and "<svg" in html.read_text()
    numbers = json.loads(data.read_text())  # the STOP counted as an event, not only a status
    assert numbers["events"]["opted_out"] == len(simulated.truth.opted_out)


def test_the_report_counts_every_alert_the_answers_set_off(any_simulation):
    # The demo protocol's rule alert: distress >= 8 (its keyword alert needs words nobody types).
    distressed = [
        key
        for key, value in any_simulation.truth.answers.items()
        if key[2] == "distress" and value is not None and value >= 8
    ]
    assert distressed, "the seed should give some high-distress answers"
    assert any_simulation.facts["alerts_fired"] == {"high_distress": len(distressed)}


def test_alerts_without_a_reply_are_counted_too(tmp_path):
    import yaml

    protocol = yaml.safe_load(DEMO_PROTOCOL.read_text(encoding="utf-8"))
    for alert in protocol["alerts"]:
        alert.pop("reply", None)
    silent = tmp_path / "silent.yaml"
    silent.write_text(yaml.safe_dump(protocol, sort_keys=False), encoding="utf-8")
    logging.disable(logging.INFO)
    try:
        result = run_simulation(
            silent, tmp_path / "out", participants=3, days=2, seed=3, start=START, zones=ZONES
        )
    finally:
        logging.disable(logging.NOTSET)
    with sqlite3.connect(result.folder / "simulation.sqlite3") as connection:
        raised = connection.execute("SELECT count(*) FROM safety_alerts").fetchone()[0]
    assert raised > 0
    assert sum(result.facts["alerts_fired"].values()) == raised


def _exported_in_one_go(result, folder: Path, database: Path | None = None, **options) -> Path:
    import sqlalchemy as sa

    from eas.core.db import db
    from eas.simulation.database import simulation_app
    from eas.studies.models import Study

    database = database or result.folder / "simulation.sqlite3"
    app = simulation_app(database, result.facts["seed"])
    with app.app_context():
        try:
            return _export(study=db.session.scalar(sa.select(Study)), folder=folder, **options)
        finally:
            db.session.remove()
            db.engine.dispose()


def _export(study, folder: Path, parts=None) -> Path:
    from eas.export.operations import export_study
    from eas.export.parts import join_parts

    now = datetime.combine(START + timedelta(days=5), datetime.min.time(), UTC).replace(hour=12)
    if parts:
        written = [
            export_study(study, folder / f"part-{n}", now=now, wide=True, part=part, chunk=2)
            for n, part in enumerate(parts)
        ]
        join_parts(study, folder / "export", written)
    else:
        export_study(study, folder / "export", now=now, wide=True, chunk=2)
    return folder / "export"


def _same_files(first: Path, second: Path) -> None:
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in second.iterdir())
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_the_export_written_in_parts_is_the_export_in_one_go(sharded, tmp_path):
    _same_files(sharded.export, _exported_in_one_go(sharded, tmp_path))


def test_parts_of_any_number_of_chunks_join_into_the_whole(sharded, tmp_path):
    whole = _exported_in_one_go(sharded, tmp_path / "whole")
    parts = [slice(0, 2), slice(2, 4), slice(4, None)]
    _same_files(whole, _exported_in_one_go(sharded, tmp_path / "parts", parts=parts))


def test_parts_join_into_the_whole_with_pauses_interleaved_across_them(sharded, tmp_path):
    # Pauses come in time order within each chunk the export reads: parts cut between chunks
    # keep that order.
    database = tmp_path / "paused.sqlite3"
    shutil.copyfile(sharded.folder / "simulation.sqlite3", database)
    with sqlite3.connect(database) as connection:
        ids = [row[0] for row in connection.execute("SELECT id FROM participants ORDER BY id")]
        connection.executemany(
            "INSERT INTO pauses (participant_id, starts_at, ends_at, reason, created_at)"
            " VALUES (?, ?, NULL, 'test', ?)",
            [
                (pid, f"2026-03-0{7 + n % 3} {10 + i}:00:00.000000", "2026-03-06 12:00:00.000000")
                for n in range(3)
                for i, pid in enumerate(reversed(ids))
            ],
        )
    whole = _exported_in_one_go(sharded, tmp_path / "whole", database)
    assert len(_csv(whole, "pauses")) == 3 * len(ids)
    parts = [slice(0, 2), slice(2, None)]
    _same_files(whole, _exported_in_one_go(sharded, tmp_path / "parts", database, parts=parts))


def test_a_part_must_start_between_chunks(sharded, tmp_path):
    with pytest.raises(ValueError, match="starting at 0 or a multiple of 2: not slice"):
        _exported_in_one_go(sharded, tmp_path, parts=[slice(0, 3), slice(3, None)])


@pytest.mark.parametrize(
    ("parts", "error"),
    [
        ([slice(0, 2), slice(4, None)], "starts at participant 4, not 2"),
        ([slice(0, 2), slice(2, 4)], "the parts end at participant 4 of 6"),
        ([slice(2, None)], "starts at participant 2, not 0"),
    ],
)
def test_parts_that_leave_participants_out_are_not_joined(sharded, tmp_path, parts, error):
    with pytest.raises(ValueError, match=error):
        _exported_in_one_go(sharded, tmp_path, parts=parts)


@pytest.mark.parametrize(
    ("people", "count", "chunk", "parts"),
    [
        (200, 2, 100, [(0, 100), (100, 200)]),
        (230, 2, 100, [(0, 100), (100, 230)]),
        (50, 2, 100, [(0, 50)]),
        (6, 2, 2, [(0, 2), (2, 6)]),
        (6, 4, 2, [(0, 2), (2, 4), (4, 6)]),
    ],
)
def test_the_export_is_cut_into_parts_between_its_chunks(people, count, chunk, parts):
    from eas.simulation.run import _export_parts

    assert [(p.start, p.stop) for p in _export_parts(people, count, chunk)] == parts
