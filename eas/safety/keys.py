"""Key rotation: every encrypted phone number re-encrypted with the newest key, in batches.

To rotate: put a new key first in `EAS_ENCRYPTION_KEYS` (keep the old ones after it), run
`eas keys rotate`, then drop the old keys. The lookup key (`EAS_LOOKUP_KEY`) is not rotated:
numbers are found by their keyed hash, which would all change.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from eas.core.crypto import SEALED_PREFIX, get_cipher
from eas.core.db import db
from eas.delivery.models import Message
from eas.participants.models import Participant
from eas.responses.models import Answer

_BATCH = 1000


@dataclass(frozen=True)
class Rotation:
    participants: int
    messages: int
    #: Texts stored sealed (studies that encrypt free text): message bodies and answers.
    texts: int = 0


def _rewrite(model, column_name: str, stored_as: sa.types.TypeEngine, only, change) -> int:
    """Rewrite one column's values, in batches by id: each stored value matching `only`
    becomes `change(value)`. Values are read as stored (`stored_as`), not through the
    column's own type, which would unseal sealed texts."""
    table, done, last_id = model.__table__, 0, 0
    stored = sa.type_coerce(table.c[column_name], stored_as)
    while True:
        rows = db.session.execute(
            sa.select(table.c.id, stored)
            .where(table.c.id > last_id, only(stored))
            .order_by(table.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            return done
        db.session.execute(
            table.update()
            .where(table.c.id == sa.bindparam("row_id"))
            .values({column_name: sa.bindparam("value")}),
            [{"row_id": row_id, "value": change(value)} for row_id, value in rows],
        )
        done += len(rows)
        last_id = rows[-1][0]


def _numbers(model) -> int:
    # Purged numbers are empty: nothing to rotate.
    return _rewrite(
        model,
        "phone_encrypted",
        sa.LargeBinary(),
        lambda column: column != b"",
        get_cipher().rotate,
    )


def _sealed(model, column_name: str) -> int:
    cipher = get_cipher()

    def reseal(text: str) -> str:
        return SEALED_PREFIX + cipher.rotate(text[len(SEALED_PREFIX) :].encode()).decode()

    return _rewrite(
        model, column_name, sa.Text(), lambda column: column.like(f"{SEALED_PREFIX}%"), reseal
    )


def rotate_keys() -> Rotation:
    """Re-encrypt everything; the caller commits (all or nothing)."""
    return Rotation(
        participants=_numbers(Participant),
        messages=_numbers(Message),
        texts=_sealed(Message, "body")
        + _sealed(Answer, "raw_value")
        + _sealed(Answer, "value_text"),
    )
