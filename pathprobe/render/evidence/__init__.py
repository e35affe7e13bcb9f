"""Evidence items become sentences here, and only here."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from pathprobe.model import Evidence
from pathprobe.render.evidence import capture, diagnose, mss, pmtu, search, tunnel
from pathprobe.render.evidence.base import Template, fill

TEXT: Mapping[StrEnum, Template] = {
    **pmtu.TEXT, **mss.TEXT, **tunnel.TEXT, **capture.TEXT, **diagnose.TEXT,
    **search.TEXT,
}


def describe(ev: Evidence) -> str:
    """One human-readable line for an evidence item (frames first, for captures)."""
    template = TEXT.get(ev.fact)
    text = fill(template, ev.values) if template is not None else str(ev.fact)
    return text


__all__ = ["TEXT", "describe"]
