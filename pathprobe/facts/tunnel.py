"""Observations of the `tunnel` step (sentences: pathprobe.render.evidence.tunnel)."""

from __future__ import annotations

from enum import StrEnum


class TunnelFact(StrEnum):
    """What the tunnel step can observe; each value is stable (JSON `facts[].fact`)."""
