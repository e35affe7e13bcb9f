"""`mss`'s rules: MSS clamping, RST-on-large-segment and black holes from plain results. Pure.

What the probes measured arrives as plain views: the handshake (the MSS we
advertised and the one the SYN-ACK carried), the segment-size search (in IP
packet bytes: each size acknowledged, reset or silently lost), the peer's reply
segments and the quotations of TTL-limited SYNs. :func:`classify` turns them
into typed verdicts and evidence and never touches the network, so every rule
is unit-tested; ``mss`` does the I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from pathprobe.compat import StrEnum
from pathprobe.facts.diagnose import DiagnoseFact
from pathprobe.facts.mss import MssFact
from pathprobe.model import (
    Basis,
    Confidence,
    Direction,
    Evidence,
    Hop,
    IpVersion,
    Leg,
    LegReport,
    Limit,
    Measurement,
    Number,
    Step,
    Verdict,
    VerdictCode,
)
from pathprobe.records import MssClamp, MssResult, SegmentResult, UpSeenBy
from pathprobe.search import SearchResult, search_evidence
from pathprobe.serialize import (
    mss_clamp_numbers,
    mss_icmp_numbers,
    mss_measurements,
    mss_reset_numbers,
)
from pathprobe.wire.overhead import ip_tcp_overhead

MAX_IP_SIZE = 65535         # IPv4 total length caps a packet (lo's MTU is 65536)


WINDOW_CAP_FLOOR = 8192


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
    clamp_up: UpSeenBy | None = None     # how a rewrite of our SYN (up) was seen
    at_peer: int | None = None           # the MSS our SYN arrived with, when seen
    cached_pmtu: bool = False            # a cached PMTU below the interface MTU bounds us


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
    search = search_evidence(r, Step.MSS, "segments")
    ok, bad = seg.largest_ok, seg.smallest_bad
    if ok is None:
        if seg.failure is Failure.RESET and not seg.service_resets:
            f.problems.append(Verdict(
                VerdictCode.RST_ON_LARGE_SEGMENT, leg, Direction.UP,
                (_ev(MssFact.RESET_EVEN_AT_LOW, low=seg.low, payload=seg.payload(seg.low)),
                 search),
                Confidence.MEASURED, mss_reset_numbers(bad), basis=Basis.THIS_LEG_ONLY))
        return   # nothing acknowledged otherwise: measure_mss reports it as an error
    limit = Limit(mtu=ok, max_payload=seg.payload(ok), exact=seg.exact)
    if seg.failure is Failure.RESET:
        ev = [_ev(MssFact.RESET_ABOVE, ok=ok, payload=seg.payload(ok), bad=bad),
              _ev(MssFact.RESET_NOT_MTU)]
        if not seg.exact:
            ev.append(search)
        f.problems.append(Verdict(VerdictCode.RST_ON_LARGE_SEGMENT, leg, Direction.UP,
                                  tuple(ev), Confidence.MEASURED, mss_reset_numbers(bad),
                                  limit=limit, basis=Basis.THIS_LEG_ONLY))
    elif seg.failure is Failure.LOST:
        ev = [_ev(MssFact.LOST_ABOVE, ok=ok, payload=seg.payload(ok), bad=bad), search]
        if seg.resets:
            ev.append(_ev(MssFact.LARGER_RESET, size=min(seg.resets)))
        f.problems.append(Verdict(
            VerdictCode.PMTU_BLACKHOLE, leg, Direction.UP, tuple(ev),
            Confidence.MEASURED if seg.exact else Confidence.INFERRED, {},
            limit=limit, basis=Basis.THIS_LEG_ONLY))
    elif seg.failure is Failure.ICMP:
        # The proven size is the limit; the ICMP hint is only a claim.
        f.problems.append(Verdict(
            VerdictCode.PMTU_REDUCED, leg, Direction.UP,
            (_ev(MssFact.ICMP_ANSWERED, hint=r.icmp_mtu, ok=ok, bad=bad),
             _ev(MssFact.PMTUD_WORKS)),
            Confidence.MEASURED, mss_icmp_numbers(r.icmp_mtu), limit=limit,
            basis=Basis.THIS_LEG_ONLY))
    else:
        bounded = not seg.beyond_clamp and seg.high < hs.pmtu
        f.healthy.append(_ev(MssFact.SEGMENTS_ACKED, ok=ok, payload=seg.payload(ok),
                             bounded=bounded, high=seg.high))
        if seg.failure is Failure.LOCAL:   # never sent: a floor, not a limit of the path
            f.notes.append(_ev(MssFact.LOCAL_BOUND, ok=ok, bad=bad))
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
    f.cached_pmtu = True
    f.problems.append(Verdict(
        VerdictCode.PMTU_REDUCED, leg, Direction.UP,
        (_ev(MssFact.CACHED_PMTU, pmtu=hs.pmtu, interface_mtu=hs.interface_mtu),
         _ev(MssFact.CACHED_PMTU_BOUNDS, pmtu=hs.pmtu)),
        Confidence.INFERRED, {}, limit=Limit(mtu=hs.pmtu), basis=Basis.THIS_LEG_ONLY))


def _peer_step(f: _Facts, hs: HandshakeView, seg: SegmentView | None, peer: PeerView,
               down: bool) -> bool:
    """The peer's segments: the MSS our SYN arrived with. True when they show it lowered."""
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
    f.clamp_up, f.at_peer = UpSeenBy.PEER_SEGMENTS, at_peer
    if not down:
        # Up only: the MSS arriving (at the peer) is what its segments show.
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


def segment_result(seg: SegmentView) -> SegmentResult:
    """The segment search as the report records it."""
    ok = seg.largest_ok
    return SegmentResult(
        beyond_clamp=seg.beyond_clamp, tested_up_to=seg.high, largest_acked=ok,
        smallest_failed=seg.smallest_bad, probes=seg.result.probes,
        max_payload=seg.payload(ok) if ok is not None else None,
        rst_threshold=ok if ok is not None and seg.failure is Failure.RESET else None,
        blackhole_threshold=ok if ok is not None and seg.failure is Failure.LOST else None,
        search_s=round(seg.result.duration_s, 3))


def classify(leg: Leg, target: str, hs: HandshakeView, seg: SegmentView | None,
             hops: HopFinding | None, *, peer: PeerView | None = None,
             leg_pmtu: int | None = None, duration_s: float = 0.0,
             not_measured: tuple[str, ...] = ()) -> Measurement:
    """Verdicts and the leg report from plain measurements. Pure.

    MSS_CLAMPED is ``down`` when only the SYN-ACK shows a lowered MSS, ``up``
    or ``both`` only when the peer's segments or a quotation show our SYN was
    rewritten; an MSS that is only a lower bound never makes one.
    """
    f = _Facts()
    down = _handshake_step(f, hs, seg, leg_pmtu)
    if seg is not None:
        _segment_step(f, leg, hs, seg)
    _cached_pmtu_step(f, leg, hs)
    up = _peer_step(f, hs, seg, peer, down) if peer is not None else False
    # TTL-limited SYNs: a quotation with a rewritten MSS proves the up direction.
    quoted = hops.quoted_mss if hops is not None and hops.hop is not None else None
    if quoted is not None and not up:
        if not down:
            f.clamp.append(_handshake_line(hs))
        f.clamp_up, f.at_peer = UpSeenBy.QUOTATION, quoted
    up = up or quoted is not None
    clamped = down or up
    if down and not up and leg_pmtu is not None \
            and hs.mss_received + ip_tcp_overhead(hs.family) == leg_pmtu:
        _peer_sized_mss(f, hs, leg_pmtu)
        clamped = False
    hop = (Hop(hops.hop, hops.ttl) if hops is not None and hops.hop is not None else None)
    if clamped:
        if hops is not None:
            f.clamp.extend(hops.evidence)
        direction = Direction.BOTH if down and up else Direction.DOWN if down else Direction.UP
        numbers = MssClamp(hs.mss_sent, hs.mss_received if down else f.at_peer or 0,
                           IpVersion(hs.family), f.clamp_up,
                           None if down else hs.mss_received, f.at_peer, hop)
        f.problems.insert(0, Verdict(
            VerdictCode.MSS_CLAMPED, leg, direction, tuple(f.clamp),
            Confidence.MEASURED if down or quoted is not None else Confidence.INFERRED,
            mss_clamp_numbers(numbers), basis=Basis.THIS_LEG_ONLY,
            ip_version=numbers.ip_version, hop=numbers.hop, mss_received=numbers.received))
    elif hops is not None:
        f.healthy.extend(hops.evidence[:1])
    result = MssResult(
        hs.mss_sent, hs.mss_received, hs.received_exact, hs.method, hs.timestamps, hs.pmtu,
        segments=segment_result(seg) if seg is not None else None,
        interface_mtu=hs.interface_mtu if f.cached_pmtu else None,
        peer_probed=peer is not None,
        peer_segment_max=peer.rcv_mss if peer is not None and peer_conclusive(peer) else None,
        hops_probed=hops is not None, hop=hop, duration_s=round(duration_s, 3))
    report = LegReport(leg, target, None, mss_measurements(result), tuple(f.notes),
                       not_measured, step=Step.MSS, ip_version=IpVersion(hs.family),
                       sizes=result.sizes())
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

