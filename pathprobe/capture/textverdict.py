"""What a verdict read from text cannot claim that the same verdict from a pcap can: the
lines it cites were dropped by the firewall that printed them, or carry no time; nothing
wrong seen where no time shows whether data stopped. Pure."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence, Set

from pathprobe.facts.capture import CaptureFact
from pathprobe.facts.text import TextFact
from pathprobe.model import Confidence, Evidence, Step, Verdict, VerdictCode


def firewall_dropped(v: Verdict, dropped: Mapping[int, str]) -> Verdict:
    """A verdict that cites a packet the capturing ASA/FTD dropped itself (its asp-drop
    capture says why) has a cause it did not measure away: the firewall. It says so and is
    no longer 'measured'."""
    cited = sorted({f for e in v.evidence for f in e.frames if f in dropped})
    if not cited:
        return v
    line = cited[0]
    why = Evidence(TextFact.CITED_DROPPED, Step.CAPTURE,
                   {"frame": line, "reason": dropped[line], "unit": "line"}, (line,))
    return dataclasses.replace(v, evidence=(*v.evidence, why),
                               confidence=Confidence.INFERRED)


def rst_untimed(v: Verdict, untimed: Set[int]) -> Verdict:
    """A reset 'N ms after' a large segment, where the text shows no time on either line
    (tcpdump's '[Error converting time]', -t): the lines read as 0 ms apart, and a reset
    long after the segment answers an idle connection, not the size. The evidence says the
    time is unknown; the verdict is no longer 'measured'."""
    if not untimed:
        return v
    evidence, changed, segment = [], False, None
    for e in v.evidence:
        if e.fact is CaptureFact.LARGE_SEGMENT:
            segment = e.frames[0] if e.frames else None
        if e.fact is CaptureFact.RST_AFTER_LARGE and e.frames and (
                e.frames[0] in untimed or segment in untimed):
            e = Evidence(TextFact.RST_UNTIMED, e.step, {"frame": e.frames[0], "unit": "line"},
                         e.frames)
            changed = True
        evidence.append(e)
    if not changed:
        return v
    return dataclasses.replace(v, evidence=tuple(evidence), confidence=Confidence.INFERRED)


def untimed_healthy(v: Verdict, untimed_tcp: Sequence[int]) -> Verdict:
    """HEALTHY from TCP lines with data but without a time (a hex dump on its own, tcpdump
    -t): a stall is data that stops for seconds, which they cannot show. The evidence says
    how many, and the verdict is no longer 'measured'."""
    if v.code is not VerdictCode.HEALTHY or not untimed_tcp:
        return v
    why = Evidence(TextFact.HEALTHY_UNTIMED, Step.CAPTURE,
                   {"count": len(untimed_tcp), "line": min(untimed_tcp)})
    return dataclasses.replace(v, evidence=(*v.evidence, why), confidence=Confidence.INFERRED)
