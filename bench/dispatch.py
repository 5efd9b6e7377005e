"""Benchmark: a burst of due prompts through real `eas scheduler` processes, and through
APScheduler 3 with one persistent job per prompt (what a Flask developer would write first).

The provider is the phone simulator taking 50 ms per call (EAS_SIMULATOR_LATENCY_MS). Two
scenarios, each with 10,000 prompts:

* burst:  all due at the same instant: how fast the backlog drains (prompts/s);
* minute: due spread over one minute: lateness (provider acceptance - due time), p50/p99.

Missed prompts (never sent) and duplicated ones (sent more than once) are counted from the
database.

Then a dispatcher is stopped in the middle of a burst sent through the real Twilio transport to
a faulty fake of Twilio (503s, 429s, answers after the client's timeout, slow answers), once
with SIGTERM and once with kill -9, and another dispatcher drains the rest. For each it prints
how long the stop took, prompts left `sending`, and once drained: sent, failed-but-sent (a
prompt recorded failed whose text Twilio has), unsent-never-retried (recorded failed, never at
Twilio) and sent twice; targets 0, 0 and 0.

Prints its figures; run from the repository root:

    .venv/bin/python bench/dispatch.py [--prompts 10000] [--database URL] [--dispatchers N]
        [--skip-apscheduler] [--stop-prompts 1000]
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.databases import temporary_database
from tests.delivery.burst import DUPLICATED, OPEN, prepare_burst, stop
from tests.delivery.twilio_server import interrupted_burst

PROVIDER_SECONDS = 0.05
SETTINGS = {
    "EAS_SIMULATOR_LATENCY_MS": int(PROVIDER_SECONDS * 1000),
    "EAS_DISPATCH_WORKERS": 64,
    "EAS_DISPATCH_BATCH": 500,
    "EAS_DISPATCH_INTERVAL_SECONDS": 0.2,
    "EAS_DISPATCH_LEASE_SECONDS": 60,
}


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def _lateness(url: str) -> tuple[list[float], datetime | None]:
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        rows = connection.exec_driver_sql(
            "SELECT p.due_at, s.received_at FROM planned_prompts p JOIN messages m "
            "ON m.prompt_id = p.id JOIN simulator_messages s "
            "ON s.idempotency_key = m.idempotency_key"
        ).all()
    engine.dispose()

    def moment(value):
        value = datetime.fromisoformat(value) if isinstance(value, str) else value
        return value if value.tzinfo else value.replace(tzinfo=UTC)

    pairs = [(moment(due), moment(received)) for due, received in rows]
    last = max((received for _, received in pairs), default=None)
    return [(received - due).total_seconds() for due, received in pairs], last


def run_eas(url: str, tmp: Path, prompts: int, dispatchers: int, spread: float) -> dict:
    first_due = datetime.now(UTC) + timedelta(seconds=8)
    burst = prepare_burst(url, tmp, prompts, first_due=first_due, spread_seconds=spread)
    processes = [
        burst.start_dispatcher(tmp / f"dispatcher-{n}", **SETTINGS) for n in range(dispatchers)
    ]
    try:
        burst.wait_for(OPEN, lambda n: n == 0, timeout=spread + 600)
    finally:
        for process in processes:
            stop(process)
    lateness, last = _lateness(url)
    sent = len(lateness)
    drain = (last - first_due).total_seconds() if last else float("nan")
    return {
        "sent": sent,
        "missed": prompts - sent,
        "duplicated": burst.count(DUPLICATED),
        # Throughput means something only when everything is due at once.
        "rate": sent / drain if drain and spread == 0 else float("nan"),
        "p50": _percentile(lateness, 0.50),
        "p99": _percentile(lateness, 0.99),
    }


# APScheduler 3, the way it is usually wired: a persistent job per prompt ---------------------

_RECORD: list[tuple[int, float]] = []
_LOCK = threading.Lock()


def send_prompt(prompt_id: int, due_timestamp: float) -> None:
    time.sleep(PROVIDER_SECONDS)  # the provider's own time
    with _LOCK:
        _RECORD.append((prompt_id, time.time() - due_timestamp))


def run_apscheduler(tmp: Path, prompts: int, spread: float) -> dict:
    from apscheduler.events import EVENT_JOB_MISSED
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler

    _RECORD.clear()
    missed = []
    scheduler = BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(url=f"sqlite:///{tmp / 'aps.sqlite3'}")},
        timezone="UTC",
    )
    scheduler.add_listener(lambda event: missed.append(event.job_id), EVENT_JOB_MISSED)
    scheduler.start(paused=True)
    first_due = datetime.now(UTC) + timedelta(seconds=5 + prompts / 400)
    step = spread / prompts
    for n in range(prompts):
        due = first_due + timedelta(seconds=n * step)
        scheduler.add_job(send_prompt, "date", run_date=due, args=[n, due.timestamp()], id=str(n))
    scheduler.resume()
    deadline = time.monotonic() + (first_due - datetime.now(UTC)).total_seconds() + spread + 120
    while time.monotonic() < deadline and len(_RECORD) + len(missed) < prompts:
        time.sleep(0.5)
    scheduler.shutdown(wait=True)
    sent = {prompt_id for prompt_id, _ in _RECORD}
    lateness = [seconds for _, seconds in _RECORD]
    last = max(lateness, default=float("nan"))
    return {
        "sent": len(sent),
        "missed": prompts - len(sent),
        "duplicated": len(_RECORD) - len(sent),
        "rate": len(sent) / last if spread == 0 and last else float("nan"),
        "p50": _percentile(lateness, 0.50),
        "p99": _percentile(lateness, 0.99),
    }


def _line(name: str, result: dict) -> str:
    rate = "" if result["rate"] != result["rate"] else f"{result['rate']:>6.0f} prompts/s"
    return (
        f"{name:<42} {result['sent']:>6} sent {result['missed']:>6} missed "
        f"{result['duplicated']:>3} duplicated {rate:>16}  "
        f"lateness p50 {result['p50']:6.2f} s  p99 {result['p99']:6.2f} s"
    )


def run_interrupted(backend: str, prompts: int) -> None:
    for how in (signal.SIGTERM, signal.SIGKILL):
        with (
            tempfile.TemporaryDirectory() as folder,
            temporary_database(backend, Path(folder)) as url,
        ):
            run = interrupted_burst(url, Path(folder), how, prompts)
        final = run.final
        met = final["failed but sent"] == final["unsent, never retried"] == final["sent twice"] == 0
        print(
            f"{how.name} mid-burst through a faulty Twilio: stopped in {run.stop_seconds:.1f} s "
            f"(exit {run.returncode}), left sending {run.left_sending}; drained: "
            f"{final['sent']}/{prompts} sent, {final['failed but sent']} failed-but-sent, "
            f"{final['unsent, never retried']} unsent-never-retried, "
            f"{final['sent twice']} sent twice; target 0/0/0: {'PASS' if met else 'FAIL'}"
            f"  (Twilio answered: {dict(run.answers)})",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prompts", type=int, default=10_000)
    parser.add_argument("--database", help="a PostgreSQL server URL (default: SQLite)")
    parser.add_argument("--dispatchers", type=int, default=1)
    parser.add_argument("--skip-apscheduler", action="store_true")
    parser.add_argument("--stop-prompts", type=int, default=1000)
    args = parser.parse_args()
    # APScheduler logs every missed job as a warning: the count below says it once.
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
    backend = "postgres" if args.database else "sqlite"
    if args.database:
        import os

        os.environ["EAS_TEST_POSTGRES_URL"] = args.database
    print(f"{args.prompts:,} prompts, provider {PROVIDER_SECONDS * 1000:.0f} ms per call, "
          f"{backend}")  # fmt: skip
    for scenario, spread in (("burst", 0.0), ("minute", 60.0)):
        for dispatchers in sorted({1, args.dispatchers}):
            with (
                tempfile.TemporaryDirectory() as folder,
                temporary_database(backend, Path(folder)) as url,
            ):
                result = run_eas(url, Path(folder), args.prompts, dispatchers, spread)
            print(_line(f"eas, {dispatchers} dispatcher(s), {scenario}", result), flush=True)
        if not args.skip_apscheduler:
            with tempfile.TemporaryDirectory() as folder:
                result = run_apscheduler(Path(folder), args.prompts, spread)
            print(_line(f"APScheduler 3, job per prompt, {scenario}", result), flush=True)
    print("lateness: provider acceptance - due time, including the provider's "
          f"{PROVIDER_SECONDS * 1000:.0f} ms")  # fmt: skip
    run_interrupted(backend, args.stop_prompts)


if __name__ == "__main__":
    main()
