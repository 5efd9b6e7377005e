"""`eas simulate` as the README runs it: a pilot into a folder named relative to where the
command runs."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import DEMO_PROTOCOL

PILOT = ["--participants", "3", "--days", "2", "--seed", "1", "--start", "2026-03-06"]


def test_a_pilot_into_a_relative_folder_lands_there(app, tmp_path, monkeypatch):
    # The simulation's own apps resolve a relative SQLite path against their instance folder,
    # not the working directory: one that is elsewhere (as it is for the installed command)
    # must not change where the pilot goes.
    instance = tmp_path / "instance"
    monkeypatch.setenv("EAS_INSTANCE_PATH", str(instance))
    work = (tmp_path / "work").resolve()
    work.mkdir()
    monkeypatch.chdir(work)

    result = app.test_cli_runner().invoke(
        args=["simulate", str(DEMO_PROTOCOL), *PILOT, "--out", "pilot"]
    )

    assert result.exit_code == 0, result.output + repr(result.exception)
    pilot = work / "pilot"
    assert (pilot / "simulation.sqlite3").is_file()
    package = json.loads((pilot / "export" / "datapackage.json").read_text(encoding="utf-8"))
    assert {resource["name"] for resource in package["resources"]} >= {"participants", "prompts"}
    assert (pilot / "report.html").is_file() and (pilot / "report.json").is_file()
    # Where the pilot went is said in full, so it can be found from anywhere.
    assert str(pilot / "report.html") in result.output
    assert not instance.exists() or not any(instance.rglob("*.sqlite3"))
    assert not Path("instance").exists()
