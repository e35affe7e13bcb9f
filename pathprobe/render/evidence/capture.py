"""Sentences for the `capture` step's observations (pathprobe.facts.capture)."""

from __future__ import annotations

from pathprobe.facts.capture import CaptureFact
from pathprobe.render.evidence.base import Template

TEXT: dict[CaptureFact, Template] = {
}
