"""Benchmark: export a big SQLite study with `export_study` (CSV, long format), against pandas
`read_sql` + `to_csv` of the same tables in the same run.

The study is the demo protocol (protocols/ai-connection.yaml) with its five random check-ins a
day for 14 days: participants = prompts / 70. Its prompts, responses and answers are written
straight into the database (set-up, not measured) with values the protocol allows: yes/no, choice
and 0-10 scale answers, branched items recorded as `not_presented`, skips, invalid replies and
partial responses (`timeout`), paused and withdrawn participants, expired, failed and undelivered
prompts. Every response has a row per item of the questionnaire (10), as the SMS and web paths
store it; the share of sent prompts answered (--response-rate) is set so that 1,000,000 prompts
give about 5,000,000 response rows, the size named in the target. No SMS messages are stored, so
the export's `events` table is empty.

Each measured phase runs in a fresh process, so phases do not share a peak: the export at the
requested size and at a quarter of it (each in its own database: is memory flat as the study
grows?) and the pandas baseline at both sizes. Peak memory is the process's maximum resident set
(`ru_maxrss`), nothing subtracted; the resident set after start-up (imports, app) is printed
beside it. Prints a table (rows, seconds, rows/s, memory), then the speed ratio baseline time /
export time (target >= 2), the export's peak (target < 300 MB) and its growth with the study
(target: flat). Run from the repository root:

    .venv/bin/python bench/export.py [--prompts 1000000] [--response-rate 0.53] [--seed 1]
        [--profile]

--profile builds the requested size only and prints a cProfile top 15 of the export instead.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
PROTOCOL = ROOT / "protocols" / "ai-connection.yaml"
STUDY = "ai-connection"
DAYS, PER_DAY = 14, 5
PROMPTS_PER_PARTICIPANT = DAYS * PER_DAY
#: Random blocks of the waking window 09:00-22:00 (780 minutes / 5); a due time falls in the
#: first 66 minutes of its block, so two are always at least 90 minutes apart (min_gap_minutes).
BLOCK_MINUTES, DUE_SPREAD_MINUTES = 156, 67
EXPIRES_AFTER = timedelta(minutes=45)
REMINDER_AFTER = timedelta(minutes=15)
ZONES = (
    ("America/New_York", 0.55),
    ("America/Chicago", 0.15),
    ("America/Los_Angeles", 0.15),
    ("Europe/London", 0.10),
    ("Asia/Kolkata", 0.05),
)
#: Participants start over eight weeks from here (the spring-forward change of 8 March inside).
FIRST_START = date(2026, 3, 2)
#: The export is made after the last prompt closed.
EXPORTED_AT = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
BATCH_PARTICIPANTS = 500
FLAT_GROWTH = 1.10  # "flat": the full-size peak at most 10% above the quarter-size one

#: The momentary questionnaire (protocol order); items 2-5 are shown only after "yes".
SCALES = ("ai_expressive", "ai_connected", "ai_true_self")
BRANCHED = ("ai_intimate", *SCALES)
ALWAYS = ("lonely", "people_connected", "mood", "distress", "seek_contact")
ITEMS = ("ai_chat", *BRANCHED, *ALWAYS)
INTIMACY = (("neither", 0.70), ("romantic", 0.15), ("sexual", 0.07), ("both", 0.08))


def _rss_mb() -> float:
    """The resident set now (Linux), in MB."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _peak_mb() -> float:
    """The most this process held resident so far, in MB. Linux carries `ru_maxrss` over from the
    parent that started the process (fork, exec), so the parent here stays small: it imports
    neither eas nor pandas, and the set-up runs in a process of its own. `VmHWM` (this program
    image's own peak) is returned beside it in the phases' results, as a check."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux


def _hwm_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _config(database: Path, key: str) -> dict:
    return {
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
        "SECRET_KEY": "bench",
        "EAS_ENCRYPTION_KEYS": key,
        "EAS_LOOKUP_KEY": "bench",
    }


# set-up: the study's data, written directly ------------------------------------------------


class _Ids:
    def __init__(self) -> None:
        self.prompt = self.response = self.answer = 0


def _answers(rng: random.Random, e, response_id: int, ids: _Ids, started, person, partial):
    """One response's answer rows (and when its last answer came): every item, in order."""
    chatted = rng.random() < person["ai_share"]
    shown = ITEMS if chatted else ("ai_chat", *ALWAYS)
    # A partial response stops after some items: the next one shown timed out.
    stop_after = rng.randrange(1, len(shown)) if partial else len(shown)
    rows, moment, answered = [], started, 0
    awaited = None
    for position, item in enumerate(ITEMS, 1):
        ids.answer += 1
        raw = numeric = text = missing = at = None
        if item not in shown or answered >= stop_after:
            if item in shown and awaited is None:
                missing, awaited = e.timeout, item
            else:
                missing = e.not_presented
        else:
            answered += 1
            moment = at = moment + timedelta(seconds=rng.randrange(4, 60))
            draw = rng.random()
            if item == "ai_chat":
                raw, numeric, text = ("y", 1.0, "yes") if chatted else ("n", 0.0, "no")
            elif draw < 0.02:
                raw, missing = "skip", e.skipped
            elif draw < 0.025:
                raw, missing = "dunno", e.invalid
            elif item == "ai_intimate":
                text = rng.choices([v for v, _ in INTIMACY], [w for _, w in INTIMACY])[0]
                raw = str(1 + [v for v, _ in INTIMACY].index(text))
            else:
                value = min(10, max(0, round(rng.gauss(person[item], 1.8))))
                raw, numeric = str(value), float(value)
        rows.append((ids.answer, response_id, item, position, raw, numeric, text, missing, at))
    return rows, moment


def _participant_data(rng: random.Random, e, pid: int, person: dict, version_id: int, ids, rate):
    """Prompts, responses and answers of one participant, as tuples for `bulk_insert`."""
    prompts, responses, answers = [], [], []
    zone = ZoneInfo(person["zone"])
    for day_index in range(DAYS):
        study_day = day_index + 1
        local_day = person["start"] + timedelta(days=day_index)
        offset = zone.utcoffset(datetime.combine(local_day, clock_time(12)))
        wake_utc = datetime.combine(local_day, clock_time(9), tzinfo=UTC) - offset
        for beep in range(PER_DAY):
            ids.prompt += 1
            window_start = wake_utc + timedelta(minutes=BLOCK_MINUTES * beep)
            window_end = window_start + timedelta(minutes=BLOCK_MINUTES)
            due = window_start + timedelta(minutes=rng.randrange(DUE_SPREAD_MINUTES))
            expires = due + EXPIRES_AFTER
            status, reason, sent, delivered, error, reminders = e.sent, None, None, None, None, 0
            draw = rng.random()
            if person["withdrawn_after"] is not None and study_day > person["withdrawn_after"]:
                status, reason = e.cancelled, "withdrawn"
            elif study_day in person["paused_days"]:
                status, reason = e.cancelled, "paused"
            elif draw < 0.02:
                status, reason = e.expired, "not sent before it expired"
            elif draw < 0.025:
                status, reason = e.failed, "Attempt to send to unsubscribed recipient (21610)"
            if status is e.sent:
                sent = due + timedelta(seconds=rng.randrange(1, 30))
                if rng.random() < 0.99:
                    delivered = sent + timedelta(seconds=rng.randrange(2, 9))
                else:
                    error = rng.choice((30003, 30005, 30006))
                responded = rng.random() < rate * person["diligence"]
                if responded:
                    ids.response += 1
                    started = sent + timedelta(seconds=int(rng.expovariate(1 / 300)) % 2400 + 20)
                    partial = rng.random() < 0.08
                    rows, last = _answers(rng, e, ids.response, ids, started, person, partial)
                    answers.extend(rows)
                    responses.append(
                        (
                            ids.response,
                            ids.prompt,
                            e.sms,
                            e.partial if partial else e.completed,
                            started,
                            last,
                            None if partial else last,
                            None,
                            False,
                        )
                    )
                    reminders = int(started - sent > REMINDER_AFTER)
                else:
                    reminders = 1
            prompts.append(
                (
                    ids.prompt,
                    pid,
                    version_id,
                    "beeps",
                    "momentary",
                    f"{local_day.isoformat()}#{beep + 1}",
                    0,
                    e.sms,
                    study_day,
                    local_day,
                    due,
                    window_start,
                    window_end,
                    expires,
                    status,
                    reason,
                    int(sent is not None or status is e.failed),
                    sent,
                    delivered,
                    error,
                    reminders,
                    person["enrolled"],
                )
            )
    return prompts, responses, answers


PROMPT_COLUMNS = [
    "id",
    "participant_id",
    "protocol_version_id",
    "schedule_id",
    "questionnaire_id",
    "occurrence",
    "revision",
    "channel",
    "study_day",
    "local_date",
    "due_at",
    "window_start_at",
    "window_end_at",
    "expires_at",
    "status",
    "status_reason",
    "attempts",
    "sent_at",
    "delivered_at",
    "delivery_error_code",
    "reminders_sent",
    "created_at",
]
RESPONSE_COLUMNS = [
    "id",
    "prompt_id",
    "channel",
    "status",
    "started_at",
    "last_activity_at",
    "completed_at",
    "current_item_id",
    "reasked",
]
ANSWER_COLUMNS = [
    "id",
    "response_id",
    "item_id",
    "position",
    "raw_value",
    "value_numeric",
    "value_text",
    "missing_code",
    "answered_at",
]


def _people(count: int, rng: random.Random) -> list[dict]:
    people = []
    for index in range(count):
        start = FIRST_START + timedelta(days=index % 56)
        paused_from = rng.randrange(2, DAYS) if rng.random() < 0.08 else None
        people.append(
            {
                "label": f"P{index + 1:06d}",
                "zone": rng.choices([z for z, _ in ZONES], [w for _, w in ZONES])[0],
                "start": start,
                "enrolled": datetime.combine(start - timedelta(days=1), clock_time(16), UTC),
                "withdrawn_after": rng.randrange(3, DAYS) if rng.random() < 0.05 else None,
                "paused_days": {paused_from, paused_from + 1} if paused_from else set(),
                "diligence": min(1.8, max(0.2, rng.gauss(1.0, 0.3))),
                "ai_share": rng.choice((0.05, 0.2, 0.4, 0.7)),
                **{item: rng.uniform(1, 9) for item in (*SCALES, *ALWAYS)},
            }
        )
    return people


def build(database: Path, key: str, prompts: int, rate: float, seed: int) -> dict:
    """Create, migrate and fill the database; returns row counts."""
    import flask_migrate
    import sqlalchemy as sa

    from eas import create_app
    from eas.core.db import bulk_insert, db
    from eas.participants.models import (
        Channel,
        Participant,
        ParticipantStatus,
        Pause,
        TimezoneChange,
    )
    from eas.protocols.validation import validate_protocol_file
    from eas.responses.models import Answer, MissingCode, Response, ResponseStatus
    from eas.scheduling.models import PlannedPrompt, PromptStatus
    from eas.studies.operations import publish_protocol

    e = SimpleNamespace(
        **{m.name: m for m in (*PromptStatus, *ResponseStatus, *MissingCode)}, sms=Channel.sms
    )

    rng = random.Random(seed)
    count = max(1, round(prompts / PROMPTS_PER_PARTICIPANT))
    people = _people(count, rng)
    app = create_app(_config(database, key))
    with app.app_context():
        logging.disable(logging.INFO)  # Alembic's progress lines are not results
        flask_migrate.upgrade()
        published = publish_protocol(validate_protocol_file(PROTOCOL), actor="bench")
        db.session.commit()
        study_id, version_id = published.study.id, published.version.id
        db.session.execute(
            sa.insert(Participant),
            [
                {
                    "id": pid,
                    "study_id": study_id,
                    "label": person["label"],
                    "phone_encrypted": b"-",
                    "phone_hash": f"bench-{pid}",
                    "timezone": person["zone"],
                    "wake_time": clock_time(9),
                    "sleep_time": clock_time(22),
                    "channel": Channel.sms,
                    "status": ParticipantStatus.withdrawn
                    if person["withdrawn_after"]
                    else ParticipantStatus.completed,
                    "enrolled_at": person["enrolled"],
                    "start_date": person["start"],
                    "schedule_seed": rng.getrandbits(63),
                }
                for pid, person in enumerate(people, 1)
            ],
        )
        connection = db.session.connection()
        bulk_insert(
            connection,
            TimezoneChange.__table__,
            ["participant_id", "timezone", "effective_at", "recorded_at"],
            [(pid, p["zone"], p["enrolled"], p["enrolled"]) for pid, p in enumerate(people, 1)],
        )
        pauses = []
        for pid, person in enumerate(people, 1):
            if person["paused_days"]:
                first = person["start"] + timedelta(days=min(person["paused_days"]) - 1)
                starts = datetime.combine(first, clock_time(6), UTC)
                pauses.append((pid, starts, starts + timedelta(days=2), "ill", starts))
        bulk_insert(
            connection,
            Pause.__table__,
            ["participant_id", "starts_at", "ends_at", "reason", "created_at"],
            pauses,
        )
        db.session.commit()

        ids = _Ids()
        for first in range(0, count, BATCH_PARTICIPANTS):
            batch = ([], [], [])
            for pid in range(first + 1, min(count, first + BATCH_PARTICIPANTS) + 1):
                for rows, more in zip(
                    batch,
                    _participant_data(rng, e, pid, people[pid - 1], version_id, ids, rate),
                    strict=True,
                ):
                    rows.extend(more)
            connection = db.session.connection()
            bulk_insert(connection, PlannedPrompt.__table__, PROMPT_COLUMNS, batch[0])
            bulk_insert(connection, Response.__table__, RESPONSE_COLUMNS, batch[1])
            bulk_insert(connection, Answer.__table__, ANSWER_COLUMNS, batch[2])
            db.session.commit()
        counts = {
            "participants": count,
            "prompts": ids.prompt,
            "responses": ids.response,
            "answers": ids.answer,
            "sent": db.session.scalar(
                sa.select(sa.func.count())
                .select_from(PlannedPrompt)
                .where(PlannedPrompt.status == PromptStatus.sent)
            ),
        }
        # Leave the database at rest, as a study is when someone exports it: no connection open,
        # the write-ahead log checkpointed and gone.
        db.session.close()
        db.engine.dispose()
    if database.with_name(database.name + "-wal").exists():
        raise RuntimeError("the write-ahead log is still there: a connection was left open")
    return counts


# measured phases, each in a process of its own ---------------------------------------------


def phase_export(database: Path, out: Path, key: str, profile: bool) -> dict:
    from eas import create_app
    from eas.core.db import db
    from eas.export.operations import export_study
    from eas.studies.operations import get_study

    app = create_app(_config(database, key))
    with app.app_context():
        study = get_study(STUDY)
        startup = _rss_mb()
        profiler = None
        if profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        started = time.perf_counter()
        result = export_study(study, out, now=EXPORTED_AT, fmt="csv")
        seconds = time.perf_counter() - started
        if profiler is not None:
            import pstats

            profiler.disable()
            for order in ("tottime", "cumulative"):
                pstats.Stats(profiler, stream=sys.stderr).sort_stats(order).print_stats(15)
        db.session.rollback()
    return {
        "rows": sum(result.rows.values()),
        "same_rows": result.rows["prompts"] + result.rows["responses"],
        "tables": result.rows,
        "seconds": seconds,
        "startup_mb": startup,
        "peak_mb": _peak_mb(),
        "hwm_mb": _hwm_mb(),
    }


#: The rows the export writes for prompts and responses, read as a pandas user would.
BASELINE_QUERIES = {
    "prompts": "SELECT * FROM planned_prompts",
    "responses": (
        "SELECT r.prompt_id, r.status AS response_status, r.started_at, r.completed_at, "
        "r.last_activity_at, a.item_id, a.position, a.raw_value, a.value_numeric, "
        "a.value_text, a.missing_code, a.answered_at "
        "FROM answers a JOIN responses r ON r.id = a.response_id"
    ),
}


def phase_baseline(database: Path, out: Path) -> dict:
    import sqlite3

    import pandas as pd

    startup = _rss_mb()
    out.mkdir(parents=True, exist_ok=True)
    rows = 0
    started = time.perf_counter()
    connection = sqlite3.connect(database)
    for name, query in BASELINE_QUERIES.items():
        frame = pd.read_sql(query, connection)
        frame.to_csv(out / f"{name}.csv", index=False)
        rows += len(frame)
        del frame
    connection.close()
    seconds = time.perf_counter() - started
    return {
        "rows": rows,
        "same_rows": rows,
        "seconds": seconds,
        "startup_mb": startup,
        "peak_mb": _peak_mb(),
        "hwm_mb": _hwm_mb(),
    }


def _run_phase(phase: str, database: Path, key: str, *options: str) -> dict:
    command = [sys.executable, __file__, "--phase", phase, "--database", str(database)]
    command += ["--key", key, *options]
    done = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


# the run -----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prompts", type=int, default=1_000_000)
    parser.add_argument(
        "--response-rate",
        type=float,
        default=0.53,
        help="share of sent prompts answered (on average)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", action="store_true", help="cProfile the export instead")
    parser.add_argument("--phase", choices=["build", "export", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--database", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--key", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.phase:
        os.environ["EAS_INSTANCE_PATH"] = str(args.database.parent)
        if args.phase == "build":
            result = build(args.database, args.key, args.prompts, args.response_rate, args.seed)
        elif args.phase == "export":
            result = phase_export(args.database, args.out, args.key, args.profile)
        else:
            result = phase_baseline(args.database, args.out)
        print(json.dumps(result))
        return

    from cryptography.fernet import Fernet

    key = Fernet.generate_key().decode()
    sizes = [args.prompts] if args.profile else [args.prompts // 4, args.prompts]
    with tempfile.TemporaryDirectory(prefix="eas-bench-export-") as folder:
        tmp = Path(folder)
        os.environ["EAS_INSTANCE_PATH"] = str(tmp)
        counts, results = {}, {}
        for size in sizes:
            database = tmp / f"study-{size}" / "eas.sqlite3"
            database.parent.mkdir()
            started = time.perf_counter()
            counts[size] = _run_phase(
                "build",
                database,
                key,
                f"--prompts={size}",
                f"--response-rate={args.response_rate}",
                f"--seed={args.seed}",
            )
            counts[size]["build_seconds"] = time.perf_counter() - started
            c = counts[size]
            print(
                f"built {c['prompts']:,} prompts ({c['participants']:,} participants, "
                f"{c['sent']:,} sent), {c['responses']:,} responses, {c['answers']:,} answers "
                f"in {c['build_seconds']:.0f} s (set-up, not measured)",
                flush=True,
            )
            if args.profile:
                _run_phase("export", database, key, f"--out={tmp / 'profile'}", "--profile")
                return
            for phase in ("export", "baseline"):
                out = f"--out={database.parent / phase}"
                results[(phase, size)] = _run_phase(phase, database, key, out)
            shutil.rmtree(database.parent)  # keep the disk use to one study at a time

    _report(sizes, counts, results)


def _report(sizes: list[int], counts: dict, results: dict) -> None:
    quarter, full = sizes
    print()
    print(f"{'phase':<34} {'rows':>11} {'seconds':>8} {'rows/s':>9} {'start-up MB':>12} "
          f"{'peak MB':>8}")  # fmt: skip
    for size in sizes:
        for phase, name in (("export", "eas export_study (csv)"), ("baseline", "pandas")):
            r = results[(phase, size)]
            label = f"{name} @ {counts[size]['prompts']:,}"
            print(
                f"{label:<34} {r['rows']:>11,} {r['seconds']:>8.1f} "
                f"{r['rows'] / r['seconds']:>9,.0f} {r['startup_mb']:>12.0f} "
                f"{r['peak_mb']:>8.0f}"
            )
    for (phase, size), r in results.items():
        if abs(r["peak_mb"] - r["hwm_mb"]) > 5:
            print(f"note: {phase} @ {size:,}: ru_maxrss {r['peak_mb']:.0f} MB, VmHWM "
                  f"{r['hwm_mb']:.0f} MB")  # fmt: skip
    tables = results[("export", full)]["tables"]
    print("export rows by table: " + ", ".join(f"{k} {v:,}" for k, v in tables.items()))
    export, baseline = results[("export", full)], results[("baseline", full)]
    assert export["same_rows"] == baseline["rows"], (export["same_rows"], baseline["rows"])
    ratio = baseline["seconds"] / export["seconds"]
    growth = export["peak_mb"] / results[("export", quarter)]["peak_mb"]
    print()
    print(
        f"speed: export {export['same_rows'] / export['seconds']:,.0f} prompt+response rows/s, "
        f"pandas {baseline['rows'] / baseline['seconds']:,.0f}: ratio pandas time / export "
        f"time {ratio:.2f} (target >= 2): {'met' if ratio >= 2 else 'NOT met'}"
    )
    print(
        f"peak memory of the export: {export['peak_mb']:.0f} MB (target < 300 MB): "
        f"{'met' if export['peak_mb'] < 300 else 'NOT met'}"
    )
    print(
        f"growth: {results[('export', quarter)]['peak_mb']:.0f} MB at "
        f"{counts[quarter]['prompts']:,} prompts, {export['peak_mb']:.0f} MB at "
        f"{counts[full]['prompts']:,}: x{growth:.2f} for x{full / quarter:.0f} the data "
        f"(target flat, <= x{FLAT_GROWTH:.2f}): {'met' if growth <= FLAT_GROWTH else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
