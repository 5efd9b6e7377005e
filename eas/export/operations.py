"""`export_study`: the whole data package, streamed participant by participant."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from eas.audit.models import AuditEvent
from eas.core.db import db
from eas.delivery.models import Direction, Message
from eas.export import tables as t
from eas.export.package import CsvTable, ParquetTable, resource, write_datapackage, write_readme
from eas.export.rows import ItemInfo, StudyRows
from eas.participants.models import Participant, Pause
from eas.protocols.sms_format import answer_hint

_EVENT_KINDS = {"prompt": "sent_prompt", "reminder": "sent_reminder", "reply": "sent_reply"}
_OPENESM_TYPES = {
    "yes_no": "binary",
    "scale": "rating_scale",
    "slider": "rating_scale",
    "choice": "categorical",
    "multi_choice": "categorical",
    "number": "numeric",
    "text": "open-text",
}


@dataclass
class ExportResult:
    folder: Path
    rows: dict[str, int]


def _items(study) -> dict[tuple, ItemInfo]:
    """Items by (version id, questionnaire, item), as each protocol version defined them, and
    by (None, questionnaire, item) in their latest wording (for wide tables)."""
    found: dict[tuple, ItemInfo] = {}
    for version in reversed(study.versions):
        for questionnaire in version.definition["questionnaires"]:
            for item in questionnaire["items"]:
                info = ItemInfo(item, questionnaire["id"])
                found[(version.id, questionnaire["id"], item["id"])] = info
                found.setdefault((None, questionnaire["id"], item["id"]), info)
    return found


def _labels(item: dict[str, Any]) -> str | None:
    if item["type"] in ("choice", "multi_choice"):
        return "; ".join(f"{o['value']}={o['label']}" for o in item["options"])
    if item.get("anchors"):
        return "; ".join(f"{a['value']}={a['label']}" for a in item["anchors"])
    if item["type"] == "yes_no":
        return "1=Yes; 0=No"
    return None


def codebook_rows(definition: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "questionnaire": questionnaire["id"],
            "item": item["id"],
            "position": position,
            "type": item["type"],
            "variable_type": _OPENESM_TYPES[item["type"]],
            "text": item["text"],
            "sms_text": item.get("sms_text"),
            "minimum": item.get("min", 0 if item["type"] == "yes_no" else None),
            "maximum": item.get("max", 1 if item["type"] == "yes_no" else None),
            "labels": _labels(item),
            "show_if": item.get("show_if"),
            "required": bool(item.get("required")),
            "construct": item.get("construct"),
            "source": item.get("source"),
            "sms_reply_format": answer_hint(item),
        }
        for questionnaire in definition["questionnaires"]
        for position, item in enumerate(questionnaire["items"], 1)
    ]


def wide_table(questionnaire: dict[str, Any], infos: dict) -> t.Table:
    columns = [
        t.Column("id", "string", "Pseudonymous participant id", required=True),
        t.Column("day", "integer", "Study day, from 1"),
        t.Column("beep", "integer", "Beep within the day, from 1"),
        t.Column("prompt_id", "integer", "Prompt id", required=True),
        t.Column("scheduled_local", "datetime", "Scheduled local time"),
        t.Column("status", "string", "Prompt outcome", categories=t.PROMPT_STATUSES),
    ]
    for item in questionnaire["items"]:
        numeric = infos[(None, questionnaire["id"], item["id"])].numeric
        columns.append(t.Column(item["id"], "number" if numeric else "string", item["text"][:200]))
    return t.Table(
        f"responses_wide_{questionnaire['id']}",
        f"{questionnaire.get('title') or questionnaire['id']} (wide)",
        "One row per prompt of this questionnaire, one column per item (openESM layout).",
        columns,
        primary_key=["prompt_id"],
        foreign_keys=[t.PROMPT_FK],
    )


def _wide_rows(rows, questionnaire_id: str, infos: dict) -> list[dict[str, Any]]:
    answers: dict[int, dict[str, Any]] = defaultdict(dict)
    for response in rows.responses:
        if response["questionnaire"] == questionnaire_id:
            info = infos.get((None, questionnaire_id, response["item"]))
            numeric = info is not None and info.numeric
            answers[response["prompt_id"]][response["item"]] = (
                response["value_numeric"] if numeric else response["value"]
            )
    return [
        {
            "id": prompt["participant"],
            "day": prompt["study_day"],
            "beep": prompt["beep"],
            "prompt_id": prompt["prompt_id"],
            "scheduled_local": prompt["scheduled_local"],
            "status": prompt["status"],
            **answers.get(prompt["prompt_id"], {}),
        }
        for prompt in rows.prompts
        if prompt["questionnaire"] == questionnaire_id and prompt["beep"] is not None
    ]


def _side_rows(ids: list[int], labels: dict[int, str], since: datetime | None):
    """Pauses and events of a chunk of participants, in a fixed order."""
    pauses = [
        {
            "participant": labels[p.participant_id],
            "starts_utc": p.starts_at,
            "ends_utc": p.ends_at,
            "reason": p.reason,
        }
        for p in db.session.scalars(
            sa.select(Pause)
            .where(Pause.participant_id.in_(ids))
            .order_by(Pause.starts_at, Pause.id)
        )
    ]
    message_filter = [Message.participant_id.in_(ids)]
    audit_filter = [AuditEvent.participant_id.in_(ids), AuditEvent.action.like("participant.%")]
    if since is not None:
        message_filter.append(Message.created_at >= since)
        audit_filter.append(AuditEvent.occurred_at >= since)
    events = [
        {
            "event_id": f"m{m.id}",
            "participant": labels[m.participant_id],
            "prompt_id": m.prompt_id,
            "at_utc": m.created_at,
            "kind": "received"
            if m.direction is Direction.inbound
            else _EVENT_KINDS.get(m.purpose, "sent_reply"),
            "status": m.status.value,
            "error_code": m.error_code,
            "detail": None,
        }
        for m in db.session.execute(
            sa.select(
                Message.id,
                Message.participant_id,
                Message.prompt_id,
                Message.created_at,
                Message.direction,
                Message.purpose,
                Message.status,
                Message.error_code,
            ).where(*message_filter)
        )
    ] + [
        {
            "event_id": f"a{a.id}",
            "participant": labels[a.participant_id],
            "prompt_id": None,
            "at_utc": a.occurred_at,
            "kind": "participant_change",
            "status": None,
            "error_code": None,
            "detail": a.action.removeprefix("participant."),
        }
        for a in db.session.execute(
            sa.select(
                AuditEvent.id, AuditEvent.participant_id, AuditEvent.occurred_at, AuditEvent.action
            ).where(*audit_filter)
        )
    ]
    events.sort(key=lambda e: (e["participant"], e["at_utc"], e["event_id"]))
    return pauses, events


def export_study(
    study,
    folder: Path,
    *,
    now: datetime,
    fmt: str = "csv",
    wide: bool = False,
    since: datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> ExportResult:
    folder.mkdir(parents=True, exist_ok=True)
    definition = study.current_version.definition
    infos = _items(study)
    questionnaires = definition["questionnaires"] if wide else []
    wide_tables = {q["id"]: wide_table(q, infos) for q in questionnaires}
    table_class = CsvTable if fmt == "csv" else ParquetTable
    writers = {table.name: table_class(table, folder) for table in t.FIXED_TABLES}
    writers.update({table.name: table_class(table, folder) for table in wide_tables.values()})
    study_rows = StudyRows(study, infos, now, since)
    labels = dict(
        db.session.execute(
            sa.select(Participant.id, Participant.label).where(Participant.study_id == study.id)
        ).all()
    )
    chunk_ids: list[int] = []
    by_label = {label: pid for pid, label in labels.items()}
    try:
        for rows in study_rows:
            writers["prompts"].write(rows.prompts)
            writers["responses"].write(rows.responses)
            writers["participants"].write([rows.participant])
            writers["compliance_days"].write(rows.days)
            for questionnaire_id, table in wide_tables.items():
                writers[table.name].write(_wide_rows(rows, questionnaire_id, infos))
            chunk_ids.append(by_label[rows.participant["participant"]])
            if len(chunk_ids) >= study_rows.chunk:
                _write_side(writers, chunk_ids, labels, since)
                chunk_ids = []
            if progress:
                progress(1)
        _write_side(writers, chunk_ids, labels, since)
        writers["compliance_beeps"].write(study_rows.compliance_beeps())
        writers["codebook"].write(codebook_rows(definition))
    finally:
        for writer in writers.values():
            writer.close()
    resources = [
        resource(table, writers[table.name].path.name, writers[table.name].rows, fmt)
        for table in [*t.FIXED_TABLES, *wide_tables.values()]
    ]
    write_datapackage(folder, definition["study"], resources)
    write_readme(folder, definition["study"], fmt, list(wide_tables))
    return ExportResult(folder, {key: writer.rows for key, writer in writers.items()})


def _write_side(writers, ids: list[int], labels: dict[int, str], since) -> None:
    if not ids:
        return
    pauses, events = _side_rows(ids, labels, since)
    writers["pauses"].write(pauses)
    writers["events"].write(events)
