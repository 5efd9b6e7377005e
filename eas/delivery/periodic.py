"""Other domains' periodic work, done in each dispatcher tick. Each is one function of its own
package, with its own commit boundary; the tick gives it its place and counts what it did:

- `responses.lapsed.close_lapsed`: responses whose window closed mid-way are closed (partial),
  in the tick's first transaction, committed with it (an idle tick stays one transaction);
- `scheduling.operations.extend_plans`: long studies' plans, made weeks ahead, are extended
  before they run out, after the sends and reminders, in a transaction of their own, every
  `EXTEND_EVERY` (not every tick);
- `safety.notify.notify_due`: alerts are mailed to the team (and escalated), after the sends
  and reminders, unless the dispatcher is stopping; it commits before talking to the mail
  server, and after each alert.

(Delivery reports need no periodic work: a status callback names its message by key, and is
applied as it arrives, `sms.status`.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from eas.core.db import db
from eas.delivery.report import TickReport
from eas.responses.lapsed import close_lapsed
from eas.safety.notify import Mailer, notify_due
from eas.scheduling.operations import extend_plans

#: How often a dispatcher looks for plans to extend: they are extended a week before they run
#: out, so looking every tick (every second) would only repeat an empty query.
EXTEND_EVERY = timedelta(minutes=10)


@dataclass
class PeriodicWork:
    #: Tells coordinators about safety alerts (None: no mail configured; alerts still show).
    mailer: Mailer | None = None
    #: When this dispatcher next looks for plans to extend (None: at its first tick).
    next_extension_at: datetime | None = None

    def with_first_transaction(self, now: datetime, report: TickReport) -> None:
        """In the tick's first transaction, which a later step commits."""
        report.closed = close_lapsed(now)

    def after_sending(self, now: datetime, report: TickReport) -> None:
        """Once the tick's sends and reminders are on record (it commits itself)."""
        if self.next_extension_at is None or now >= self.next_extension_at:
            self.next_extension_at = now + EXTEND_EVERY
            report.plans_extended = extend_plans(now)
            if report.plans_extended:
                db.session.commit()
        if self.mailer is not None:
            report.alerts_notified, report.alerts_failed = notify_due(self.mailer, now)
