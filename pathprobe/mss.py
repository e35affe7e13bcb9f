"""`mss`: MSS clamping, RST-on-large-segment and black holes on one TCP path.

Three measurements, each feeding a pure classifier:

1. the handshake: the MSS we advertised and the MSS the SYN-ACK carried;
2. sized segments on fresh connections, bisected with the shared
   :class:`~pathprobe.search.SizeSearch` (driven by :func:`~pathprobe.search.drive`)
   in IP packet bytes: each size is acknowledged, reset or silently lost;
3. (optional) the peer's reply segments and TTL-limited SYNs whose ICMP
   quotations show whether (and where) our SYN's MSS option was rewritten.

:func:`classify` turns plain results into typed verdicts and evidence and never
touches the network, so every rule is unit-tested; :func:`measure_mss` does the
I/O and returns "could not measure" as a result with ``errors``.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from pathprobe.compat import StrEnum
from pathprobe.errors import NotMeasuredError, PermissionNeeded, UsageError
from pathprobe.facts.diagnose import DiagnoseFact
from pathprobe.facts.mss import MssFact
from pathprobe.model import (
    Basis,
    Confidence,
    Direction,
    Evidence,
    Leg,
    LegReport,
    Limit,
    Measurement,
    Number,
    Progress,
    Step,
    Unmeasured,
    Verdict,
    VerdictCode,
    no_progress,
)
from pathprobe.probes import tcp as tcpprobe
from pathprobe.search import (
    ProbeOutcome,
    ProbeResult,
    SearchResult,
    SizeSearch,
    drive,
    search_evidence,
)
from pathprobe.sysinfo import Target, resolve, route_to
from pathprobe.timeouts import ACK_WAIT, PEER_WAIT
from pathprobe.wire.http_get import get_request
from pathprobe.wire.overhead import ip_tcp_overhead, mss_for_payload

MAX_IP_SIZE = 65535         # IPv4 total length caps a packet (lo's MTU is 65536)
SEGMENT_BUDGET_S = 20.0     # the segment search never runs longer than this
# Linux caps its send MSS at half the largest window the peer advertised
# (tcp_bound_to_half_wnd); an opening window is at most 65535 bytes and rarely
# below 16 KiB, so a TCP_INFO value above this may be that cap, not the peer's MSS.
WINDOW_CAP_FLOOR = 8192

Clock = Callable[[], float]


def _ev(fact: MssFact, **values: Number) -> Evidence:
    return Evidence(fact, Step.MSS, values)


class Failure(StrEnum):
    """How the smallest failing segment size failed."""

    RESET = "reset"
    LOST = "lost"
    ICMP = "icmp"
    LOCAL = "local"


class ReceivedBound(StrEnum):
    """Why the MSS received is only a lower bound (TCP_INFO without a captured SYN-ACK)."""

    ROUTE_MTU = "route-mtu"       # our own route's MSS is smaller
    HALF_WINDOW = "half-window"   # the kernel caps it at half the peer's first window


@dataclass(frozen=True)
class HandshakeView:
    """What the handshake showed (plain values; built from probes.tcp.Handshake)."""

    family: int                 # 4 or 6
    mss_sent: int
    mss_received: int
    received_exact: bool        # False: mss_received is only a lower bound
    method: str
    timestamps: bool
    pmtu: int                   # our route's MTU towards the target
    interface_mtu: int | None = None   # the egress interface's MTU, when known
    bound: ReceivedBound | None = None  # why mss_received is a lower bound (not exact)


def handshake_view(hs: tcpprobe.Handshake, interface_mtu: int | None) -> HandshakeView:
    """The handshake as the classifier sees it; decides whether mss_received is exact.

    A captured SYN-ACK is exact. TCP_INFO's send MSS is the smallest of the
    peer's MSS, our route's MSS and half the peer's first window, so it is
    exact only below the other two (on loopback the window cap reads 32753
    for a 65495 MSS: never a clamp).
    """
    fam = 6 if hs.family == socket.AF_INET6 else 4
    exact, bound = hs.received_exact, None
    if hs.method != "syn-ack capture":
        if not exact:
            bound = ReceivedBound.ROUTE_MTU
        elif hs.snd_mss > WINDOW_CAP_FLOOR:
            exact, bound = False, ReceivedBound.HALF_WINDOW
    return HandshakeView(fam, hs.mss_sent, hs.mss_received, exact, hs.method, hs.timestamps,
                         hs.pmtu, interface_mtu, bound)


@dataclass(frozen=True)
class SegmentView:
    """The outcome of the segment-size search (``result`` in IP packet bytes)."""

    overhead: int               # IP + TCP (+ timestamps) header bytes per segment
    beyond_clamp: bool          # True: sizes above the negotiated MSS were tested (TCP_REPAIR)
    result: SearchResult
    failure: Failure | None     # how smallest_bad failed
    resets: tuple[int, ...] = ()   # every size answered by a reset
    service_resets: bool = False   # even a 1-byte segment is reset: the service, not a size

    @property
    def largest_ok(self) -> int | None:
        return self.result.largest_ok

    @property
    def smallest_bad(self) -> int | None:
        return self.result.smallest_bad

    @property
    def exact(self) -> bool:
        return self.result.exact

    @property
    def low(self) -> int:
        return self.result.low

    @property
    def high(self) -> int:
        """The largest packet size that could be tested."""
        return self.result.high

    def payload(self, size: int) -> int:
        return size - self.overhead


@dataclass(frozen=True)
class HopView:
    """TTL-limited SYN results: (ttl, hop address, quoted MSS or None, reached)."""

    hops: tuple[tuple[int, str | None, int | None, bool], ...]


@dataclass(frozen=True)
class HopFinding:
    hop: str | None             # the first hop that saw a rewritten MSS, if any
    ttl: int | None
    evidence: tuple[Evidence, ...] = field(default_factory=tuple)
    quoted_mss: int | None = None   # the rewritten MSS that hop quoted


@dataclass(frozen=True)
class PeerView:
    """The peer's reply to one small request: bytes and the largest segment payload."""

    received: int
    rcv_mss: int
    timestamps: bool
    timed_out: bool = False
    advertised: int | None = None  # the lower MSS our SYN carried, when we lowered it


def peer_conclusive(peer: PeerView) -> bool:
    """Several segments arrived, so the largest one is the peer's full send MSS."""
    return peer.rcv_mss > 0 and peer.received > peer.rcv_mss


def mss_at_peer(peer: PeerView) -> int | None:
    """The MSS our SYN arrived with at the peer, as its segments show (None: unknown)."""
    if not peer_conclusive(peer):
        return None
    return peer.rcv_mss + (12 if peer.timestamps else 0)


def locate_rewrite(mss_sent: int, hops: HopView) -> HopFinding:
    """Where the SYN's MSS changed, from the quotations (tracebox's rule).

    A quotation from hop k shows the SYN as hop k received it: the first hop
    whose quote carries a different MSS names the rewrite as happening
    between hop k-1 and hop k.
    """
    clean_ttl: int | None = None
    clean_hop: str | None = None
    for ttl, hop, quoted, reached in sorted(hops.hops):
        if reached:
            return HopFinding(None, None, (
                _ev(MssFact.HOPS_REACHED, ttl=ttl, clean_ttl=clean_ttl, clean_hop=clean_hop,
                    mss_sent=mss_sent),
                _ev(MssFact.HOPS_AFTER)))
        if quoted is None:
            continue
        if quoted != mss_sent:
            return HopFinding(hop, ttl, (
                _ev(MssFact.HOP_REWRITE, ttl=ttl, hop=hop, quoted=quoted, mss_sent=mss_sent,
                    clean_ttl=clean_ttl, clean_hop=clean_hop),), quoted)
        clean_ttl, clean_hop = ttl, hop
    answered = [h for h in hops.hops if h[2] is not None]
    if not answered:
        return HopFinding(None, None, (_ev(MssFact.HOPS_NO_QUOTES),))
    return HopFinding(None, None, (_ev(MssFact.HOPS_UNCHANGED, count=len(answered),
                                       mss_sent=mss_sent),))


@dataclass
class _Facts:
    """What classify's steps gather: problems, evidence for HEALTHY, the clamp, notes."""

    problems: list[Verdict] = field(default_factory=list)
    healthy: list[Evidence] = field(default_factory=list)
    notes: list[Evidence] = field(default_factory=list)
    clamp: list[Evidence] = field(default_factory=list)
    clamp_numbers: dict[str, Number] = field(default_factory=dict)
    m: dict[str, Number] = field(default_factory=dict)


def _handshake_line(hs: HandshakeView) -> Evidence:
    return _ev(MssFact.HANDSHAKE, mss_sent=hs.mss_sent, mss_received=hs.mss_received,
               exact=hs.received_exact, method=hs.method)


def _handshake_step(f: _Facts, hs: HandshakeView, seg: SegmentView | None,
                    leg_pmtu: int | None) -> bool:
    """The SYN-ACK's MSS; True when it shows a lowered MSS (down direction)."""
    ip_tcp = ip_tcp_overhead(hs.family)
    line = _handshake_line(hs)
    down = hs.received_exact and hs.mss_received < hs.mss_sent
    if not down:
        f.healthy.append(line)
        if hs.bound is ReceivedBound.HALF_WINDOW:
            f.notes.append(_ev(MssFact.RECEIVED_WINDOW_BOUND, mss_received=hs.mss_received))
        elif not hs.received_exact:
            f.notes.append(_ev(MssFact.RECEIVED_ROUTE_BOUND, mss_received=hs.mss_received,
                               pmtu=hs.pmtu))
        return False
    implied = hs.mss_received + ip_tcp
    f.clamp += [line, _ev(MssFact.MSS_IMPLIES, mss_received=hs.mss_received, packet=implied)]
    if (seg is not None and seg.beyond_clamp and seg.largest_ok is not None
            and seg.largest_ok > implied + (12 if hs.timestamps else 0)):
        f.clamp.append(_ev(MssFact.PATH_CARRIED_MORE, largest_ok=seg.largest_ok))
    if leg_pmtu is not None:
        fact = (MssFact.LEG_PMTU_ABOVE if leg_pmtu > implied else
                MssFact.LEG_PMTU_MATCHES if leg_pmtu == implied else MssFact.LEG_PMTU_BELOW)
        f.clamp.append(_ev(fact, leg_pmtu=leg_pmtu, implied=implied))
    return True


def _segment_step(f: _Facts, leg: Leg, hs: HandshakeView, seg: SegmentView) -> None:
    """Sized segments: reset, black hole, ICMP-signalled limit, or all acknowledged."""
    r = seg.result
    f.m.update({"segment_method": "tcp-repair" if seg.beyond_clamp else "negotiated-mss",
                "tested_up_to": seg.high, "largest_acked": seg.largest_ok,
                "smallest_failed": seg.smallest_bad, "probes": r.probes})
    search = search_evidence(r, Step.MSS, "segments")
    ok, bad = seg.largest_ok, seg.smallest_bad
    if ok is None:
        if seg.failure is Failure.RESET and not seg.service_resets:
            f.problems.append(Verdict(
                VerdictCode.RST_ON_LARGE_SEGMENT, leg, Direction.UP,
                (_ev(MssFact.RESET_EVEN_AT_LOW, low=seg.low, payload=seg.payload(seg.low)),
                 search),
                Confidence.MEASURED, {"smallest_reset": bad}, basis=Basis.THIS_LEG_ONLY))
        return   # nothing acknowledged otherwise: measure_mss reports it as an error
    f.m["max_payload"] = seg.payload(ok)
    limit = Limit(mtu=ok, max_payload=seg.payload(ok), exact=seg.exact)
    if seg.failure is Failure.RESET:
        f.m["rst_threshold"] = ok
        ev = [_ev(MssFact.RESET_ABOVE, ok=ok, payload=seg.payload(ok), bad=bad),
              _ev(MssFact.RESET_NOT_MTU)]
        if not seg.exact:
            ev.append(search)
        f.problems.append(Verdict(VerdictCode.RST_ON_LARGE_SEGMENT, leg, Direction.UP,
                                  tuple(ev), Confidence.MEASURED, {"smallest_reset": bad},
                                  limit=limit, basis=Basis.THIS_LEG_ONLY))
    elif seg.failure is Failure.LOST:
        f.m["blackhole_threshold"] = ok
        ev = [_ev(MssFact.LOST_ABOVE, ok=ok, payload=seg.payload(ok), bad=bad), search]
        if seg.resets:
            ev.append(_ev(MssFact.LARGER_RESET, size=min(seg.resets)))
        f.problems.append(Verdict(
            VerdictCode.PMTU_BLACKHOLE, leg, Direction.UP, tuple(ev),
            Confidence.MEASURED if seg.exact else Confidence.INFERRED, {},
            limit=limit, basis=Basis.THIS_LEG_ONLY))
    elif seg.failure is Failure.ICMP:
        # The proven size is the limit; the ICMP hint is only a claim.
        numbers: dict[str, Number] = ({"icmp_mtu": r.icmp_mtu} if r.icmp_mtu is not None
                                      else {})
        f.problems.append(Verdict(
            VerdictCode.PMTU_REDUCED, leg, Direction.UP,
            (_ev(MssFact.ICMP_ANSWERED, hint=r.icmp_mtu, ok=ok, bad=bad),
             _ev(MssFact.PMTUD_WORKS)),
            Confidence.MEASURED, numbers, limit=limit, basis=Basis.THIS_LEG_ONLY))
    else:
        bounded = not seg.beyond_clamp and seg.high < hs.pmtu
        f.healthy.append(_ev(MssFact.SEGMENTS_ACKED, ok=ok, payload=seg.payload(ok),
                             bounded=bounded, high=seg.high))
    if not seg.beyond_clamp and seg.high < hs.pmtu:
        f.notes.append(_ev(MssFact.NEGOTIATED_BOUND, high=seg.high))


def _cached_pmtu_step(f: _Facts, leg: Leg, hs: HandshakeView) -> None:
    """A PMTU cached below the interface MTU: an ICMP too-big for this target was accepted
    recently, and it bounds every size we could send. The interface MTU is capped at the
    largest IP packet first (loopback's 65536 is not a reduction to 65535)."""
    if hs.interface_mtu is None or hs.pmtu >= min(hs.interface_mtu, MAX_IP_SIZE):
        return
    if any(v.code in (VerdictCode.PMTU_REDUCED, VerdictCode.PMTU_BLACKHOLE,
                      VerdictCode.RST_ON_LARGE_SEGMENT) for v in f.problems):
        return
    f.m["interface_mtu"] = hs.interface_mtu
    f.problems.append(Verdict(
        VerdictCode.PMTU_REDUCED, leg, Direction.UP,
        (_ev(MssFact.CACHED_PMTU, pmtu=hs.pmtu, interface_mtu=hs.interface_mtu),
         _ev(MssFact.CACHED_PMTU_BOUNDS, pmtu=hs.pmtu)),
        Confidence.INFERRED, {}, limit=Limit(mtu=hs.pmtu), basis=Basis.THIS_LEG_ONLY))


def _peer_step(f: _Facts, hs: HandshakeView, seg: SegmentView | None, peer: PeerView,
               down: bool) -> bool:
    """The peer's segments: the MSS our SYN arrived with. True when they show it lowered."""
    f.m["peer_segment_max"] = peer.rcv_mss if peer_conclusive(peer) else None
    at_peer = mss_at_peer(peer)
    if at_peer is None and peer.received == 0 and peer.timed_out:
        f.notes.append(_ev(MssFact.PEER_NO_REPLY))
        return False
    if at_peer is None:
        f.notes.append(_ev(MssFact.PEER_REPLY_SHORT, received=peer.received,
                           timed_out=peer.timed_out))
        return False
    sent = min(hs.mss_sent, peer.advertised or hs.mss_sent)
    if at_peer >= sent:
        f.healthy.append(_ev(MssFact.PEER_INTACT, rcv_mss=peer.rcv_mss, mss_sent=sent))
        return False
    # PMTUD (ICMP) shrinks the peer's segments to exactly the path MTU; resets and
    # black holes do not shrink them, so only an ICMP-measured limit explains them.
    limit = seg.largest_ok if seg is not None and seg.failure is Failure.ICMP else None
    values: dict[str, Number] = {"rcv_mss": peer.rcv_mss, "at_peer": at_peer,
                                 "mss_sent": sent}
    if limit is not None and at_peer + ip_tcp_overhead(hs.family) == limit:
        f.notes.append(Evidence(MssFact.PEER_SEGMENTS_PATH, Step.MSS, {**values,
                                                                        "limit": limit}))
        return False
    f.clamp_numbers["mss_at_peer"] = at_peer
    if not down:
        # Up only: the MSS arriving (at the peer) is what its segments show.
        f.clamp_numbers["mss_received"] = at_peer
        f.clamp_numbers["syn_ack_mss"] = hs.mss_received
        f.clamp.append(_handshake_line(hs))
    f.clamp += [Evidence(MssFact.PEER_SEGMENTS_SMALL, Step.MSS, values),
                _ev(MssFact.SYN_LOWERED)]
    return True


def _peer_sized_mss(f: _Facts, hs: HandshakeView, leg_pmtu: int) -> None:
    """The SYN-ACK's MSS is the measured path MTU minus the headers and no rewrite of our
    SYN was seen: the peer sized its MSS to the path. Evidence, not a clamp."""
    overhead = ip_tcp_overhead(hs.family)
    note = Evidence(DiagnoseFact.MSS_MATCHES_PMTU, Step.MSS,
                    {"mss": hs.mss_received, "mtu": leg_pmtu, "overhead": overhead})
    handshake = _handshake_line(hs)
    for i, v in enumerate(f.problems):
        if v.code in (VerdictCode.PMTU_REDUCED, VerdictCode.PMTU_BLACKHOLE):
            f.problems[i] = replace(v, evidence=(*v.evidence, handshake, note))
            return
    if f.problems:
        f.notes += [handshake, note]
    else:
        f.healthy += [handshake, note]


def classify(leg: Leg, target: str, hs: HandshakeView, seg: SegmentView | None,
             hops: HopFinding | None, *, peer: PeerView | None = None,
             leg_pmtu: int | None = None, duration_s: float = 0.0,
             not_measured: tuple[str, ...] = ()) -> Measurement:
    """Verdicts and the leg report from plain measurements. Pure.

    MSS_CLAMPED is ``down`` when only the SYN-ACK shows a lowered MSS, ``up``
    or ``both`` only when the peer's segments or a quotation show our SYN was
    rewritten; an MSS that is only a lower bound never makes one.
    """
    f = _Facts(m={"mss_sent": hs.mss_sent, "mss_received": hs.mss_received,
                  "mss_received_exact": hs.received_exact, "mss_method": hs.method,
                  "timestamps": hs.timestamps, "route_pmtu": hs.pmtu})
    f.clamp_numbers.update({"mss_sent": hs.mss_sent, "mss_received": hs.mss_received,
                            "ip_version": hs.family})
    down = _handshake_step(f, hs, seg, leg_pmtu)
    if seg is not None:
        _segment_step(f, leg, hs, seg)
    _cached_pmtu_step(f, leg, hs)
    up = _peer_step(f, hs, seg, peer, down) if peer is not None else False
    # TTL-limited SYNs: a quotation with a rewritten MSS proves the up direction.
    quoted = hops.quoted_mss if hops is not None and hops.hop is not None else None
    if quoted is not None and not up:
        if not down:
            f.clamp_numbers["mss_received"] = quoted
            f.clamp_numbers["syn_ack_mss"] = hs.mss_received
            f.clamp.append(_handshake_line(hs))
        f.clamp_numbers.setdefault("mss_at_peer", quoted)
    up = up or quoted is not None
    clamped = down or up
    if down and not up and leg_pmtu is not None \
            and hs.mss_received + ip_tcp_overhead(hs.family) == leg_pmtu:
        _peer_sized_mss(f, hs, leg_pmtu)
        clamped = False
    if clamped:
        if hops is not None:
            f.clamp.extend(hops.evidence)
            if hops.hop is not None:
                f.clamp_numbers["hop"] = hops.hop
                f.clamp_numbers["hop_ttl"] = hops.ttl
        direction = Direction.BOTH if down and up else Direction.DOWN if down else Direction.UP
        f.problems.insert(0, Verdict(
            VerdictCode.MSS_CLAMPED, leg, direction, tuple(f.clamp),
            Confidence.MEASURED if down or quoted is not None else Confidence.INFERRED,
            f.clamp_numbers, basis=Basis.THIS_LEG_ONLY))
    elif hops is not None:
        f.healthy.extend(hops.evidence[:1])
    if hops is not None:
        f.m["hop"] = hops.hop
        f.m["hop_ttl"] = hops.ttl
    f.m["duration_s"] = round(duration_s, 3)
    if seg is not None:
        f.m["search_s"] = round(seg.result.duration_s, 3)
    report = LegReport(leg, target, None, f.m, tuple(f.notes), not_measured, step=Step.MSS)
    if f.problems:
        return Measurement(legs=(report,), verdicts=tuple(f.problems))
    return Measurement(legs=(report,), verdicts=(_healthy(leg, hs, seg, f.healthy),))


def _healthy(leg: Leg, hs: HandshakeView, seg: SegmentView | None,
             evidence: Sequence[Evidence]) -> Verdict:
    """HEALTHY, with the segment sizes proven to cross (a lower bound when the negotiated
    MSS kept the search below our route's MTU)."""
    limit = None
    if seg is not None and seg.largest_ok is not None:
        limit = Limit(mtu=seg.largest_ok, max_payload=seg.payload(seg.largest_ok),
                      exact=seg.exact and (seg.beyond_clamp or seg.high >= hs.pmtu))
    return Verdict(VerdictCode.HEALTHY, leg, Direction.BOTH, tuple(evidence),
                   limit=limit, basis=Basis.THIS_LEG_ONLY)


# -- I/O orchestration ----------------------------------------------------------------

_OUTCOME = {
    tcpprobe.SegmentOutcome.ACKED: ProbeOutcome.DELIVERED,
    tcpprobe.SegmentOutcome.RESET: ProbeOutcome.TOO_BIG,
    tcpprobe.SegmentOutcome.ICMP_TOO_BIG: ProbeOutcome.TOO_BIG,
    tcpprobe.SegmentOutcome.LOCAL_LIMIT: ProbeOutcome.LOCAL_TOO_BIG,
    tcpprobe.SegmentOutcome.LOST: ProbeOutcome.LOST,
    tcpprobe.SegmentOutcome.NO_CONNECTION: ProbeOutcome.LOST,
}

_FAILURE = {
    tcpprobe.SegmentOutcome.RESET: Failure.RESET,
    tcpprobe.SegmentOutcome.ICMP_TOO_BIG: Failure.ICMP,
    tcpprobe.SegmentOutcome.LOCAL_LIMIT: Failure.LOCAL,
    tcpprobe.SegmentOutcome.LOST: Failure.LOST,
    tcpprobe.SegmentOutcome.NO_CONNECTION: Failure.LOST,
}


def segment_view(result: SearchResult, outcomes: dict[int, tcpprobe.SegmentOutcome], *,
                 overhead: int, beyond_clamp: bool) -> SegmentView:
    """Combine the search result with how each size failed. Pure."""
    bad = result.smallest_bad
    failure = _FAILURE.get(outcomes[bad]) if bad is not None and bad in outcomes else None
    if failure is Failure.LOCAL and any(
            o is tcpprobe.SegmentOutcome.ICMP_TOO_BIG for o in outcomes.values()):
        # Our stack refused the size because an ICMP too-big lowered the cached PMTU.
        failure = Failure.ICMP
    resets = tuple(sorted(s for s, o in outcomes.items() if o is tcpprobe.SegmentOutcome.RESET))
    view = SegmentView(overhead, beyond_clamp, result, failure, resets)
    if result.largest_ok is None and failure is Failure.RESET:
        # Even a 1-byte segment is reset: the service, not a size policy.
        view = replace(view, service_resets=True)
    return view


SegmentProber = Callable[[Sequence[int]], list[tcpprobe.SegmentProbe]]


def search_segments(family: int, addr: tuple[str, int], hs: tcpprobe.Handshake, *,
                    override: bool, ack_timeout: float, progress: Progress,
                    prober: SegmentProber | None = None, expected_mtu: int | None = None,
                    clock: Clock = time.monotonic) -> SegmentView:
    """Bisect the largest acknowledged segment (IP packet bytes) on fresh connections.

    ``expected_mtu`` (the path MTU another step proved) is probed, with the size
    above it, in the first round: a limit that TCP confirms there needs no halving.
    ``prober`` (payload sizes -> results) defaults to real connections to ``addr``;
    unit tests pass a simulated path to test the search/outcome plumbing.
    """
    if prober is None:
        def prober(payloads: Sequence[int]) -> list[tcpprobe.SegmentProbe]:
            return tcpprobe.probe_segments(
                family, addr, payloads, override_mss=hs.mss_sent if override else None,
                ack_timeout=ack_timeout)
    send = prober

    overhead = ip_tcp_overhead(family, hs.timestamps)
    max_payload = hs.pmtu - overhead if override else hs.snd_mss
    # A 1-byte segment must cross any path: starting there finds thresholds below 576
    # and tells a service that resets any data from a size policy.
    low, high = overhead + 1, overhead + max_payload
    # Each probe is its own connection, so retries of the edge size go out together
    # (one ack timeout instead of three in a black hole).
    seeds = () if expected_mtu is None else (expected_mtu, expected_mtu + 1)
    search = SizeSearch(low, high, max_probes=60, max_rounds=10, retries=3,
                        parallel_retries=True, first=seeds)
    outcomes: dict[int, tcpprobe.SegmentOutcome] = {}

    def probe(sizes: list[int]) -> list[ProbeResult]:
        results = send([s - overhead for s in sizes])
        fed: list[ProbeResult] = []
        for size, r in zip(sizes, results):
            if outcomes.get(size) is not tcpprobe.SegmentOutcome.ACKED:
                outcomes[size] = r.outcome
            hint = r.pmtu if r.outcome is tcpprobe.SegmentOutcome.ICMP_TOO_BIG else None
            fed.append(ProbeResult(size, _OUTCOME[r.outcome], hint))
        return fed

    def on_round(s: SizeSearch, sizes: list[int]) -> None:
        ok = s.largest_ok
        progress(f"segments: probed {len(sizes)} sizes {sizes[0]}..{sizes[-1]} bytes, largest "
                 f"acknowledged so far: {ok if ok is not None else 'none'}")

    result = drive(search, probe, budget_s=SEGMENT_BUDGET_S, clock=clock, on_round=on_round)
    return segment_view(result, outcomes, overhead=overhead, beyond_clamp=override)


def _interface_mtu(family: int, address: str) -> int | None:
    """The egress interface's MTU (None when it cannot be found)."""
    try:
        return route_to(Target(address, address, family)).interface_mtu
    except NotMeasuredError:
        return None


def auto_ack_timeout(rtt_s: float) -> float:
    """Long enough for the kernel to retransmit a lost segment at least once (RTO >= 200 ms),
    short enough that a black hole's few rounds stay within the 2 s search budget."""
    return ACK_WAIT.wait(rtt_s)


def _hop_finding(family: int, addr: tuple[str, int], mss_sent: int,
                 max_hops: int) -> HopFinding:
    quotes = tcpprobe.ttl_syns(family, addr, max_hops=max_hops)
    # Compare each quotation with the MSS those SYNs really carried.
    carried = [q.sent_mss for q in quotes if q.quoted_mss is not None and q.sent_mss]
    return locate_rewrite(max(carried) if carried else mss_sent, HopView(tuple(
        (q.ttl, q.hop, q.quoted_mss, q.reached) for q in quotes)))


def _peer_view(family: int, addr: tuple[str, int], rtt_s: float,
               maxseg: int | None) -> PeerView:
    request = get_request(addr[0])
    ps = tcpprobe.peer_segments(family, addr, request, timeout=PEER_WAIT.wait(rtt_s),
                                maxseg=maxseg)
    return PeerView(ps.received, ps.rcv_mss, ps.timestamps, ps.timed_out, maxseg)


def measure_mss(host: str, port: int, *, leg: Leg, segments: bool = True,
                hops: bool = False, progress: Progress = no_progress,
                ack_timeout: float | None = None, max_hops: int = 8,
                peer_probe: bool = True, leg_pmtu: int | None = None,
                expected_mtu: int | None = None, down_payload: int | None = None,
                clock: Clock = time.monotonic) -> Measurement:
    """Measure the handshake MSS, segment thresholds and (with ``hops``) the clamp's hop.

    ``peer_probe`` sends one small HTTP request (GET /) to see the size of the
    peer's reply segments, which shows a clamp applied to our SYN (up
    direction). ``leg_pmtu`` (from ``pmtu``, when the caller has it) tells a
    clamp from an MSS sized to the path. ``hops`` sends TTL-limited SYNs (at
    most ``max_hops``, one wait of about a second) whose quotations locate a
    rewrite of our SYN. ``expected_mtu`` (a path MTU the caller already proved)
    only aims the segment search; it is not taken as a result. ``down_payload``
    (the payload per segment the way back is proven to carry) lowers the MSS of
    the peer probe's SYN to it, so the reply is not lost in a known black hole; a
    clamp below it still shows. No connection at all is a Measurement with
    ``errors``.
    """
    if not 1 <= port <= 65535:
        raise UsageError(f"port must be 1..65535, got {port}")
    if not 1 <= max_hops <= 64:
        raise UsageError(f"max_hops must be 1..64, got {max_hops}")
    t0 = clock()
    try:
        resolved = resolve(host)
        family, addr = resolved.family, (resolved.address, port)
        fam = 6 if family == socket.AF_INET6 else 4
        target = f"[{addr[0]}]:{addr[1]}" if fam == 6 else f"{addr[0]}:{addr[1]}"
        progress(f"handshake with {target}")
        hs = tcpprobe.handshake(family, addr)
    except NotMeasuredError as e:
        return Measurement(errors=(str(e),), unmeasured=Unmeasured.PERMISSION
                           if isinstance(e, PermissionNeeded) else Unmeasured.ERROR)
    view = handshake_view(hs, _interface_mtu(family, addr[0]))
    not_measured: list[str] = []
    if view.bound is ReceivedBound.ROUTE_MTU:
        not_measured.append("exact MSS received: our route MTU bounds TCP_INFO; "
                            "capturing the SYN-ACK needs root (CAP_NET_RAW)")
    elif view.bound is ReceivedBound.HALF_WINDOW:
        not_measured.append("exact MSS received: TCP_INFO caps it at half the peer's window; "
                            "capturing the SYN-ACK needs root (CAP_NET_RAW)")
    errors: list[str] = []
    finding: HopFinding | None = None
    if hops:   # before the segments: their ICMP may lower the cached PMTU and our SYN's MSS
        progress(f"TTL-limited SYNs, 1..{max_hops} hops")
        try:
            finding = _hop_finding(family, addr, hs.mss_sent, max_hops)
        except NotMeasuredError as exc:
            not_measured.append(f"the hop that rewrites our SYN: {exc}")
    seg: SegmentView | None = None
    if segments:
        override = mss_for_payload(hs.snd_mss, hs.timestamps) < hs.mss_sent
        if override and not tcpprobe.can_override_mss(family, addr, hs.mss_sent, 3.0):
            override = False
            not_measured.append(
                f"segments above the negotiated MSS ({hs.mss_received}): raising our send "
                "MSS needs root (CAP_NET_ADMIN for TCP_REPAIR)")
        wait = ack_timeout if ack_timeout is not None else auto_ack_timeout(hs.rtt_s)
        try:
            seg = search_segments(family, addr, hs, override=override, ack_timeout=wait,
                                  progress=progress, expected_mtu=expected_mtu, clock=clock)
        except NotMeasuredError as exc:
            errors.append(f"segment sizes to {target}: {exc}")
        if seg is not None and seg.service_resets:
            errors.append(f"{target} resets connections that send data, even 1 byte: "
                          "segment sizes cannot be measured on this port; try the proxy port")
        elif seg is not None and seg.largest_ok is None and seg.failure is not Failure.RESET:
            errors.append(f"no data segment to {target} was acknowledged; the service may "
                          "not accept data")
    peer: PeerView | None = None
    if peer_probe:
        progress("asking the peer for a multi-segment reply (one small HTTP request)")
        try:
            lowered = down_payload if down_payload is not None and \
                down_payload < hs.mss_sent else None
            peer = _peer_view(family, addr, hs.rtt_s, lowered)
        except NotMeasuredError as exc:
            not_measured.append(f"the peer's segment size: {exc}")
    out = classify(leg, target, view, seg, finding, peer=peer, leg_pmtu=leg_pmtu,
                   duration_s=clock() - t0, not_measured=tuple(not_measured))
    if errors:
        problems = tuple(v for v in out.verdicts if v.code is not VerdictCode.HEALTHY)
        return replace(out, verdicts=problems, errors=tuple(errors))
    return out


__all__ = [
    "Failure",
    "HandshakeView",
    "HopFinding",
    "HopView",
    "PeerView",
    "ReceivedBound",
    "SegmentView",
    "classify",
    "handshake_view",
    "locate_rewrite",
    "measure_mss",
    "search_segments",
    "segment_view",
]
