"""Benchmark: inbound SMS replies per second through eas's real Twilio webhook, against a bare
Flask endpoint, both served by gunicorn with 2 (sync) workers on loopback in the same run.

The webhook is `POST /sms/inbound` as Twilio calls it: the X-Twilio-Signature is checked, the
message is stored in SQLite, understood, and answered in TwiML. The baseline
(bench/bare_app.py) answers a constant TwiML document to the very same requests. The traffic is
a mix of replies from enrolled participants (most with no check-in open, which get a short
note; some HELP) and texts from numbers no study knows, each with its own MessageSid and a
correct signature, all computed before the timed run. One load generator (this process:
threads sending the prepared bytes on plain sockets, a new connection per request as gunicorn's
sync workers close each one anyway) drives both: a warm-up, then a fixed duration.

Prints requests/s, latency p50/p99 and errors for each, the ratio webhook/bare (target >= 0.3)
and the webhook's p99 (target < 100 ms); then checks the database against the answers and the
servers' logs (errors, "database is locked"). Needs gunicorn (`.venv/bin/pip install -e
'.[bench]'`). Run from the repository root:

    .venv/bin/python bench/inbound.py [--seconds 10] [--warmup 2] [--concurrency 8]
        [--participants 200]
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
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from twilio.request_validator import RequestValidator

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
#: What each kind's TwiML answer must contain (None: no message at all).
EXPECTED = {"note": "No check-in is open", "help": "Text STOP to stop", "unknown": None}
#: What to count in the servers' output (each failed request logs one "Exception on" line and
#: a chained traceback: the sqlite3 error, then SQLAlchemy's, counted once).
LOG_PATTERNS = {
    "requests failed with an exception": re.compile(r"ERROR in app: Exception on "),
    "of which database is locked": re.compile(
        r"^sqlalchemy\.exc\.OperationalError: \(sqlite3\.OperationalError\) database is locked",
        re.M,
    ),
    "inbound not handled (stored only)": re.compile(r"could not be handled"),
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


def _environment(tmp: Path, port: int) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("EAS_")}
    env.update(
        {
            "EAS_INSTANCE_PATH": str(tmp / "instance"),
            "EAS_DATABASE_URL": f"sqlite:///{tmp / 'eas.sqlite3'}",
            "EAS_TWILIO_AUTH_TOKEN": TOKEN,
            "EAS_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
            "EAS_SMS_PROVIDER": "simulator",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def _eas(env: dict[str, str], *arguments: str) -> None:
    done = subprocess.run(
        [str(BIN / "eas"), *arguments], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if done.returncode:
        sys.exit(f"eas {' '.join(arguments)} failed:\n{done.stdout}{done.stderr}")


def _phones(count: int, prefix: str) -> list[str]:
    numbers = random.Random(prefix).sample(range(10_000), count)
    return [f"{prefix}{number:04d}" for number in numbers]


def prepare_database(tmp: Path, env: dict[str, str], phones: list[str]) -> None:
    roster = tmp / "participants.csv"
    with roster.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["label", "phone", "timezone", "wake", "sleep", "channel"])
        for index, phone in enumerate(phones, 1):
            writer.writerow([f"bench-{index:04d}", phone, "America/New_York", "", "", "sms"])
    _eas(env, "db", "upgrade")
    _eas(env, "study", "create", str(PROTOCOL))
    _eas(env, "participants", "import", STUDY, str(roster), "--start", "today")


def build_traffic(count: int, url: str, enrolled: list[str], unknown: list[str]) -> list[Request]:
    """`count` signed webhook requests, each with a fresh MessageSid, in a shuffled mix."""
    rng = random.Random(20261125)
    validator = RequestValidator(TOKEN)
    host = urlsplit(url).netloc
    kinds = rng.choices([kind for kind, _ in MIX], [share for _, share in MIX], k=count)
    traffic = []
    for kind in kinds:
        sender, bodies = {
            "note": (enrolled, NOTE_BODIES),
            "help": (enrolled, HELP_BODIES),
            "unknown": (unknown, UNKNOWN_BODIES),
        }[kind]
        sid = "SM" + rng.randbytes(16).hex()
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
            "Body": rng.choice(bodies),
            "FromCountry": "US",
            "To": STUDY_NUMBER,
            "MessagingServiceSid": SERVICE_SID,
            "ToZip": "20001",
            "NumSegments": "1",
            "MessageSid": sid,
            "AccountSid": ACCOUNT_SID,
            "From": rng.choice(sender),
            "ApiVersion": "2010-04-01",
        }
        body = urlencode(params).encode()
        head = (
            f"POST {PATH} HTTP/1.1\r\n"
            f"Host: {host}\r\n"
            "Connection: close\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\n"
            f"X-Twilio-Signature: {validator.compute_signature(url, params)}\r\n"
            "User-Agent: TwilioProxy/1.1\r\n"
            "Accept: */*\r\n\r\n"
        )
        traffic.append(Request(kind, head.encode("latin-1") + body))
    return traffic


# Servers ---------------------------------------------------------------------------------------


def start_server(target: str, port: int, env: dict[str, str], log: Path) -> subprocess.Popen:
    command = [str(BIN / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}"]
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
    clock = time.perf_counter
    while clock() < deadline:
        index = next(sequence)
        if index >= len(traffic):
            if not cycle:
                errors["ran out of precomputed requests"] += 1
                break
            index %= len(traffic)
        request = traffic[index]
        sent += 1
        started = clock()
        try:
            status, answer = _exchange(port, request.payload)
        except (OSError, ValueError, http.client.HTTPException) as error:
            errors[type(error).__name__] += 1
            continue
        finished = clock()
        if status != 200:
            errors[f"HTTP {status}"] += 1
            continue
        latencies.append(finished - started)
        if check:
            expected = EXPECTED[request.kind]
            if (b"<Message>" in answer) != (expected is not None) or (
                expected is not None and expected.encode() not in answer
            ):
                unexpected += 1
    out.update(latencies=latencies, errors=errors, unexpected=unexpected, sent=sent)


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
    threads = [
        threading.Thread(
            target=_drive,
            args=(port, traffic, sequence, deadline, cycle, check, out),
            daemon=True,
        )
        for out in outs
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started  # until the last answer of the last connection
    latencies = [value for out in outs for value in out["latencies"]]
    return {
        "latencies": latencies,
        "errors": sum((out["errors"] for out in outs), Counter()),
        "unexpected": sum(out["unexpected"] for out in outs),
        "answered": len(latencies),
        "sent": sum(out["sent"] for out in outs),
        "seconds": elapsed,
    }


def run_target(name: str, target: str, port: int, env, traffic, args, log: Path) -> Result:
    cycle = target == "bare"  # the webhook must never see a MessageSid twice
    check = target == "webhook"
    sequence = itertools.count()
    server = start_server(target, port, env, log)
    try:
        warm = load(port, traffic, sequence, args.warmup, args.concurrency, cycle, check)
        pids = [server.pid, *_workers(server.pid)]
        server_before, machine_before = _cpu_seconds(pids), _machine_busy()
        own_before = resource.getrusage(resource.RUSAGE_SELF)
        timed = load(port, traffic, sequence, args.seconds, args.concurrency, cycle, check)
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


def database_counts(database: Path) -> dict[str, int]:
    connection = sqlite3.connect(database)
    try:
        row = connection.execute(
            "SELECT"
            " SUM(direction = 'inbound'),"
            " COUNT(DISTINCT provider_sid),"
            " SUM(direction = 'inbound' AND participant_id IS NULL),"
            " SUM(direction = 'outbound' AND purpose = 'reply')"
            " FROM messages"
        ).fetchone()
        journal = connection.execute("PRAGMA journal_mode").fetchone()[0]
    finally:
        connection.close()
    inbound, sids, unknown, replies = (value or 0 for value in row)
    return {"inbound": inbound, "sids": sids, "unknown": unknown, "replies": replies,
            "journal": journal}  # fmt: skip


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
        "--show-log", type=int, default=0, metavar="CHARS", help="print the end of the log"
    )
    args = parser.parse_args()
    if not (BIN / "gunicorn").exists():
        sys.exit("bench/inbound.py needs gunicorn: .venv/bin/pip install -e '.[bench]'")
    if not 1 <= args.participants <= 10_000:
        parser.error("--participants must be between 1 and 10,000")

    with tempfile.TemporaryDirectory(prefix="eas-bench-inbound-") as folder:
        tmp = Path(folder)
        webhook_port, bare_port = _free_port(), _free_port()
        env = _environment(tmp, webhook_port)
        enrolled = _phones(args.participants, "+1202555")
        unknown = _phones(200, "+1312555")
        prepare_database(tmp, env, enrolled)
        count = int((args.warmup + args.seconds) * args.max_rate)
        started = time.perf_counter()
        traffic = build_traffic(count, f"http://127.0.0.1:{webhook_port}{PATH}", enrolled, unknown)
        built = time.perf_counter() - started
        mix = Counter(request.kind for request in traffic)
        shares = ", ".join(f"{kind} {mix[kind] / count:.0%}" for kind, _ in MIX)

        print(f"gunicorn -w 2 (sync workers) on loopback, {args.concurrency} connections, "
              f"{args.warmup:g} s warm-up + {args.seconds:g} s per target, "
              f"{os.cpu_count()} CPUs")  # fmt: skip
        print(f"traffic: {count:,} signed requests precomputed in {built:.1f} s ({shares}; "
              f"{args.participants} enrolled numbers), SQLite")  # fmt: skip
        print(f"{'target':<36} {'requests/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} "
              f"{'server CPU':>10} {'load CPU':>10} {'other CPU':>10}")  # fmt: skip
        bare = run_target(
            "bare Flask POST -> constant TwiML",
            "bare",
            bare_port,
            env,
            traffic,
            args,
            tmp / "bare.log",
        )
        print(_line(bare), flush=True)
        webhook = run_target(
            f"eas POST {PATH} (signed, stored)",
            "webhook",
            webhook_port,
            env,
            traffic,
            args,
            tmp / "webhook.log",
        )
        print(_line(webhook), flush=True)

        ratio = webhook.rate / bare.rate
        p99 = webhook.percentile(0.99)
        print(f"ratio webhook/bare: {ratio:.2f} (target >= 0.3: "
              f"{'met' if ratio >= 0.3 else 'NOT met'})")  # fmt: skip
        print(f"webhook p99: {p99:.1f} ms (target < 100 ms: "
              f"{'met' if p99 < 100 else 'NOT met'})")  # fmt: skip
        print("requests/s, p50, p99: answers 200 only; errors: any other answer or a failed "
              "connection")  # fmt: skip
        print("CPU: cores busy during the timed run (server: gunicorn master + workers; load: "
              "this generator; other: the rest of the machine, kernel included)")  # fmt: skip
        busy = [r.name for r in (bare, webhook) if r.other_cpu > 0.5]
        if busy:
            print(f"WARNING: other work kept the machine busy during {' and '.join(busy)}: "
                  "these figures are understated")  # fmt: skip

        for result in (bare, webhook):
            if result.errors:
                details = ", ".join(f"{name} x{n}" for name, n in result.errors.most_common())
                print(f"errors, {result.name}: {details}")
        counts = database_counts(tmp / "eas.sqlite3")
        print(
            f"database ({counts['journal']} journal): {counts['inbound']:,} inbound stored for "
            f"{webhook.answered:,} webhook 200s of {webhook.sent:,} sent (warm-up included; "
            f"{webhook.sent - counts['inbound']:,} texts not stored), {counts['sids']:,} "
            f"distinct MessageSids, {counts['unknown']:,} from unknown numbers, "
            f"{counts['replies']:,} replies; 200s not as expected for their kind: "
            f"{webhook.unexpected}"
        )
        for name, log in (("bare", tmp / "bare.log"), ("webhook", tmp / "webhook.log")):
            found = ", ".join(f"{label} {n}" for label, n in log_counts(log).items())
            print(f"server log, {name}: {found}")
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
