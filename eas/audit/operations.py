from __future__ import annotations

from typing import Any

from eas.audit.models import AuditEvent
from eas.core.clock import now_utc
from eas.core.db import db


def record(
    action: str,
    *,
    actor: str = "system",
    user_id: int | None = None,
    study_id: int | None = None,
    participant_id: int | None = None,
    **details: Any,
) -> AuditEvent:
    event = AuditEvent(
        occurred_at=now_utc(),
        actor=actor,
        user_id=user_id,
        action=action,
        study_id=study_id,
        participant_id=participant_id,
        details=details,
    )
    db.session.add(event)
    db.session.flush()
    return event
