"""How far ahead prompts are planned: a study of any length, even open-ended, is planned a few
weeks ahead and extended as time passes, never years of rows up front.

A participant's plan reaches `PLAN_AHEAD_DAYS` past their local today (or the study's last day,
if sooner). Where it stops short of the end, `PlanHorizon` says how far it reaches, and the
dispatcher's periodic work (`extend_plans`) extends it a week before it runs out, through the
same re-planning as any change, so the draws are the ones a full plan would have made.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

UNTIL_WITHDRAWN = "until_withdrawn"
#: Ten years of study days: the longest fixed length a protocol may give.
MAX_STUDY_DAYS = 3660
PLAN_AHEAD_DAYS = 56
#: Plans are extended when they reach less than this far past today.
EXTEND_WITHIN_DAYS = PLAN_AHEAD_DAYS - 7


def last_study_day(definition: dict[str, Any]) -> int | None:
    """The study's last day, or None for an open-ended (until withdrawn) study."""
    length = definition["study"]["duration_days"]
    return None if length == UNTIL_WITHDRAWN else length


def planning_days(
    definition: dict[str, Any], start_date: date, local_today: date
) -> tuple[int, int, bool]:
    """(first, last, complete): the study days to plan today, from yesterday (an open prompt of
    last night may still matter) up to the horizon; `complete` when that is the study's end."""
    today = (local_today - start_date).days + 1
    end = last_study_day(definition)
    horizon = max(today, 1) + PLAN_AHEAD_DAYS
    last = horizon if end is None else min(end, horizon)
    return max(1, today - 1), last, end is not None and last == end


def extend_before(now: datetime) -> date:
    """Plans reaching (in local dates) before this are extended now."""
    return now.date() + timedelta(days=EXTEND_WITHIN_DAYS)
