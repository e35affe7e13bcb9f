"""Sentences for the attribution step's conclusions (pathprobe.facts.diagnose)."""

from __future__ import annotations

from pathprobe.facts.diagnose import DiagnoseFact
from pathprobe.render.evidence.base import Template

TEXT: dict[DiagnoseFact, Template] = {
    DiagnoseFact.LEG1_CARRIES:
        "leg 1 carries {leg1} payload bytes per segment, so the loss is after the proxy, on "
        "leg 2",
    DiagnoseFact.LEG1_NOT_MEASURED:
        "leg 1 was not measured for these sizes (run 'pathprobe pmtu' to the proxy): blamed on "
        "leg 2 by inference",
    DiagnoseFact.LEG1_LIMIT_BELOW:
        "leg 1 itself carries only {leg1}-byte payloads, below the {bad}-byte write that failed "
        "in the tunnel: the limit is leg 1's, not leg 2's",
    DiagnoseFact.LEG1_NO_SIZE_LIMIT:
        "leg 1 showed no size limit for the segments the FMC sends (they are bounded by the "
        "negotiated MSS); larger writes cross leg 1 split into such segments, so the loss is on "
        "leg 2",
    DiagnoseFact.PROXY_ACKED:
        "the proxy acknowledged all {bad} bytes (they crossed leg 1), so the loss is on leg 2",
    DiagnoseFact.PROXY_NEVER_ACKED:
        "the proxy never acknowledged the {bad}-byte write: it was lost on leg 1, not leg 2",
    DiagnoseFact.RESET_ON_OUR_SOCKET:
        "the reset arrived on our own connection to the proxy: a device on leg 1 (or the proxy "
        "itself) resets large segments; a reset on leg 2 makes the proxy close the tunnel "
        "instead",
    DiagnoseFact.SMALL_MSS_ON_LEG1:
        "our advertised MSS was {mss}, so leg 1 carried the answer in small segments: the loss "
        "is on leg 2",
    DiagnoseFact.LEG2_UNTESTED_ABOVE:
        "carries at least {payload} payload bytes per segment; larger ones could not be tested: "
        "leg 1 stops segments above {leg1} (fix leg 1, then rerun)",
    DiagnoseFact.MSS_MATCHES_PMTU:
        "MSS {mss} matches path MTU {mtu} ({mtu} - {overhead}): the peer sized its MSS to the "
        "path, no rewrite of our SYN was seen; not a clamp",
}
