"""Query pieces about planned prompts, shared by the dispatcher and the reminders."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from eas.participants.models import Pause
from eas.scheduling.models import PlannedPrompt


def paused_now(now: datetime):
    """SQL: the prompt's participant has a pause in force at `now`."""
    return (
        sa.exists()
        .where(Pause.participant_id == PlannedPrompt.participant_id, Pause.starts_at <= now)
        .where(sa.or_(Pause.ends_at.is_(None), Pause.ends_at > now))
    )
