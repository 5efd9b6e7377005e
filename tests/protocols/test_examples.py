"""protocols/examples/: published-style designs that validate, plan, preview and pilot."""

from __future__ import annotations

import csv
import re
from collections import Counter
from datetime import date, time

import pytest

from eas.protocols.validation import validate_protocol_file
from eas.scheduling.preview import build_preview
from eas.simulation.run import run_simulation
from tests.helpers import ROOT

EXAMPLES = sorted((ROOT / "protocols" / "examples").glob("*.yaml"))
NAMES = [path.stem for path in EXAMPLES]


def test_there_are_the_four_published_designs():
    assert {"esm-blocks", "interval-from-waking", "bursts-with-reports", "dyadic-couples"} <= set(
        NAMES
    )


@pytest.mark.parametrize("path", EXAMPLES, ids=NAMES)
def test_an_example_validates_without_warnings_and_cites_its_source(path):
    protocol = validate_protocol_file(path)
    assert protocol.warnings == ()
    header = path.read_text().split("\n\n", 1)[0]
    assert re.search(r"\((19|20)\d\d\)|\b(19|20)\d\d\b", header), "cites a published design"


@pytest.mark.parametrize("path", EXAMPLES, ids=NAMES)
@pytest.mark.parametrize("hours", [(time(6), time(22)), (time(10), time(1))])
def test_an_example_previews_for_early_and_late_sleepers(path, hours):
    definition = validate_protocol_file(path).definition
    preview = build_preview(
        definition,
        start=date(2026, 3, 27),  # Europe's clocks change on the 29th
        zone=definition["study"]["timezone"],
        wake=hours[0],
        sleep=hours[1],
    )
    assert preview.rows
    assert preview.summary()["active_days"] >= 1


def test_the_esm_blocks_design_plans_one_beep_per_block():
    definition = validate_protocol_file(ROOT / "protocols/examples/esm-blocks.yaml").definition
    preview = build_preview(
        definition, start=date(2026, 3, 2), zone="Europe/Amsterdam", wake=time(7), sleep=time(23)
    )
    per_day = Counter(row.slot.study_day for row in preview.rows)
    assert set(per_day.values()) == {10}


@pytest.mark.slow
@pytest.mark.parametrize("path", EXAMPLES, ids=NAMES)
def test_an_example_pilots_and_exports_one_row_per_beep(path, tmp_path):
    """`eas simulate` runs each design; the export's (participant, day, beep) is unique per
    questionnaire, whatever schedules feed it."""
    run_simulation(path, tmp_path / "pilot", participants=4, days=3, seed=3)
    export = tmp_path / "pilot" / "export"
    with (export / "prompts.csv").open() as handle:
        prompts = list(csv.DictReader(handle))
    assert prompts
    planned = [p for p in prompts if p["beep"] and p["status_reason"] != "participant-initiated"]
    keys = Counter(
        (p["participant"], p["questionnaire"], p["study_day"], p["beep"]) for p in planned
    )
    assert max(keys.values()) == 1
