"""CsvTable writes values column by column through remembered formatters: the same cells as
formatting each value on its own."""

from __future__ import annotations

from datetime import UTC, datetime

from eas.export.package import CsvTable, formatter
from eas.export.tables import Column, Table

_TABLE = Table(
    "t",
    "T",
    "test",
    [
        Column("id", "integer", "id"),
        Column("x", "number", "x"),
        Column("at_utc", "datetime", "at"),
        Column("at_local", "datetime", "at"),
        Column("text", "string", "text"),
    ],
)


def _expected(row: dict) -> str:
    cells = []
    for column in _TABLE.columns:
        fmt = formatter(column)
        value = row.get(column.name)
        cells.append(fmt(value) if fmt else ("" if value is None else str(value)))
    return ",".join(cells)


def test_remembered_formatting_matches_formatting_each_value(tmp_path, monkeypatch):
    moment = datetime(2026, 3, 8, 6, 59, 59, 999999, tzinfo=UTC)
    rows = [
        {"id": 1, "x": 1, "at_utc": moment, "at_local": moment.replace(tzinfo=None), "text": "a"},
        {"id": 2, "x": 1.0, "at_utc": moment, "at_local": None, "text": None},
        {"id": 3, "x": -0.0, "at_utc": None, "at_local": moment.replace(tzinfo=None, fold=1)},
        {"id": 4, "x": 0.1 + 0.2, "at_utc": moment, "at_local": None, "text": "b"},
        {"id": 5, "x": None, "at_utc": None, "at_local": None, "text": "c"},
    ]
    monkeypatch.setattr(CsvTable, "MEMO", 1)  # also across memos being started afresh
    table = CsvTable(_TABLE, tmp_path)
    table.write(rows[:2])
    table.write([])
    table.write(rows[2:])  # the third row leaves "text" out, as wide tables do
    table.write_values([(6, 2.5, moment, None, "d")])
    table.close()
    lines = (tmp_path / "t.csv").read_text().splitlines()
    assert lines[0] == "id,x,at_utc,at_local,text"
    assert lines[1:6] == [_expected(row) for row in rows]
    assert lines[6] == "6,2.5,2026-03-08T06:59:59Z,,d"
    assert table.rows == 6
