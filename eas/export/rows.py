"""The export's rows, participant by participant: bounded memory whatever the study's size.

Participants are read in chunks; for each chunk three queries fetch its prompts, responses and
answers as plain tuples (no ORM objects: a million prompts must stay fast). Derived variables
that need a participant's whole history (beeps, person means, lags) are computed per
participant, then the participant's rows are handed on and forgotten.

Local times use the zone in force at the prompt's due time (the participant's zone history),
for every time of that prompt.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from eas.core.db import db
from eas.delivery.models import Message
from eas.export.derived import count_outcome, derive_item_variables, rates
from eas.participants.models import Participant, ParticipantGroup, TimezoneChange
from eas.responses.models import Answer, Response, ResponseStatus
from eas.scheduling.localtime import zone, zone_at
from eas.scheduling.models import CancelReason, PlannedPrompt, PromptStatus

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass
class ItemInfo:
    item: dict[str, Any]
    questionnaire: str

    @property
    def numeric(self) -> bool:
        return self.item["type"] in ("yes_no", "scale", "slider", "number") or (
            self.item["type"] == "choice"
            and all(isinstance(o["value"], int | float) for o in self.item["options"])
        )


@dataclass
class ParticipantRows:
    participant: dict[str, Any]
    prompts: list[dict[str, Any]] = field(default_factory=list)
    responses: list[dict[str, Any]] = field(default_factory=list)
    days: list[dict[str, Any]] = field(default_factory=list)


def _local(moment: datetime | None, zone_name: str) -> datetime | None:
    return moment.astimezone(zone(zone_name)).replace(tzinfo=None) if moment else None


def _offset(moment: datetime, zone_name: str) -> str:
    seconds = int(moment.astimezone(zone(zone_name)).utcoffset().total_seconds())
    sign = "-" if seconds < 0 else "+"
    hours, minutes = divmod(abs(seconds) // 60, 60)
    return f"{sign}{hours:02d}:{minutes:02d}"


def prompt_status(status: PromptStatus, response_status, expires_at, now) -> str:
    if status is PromptStatus.sent:
        if response_status is ResponseStatus.completed:
            return "completed"
        if response_status is not None:
            return "partial"
        return "missed" if expires_at <= now else "open"
    if status in (PromptStatus.scheduled, PromptStatus.sending):
        return "not_sent"
    return status.value  # expired, cancelled, failed


def _labels(item: dict[str, Any], value_numeric, value_text) -> str | None:
    kind = item["type"]
    if kind == "yes_no" and value_text:
        return value_text.capitalize()
    if kind in ("choice", "multi_choice") and value_text is not None:
        values = json.loads(value_text) if kind == "multi_choice" else [value_text]
        by_value = {str(o["value"]): str(o["label"]) for o in item["options"]}
        return ";".join(by_value.get(str(v), str(v)) for v in values)
    if kind in ("scale", "slider") and value_numeric is not None:
        anchors = {a["value"]: a["label"] for a in item.get("anchors", [])}
        return anchors.get(int(value_numeric))
    return None


def _value_text(item: dict[str, Any], value_text: str | None) -> str | None:
    if item["type"] == "multi_choice" and value_text is not None:
        return ";".join(str(v) for v in json.loads(value_text))
    return value_text


class StudyRows:
    def __init__(
        self,
        study,
        items: dict[tuple[str, str], ItemInfo],
        now: datetime,
        since: datetime | None = None,
        chunk: int = 100,
    ) -> None:
        self.study = study
        self.items = items
        self.now = now
        self.since = since
        self.chunk = chunk
        self.beeps: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0, 0])
        self.study_versions = {version.id: version.number for version in study.versions}
        #: Participant-initiated reports: exported like prompts, but not compliance.
        self.event_schedules = {
            schedule["id"]
            for version in study.versions
            for schedule in version.definition["schedules"]
            if schedule["type"] == "event"
        }

    def item(self, prompt, item_id: str) -> ItemInfo | None:
        """The item as the prompt's own protocol version defined it (labels, type)."""
        return self.items.get((prompt.protocol_version_id, prompt.questionnaire_id, item_id))

    def participants(self) -> list[tuple]:
        return db.session.execute(
            sa.select(
                Participant.id,
                Participant.label,
                ParticipantGroup.label,
                Participant.status,
                Participant.channel,
                Participant.timezone,
                Participant.enrolled_at,
                Participant.start_date,
                Participant.wake_time,
                Participant.sleep_time,
            )
            .outerjoin(ParticipantGroup, ParticipantGroup.id == Participant.group_id)
            .where(Participant.study_id == self.study.id)
            .order_by(Participant.label)
        ).all()

    def __iter__(self) -> Iterator[ParticipantRows]:
        everyone = self.participants()
        for start in range(0, len(everyone), self.chunk):
            chunk = everyone[start : start + self.chunk]
            yield from self._chunk(chunk)

    # loading ---------------------------------------------------------------------------

    def _chunk(self, chunk: list[tuple]) -> Iterator[ParticipantRows]:
        ids = [row[0] for row in chunk]
        # Every prompt, also before --since: beeps, indexes, gaps and lags must not depend on
        # where an export starts (so incremental exports can be put together); rows before
        # `since` are left out at the end.
        prompt_filter = [PlannedPrompt.participant_id.in_(ids)]
        prompts = db.session.execute(
            sa.select(
                PlannedPrompt.id,
                PlannedPrompt.participant_id,
                PlannedPrompt.protocol_version_id,
                PlannedPrompt.schedule_id,
                PlannedPrompt.questionnaire_id,
                PlannedPrompt.channel,
                PlannedPrompt.study_day,
                PlannedPrompt.due_at,
                PlannedPrompt.window_start_at,
                PlannedPrompt.window_end_at,
                PlannedPrompt.expires_at,
                PlannedPrompt.status,
                PlannedPrompt.status_reason,
                PlannedPrompt.sent_at,
                PlannedPrompt.delivered_at,
                PlannedPrompt.delivery_error_code,
                PlannedPrompt.reminders_sent,
            )
            .where(*prompt_filter)
            .order_by(PlannedPrompt.participant_id, PlannedPrompt.due_at, PlannedPrompt.id)
        ).all()
        responses = {
            row.prompt_id: row
            for row in db.session.execute(
                sa.select(
                    Response.id,
                    Response.prompt_id,
                    Response.status,
                    Response.started_at,
                    Response.completed_at,
                    Response.last_activity_at,
                )
                .join(PlannedPrompt, PlannedPrompt.id == Response.prompt_id)
                .where(*prompt_filter)
            )
        }
        answers: dict[int, list] = defaultdict(list)
        for row in db.session.execute(
            sa.select(
                Response.prompt_id,
                Answer.item_id,
                Answer.position,
                Answer.raw_value,
                Answer.value_numeric,
                Answer.value_text,
                Answer.missing_code,
                Answer.answered_at,
            )
            .join(Response, Response.id == Answer.response_id)
            .join(PlannedPrompt, PlannedPrompt.id == Response.prompt_id)
            .where(*prompt_filter)
            .order_by(Response.prompt_id, Answer.position)
        ):
            answers[row.prompt_id].append(row)
        delivery = dict(
            db.session.execute(
                sa.select(Message.prompt_id, Message.status)
                .where(Message.participant_id.in_(ids), Message.purpose == "prompt")
                .order_by(Message.id)
            ).all()
        )
        history: dict[int, list[tuple[datetime, str]]] = defaultdict(list)
        for participant_id, effective_at, zone_name in db.session.execute(
            sa.select(
                TimezoneChange.participant_id, TimezoneChange.effective_at, TimezoneChange.timezone
            )
            .where(TimezoneChange.participant_id.in_(ids))
            .order_by(TimezoneChange.effective_at, TimezoneChange.id)
        ):
            history[participant_id].append((effective_at, zone_name))
        by_participant: dict[int, list] = defaultdict(list)
        for prompt in prompts:
            by_participant[prompt.participant_id].append(prompt)
        for person in chunk:
            yield self._participant(
                person, by_participant[person[0]], responses, answers, delivery, history[person[0]]
            )

    # one participant -------------------------------------------------------------------

    def _participant(self, person, prompts, responses, answers, delivery, history):
        _pid, label, group, status, channel, current_zone, enrolled, start, wake, sleep = person
        rows = ParticipantRows(
            {
                "participant": label,
                "group": group,
                "status": status.value,
                "channel": channel.value,
                "timezone": current_zone,
                "timezone_history": ";".join(
                    f"{z} since {t.strftime('%Y-%m-%dT%H:%M:%SZ')}" for t, z in history
                ),
                "enrolled_utc": enrolled,
                "start_date": start,
                "wake": wake.strftime("%H:%M"),
                "sleep": sleep.strftime("%H:%M"),
            }
        )
        counters: dict[tuple[int, str], int] = defaultdict(int)
        index, previous_due = 0, None
        days: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
        #: (item, schedule, day, beep) -> (value, scheduled time), for lags.
        values: dict[tuple, tuple[float | None, datetime]] = {}
        for prompt in prompts:
            rows.prompts.append(
                self._prompt_row(prompt, label, group, responses, answers, delivery, history)
            )
            row = rows.prompts[-1]
            replaced = prompt.status_reason == CancelReason.superseded.value
            if not replaced:
                counters[(prompt.study_day, prompt.schedule_id)] += 1
                index += 1
                row["beep"] = counters[(prompt.study_day, prompt.schedule_id)]
                row["prompt_index"] = index
                if previous_due is not None:
                    row["minutes_since_previous"] = (
                        prompt.due_at - previous_due
                    ).total_seconds() / 60
                previous_due = prompt.due_at
                if prompt.schedule_id not in self.event_schedules and (
                    self.since is None or prompt.due_at >= self.since
                ):
                    count_outcome(days[prompt.study_day], row["status"])
                    count_outcome(self.beeps[(prompt.schedule_id, row["beep"])], row["status"])
            for answer in answers.get(prompt.id, []):
                rows.responses.append(self._response_row(row, prompt, answer))
                info = self.item(prompt, answer.item_id)
                if row["beep"] is not None and info is not None and info.numeric:
                    key = (answer.item_id, prompt.schedule_id, prompt.study_day, row["beep"])
                    values[key] = (answer.value_numeric, prompt.due_at)
        derive_item_variables(rows.responses, values)
        if self.since is not None:
            rows.prompts = [p for p in rows.prompts if p["scheduled_utc"] >= self.since]
            kept = {p["prompt_id"] for p in rows.prompts}
            rows.responses = [r for r in rows.responses if r["prompt_id"] in kept]
        rows.days = [
            {"participant": label, "study_day": day, **rates(*counts)}
            for day, counts in sorted(days.items())
        ]
        planned = sum(d["planned"] for d in rows.days)
        sendable = sum(d["sendable"] for d in rows.days)
        completed = sum(d["completed"] for d in rows.days)
        rows.participant.update(
            prompts_planned=planned,
            prompts_sendable=sendable,
            prompts_sent=sum(1 for p in rows.prompts if p["sent_utc"] is not None),
            prompts_completed=completed,
            compliance=completed / sendable if sendable else None,
            compliance_planned=completed / planned if planned else None,
        )
        return rows

    def compliance_beeps(self) -> list[dict[str, Any]]:
        return [
            {"schedule": schedule, "beep": beep, **rates(*counts)}
            for (schedule, beep), counts in sorted(self.beeps.items())
        ]

    def _prompt_row(self, prompt, label, group, responses, answers, delivery, history) -> dict:
        zone_name = zone_at(history, prompt.due_at, "UTC")
        response = responses.get(prompt.id)
        given = answers.get(prompt.id, [])
        due_local = _local(prompt.due_at, zone_name)
        started = response.started_at if response else None
        finished = None
        if response is not None:
            finished = response.completed_at or response.last_activity_at
        row: dict[str, Any] = {
            "prompt_id": prompt.id,
            "participant": label,
            "group": group,
            "schedule": prompt.schedule_id,
            "questionnaire": prompt.questionnaire_id,
            "protocol_version": self.study_versions.get(prompt.protocol_version_id),
            "channel": prompt.channel.value,
            "study_day": prompt.study_day,
            "beep": None,
            "prompt_index": None,
            "timezone": zone_name,
            "utc_offset": _offset(prompt.due_at, zone_name),
            "local_hour": due_local.hour,
            "weekday": _WEEKDAYS[due_local.weekday()],
            "reminders": prompt.reminders_sent,
            "delivery_status": delivery[prompt.id].value if prompt.id in delivery else None,
            "delivery_error_code": prompt.delivery_error_code,
            "status": prompt_status(
                prompt.status, response.status if response else None, prompt.expires_at, self.now
            ),
            "status_reason": prompt.status_reason,
            "latency_seconds": (started - prompt.sent_at).total_seconds()
            if started and prompt.sent_at
            else None,
            "duration_seconds": (finished - started).total_seconds() if started else None,
            "items_presented": sum(
                a.missing_code is None or a.missing_code.value != "not_presented" for a in given
            )
            if response
            else None,
            "items_answered": sum(a.missing_code is None for a in given) if response else None,
            "minutes_since_previous": None,
        }
        for stem, moment in (
            ("scheduled", prompt.due_at),
            ("window_start", prompt.window_start_at),
            ("window_end", prompt.window_end_at),
            ("expires", prompt.expires_at),
            ("sent", prompt.sent_at),
            ("delivered", prompt.delivered_at),
            ("started", started),
            ("completed", response.completed_at if response else None),
        ):
            row[f"{stem}_utc"] = moment
            row[f"{stem}_local"] = _local(moment, zone_name)
        return row

    def _response_row(self, prompt_row: dict, prompt, answer) -> dict:
        info = self.item(prompt, answer.item_id)
        item = info.item if info else {"type": "text"}
        return {
            "prompt_id": prompt.id,
            "participant": prompt_row["participant"],
            "questionnaire": prompt.questionnaire_id,
            "study_day": prompt.study_day,
            "beep": prompt_row["beep"],
            "scheduled_local": prompt_row["scheduled_local"],
            "item": answer.item_id,
            "position": answer.position,
            "value_raw": answer.raw_value,
            "value_numeric": answer.value_numeric,
            "value": _value_text(item, answer.value_text),
            "value_label": _labels(item, answer.value_numeric, answer.value_text),
            "missing": answer.missing_code.value if answer.missing_code else None,
            "answered_utc": answer.answered_at,
            "answered_local": _local(answer.answered_at, prompt_row["timezone"]),
            "_schedule": prompt.schedule_id,
            "_due": prompt.due_at,
        }
