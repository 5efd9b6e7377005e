"""An export written in parts, side by side, then joined: each part the rows of a run of
participants (`export_study(..., part=slice)`), the parts in the export's order.

A CSV table of the whole is the first part's file followed by the other parts' rows (their
header left out); compliance by beep is worked out again from the parts' counts added up;
the codebook is the first part's; datapackage.json and the README are written for the
joined rows. The joined package is the one `export_study` writes in one go, byte for byte.
"""

from __future__ import annotations

import shutil
from collections import defaultdict
from pathlib import Path

from eas.export import tables as t
from eas.export.derived import rates
from eas.export.loading import participants
from eas.export.operations import ExportResult, describe_package, item_infos, wide_table
from eas.export.package import CsvTable

#: Tables made of the whole study, not of its participants' rows.
_STUDY_TABLES = {t.COMPLIANCE_BEEPS.name, t.CODEBOOK.name}


def join_parts(study, folder: Path, parts: list[ExportResult]) -> ExportResult:
    """The CSV export (`wide` tables as the parts have them) of `study` in `folder`, from its
    `parts` in order."""
    _check(study, parts)
    folder.mkdir(parents=True, exist_ok=True)
    definition = study.current_version.definition
    infos = item_infos(study)
    first = parts[0]
    wide_tables = {q["id"]: wide_table(q, infos) for q in definition["questionnaires"]}
    wide_tables = {q: table for q, table in wide_tables.items() if table.name in first.rows}
    rows: dict[str, int] = defaultdict(int)
    for table in [*t.FIXED_TABLES, *wide_tables.values()]:
        name = f"{table.name}.csv"
        if table.name == t.CODEBOOK.name:
            shutil.copyfile(first.folder / name, folder / name)
            rows[table.name] = first.rows[table.name]
            continue
        if table.name in _STUDY_TABLES:
            continue
        with (folder / name).open("wb") as joined:
            for number, part in enumerate(parts):
                with (part.folder / name).open("rb") as source:
                    if number:
                        source.readline()  # the header, written once
                    shutil.copyfileobj(source, joined)
                rows[table.name] += part.rows[table.name]
    beeps: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0, 0])
    for part in parts:
        for key, counts in part.beeps.items():
            beeps[key] = [a + b for a, b in zip(beeps[key], counts, strict=True)]
    writer = CsvTable(t.COMPLIANCE_BEEPS, folder)
    try:
        writer.write(
            [
                {"schedule": schedule, "beep": beep, **rates(*counts)}
                for (schedule, beep), counts in sorted(beeps.items())
            ]
        )
    finally:
        writer.close()
    rows[t.COMPLIANCE_BEEPS.name] = writer.rows
    describe_package(folder, definition, wide_tables, rows, "csv")
    return ExportResult(folder, dict(rows), dict(beeps))


def _check(study, parts: list[ExportResult]) -> None:
    """The parts are CSV and follow each other from the first participant to the last."""
    if not parts:
        raise ValueError("no parts of an export to join")
    expected: int | None = 0
    for part in parts:
        if part.fmt != "csv":
            raise ValueError(f"only CSV exports are joined, not {part.fmt} ({part.folder})")
        start = 0 if part.part is None else part.part.start or 0
        if expected is None or start != expected:
            raise ValueError(
                f"the part in {part.folder} starts at participant {start}, not {expected}"
            )
        expected = None if part.part is None else part.part.stop
    everyone = len(participants(study.id))
    if expected is not None and expected < everyone:
        raise ValueError(f"the parts end at participant {expected} of {everyone}")
