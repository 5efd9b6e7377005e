"""Read YAML while remembering where every value came from.

PyYAML's composer gives each node its line and column; we build plain Python values from the
nodes ourselves and keep a map from field path to position, so every validation error can name
`file:line:column`. Building values ourselves also avoids YAML 1.1 surprises that would corrupt a
protocol silently: `21:30` is not the integer 1290 (sexagesimal), `no` is not False, and a key
written twice is an error rather than the last one winning.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Position:
    line: int  # 1-based
    column: int  # 1-based


@dataclass
class SourceMap:
    """Where each path's value (and, for mapping entries, its key) starts in the file."""

    values: dict[Path, Position] = field(default_factory=dict)
    keys: dict[Path, Position] = field(default_factory=dict)
    #: Scalars written on one line with no quotes or with plain quotes, for column arithmetic.
    styles: dict[Path, str | None] = field(default_factory=dict)

    def locate(self, path: Path, *, key: bool = False) -> Position:
        """The position of `path`, or of its nearest ancestor that exists in the file."""
        table = self.keys if key else self.values
        if path in table:
            return table[path]
        while path:
            path = path[:-1]
            if path in self.values:
                return self.values[path]
        return Position(1, 1)


class YamlSourceError(ValueError):
    def __init__(self, message: str, position: Position, path: Path = ()) -> None:
        super().__init__(message)
        self.message = message
        self.position = position
        self.path = path


def _position(mark: yaml.Mark) -> Position:
    return Position(mark.line + 1, mark.column + 1)


#: Far more values than any protocol has (the demo has about 1,500).
MAX_NODES = 100_000
#: Far deeper than any protocol nests (an item's option label is 7 levels down). PyYAML composes
#: and we build values recursively, so without a limit a few hundred `[` end in RecursionError.
MAX_DEPTH = 50


def _too_deep(position: Position, path: Path) -> YamlSourceError:
    # Named by the top-level field: the full path of a value 50 levels down would fill the line.
    return YamlSourceError(
        f"nested too deeply: more than {MAX_DEPTH} levels of lists or mappings",
        position,
        path[:1],
    )


def _path_part(index: Any) -> str | int | None:
    """What PyYAML's composer passes as a node's `index`, as a part of its path.

    The position of a sequence's element; the key node of a mapping's value (a key that is not
    a plain name is refused later); None for a key itself and for the document.
    """
    if isinstance(index, yaml.ScalarNode):
        return index.value
    return index if isinstance(index, int) else None


class _DepthLimitedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing documents nested deeper than `MAX_DEPTH`."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        #: The key (or index) of each node being composed, outermost first.
        self.composing: list[str | int | None] = []

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        self.composing.append(_path_part(index))
        try:
            if len(self.composing) > MAX_DEPTH + 1:
                # The document, then its top-level key or element (None inside a key).
                top = self.composing[1]
                where = _position(self.peek_event().start_mark)
                raise _too_deep(where, () if top is None else (top,))
            return super().compose_node(parent, index)
        finally:
            self.composing.pop()


class _Builder:
    def __init__(self, loader: yaml.SafeLoader) -> None:
        self.loader = loader
        self.source_map = SourceMap()
        self.errors: list[YamlSourceError] = []
        #: Collections being built, to refuse an alias that contains itself.
        self.building: set[int] = set()
        self.built = 0

    def build(self, node: yaml.Node, path: Path) -> Any:
        self.built += 1
        if self.built > MAX_NODES:
            # Aliases of aliases multiply ("billion laughs"): stop before memory runs out.
            raise YamlSourceError(
                f"the protocol expands to more than {MAX_NODES:,} values (aliases of aliases?)",
                _position(node.start_mark),
                path,
            )
        if len(path) > MAX_DEPTH:
            # Only aliases get here: each can add MAX_DEPTH levels to the one it names.
            raise _too_deep(_position(node.start_mark), path)
        self.source_map.values[path] = _position(node.start_mark)
        if isinstance(node, yaml.ScalarNode):
            self.source_map.styles[path] = node.style
            return self._scalar(node, path)
        if id(node) in self.building:
            self.errors.append(
                YamlSourceError("an alias refers to itself", _position(node.start_mark), path)
            )
            return None
        self.building.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, path)
            return [self.build(child, (*path, index)) for index, child in enumerate(node.value)]
        finally:
            self.building.discard(id(node))

    def _mapping(self, node: yaml.MappingNode, path: Path) -> dict:
        result: dict = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self.errors.append(
                    YamlSourceError(
                        "keys must be plain names", _position(key_node.start_mark), path
                    )
                )
                continue
            key = self._scalar(key_node, path)
            if isinstance(key, str) and key == "<<":
                self.errors.append(
                    YamlSourceError(
                        "merge keys (<<) are not supported; write the fields out",
                        _position(key_node.start_mark),
                        path,
                    )
                )
                continue
            if key in result:
                first = self.source_map.keys[(*path, key)]
                self.errors.append(
                    YamlSourceError(
                        f"key '{key}' appears twice (first on line {first.line})",
                        _position(key_node.start_mark),
                        (*path, key),
                    )
                )
                continue
            self.source_map.keys[(*path, key)] = _position(key_node.start_mark)
            result[key] = self.build(value_node, (*path, key))
        return result

    def _scalar(self, node: yaml.ScalarNode, path: Path) -> Any:
        tag = node.tag.rsplit(":", 1)[-1]
        value = node.value
        if tag == "null":
            return None
        if tag == "bool":
            # Only true/false are booleans; yes/no/on/off stay words (marshmallow's Boolean
            # fields still accept them where a boolean is expected).
            return value.lower() == "true" if value.lower() in ("true", "false") else value
        if tag in ("int", "float") and ":" in value:
            return value  # a time such as 21:30, not a base-60 number
        if tag == "int":
            return self._number(node, path, self.loader.construct_yaml_int)
        if tag == "float":
            return self._number(node, path, self.loader.construct_yaml_float)
        return value  # strings, and dates or timestamps, which the schemas parse

    def _number(
        self, node: yaml.ScalarNode, path: Path, construct: Callable[[yaml.ScalarNode], Any]
    ) -> Any:
        """The number `node` is, or its text with an error where Python cannot read it."""
        try:
            number = construct(node)
            # Python converts integers of at most 4,300 decimal digits to and from text (a guard
            # against slow conversions). PyYAML reads longer ones written in hex or binary, and
            # then every message that shows the value would fail.
            str(number)
            return number
        except ValueError:
            pass
        # Also `0x_` and `0b_`: PyYAML's patterns let them through without digits.
        text = node.value
        long = len(text.replace("_", "")) > 20
        shown = f"{text[:20]}..." if long else text
        why = " (too many digits)" if long else ""
        self.errors.append(
            YamlSourceError(
                f"{shown} is not a number eas can read{why}", _position(node.start_mark), path
            )
        )
        return text


def load_yaml(text: str) -> tuple[Any, SourceMap, list[YamlSourceError]]:
    """Parse `text`; return the data, where each value came from, and structural YAML errors.

    A syntax error is raised as `YamlSourceError` (nothing else can be checked then).
    """
    loader = None
    try:
        loader = _DepthLimitedLoader(text)  # checks for unprintable characters at once
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        position = _position(mark) if mark else Position(1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        raise YamlSourceError(f"YAML syntax error: {problem}", position) from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise YamlSourceError(
            f"control character U+{code:04X} is not allowed in YAML", Position(line, column)
        ) from None
    except yaml.YAMLError as exc:
        raise YamlSourceError(f"YAML error: {exc}", Position(1, 1)) from None
    finally:
        if loader is not None:
            loader.dispose()
    if node is None:
        return None, SourceMap(), []
    builder = _Builder(loader)
    data = builder.build(node, ())
    return data, builder.source_map, builder.errors
