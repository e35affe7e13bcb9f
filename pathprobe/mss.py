"""`mss` orchestration: one TCP path's handshake, sized segments, peer reply and hops.

Three measurements (``probes.tcp``), each handed to the pure rules of ``mss_rules``:

1. the handshake: the MSS we advertised and the MSS the SYN-ACK carried;
2. sized segments on fresh connections, bisected with the shared
   :class:`~pathprobe.search.SizeSearch` (driven by :func:`~pathprobe.search.drive`)
   in IP packet bytes: each size is acknowledged, reset or silently lost;
3. (optional) the peer's reply segments and TTL-limited SYNs whose ICMP
   quotations show whether (and where) our SYN's MSS option was rewritten.

"Could not measure" is a result, never an exception. ``search_segments`` takes a
``prober`` (payload sizes -> results): tests pass a simulated path.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import replace

from pathprobe.errors import NotMeasuredError, PermissionNeeded, UsageError
from pathprobe.model import (
    Leg,
    Measurement,
    Progress,
    Step,
    Target,
    Unmeasured,
    UnmeasuredReason,
    VerdictCode,
    no_progress,
)
from pathprobe.mss_rules import (
    WINDOW_CAP_FLOOR,
    Failure,
    HandshakeView,
    HopFinding,
    HopView,
    PeerView,
    ReceivedBound,
    SegmentView,
    classify,
    locate_rewrite,
)
from pathprobe.probes import tcp as tcpprobe
from pathprobe.probes.kernel import resolve, route_to
from pathprobe.render.unmeasured import unmeasured_sentence
from pathprobe.search import ProbeOutcome, ProbeResult, SearchResult, SizeSearch, drive
from pathprobe.timeouts import ACK_WAIT, PEER_WAIT
from pathprobe.wire.hostport import host_port
from pathprobe.wire.http_get import get_request
from pathprobe.wire.overhead import ip_tcp_overhead, mss_for_payload

SEGMENT_BUDGET_S = 20.0     # the segment search never runs longer than this


Clock = Callable[[], float]


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
    missed: list[str] = []   # this round's sizes not acknowledged, and why

    def probe(sizes: list[int]) -> list[ProbeResult]:
        results = send([s - overhead for s in sizes])
        fed: list[ProbeResult] = []
        missed.clear()
        for size, r in zip(sizes, results):
            if outcomes.get(size) is not tcpprobe.SegmentOutcome.ACKED:
                outcomes[size] = r.outcome
            if r.outcome is not tcpprobe.SegmentOutcome.ACKED:
                missed.append(f"{size} {r.outcome.value}" + (f" ({r.detail})" if r.detail else ""))
            hint = r.pmtu if r.outcome is tcpprobe.SegmentOutcome.ICMP_TOO_BIG else None
            fed.append(ProbeResult(size, _OUTCOME[r.outcome], hint))
        return fed

    def on_round(s: SizeSearch, sizes: list[int]) -> None:
        ok = s.largest_ok
        # Each size that failed, and how: a surprising result then explains itself.
        more = f" and {len(missed) - 4} more" if len(missed) > 4 else ""
        failed = f"; not acknowledged: {', '.join(missed[:4])}{more}" if missed else ""
        progress(f"segments: probed {len(sizes)} sizes {sizes[0]}..{sizes[-1]} bytes, largest "
                 f"acknowledged so far: {ok if ok is not None else 'none'}{failed}")

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
                clock: Clock = time.monotonic,
                segment_prober: SegmentProber | None = None) -> Measurement:
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
    ``unmeasured``. ``segment_prober`` replaces the sized-segment connections (tests
    pass a simulated path behind a real handshake).
    """
    if not 1 <= port <= 65535:
        raise UsageError(f"port must be 1..65535, got {port}")
    if not 1 <= max_hops <= 64:
        raise UsageError(f"max_hops must be 1..64, got {max_hops}")
    t0 = clock()
    try:
        resolved = resolve(host)
        family, addr = resolved.family, (resolved.address, port)
        target = host_port(*addr)
        progress(f"handshake with {target}")
        hs = tcpprobe.handshake(family, addr)
    except NotMeasuredError as e:
        why = (UnmeasuredReason.PERMISSION if isinstance(e, PermissionNeeded)
               else UnmeasuredReason.ERROR)
        return Measurement(unmeasured=(Unmeasured(Step.MSS, why, host, cause=str(e)),))
    view = handshake_view(hs, _interface_mtu(family, addr[0]))
    gaps = _bound_gap(view)
    finding: HopFinding | None = None
    if hops:   # before the segments: their ICMP may lower the cached PMTU and our SYN's MSS
        progress(f"TTL-limited SYNs, 1..{max_hops} hops")
        try:
            finding = _hop_finding(family, addr, hs.mss_sent, max_hops)
        except NotMeasuredError as exc:
            gaps.append(Unmeasured(Step.MSS, UnmeasuredReason.ERROR, method="hops",
                                   cause=str(exc)))
    seg: SegmentView | None = None
    unmeasured: tuple[Unmeasured, ...] = ()
    if segments:
        wait = ack_timeout if ack_timeout is not None else auto_ack_timeout(hs.rtt_s)
        seg, unmeasured = _segments(family, addr, target, hs, wait, gaps, progress,
                                    expected_mtu, clock, segment_prober)
    peer: PeerView | None = None
    if peer_probe:
        progress("asking the peer for a multi-segment reply (one small HTTP request)")
        try:
            lowered = down_payload if down_payload is not None and \
                down_payload < hs.mss_sent else None
            peer = _peer_view(family, addr, hs.rtt_s, lowered)
        except NotMeasuredError as exc:
            gaps.append(Unmeasured(Step.MSS, UnmeasuredReason.ERROR, method="peer",
                                   cause=str(exc)))
    out = classify(leg, target, view, seg, finding, peer=peer, leg_pmtu=leg_pmtu,
                   duration_s=clock() - t0,
                   not_measured=tuple(unmeasured_sentence(u, "mss") for u in gaps))
    if unmeasured:   # what was not measured keeps HEALTHY out
        problems = tuple(v for v in out.verdicts if v.code is not VerdictCode.HEALTHY)
        return replace(out, verdicts=problems, unmeasured=unmeasured)
    return out


def _bound_gap(view: HandshakeView) -> list[Unmeasured]:
    """Why the MSS received is only a lower bound, for the leg's "not measured" list."""
    if view.bound is ReceivedBound.ROUTE_MTU:
        return [Unmeasured(Step.MSS, UnmeasuredReason.RECEIVED_ROUTE_BOUND)]
    if view.bound is ReceivedBound.HALF_WINDOW:
        return [Unmeasured(Step.MSS, UnmeasuredReason.RECEIVED_WINDOW_BOUND)]
    return []


def _segments(family: int, addr: tuple[str, int], target: str, hs: tcpprobe.Handshake,
              wait: float, gaps: list[Unmeasured], progress: Progress,
              expected_mtu: int | None, clock: Clock, prober: SegmentProber | None = None
              ) -> tuple[SegmentView | None, tuple[Unmeasured, ...]]:
    """The segment search (above the negotiated MSS when TCP_REPAIR lets us), and what it
    could not measure: no search at all, a service that resets any data, nothing acked."""
    override = mss_for_payload(hs.snd_mss, hs.timestamps) < hs.mss_sent
    if override and not tcpprobe.can_override_mss(family, addr, hs.mss_sent, 3.0):
        override = False
        gaps.append(Unmeasured(Step.MSS, UnmeasuredReason.NO_TCP_REPAIR,
                               size=hs.mss_received))
    try:
        seg = search_segments(family, addr, hs, override=override, ack_timeout=wait,
                              progress=progress, prober=prober, expected_mtu=expected_mtu,
                              clock=clock)
    except NotMeasuredError as exc:
        return None, (Unmeasured(Step.MSS, UnmeasuredReason.ERROR, target, "segments",
                                 cause=str(exc)),)
    if seg.service_resets:
        return seg, (Unmeasured(Step.MSS, UnmeasuredReason.SERVICE_RESETS_DATA, target),)
    if seg.largest_ok is None and seg.failure is not Failure.RESET:
        return seg, (Unmeasured(Step.MSS, UnmeasuredReason.NOTHING_ACKED, target),)
    return seg, ()


__all__ = [
    "auto_ack_timeout",
    "handshake_view",
    "measure_mss",
    "search_segments",
    "segment_view",
]
