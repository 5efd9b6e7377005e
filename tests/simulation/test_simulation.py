"""A simulated study through the real pipeline: the export says exactly what the synthetic
participants did, across a clock change, and the same seed gives the same bytes."""

from __future__ import annotations

import csv
import json
import logging
import sqlite3
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from eas.simulation.run import SHARD_IDS, run_simulation
from tests.helpers import DEMO_PROTOCOL

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


#: Three shards of two participants, simulated side by side.
#: Shards are simulated in processes of their own: whatever uses them is marked slow.
SHARDED = {"shard_size": 2}


@pytest.fixture(scope="module")
def sharded(tmp_path_factory):
    """The same study in three shards, simulated side by side, copied into one database."""
    return _simulate(tmp_path_factory.mktemp("sharded"), **SHARDED)


@pytest.fixture(params=["one process", pytest.param("shards", marks=pytest.mark.slow)])
def any_simulation(request):
    return request.getfixturevalue("simulated" if request.param == "one process" else "sharded")


def _prompt_ids(export: Path) -> dict[tuple[str, str, str], str]:
    """The exported prompts by what their participants know of them (`checkins.Prompted`):
    participant, questionnaire, and when it was sent (for a report: when it was asked for)."""
    return {
        (p["participant"], p["questionnaire"], p["sent_utc"]): p["prompt_id"]
        for p in _csv(export, "prompts")
        if p["sent_utc"]
    }


def _prompt_id(prompt_ids, label: str, questionnaire: str, received: datetime) -> str:
    return prompt_ids[(label, questionnaire, received.isoformat(timespec="seconds")[:19] + "Z")]


def test_every_answer_given_is_in_the_export_as_given(any_simulation):
    truth = any_simulation.truth
    assert len(truth.answers) > 200
    prompt_ids = _prompt_ids(any_simulation.export)
    rows = {
        (r["participant"], r["prompt_id"], r["item"]): r
        for r in _csv(any_simulation.export, "responses")
    }
    for (label, questionnaire, received, item), value in truth.answers.items():
        key = (label, _prompt_id(prompt_ids, label, questionnaire, received), item)
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
    prompts = {p["prompt_id"]: p for p in _csv(any_simulation.export, "prompts")}
    prompt_ids = _prompt_ids(any_simulation.export)
    for prompted in any_simulation.truth.ignored_prompts:
        prompt_id = _prompt_id(prompt_ids, *prompted)
        assert prompts[prompt_id]["status"] in ("missed", "cancelled"), prompted
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


@pytest.mark.slow
def test_shards_are_copied_into_one_consistent_database(sharded):
    with sqlite3.connect(sharded.folder / "simulation.sqlite3") as connection:
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
        participants = connection.execute(
            "SELECT id, label FROM participants ORDER BY id"
        ).fetchall()
        imports = connection.execute(
            "SELECT count(*) FROM audit_events WHERE action = 'participants.imported'"
        ).fetchone()[0]
        # Each shard's rows have the ids of its range, so the texts' keys that name them
        # name rows of the same participant.
        mismatched = connection.execute(
            "SELECT count(*) FROM simulator_messages s JOIN messages m"
            " ON m.idempotency_key = s.idempotency_key"
            " WHERE m.participant_id IS NOT s.participant_id"
        ).fetchone()[0]
        sent = connection.execute("SELECT count(*) FROM simulator_messages").fetchone()[0]
    assert [label for _, label in participants] == [f"S{number:03d}" for number in range(1, 7)]
    shards = [pid // SHARD_IDS for pid, _ in participants]
    assert sorted(set(shards)) == [0, 1, 2]  # each shard's from its range, the first's from 1
    assert [pid % SHARD_IDS for pid, _ in participants] == [
        shards[:index].count(shard) + 1 for index, shard in enumerate(shards)
    ]
    assert imports == 3  # one per shard, each naming its own participants
    assert sent > 100 and mismatched == 0


def test_prompts_follow_the_clock_change_in_each_zone(simulated):
    offsets = {
        (p["timezone"], p["scheduled_local"][:10]): p["utc_offset"]
        for p in _csv(simulated.export, "prompts")
    }
    assert offsets[("America/New_York", "2026-03-07")] == "-05:00"
    assert offsets[("America/New_York", "2026-03-09")] == "-04:00"
    assert offsets[("Europe/London", "2026-03-09")] == "+00:00"


@pytest.mark.parametrize(
    "shards", [False, pytest.param(True, marks=pytest.mark.slow)], ids=["one process", "shards"]
)
def test_the_same_seed_gives_byte_identical_output(shards, request, tmp_path):
    first = request.getfixturevalue("sharded" if shards else "simulated")
    again = _simulate(tmp_path / "again", **(SHARDED if shards else {}))
    names = sorted(p.name for p in first.export.iterdir())
    assert names == sorted(p.name for p in again.export.iterdir())
    for name in names:
        assert (first.export / name).read_bytes() == (again.export / name).read_bytes(), name


@pytest.mark.slow  # two shards
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
        if key[3] == "distress" and value is not None and value >= 8
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
