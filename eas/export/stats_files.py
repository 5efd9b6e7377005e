"""SPSS (.sav) and Stata (.dta) copies of the wide tables, with variable and value labels,
for analysts who start there. Needs the `stats` extra (pyreadstat, pandas)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from eas.export.tables import PROMPT_STATUSES


def _value_labels(item: dict[str, Any]) -> dict[float, str] | None:
    if item["type"] == "yes_no":
        return {1.0: "Yes", 0.0: "No"}
    if item["type"] == "choice" and all(
        isinstance(o["value"], int | float) for o in item["options"]
    ):
        return {float(o["value"]): str(o["label"]) for o in item["options"]}
    if item["type"] in ("scale", "slider") and item.get("anchors"):
        return {float(a["value"]): str(a["label"]) for a in item["anchors"]}
    return None


def write_stats_files(
    folder: Path, questionnaires: list[dict[str, Any]], formats: list[str]
) -> list[Path]:
    try:
        import pandas as pd
        import pyreadstat
    except ImportError as missing:
        raise RuntimeError(
            "SPSS and Stata files need the stats extra: pip install 'eas[stats]'"
        ) from missing
    written = []
    for questionnaire in questionnaires:
        name = f"responses_wide_{questionnaire['id']}"
        frame = pd.read_csv(
            folder / f"{name}.csv", keep_default_na=False, na_values=[""], dtype={"id": str}
        )
        items = {item["id"]: item for item in questionnaire["items"]}
        labels = {
            "id": "Participant (pseudonymous)",
            "arm": "Between-person arm (empty: the study has none)",
            "day": "Study day",
            "beep": "Beep within the day of that questionnaire, across its schedules",
            "prompt_id": "Prompt id",
            "scheduled_local": "Scheduled local time",
            "status": "Prompt outcome (" + ", ".join(PROMPT_STATUSES) + ")",
        }
        value_labels = {}
        for item_id, item in items.items():
            labels[item_id] = item["text"][:250]
            found = _value_labels(item)
            if found and pd.api.types.is_numeric_dtype(frame[item_id]):
                value_labels[item_id] = found
        for column in frame.columns:
            if frame[column].dtype == object:
                frame[column] = frame[column].fillna("")
        if "sav" in formats:
            path = folder / f"{name}.sav"
            pyreadstat.write_sav(
                frame,
                str(path),
                column_labels=[labels.get(c, c) for c in frame.columns],
                variable_value_labels=value_labels,
            )
            written.append(path)
        if "dta" in formats:
            path = folder / f"{name}.dta"
            pyreadstat.write_dta(
                frame,
                str(path),
                column_labels=[labels.get(c, c)[:80] for c in frame.columns],
                variable_value_labels={
                    column: {int(k): v for k, v in mapping.items() if float(k).is_integer()}
                    for column, mapping in value_labels.items()
                },
            )
            written.append(path)
    return written
