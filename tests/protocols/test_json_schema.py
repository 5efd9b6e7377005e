"""The JSON Schema of the protocol format, for editors."""

from __future__ import annotations

import copy
import json

import jsonschema
import pytest

from eas.protocols.json_schema import protocol_json_schema, protocol_json_schema_text
from eas.protocols.yaml_source import load_yaml
from tests.helpers import DEMO_PROTOCOL, ROOT
from tests.protocols.helpers import protocol


@pytest.fixture(scope="module")
def validator():
    return jsonschema.Draft202012Validator(protocol_json_schema())


@pytest.fixture
def demo_data():
    data, _, errors = load_yaml(DEMO_PROTOCOL.read_text(encoding="utf-8"))
    assert errors == []
    return data


def messages(validator, data) -> list[tuple[list, str]]:
    return [(list(error.absolute_path), error.message) for error in validator.iter_errors(data)]


def test_the_schema_is_valid_draft_2020_12():
    schema = protocol_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["type"] == "object"
    assert schema["required"] == ["questionnaires", "schedules", "study"]
    assert schema["additionalProperties"] is False


def test_references_point_into_defs():
    text = protocol_json_schema_text()
    assert "#/components/schemas/" not in text
    schema = json.loads(text)
    refs = {
        schema["properties"]["study"]["$ref"],
        schema["properties"]["schedules"]["items"]["$ref"],
    }
    assert refs == {"#/$defs/Study", "#/$defs/Schedule"}
    assert {"Study", "Item", "Questionnaire", "Schedule", "Alert"} <= set(schema["$defs"])


def test_the_text_is_the_schema_as_json():
    assert json.loads(protocol_json_schema_text()) == protocol_json_schema()


def test_the_demo_protocol_validates(validator, demo_data):
    assert messages(validator, demo_data) == []


def test_a_small_protocol_validates(validator):
    data, _, _ = load_yaml(protocol(alerts="- {id: a, when: 'mood > 8'}"))
    assert messages(validator, data) == []


def test_an_unknown_top_level_field_fails(validator, demo_data):
    demo_data["colour"] = "blue"
    assert messages(validator, demo_data) == [
        ([], "Additional properties are not allowed ('colour' was unexpected)")
    ]


def test_an_item_with_an_unknown_field_fails(validator, demo_data):
    demo_data["questionnaires"][0]["items"][1]["colour"] = "blue"
    assert messages(validator, demo_data) == [
        (
            ["questionnaires", 0, "items", 1],
            "Additional properties are not allowed ('colour' was unexpected)",
        )
    ]


def test_a_bad_item_type_fails(validator, demo_data):
    demo_data["questionnaires"][1]["items"][0]["type"] = "essay"
    [(path, message)] = messages(validator, demo_data)
    assert path == ["questionnaires", 1, "items", 0, "type"]
    assert message.startswith("'essay' is not one of ['yes_no', 'scale', 'slider', 'choice'")


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda d: d["schedules"][1].update(times=["25:00"]), ["schedules", 1, "times", 0]),
        (lambda d: d["study"].update(duration_days=0), ["study", "duration_days"]),
        (lambda d: d["study"].pop("timezone"), ["study"]),
        (lambda d: d["questionnaires"][0].update(items=[]), ["questionnaires", 0, "items"]),
        (lambda d: d["schedules"][0].update(channel="fax"), ["schedules", 0, "channel"]),
        (
            lambda d: d["questionnaires"][0]["items"][1]["options"].append({"value": 1}),
            ["questionnaires", 0, "items", 1, "options", 4],
        ),
        (lambda d: d["alerts"][0].update(notify=["everyone"]), ["alerts", 0, "notify", 0]),
        (
            lambda d: d["questionnaires"][0]["items"][0].update(id="AI"),
            ["questionnaires", 0, "items", 0, "id"],
        ),
    ],
    ids=["time", "duration", "required", "no-items", "channel", "option", "notify", "item-id"],
)
def test_field_level_rules_are_in_the_schema(validator, demo_data, change, path):
    original = copy.deepcopy(demo_data)
    change(demo_data)
    assert demo_data != original
    assert [error_path for error_path, _ in messages(validator, demo_data)] == [path]


@pytest.mark.parametrize(
    "path", sorted((ROOT / "protocols" / "examples").glob("*.yaml")), ids=lambda p: p.stem
)
def test_the_published_design_examples_validate(validator, path):
    """Blocks, times relative to wake and sleep, event windows, arms-free dyads: issue 22's
    format is in the schema."""
    data, _, errors = load_yaml(path.read_text(encoding="utf-8"))
    assert errors == []
    assert messages(validator, data) == []


@pytest.mark.parametrize(
    ("value", "valid"), [(14, True), ("until_withdrawn", True), ("forever", False), (4000, False)]
)
def test_the_study_length_in_the_schema(validator, demo_data, value, valid):
    demo_data["study"]["duration_days"] = value
    assert (messages(validator, demo_data) == []) is valid


def test_relative_times_and_arms_in_the_schema(validator, demo_data):
    demo_data["study"]["arms"] = {"names": ["a", "b"], "stratify_by": "site"}
    demo_data["schedules"][0]["arms"] = ["a"]
    demo_data["schedules"][1]["times"] = ["wake+30m", "sleep-1h"]
    assert messages(validator, demo_data) == []
    demo_data["schedules"][1]["times"] = ["noon"]
    assert messages(validator, demo_data)
