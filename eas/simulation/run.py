"""`run_simulation`: a throwaway study in its own SQLite file, simulated, exported, reported."""

from __future__ import annotations

import functools
import itertools
import logging
import multiprocessing
import os
import shutil
import tempfile
import time as wallclock
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
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
from eas.export.operations import ExportResult, export_study
from eas.export.parts import join_parts
from eas.export.rows import EXPORT_CHUNK
from eas.protocols.validation import LoadedProtocol, validate_protocol_file
from eas.safety.models import SafetyAlert
from eas.scheduling.preview import DEFAULT_PRICE_PER_SEGMENT, DEFAULT_SECONDS_PER_ITEM
from eas.simulation.cohort import Person, make_cohort, split_cohort
from eas.simulation.database import check_constraints, save_database, simulation_app
from eas.simulation.engine import Simulation, Truth
from eas.simulation.heap import collector_paused, long_lived_heap
from eas.simulation.merge import copy_participants
from eas.studies.models import Study

DEFAULT_START = date(2026, 3, 2)  # US clocks change on March 8: DST inside a two-week study
DEFAULT_ZONES = ["America/New_York", "America/Chicago", "America/Los_Angeles", "Europe/London"]
#: Participants one process simulates, on average: a larger cohort is split into shards of about
#: this size (`split_cohort`), simulated side by side (as many at once as there are cores) and
#: copied into one database. Fixed, so that the output never depends on the machine.
SHARD_SIZE = 100


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


def simulate_cohort(cohort: Cohort, progress=None) -> Truth:
    """Create the database, enrol the people and simulate them until `cohort.end`."""
    app = simulation_app(cohort.database, cohort.seed, in_memory=True, **cohort.settings)
    with app.app_context():
        try:
            truth = _simulate_in_memory(app, cohort, progress)
            check_constraints()
            save_database(cohort.database)
        finally:
            db.engine.dispose()  # the database in memory goes with its connection
    return truth


def _simulate_in_memory(app, cohort: Cohort, progress) -> Truth:
    _quietly(flask_migrate.upgrade)
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
            with long_lived_heap():
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


def _simulate_in_shards(
    cohorts: list[Cohort], database: Path, export: Path, scratch: Path, chunk: int
) -> tuple[Truth, dict[str, Any]]:
    """Each shard in a process of its own, as many at once as there are cores; then every
    shard's rows copied into `database` (ids moved past the previous shards') and exported to
    `export`, in parts side by side. Returns what the people did and the facts of the
    messages."""
    workers = max(1, min(len(cohorts), _cores() or 1))
    # Spawned, not forked: a fresh interpreter owes nothing to the caller's threads and files.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        truths = list(pool.map(simulate_cohort, cohorts))
        shutil.copyfile(cohorts[0].database, database)
        truth = truths[0]
        for cohort, part in zip(cohorts[1:], truths[1:], strict=True):
            copied = copy_participants(database, cohort.database)
            truth.absorb(part, copied.prompt)
        people = sum(len(cohort.people) for cohort in cohorts)
        run = _Export(database, cohorts[0].seed, cohorts[0].end, chunk)
        # The shards' processes are warm (a new one costs a second of imports): all but the
        # first part of the export are written there, from the database as copied, the first
        # one here, and then they are joined.
        first, *rest = _export_parts(people, workers, chunk)
        others = [
            pool.submit(run.part, scratch / f"part-{n}", part) for n, part in enumerate(rest, 2)
        ]
        return truth, run.package(export, first, scratch / "part-1", others)


def _export_parts(people: int, count: int, chunk: int) -> list[slice]:
    """`people` in at most `count` runs for the export's parts, cut between its chunks."""
    chunks = -(-people // chunk)
    count = max(1, min(count, chunks))
    cuts = [chunks * n // count * chunk for n in range(count)] + [people]
    return [slice(start, stop) for start, stop in itertools.pairwise(cuts)]


@dataclass(frozen=True)
class _Export:
    """The export of a simulation's `database` (read `chunk` participants at a time)."""

    database: Path
    seed: int
    end: datetime
    chunk: int

    @contextmanager
    def _study(self) -> Iterator[Study]:
        app = simulation_app(self.database, self.seed)
        with app.app_context(), collector_paused():
            try:
                yield db.session.scalar(sa.select(Study))
            finally:
                db.session.remove()
                db.engine.dispose()

    def part(self, folder: Path, part: slice) -> ExportResult:
        """The rows of the participants in `part`, in `folder` (in a shard's process)."""
        with self._study() as study:
            return self._write(study, folder, part)

    def package(
        self, export: Path, part=None, folder=None, others: list[Future] | None = None
    ) -> dict[str, Any]:
        """The export package in `export`; returns the facts of the messages. With `others`,
        the future exports of the participants after `part`: those of `part` are written to
        `folder`, then all joined in `export`."""
        with self._study() as study:
            if others:
                first = self._write(study, folder, part)
                join_parts(study, export, [first, *(other.result() for other in others)])
            else:
                self._write(study, export, None)
            return _message_facts()

    def _write(self, study: Study, folder: Path, part: slice | None) -> ExportResult:
        return export_study(study, folder, now=self.end, wide=True, part=part, chunk=self.chunk)


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
    export_chunk: int = EXPORT_CHUNK,
) -> SimulationResult:
    """`export_chunk`: participants the export reads at a time; a sharded simulation's export
    is written in parts of whole chunks, side by side (tests make them small)."""
    began = wallclock.perf_counter()
    zones = zones or DEFAULT_ZONES
    out.mkdir(parents=True, exist_ok=True)
    database = out / "simulation.sqlite3"
    database.unlink(missing_ok=True)
    protocol = validate_protocol_file(protocol_path)
    # --days overrides the protocol's duration; the version says so where people look.
    protocol.definition["study"]["duration_days"] = days
    protocol = replace(protocol, source_name=f"{protocol.source_name} (simulated for {days} days)")
    people = make_cohort(seed, participants, zones, days)
    # Until noon UTC the day after the last study day: every zone's last day is over.
    end = datetime.combine(start + timedelta(days=days + 1), time(12), UTC)
    shards = split_cohort(people, shard_size, protocol.definition)
    export = out / "export"
    if len(shards) == 1:
        truth = simulate_cohort(
            Cohort(protocol, people, database, seed, start, days, end), progress
        )
        messages = _Export(database, seed, end, export_chunk).package(export)
    else:
        with tempfile.TemporaryDirectory(prefix="eas-simulation-") as folder:
            cohorts = [
                Cohort(protocol, shard, Path(folder) / f"shard-{n}.sqlite3", seed, start, days, end)
                for n, shard in enumerate(shards, 1)
            ]
            truth, messages = _simulate_in_shards(
                cohorts, database, export, Path(folder), export_chunk
            )
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
        **messages,
    }
    return SimulationResult(out, export, truth, facts, wallclock.perf_counter() - began)
