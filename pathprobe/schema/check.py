"""Check a JSON value against the packaged schema without third-party packages.

The one-file build (``dist/pathprobe.pyz``) carries only pure-Python
dependencies, and jsonschema pulls in compiled ones; ``pathprobe merge`` must
still refuse a file that is not a report. The schema uses a small part of
draft 2020-12 (type, enum, const, required, properties, additionalProperties,
items, minLength, minimum, maximum, local ``$ref``), and that part is what
this checks; tests compare it with jsonschema on generated values.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from typing import Any

from pathprobe.schema import load_schema

MAX_PROBLEMS = 1  # the first problem found is the one the user sees

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,), "array": (list,), "string": (str,), "boolean": (bool,),
    "null": (type(None),), "integer": (int,), "number": (int, float),
}


def _is_type(value: object, name: str) -> bool:
    if name in ("integer", "number") and isinstance(value, bool):
        return False
    if isinstance(value, float) and not math.isfinite(value):
        return False  # NaN and Infinity are no JSON numbers
    if name == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, _TYPES[name])


def _equal(a: object, b: object) -> bool:
    """JSON equality: 1 == 1.0, but True is not 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return a == b


def _where(path: tuple[str | int, ...]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path) or "the top"


class _Checker:
    def __init__(self, root: Mapping[str, Any]) -> None:
        self.root = root

    def resolve(self, ref: str) -> Mapping[str, Any]:
        if not ref.startswith("#/"):
            raise ValueError(f"only local $ref is supported, not {ref!r}")
        node: Any = self.root
        for part in ref[2:].split("/"):
            node = node[part]
        result: Mapping[str, Any] = node
        return result

    def check(self, value: object, schema: Mapping[str, Any] | bool,
              path: tuple[str | int, ...]) -> str | None:
        """The first problem, as 'where: what', or None."""
        if schema is True:
            return None
        if schema is False:
            return f"{_where(path)}: not allowed"
        if "$ref" in schema:
            found = self.check(value, self.resolve(schema["$ref"]), path)
            if found:
                return found
        kinds = schema.get("type")
        if kinds is not None:
            names = [kinds] if isinstance(kinds, str) else list(kinds)
            if not any(_is_type(value, n) for n in names):
                return f"{_where(path)}: expected {' or '.join(names)}"
        if "const" in schema and not _equal(value, schema["const"]):
            return f"{_where(path)}: must be {schema['const']!r}"
        if "enum" in schema and not any(_equal(value, e) for e in schema["enum"]):
            return f"{_where(path)}: not one of the allowed values"
        if isinstance(value, str) and len(value) < schema.get("minLength", 0):
            return f"{_where(path)}: too short"
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if "minimum" in schema and value < schema["minimum"]:
                return f"{_where(path)}: below {schema['minimum']}"
            if "maximum" in schema and value > schema["maximum"]:
                return f"{_where(path)}: above {schema['maximum']}"
        if isinstance(value, list) and "items" in schema:
            for i, item in enumerate(value):
                found = self.check(item, schema["items"], (*path, i))
                if found:
                    return found
        if isinstance(value, dict):
            return self.check_object(value, schema, path)
        return None

    def check_object(self, value: dict[str, Any], schema: Mapping[str, Any],
                     path: tuple[str | int, ...]) -> str | None:
        for key in schema.get("required", ()):
            if key not in value:
                return f"{_where(path)}: '{key}' is missing"
        props: Mapping[str, Any] = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        for key, item in value.items():
            sub = props.get(key, extra)
            if sub is False:
                return f"{_where(path)}: unexpected '{key}'"
            found = self.check(item, sub, (*path, key))
            if found:
                return found
        return None


@functools.cache
def _schema() -> dict[str, Any]:
    return load_schema()  # parsed once per process, however many files are checked


def schema_problem(value: object, definition: str | None = None) -> str | None:
    """Why ``value`` does not follow the packaged schema (or its ``$defs/definition``),
    or None when it does."""
    root = _schema()
    schema = root if definition is None else root["$defs"][definition]
    return _Checker(root).check(value, schema, ())
