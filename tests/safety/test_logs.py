"""A whole simulated study's log lines carry no phone number, answer text or link token."""

from __future__ import annotations

import logging
import re
from datetime import date

from eas.simulation.cohort import _NOTES
from eas.simulation.run import run_simulation
from tests.conftest import DEMO_PROTOCOL


def test_no_phone_number_or_free_text_in_any_log_line(tmp_path, caplog):
    with caplog.at_level(logging.DEBUG):
        result = run_simulation(
            DEMO_PROTOCOL, tmp_path, participants=5, days=3, seed=11, start=date(2026, 3, 6)
        )
    assert result.truth.texts_sent > 20
    # Every record, with its traceback if any: what a log file would hold.
    text = "\n".join(caplog.handler.format(record) for record in caplog.records) + caplog.text
    assert "202555" not in text and not re.search(r"\+1\d{10}", text)
    for note in _NOTES:
        assert note not in text
    assert not re.search(r"/(p|me)/[A-Za-z0-9_-]{16}", text)
