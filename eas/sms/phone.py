"""A simulated phone's side of a conversation: a text typed on it is received as Twilio's
webhook hands one over (`sms.inbound.receive`), and the texts eas answers with land on the phone
as the provider would deliver them (rows the phone simulator keeps, `SimulatedMessage`).

The phone simulator's page (`web.simulator`) and the study simulator (`simulation.engine`)
text through here."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import NamedTuple

from eas.core.db import core_execute
from eas.delivery.models import SimulatedMessage
from eas.sms.inbound import receive


class Landed(NamedTuple):
    """A text that landed on a simulated phone."""

    id: int
    participant_id: int
    body: str


_LAND = SimulatedMessage.__table__.insert().returning(
    SimulatedMessage.__table__.c.id, sort_by_parameter_order=True
)


def text_from_phone(participant_id: int, phone: str, body: str, now: datetime) -> list[Landed]:
    """A text sent from a participant's simulated phone (their number, `phone`), handed to
    `receive` as Twilio's webhook hands one over; the texts eas answers with land on the
    phone. Written with the caller's commit, in a transaction `receive` begins (the caller has
    only read in it); returns what landed (the study simulator reads it at once)."""
    inbound = receive(
        {
            "MessageSid": f"SMsim{secrets.token_hex(16)}",
            "From": phone,
            "To": "eas-simulator",
            "Body": body,
            "NumMedia": "0",
        },
        now,
    )
    if not inbound.replies:
        return []
    rows = [
        {
            "idempotency_key": f"reply-{inbound.message_id}-{number}",
            "provider_sid": f"SM{secrets.token_hex(16)}",
            "participant_id": participant_id,
            "body": text,
            "received_at": now,
        }
        for number, text in enumerate(inbound.replies, 1)
    ]
    ids = core_execute(_LAND, rows).scalars().all()
    return [Landed(id, participant_id, row["body"]) for id, row in zip(ids, rows, strict=True)]
