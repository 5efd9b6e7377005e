"""SQL statements per path: an inbound SMS reply, a web page answer, a dispatcher send.

    .venv/bin/python bench/statements.py                      # SQLite (a file, as `make run`)
    .venv/bin/python bench/statements.py --database postgresql+psycopg://postgres@127.0.0.1/postgres
    .venv/bin/python bench/statements.py --show               # and every statement's SQL

Runs the real application in-process (the webhook and the questionnaire pages through Flask's
test client, the dispatcher's tick) on the demo protocol and counts what reaches the database
driver (SQLAlchemy's `before_cursor_execute`): the statements that read or write data, and apart
from them transaction control (BEGIN, which SQLite's driver is sent as a statement and
PostgreSQL's sends itself; SAVEPOINT and RELEASE) and COMMITs. Target: at most 6 statements per
inbound reply inside a conversation (docs/performance.md).
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import flask_migrate
import sqlalchemy as sa
from cryptography.fernet import Fernet
from sqlalchemy import event
from sqlalchemy.engine import make_url
from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from eas import create_app  # noqa: E402
from eas.core.clock import VirtualClock, install_clock  # noqa: E402
from eas.core.db import db  # noqa: E402
from eas.delivery.channels import Attempt, Lookup, OutboundMessage, SendReceipt  # noqa: E402
from eas.delivery.dispatcher import Dispatcher  # noqa: E402
from eas.participants.csv_import import parse_participants_csv  # noqa: E402
from eas.participants.operations import import_participants  # noqa: E402
from eas.protocols.validation import validate_protocol_file  # noqa: E402
from eas.scheduling.models import PlannedPrompt, PromptStatus  # noqa: E402
from eas.studies.operations import publish_protocol  # noqa: E402

AUTH_TOKEN = "bench-auth-token"
PUBLIC = "http://eas.example.org"
PARTICIPANTS = 40
#: Replies to the demo's momentary check-in, one per question, in order.
CHECK_IN = ["yes", "1", "6", "5", "4", "3", "7", "6", "2", "5"]


class Transport:
    """Accepts every message at once (a provider with no latency), keeping the bodies."""

    name = "bench"
    call_seconds = 0.0

    def __init__(self, clock) -> None:
        self.clock = clock
        self.bodies: dict[int, list[str]] = {}

    def send(self, message: OutboundMessage) -> SendReceipt:
        self.bodies.setdefault(message.participant_id, []).append(message.body)
        return SendReceipt(f"SM{uuid.uuid4().hex}", self.clock.now())

    def lookup(self, attempt: Attempt) -> tuple[Lookup, SendReceipt | None]:
        return Lookup.not_sent, None


@dataclass
class Counter:
    statements: list[str] = field(default_factory=list)
    commits: int = 0
    on: bool = False

    def attach(self, engine: sa.Engine) -> None:
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "commit", self._commit)

    def _statement(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if self.on:
            self.statements.append(" ".join(statement.split()))

    def _commit(self, conn) -> None:
        if self.on:
            self.commits += 1

    @contextmanager
    def counting(self) -> Iterator[Counter]:
        self.statements, self.commits, self.on = [], 0, True
        try:
            yield self
        finally:
            self.on = False


@contextmanager
def database(server: str | None, tmp: Path) -> Iterator[str]:
    if server is None:
        yield f"sqlite:///{tmp / 'eas.db'}"
        return
    name = f"eas_statements_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin.dispose()


def _webhook(client, phone: str, body: str) -> list[str]:
    params = {
        "MessageSid": f"SM{uuid.uuid4().hex}",
        "AccountSid": "AC" + "0" * 32,
        "From": phone,
        "To": "+15005550006",
        "Body": body,
    }
    url = f"{PUBLIC}/sms/inbound"
    signature = RequestValidator(AUTH_TOKEN).compute_signature(url, params)
    response = client.post(
        "/sms/inbound", data=params, headers={"X-Twilio-Signature": signature}, base_url=PUBLIC
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return [m.text or "" for m in ET.fromstring(response.get_data(as_text=True)).iter("Message")]


_CONTROL = re.compile(r"(BEGIN|SAVEPOINT|RELEASE|ROLLBACK)\b", re.I)


@dataclass
class Path_:
    name: str
    counts: list[float] = field(default_factory=list)
    control: list[int] = field(default_factory=list)
    commits: list[int] = field(default_factory=list)
    examples: list[list[str]] = field(default_factory=list)

    def add(self, counter: Counter, per: int = 1) -> None:
        control = sum(1 for sql in counter.statements if _CONTROL.match(sql))
        self.counts.append((len(counter.statements) - control) / per)
        self.control.append(control)
        self.commits.append(counter.commits)
        self.examples.append(counter.statements)

    def line(self) -> str:
        counts = self.counts
        return (
            f"{self.name:<40} {min(counts):>4.1f} {statistics.median(counts):>7.1f} "
            f"{max(counts):>4.1f} {max(self.control):>8} {max(self.commits):>8} {len(counts):>5}"
        )


def run(server: str | None, show: bool) -> list[Path_]:
    with tempfile.TemporaryDirectory() as tmp, database(server, Path(tmp)) as url:
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": url,
                "SECRET_KEY": "bench",
                "EAS_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
                "EAS_LOOKUP_KEY": "bench-lookup-key",
                "EAS_TWILIO_AUTH_TOKEN": AUTH_TOKEN,
                "EAS_PUBLIC_BASE_URL": PUBLIC,
                "EAS_SCHEDULE_SEED": 2026,
            }
        )
        with app.app_context():
            flask_migrate.upgrade()
            clock = VirtualClock(datetime.now(UTC))
            install_clock(app, clock)
            protocol = validate_protocol_file(ROOT / "protocols" / "ai-connection.yaml")
            study = publish_protocol(protocol, actor="bench").study
            start = clock.now().date() + timedelta(days=1)
            rows = "\n".join(
                f"B{n:03},+1202555{n:04},America/New_York,{start}" for n in range(PARTICIPANTS)
            )
            parsed = parse_participants_csv(
                f"label,phone,timezone,start_date\n{rows}\n",
                study.current_version.definition,
                app.config["EAS_DEFAULT_PHONE_REGION"],
            )
            people = import_participants(study, parsed, actor="bench").created
            phones = {p.id: f"+1202555{int(p.label[1:]):04}" for p in people}
            db.session.commit()
            counter = Counter()
            counter.attach(db.engine)
            return _measure(app, clock, counter, phones, show)


def _due_times(kind: str) -> list:
    query = sa.select(PlannedPrompt.due_at).where(PlannedPrompt.status == PromptStatus.scheduled)
    if kind == "sms":
        query = query.where(PlannedPrompt.schedule_id != "diary")
    else:
        query = query.where(PlannedPrompt.schedule_id == "diary")
    return list(db.session.scalars(query.order_by(PlannedPrompt.due_at)))


def _answers(html: str) -> dict[str, str]:
    """A valid answer to every field of a questionnaire page: each choice's first option,
    1 in every other input."""
    answers: dict[str, str] = {}
    for tag in re.findall(r"<input[^>]*>", html):
        name = re.search(r'name="([^"]+)"', tag)
        kind = re.search(r'type="([^"]+)"', tag)
        if name is None or name.group(1) in ("csrf_token", "page_item") or kind is None:
            continue
        if kind.group(1) in ("radio", "checkbox"):
            answers.setdefault(name.group(1), re.search(r'value="([^"]*)"', tag).group(1))
        elif kind.group(1) not in ("hidden", "submit"):
            answers.setdefault(name.group(1), "1")
    return answers


def _measure(app, clock, counter: Counter, phones: dict, show: bool) -> list[Path_]:
    transport = Transport(clock)
    dispatcher = Dispatcher(transport, name="bench", clock=clock, workers=1)
    send = Path_("dispatcher tick (per prompt sent)")
    reply = Path_("inbound SMS reply inside a conversation")
    first = Path_("inbound SMS reply starting a check-in")
    page = Path_("web page answer (POST)")
    view = Path_("web page view (GET)")
    client = app.test_client()
    try:
        # The first morning's check-ins, sent together by one tick: per prompt sent.
        due = _due_times("sms")
        clock.set(due[min(len(due), PARTICIPANTS) // 2] + timedelta(seconds=1))
        with counter.counting():
            report = dispatcher.tick()
        if report.sent:
            send.name = f"dispatcher tick of {report.sent} (per prompt)"
            send.add(counter, per=report.sent)
        db.session.remove()
        # Answer each check-in sent, a question per text.
        for participant_id, bodies in transport.bodies.items():
            if not any(not re.search(r"https?://", b) for b in bodies):
                continue
            for number, answer in enumerate(CHECK_IN):
                with counter.counting():
                    texts = _webhook(client, phones[participant_id], answer)
                (first if number == 0 else reply).add(counter)
                if show and participant_id == next(iter(transport.bodies)):
                    print(f"  > {answer!r} -> {texts!r}")
                if not texts or "Thank" in texts[-1]:
                    break
        # The evening diary, as a web page: view it and answer its first page.
        diary = _due_times("web")
        clock.set(diary[0] + timedelta(seconds=1))
        dispatcher.tick()
        db.session.remove()
        links = [
            match.group(1)
            for bodies in transport.bodies.values()
            for body in bodies
            if (match := re.search(r"https?://[^/]+(/p/\S+)", body))
        ]
        for path in links[:10]:
            with counter.counting():
                html = client.get(path, base_url=PUBLIC).get_data(as_text=True)
            view.add(counter)
            token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
            item = re.search(r'name="page_item" value="([^"]*)"', html).group(1)
            with counter.counting():
                response = client.post(
                    path,
                    data={"csrf_token": token, "page_item": item, **_answers(html)},
                    base_url=PUBLIC,
                )
            assert response.status_code in (200, 303), response.get_data(as_text=True)[-1500:]
            page.add(counter)
    finally:
        dispatcher.close()
    paths = [p for p in (send, first, reply, view, page) if p.counts]
    if show:
        for path in paths:
            print(f"\n{path.name} (one of them):")
            for sql in path.examples[len(path.examples) // 2]:
                print(f"  {sql[:160]}")
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="a PostgreSQL server URL (default: SQLite)")
    parser.add_argument("--show", action="store_true", help="print each path's statements")
    args = parser.parse_args()
    paths = run(args.database, args.show)
    backend = "PostgreSQL" if args.database else "SQLite"
    print(f"\nSQL statements per path on {backend} (reading or writing data; then the most")
    print("transaction control statements and COMMITs one run of the path took)")
    heads = ("min", 4), ("median", 7), ("max", 4), ("control", 8), ("commits", 8), ("runs", 5)
    print(f"{'path':<40} " + " ".join(f"{name:>{width}}" for name, width in heads))
    for path in paths:
        print(path.line())
    worst = max(next(p for p in paths if p.name.startswith("inbound SMS reply inside")).counts)
    print(f"\ninbound reply inside a conversation: at most {worst:.0f} statements (target: 6)")


if __name__ == "__main__":
    main()
