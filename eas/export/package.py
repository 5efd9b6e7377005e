"""Writing the data package: CSV or Parquet files, `datapackage.json`, a README and a codebook.

Output is deterministic: rows in a fixed order, numbers and times always written the same way,
and nothing that depends on the wall clock or the machine, so the same data gives the same bytes.
"""

from __future__ import annotations

import csv
import json
import operator
from datetime import datetime
from pathlib import Path
from typing import Any

from eas.export.tables import Column, Table


def _number(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, int):
        return str(value)
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def _utc(value: datetime | None) -> str:
    return "" if value is None else value.isoformat(timespec="seconds")[:19] + "Z"


def _local(value: datetime | None) -> str:
    return "" if value is None else value.isoformat(timespec="seconds")


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def formatter(column: Column):
    """How one column's values are written (chosen once per column, not per cell); None: as
    they are (the csv module writes None as an empty cell, str and int as themselves)."""
    if column.type in ("string", "integer"):
        return None
    if column.type == "number":
        return _number
    if column.type == "datetime":
        return _utc if column.name.endswith("_utc") else _local
    if column.type == "boolean":
        return lambda value: "" if value is None else ("true" if value else "false")
    if column.type == "date":
        return lambda value: "" if value is None else value.isoformat()
    return _text


class _Formatted(dict):
    """A column's formatter with its results remembered: values repeat a lot (scale points,
    the scheduled time of every answer of a prompt), and a dict hit costs less than a call."""

    def __init__(self, fmt) -> None:
        super().__init__()
        self.fmt = fmt

    def __missing__(self, value: Any) -> str:
        # Keys that compare equal format the same way here (1 and 1.0, -0.0 and 0.0, a naive
        # time with fold 0 or 1), so sharing an entry is safe.
        text = self[value] = self.fmt(value)
        return text


class _FormattedUtc(_Formatted):
    # Most times are distinct: formatted inline, one call less per value.
    def __missing__(self, value: datetime | None) -> str:
        text = self[value] = "" if value is None else value.isoformat("T", "seconds")[:19] + "Z"
        return text


class _FormattedLocal(_Formatted):
    def __missing__(self, value: datetime | None) -> str:
        text = self[value] = "" if value is None else value.isoformat("T", "seconds")
        return text


def _remembering(fmt) -> _Formatted:
    kind = {_utc: _FormattedUtc, _local: _FormattedLocal}.get(fmt, _Formatted)
    return kind(fmt)


class CsvTable:
    #: Values remembered per column before starting afresh: repeats are mostly near each other
    #: (one prompt's answers, a scale's points), and memory stays small (~35 columns).
    MEMO = 2048

    def __init__(self, table: Table, folder: Path) -> None:
        self.table = table
        self.names = table.names
        self.values = operator.itemgetter(*self.names)
        if len(self.names) == 1:  # itemgetter of one name gives the value, not a tuple
            self.values = lambda row, name=self.names[0]: (row[name],)
        #: (position, remembering formatter) of the columns whose values need formatting.
        self.formatted = [
            (position, _remembering(fmt))
            for position, fmt in enumerate(formatter(column) for column in table.columns)
            if fmt is not None
        ]
        self.path = folder / f"{table.name}.csv"
        self.file = self.path.open("w", newline="", encoding="utf-8")
        self.writer = csv.writer(self.file, lineterminator="\n")
        self.writer.writerow(table.names)
        self.rows = 0

    def write(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        try:
            values = list(map(self.values, rows))
        except KeyError:  # wide tables leave unanswered items out
            names = self.names
            values = [tuple(map(row.get, names)) for row in rows]
        self.write_values(values)

    def write_values(self, values: list[tuple]) -> None:
        """Rows as tuples in the table's column order (for tables built that way: no dicts)."""
        if not values:
            return
        # Column by column: each formatted column is one map over its memo (C loops, no
        # per-cell Python call once a value has been seen).
        columns: list[Any] = list(zip(*values, strict=True))
        for position, memo in self.formatted:
            if len(memo) > self.MEMO:
                memo.clear()
            columns[position] = map(memo.__getitem__, columns[position])
        self.writer.writerows(zip(*columns, strict=True))
        self.rows += len(values)

    def close(self) -> None:
        self.file.close()


class ParquetTable:
    """Row groups written as they come, so memory stays bounded."""

    def __init__(self, table: Table, folder: Path) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.pa = pa
        self.table = table
        self.path = folder / f"{table.name}.parquet"
        self.schema = pa.schema([(c.name, _arrow_type(pa, c)) for c in table.columns])
        self.writer = pq.ParquetWriter(self.path, self.schema)
        self.rows = 0

    def write(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        columns = {
            column.name: [_arrow_value(row.get(column.name), column) for row in rows]
            for column in self.table.columns
        }
        self.writer.write_table(self.pa.Table.from_pydict(columns, schema=self.schema))
        self.rows += len(rows)

    def write_values(self, values: list[tuple]) -> None:
        names = self.table.names
        self.write([dict(zip(names, row, strict=True)) for row in values])

    def close(self) -> None:
        if self.rows == 0:
            self.writer.write_table(self.schema.empty_table())
        self.writer.close()


def _arrow_type(pa, column: Column):
    return {
        "integer": pa.int64(),
        "number": pa.float64(),
        "boolean": pa.bool_(),
        "date": pa.date32(),
        "datetime": pa.timestamp("s", tz="UTC")
        if column.name.endswith("_utc")
        else pa.timestamp("s"),
    }.get(column.type, pa.string())


def _arrow_value(value: Any, column: Column) -> Any:
    if value is None:
        return None
    if column.type == "string" and not isinstance(value, str):
        return str(value)
    if column.type == "number":
        return float(value)
    return value


def field_schema(column: Column) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "name": column.name,
        "type": column.type,
        "description": column.description,
    }
    if column.type == "datetime":
        schema["format"] = (
            "%Y-%m-%dT%H:%M:%SZ" if column.name.endswith("_utc") else "%Y-%m-%dT%H:%M:%S"
        )
    constraints: dict[str, Any] = {}
    if column.required:
        constraints["required"] = True
    if column.categories:
        constraints["enum"] = list(column.categories)
        schema["categories"] = [
            {"value": value, "label": label} for value, label in column.categories.items()
        ]
    if constraints:
        schema["constraints"] = constraints
    return schema


def resource(table: Table, path: str, rows: int, fmt: str) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "fields": [field_schema(column) for column in table.columns],
        "missingValues": [""] if fmt == "csv" else [],
    }
    if table.primary_key:
        schema["primaryKey"] = table.primary_key
    if table.foreign_keys:
        schema["foreignKeys"] = table.foreign_keys
    described = {
        "name": table.name,
        "title": table.title,
        "description": f"{table.description} ({rows} rows)",
        "path": path,
        "format": fmt,
        "schema": schema,
    }
    if fmt == "csv":
        described.update(mediatype="text/csv", encoding="utf-8")
    return described


def write_datapackage(folder: Path, study: dict[str, Any], resources: list[dict[str, Any]]) -> Path:
    package = {
        "name": study["id"],
        "title": study["title"],
        "description": (
            "Ecological momentary assessment data exported by eas. Missing values are empty "
            "cells; why a value is missing is in responses.missing (skipped, not_presented, "
            "invalid, timeout) or prompts.status/status_reason. Participants are pseudonymous."
        ),
        "resources": resources,
    }
    path = folder / "datapackage.json"
    path.write_text(json.dumps(package, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


_PY_LOAD_CSV = (
    'def load(name): return pd.read_csv(f"{name}.csv", keep_default_na=False, na_values=[""], '
    'dtype={f["name"]: {"integer": "Int64", "number": "float64"}.get(f["type"], "string") '
    'for f in fields[name] if f["type"] not in ("date", "datetime")}, '
    'parse_dates=[f["name"] for f in fields[name] if f["type"] in ("date", "datetime")])'
)
_PY_FIELDS = (
    'fields = {r["name"]: r["schema"]["fields"] '
    'for r in json.loads(pathlib.Path("datapackage.json").read_text())["resources"]}'
)
_PY_LOAD_PARQUET = 'def load(name): return pd.read_parquet(f"{name}.parquet")'


def write_readme(folder: Path, study: dict[str, Any], fmt: str, wide: list[str]) -> None:
    ext = "csv" if fmt == "csv" else "parquet"
    r_read = (
        'read.csv("{name}.csv", na.strings = "")'
        if fmt == "csv"
        else 'arrow::read_parquet("{name}.parquet")'
    )
    py_load = _PY_LOAD_CSV if fmt == "csv" else _PY_LOAD_PARQUET
    wide_lines = "".join(
        f"- `responses_wide_{q}.{ext}`: questionnaire `{q}`, one row per prompt (`id`, `day`, "
        "`beep`, one column per item; openESM layout)\n"
        for q in wide
    )
    text = f"""# {study["title"]}

Exported by eas from protocol `{study["id"]}`. Every table is described, with typed columns,
keys and category labels, in `datapackage.json` (Frictionless Data Package); item wording, type,
scale, labels, branching and SMS reply format are in `codebook.{ext}`.

- `prompts.{ext}`: every planned prompt, sent or not, with its status and reason
- `responses.{ext}`: one row per prompt and item, long format, with person means, person-mean-
  centred values and within-day lag 1 for numeric items
{wide_lines}- `participants.{ext}`, `compliance_days.{ext}`, `compliance_beeps.{ext}`,
  `pauses.{ext}`, `events.{ext}`, `codebook.{ext}`

`beep` is the beep within the day of that questionnaire, across its schedules: the prompt's
position among the participant's prompts of that questionnaire on that study day, in due order,
from 1, missed ones counted (`prompts.schedule` says which schedule planned it). Reports the
participant started are numbered apart, from 1. `lag1`, the person means and
`compliance_beeps` follow the same beeps.

Missing values are empty cells, and only empty cells: the reason is in `responses.missing` or
`prompts.status` / `status_reason`. Times come twice: `*_utc` (UTC) and `*_local` (the
participant's wall clock in the zone named in `prompts.timezone`, offset in `utc_offset`).

## R

```r
prompts <- {r_read.format(name="prompts")}
responses <- {r_read.format(name="responses")}
merged <- merge(responses, prompts, by = c("prompt_id", "participant"))
```

## Python

```python
import json, pathlib, pandas as pd
{_PY_FIELDS}
{py_load}
```

then `prompts = load("prompts")`, `responses = load("responses")`: integers as `Int64`, times as
datetimes (UTC ones time-zone aware), empty cells as missing.
"""
    (folder / "README.md").write_text(text, encoding="utf-8")
