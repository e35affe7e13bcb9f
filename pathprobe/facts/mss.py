"""Observations of the `mss` step (sentences: pathprobe.render.evidence.mss)."""

from __future__ import annotations

from enum import StrEnum


class MssFact(StrEnum):
    """What the mss step can observe; each value is stable (JSON `facts[].fact`)."""
