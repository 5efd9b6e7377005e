"""A faulty fake of Twilio's Messages API over HTTP, for real `eas scheduler` processes.

The dispatchers reach it through the real `TwilioTransport` and SDK (`EAS_TWILIO_API_BASE_URL`).
It creates messages as Twilio does and answers the list of messages to a number (what eas
reads to settle an ambiguous send), with faults drawn from a seeded generator: 503s and 429s
(nothing created: provably not sent), answers that come after the client gave up (created:
sent, though the dispatcher cannot know), and slow answers. Each message is tied to the prompt
it was for by the idempotency key in its StatusCallback URL, so a test can count what really
went out.
"""

from __future__ import annotations

import json
import random
import signal
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import sqlalchemy as sa
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from tests.delivery.burst import OPEN, prepare_burst, stop

ACCOUNT_SID = "AC" + "7" * 32
AUTH_TOKEN = "faulty-twilio-token"
SERVICE_SID = "MG" + "8" * 32
PUBLIC_BASE = "https://eas.example.org"


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args, **kwargs) -> None:
        pass  # thousands of requests: the test's counts say what matters


@dataclass(frozen=True)
class Created:
    sid: str
    to: str
    body: str
    key: str
    at: datetime

    @property
    def prompt_id(self) -> int | None:
        parts = self.key.split("-")
        return int(parts[1]) if parts[0] == "prompt" and "attempt" in parts else None


class FaultyTwilio:
    """Serves on 127.0.0.1 in a thread of this process until `close`."""

    def __init__(
        self,
        seed: int = 7,
        *,
        unavailable: float = 0.08,
        throttled: float = 0.05,
        late: float = 0.04,
        hang_seconds: float = 1.6,
        delay_seconds: tuple[float, float] = (0.01, 0.08),
    ) -> None:
        self.random = random.Random(seed)
        self.shares = (unavailable, throttled, late)
        self.hang_seconds = hang_seconds
        self.delay_seconds = delay_seconds
        self.lock = threading.Lock()
        self.created: list[Created] = []
        self.answers: Counter = Counter()
        self.server = make_server("127.0.0.1", 0, self._wsgi, threaded=True, request_handler=_Quiet)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def environment(self) -> dict[str, str]:
        """What an `eas scheduler` process needs to send through it."""
        return {
            "EAS_SMS_PROVIDER": "twilio",
            "EAS_TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "EAS_TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "EAS_TWILIO_MESSAGING_SERVICE_SID": SERVICE_SID,
            "EAS_TWILIO_API_BASE_URL": self.url,
            "EAS_PUBLIC_BASE_URL": PUBLIC_BASE,
        }

    def close(self) -> None:
        self.server.shutdown()
        self.thread.join()

    def created_per_prompt(self) -> Counter:
        with self.lock:
            return Counter(m.prompt_id for m in self.created if m.prompt_id is not None)

    # the API -----------------------------------------------------------------------------

    def _wsgi(self, environ, start_response):
        request = Request(environ)
        if not request.path.endswith(f"/Accounts/{ACCOUNT_SID}/Messages.json"):
            return Response("not found", 404)(environ, start_response)
        answer = self._create(request) if request.method == "POST" else self._list(request)
        return answer(environ, start_response)

    def _fault(self) -> str:
        unavailable, throttled, late = self.shares
        with self.lock:
            draw = self.random.random()
        if draw < unavailable:
            return "unavailable"
        if draw < unavailable + throttled:
            return "throttled"
        if draw < unavailable + throttled + late:
            return "late"
        return "ok"

    def _create(self, request: Request) -> Response:
        fault = self._fault()
        with self.lock:
            self.answers[fault] += 1
        if fault == "unavailable":
            return _error(503, 20500, "Service unavailable")
        if fault == "throttled":
            return _error(429, 20429, "Too many requests")
        callback = request.form.get("StatusCallback", "")
        key = parse_qs(urlsplit(callback).query).get("key", [""])[0]
        message = Created(
            f"SM{uuid.uuid4().hex}", request.form["To"], request.form["Body"], key, _now()
        )
        with self.lock:
            self.created.append(message)
        # "late": created, then answered after the client's timeout (it cannot know).
        time.sleep(
            self.hang_seconds if fault == "late" else self.random.uniform(*self.delay_seconds)
        )
        return _json(201, _resource(message))

    def _list(self, request: Request) -> Response:
        to = request.args.get("To")
        with self.lock:
            found = [m for m in reversed(self.created) if to is None or m.to == to]
        size = int(request.args.get("PageSize", 50))
        return _json(
            200,
            {
                "messages": [_resource(m) for m in found[:size]],
                "next_page_uri": None,
                "page": 0,
                "page_size": size,
                "uri": request.full_path,
            },
        )


def _now() -> datetime:
    return datetime.now(UTC)


def _resource(message: Created) -> dict:
    return {
        "sid": message.sid,
        "account_sid": ACCOUNT_SID,
        "to": message.to,
        "body": message.body,
        "status": "queued",
        "direction": "outbound-api",
        "date_created": format_datetime(message.at),
    }


def _json(status: int, payload: dict) -> Response:
    return Response(json.dumps(payload), status, mimetype="application/json")


def _error(status: int, code: int, text: str) -> Response:
    return _json(status, {"code": code, "message": text, "status": status})


# A dispatcher stopped in the middle of a burst sent through it ------------------------------

#: Calls give up after a second here (so a "late" answer is an ambiguous send); the lease must
#: outlast two calls and a margin.
DISPATCHER_SETTINGS = {"EAS_TWILIO_TIMEOUT_SECONDS": 1, "EAS_DISPATCH_LEASE_SECONDS": 8}
_SETTLED = ("failed", "expired", "cancelled")


def outcome_counts(url: str, twilio: FaultyTwilio) -> dict[str, int]:
    """What went out (by Twilio's record) against what eas recorded, per prompt."""
    created = twilio.created_per_prompt()
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        rows = connection.exec_driver_sql("SELECT id, status FROM planned_prompts").all()
    engine.dispose()
    return {
        "sent": sum(status == "sent" for _, status in rows),
        "failed but sent": sum(status in _SETTLED and created[id] > 0 for id, status in rows),
        "unsent, never retried": sum(status in _SETTLED and not created[id] for id, status in rows),
        "sent twice": sum(count > 1 for count in created.values()),
    }


@dataclass
class Interrupted:
    #: Seconds from the signal to the process's exit, and its exit code.
    stop_seconds: float
    returncode: int
    #: Right after it exited: prompts it left `sending`, and the counts.
    left_sending: int
    after_stop: dict[str, int]
    #: Once another dispatcher drained the burst.
    final: dict[str, int]
    answers: Counter


def interrupted_burst(url: str, tmp: Path, how: signal.Signals, prompts: int) -> Interrupted:
    """A burst through a faulty Twilio; its dispatcher gets `how` once a quarter is out, then
    another drains what is left."""
    twilio = FaultyTwilio()
    settings = {**twilio.environment(), **DISPATCHER_SETTINGS}
    try:
        # One prompt per number: which of several identical texts to one number, sent in the
        # same second, Twilio's list shows first is anybody's guess (a real study's prompts to
        # one person are minutes apart, and differ).
        burst = prepare_burst(url, tmp, prompts=prompts, participants=prompts)
        first = burst.start_dispatcher(tmp / "a", **settings)
        deadline = time.monotonic() + 60
        while len(twilio.created) < prompts // 4 and time.monotonic() < deadline:
            time.sleep(0.02)
        signalled = time.monotonic()
        first.send_signal(how)
        first.wait(timeout=60)
        stop_seconds = time.monotonic() - signalled
        left_sending = burst.count("SELECT count(*) FROM planned_prompts WHERE status = 'sending'")
        after_stop = outcome_counts(url, twilio)
        second = burst.start_dispatcher(tmp / "b", **settings)
        try:
            burst.wait_for(OPEN, lambda n: n == 0, timeout=180)
        finally:
            stop(second)
        final = outcome_counts(url, twilio)
    finally:
        twilio.close()
    return Interrupted(
        stop_seconds, first.returncode, left_sending, after_stop, final, twilio.answers
    )
