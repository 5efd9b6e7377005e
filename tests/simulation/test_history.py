"""A demo study's simulated history (`eas simulate --into`): synthetic participants whose last
days went through the real pipeline, shown on the dashboard, sent nothing afterwards, and
added once however often `make run` runs."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from eas.core.db import db
from eas.delivery.dispatcher import Dispatcher
from eas.delivery.models import Message
from eas.delivery.simulator import SimulatorTransport
from eas.participants.models import Participant, ParticipantStatus
from eas.scheduling.models import PlannedPrompt, PromptStatus
from eas.simulation.history import PAUSE_REASON, HistoryError, add_history
from eas.studies.operations import get_study
from eas.web.heatmap import compliance_heatmap
from tests.helpers import T0

# The `demo` fixture (a demo instance with its history, added twice) is in tests/fixtures.py.


def _synthetic() -> list[Participant]:
    return db.session.scalars(
        sa.select(Participant).where(Participant.label.startswith("sim-")).order_by(Participant.id)
    ).all()


def test_synthetic_participants_joined_days_ago_and_are_paused_now(demo):
    app, _, first, _ = demo
    assert first.exit_code == 0, first.output
    assert "4 synthetic participants" in first.output
    with app.app_context():
        people = _synthetic()
        assert [p.label for p in people] == ["sim-001", "sim-002", "sim-003", "sim-004"]
        assert {p.start_date for p in people} == {(T0 - timedelta(days=2)).date()}
        assert {p.status for p in people} <= {
            ParticipantStatus.paused,
            ParticipantStatus.opted_out,
            ParticipantStatus.withdrawn,
        }
        assert ParticipantStatus.paused in {p.status for p in people}
        assert all(p.phone.startswith("+1505555") for p in people)  # readable: the instance's keys
        reasons = db.session.scalars(
            sa.text("SELECT details FROM audit_events WHERE action = 'participant.paused'")
        ).all()
        assert reasons and all(PAUSE_REASON in text for text in reasons)


def test_the_dashboard_heatmap_shows_their_days(demo):
    app, clock, _, _ = demo
    with app.app_context():
        heatmap = compliance_heatmap(get_study("ai-connection"), clock.now())
        cells = heatmap["cells"]
        assert [label for label in heatmap["labels"] if label.startswith("sim-")] == [
            "sim-001",
            "sim-002",
            "sim-003",
            "sim-004",
        ]
        assert all({1, 2} <= set(cells[label]) for label in cells if label.startswith("sim-"))
        completed = sum(done for label in cells for done, _ in cells[label].values())
        assert completed > 10


def test_nothing_is_sent_to_them_after_their_history(demo):
    app, clock, _, _ = demo
    with app.app_context():
        ids = [p.id for p in _synthetic()]
        scheduled = db.session.scalar(
            sa.select(sa.func.count()).where(
                PlannedPrompt.participant_id.in_(ids),
                PlannedPrompt.status == PromptStatus.scheduled,
            )
        )
        assert scheduled == 0
        dispatcher = Dispatcher(
            SimulatorTransport(db.engine, clock), name="after", clock=clock, workers=0
        )
        for hours in range(1, 30):
            clock.set(T0 + timedelta(hours=hours))
            dispatcher.tick()
        db.session.remove()
        sent_later = db.session.scalar(
            sa.select(sa.func.count()).where(
                Message.participant_id.in_(ids), Message.created_at > T0
            )
        )
        assert sent_later == 0
        clock.set(T0)


def test_a_second_run_adds_nothing(demo):
    app, _, _, second = demo
    assert second.exit_code == 0, second.output
    assert "already has its simulated history (4 sim-" in second.output
    with app.app_context():
        assert len(_synthetic()) == 4


def test_the_copied_rows_are_consistent(demo):
    app, _, _, _ = demo
    with app.app_context():
        path = Path(db.engine.url.database)
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
        keys = connection.execute(
            "SELECT count(*), count(DISTINCT idempotency_key) FROM messages "
            "WHERE idempotency_key IS NOT NULL"
        ).fetchone()
        assert keys[0] == keys[1] > 0


def test_no_history_for_a_production_instance(demo):
    app, clock, _, _ = demo
    with app.app_context():
        app.config["EAS_ENV"] = "production"
        try:
            with pytest.raises(HistoryError):
                add_history(
                    get_study("ai-connection"), days=1, participants=1, seed=1, now=clock.now()
                )
        finally:
            app.config["EAS_ENV"] = "development"
