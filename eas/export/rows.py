"""The export's rows, participant by participant: bounded memory whatever the study's size.

Participants are read in chunks (`loading`); for each chunk a few queries fetch its prompts,
responses and answers as plain tuples (no ORM objects: a million prompts must stay fast).
Derived variables that need a participant's whole history (beeps, person means, lags) are
computed per participant, then the participant's rows are handed on and forgotten.

Beeps belong to the questionnaire and the participant's day, not to the schedule: a prompt's
beep is its position, from 1, among the participant's prompts of the same questionnaire on the
same study day, in due order (then id), every prompt counted but those replaced by a re-plan
(`superseded`, no beep). Planned prompts (fixed, random, interval, once) make one sequence per
questionnaire and day whatever schedule planned them; reports the participant starts (`event`
schedules) make a sequence of their own, so a report never moves a planned beep (`sequence`).
Lags, person means and compliance per beep follow the same sequences.

Local times use the zone in force at the prompt's due time (the participant's zone history),
for every time of that prompt.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

import sqlalchemy as sa

from eas.core.crypto import SEALED_PREFIX, unsealed
from eas.core.db import core_execute
from eas.export.derived import count_outcome, derive_item_variables, rates
from eas.export.loading import ANSWER_MISSING, Chunk, PromptRow, load_chunk, participants
from eas.participants.models import Participant
from eas.responses.prompt_states import prompt_state
from eas.scheduling.localtime import zone, zone_at
from eas.scheduling.models import CancelReason

#: Participants read at a time.
EXPORT_CHUNK = 100
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
#: A prompt's times besides the scheduled one, as (UTC column, local column).
_TIMES = tuple(
    (f"{stem}_utc", f"{stem}_local")
    for stem in (
        "window_start",
        "window_end",
        "expires",
        "sent",
        "delivered",
        "started",
        "completed",
    )
)
#: Item types whose exported value or label is worked out from the stored one (and cached).
_LABELLED = ("yes_no", "choice", "multi_choice", "scale", "slider")


@dataclass
class ItemInfo:
    item: dict[str, Any]
    questionnaire: str
    #: (value_numeric, value_text) -> (value, value_label); few distinct answers per item.
    _described: dict[tuple, tuple] = field(default_factory=dict, repr=False, compare=False)

    @cached_property
    def numeric(self) -> bool:
        return self.item["type"] in ("yes_no", "scale", "slider", "number") or (
            self.item["type"] == "choice"
            and all(isinstance(o["value"], int | float) for o in self.item["options"])
        )

    def describe(self, value_numeric, value_text) -> tuple[str | None, str | None]:
        """The exported value and value label of a stored answer."""
        if self.item["type"] not in _LABELLED:
            return value_text, None
        key = (value_numeric, value_text)
        found = self._described.get(key)
        if found is None:
            if len(self._described) > 4096:  # bounded, also for many multi_choice combinations
                self._described.clear()
            found = self._described[key] = (
                _value_text(self.item, value_text),
                _labels(self.item, value_numeric, value_text),
            )
        return found


@dataclass
class ParticipantRows:
    participant: dict[str, Any]
    prompts: list[dict[str, Any]] = field(default_factory=list)
    responses: list[dict[str, Any]] = field(default_factory=list)
    days: list[dict[str, Any]] = field(default_factory=list)


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
        chunk: int = EXPORT_CHUNK,
    ) -> None:
        self.study = study
        self.items = items
        self.now = now
        self.since = since
        self.chunk = chunk
        #: (questionnaire, beep) -> [planned, sendable, completed], planned prompts only.
        self.beeps: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0, 0])
        self.study_versions = {version.id: version.number for version in study.versions}
        #: Participant-initiated reports: exported like prompts, but not compliance.
        self.event_schedules = {
            schedule["id"]
            for version in study.versions
            for schedule in version.definition["schedules"]
            if schedule["type"] == "event"
        }

    @cached_property
    def arms(self) -> dict[int, tuple[str | None, str | None]]:
        """Each participant's (arm, stratum), by id: one small row each, read once."""
        found = core_execute(
            sa.select(Participant.id, Participant.arm, Participant.arm_stratum).where(
                Participant.study_id == self.study.id
            )
        )
        return {pid: (arm, stratum) for pid, arm, stratum in found}

    def sequence(self, prompt: PromptRow) -> tuple[str, bool]:
        """The beep sequence a prompt belongs to: its questionnaire, and whether it is a report
        the participant started (reports are numbered apart from planned prompts)."""
        return prompt.questionnaire_id, prompt.schedule_id in self.event_schedules

    def __iter__(self) -> Iterator[ParticipantRows]:
        everyone = participants(self.study.id)
        for start in range(0, len(everyone), self.chunk):
            people = everyone[start : start + self.chunk]
            loaded = load_chunk([person[0] for person in people])
            for person in people:
                yield self._participant(person, loaded)

    # one participant -------------------------------------------------------------------

    def _participant(self, person, chunk: Chunk) -> ParticipantRows:
        pid, label, group, status, channel, current_zone, enrolled, start, wake, sleep = person
        history = chunk.history.get(pid, [])
        arm, stratum = self.arms.get(pid, (None, None))
        rows = ParticipantRows(
            {
                "participant": label,
                "group": group,
                "status": status.value,
                "arm": arm,
                "arm_stratum": stratum,
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
        #: (study day, sequence) -> beeps so far.
        counters: dict[tuple[int, tuple[str, bool]], int] = defaultdict(int)
        index, previous_due = 0, None
        days: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
        #: (item, sequence, day, beep) -> (value, scheduled time), for lags.
        values: dict[tuple, tuple[float | None, datetime]] = {}
        prompts = chunk.prompts.get(pid, [])
        #: Each slot's latest revision: an earlier one was replaced (a pause, then a resume).
        latest = {(p.schedule_id, p.occurrence): p.revision for p in prompts}
        for prompt in prompts:
            given = chunk.answers.get(prompt.id, [])
            row = self._prompt_row(prompt, label, group, arm, chunk, given, history)
            rows.prompts.append(row)
            replaced = (
                prompt.status_reason == CancelReason.superseded.value
                or prompt.revision < latest[(prompt.schedule_id, prompt.occurrence)]
            )
            if not replaced:
                sequence = self.sequence(prompt)
                counters[(prompt.study_day, sequence)] += 1
                index += 1
                row["beep"] = counters[(prompt.study_day, sequence)]
                row["prompt_index"] = index
                if previous_due is not None:
                    row["minutes_since_previous"] = (
                        prompt.due_at - previous_due
                    ).total_seconds() / 60
                previous_due = prompt.due_at
                if not sequence[1] and (self.since is None or prompt.due_at >= self.since):
                    count_outcome(days[prompt.study_day], row["status"])
                    count_outcome(self.beeps[(prompt.questionnaire_id, row["beep"])], row["status"])
            if given:
                self._response_rows(rows.responses, values, row, prompt, given)
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
            prompts_sent=sum(
                1
                for p in rows.prompts
                if p["sent_utc"] is not None and p["schedule"] not in self.event_schedules
            ),
            reports_completed=sum(
                1
                for p in rows.prompts
                if p["status"] == "completed" and p["schedule"] in self.event_schedules
            ),
            prompts_completed=completed,
            compliance=completed / sendable if sendable else None,
            compliance_planned=completed / planned if planned else None,
        )
        return rows

    def compliance_beeps(self) -> list[dict[str, Any]]:
        return [
            {"questionnaire": questionnaire, "beep": beep, **rates(*counts)}
            for (questionnaire, beep), counts in sorted(self.beeps.items())
        ]

    def _prompt_row(
        self, prompt: PromptRow, label, group, arm, chunk: Chunk, given, history
    ) -> dict:
        zone_name = zone_at(history, prompt.due_at, "UTC")
        tz = zone(zone_name)
        response = chunk.responses.get(prompt.id)
        due = prompt.due_at.astimezone(tz)
        started = response.started_at if response else None
        finished = None
        if response is not None:
            finished = response.completed_at or response.last_activity_at
        row: dict[str, Any] = {
            "prompt_id": prompt.id,
            "participant": label,
            "group": group,
            "arm": arm,
            "schedule": prompt.schedule_id,
            "questionnaire": prompt.questionnaire_id,
            "protocol_version": self.study_versions.get(prompt.protocol_version_id),
            "channel": prompt.channel,
            "study_day": prompt.study_day,
            "beep": None,
            "prompt_index": None,
            "timezone": zone_name,
            "utc_offset": _offset(due),
            "local_hour": due.hour,
            "weekday": _WEEKDAYS[due.weekday()],
            "reminders": prompt.reminders_sent,
            "delivery_status": chunk.delivery.get(prompt.id),
            "delivery_error_code": prompt.delivery_error_code,
            "status": prompt_state(
                prompt.status, response.status if response else None, prompt.expires_at, self.now
            ),
            "status_reason": prompt.status_reason,
            "latency_seconds": (started - prompt.sent_at).total_seconds()
            if started and prompt.sent_at
            else None,
            "duration_seconds": (finished - started).total_seconds() if started else None,
            "items_presented": sum(a[ANSWER_MISSING] != "not_presented" for a in given)
            if response
            else None,
            "items_answered": sum(a[ANSWER_MISSING] is None for a in given) if response else None,
            "minutes_since_previous": None,
            "scheduled_utc": prompt.due_at,
            "scheduled_local": due.replace(tzinfo=None),
        }
        for (utc, local), moment in zip(
            _TIMES,
            (
                prompt.window_start_at,
                prompt.window_end_at,
                prompt.expires_at,
                prompt.sent_at,
                prompt.delivered_at,
                started,
                response.completed_at if response else None,
            ),
            strict=True,
        ):
            row[utc] = moment
            row[local] = moment.astimezone(tz).replace(tzinfo=None) if moment else None
        return row

    def _response_rows(self, out: list, values: dict, prompt_row: dict, prompt, given) -> None:
        """One row per answer of a prompt; numeric values also into `values`, for lags."""
        tz = zone(prompt_row["timezone"])
        beep, sequence, day = prompt_row["beep"], self.sequence(prompt), prompt.study_day
        version, questionnaire = prompt.protocol_version_id, prompt.questionnaire_id
        # What every answer of the prompt shares, copied into each row.
        shared = {
            "prompt_id": prompt.id,
            "participant": prompt_row["participant"],
            "questionnaire": questionnaire,
            "study_day": day,
            "beep": beep,
            "scheduled_local": prompt_row["scheduled_local"],
            "_sequence": sequence,
            "_due": prompt.due_at,
        }
        items = self.items  # as the prompt's own protocol version defined them
        for _, item_id, position, raw, numeric, text, missing, answered in given:
            # Read as stored (`loading.stored`): unsealed here, the rare sealed ones only.
            if raw is not None and raw.startswith(SEALED_PREFIX):
                raw = unsealed(raw)
            if text is not None and text.startswith(SEALED_PREFIX):
                text = unsealed(text)
            info = items.get((version, questionnaire, item_id))
            value, value_label = (text, None) if info is None else info.describe(numeric, text)
            out.append(
                {
                    **shared,
                    "item": item_id,
                    "position": position,
                    "value_raw": raw,
                    "value_numeric": numeric,
                    "value": value,
                    "value_label": value_label,
                    "missing": missing,
                    "answered_utc": answered,
                    "answered_local": answered.astimezone(tz).replace(tzinfo=None)
                    if answered
                    else None,
                }
            )
            if beep is not None and info is not None and info.numeric:
                values[(item_id, sequence, day, beep)] = (numeric, prompt.due_at)


def _offset(aware_local: datetime) -> str:
    seconds = int(aware_local.utcoffset().total_seconds())
    sign = "-" if seconds < 0 else "+"
    hours, minutes = divmod(abs(seconds) // 60, 60)
    return f"{sign}{hours:02d}:{minutes:02d}"
