"""What a questionnaire link opens: the link's prompt, its participant and the prompt's response
with its answers (`responses.progress`), in one statement.

Every page view and every page sent reads this (a participant sends a page and sees the next
at once). Answers are recorded on a `ResponseState` and written by `responses.state.save`, as
the SMS conversation does: both channels keep one set of rules.
"""

from __future__ import annotations

import sqlalchemy as sa

from eas.core.db import core_execute, db
from eas.core.links import token_hash
from eas.responses.models import AccessLink
from eas.responses.progress import (
    PARTICIPANTS,
    PROMPTS,
    SEALS_FREE_TEXT,
    PromptProgress,
    order_answers,
    progress_of,
    progress_select,
)

_LINKS = AccessLink.__table__

#: A prompt's link (never revoked: only personal links are) and its prompt's progress, with
#: whether the study seals free text (a page sent needs it).
_VISIT = order_answers(
    progress_select(
        _LINKS.join(PROMPTS, PROMPTS.c.id == _LINKS.c.prompt_id).join(
            PARTICIPANTS, PARTICIPANTS.c.id == PROMPTS.c.participant_id
        ),
        SEALS_FREE_TEXT,
    ).where(_LINKS.c.token_hash == sa.bindparam("token_hash"), _LINKS.c.revoked_at.is_(None))
)
#: Saving first locks the prompt's row to the end of the transaction (PostgreSQL; SQLite has one
#: writer), so two submits of one page take turns; `_VISIT` then reads, in a statement of its
#: own, what the other saved (a locking read would read the response and answers as they were
#: when it began waiting). Only the prompt's row, and FOR NO KEY UPDATE: it does not hold up
#: the participant's other work, nor the dispatcher writing a reminder for the prompt.
_LOCK_PROMPT = (
    sa.select(PROMPTS.c.id)
    .select_from(_LINKS.join(PROMPTS, PROMPTS.c.id == _LINKS.c.prompt_id))
    .where(_LINKS.c.token_hash == sa.bindparam("token_hash"), _LINKS.c.revoked_at.is_(None))
    .with_for_update(of=PROMPTS, key_share=True)
)


def open_visit(token: str, *, lock: bool = False) -> PromptProgress | None:
    """What a prompt's link token opens, or None (unknown, or a personal page's link). `lock`:
    for saving a page (see `_LOCK_PROMPT`)."""
    if not token or len(token) > 64:
        return None
    params = {"token_hash": token_hash(token)}
    if lock and db.session.get_bind().dialect.name != "sqlite":
        core_execute(_LOCK_PROMPT, params)
    return progress_of(core_execute(_VISIT, params).all())
