"""The JSON Schema of ``--json`` output, shipped as package data (``pathprobe schema``).

The file is the contract (design.md): scripts validate reports against it, and
its ``$id`` names the report version; a change to either is a CHANGELOG entry.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

SCHEMA_FILE = "pathprobe-1.schema.json"
SCHEMA_ID = "urn:pathprobe:schema:report:1"


def schema_text() -> str:
    """The schema exactly as shipped (works from a wheel, a checkout or the one-file build)."""
    return resources.files(__name__).joinpath(SCHEMA_FILE).read_text(encoding="utf-8")


def load_schema() -> dict[str, Any]:
    """The schema as a JSON object, e.g. for ``jsonschema.validate(report, load_schema())``."""
    doc: dict[str, Any] = json.loads(schema_text())
    return doc
