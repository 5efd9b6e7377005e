"""`flask protocol validate` and `flask protocol schema`."""

from __future__ import annotations

import json
import re

from tests.helpers import DEMO_PROTOCOL, ROOT
from tests.protocols.helpers import protocol

TEN_MISTAKES = ROOT / "tests" / "protocols" / "data" / "ten_mistakes.yaml"
ERROR_LINE = re.compile(r"^(?P<file>.+):(?P<line>\d+):(?P<column>\d+): (?P<rest>.+)$")


def test_validate_the_demo_protocol(runner):
    result = runner.invoke(args=["protocol", "validate", str(DEMO_PROTOCOL)])
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"{DEMO_PROTOCOL}: ok (study ai-connection: 5 questionnaires, 5 schedules, 2 alerts)\n"
    )
    assert result.stderr == ""


def test_validate_prints_one_line_per_error(runner):
    result = runner.invoke(args=["protocol", "validate", str(TEN_MISTAKES)])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 10
    matches = [ERROR_LINE.match(line) for line in lines]
    assert all(matches), lines
    assert {m["file"] for m in matches} == {str(TEN_MISTAKES)}
    assert [int(m["line"]) for m in matches] == [2, 4, 11, 12, 13, 14, 17, 18, 20, 21]
    assert (
        lines[0] == f"{TEN_MISTAKES}:2:7: study.id: must be lower-case letters, digits and dashes"
    )
    assert result.stderr == f"{TEN_MISTAKES}: 10 error(s)\n"


def test_a_bad_file_fails_the_run_but_the_good_one_is_still_reported(runner, tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text(protocol(), encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(protocol().replace("duration_days: 7", "duration_days: 0"), encoding="utf-8")
    result = runner.invoke(args=["protocol", "validate", str(bad), str(good)])
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"{bad}:1:72: study.duration_days: must be between 1 and 3660 (10 years)",
        f"{good}: ok (study demo: 1 questionnaires, 1 schedules, 0 alerts)",
    ]
    assert result.stderr == f"{bad}: 1 error(s)\n"


def test_validate_reports_a_yaml_syntax_error(runner, tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("study: [\n", encoding="utf-8")
    result = runner.invoke(args=["protocol", "validate", str(path)])
    assert result.exit_code == 1
    assert result.stdout.startswith(f"{path}:2:1: YAML syntax error: ")


def test_validate_needs_an_existing_file(runner, tmp_path):
    result = runner.invoke(args=["protocol", "validate", str(tmp_path / "missing.yaml")])
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_validate_needs_a_path(runner):
    assert runner.invoke(args=["protocol", "validate"]).exit_code == 2


def test_schema_prints_json(runner):
    result = runner.invoke(args=["protocol", "schema"])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert "Item" in schema["$defs"]
