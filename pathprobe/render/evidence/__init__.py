"""Evidence items become sentences here, and only here."""

from __future__ import annotations

from enum import StrEnum

from pathprobe.model import Evidence
from pathprobe.render.evidence import capture, diagnose, mss, pmtu, search, tunnel
from pathprobe.render.evidence.base import Template, fill

TEXT: dict[StrEnum, Template] = {}
for _table in (pmtu.TEXT, mss.TEXT, tunnel.TEXT, capture.TEXT, diagnose.TEXT, search.TEXT):
    for _fact, _template in _table.items():
        TEXT[_fact] = _template


def describe(ev: Evidence) -> str:
    """One human-readable line for an evidence item (frames first, for captures)."""
    template = TEXT.get(ev.fact)
    text = fill(template, ev.values) if template is not None else str(ev.fact)
    return text


__all__ = ["TEXT", "describe"]
