"""Fuzzing the validator: whatever a protocol file holds, validation reports errors, never crashes.

Real protocols (protocols/*.yaml, tests/protocols/data/*.yaml and a small one using every kind
of field) are mutated as a coordinator's editing or a hostile upload might: keys deleted or
misspelt, values replaced by values of other types, values nested (a few levels, about the limit
of 50, or thousands), numbers made huge or negative, elements moved to where another kind
belongs, and the text itself cut and spliced. Every outcome must be a valid
protocol or `ProtocolInvalid` whose errors read `file:line:column: field: message`; anything else
would be a traceback on the command line and a 500 on the dashboard and the API.

CI runs 200 mutated protocols and 100 spliced texts (about 15 s);
`EAS_FUZZ_EXAMPLES=20000 pytest tests/protocols/test_fuzz.py` runs 20,000 and 10,000.
"""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eas.protocols.json_schema import protocol_json_schema_text
from eas.protocols.validation import ProtocolInvalid, validate_protocol_text
from eas.protocols.yaml_source import Path, load_yaml
from tests.helpers import ROOT
from tests.protocols.helpers import protocol

EXAMPLES = int(os.environ.get("EAS_FUZZ_EXAMPLES", "200"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
#: Most spliced texts are YAML syntax errors, found early: half as many are enough.
FUZZ_TEXT = settings(FUZZ, max_examples=max(EXAMPLES // 2, 1))
ERROR_LINE = re.compile(r"p\.yaml:\d+:\d+: \S.*")

SEED_FILES = sorted((ROOT / "protocols").glob("*.yaml")) + sorted(
    (ROOT / "tests" / "protocols" / "data").glob("*.yaml")
)


@cache
def seed_texts() -> tuple[str, ...]:
    texts = [path.read_text(encoding="utf-8") for path in SEED_FILES]
    texts.append(
        protocol(
            items="- {id: n, type: number, min: 0, text: N, show_if: 'mood >= 3'}",
            schedules="- {id: r, questionnaire: q, type: random, per_day: 3, "
            "reminders: [{after_minutes: 10, text: 'Still there?'}], "
            "blackouts: [{start: '12:00', end: '13:00', weekdays: [mon]}]}",
            alerts="- {id: a, when: 'mood >= 8', keywords: [help me], reply: Call us}",
        )
    )
    return tuple(texts)


@cache
def seeds() -> tuple[Any, ...]:
    """The seed protocols as data, read by eas's own loader (times stay text)."""
    return tuple(load_yaml(text)[0] for text in seed_texts())


def _property_names(schema: Any) -> Iterator[str]:
    if isinstance(schema, dict):
        yield from schema.get("properties", {})
        for value in schema.values():
            yield from _property_names(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from _property_names(value)


@cache
def field_names() -> list[str]:
    """Every field name of the format, plus near misses such as `after` for `after_minutes`."""
    names = set(_property_names(json.loads(protocol_json_schema_text())))
    return sorted(names | {"after", "minutes", "label", "value", "colour", "<<"})


#: Text spliced into the YAML as written, for what `yaml.safe_dump` cannot produce.
RAW_TEXTS = (
    # Hypothesis runs tests with 2,000 frames of stack to spare: deeper than the 494.
    "[" * 5000 + "]" * 5000,
    "{a: " * 5000 + "1" + "}" * 5000,
    "[" * 494 + "]" * 494,
    "[" * 40 + "]" * 40,
    "1" * 5000,  # more digits than Python converts to int by default
    "-" + "9" * 4400,
    "0x" + "f" * 4000,  # read, but more digits than Python writes out
    "0b_",
    "0x_",
    "0o_",
    "1_000",
    ".inf",
    "-.inf",
    ".nan",
    "1e400",
    "&loop [*loop]",
    "*nowhere",
    "!!python/object:os.system x",
    "!!binary aGk=",
    "!!set {a, b}",
    "!!timestamp 2026-01-01",
    "2026-03-18",
    "21:30",
    "~",
    "? [a]\n",
    "|\n  block\n",
    '"\\0 nul"',
    '"\\x85"',
)

INTERESTING_STRINGS = (
    "",
    " ",
    "x",
    "21:30",
    "9:5",
    "24:00",
    "yes",
    "no",
    "null",
    "Europe/Berlin",
    "Mars/Olympus",
    "fixed",
    "random",
    "interval",
    "once",
    "event",
    "sms",
    "web",
    "scale",
    "slider",
    "choice",
    "multi_choice",
    "number",
    "text",
    "yes_no",
    "STOP",
    "mood >= 8",
    "mood in [1, 2]",
    "'a' in kinds",
    "not not not mood",
    "mood == 0x" + "f" * 4000,
    "(" * 250 + "mood" + ")" * 250,
    "a;b",
    "mood\x00",
    "é" * 200,
    "🙂" * 100,
    "x" * 2000,
)

NUMBERS = st.one_of(
    st.integers(),
    st.sampled_from([0, -1, 1, -(2**63), 2**63, 10**18, -(10**300), 10**300]),
    st.floats(),  # NaN and infinities included
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    NUMBERS,
    st.text(max_size=30),
    st.sampled_from(INTERESTING_STRINGS),
)
#: YAML keys may also be null, true, false or numbers.
KEYS = st.one_of(
    st.sampled_from(field_names()),
    st.text(max_size=10),
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.floats(allow_nan=False),
)
JUNK = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(KEYS, children, max_size=3),
    max_leaves=8,
)


class Raw:
    """A value written into the YAML text as it is (see RAW_TEXTS)."""

    def __init__(self, text: str) -> None:
        self.text = text


RAW = st.sampled_from(RAW_TEXTS).map(Raw)


def _paths(value: Any, path: Path = ()) -> Iterator[Path]:
    yield path
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _paths(child, (*path, index))


def _get(document: Any, path: Path) -> Any:
    for part in path:
        document = document[part]
    return document


def _set(document: Any, path: Path, value: Any) -> Any:
    """`document` with the value at `path` replaced (the root itself when `path` is empty)."""
    if not path:
        return value
    _get(document, path[:-1])[path[-1]] = value
    return document


def _nest(value: Any, depth: int) -> Any:
    for level in range(depth):
        value = [value] if level % 2 else {"a": value}
    return value


@st.composite
def _paths_in(draw: st.DrawFn, document: Any) -> Path:
    """A path in `document`: any value alike, or a walk down that favours small sections (a
    schedule's reminders are a handful of the demo's 3,800 values, but one walk in a hundred
    ends there)."""
    if draw(st.booleans()):
        return draw(st.sampled_from(list(_paths(document))))
    path: Path = ()
    node = document
    while isinstance(node, dict | list) and node and draw(st.integers(0, 4)):
        part = draw(st.sampled_from(list(node) if isinstance(node, dict) else range(len(node))))
        path, node = (*path, part), node[part]
    return path


def _near_miss(key: Any) -> st.SearchStrategy[Any]:
    """Keys a coordinator might write instead of `key`: `after` for `after_minutes`, say."""
    text = str(key)
    return st.sampled_from([text.split("_")[0], text + "s", text[:-1], text.upper()]) | KEYS


# Each mutation: (draw, document, path, the value there) -> the mutated document.
Mutation = Callable[[st.DrawFn, Any, Path, Any], Any]


def _delete(draw: st.DrawFn, document: Any, path: Path, value: Any) -> Any:
    if path:
        del _get(document, path[:-1])[path[-1]]
    return document


def _rename(draw: st.DrawFn, document: Any, path: Path, value: Any) -> Any:
    if path and isinstance(parent := _get(document, path[:-1]), dict):
        parent[draw(_near_miss(path[-1]))] = parent.pop(path[-1])
    return document


def _add(draw: st.DrawFn, document: Any, path: Path, value: Any) -> Any:
    if isinstance(value, dict):
        value[draw(KEYS)] = draw(JUNK | RAW)
    elif isinstance(value, list):
        value.insert(draw(st.integers(0, len(value))), draw(JUNK | RAW))
    return document


def _move(draw: st.DrawFn, document: Any, path: Path, value: Any) -> Any:
    # Something from elsewhere in the file where it does not belong: a schedule as an item.
    elsewhere = copy.deepcopy(_get(document, draw(_paths_in(document))))
    return _set(document, path, elsewhere)


MUTATIONS: dict[str, Mutation] = {
    "delete": _delete,
    "rename": _rename,
    "add": _add,
    "move": _move,
    "replace": lambda draw, document, path, value: _set(document, path, draw(JUNK)),
    "raw": lambda draw, document, path, value: _set(document, path, draw(RAW)),
    "number": lambda draw, document, path, value: _set(document, path, draw(NUMBERS)),
    "wrap": lambda draw, document, path, value: _set(
        document, path, [value] if draw(st.booleans()) else {"x": value}
    ),
    "nest": lambda draw, document, path, value: _set(
        document, path, _nest(value, draw(st.integers(1, 4) | st.integers(45, 60)))
    ),
}


@st.composite
def mutated_documents(draw: st.DrawFn) -> Any:
    """A seed protocol with one to five mutations applied."""
    document = copy.deepcopy(draw(st.sampled_from(seeds())))
    for _ in range(draw(st.integers(1, 5))):
        path = draw(_paths_in(document))
        mutation = MUTATIONS[draw(st.sampled_from(sorted(MUTATIONS)))]
        document = mutation(draw, document, path, _get(document, path))
    return document


def _dump(document: Any) -> str:
    """YAML text of a mutated document, with its `Raw` values written in as they are."""
    raws: list[str] = []

    def mark(value: Any) -> Any:
        if isinstance(value, Raw):
            raws.append(value.text)
            return f"zzraw{len(raws) - 1}zz"
        if isinstance(value, dict):
            return {key: mark(child) for key, child in value.items()}
        if isinstance(value, list):
            return [mark(child) for child in value]
        return value

    text = yaml.safe_dump(mark(document), sort_keys=False, allow_unicode=True)
    for index, raw in enumerate(raws):
        text = text.replace(f"zzraw{index}zz", raw)
    return text


def assert_validated_or_reported(text: str) -> None:
    """A valid protocol (whose definition can be stored as JSON), or every error located."""
    try:
        loaded = validate_protocol_text(text, "p.yaml")
    except ProtocolInvalid as invalid:
        assert invalid.errors
        lines = text.count("\n") + 2
        for error in invalid.errors:
            # One line each (str.splitlines also breaks at U+2028 and the like).
            assert ERROR_LINE.fullmatch(str(error)) and len(str(error).splitlines()) == 1, error
            assert 1 <= error.line <= lines and error.column >= 1, str(error)
        return
    json.dumps(loaded.definition, allow_nan=False)


def test_the_seeds_are_protocols_eas_reads():
    assert len(seeds()) == len(SEED_FILES) + 1
    assert all(isinstance(seed, dict) for seed in seeds())


@FUZZ
@given(mutated_documents())
def test_mutated_protocols_are_reported_not_crashed(document):
    # Values nested by several mutations can be deeper than PyYAML's own emitter can write;
    # such files are covered by the raw texts.
    try:
        text = _dump(document)
    except RecursionError:
        return
    assert_validated_or_reported(text)


@st.composite
def spliced_texts(draw: st.DrawFn) -> str:
    """A seed's text with a slice cut out or YAML punctuation spliced in."""
    text = draw(st.sampled_from(seed_texts()))
    for _ in range(draw(st.integers(1, 3))):
        start = draw(st.integers(0, len(text)))
        end = draw(st.integers(start, min(len(text), start + 40)))
        insert = draw(
            st.text(alphabet=" \n\t-:[]{},&*!|>'\"#?%@`\\0aZ9", max_size=8)
            | st.sampled_from(RAW_TEXTS)
        )
        text = text[:start] + insert + text[end:]
    return text


@FUZZ_TEXT
@given(spliced_texts())
def test_spliced_protocol_texts_are_reported_not_crashed(text):
    assert_validated_or_reported(text)
