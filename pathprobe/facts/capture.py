"""Observations of the `capture` step (sentences: pathprobe.render.evidence.capture)."""

from __future__ import annotations

from enum import StrEnum


class CaptureFact(StrEnum):
    """What the capture step can observe; each value is stable (JSON `facts[].fact`)."""
