"""Every observation has a sentence, and the sentences get every value they name."""

from __future__ import annotations

import re
from pathlib import Path

from pathprobe.render.evidence import TEXT, describe

PLACEHOLDER = re.compile(r"(?<!\w)\?")    # what render prints for a missing value


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
