"""Why a planned prompt was cancelled (stored in `PlannedPrompt.status_reason`).

Kept apart from the models so the pure planner can name the reasons without a database.
"""

from __future__ import annotations

import enum


class CancelReason(enum.Enum):
    """Why a prompt was cancelled (stored in `PlannedPrompt.status_reason`)."""

    paused = "paused"
    withdrawn = "withdrawn"
    opted_out = "opted_out"
    #: Re-planned: a time-zone change or a new protocol version replaced it.
    superseded = "superseded"
    #: The slot no longer exists in the study (e.g. a shorter new protocol version).
    study_ended = "study_ended"
    #: An earlier SMS prompt was still open (protocol `overlap: skip_new`), or another SMS
    #: prompt is due at the same instant.
    overlap = "overlap"
    #: A fixed time that the spring-forward shift put on the same instant as another.
    clock_change = "clock_change"
    #: After a time-zone change: closer than the schedule's minimum gap to the last prompt sent.
    too_close = "too_close"
