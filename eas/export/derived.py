"""Variables analysts compute first, made ready: compliance rates, person means,
person-mean-centred values and within-day lag 1."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

#: Prompt outcomes that count toward compliance: settled (completed, closed unanswered, never
#: to be sent). Open, cancelled and future (`not_sent`) prompts do not: the dashboard's rule
#: (`eas.responses.compliance`).
COUNTED = frozenset({"completed", "partial", "missed", "expired", "failed"})


def count_outcome(counts: list[int], status: str) -> None:
    """counts: [planned, sendable (counted toward compliance), completed]."""
    counts[0] += 1
    counts[1] += status in COUNTED
    counts[2] += status == "completed"


def rates(planned: int, sendable: int, completed: int) -> dict[str, Any]:
    return {
        "planned": planned,
        "sendable": sendable,
        "completed": completed,
        "compliance": completed / sendable if sendable else None,
        "compliance_planned": completed / planned if planned else None,
    }


def derive_item_variables(
    responses: list[dict[str, Any]],
    values: dict[tuple[str, tuple[str, bool], int, int], tuple[float | None, datetime]],
) -> None:
    """Person means, person-mean-centred values and within-day lag 1 of numeric items, for one
    participant's response rows. `values` maps (item, sequence, day, beep) to the value and the
    prompt's due time, a sequence being (questionnaire, report?) as the beeps are numbered
    (`rows`); a beep without an entry (missed) leaves the next one's lag empty."""
    # Means per sequence and item: the planned prompts of one questionnaire pool across its
    # schedules; the same item in another questionnaire (a baseline and an exit), or in reports
    # the participant started, is measured in other circumstances.
    sums: dict[tuple, list[float]] = defaultdict(lambda: [0.0, 0])
    for (item_id, sequence, *_), (value, _) in values.items():
        if value is not None:
            sums[(sequence, item_id)][0] += value
            sums[(sequence, item_id)][1] += 1
    for row in responses:
        sequence, day, beep = row["_sequence"], row["study_day"], row["beep"]
        item_id = row["item"]
        if (item_id, sequence, day, beep) not in values:  # not numeric, or not a beep
            row["person_mean"] = row["person_centred"] = row["lag1"] = None
            row["lag1_gap_minutes"] = None
            continue
        value = row["value_numeric"]
        total, count = sums.get((sequence, item_id), (0.0, 0))
        mean = total / count if count else None
        row["person_mean"] = mean
        row["person_centred"] = value - mean if value is not None else None
        previous = values.get((item_id, sequence, day, beep - 1)) if beep else None
        row["lag1"] = previous[0] if previous else None
        row["lag1_gap_minutes"] = (
            (row["_due"] - previous[1]).total_seconds() / 60 if previous else None
        )
