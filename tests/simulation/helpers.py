"""Shared by the simulation tests and the `demo` fixture (tests/fixtures.py)."""

from __future__ import annotations

import csv
from pathlib import Path

#: `eas simulate --into` as `make run` runs it, for four synthetic participants over two days.
HISTORY = ["simulate", "--into", "ai-connection", "--history-days", "2", "--participants", "4"]


def read_csv(folder: Path, name: str) -> list[dict[str, str]]:
    with (folder / f"{name}.csv").open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def assert_answers_exported_as_given(result, at_least: int) -> None:
    """Every answer the synthetic participants gave (their `Truth`) is in the export's
    responses as given: skipped, yes/no, choices, numbers, text."""
    answers = result.truth.answers
    assert len(answers) > at_least
    prompt_ids = {
        (p["participant"], p["questionnaire"], p["sent_utc"]): p["prompt_id"]
        for p in read_csv(result.export, "prompts")
        if p["sent_utc"]
    }
    rows = {(r["prompt_id"], r["item"]): r for r in read_csv(result.export, "responses")}
    for (label, questionnaire, received, item), value in answers.items():
        sent = received.isoformat(timespec="seconds")[:19] + "Z"
        key = (prompt_ids[(label, questionnaire, sent)], item)
        row = rows[key]
        if value is None:
            assert row["missing"] == "skipped", (label, key)
        elif isinstance(value, bool):
            assert row["value"] == ("yes" if value else "no"), (label, key)
        elif isinstance(value, list):
            assert row["value"] == ";".join(map(str, value)), (label, key)
        elif isinstance(value, int | float) and row["value_numeric"]:
            assert float(row["value_numeric"]) == value, (label, key)
        else:
            assert row["value"] == str(value), (label, key)
