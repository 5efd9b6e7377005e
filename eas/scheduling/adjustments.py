"""What the planner settles once every slot is drawn: pauses, overlapping SMS prompts, and
reminder times (the rules are in `eas.scheduling.planner`'s docstring)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from eas.scheduling.reasons import CancelReason
from eas.scheduling.subjects import PlannedSlot


def apply_pauses(slot: PlannedSlot, pauses: tuple[tuple[datetime, datetime | None], ...]) -> None:
    for start, end in pauses:
        if start <= slot.due_at and (end is None or slot.due_at < end):
            slot.cancel_reason = CancelReason.paused.value
            return


def apply_overlap(slots: list[PlannedSlot], *, skip_new: bool) -> None:
    """An SMS prompt still open when the next is due closes then (or, `skip_new`, the next is
    not sent); the second of two due at one instant is not sent. `slots` in due order."""
    open_slot: PlannedSlot | None = None
    for slot in slots:
        if slot.channel != "sms" or slot.cancel_reason:
            continue
        if open_slot is not None and open_slot.expires_at > slot.due_at:
            if skip_new or open_slot.due_at == slot.due_at:
                slot.cancel_reason = CancelReason.overlap.value
                continue
            open_slot.expires_at = slot.due_at
        open_slot = slot


def add_reminders(slots: list[PlannedSlot], schedules: list[dict[str, Any]]) -> None:
    delays = {
        schedule["id"]: [
            timedelta(minutes=reminder["after_minutes"])
            for reminder in schedule.get("reminders", [])
        ]
        for schedule in schedules
    }
    for slot in slots:
        if delays[slot.schedule_id]:
            slot.reminders_at = tuple(
                moment
                for delay in delays[slot.schedule_id]
                for moment in [slot.due_at + delay]
                if moment < slot.expires_at
            )
