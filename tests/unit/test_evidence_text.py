"""Every observation has a sentence (pathprobe.render.evidence), and a sentence's
numbers come from the evidence values, never from elsewhere."""

from __future__ import annotations

import pytest

from pathprobe.facts.mss import MssFact
from pathprobe.facts.pmtu import PmtuFact, ProbeKind
from pathprobe.model import Evidence, Step
from pathprobe.render.evidence import TEXT, describe
from pathprobe.render.evidence.base import fields_of


@pytest.mark.parametrize("fact", [*PmtuFact, *MssFact], ids=str)
def test_pmtu_and_mss_facts_have_sentences(fact: PmtuFact | MssFact) -> None:
    assert fact in TEXT
    template = TEXT[fact]
    step = Step.PMTU if isinstance(fact, PmtuFact) else Step.MSS
    # Filled with a number for each field a str template names, no '?' is left.
    values = {name: 1234 for name in fields_of(template)}
    if isinstance(template, str):
        line = describe(Evidence(fact, step, values))
        assert line.count("?") == template.count("?"), template


def test_probe_kinds_are_named() -> None:
    for kind in ProbeKind:
        line = describe(Evidence(PmtuFact.PROBE, Step.PMTU, {"probe": kind.value,
                                                             "port": 3128}))
        assert line.startswith("method: ") and kind.value not in line, line
