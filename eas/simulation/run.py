"""`run_simulation`: a throwaway study in its own SQLite file, simulated, exported, reported."""

from __future__ import annotations

import logging
import time as wallclock
from collections import Counter
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

import flask_migrate
import sqlalchemy as sa

from eas.core.db import db
from eas.delivery.dispatcher import Dispatcher
from eas.delivery.models import Direction, Message
from eas.delivery.segments import count_segments
from eas.delivery.simulator import SimulatorTransport
from eas.export.operations import export_study
from eas.protocols.validation import validate_protocol_file
from eas.scheduling.preview import DEFAULT_PRICE_PER_SEGMENT, DEFAULT_SECONDS_PER_ITEM
from eas.simulation.engine import Simulation, Truth, simulation_app
from eas.studies.models import Study

DEFAULT_START = date(2026, 3, 2)  # US clocks change on March 8: DST inside a two-week study
DEFAULT_ZONES = ["America/New_York", "America/Chicago", "America/Los_Angeles", "Europe/London"]


@dataclass
class SimulationResult:
    folder: Path
    export: Path
    truth: Truth
    facts: dict[str, Any]
    seconds: float


def _message_facts(definition: dict[str, Any]) -> dict[str, Any]:
    sent = received = 0
    fired: Counter[str] = Counter()
    replies = {
        alert["reply"]: alert["id"] for alert in definition.get("alerts", []) if "reply" in alert
    }
    for direction, body in db.session.execute(sa.select(Message.direction, Message.body)):
        segments = count_segments(body).segments
        if direction is Direction.inbound:
            received += segments
        else:
            sent += segments
            if body in replies:
                fired[replies[body]] += 1
    return {
        "sms_segments_sent": sent,
        "sms_segments_received": received,
        "alerts_fired": dict(sorted(fired.items())),
    }


def run_simulation(
    protocol_path: Path,
    out: Path,
    *,
    participants: int,
    days: int,
    seed: int,
    start: date = DEFAULT_START,
    zones: list[str] | None = None,
    progress=None,
) -> SimulationResult:
    began = wallclock.perf_counter()
    zones = zones or DEFAULT_ZONES
    out.mkdir(parents=True, exist_ok=True)
    database = out / "simulation.sqlite3"
    database.unlink(missing_ok=True)
    protocol = validate_protocol_file(protocol_path)
    # --days overrides the protocol's duration; the version says so where people look.
    protocol.definition["study"]["duration_days"] = days
    protocol = replace(protocol, source_name=f"{protocol.source_name} (simulated for {days} days)")
    app = simulation_app(database, seed)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    with app.app_context():
        flask_migrate.upgrade()
        simulation = Simulation(
            app, protocol, participants=participants, days=days, seed=seed, start=start, zones=zones
        )
        simulation.enroll()
        transport = SimulatorTransport(db.engine, simulation.clock)
        dispatcher = Dispatcher(
            transport, name="simulation", clock=simulation.clock, workers=1, batch=1000
        )
        try:
            truth = simulation.run(dispatcher, progress)
        finally:
            dispatcher.close()
        study = db.session.get(Study, simulation.study_id)
        export = out / "export"
        export_study(study, export, now=simulation.clock.now(), wide=True)
        facts = {
            "protocol": protocol.definition["study"]["id"],
            "participants": participants,
            "days": days,
            "seed": seed,
            "start": start.isoformat(),
            "timezones": zones,
            "price_per_segment": DEFAULT_PRICE_PER_SEGMENT,
            "seconds_per_item": DEFAULT_SECONDS_PER_ITEM,
            "opted_out": len(truth.opted_out),
            "withdrawn": len(truth.withdrawn),
            "malformed_replies": truth.malformed_replies,
            **_message_facts(protocol.definition),
        }
        db.session.remove()
        db.engine.dispose()
    return SimulationResult(out, export, truth, facts, wallclock.perf_counter() - began)
