"""Random prompt times: stratified draws in available time.

The day's available time (its segments laid end to end, in real minutes), less the `count - 1`
minimum gaps, is cut into `count` equal blocks with one uniform draw each; the gaps are then
put back, so each prompt is uniform within its own block and consecutive prompts are at least
`gap` minutes apart.
"""

from __future__ import annotations

import random
from datetime import datetime

from eas.scheduling import segments as seg


def random_fits(per_day: int, gap_minutes: int, available_minutes: int) -> bool:
    """Whether `per_day` draws at least `gap_minutes` apart fit: the protocol rule (per_day x gap
    within the window), and at least a minute per block once the gaps are set aside."""
    return (
        per_day * gap_minutes <= available_minutes
        and available_minutes - (per_day - 1) * gap_minutes >= per_day
    )


def stratified_draws(
    rng: random.Random, segments: list[seg.Segment], count: int, gap: int
) -> list[tuple[datetime, seg.Segment]] | None:
    """`count` instants with the block each was drawn in, or None when they do not fit."""
    timeline = seg.Timeline(segments)
    total = timeline.total
    if not random_fits(count, gap, total):
        return None
    free = total - (count - 1) * gap
    bounds = [index * free // count for index in range(count + 1)]
    drawn = []
    for index in range(count):
        low, high = bounds[index] + index * gap, bounds[index + 1] - 1 + index * gap
        offset = rng.randint(low, high)
        drawn.append((timeline.at(offset), (timeline.at(low), timeline.at(high) + seg.MINUTE)))
    return drawn
