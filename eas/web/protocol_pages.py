"""What the protocol pages show: the text with its errors beside their lines, the changes
between two versions, and the schedule and burden a version puts on one participant."""

from __future__ import annotations

import difflib
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from werkzeug.datastructures import FileStorage

from eas.core.timeofday import optional_hhmm, parse_hhmm
from eas.protocols.validation import LoadedProtocol, ProtocolError, ProtocolInvalid
from eas.protocols.validation import validate_protocol_text as _validate
from eas.scheduling.localtime import local_date_of
from eas.scheduling.planner import PlanningError
from eas.scheduling.preview import Preview, build_preview

#: A protocol is a few hundred lines; anything far bigger is not one.
MAX_PROTOCOL_BYTES = 512 * 1024
PASTED = "pasted in the browser"


@dataclass(frozen=True)
class SourceLine:
    number: int
    text: str
    errors: list[ProtocolError]


@dataclass(frozen=True)
class Checked:
    """The outcome of checking a protocol text: the protocol, or its errors by line."""

    text: str
    source_name: str
    protocol: LoadedProtocol | None
    errors: list[ProtocolError]

    @property
    def lines(self) -> list[SourceLine]:
        by_line: dict[int, list[ProtocolError]] = defaultdict(list)
        for error in self.errors:
            by_line[error.line].append(error)
        return [
            SourceLine(number, text, by_line.get(number, []))
            for number, text in enumerate(self.text.splitlines() or [""], start=1)
        ]

    def excerpt(self, context: int = 3) -> list[SourceLine | None]:
        """The lines around each error; None where lines are left out."""
        wanted = {
            number
            for error in self.errors
            for number in range(error.line - context, error.line + context + 1)
        }
        shown: list[SourceLine | None] = []
        last = 0
        for line in self.lines:
            if line.number in wanted:
                if line.number != last + 1:
                    shown.append(None)
                shown.append(line)
                last = line.number
        return shown


def submitted_text(form, files) -> tuple[str, str] | ProtocolError:
    """The protocol text of a form (an uploaded file wins over the text box) and its name, or
    an error that says why it cannot be read."""
    upload: FileStorage | None = files.get("upload")
    if upload is not None and upload.filename:
        name = upload.filename
        data = upload.read(MAX_PROTOCOL_BYTES + 1)
        if len(data) > MAX_PROTOCOL_BYTES:
            return ProtocolError(1, 1, "", "the file is larger than 512 KB: not a protocol", name)
        try:
            return data.decode("utf-8-sig"), name
        except UnicodeDecodeError as exc:
            return ProtocolError(1, 1, "", f"not UTF-8 text ({exc.reason})", name)
    text = form.get("source", "")
    if len(text.encode()) > MAX_PROTOCOL_BYTES:
        return ProtocolError(1, 1, "", "the text is larger than 512 KB: not a protocol", PASTED)
    # Browsers send text boxes with CRLF line ends; the stored text keeps the file's own.
    return text.replace("\r\n", "\n"), form.get("source_name") or PASTED


def check(form, files) -> Checked:
    submitted = submitted_text(form, files)
    if isinstance(submitted, ProtocolError):
        return Checked("", submitted.source_name, None, [submitted])
    text, name = submitted
    if not text.strip():
        return Checked(text, name, None, [ProtocolError(1, 1, "", "the protocol is empty", name)])
    try:
        return Checked(text, name, _validate(text, name), [])
    except ProtocolInvalid as invalid:
        return Checked(text, name, None, invalid.errors)


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "same", "added", "removed", "gap"
    old: int | None
    new: int | None
    text: str


def compare(old_text: str, new_text: str, context: int = 3) -> list[DiffLine]:
    """Line by line changes, with a few lines of context around each."""
    old, new = old_text.splitlines(), new_text.splitlines()
    lines: list[DiffLine] = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for group in matcher.get_grouped_opcodes(context):
        if lines:
            lines.append(DiffLine("gap", None, None, "…"))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                pairs = zip(range(i1, i2), range(j1, j2), strict=True)
                lines += [DiffLine("same", i + 1, j + 1, old[i]) for i, j in pairs]
                continue
            lines += [DiffLine("removed", i + 1, None, old[i]) for i in range(i1, i2)]
            lines += [DiffLine("added", None, j + 1, new[j]) for j in range(j1, j2)]
    return lines


def schedule_preview(definition: dict[str, Any], now: datetime) -> Preview | str:
    """Every prompt one participant with the protocol's default day would get, enrolled now
    and starting as the protocol says (`study.start`: today or tomorrow) in the study's zone;
    or why it cannot be planned."""
    defaults = definition["participant_defaults"]
    zone = definition["study"]["timezone"]
    same_day = definition["study"].get("start") == "same_day"
    try:
        preview = build_preview(
            definition,
            start=local_date_of(now, zone) + timedelta(days=0 if same_day else 1),
            zone=zone,
            wake=parse_hhmm(defaults["wake"]),
            sleep=parse_hhmm(defaults["sleep"]),
            weekend_wake=optional_hhmm(defaults.get("weekend_wake")),
            weekend_sleep=optional_hhmm(defaults.get("weekend_sleep")),
        )
    except PlanningError as exc:
        return str(exc)
    return replace(preview, starts="today" if same_day else "tomorrow")
