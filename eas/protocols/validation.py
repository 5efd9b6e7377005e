"""Validate a protocol file: every mistake at once, each with file, line, column and field."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path as FilePath
from typing import Any

from marshmallow import ValidationError

from eas.protocols.crossref import check_cross_references
from eas.protocols.fields import UNKNOWN_CHANNEL
from eas.protocols.schemas import ProtocolSchema
from eas.protocols.yaml_source import Path, Position, SourceMap, YamlSourceError, load_yaml

_UNKNOWN_FIELD = "Unknown field."


@dataclass(frozen=True, order=True)
class ProtocolError:
    line: int
    column: int
    path: str
    message: str
    source_name: str = ""

    def __str__(self) -> str:
        where = f"{self.source_name}:{self.line}:{self.column}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ProtocolInvalid(ValueError):
    def __init__(self, errors: list[ProtocolError]) -> None:
        super().__init__("\n".join(str(error) for error in errors))
        self.errors = errors


@dataclass(frozen=True)
class LoadedProtocol:
    definition: dict[str, Any]
    source_text: str
    source_hash: str
    source_name: str
    #: What is valid but probably not meant (prompts cutting each other short...), each with
    #: its file, line and column like an error.
    warnings: tuple[ProtocolError, ...] = ()

    @property
    def study_id(self) -> str:
        return self.definition["study"]["id"]


def _one_line(text: str) -> str:
    """`text` with line breaks and other control characters escaped (`\\n`): every error is
    one line, whatever a key or value holds."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


def _key_text(key: object) -> str:
    """A mapping key as the file spells it: YAML keys may be null, true, false or numbers, and
    a quoted key may be empty or hold spaces and line breaks (then it is shown quoted)."""
    if key is None:
        return "null"
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, str) and (not key or key != key.strip() or not key.isprintable()):
        return f'"{_one_line(key)}"'
    return str(key)


def format_path(path: Path) -> str:
    text = ""
    for part in path:
        if isinstance(part, int) and not isinstance(part, bool):
            text += f"[{part}]"
        else:
            text += f".{_key_text(part)}" if text else _key_text(part)
    return text


def _flatten(messages: Any, path: Path = ()) -> list[tuple[Path, str]]:
    if isinstance(messages, dict):
        flat = []
        for key, value in messages.items():
            flat += _flatten(value, path if key == "_schema" else (*path, key))
        return flat
    if isinstance(messages, list):
        return [pair for message in messages for pair in _flatten(message, path)]
    return [(path, str(messages))]


def _humanise(message: str) -> str:
    replacements = {
        _UNKNOWN_FIELD: "unknown field",
        "Missing data for required field.": "is required",
        "Not a valid string.": "must be text",
        "Not a valid integer.": "must be a whole number",
        "Not a valid number.": "must be a number",
        "Not a valid boolean.": "must be true or false",
        "Not a valid list.": "must be a list",
        "Invalid input type.": "must be a mapping of fields",
        "Not a valid mapping type.": "must be a mapping",
    }
    if message in replacements:
        return replacements[message]
    return message[0].lower() + message[1:].rstrip(".") if message[:1].isupper() else message


def _column_in_value(source_map: SourceMap, path: Path, offset: int | None) -> int:
    position = source_map.locate(path)
    if offset is None or path not in source_map.values:
        return position.column
    style = source_map.styles.get(path)
    if style in (None, ""):
        return position.column + offset
    if style in ("'", '"'):
        return position.column + 1 + offset
    return position.column  # block scalars: the expression starts on the next line


def _error(position: Position, path: Path, message: str, source_name: str) -> ProtocolError:
    return ProtocolError(
        position.line, position.column, format_path(path), _one_line(message), source_name
    )


def validate_protocol_text(text: str, source_name: str = "<protocol>") -> LoadedProtocol:
    """Parse and validate; raise `ProtocolInvalid` listing every error, in file order."""
    errors: list[ProtocolError] = []

    def add(path: Path, message: str, *, key: bool = False, offset: int | None = None) -> None:
        position = source_map.locate(path, key=key)
        column = position.column if key else _column_in_value(source_map, path, offset)
        errors.append(_error(Position(position.line, column), path, message, source_name))

    try:
        data, source_map, yaml_errors = load_yaml(text)
    except YamlSourceError as exc:
        raise ProtocolInvalid([_error(exc.position, exc.path, exc.message, source_name)]) from None
    for yaml_error in yaml_errors:
        errors.append(_error(yaml_error.position, yaml_error.path, yaml_error.message, source_name))
    if not isinstance(data, dict):
        add((), "a protocol is a mapping with study, questionnaires and schedules")
        raise ProtocolInvalid(errors)

    definition: dict[str, Any] | None = None
    try:
        definition = ProtocolSchema().load(data)
    except ValidationError as exc:
        for path, message in _flatten(exc.messages):
            add(path, _humanise(message), key=message in (_UNKNOWN_FIELD, UNKNOWN_CHANNEL))
    findings = check_cross_references(data)
    for finding in findings:
        if not finding.warning:
            add(finding.path, finding.message, offset=finding.offset)
    warnings = [
        _error(source_map.locate(finding.path), finding.path, finding.message, source_name)
        for finding in findings
        if finding.warning
    ]

    if errors or definition is None:
        raise ProtocolInvalid(sorted(set(errors)))
    return LoadedProtocol(
        definition=definition,
        source_text=text,
        source_hash=hashlib.sha256(text.encode()).hexdigest(),
        source_name=source_name,
        warnings=tuple(sorted(set(warnings))),
    )


def validate_protocol_file(path: str | FilePath) -> LoadedProtocol:
    file_path = FilePath(path)
    try:
        text = file_path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ProtocolInvalid(
            [ProtocolError(1, 1, "", f"not UTF-8 text ({exc.reason})", str(path))]
        ) from None
    return validate_protocol_text(text, str(path))
