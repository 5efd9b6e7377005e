"""A JSON Schema of the protocol format, generated from the marshmallow schemas by apispec,
so editors (VS Code's YAML extension, JetBrains) can check a protocol as it is typed."""

from __future__ import annotations

import json
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from eas.protocols.schemas import ProtocolSchema

_OPENAPI_REF = "#/components/schemas/"


def _rewrite_refs(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            key: (
                value.replace(_OPENAPI_REF, "#/$defs/")
                if key == "$ref" and isinstance(value, str)
                else _rewrite_refs(value)
            )
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_rewrite_refs(value) for value in node]
    return node


def protocol_json_schema() -> dict[str, Any]:
    spec = APISpec(
        title="eas protocol", version="1", openapi_version="3.1.0", plugins=[MarshmallowPlugin()]
    )
    spec.components.schema("Protocol", schema=ProtocolSchema)
    components = _rewrite_refs(spec.to_dict()["components"]["schemas"])
    root = components.pop("Protocol")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://eas.invalid/schemas/protocol.json",
        "title": "eas protocol file",
        "description": "An EMA study protocol for eas (see protocols/README.md).",
        **root,
        "$defs": components,
    }


def protocol_json_schema_text() -> str:
    return json.dumps(protocol_json_schema(), indent=2, sort_keys=False)
