"""JSON as RFC 8259 has it: no NaN, no Infinity, in or out (issue 23 item 7).

Python's ``json`` reads and writes the bare words ``NaN``, ``Infinity`` and
``-Infinity`` (and turns ``1e999`` into infinity); no other JSON reader accepts
them, and no report quantity can be one. Every report, fleet report and
reflector line is read with ``loads`` and written with ``dumps``.
"""

from __future__ import annotations

import json
import math
from typing import Any


class NonFiniteNumber(ValueError):
    """The text holds NaN, Infinity, or a number too large for a float."""


def _constant(word: str) -> float:
    raise NonFiniteNumber(f"{word} is not a JSON number")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise NonFiniteNumber(f"{text[:40]} is too large for a number")
    return value


def loads(text: str | bytes) -> Any:
    """``json.loads`` that refuses NaN, Infinity and numbers that overflow to them
    (``NonFiniteNumber``, a ValueError, like any other invalid JSON)."""
    return json.loads(text, parse_constant=_constant, parse_float=_float)


def dumps(obj: Any, **kwargs: Any) -> str:
    """``json.dumps`` that refuses to write NaN or Infinity (ValueError)."""
    return json.dumps(obj, allow_nan=False, **kwargs)
