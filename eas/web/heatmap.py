"""The compliance heatmap: participants x study days, coloured by the share of prompts
completed, as server-rendered SVG (no JavaScript), with the numbers as a table for screen
readers."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

import sqlalchemy as sa

from eas.core.db import db
from eas.participants.models import Participant
from eas.responses.models import Response, ResponseStatus
from eas.scheduling.models import PlannedPrompt
from eas.web.monitoring import DUE_STATUSES

_CELL, _LABEL_WIDTH, _TOP = 18, 90, 22
#: Colour-blind-safe steps from none (light) to all completed (dark blue).
_COLOURS = ["#f1eef6", "#bdc9e1", "#74a9cf", "#2b8cbe", "#045a8d"]


def compliance_heatmap(study, now: datetime) -> dict:
    rows = db.session.execute(
        sa.select(
            Participant.label,
            PlannedPrompt.study_day,
            sa.func.count(),
            sa.func.count(Response.id).filter(Response.status == ResponseStatus.completed),
        )
        .join(PlannedPrompt, PlannedPrompt.participant_id == Participant.id)
        .outerjoin(Response, Response.prompt_id == PlannedPrompt.id)
        .where(
            Participant.study_id == study.id,
            PlannedPrompt.status.in_(DUE_STATUSES),
            PlannedPrompt.due_at <= now,
        )
        .group_by(Participant.label, PlannedPrompt.study_day)
    ).all()
    cells: dict[str, dict[int, tuple[int, int]]] = defaultdict(dict)
    for label, day, due, completed in rows:
        cells[label][day] = (completed, due)
    labels = sorted(cells)
    days = study.current_version.definition["study"]["duration_days"]
    rects = []
    for row, label in enumerate(labels):
        for day in range(1, days + 1):
            if day not in cells[label]:
                continue
            completed, due = cells[label][day]
            share = completed / due if due else 0
            rects.append(
                {
                    "x": _LABEL_WIDTH + (day - 1) * _CELL,
                    "y": _TOP + row * _CELL,
                    "colour": _COLOURS[min(4, int(share * 4 + 0.5))],
                    "title": f"{label}, day {day}: {completed} of {due} completed",
                }
            )
    return {
        "labels": labels,
        "days": days,
        "rects": rects,
        "cells": cells,
        "cell": _CELL,
        "label_width": _LABEL_WIDTH,
        "top": _TOP,
        "width": _LABEL_WIDTH + days * _CELL + 4,
        "height": _TOP + max(1, len(labels)) * _CELL + 4,
        "colours": _COLOURS,
    }
