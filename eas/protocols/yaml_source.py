"""Read YAML while remembering where every value came from.

PyYAML's composer gives each node its line and column; we build plain Python values from the
nodes ourselves and keep a map from field path to position, so every validation error can name
`file:line:column`. Building values ourselves also avoids YAML 1.1 surprises that would corrupt a
protocol silently: `21:30` is not the integer 1290 (sexagesimal), `no` is not False, and a key
written twice is an error rather than the last one winning.
"""

from __future__ import annotations

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
        self.source_map.values[path] = _position(node.start_mark)
        if isinstance(node, yaml.ScalarNode):
            self.source_map.styles[path] = node.style
            return self._scalar(node)
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
            key = self._scalar(key_node)
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

    def _scalar(self, node: yaml.ScalarNode) -> Any:
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
            return self.loader.construct_yaml_int(node)
        if tag == "float":
            return self.loader.construct_yaml_float(node)
        return value  # strings, and dates or timestamps, which the schemas parse


def load_yaml(text: str) -> tuple[Any, SourceMap, list[YamlSourceError]]:
    """Parse `text`; return the data, where each value came from, and structural YAML errors.

    A syntax error is raised as `YamlSourceError` (nothing else can be checked then).
    """
    loader = None
    try:
        loader = yaml.SafeLoader(text)  # checks for unprintable characters at once
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
