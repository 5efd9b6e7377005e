"""What the whole-protocol checks report, shared by their modules."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from marshmallow import Schema, ValidationError

from eas.protocols.yaml_source import Path

#: Words the SMS conversation reserves; an event keyword must not collide with them.
RESERVED_KEYWORDS = frozenset(
    {
        *("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"),
        *("START", "UNSTOP", "YES", "NO", "Y", "N", "HELP", "INFO", "SKIP"),
    }
)


@dataclass(frozen=True)
class Finding:
    path: Path
    message: str
    #: Characters into the value (for expressions), to point at the exact spot.
    offset: int | None = None
    #: Valid but probably not what the author meant: reported, not refused.
    warning: bool = False


def load_or_none(schema: Schema, raw: Any) -> dict[str, Any] | None:
    try:
        return schema.load(raw)
    except ValidationError:
        return None


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
