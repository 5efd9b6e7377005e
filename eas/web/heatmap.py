"""The compliance heatmap: participants x study days, coloured by the share of prompts
completed, as server-rendered SVG (no JavaScript), with the numbers as a table for screen
readers."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

import sqlalchemy as sa

from eas.core.db import db
from eas.participants.models import Participant
from eas.responses.compliance import due_so_far
from eas.scheduling.horizon import last_study_day
from eas.scheduling.models import PlannedPrompt

#: A row's height and a day's width (a cell is drawn 2 px smaller), and the room for the days'
#: numbers above the cells: big enough to read and to point at (each row's label is a link).
_CELL, _TOP = 28, 22
#: Room for a label: about 8 px a character at the labels' size, between these bounds (a
#: longer label is cut, in full in its tooltip and in the table).
_MIN_LABEL_WIDTH, _MAX_LABEL_WIDTH, _PX_PER_CHARACTER = 60, 200, 8
#: Wider than this (a long study), the days scroll sideways beside the labels.
_ROOM = 880
#: Nothing completed of what was due: orange, a hue of its own, so a day everyone missed never
#: looks like a day with nothing due (no cell at all).
_NONE_COMPLETED = "#e66101"
#: Some completed, from few (light) to all (dark blue). Blue against orange stays apart for
#: the common colour-vision deficiencies.
_SOME_COMPLETED = ["#c6dbef", "#6baed6", "#2171b5", "#08306b"]
LEGEND = [
    (_NONE_COMPLETED, "none completed"),
    (_SOME_COMPLETED[0], "under 40%"),
    (_SOME_COMPLETED[1], "40-69%"),
    (_SOME_COMPLETED[2], "70-99%"),
    (_SOME_COMPLETED[3], "all completed"),
]


def colour(completed: int, due: int) -> str:
    if completed == 0:
        return _NONE_COMPLETED
    share = completed / due
    if share >= 1:
        return _SOME_COMPLETED[3]
    return _SOME_COMPLETED[0 if share < 0.4 else 1 if share < 0.7 else 2]


def _short(label: str, width: int) -> str:
    fits = (width - 8) // _PX_PER_CHARACTER
    return label if len(label) <= fits else label[: max(1, fits - 1)] + "…"


def compliance_heatmap(study, now: datetime) -> dict:
    """Every participant of the study, one row each (also those with nothing due yet), by
    study day: completed of due prompts."""
    labels = sorted(
        db.session.scalars(sa.select(Participant.label).where(Participant.study_id == study.id))
    )
    rows = db.session.execute(
        due_so_far(study, now, Participant.label, PlannedPrompt.study_day)
    ).all()
    cells: dict[str, dict[int, tuple[int, int]]] = defaultdict(dict)
    for label, day, due, completed in rows:
        cells[label][day] = (completed, due)
    # An open-ended study shows the days that have been due so far.
    days = last_study_day(study.current_version.definition) or max(
        (day for row in cells.values() for day in row), default=1
    )
    longest = max((len(label) for label in labels), default=0)
    label_width = min(_MAX_LABEL_WIDTH, max(_MIN_LABEL_WIDTH, longest * _PX_PER_CHARACTER + 8))
    rects = []
    for row, label in enumerate(labels):
        for day, (completed, due) in sorted(cells[label].items()):
            if not 1 <= day <= days:
                continue
            rects.append(
                {
                    "x": (day - 1) * _CELL,
                    "y": _TOP + row * _CELL,
                    "colour": colour(completed, due),
                    "title": f"{label}, day {day}: {completed} of {due} completed",
                }
            )
    return {
        "labels": labels,
        "short_labels": [_short(label, label_width) for label in labels],
        "any_due": bool(rows),
        "days": days,
        "rects": rects,
        "cells": cells,
        "cell": _CELL,
        "label_width": label_width,
        "top": _TOP,
        # The days, beside the labels (`label_width` wide: the rows' links).
        "width": days * _CELL + 4,
        "height": _TOP + max(1, len(labels)) * _CELL + 4,
        "scrolls": label_width + days * _CELL + 4 > _ROOM,
        "legend": LEGEND,
    }
