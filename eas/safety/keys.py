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


def _rotate_table(model) -> int:
    cipher, done, last_id = get_cipher(), 0, 0
    while True:
        rows = db.session.execute(
            sa.select(model.id, model.phone_encrypted)
            .where(model.id > last_id)
            .order_by(model.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            return done
        table = model.__table__
        rotated = [
            {"row_id": row_id, "token": cipher.rotate(token)}
            for row_id, token in rows
            if token  # purged numbers are empty
        ]
        if rotated:
            db.session.execute(
                table.update()
                .where(table.c.id == sa.bindparam("row_id"))
                .values(phone_encrypted=sa.bindparam("token")),
                rotated,
            )
        done += len(rows)
        last_id = rows[-1][0]


def _rotate_sealed(model, column_name: str) -> int:
    """Sealed texts of one column, re-sealed with the newest key (read as stored: the column's
    type would unseal them)."""
    cipher, table, done, last_id = get_cipher(), model.__table__, 0, 0
    stored = sa.type_coerce(table.c[column_name], sa.Text)
    while True:
        rows = db.session.execute(
            sa.select(table.c.id, stored)
            .where(table.c.id > last_id, stored.like(f"{SEALED_PREFIX}%"))
            .order_by(table.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            return done
        db.session.execute(
            table.update()
            .where(table.c.id == sa.bindparam("row_id"))
            .values({column_name: sa.bindparam("text")}),
            [
                {
                    "row_id": row_id,
                    "text": SEALED_PREFIX
                    + cipher.rotate(text[len(SEALED_PREFIX) :].encode()).decode(),
                }
                for row_id, text in rows
            ],
        )
        done += len(rows)
        last_id = rows[-1][0]


def rotate_keys() -> Rotation:
    """Re-encrypt everything; the caller commits (all or nothing)."""
    return Rotation(
        participants=_rotate_table(Participant),
        messages=_rotate_table(Message),
        texts=_rotate_sealed(Message, "body")
        + _rotate_sealed(Answer, "raw_value")
        + _rotate_sealed(Answer, "value_text"),
    )
