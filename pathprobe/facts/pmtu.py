"""Observations of the `pmtu` step (sentences: pathprobe.render.evidence.pmtu)."""

from __future__ import annotations

from enum import StrEnum


class PmtuFact(StrEnum):
    """What the pmtu step can observe; each value is stable (JSON `facts[].fact`)."""
