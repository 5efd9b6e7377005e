"""Responses whose window closed while they were in progress are closed (partial), each tick.

Periodic work of this package: the dispatcher's tick calls `close_lapsed` in its first
transaction (`delivery.periodic`), and commits it with the tick's next commit.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from eas.core.db import core_execute, db
from eas.responses.models import Response, ResponseStatus
from eas.responses.operations import close, window_is_open
from eas.scheduling.models import PlannedPrompt

# Built once: it runs every dispatcher tick.
_LAPSED = (
    sa.select(Response)
    .join(PlannedPrompt, PlannedPrompt.id == Response.prompt_id)
    .where(
        Response.status == ResponseStatus.in_progress,
        PlannedPrompt.expires_at <= sa.bindparam("now", type_=PlannedPrompt.expires_at.type),
    )
)
_LAPSED_WINDOWS = _LAPSED.with_only_columns(
    Response.id, PlannedPrompt.expires_at, Response.status, Response.last_activity_at
)


def close_lapsed(now: datetime) -> int:
    """Close responses whose window has passed, in the session's transaction (the caller
    commits); how many."""
    # Every tick asks, and the candidates (past expiry, maybe still in their grace time) are
    # looked at as values: only the ones that lapsed are loaded, to be closed.
    candidates = core_execute(_LAPSED_WINDOWS, {"now": now}).all()
    lapsed = [
        response_id
        for response_id, expires_at, status, last_activity_at in candidates
        if not window_is_open(expires_at, status, last_activity_at, now)
    ]
    if lapsed:
        closing = _LAPSED.where(Response.id.in_(lapsed))
        for response in db.session.scalars(closing, {"now": now}).all():
            close(response, now)
    return len(lapsed)
