"""Every observation has a sentence (pathprobe.render.evidence), and a sentence's
numbers come from the evidence values, never from elsewhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pathprobe.facts.mss import MssFact
from pathprobe.facts.pmtu import PmtuFact, ProbeKind
from pathprobe.model import Evidence, Step
from pathprobe.render.evidence import TEXT, describe
from pathprobe.render.evidence.base import fields_of

PLACEHOLDER = re.compile(r"(?<!\w)\?")    # what render prints for a missing value


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


def test_capture_facts_have_sentences_with_their_values() -> None:
    """Each CaptureFact has a sentence; rendering every evidence item the lab fixtures
    produce (verdicts, rows, reader notes) leaves no value unfilled."""
    from pathprobe.capture import Filters, analyze_capture
    from pathprobe.facts.capture import CaptureFact

    assert set(CaptureFact) <= set(TEXT)
    seen: set[CaptureFact] = set()
    fixtures = Path(__file__).resolve().parents[1] / "fixtures" / "captures"
    for path in sorted(fixtures.glob("*.pcap")):
        a = analyze_capture(path, Filters())
        m = a.measurement
        for e in (*a.notes, *(e for v in m.verdicts for e in v.evidence),
                  *(n for leg in m.legs for n in leg.notes)):
            assert isinstance(e.fact, CaptureFact)
            seen.add(e.fact)
            text = describe(e)
            assert text and not PLACEHOLDER.search(text) and "None" not in text, (path, e)
    assert len(seen) >= 30        # the fixtures exercise most of the vocabulary
