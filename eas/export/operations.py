"""`export_study`: the whole data package, streamed participant by participant."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from eas.audit.models import AuditEvent
from eas.core.db import core_execute, db
from eas.delivery.models import Direction, Message
from eas.export import tables as t
from eas.export.loading import stored
from eas.export.package import CsvTable, ParquetTable, resource, write_datapackage, write_readme
from eas.export.rows import EXPORT_CHUNK, ItemInfo, StudyRows
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


def item_infos(study) -> dict[tuple, ItemInfo]:
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


def wide_table(questionnaire: dict[str, Any], infos: dict, *, arms: bool = False) -> t.Table:
    """A questionnaire's wide table; with `arms` (the study has between-person arms), an `arm`
    column after `id`, unless an item of the questionnaire has that id."""
    columns = [t.Column("id", "string", "Pseudonymous participant id", required=True)]
    if arms and all(item["id"] != "arm" for item in questionnaire["items"]):
        columns.append(t.Column("arm", "string", t.ARM))
    columns += [
        t.Column("day", "integer", "Study day, from 1"),
        t.Column(
            "beep",
            "integer",
            "Beep within the day of that questionnaire, across its schedules, from 1 (reports "
            "the participant started are numbered apart)",
        ),
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
        "One row per prompt of this questionnaire that fell due (future and cancelled prompts "
        "are in `prompts` only), one column per item (openESM layout).",
        columns,
        primary_key=["prompt_id"],
        foreign_keys=[t.PROMPT_FK],
    )


#: Prompts that did not fall due: no row in the wide tables, which analysts model directly.
_NEVER_DUE = frozenset({"not_sent", "cancelled"})


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
            "arm": prompt["arm"],
            "day": prompt["study_day"],
            "beep": prompt["beep"],
            "prompt_id": prompt["prompt_id"],
            "scheduled_local": prompt["scheduled_local"],
            "status": prompt["status"],
            **answers.get(prompt["prompt_id"], {}),
        }
        for prompt in rows.prompts
        if prompt["questionnaire"] == questionnaire_id
        and prompt["beep"] is not None
        and prompt["status"] not in _NEVER_DUE
    ]


_PAUSES = (
    sa.select(Pause.participant_id, Pause.starts_at, Pause.ends_at, Pause.reason)
    .where(Pause.participant_id.in_(sa.bindparam("ids", expanding=True)))
    .order_by(Pause.starts_at, Pause.id)
)
_MESSAGE_COLUMNS = (
    Message.id,
    Message.participant_id,
    Message.prompt_id,
    Message.created_at,
    stored(Message.direction),
    Message.purpose,
    stored(Message.status),
    Message.error_code,
)
_AUDIT_COLUMNS = (
    AuditEvent.id,
    AuditEvent.participant_id,
    AuditEvent.occurred_at,
    AuditEvent.action,
)


def _side_statements(since: bool) -> tuple[sa.Select, sa.Select]:
    ids = sa.bindparam("ids", expanding=True)
    messages = sa.select(*_MESSAGE_COLUMNS).where(Message.participant_id.in_(ids))
    audit = sa.select(*_AUDIT_COLUMNS).where(
        AuditEvent.participant_id.in_(ids), AuditEvent.action.like("participant.%")
    )
    if since:
        messages = messages.where(Message.created_at >= sa.bindparam("since"))
        audit = audit.where(AuditEvent.occurred_at >= sa.bindparam("since"))
    return messages, audit


#: Built once, not per chunk: building a statement and its cache key is work repeated for nothing.
_SIDE = {since: _side_statements(since) for since in (False, True)}


@cache  # few distinct pairs, and a cache hit costs less than the call
def _kind(direction: str, purpose: str) -> str:
    return (
        "received"
        if direction == Direction.inbound.value
        else _EVENT_KINDS.get(purpose, "sent_reply")
    )


def _side_rows(ids: list[int], labels: dict[int, str], since: datetime | None):
    """Pauses (dicts) and events (tuples, see below) of a chunk of participants, in a fixed
    order."""
    pauses = [
        {"participant": labels[pid], "starts_utc": starts, "ends_utc": ends, "reason": reason}
        for pid, starts, ends, reason in core_execute(_PAUSES, {"ids": ids}).all()
    ]
    messages, audit = _SIDE[since is not None]
    params = {"ids": ids, "since": since} if since is not None else {"ids": ids}
    # Tuples in the order of the events table's columns: 100,000s of them, no dicts needed.
    events = [
        (f"m{mid}", labels[pid], prompt_id, at, _kind(direction, purpose), status, error, None)
        for mid, pid, prompt_id, at, direction, purpose, status, error in core_execute(
            messages, params
        ).all()
    ]
    events.extend(
        (
            f"a{aid}",
            labels[pid],
            None,
            at,
            "participant_change",
            None,
            None,
            action.removeprefix("participant."),
        )
        for aid, pid, at, action in core_execute(audit, params).all()
    )
    # Participant, time, then the event's id as a number (as text, m100000 < m99999).
    events.sort(key=lambda event: (event[1], event[3], event[0][0], int(event[0][1:])))
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
    chunk: int = EXPORT_CHUNK,
) -> ExportResult:
    """The study's data package in `folder`, reading `chunk` participants at a time."""
    folder.mkdir(parents=True, exist_ok=True)
    definition = study.current_version.definition
    infos = item_infos(study)
    questionnaires = definition["questionnaires"] if wide else []
    arms = any(version.definition["study"].get("arms") for version in study.versions)
    wide_tables = {q["id"]: wide_table(q, infos, arms=arms) for q in questionnaires}
    study_rows = StudyRows(study, infos, now, since, chunk=chunk)
    table_class = CsvTable if fmt == "csv" else ParquetTable
    writers = {table.name: table_class(table, folder) for table in t.FIXED_TABLES}
    writers.update({table.name: table_class(table, folder) for table in wide_tables.values()})
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
    rows = {key: writer.rows for key, writer in writers.items()}
    describe_package(folder, definition, wide_tables, rows, fmt)
    return ExportResult(folder, rows)


def describe_package(
    folder: Path, definition, wide_tables: dict[str, t.Table], rows: dict[str, int], fmt: str
) -> None:
    """datapackage.json and the README of a package: its tables (the wide ones by
    questionnaire) and their `rows` by name."""
    ext = "csv" if fmt == "csv" else "parquet"
    resources = [
        resource(table, f"{table.name}.{ext}", rows[table.name], fmt)
        for table in [*t.FIXED_TABLES, *wide_tables.values()]
    ]
    write_datapackage(folder, definition["study"], resources)
    write_readme(folder, definition["study"], fmt, list(wide_tables))


def _write_side(writers, ids: list[int], labels: dict[int, str], since) -> None:
    if not ids:
        return
    pauses, events = _side_rows(ids, labels, since)
    writers["pauses"].write(pauses)
    writers["events"].write_values(events)
