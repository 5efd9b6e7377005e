"""What the synthetic participants did, to check the export against."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from eas.simulation.checkins import Prompted


@dataclass
class Truth:
    """What the synthetic participants did, to check the export against: prompts named as
    their participants know them (`checkins.Prompted`: in the export, the prompt of that
    participant and questionnaire sent then)."""

    #: (label, questionnaire, when the prompt arrived, item id) -> the answer given.
    answers: dict[tuple[str, str | None, datetime, str], Any] = field(default_factory=dict)
    ignored_prompts: set[Prompted] = field(default_factory=set)
    opted_out: list[str] = field(default_factory=list)
    withdrawn: list[str] = field(default_factory=list)
    malformed_replies: int = 0
    texts_sent: int = 0
    reports_started: int = 0

    def absorb(self, other: Truth) -> None:
        """Add what another shard's people did."""
        self.answers.update(other.answers)
        self.ignored_prompts |= other.ignored_prompts
        self.opted_out += other.opted_out
        self.withdrawn += other.withdrawn
        self.malformed_replies += other.malformed_replies
        self.texts_sent += other.texts_sent
        self.reports_started += other.reports_started
