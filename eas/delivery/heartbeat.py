"""Each dispatcher says when it last ran (for /healthz and for people)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa

from eas.core.db import core_execute
from eas.delivery.models import DispatcherHeartbeat

if TYPE_CHECKING:
    from eas.delivery.dispatcher import Dispatcher
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


def beat(dispatcher: Dispatcher, report: TickReport) -> None:
    now = dispatcher.clock.now()
    sent, dispatcher.sent_in_heartbeats = report.sent - dispatcher.sent_in_heartbeats, report.sent
    busy = sent or report.failed or report.retried or report.reminders
    if not busy and dispatcher.last_heartbeat and now - dispatcher.last_heartbeat < IDLE_HEARTBEAT:
        return  # idle: fewer writes beside other writers on SQLite
    updated = core_execute(_BEAT, {"dispatcher": dispatcher.name, "now": now, "newly_sent": sent})
    if updated.rowcount == 0:
        core_execute(
            _TABLE.insert().values(
                name=dispatcher.name,
                started_at=dispatcher.started_at,
                last_tick_at=now,
                ticks=1,
                sent=sent,
            )
        )
    dispatcher.last_heartbeat = now  # committed by the tick, with the work it reports
