"""Local times of day written "HH:MM", as protocols, CSV files and the command line give them."""

from __future__ import annotations

import re
from datetime import time

_HH_MM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def parse_hhmm(text: str) -> time:
    """ "9:30" or "09:30" -> time(9, 30); anything else raises ValueError."""
    match = _HH_MM.match(text.strip())
    if not match:
        raise ValueError(f"'{text}' is not a time of day (HH:MM)")
    return time(int(match.group(1)), int(match.group(2)))


def optional_hhmm(text: str | None) -> time | None:
    return None if text is None else parse_hhmm(text)
