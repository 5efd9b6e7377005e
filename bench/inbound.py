"""Benchmark: inbound SMS replies per second through eas's real Twilio webhook, against a bare
Flask endpoint, both served by gunicorn (sync workers: 2 on SQLite, 4 on PostgreSQL, or
--workers) on loopback in the same run; then bursts of simultaneous texts from the same
participants.

The webhook is `POST /sms/inbound` as Twilio calls it: the X-Twilio-Signature is checked, the
message is stored (SQLite, or with --database a fresh PostgreSQL database this script creates
and drops), understood, and answered in TwiML. The baseline (bench/bare_app.py) answers a
constant TwiML document to the very same requests. The mix is replies from enrolled
participants (most with no check-in open, which get a short note; some HELP) and texts from
numbers no study knows, each with its own MessageSid and a correct signature, all computed
before the timed run. One load generator (this process: threads sending the prepared bytes on
plain sockets, a new connection per request as gunicorn's sync workers close each one anyway)
drives both: a warm-up, then a fixed duration.

The bursts are answers: two more sets of participants each get their first check-in (its due
time moved to now, sent by `eas scheduler --once` to the phone simulator), then text replies
("5", "maybe"...) all at once: "pairs", --burst-participants x --burst-rounds rounds of
--burst-at-once texts per participant at the same moment; "crowd", --burst-size texts at once
spread over its participants. Each text must be stored and understood inside the check-in
(its prompt recorded on the message); one that is stored but not understood is lost.

Prints requests/s, latency p50/p99 and errors for each, the ratio webhook/bare (target >= 0.3),
then per phase the texts stored against answers recorded, lost texts, deadlocks and errors in
the server's log, and the target: 0 lost, 0 deadlock errors, p99 < 100 ms. Needs gunicorn
(`.venv/bin/pip install -e '.[bench]'`). Run from the repository root:

    .venv/bin/python bench/inbound.py [--seconds 10] [--warmup 2] [--concurrency 8]
        [--participants 200] [--database postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
        [--workers N] [--burst-participants 20] [--burst-rounds 10] [--burst-at-once 2]
        [--burst-size 400]

--database names a PostgreSQL server (the database in it only to connect to): the run creates
a database `eas_bench_<random>` there and drops it at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import http.client
import itertools
import os
import random
import re
import resource
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import sqlalchemy as sa
from twilio.request_validator import RequestValidator

from eas.core.db import UTCDateTime

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / ".venv" / "bin"
PROTOCOL = ROOT / "protocols" / "ai-connection.yaml"
STUDY = "ai-connection"
TOKEN = "bench-twilio-auth-token-0123456789"
ACCOUNT_SID = "AC" + "0" * 32
SERVICE_SID = "MG" + "1" * 32
STUDY_NUMBER = "+12025550100"
PATH = "/sms/inbound"

#: The traffic: (kind, share). "note": an enrolled number with no check-in open (answered with
#: a short note); "help": HELP from an enrolled number; "unknown": a number no study knows.
MIX = (("note", 0.75), ("help", 0.10), ("unknown", 0.15))
NOTE_BODIES = ("ok", "Thanks!", "when is the next one?", "got it", "sorry, missed that", "hi")
HELP_BODIES = ("HELP", "help", "Info")
UNKNOWN_BODIES = ("who is this?", "wrong number", "hello", "Yes")
#: The bursts' texts: replies inside an open check-in (none sets off an alert).
ANSWER_BODIES = ("5", "maybe", "3", "no", "5")
#: What each kind's TwiML answer must contain (None: no message at all; "": any message).
EXPECTED = {"note": "No check-in is open", "help": "Text STOP to stop", "unknown": None,
            "answer": ""}  # fmt: skip
#: Label prefixes of the participants texting in each phase (the mix's, then the bursts').
MIX_LABELS, PAIRS_LABELS, CROWD_LABELS = "bench-", "pairs-", "crowd-"
#: What to count in the servers' output (each failed request logs one "Exception on" line and
#: a chained traceback: the sqlite3 error, then SQLAlchemy's, counted once).
LOG_PATTERNS = {
    "requests failed with an exception": re.compile(r"ERROR in app: Exception on "),
    "of which database is locked": re.compile(
        r"^sqlalchemy\.exc\.OperationalError: \(sqlite3\.OperationalError\) database is locked",
        re.M,
    ),
    "inbound not handled (stored only)": re.compile(r"could not be handled"),
    # A deadlock PostgreSQL broke by ending a transaction, which `receive` ran again (logged as
    # a warning with the SQLSTATE); one that escaped leaves a traceback, counted once (by
    # SQLAlchemy's line, which repeats psycopg's).
    "deadlocks retried": re.compile(r"transaction ran into 40P01"),
    "serialization failures retried": re.compile(r"transaction ran into 40001"),
    "deadlock errors": re.compile(r"^(?!psycopg\.).*(?:DeadlockDetected|deadlock detected)", re.M),
    "refused signatures": re.compile(r"without a valid Twilio signature"),
    "worker timeouts": re.compile(r"WORKER TIMEOUT"),
}


@dataclass
class Request:
    kind: str
    #: The whole HTTP request, as sent.
    payload: bytes


@dataclass
class Result:
    name: str
    requests: int = 0
    errors: Counter = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    seconds: float = float("nan")
    unexpected: int = 0
    generator_cpu: float = float("nan")
    server_cpu: float = float("nan")
    other_cpu: float = float("nan")
    answered: int = 0  # 200s over warm-up and timed run
    sent: int = 0  # requests sent over warm-up and timed run

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000


# Set-up ----------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def fresh_database(server: str | None, tmp: Path) -> Iterator[str]:
    """The URL of an empty database: a SQLite file in `tmp`, or on the PostgreSQL server of
    `server` a database `eas_bench_<random>` created for this run and dropped after it."""
    if server is None:
        yield f"sqlite:///{tmp / 'eas.sqlite3'}"
        return
    url = sa.make_url(server)
    if url.get_backend_name() != "postgresql":
        sys.exit(f"--database: a PostgreSQL URL, not {url.get_backend_name()!r}")
    if url.drivername == "postgresql":  # SQLAlchemy's default driver (psycopg2) is not eas's
        url = url.set(drivername="postgresql+psycopg")
    name = f"eas_bench_{secrets.token_hex(4)}"
    admin = sa.create_engine(
        url.set(database=url.database or "postgres"), isolation_level="AUTOCOMMIT"
    )
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"CREATE DATABASE {name}")
        try:
            yield url.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        admin.dispose()


def _environment(tmp: Path, port: int, database: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("EAS_")}
    env.update(
        {
            "EAS_INSTANCE_PATH": str(tmp / "instance"),
            "EAS_DATABASE_URL": database,
            "EAS_TWILIO_AUTH_TOKEN": TOKEN,
            "EAS_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
            "EAS_SMS_PROVIDER": "simulator",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def _eas(env: dict[str, str], *arguments: str) -> str:
    done = subprocess.run(
        [str(BIN / "eas"), *arguments], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if done.returncode:
        sys.exit(f"eas {' '.join(arguments)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def _phones(count: int, prefix: str) -> list[str]:
    numbers = random.Random(prefix).sample(range(10_000), count)
    return [f"{prefix}{number:04d}" for number in numbers]


def prepare_database(tmp: Path, env: dict[str, str], rosters: dict[str, list[str]]) -> None:
    """Enrol the numbers of each label prefix. Their study starts tomorrow: nothing is due
    until `open_check_ins` moves a check-in to now."""
    roster = tmp / "participants.csv"
    with roster.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["label", "phone", "timezone", "wake", "sleep", "channel"])
        for prefix, phones in rosters.items():
            for index, phone in enumerate(phones, 1):
                writer.writerow([f"{prefix}{index:04d}", phone, "America/New_York", "", "", "sms"])
    _eas(env, "db", "upgrade")
    _eas(env, "study", "create", str(PROTOCOL))
    _eas(env, "participants", "import", STUDY, str(roster), "--start", "tomorrow")


#: The first SMS check-in still to come of each participant whose label is LIKE :prefix, due
#: now (`eas` has no clock to set from outside: the prompt moves instead).
_OPEN_CHECK_IN = sa.text(
    "UPDATE planned_prompts SET due_at = :due, expires_at = :expires,"
    " window_start_at = :due, window_end_at = :due"
    " WHERE id IN (SELECT (SELECT pp.id FROM planned_prompts pp"
    "  WHERE pp.participant_id = p.id AND pp.schedule_id = 'beeps' AND pp.channel = 'sms'"
    "  AND pp.status = 'scheduled' ORDER BY pp.due_at, pp.id LIMIT 1)"
    " FROM participants p WHERE p.label LIKE :prefix)"
).bindparams(sa.bindparam("due", type_=UTCDateTime), sa.bindparam("expires", type_=UTCDateTime))


def open_check_ins(database: str, env: dict[str, str], prefixes: list[str]) -> str:
    """Send these participants their first check-in (due a minute ago, open for two hours) to
    the phone simulator with one tick of the dispatcher; what the tick reports."""
    now = datetime.now(UTC)
    engine = sa.create_engine(database, hide_parameters=True)
    with engine.begin() as connection:
        for prefix in prefixes:
            window = {"due": now - timedelta(minutes=1), "expires": now + timedelta(hours=2)}
            connection.execute(_OPEN_CHECK_IN, {**window, "prefix": prefix + "%"})
    engine.dispose()
    return _eas(env, "scheduler", "--once").strip()


def _signed(validator: RequestValidator, url: str, sid: str, sender: str, body: str) -> bytes:
    """The whole HTTP request Twilio would send for this text."""
    params = {
        "ToCountry": "US",
        "ToState": "DC",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "ToCity": "WASHINGTON",
        "FromZip": "20001",
        "SmsSid": sid,
        "FromState": "DC",
        "SmsStatus": "received",
        "FromCity": "WASHINGTON",
        "Body": body,
        "FromCountry": "US",
        "To": STUDY_NUMBER,
        "MessagingServiceSid": SERVICE_SID,
        "ToZip": "20001",
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": sender,
        "ApiVersion": "2010-04-01",
    }
    content = urlencode(params).encode()
    head = (
        f"POST {PATH} HTTP/1.1\r\n"
        f"Host: {urlsplit(url).netloc}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(content)}\r\n"
        f"X-Twilio-Signature: {validator.compute_signature(url, params)}\r\n"
        "User-Agent: TwilioProxy/1.1\r\n"
        "Accept: */*\r\n\r\n"
    )
    return head.encode("latin-1") + content


def build_traffic(count: int, url: str, enrolled: list[str], unknown: list[str]) -> list[Request]:
    """`count` signed webhook requests, each with a fresh MessageSid, in a shuffled mix."""
    rng = random.Random(20261125)
    validator = RequestValidator(TOKEN)
    kinds = rng.choices([kind for kind, _ in MIX], [share for _, share in MIX], k=count)
    traffic = []
    for kind in kinds:
        sender, bodies = {
            "note": (enrolled, NOTE_BODIES),
            "help": (enrolled, HELP_BODIES),
            "unknown": (unknown, UNKNOWN_BODIES),
        }[kind]
        sid = "SM" + rng.randbytes(16).hex()
        payload = _signed(validator, url, sid, rng.choice(sender), rng.choice(bodies))
        traffic.append(Request(kind, payload))
    return traffic


def build_burst(url: str, senders: list[list[str]], seed: str) -> list[list[Request]]:
    """A burst: for each round (a list of numbers, one per text, repeated for several texts
    at once), signed answers with fresh MessageSids, all to be sent at the same moment."""
    rng = random.Random(seed)
    validator = RequestValidator(TOKEN)

    def answer(sender: str) -> Request:
        sid = "SM" + rng.randbytes(16).hex()
        return Request("answer", _signed(validator, url, sid, sender, rng.choice(ANSWER_BODIES)))

    return [[answer(sender) for sender in numbers] for numbers in senders]


# Servers ---------------------------------------------------------------------------------------


def start_server(
    target: str, port: int, env: dict[str, str], log: Path, workers: int
) -> subprocess.Popen:
    command = [str(BIN / "gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{port}"]
    command += ["--pythonpath", "bench", "bare_app:app"] if target == "bare" else ["wsgi:app"]
    with log.open("ab") as fh:
        # A session of its own: Ctrl+C reaches this script, which then stops the server.
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"gunicorn ({target}) exited with {process.returncode}; see:\n"
                     f"{log.read_text()}")  # fmt: skip
        with contextlib.suppress(OSError):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/")
            connection.getresponse().read()  # any answer (a 404, say) will do
            connection.close()
            return process
        time.sleep(0.2)
    stop_server(process)
    sys.exit(f"gunicorn ({target}) did not answer within 60 s")


def stop_server(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes (Linux /proc; NaN elsewhere)."""
    total = 0.0
    try:
        for pid in pids:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (after pid and comm)
    except (OSError, IndexError, ValueError):
        return float("nan")
    return total / os.sysconf("SC_CLK_TCK")


def _machine_busy() -> float:
    """CPU seconds the whole machine has been busy, all cores together (Linux; NaN elsewhere)."""
    try:
        ticks = [int(value) for value in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    except (OSError, ValueError):
        return float("nan")
    idle, iowait = ticks[3], ticks[4]
    return (sum(ticks[:8]) - idle - iowait) / os.sysconf("SC_CLK_TCK")


def _workers(master: int) -> list[int]:
    try:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    except OSError:
        return []
    return [int(pid) for pid in children]


# Load generator --------------------------------------------------------------------------------


def _exchange(port: int, payload: bytes) -> tuple[int, bytes]:
    """One request on a connection of its own, read to the end (the request says
    `Connection: close`, and gunicorn's sync workers close every connection anyway)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(30)
        sock.connect(("127.0.0.1", port))
        sock.sendall(payload)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    answer = b"".join(chunks)
    if not answer.startswith(b"HTTP/1.") or b"\r\n\r\n" not in answer:
        raise http.client.BadStatusLine(answer[:40].decode("latin-1"))
    return int(answer[9:12]), answer.partition(b"\r\n\r\n")[2]


def _send(port: int, request: Request, check: bool) -> tuple[float | None, str | None, bool]:
    """One request: its latency (None: failed), what failed, and whether a 200's answer was
    not the one its kind gets."""
    started = time.perf_counter()
    try:
        status, answer = _exchange(port, request.payload)
    except (OSError, ValueError, http.client.HTTPException) as error:
        return None, type(error).__name__, False
    latency = time.perf_counter() - started
    if status != 200:
        return None, f"HTTP {status}", False
    expected = EXPECTED[request.kind]
    wrong = check and (
        (b"<Message>" in answer) != (expected is not None)
        or (expected is not None and expected.encode() not in answer)
    )
    return latency, None, wrong


def _drive(
    port: int,
    traffic: list[Request],
    sequence: itertools.count,
    deadline: float,
    cycle: bool,
    check: bool,
    out: dict,
) -> None:
    """One connection at a time: send the next request until the deadline."""
    latencies, errors, unexpected, sent = [], Counter(), 0, 0
    while time.perf_counter() < deadline:
        index = next(sequence)
        if index >= len(traffic):
            if not cycle:
                errors["ran out of precomputed requests"] += 1
                break
            index %= len(traffic)
        sent += 1
        latency, error, wrong = _send(port, traffic[index], check)
        if error:
            errors[error] += 1
            continue
        latencies.append(latency)
        unexpected += wrong
    out.update(latencies=latencies, errors=errors, unexpected=unexpected, sent=sent)


def _at_once(port: int, request: Request, start: threading.Barrier, out: dict) -> None:
    start.wait()
    latency, error, wrong = _send(port, request, check=True)
    failed = [error] if error else []
    out.update(
        latencies=[] if error else [latency], errors=Counter(failed), unexpected=wrong, sent=1
    )


def _threads(target: Callable, arguments: list[tuple]) -> None:
    threads = [threading.Thread(target=target, args=args, daemon=True) for args in arguments]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _merged(outs: list[dict], seconds: float) -> dict:
    latencies = [value for out in outs for value in out["latencies"]]
    return {
        "latencies": latencies,
        "errors": sum((out["errors"] for out in outs), Counter()),
        "unexpected": sum(out["unexpected"] for out in outs),
        "answered": len(latencies),
        "sent": sum(out["sent"] for out in outs),
        "seconds": seconds,
    }


def burst(port: int, rounds: list[list[Request]]) -> dict:
    """Each round's requests at the same moment, one connection each, a round after the
    previous one's last answer; the time is from each round's start to its last answer."""
    outs, seconds, released = [], 0.0, []
    for requests in rounds:
        start = threading.Barrier(
            len(requests), action=lambda: released.append(time.perf_counter())
        )
        round_outs = [{} for _ in requests]
        _threads(
            _at_once,
            [
                (port, request, start, out)
                for request, out in zip(requests, round_outs, strict=True)
            ],
        )
        seconds += time.perf_counter() - released[-1]
        outs += round_outs
    return _merged(outs, seconds)


def load(
    port: int,
    traffic: list[Request],
    sequence: itertools.count,
    seconds: float,
    concurrency: int,
    cycle: bool,
    check: bool,
) -> dict:
    started = time.perf_counter()
    deadline = started + seconds
    outs = [{} for _ in range(concurrency)]
    _threads(_drive, [(port, traffic, sequence, deadline, cycle, check, out) for out in outs])
    # Until the last answer of the last connection.
    return _merged(outs, time.perf_counter() - started)


def run_target(
    name: str,
    target: str,
    port: int,
    env: dict[str, str],
    log: Path,
    workers: int,
    warm_up: Callable[[], dict],
    run: Callable[[], dict],
) -> Result:
    """Start the server, `warm_up`, then `run` timed, and stop the server."""
    server = start_server(target, port, env, log, workers)
    try:
        warm = warm_up()
        pids = [server.pid, *_workers(server.pid)]
        server_before, machine_before = _cpu_seconds(pids), _machine_busy()
        own_before = resource.getrusage(resource.RUSAGE_SELF)
        timed = run()
        own_after = resource.getrusage(resource.RUSAGE_SELF)
        server_after, machine_after = _cpu_seconds(pids), _machine_busy()
    finally:
        stop_server(server)
    own = (own_after.ru_utime + own_after.ru_stime) - (own_before.ru_utime + own_before.ru_stime)
    server_cpu = server_after - server_before
    return Result(
        name=name,
        requests=len(timed["latencies"]),
        errors=timed["errors"],
        latencies=timed["latencies"],
        seconds=timed["seconds"],
        unexpected=timed["unexpected"],
        generator_cpu=own / timed["seconds"],
        server_cpu=server_cpu / timed["seconds"],
        other_cpu=(machine_after - machine_before - server_cpu - own) / timed["seconds"],
        answered=warm["answered"] + timed["answered"],
        sent=warm["sent"] + timed["sent"],
    )


# Checks ----------------------------------------------------------------------------------------

_TOTALS = sa.text(
    "SELECT COUNT(CASE WHEN direction = 'inbound' THEN 1 END),"
    " COUNT(DISTINCT CASE WHEN direction = 'inbound' THEN provider_sid END),"
    " COUNT(CASE WHEN direction = 'inbound' AND participant_id IS NULL THEN 1 END),"
    " COUNT(CASE WHEN direction = 'outbound' AND purpose = 'reply' THEN 1 END)"
    " FROM messages"
)
_TEXTS = (
    " FROM messages m JOIN participants p ON p.id = m.participant_id"
    " WHERE p.label LIKE :prefix AND m.direction = 'inbound'"
)
_RESPONSES = (
    " FROM responses s JOIN planned_prompts pp ON pp.id = s.prompt_id"
    " JOIN participants p ON p.id = pp.participant_id WHERE p.label LIKE :prefix"
)
#: About one phase's participants (label LIKE :prefix).
_PHASE_COUNTS = {
    "stored": "SELECT COUNT(*)" + _TEXTS,
    # Understood inside a check-in: the message records the prompt it answers.
    "understood": "SELECT COUNT(m.prompt_id)" + _TEXTS,
    # Answered: a first reply to it is on record (`receive` writes it with the understanding).
    "replied": "SELECT COUNT(*)" + _TEXTS + " AND EXISTS (SELECT 1 FROM messages r"
    " WHERE r.idempotency_key = 'reply-' || CAST(m.id AS VARCHAR) || '-1')",
    "replies": "SELECT COUNT(*)"
    + _TEXTS.replace("'inbound'", "'outbound' AND m.purpose = 'reply'"),
    "answer rows": "SELECT COUNT(*)"
    + _RESPONSES.replace(
        " FROM responses s", " FROM answers a JOIN responses s ON s.id = a.response_id"
    ),
    "check-ins completed": "SELECT COUNT(*)" + _RESPONSES + " AND s.status = 'completed'",
    "check-ins sent": "SELECT COUNT(*) FROM planned_prompts pp JOIN participants p"
    " ON p.id = pp.participant_id WHERE p.label LIKE :prefix AND pp.status = 'sent'",
}


def database_counts(database: str, prefixes: list[str]) -> dict:
    """The whole database's messages, and `_PHASE_COUNTS` per label prefix."""
    engine = sa.create_engine(database, hide_parameters=True)
    try:
        with engine.connect() as connection:
            row = connection.execute(_TOTALS).one()
            counts = dict(zip(("inbound", "sids", "unknown", "replies"), row, strict=True))
            if engine.dialect.name == "sqlite":
                journal = connection.exec_driver_sql("PRAGMA journal_mode").scalar_one()
                counts["engine"] = f"SQLite, {journal} journal"
            else:
                version = connection.exec_driver_sql("SHOW server_version").scalar_one()
                counts["engine"] = f"PostgreSQL {version.split()[0]}"
            for prefix in prefixes:
                counts[prefix] = {
                    name: connection.execute(sa.text(sql), {"prefix": prefix + "%"}).scalar_one()
                    for name, sql in _PHASE_COUNTS.items()
                }
    finally:
        engine.dispose()
    return counts


def log_counts(log: Path) -> dict[str, int]:
    text = log.read_text(errors="replace")
    return {label: len(pattern.findall(text)) for label, pattern in LOG_PATTERNS.items()}


def _line(result: Result) -> str:
    errors = sum(result.errors.values())
    return (
        f"{result.name:<36} {result.rate:>10,.0f} {result.percentile(0.50):>8.1f} "
        f"{result.percentile(0.99):>8.1f} {errors:>7} {result.server_cpu:>10.2f} "
        f"{result.generator_cpu:>10.2f} {result.other_cpu:>10.2f}"
    )


def report_phase(
    title: str, result: Result, sent: int | None, counts: dict[str, int], log: dict[str, int]
) -> None:
    """One phase's figures and its verdict. `sent`: the texts of the phase's participants
    (None: the mix, whose participants are not in a check-in; their texts are understood when
    answered, and their count is the database's, warm-up included)."""
    in_check_in = sent is not None
    understood = counts["understood"] if in_check_in else counts["replied"]
    not_understood = counts["stored"] - understood
    not_stored = (sent - counts["stored"]) if in_check_in else 0
    lost = not_understood + not_stored
    deadlocks = log["deadlocks retried"] + log["deadlock errors"]
    server_errors = sum(n for error, n in result.errors.items() if error.startswith("HTTP 5"))
    p99 = result.percentile(0.99)
    print(title)
    p50, errors = result.percentile(0.5), sum(result.errors.values())
    print(f"  {result.rate:,.0f} requests/s, p50 {p50:.1f} ms, p99 {p99:.1f} ms, errors "
          f"{errors} (5xx {server_errors})")  # fmt: skip
    if in_check_in:
        print(f"  texts: {sent:,} sent, {counts['stored']:,} stored, {understood:,} answers "
              f"recorded (understood in their check-in), {counts['replied']:,} answered "
              f"({counts['replies']:,} replies; {result.unexpected} 200s without one); "
              f"{counts['answer rows']:,} answer rows, "
              f"{counts['check-ins completed']} of {counts['check-ins sent']} check-ins "
              "completed")  # fmt: skip
    else:
        print(f"  texts from participants: {counts['stored']:,} stored (warm-up included), "
              f"{understood:,} answered; answers recorded {counts['understood']} (none "
              "expected: no check-in is open)")  # fmt: skip
    print(f"  lost {lost} ({not_understood} stored but not understood, {not_stored} not "
          f"stored); deadlocks {deadlocks} ({log['deadlocks retried']} retried, "
          f"{log['deadlock errors']} deadlock errors in the log); serialization failures "
          f"retried {log['serialization failures retried']}; not handled (stored only) "
          f"{log['inbound not handled (stored only)']}; worker timeouts "
          f"{log['worker timeouts']}")  # fmt: skip
    missed = [name for name, met in (("lost", lost == 0), ("deadlock errors", deadlocks == 0),
                                     ("p99", p99 < 100)) if not met]  # fmt: skip
    print("  target: 0 lost, 0 deadlock errors, p99 < 100 ms: "
          + (f"FAIL ({', '.join(missed)})" if missed else "PASS"))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="timed run per target")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up per target")
    parser.add_argument("--concurrency", type=int, default=8, help="connections at once")
    parser.add_argument("--participants", type=int, default=200)
    parser.add_argument(
        "--max-rate",
        type=int,
        default=2500,
        help="requests/s the precomputed webhook traffic must last for (default 2500)",
    )
    parser.add_argument(
        "--database",
        metavar="URL",
        help="a PostgreSQL server (postgresql+psycopg://postgres@127.0.0.1:5432/postgres): a "
        "database is created there for the run and dropped after it (default: SQLite)",
    )
    parser.add_argument(
        "--workers", type=int, help="gunicorn sync workers (default: 2 on SQLite, 4 on PostgreSQL)"
    )
    parser.add_argument(
        "--burst-participants", type=int, default=20, help="participants of each burst"
    )
    parser.add_argument("--burst-rounds", type=int, default=10, help="rounds of the pairs burst")
    parser.add_argument(
        "--burst-at-once", type=int, default=2, help="texts per participant at once, per round"
    )
    parser.add_argument(
        "--burst-size", type=int, default=400, help="texts at once in the crowd burst"
    )
    parser.add_argument(
        "--show-log", type=int, default=0, metavar="CHARS", help="print the end of the log"
    )
    args = parser.parse_args()
    if not (BIN / "gunicorn").exists():
        sys.exit("bench/inbound.py needs gunicorn: .venv/bin/pip install -e '.[bench]'")
    if not 1 <= args.participants <= 10_000:
        parser.error("--participants must be between 1 and 10,000")
    if not 1 <= args.burst_participants <= 10_000:
        parser.error("--burst-participants must be between 1 and 10,000")
    workers = args.workers or (4 if args.database else 2)

    with (
        tempfile.TemporaryDirectory(prefix="eas-bench-inbound-") as folder,
        fresh_database(args.database, Path(folder)) as database,
    ):
        tmp = Path(folder)
        webhook_port, bare_port = _free_port(), _free_port()
        url = f"http://127.0.0.1:{webhook_port}{PATH}"
        env = _environment(tmp, webhook_port, database)
        enrolled = _phones(args.participants, "+1202555")
        unknown = _phones(200, "+1312555")
        pairs = _phones(args.burst_participants, "+1415555")
        crowd = _phones(args.burst_participants, "+1628555")
        prepare_database(tmp, env, {MIX_LABELS: enrolled, PAIRS_LABELS: pairs, CROWD_LABELS: crowd})
        opened = open_check_ins(database, env, [PAIRS_LABELS, CROWD_LABELS])
        # The bursts' servers warm up on the mix too.
        count = int((3 * args.warmup + args.seconds) * args.max_rate)
        started = time.perf_counter()
        traffic = build_traffic(count, url, enrolled, unknown)
        pair_senders = [phone for phone in pairs for _ in range(args.burst_at_once)]
        bursts = [
            (f"burst {len(pairs)} numbers x {args.burst_rounds}, {args.burst_at_once} at once",
             PAIRS_LABELS, build_burst(url, [pair_senders] * args.burst_rounds, "pairs")),
            (f"burst {args.burst_size} at once, {len(crowd)} numbers", CROWD_LABELS,
             build_burst(url, [[crowd[i % len(crowd)] for i in range(args.burst_size)]], "crowd")),
        ]  # fmt: skip
        built = time.perf_counter() - started
        mix = Counter(request.kind for request in traffic)
        shares = ", ".join(f"{kind} {mix[kind] / count:.0%}" for kind, _ in MIX)
        engine = database_counts(database, [])["engine"]

        print(f"gunicorn -w {workers} (sync workers) on loopback, {args.concurrency} connections, "
              f"{args.warmup:g} s warm-up + {args.seconds:g} s per target, "
              f"{os.cpu_count()} CPUs, {engine}")  # fmt: skip
        print(f"traffic: {count:,} signed requests precomputed in {built:.1f} s ({shares}; "
              f"{args.participants} enrolled numbers)")  # fmt: skip
        print(f"bursts: answers from two sets of {args.burst_participants} participants in their "
              f"first check-in (sent by `eas scheduler --once`: {opened}); pairs: "
              f"{args.burst_rounds} rounds of {len(pair_senders)} texts at once, "
              f"{args.burst_at_once} per participant; crowd: {args.burst_size} texts at once; "
              f"each after a warm-up on the mix")  # fmt: skip
        print(f"{'target':<36} {'requests/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} "
              f"{'server CPU':>10} {'load CPU':>10} {'other CPU':>10}")  # fmt: skip

        def mix_load(port: int, sequence: itertools.count, seconds: float, bare: bool = False):
            # The bare endpoint cycles through the traffic; the webhook must never see a
            # MessageSid twice, and its answers are checked.
            return lambda: load(port, traffic, sequence, seconds, args.concurrency, bare, not bare)

        bare_sequence, sequence = itertools.count(), itertools.count()
        bare = run_target(
            "bare Flask POST -> constant TwiML",
            "bare",
            bare_port,
            env,
            tmp / "bare.log",
            workers,
            mix_load(bare_port, bare_sequence, args.warmup, bare=True),
            mix_load(bare_port, bare_sequence, args.seconds, bare=True),
        )
        print(_line(bare), flush=True)
        webhook = run_target(
            f"eas POST {PATH} (signed, stored)",
            "webhook",
            webhook_port,
            env,
            tmp / "webhook.log",
            workers,
            mix_load(webhook_port, sequence, args.warmup),
            mix_load(webhook_port, sequence, args.seconds),
        )
        print(_line(webhook), flush=True)
        mix_counts = database_counts(database, [MIX_LABELS])
        burst_results = []
        for name, prefix, rounds in bursts:
            result = run_target(
                name,
                "webhook",
                webhook_port,
                env,
                tmp / f"{prefix.strip('-')}.log",
                workers,
                mix_load(webhook_port, sequence, args.warmup),
                lambda rounds=rounds: burst(webhook_port, rounds),
            )
            print(_line(result), flush=True)
            burst_results.append(result)
        burst_counts = database_counts(database, [prefix for _, prefix, _ in bursts])

        ratio = webhook.rate / bare.rate
        p99 = webhook.percentile(0.99)
        print(f"ratio webhook/bare: {ratio:.2f} (target >= 0.3: "
              f"{'met' if ratio >= 0.3 else 'NOT met'})")  # fmt: skip
        print(f"webhook p99: {p99:.1f} ms (target < 100 ms: "
              f"{'met' if p99 < 100 else 'NOT met'})")  # fmt: skip
        print("requests/s, p50, p99: answers 200 only; errors: any other answer or a failed "
              "connection; a burst's time runs from each round's start to its last answer, and "
              "its latencies include the wait behind the round's other texts")  # fmt: skip
        print("CPU: cores busy during the timed run (server: gunicorn master + workers; load: "
              "this generator; other: the rest of the machine, kernel included)")  # fmt: skip
        results = [bare, webhook, *burst_results]
        busy = [r.name for r in results if r.other_cpu > 0.5]
        if busy:
            print(f"WARNING: other work kept the machine busy during {' and '.join(busy)}: "
                  "these figures are understated")  # fmt: skip

        for result in results:
            if result.errors:
                details = ", ".join(f"{name} x{n}" for name, n in result.errors.most_common())
                print(f"errors, {result.name}: {details}")
        print(
            f"database ({mix_counts['engine']}) after the mix: {mix_counts['inbound']:,} "
            f"inbound stored for {webhook.answered:,} webhook 200s of {webhook.sent:,} sent "
            f"(warm-up included; {webhook.sent - mix_counts['inbound']:,} texts not stored), "
            f"{mix_counts['sids']:,} distinct MessageSids, {mix_counts['unknown']:,} from "
            f"unknown numbers, {mix_counts['replies']:,} replies; 200s not as expected for "
            f"their kind: {webhook.unexpected}"
        )
        logs = {}
        for name in ("bare", "webhook", *(prefix.strip("-") for _, prefix, _ in bursts)):
            logs[name] = log_counts(tmp / f"{name}.log")
            found = ", ".join(f"{label} {n}" for label, n in logs[name].items())
            print(f"server log, {name}: {found}")

        report_phase(f"mix: {webhook.name}", webhook, None, mix_counts[MIX_LABELS],
                     logs["webhook"])  # fmt: skip
        for (name, prefix, rounds), result in zip(bursts, burst_results, strict=True):
            each = result.seconds / len(rounds) * 1000
            title = (
                f"{name}: {len(rounds)} round(s) of {len(rounds[0])} texts at once, each over "
                f"in {each:.0f} ms on average (the last answer waits for the others)"
            )
            sent = sum(map(len, rounds))
            report_phase(title, result, sent, burst_counts[prefix], logs[prefix.strip("-")])
        if args.show_log:
            print("--- end of the webhook server's log ---")
            print((tmp / "webhook.log").read_text(errors="replace")[-args.show_log :])


def _terminated(signum, frame) -> None:
    raise SystemExit(128 + signum)  # unwinds like Ctrl+C: servers stopped, files removed


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _terminated)
    try:
        main()
    except KeyboardInterrupt:
        sys.exit("interrupted: servers stopped, temporary files removed")
