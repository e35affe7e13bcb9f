"""Sentences for the `pmtu` step's observations (pathprobe.facts.pmtu)."""

from __future__ import annotations

from collections.abc import Mapping

from pathprobe.facts.pmtu import PmtuFact, ProbeKind
from pathprobe.facts.search import SearchFact
from pathprobe.model import Number
from pathprobe.render.evidence import search
from pathprobe.render.evidence.base import Template, fill


def _probe(v: Mapping[str, Number]) -> str:
    port = v.get("port")
    what = {
        ProbeKind.ICMP_RAW.value: "raw ICMP echo socket",
        ProbeKind.ICMP_PING.value: "unprivileged ICMP ping socket",
        ProbeKind.UDP.value: "UDP to closed port 33434 (IP_RECVERR)",
        ProbeKind.TCP.value: f"TCP segments to open port {port}",
        ProbeKind.SYN.value: f"scapy-crafted SYNs with payload to port {port}",
    }.get(str(v.get("probe")), str(v.get("probe")))
    return f"method: {what}"


def _not_used(v: Mapping[str, Number]) -> str:
    """A method tried first: its error, or how its search ended."""
    if v.get("why") is not None:
        return f"not used: {v.get('method')}: {v.get('why')}"
    return "not used: " + fill(search.TEXT[SearchFact.SEARCH], v)


def _die_first(v: Mapping[str, Number]) -> str:
    first = v.get("first")
    return (f"--hops: {v.get('bad')}-byte probes die before the first hop"
            f"{f' ({first})' if first else ''}: the local link or host drops them")


def _vanish_after(v: Mapping[str, Number]) -> str:
    nxt = v.get("next_hop")
    after = f", before hop {v.get('next_ttl')} ({nxt})" if nxt else ""
    return (f"--hops: {v.get('bad')}-byte probes still reach hop {v.get('ttl')} ({v.get('hop')}) "
            f"and vanish after it{after}; {v.get('ok')}-byte probes go through")


TEXT: dict[PmtuFact, Template] = {
    PmtuFact.SEARCH_TIME: "{probes:#probe} in {rounds:#round}, {duration_s:.2f} s",
    PmtuFact.INTERFACE_MTU_CROSSES: "probes of {mtu} bytes (the MTU of {interface}) cross the path",
    PmtuFact.ROUTE_CACHE:
        "the kernel's route cache holds PMTU {route_pmtu} for this target (learned from ICMP) "
        "and {mtu}-byte probes cross",
    PmtuFact.OPEN_BRACKET:
        "bracket not closed: {mtu} is a proven lower bound, the real path MTU may be higher",
    PmtuFact.ICMP_TOO_BIG:
        "packets above {mtu} bytes get ICMP too-big (next-hop MTU {icmp_mtu}); PMTUD works",
    PmtuFact.VANISH:
        "packets above {mtu} bytes vanish without any ICMP ({bad} bytes never answered)",
    PmtuFact.UP_ONLY_METHOD:
        "{method} probes measure the up direction only (replies are small); the down "
        "direction was not measured",
    PmtuFact.TOO_BIG_ON_WAY_UP:
        "the ICMP too-big answered our {bad}-byte requests on the way up; down carries at "
        "least {mtu}",
    PmtuFact.DIRECTION_UNKNOWN:
        "ICMP echo replies are as large as the requests: the answer is min(up, down); no "
        "up-only method answered to tell the direction",
    PmtuFact.LIMIT_DOWN:
        "{method} probes of {size} bytes cross upward but echo replies above {mtu} bytes never "
        "come back: the limit is on the way down",
    PmtuFact.LIMIT_UP:
        "{method} probes of {size} bytes do not cross upward either: the limit is on the way "
        "up (down carries at least {mtu}; more is not measurable from this end)",
    PmtuFact.LIMIT_UP_ONLY:
        "{method} probes of {size} bytes do not cross upward either: the limit is on the way "
        "up; the way down carries {down}-byte packets",
    PmtuFact.LIMIT_BOTH:
        "{method} probes of {size} bytes do not cross upward either, and the way down stops "
        "at the same size: the limit is in both directions",
    PmtuFact.DOWN_SEARCH: lambda v: (
        "the way down, measured without large packets from us (our SYN's MSS bounds the "
        f"segments port {v.get('port')} answers in; the request stays small): "
        f"{v.get('ok')}-byte packets arrive"
        + (f", {v.get('bad')}-byte ones stall" if v.get("bad") is not None
           else " (a lower bound: nothing larger was proven to fail)")),
    PmtuFact.DOWN_UNMEASURED:
        "the way down above {mtu} bytes could not be measured: the answers of port {port} "
        "are too small to need full-size segments",
    PmtuFact.PROBE: _probe,
    PmtuFact.SOURCE: "source {source}",
    PmtuFact.NOT_USED: _not_used,
    PmtuFact.HOPS_NO_FAILURE: "--hops: no size fails on this path, there is no hop to name",
    PmtuFact.HOPS_DOWN:
        "--hops: the limit is on the way down; TTL-limited probes from this end cannot "
        "locate it",
    PmtuFact.HOPS_ICMP_SENDER: "--hops: {hop} sent the ICMP too-big (next-hop MTU {icmp_mtu})",
    PmtuFact.HOPS_NEED_ICMP:
        "--hops needs ICMP probes: run as root (or allow ping sockets via "
        "net.ipv4.ping_group_range)",
    PmtuFact.HOPS_NONE_ANSWERED:
        "--hops: no hop answered TTL-limited probes (ICMP time-exceeded filtered?)",
    PmtuFact.HOPS_TOO_BIG_AT: "--hops: {hop} (hop {ttl}) answers {bad}-byte probes with ICMP "
                              "too-big",
    PmtuFact.HOPS_DIE_FIRST: _die_first,
    PmtuFact.HOPS_VANISH_AFTER: _vanish_after,
}
