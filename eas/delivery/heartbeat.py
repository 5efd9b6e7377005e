"""Each dispatcher says when it last ran (for /healthz and for people)."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from eas.core.db import core_execute
from eas.delivery.models import DispatcherHeartbeat
from eas.delivery.report import TickReport

#: An idle dispatcher still says it is alive this often.
IDLE_HEARTBEAT = timedelta(seconds=5)

_TABLE = DispatcherHeartbeat.__table__
#: Built once: it runs every tick.
_BEAT = (
    _TABLE.update()
    .where(_TABLE.c.name == sa.bindparam("dispatcher"))
    .values(
        last_tick_at=sa.bindparam("now", type_=_TABLE.c.last_tick_at.type),
        ticks=_TABLE.c.ticks + 1,
        sent=_TABLE.c.sent + sa.bindparam("newly_sent", type_=sa.Integer),
    )
)


class Heartbeat:
    """Dispatcher `name`'s row: beaten after each batch and at the end of each tick, written in
    the tick's transaction (committed with the work it reports)."""

    def __init__(self, name: str, started_at: datetime) -> None:
        self.name = name
        self.started_at = started_at
        #: When a beat was last written (None: not yet by this process).
        self.last_at: datetime | None = None
        #: What of the tick's report (`sent`) earlier beats of the tick have counted.
        self._counted = 0

    def tick_started(self) -> None:
        self._counted = 0

    def beat(self, now: datetime, report: TickReport) -> None:
        """Count what the tick's report holds since the last beat; an idle tick writes only
        every `IDLE_HEARTBEAT`."""
        sent, self._counted = report.sent - self._counted, report.sent
        busy = sent or report.failed or report.retried or report.reminders
        if not busy and self.last_at and now - self.last_at < IDLE_HEARTBEAT:
            return  # idle: fewer writes beside other writers on SQLite
        updated = core_execute(_BEAT, {"dispatcher": self.name, "now": now, "newly_sent": sent})
        if updated.rowcount == 0:
            core_execute(
                _TABLE.insert().values(
                    name=self.name,
                    started_at=self.started_at,
                    last_tick_at=now,
                    ticks=1,
                    sent=sent,
                )
            )
        self.last_at = now
