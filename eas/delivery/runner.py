"""Running the dispatcher: APScheduler is only the wake-up timer; the database holds the work.

One job, ticking every `EAS_DISPATCH_INTERVAL_SECONDS`, never overlapping itself (max_instances
1, coalesced), run inside an app context with its session removed afterwards. Each tick also
does other domains' periodic work (`periodic`), as configured here (the alert mailer).

Stopping (SIGTERM from systemd or docker, SIGINT, Ctrl+C) lets the tick under way finish
what it started: no new claims, calls not yet made handed back, calls under way recorded as
they return. It waits at most the transport's call time and a margin (`stop_seconds`).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask

from eas.config import ConfigurationError
from eas.core.clock import get_clock
from eas.core.db import db
from eas.delivery.channels import Transport
from eas.delivery.dispatcher import Dispatcher
from eas.delivery.periodic import PeriodicWork
from eas.delivery.simulator import SimulatorTransport
from eas.delivery.twilio import TwilioSettings, TwilioTransport
from eas.safety.notify import Mailer

log = logging.getLogger("eas.delivery")


def build_transport(app: Flask) -> Transport:
    provider = app.config["EAS_SMS_PROVIDER"]
    if provider == "simulator":
        return SimulatorTransport(db.engine, get_clock(), app.config["EAS_SIMULATOR_LATENCY_MS"])
    if provider == "twilio":
        return TwilioTransport(TwilioSettings.from_config(app.config), get_clock())
    raise ConfigurationError(f"EAS_SMS_PROVIDER={provider!r}: use 'simulator' or 'twilio'")


def build_dispatcher(app: Flask, transport: Transport | None = None) -> Dispatcher:
    config = app.config
    return Dispatcher(
        transport or build_transport(app),
        name=f"{socket.gethostname()}:{os.getpid()}",
        clock=get_clock(),
        batch=config["EAS_DISPATCH_BATCH"],
        workers=config["EAS_DISPATCH_WORKERS"],
        lease_seconds=config["EAS_DISPATCH_LEASE_SECONDS"],
        rate_per_second=config["EAS_SEND_RATE_PER_SECOND"],
        periodic=PeriodicWork(mailer=Mailer.from_config(config)),
    )


class DispatchTimer:
    def __init__(self, app: Flask, dispatcher: Dispatcher, *, blocking: bool) -> None:
        self.app = app
        self.dispatcher = dispatcher
        #: Held while a tick runs: stopping waits for it.
        self.ticking = threading.Lock()
        scheduler_class = BlockingScheduler if blocking else BackgroundScheduler
        self.scheduler = scheduler_class(timezone="UTC")
        self.scheduler.add_job(
            self.run_tick,
            IntervalTrigger(seconds=app.config["EAS_DISPATCH_INTERVAL_SECONDS"]),
            id="eas-dispatch",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
            next_run_time=get_clock_now(app),
        )

    def run_tick(self) -> None:
        with self.ticking, self.app.app_context():
            if self.dispatcher.stopping.is_set():
                return
            try:
                report = self.dispatcher.tick()
                if report.sent or report.failed or report.expired or report.reconciled:
                    log.info(
                        "tick sent=%s retried=%s failed=%s expired=%s reconciled=%s reminders=%s",
                        report.sent, report.retried, report.failed, report.expired,
                        report.reconciled, report.reminders,
                    )  # fmt: skip
            except Exception:
                db.session.rollback()
                log.exception("dispatcher tick failed; the next tick starts afresh")
            finally:
                db.session.remove()

    def start(self) -> None:
        self.scheduler.start()

    @property
    def stop_seconds(self) -> float:
        """How long stopping may wait for the tick under way: its calls, and recording them."""
        return self.dispatcher.call_bound.total_seconds() + 10

    def stop(self) -> None:
        """Stop claiming, let the tick under way finish (bounded), then stop the timer."""
        self.dispatcher.stopping.set()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        if self.ticking.acquire(timeout=self.stop_seconds):
            self.ticking.release()
            log.info("dispatcher %s stopped", self.dispatcher.name)
        else:
            log.error("dispatcher %s: its tick did not finish in %.0f s; stopping anyway",
                      self.dispatcher.name, self.stop_seconds)  # fmt: skip
        self.dispatcher.close()

    def stop_on_signals(self) -> None:
        """SIGTERM and SIGINT stop the dispatcher as Ctrl+C does (main thread only): the
        process then leaves through `stop`."""

        def stopping(signum, frame):
            if self.dispatcher.stopping.is_set():
                return  # stopping already: the first signal's wait is bounded
            log.info("dispatcher %s: %s, stopping", self.dispatcher.name,
                     signal.Signals(signum).name)  # fmt: skip
            self.dispatcher.stopping.set()  # at once: calls not yet made are handed back
            raise KeyboardInterrupt

        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, stopping)


def get_clock_now(app: Flask):
    with app.app_context():
        return get_clock().now()
