"""Sentences for the `pmtu` step's observations (pathprobe.facts.pmtu)."""

from __future__ import annotations

from pathprobe.facts.pmtu import PmtuFact
from pathprobe.render.evidence.base import Template

TEXT: dict[PmtuFact, Template] = {
}
