"""The JSON names of the steps' typed records: one place that turns them into the
``LegReport.measurements`` and ``Verdict.numbers`` mappings the report carries.

Rules decide on the records' fields; only this module knows the names (and their
order, which the JSON keeps), so renaming a field never changes the output. Pure.
"""

from __future__ import annotations

from pathprobe.model import Number
from pathprobe.records import (
    MssClamp,
    MssResult,
    PmtuNumbers,
    PmtuResult,
    SegmentResult,
    UpSeenBy,
)


def pmtu_measurements(r: PmtuResult) -> dict[str, Number]:
    """A pmtu leg's measurements, in the order the JSON has always had them."""
    out: dict[str, Number] = {
        "pmtu": r.mtu,
        "pmtu_method": r.method,
        "pmtu_exact": r.exact,
        "probes": r.probes,
        "rounds": r.rounds,
        "interface": r.interface,
        "interface_mtu": r.interface_mtu,
        "route_pmtu": r.route_pmtu,
    }
    if r.icmp_mtu is not None:
        out["icmp_mtu"] = r.icmp_mtu
    if r.direction_known:
        out["pmtu_up"] = r.mtu_up
        out["pmtu_down"] = r.mtu_down
    if r.hops_searched:
        out["hop"] = r.hop.address if r.hop is not None else None
    out["duration_s"] = r.duration_s
    return out


def pmtu_numbers(n: PmtuNumbers) -> dict[str, Number]:
    """A pmtu verdict's numbers."""
    out: dict[str, Number] = {"interface_mtu": n.interface_mtu}
    if n.route_pmtu is not None:
        out["route_pmtu"] = n.route_pmtu
    if n.smallest_failing is not None:
        out["smallest_failing"] = n.smallest_failing
    if n.icmp_signalled:
        out["icmp_mtu"] = n.icmp_mtu
    return out


def _segments(seg: SegmentResult) -> dict[str, Number]:
    out: dict[str, Number] = {
        "segment_method": "tcp-repair" if seg.beyond_clamp else "negotiated-mss",
        "tested_up_to": seg.tested_up_to,
        "largest_acked": seg.largest_acked,
        "smallest_failed": seg.smallest_failed,
        "probes": seg.probes,
    }
    if seg.max_payload is not None:
        out["max_payload"] = seg.max_payload
    if seg.rst_threshold is not None:
        out["rst_threshold"] = seg.rst_threshold
    if seg.blackhole_threshold is not None:
        out["blackhole_threshold"] = seg.blackhole_threshold
    return out


def mss_measurements(r: MssResult) -> dict[str, Number]:
    """An mss leg's measurements, in the order the JSON has always had them."""
    out: dict[str, Number] = {
        "mss_sent": r.sent,
        "mss_received": r.received,
        "mss_received_exact": r.received_exact,
        "mss_method": r.method,
        "timestamps": r.timestamps,
        "route_pmtu": r.route_pmtu,
    }
    if r.segments is not None:
        out.update(_segments(r.segments))
    if r.interface_mtu is not None:
        out["interface_mtu"] = r.interface_mtu
    if r.peer_probed:
        out["peer_segment_max"] = r.peer_segment_max
    if r.hops_probed:
        out["hop"] = r.hop.address if r.hop is not None else None
        out["hop_ttl"] = r.hop.ttl if r.hop is not None else None
    out["duration_s"] = r.duration_s
    if r.segments is not None:
        out["search_s"] = r.segments.search_s
    return out


def mss_clamp_numbers(c: MssClamp) -> dict[str, Number]:
    """An MSS_CLAMPED verdict's numbers (the order follows how the clamp was seen)."""
    out: dict[str, Number] = {"mss_sent": c.sent, "mss_received": c.received,
                              "ip_version": int(c.ip_version)}
    if c.up_seen_by is UpSeenBy.PEER_SEGMENTS:
        out["mss_at_peer"] = c.at_peer
    if c.syn_ack_mss is not None:
        out["syn_ack_mss"] = c.syn_ack_mss
    if c.up_seen_by is UpSeenBy.QUOTATION:
        out["mss_at_peer"] = c.at_peer
    if c.hop is not None:
        out["hop"] = c.hop.address
        out["hop_ttl"] = c.hop.ttl
    return out


def mss_reset_numbers(smallest_reset: int | None) -> dict[str, Number]:
    """An RST_ON_LARGE_SEGMENT verdict's numbers: the smallest size answered by a reset."""
    return {"smallest_reset": smallest_reset}


def mss_icmp_numbers(icmp_mtu: int | None) -> dict[str, Number]:
    """An mss PMTU_REDUCED verdict's numbers: the MTU the ICMP claimed, when it named one."""
    return {"icmp_mtu": icmp_mtu} if icmp_mtu is not None else {}
