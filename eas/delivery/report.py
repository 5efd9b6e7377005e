"""What a dispatcher tick did, for its log line, the heartbeat and the tests."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class TickReport:
    expired: int = 0
    reconciled: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    reminders: int = 0
    #: Responses left unfinished when their window closed (now partial).
    closed: int = 0
    #: Participants whose plans (long studies) were extended.
    plans_extended: int = 0
    alerts_notified: int = 0
    alerts_failed: int = 0
    lateness: list[float] = field(default_factory=list)
    #: Claimed prompts given back unsent (the dispatcher stopping, a claim running out).
    handed_back: int = 0
