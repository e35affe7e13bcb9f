"""Sentences for the `tunnel` step's observations (pathprobe.facts.tunnel)."""

from __future__ import annotations

from pathprobe.facts.tunnel import TunnelFact
from pathprobe.render.evidence.base import Template

TEXT: dict[TunnelFact, Template] = {
}
