"""Sentences for the `mss` step's observations (pathprobe.facts.mss)."""

from __future__ import annotations

from pathprobe.facts.mss import MssFact
from pathprobe.render.evidence.base import Template

TEXT: dict[MssFact, Template] = {
}
