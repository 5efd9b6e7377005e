"""`run_simulation`: a throwaway study in its own SQLite file, simulated, exported, reported."""

from __future__ import annotations

import functools
import logging
import multiprocessing
import os
import shutil
import tempfile
import time as wallclock
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import flask_migrate
import sqlalchemy as sa

from eas.core.db import core_execute, db, session_on
from eas.delivery.dispatcher import Dispatcher
from eas.delivery.models import Direction, Message
from eas.delivery.segments import count_segments
from eas.delivery.simulator import SimulatorTransport
from eas.export.operations import export_study
from eas.protocols.validation import LoadedProtocol, validate_protocol_file
from eas.safety.models import SafetyAlert
from eas.scheduling.preview import DEFAULT_PRICE_PER_SEGMENT, DEFAULT_SECONDS_PER_ITEM
from eas.simulation.cohort import Person, make_cohort, split_cohort
from eas.simulation.database import save_database, simulation_app, start_ids
from eas.simulation.engine import Simulation
from eas.simulation.merge import copy_participants, participant_ids
from eas.simulation.truth import Truth
from eas.studies.models import Study

DEFAULT_START = date(2026, 3, 2)  # US clocks change on March 8: DST inside a two-week study
DEFAULT_ZONES = ["America/New_York", "America/Chicago", "America/Los_Angeles", "Europe/London"]
#: Participants one process simulates, on average: a larger cohort is split into shards of about
#: this size (`split_cohort`), simulated side by side (as many at once as there are cores) and
#: copied into one database. Fixed, so that the output never depends on the machine.
SHARD_SIZE = 100
#: The ids each shard gives its participants' rows, table by table: shard n (from 0) gives the
#: ids after n * SHARD_IDS, so that its rows are copied with the ids they have. Every id stays
#: a 32-bit integer, as production's are (PostgreSQL `integer`, the pages' id routes), for up
#: to `MAX_SHARDS` shards; a shard of 100 people over a year writes a few million rows to its
#: largest table (one that overflowed its range would stop the copy: `merge.IdsTaken`).
MAX_SHARDS = 64
SHARD_IDS = 2**31 // MAX_SHARDS


@dataclass
class SimulationResult:
    folder: Path
    export: Path
    truth: Truth
    facts: dict[str, Any]
    seconds: float


def _message_facts() -> dict[str, Any]:
    sent = received = 0
    # Most texts are the same few questions and answers: each distinct one is counted once.
    segments_of = functools.cache(lambda body: count_segments(body).segments)
    for direction, body in core_execute(sa.select(Message.direction, Message.body)):
        if direction is Direction.inbound:
            received += segments_of(body)
        else:
            sent += segments_of(body)
    # Every alert raised, by the protocol's rule: those without a reply to the participant and
    # those set off on a web page too.
    fired = db.session.execute(
        sa.select(SafetyAlert.rule, sa.func.count()).group_by(SafetyAlert.rule)
    ).all()
    return {
        "sms_segments_sent": sent,
        "sms_segments_received": received,
        "alerts_fired": dict(sorted(fired)),
    }


@dataclass(frozen=True)
class Cohort:
    """What one process simulates: `people` in a fresh database of their own."""

    protocol: LoadedProtocol
    people: list[Person]
    database: Path
    seed: int
    start: date
    days: int
    end: datetime
    #: App settings replacing the simulation's own (see `simulation_app`).
    settings: dict[str, Any] = field(default_factory=dict)
    #: Table name -> the id its first row gets, less one (see `database.start_ids`).
    ids_after: dict[str, int] = field(default_factory=dict)


def simulate_cohort(cohort: Cohort, progress=None) -> Truth:
    """Create the database, enrol the people and simulate them until `cohort.end`."""
    app = simulation_app(cohort.database, cohort.seed, in_memory=True, **cohort.settings)
    with app.app_context():
        try:
            truth = _simulate_in_memory(app, cohort, progress)
            save_database(cohort.database)
        finally:
            db.engine.dispose()  # the database in memory goes with its connection
    return truth


def _simulate_in_memory(app, cohort: Cohort, progress) -> Truth:
    _quietly(flask_migrate.upgrade)
    start_ids(cohort.ids_after)
    simulation = Simulation(
        app, cohort.protocol, cohort.people, start=cohort.start, days=cohort.days
    )
    # The in-memory database has one connection: the session's transactions and the phone
    # simulator's all run on it, as writers (there is no other writer to wait for, and a bound
    # connection keeps the options a transaction was begun with).
    with (
        db.engine.connect() as connection,
        session_on(connection.execution_options(eas_write=True)),
    ):
        simulation.enroll()
        transport = SimulatorTransport(connection, simulation.clock)
        dispatcher = Dispatcher(
            transport, name="simulation", clock=simulation.clock, workers=0, batch=1000
        )
        try:
            return simulation.run(dispatcher, cohort.end, progress)
        finally:
            dispatcher.close()


def _quietly(function) -> None:
    """Run without the migrations' INFO lines (the throwaway database is no news)."""
    before = logging.root.manager.disable
    logging.disable(max(before, logging.INFO))
    try:
        function()
    finally:
        logging.disable(before)


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def _simulate_in_shards(cohorts: list[Cohort], database: Path) -> Truth:
    """Each shard in a process of its own, as many at once as there are cores; then every
    shard's rows copied into `database`. Returns what the people did."""
    workers = max(1, min(len(cohorts), _cores() or 1))
    # Spawned, not forked: a fresh interpreter owes nothing to the caller's threads and files.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        truths = list(pool.map(simulate_cohort, cohorts))
    shutil.copyfile(cohorts[0].database, database)
    for cohort in cohorts[1:]:
        copy_participants(database, cohort.database)
    truth = truths[0]
    for other in truths[1:]:
        truth.absorb(other)
    return truth


def _export(database: Path, seed: int, end: datetime, export: Path) -> dict[str, Any]:
    """The export package of the simulation in `database`, in `export`; returns the facts of
    its messages."""
    app = simulation_app(database, seed)
    with app.app_context():
        try:
            study = db.session.scalar(sa.select(Study))
            export_study(study, export, now=end, wide=True)
            return _message_facts()
        finally:
            db.session.remove()
            db.engine.dispose()


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
    shard_size: int = SHARD_SIZE,
    group_size: int = 1,
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
    people = make_cohort(seed, participants, zones, days, group_size=group_size)
    # Until noon UTC the day after the last study day: every zone's last day is over.
    end = datetime.combine(start + timedelta(days=days + 1), time(12), UTC)
    shards = split_cohort(people, shard_size, protocol.definition)
    if len(shards) > MAX_SHARDS:
        raise ValueError(f"{len(shards)} shards: ids of more than {MAX_SHARDS} do not fit")
    export = out / "export"
    if len(shards) == 1:
        truth = simulate_cohort(
            Cohort(protocol, people, database, seed, start, days, end), progress
        )
    else:
        with tempfile.TemporaryDirectory(prefix="eas-simulation-") as folder:
            cohorts = [
                Cohort(
                    protocol,
                    shard,
                    Path(folder) / f"shard-{n}.sqlite3",
                    seed,
                    start,
                    days,
                    end,
                    ids_after=participant_ids(n * SHARD_IDS),
                )
                for n, shard in enumerate(shards)
            ]
            truth = _simulate_in_shards(cohorts, database)
    messages = _export(database, seed, end, export)
    facts = {
        "protocol": protocol.definition["study"]["id"],
        "participants": participants,
        "days": days,
        "seed": seed,
        "start": start.isoformat(),
        "timezones": zones,
        "group_size": group_size,
        "price_per_segment": DEFAULT_PRICE_PER_SEGMENT,
        "seconds_per_item": DEFAULT_SECONDS_PER_ITEM,
        "opted_out": len(truth.opted_out),
        "withdrawn": len(truth.withdrawn),
        "malformed_replies": truth.malformed_replies,
        **messages,
    }
    return SimulationResult(out, export, truth, facts, wallclock.perf_counter() - began)
