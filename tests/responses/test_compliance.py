"""A prompt counts toward compliance once it is settled: an open one is neither kept nor
missed (a heatmap cell turned orange, "none completed", seconds after the day's first prompt
went out, half an hour before it closed)."""

from __future__ import annotations

from datetime import timedelta

from eas.responses.compliance import compliance_by_participant
from eas.web.heatmap import compliance_heatmap


def test_an_open_prompt_is_not_counted_until_it_closes(db, clock, study, participant, send_next):
    prompt = send_next()
    (row,) = compliance_by_participant(study, clock.now())
    assert (row.completed, row.due) == (0, 0)
    assert compliance_heatmap(study, clock.now())["rects"] == []  # no cell yet, not orange
    clock.set(prompt.expires_at + timedelta(seconds=1))
    (row,) = compliance_by_participant(study, clock.now())
    assert (row.completed, row.due) == (0, 1)
    (cell,) = compliance_heatmap(study, clock.now())["rects"]
    assert cell["title"].endswith("0 of 1 completed")
