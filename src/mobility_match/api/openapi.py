"""What FastAPI's OpenAPI document leaves out of the API's behaviour, added to it.

FastAPI describes each route from its signature; three rules of the whole API
live outside the routes and are added here, so that the description is true:
errors are `application/problem+json` (api/problems.py), a body that cannot be
read at all answers 400, and no text of a request may hold a control character
(web/controls.py answers 422): every string a client sends is described with a
pattern that excludes them, every object's keys too.

It only rewrites the document; it must not change what a route does.
"""

from __future__ import annotations

from typing import Any

from mobility_match.api.problems import MEDIA_TYPE, problem_media_type

NO_CONTROL = "[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f]"
"""One character that is not a C0 control other than tab, LF and CR (as web/controls.py)."""

_READ_BY_CONTROLS = ("application/json", "application/x-www-form-urlencoded", "multipart/form-data")


def _text(schema: dict[str, Any]) -> dict[str, Any]:
    """A pattern refusing control characters, keeping the string's length bounds."""
    low = schema.get("minLength", 0)
    high = schema.get("maxLength", "")
    return {"pattern": f"^{NO_CONTROL}{{{low},{high}}}$"}


ANY_TEXT = "JsonWithoutControls"
"""The component of any JSON value without a control character, keys included."""
_COMPONENTS = "#/components/schemas/"


def _any_text() -> dict[str, Any]:
    reference = {"$ref": f"{_COMPONENTS}{ANY_TEXT}"}
    return {
        "description": "Any JSON value whose strings and keys hold no control character.",
        "anyOf": [
            {"type": "string", "pattern": f"^{NO_CONTROL}*$"},
            {"type": ["number", "boolean", "null"]},
            {"type": "array", "items": reference},
            {
                "type": "object",
                "propertyNames": {"pattern": f"^{NO_CONTROL}*$"},
                "additionalProperties": reference,
            },
        ],
    }


class _Refusing:
    """Adds the control-character rule to request schemas, each component once."""

    def __init__(self, components: dict[str, Any]) -> None:
        self.components = components
        self.done: set[str] = set()

    def schema(self, node: Any) -> None:
        if not isinstance(node, dict):
            return
        reference = node.get("$ref")
        if isinstance(reference, str):
            name = reference.rsplit("/", 1)[-1]
            if name not in self.done and name in self.components:
                self.done.add(name)
                self.schema(self.components[name])
            return
        # Dates, vocabularies and files (contentMediaType) are checked otherwise.
        plain = not any(
            key in node for key in ("format", "enum", "const", "pattern", "contentMediaType")
        )
        if node.get("type") == "string" and plain:
            node.update(_text(node))
        if node.get("type") == "object" or "properties" in node:
            node.setdefault("propertyNames", {"pattern": f"^{NO_CONTROL}*$"})
            # Keys a model does not know are ignored, but what they hold is read too.
            node.setdefault("additionalProperties", {"$ref": f"{_COMPONENTS}{ANY_TEXT}"})
        for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
            for item in node.get(key, []):
                self.schema(item)
        for key in ("items", "additionalProperties", "not"):
            self.schema(node.get(key))
        for item in node.get("properties", {}).values():
            self.schema(item)


def describe(schema: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI document `schema`, with the rules above added (in place)."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    refusing = _Refusing(components)
    unreadable = {
        "description": "The body cannot be read (not UTF-8, not JSON, broken multipart).",
        "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                refusing.schema(parameter.get("schema"))
            body = operation.get("requestBody")
            if body is None:
                continue
            operation["responses"].setdefault("400", unreadable)
            for media_type, content in body.get("content", {}).items():
                if media_type in _READ_BY_CONTROLS:
                    refusing.schema(content.get("schema"))
    components[ANY_TEXT] = _any_text()
    return problem_media_type(schema)
