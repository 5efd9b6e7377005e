"""Log lines carry no phone number, answer text or link token: a whole simulated study's, and
what a failing path logs."""

from __future__ import annotations

import logging
import re
import traceback
from datetime import date

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from eas.delivery.models import Message
from eas.simulation.cohort import _NOTES
from eas.simulation.run import run_simulation
from eas.sms import inbound
from tests.helpers import DEMO_PROTOCOL


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


SECRET = "my partner can never know I sext my AI"


def test_a_database_error_on_an_inbound_text_shows_no_text_or_number(
    db, phone, participant, monkeypatch, caplog
):
    """A database failure while storing a text: neither its message, its traceback nor the log
    carries the statement's values (the text, the number's hash and ciphertext)."""
    messages = Message.__table__
    missing = sa.Table(
        "no_such_table", sa.MetaData(), *(sa.Column(c.name, c.type) for c in messages.c)
    )
    for name, insert in (("sqlite", sqlite.insert), ("postgresql", postgresql.insert)):
        monkeypatch.setitem(inbound._STORE, name, insert(missing).returning(missing.c.id))
    with caplog.at_level(logging.DEBUG), pytest.raises(sa.exc.DBAPIError) as raised:
        phone.text(SECRET)
    shown = "".join(traceback.format_exception(raised.value)) + caplog.text
    shown += "\n".join(caplog.handler.format(record) for record in caplog.records)
    assert "no_such_table" in shown  # the statement is there, its values are not
    assert SECRET not in shown
    assert participant.phone_hash not in shown
    assert "202555" not in shown and not re.search(r"\+1\d{10}", shown)
