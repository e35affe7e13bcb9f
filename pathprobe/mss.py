"""`mss`: MSS clamping, RST-on-large-segment and black holes on one TCP path.

Three measurements, each feeding a pure classifier:

1. the handshake: the MSS we advertised and the MSS the SYN-ACK carried;
2. sized segments on fresh connections, bisected with the shared
   :class:`~pathprobe.search.SizeSearch` in IP packet bytes: each size is
   acknowledged, reset or silently lost;
3. (optional) TTL-limited SYNs whose ICMP quotations show where the SYN's
   MSS option was rewritten (tracebox-style).

:func:`classify` turns plain results into verdicts and never touches the
network, so every rule is unit-tested; :func:`measure_mss` does the I/O.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

from pathprobe.errors import NotMeasuredError
from pathprobe.model import (
    Confidence,
    Direction,
    LegReport,
    Measurement,
    Number,
    Progress,
    Verdict,
    VerdictCode,
    healthy_unless,
    no_progress,
)
from pathprobe.probes import tcp as tcpprobe
from pathprobe.search import ProbeOutcome, ProbeResult, SearchResult, SizeSearch
from pathprobe.sysinfo import Target, resolve, route_to


class Failure(StrEnum):
    """How the smallest failing segment size failed."""

    RESET = "reset"
    LOST = "lost"
    ICMP = "icmp"
    LOCAL = "local"


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


@dataclass(frozen=True)
class SegmentView:
    """The outcome of the segment-size search, in IP packet bytes."""

    overhead: int               # IP + TCP (+ timestamps) header bytes per segment
    low: int
    high: int                   # largest packet size that could be tested
    beyond_clamp: bool          # True: sizes above the negotiated MSS were tested (TCP_REPAIR)
    largest_ok: int | None
    smallest_bad: int | None
    failure: Failure | None     # how smallest_bad failed
    exact: bool
    icmp_mtu: int | None
    probes: int
    reason: str
    resets: tuple[int, ...] = ()   # every size answered by a reset
    service_resets: bool = False   # even a 1-byte segment is reset: the service, not a size
    search_s: float = 0.0          # wall time of the segment-size search alone


@dataclass(frozen=True)
class HopView:
    """TTL-limited SYN results: (ttl, hop address, quoted MSS or None, reached)."""

    hops: tuple[tuple[int, str | None, int | None, bool], ...]


@dataclass(frozen=True)
class HopFinding:
    hop: str | None             # the first hop that saw a rewritten MSS, if any
    ttl: int | None
    evidence: tuple[str, ...] = field(default_factory=tuple)
    quoted_mss: int | None = None   # the rewritten MSS that hop quoted


@dataclass(frozen=True)
class PeerView:
    """The peer's reply to one small request: bytes and the largest segment payload."""

    received: int
    rcv_mss: int
    timestamps: bool
    timed_out: bool = False


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
    last_clean: tuple[int, str | None] | None = None
    for ttl, hop, quoted, reached in sorted(hops.hops):
        if reached:
            where = (f"hop {last_clean[0]} ({last_clean[1]})" if last_clean
                     else "the first hop")
            lines = (f"SYNs reached the target at TTL {ttl}; quotations up to {where} show "
                     f"our MSS {mss_sent} unchanged",
                     "the rewrite (if it is on our SYN) happens after that hop: on its "
                     "egress or in a device that does not decrement the TTL; a rewrite of "
                     "the SYN-ACK cannot be located from this side")
            return HopFinding(None, None, lines)
        if quoted is None:
            continue
        if quoted != mss_sent:
            prev = f"hop {last_clean[0]} ({last_clean[1]})" if last_clean else "us"
            return HopFinding(hop, ttl, (
                f"hop {ttl} ({hop}) quotes our SYN with MSS {quoted} instead of {mss_sent}: "
                f"rewritten between {prev} and hop {ttl}",), quoted)
        last_clean = (ttl, hop)
    answered = [h for h in hops.hops if h[2] is not None]
    if not answered:
        return HopFinding(None, None, (
            "no router quoted the TCP options of our TTL-limited SYNs (ICMP filtered, "
            "rate-limited, or quotations cut at 8 bytes): the rewrite cannot be located",))
    return HopFinding(None, None, (
        f"quotations from {len(answered)} hop(s) show our MSS {mss_sent} unchanged and the "
        "target was not reached within the TTL range: the rewrite is further on",))


def classify(leg: str, target: str, hs: HandshakeView, seg: SegmentView | None,
             hops: HopFinding | None, *, peer: PeerView | None = None,
             leg_pmtu: int | None = None, duration_s: float = 0.0,
             not_measured: tuple[str, ...] = ()) -> Measurement:
    """Verdicts and the leg report from plain measurements. Pure."""
    problems: list[Verdict] = []
    healthy_lines: list[str] = []
    notes: list[str] = []
    ip_tcp = (40 if hs.family == 4 else 60)
    m: dict[str, Number] = {
        "mss_sent": hs.mss_sent,
        "mss_received": hs.mss_received,
        "mss_received_exact": hs.received_exact,
        "mss_method": hs.method,
        "timestamps": hs.timestamps,
        "route_pmtu": hs.pmtu,
    }

    # 1. handshake
    received_text = (f"{hs.mss_received}" if hs.received_exact
                     else f"at least {hs.mss_received}")
    hs_line = (f"SYN advertised MSS {hs.mss_sent}; SYN-ACK carried MSS {received_text} "
               f"({hs.method})")
    clamp_ev: list[str] = []
    clamp_nums: dict[str, Number] = {"mss_sent": hs.mss_sent, "mss_received": hs.mss_received}
    down = hs.received_exact and hs.mss_received < hs.mss_sent
    if down:
        clamp_ev += [hs_line,
                     f"MSS {hs.mss_received} implies {hs.mss_received + ip_tcp}-byte packets; "
                     "a middlebox clamp on the SYN-ACK's way to us, or the peer's own "
                     "MTU/setting"]
        if (seg is not None and seg.beyond_clamp and seg.largest_ok is not None
                and seg.largest_ok > hs.mss_received + ip_tcp + (12 if hs.timestamps else 0)):
            clamp_ev.append(f"the path carried {seg.largest_ok}-byte packets to the peer, "
                            "more than the received MSS allows: the MSS was lowered by a "
                            "clamp (or the peer's setting), not by the path MTU")
        if leg_pmtu is not None:
            implied = hs.mss_received + ip_tcp
            if leg_pmtu > implied:
                clamp_ev.append(f"the leg's path MTU is {leg_pmtu} ('pmtu'), more than the "
                                f"{implied} bytes the MSS implies: a clamp (or the peer's own "
                                "setting), not the path MTU")
            else:
                clamp_ev.append(f"the leg's path MTU is {leg_pmtu} ('pmtu'): the MSS matches "
                                "the path (the peer or a device sized it to the path MTU)")
    else:
        healthy_lines.append(hs_line)
        if not hs.received_exact:
            notes.append(f"the MSS received is at least {hs.mss_received} (our own route MTU "
                         f"{hs.pmtu} hides larger values without root)")

    # 2. sized segments
    if seg is not None:
        m.update({"segment_method": "tcp-repair" if seg.beyond_clamp else "negotiated-mss",
                  "tested_up_to": seg.high, "largest_acked": seg.largest_ok,
                  "smallest_failed": seg.smallest_bad, "probes": seg.probes})
        if seg.largest_ok is not None:
            m["max_payload"] = seg.largest_ok - seg.overhead
        bounded = ("" if seg.beyond_clamp or seg.high >= hs.pmtu else
                   f" (sizes above the negotiated MSS, packets > {seg.high} bytes, need root)")
        if seg.largest_ok is None:
            if seg.failure is Failure.RESET and not seg.service_resets:
                problems.append(Verdict(
                    VerdictCode.RST_ON_LARGE_SEGMENT, leg, Direction.UP,
                    (f"even {seg.low}-byte packets (payload {seg.low - seg.overhead}) were "
                     "answered by a TCP reset", seg.reason),
                    Confidence.MEASURED, {"mtu": None, "smallest_reset": seg.smallest_bad}))
            # Nothing acknowledged otherwise: measure_mss reports it as an error.
        elif seg.failure is Failure.RESET:
            threshold = seg.largest_ok
            m["rst_threshold"] = threshold
            ev = [f"{threshold}-byte packets (payload {threshold - seg.overhead}) acknowledged; "
                  f"{seg.smallest_bad}-byte packets answered by a TCP reset",
                  "no ICMP too-big was received: a device resets large segments; this is "
                  "not an MTU problem"]
            if not seg.exact:
                ev.append(f"{threshold} is the proven lower bound: {seg.reason}")
            problems.append(Verdict(
                VerdictCode.RST_ON_LARGE_SEGMENT, leg, Direction.UP, tuple(ev),
                Confidence.MEASURED,
                {"mtu": threshold, "max_payload": threshold - seg.overhead,
                 "smallest_reset": seg.smallest_bad}))
        elif seg.failure is Failure.LOST:
            ok = seg.largest_ok
            m["blackhole_threshold"] = ok
            ev = [f"{ok}-byte packets (payload {ok - seg.overhead}) acknowledged; "
                  f"{seg.smallest_bad}-byte packets never acknowledged, no ICMP, no reset",
                  seg.reason]
            if seg.resets:
                ev.append(f"larger sizes were reset: {min(seg.resets)} bytes and up")
            problems.append(Verdict(
                VerdictCode.PMTU_BLACKHOLE, leg, Direction.UP, tuple(ev),
                Confidence.MEASURED if seg.exact else Confidence.INFERRED,
                {"mtu": ok, "max_payload": ok - seg.overhead}))
        elif seg.failure is Failure.ICMP:
            mtu = seg.largest_ok   # the proven size; the ICMP hint is only a claim
            hint = seg.icmp_mtu if seg.icmp_mtu is not None else "unknown"
            problems.append(Verdict(
                VerdictCode.PMTU_REDUCED, leg, Direction.UP,
                (f"an ICMP too-big (next-hop MTU {hint}) answered larger segments; "
                 f"{seg.largest_ok}-byte packets acknowledged, {seg.smallest_bad} not",
                 "PMTUD works here; 'pathprobe pmtu' measures the path MTU in detail"),
                Confidence.MEASURED, {"mtu": mtu, "max_payload": seg.largest_ok - seg.overhead}))
        else:
            healthy_lines.append(
                f"segments up to {seg.largest_ok}-byte packets (payload "
                f"{seg.largest_ok - seg.overhead}) acknowledged{bounded}")
        if not seg.beyond_clamp and seg.largest_ok is not None and seg.high < hs.pmtu:
            notes.append(f"segment sizes tested up to {seg.high}-byte packets: the negotiated "
                         "MSS bounds them (root lifts the bound with TCP_REPAIR)")

    # A PMTU cached below the interface MTU: an ICMP too-big for this target was accepted
    # recently, and it bounds every size we could send.
    if (hs.interface_mtu is not None and hs.pmtu < hs.interface_mtu
            and not any(v.code in (VerdictCode.PMTU_REDUCED, VerdictCode.PMTU_BLACKHOLE,
                                   VerdictCode.RST_ON_LARGE_SEGMENT) for v in problems)):
        m["interface_mtu"] = hs.interface_mtu
        problems.append(Verdict(
            VerdictCode.PMTU_REDUCED, leg, Direction.UP,
            (f"our kernel has a path MTU of {hs.pmtu} cached for this target (interface MTU "
             f"{hs.interface_mtu}): an ICMP too-big arrived recently",
             f"sizes above {hs.pmtu} cannot be tested until it expires (about 10 minutes, or "
             "'ip route flush cache' as root)"),
            Confidence.INFERRED, {"mtu": hs.pmtu}))

    # 3. the peer's segments: the MSS our SYN arrived with (up direction)
    up = False
    if peer is not None:
        m["peer_segment_max"] = peer.rcv_mss if peer_conclusive(peer) else None
        at_peer = mss_at_peer(peer)
        if at_peer is None and peer.received == 0 and peer.timed_out:
            notes.append("no reply to our small HTTP request: the service may not speak "
                         "HTTP, or the peer's large segments are lost on the way back (down "
                         "direction; a reflector or 'pathprobe tunnel' can tell)")
        elif at_peer is None:
            notes.append(f"the peer's reply ({peer.received} bytes"
                          f"{', timed out' if peer.timed_out else ''}) was too short to show "
                          "its segment size (the MSS our SYN arrived with)")
        elif at_peer < hs.mss_sent:
            peer_packet = at_peer + ip_tcp
            # PMTUD (ICMP) shrinks the peer's segments to exactly the path MTU; resets and
            # black holes do not shrink them, so only an ICMP-measured limit explains them.
            limit = (seg.largest_ok if seg is not None and seg.failure is Failure.ICMP
                     else None)
            line = (f"the peer's segments to us carry at most {peer.rcv_mss} payload bytes "
                    f"(MSS {at_peer} with options) although we advertised {hs.mss_sent}")
            if limit is not None and peer_packet == limit:
                notes.append(line + f": consistent with the {limit}-byte path limit measured "
                             "above, not a clamp")
            else:
                up = True
                clamp_nums["mss_at_peer"] = at_peer
                if not down:
                    # Up only: the MSS arriving (at the peer) is what its segments show.
                    clamp_nums["mss_received"] = at_peer
                    clamp_nums["syn_ack_mss"] = hs.mss_received
                    clamp_ev.append(hs_line)
                clamp_ev += [line, "our SYN's MSS was lowered on its way to the peer (a "
                             "clamp), or the peer's route back to us has a smaller MTU"]
        else:
            healthy_lines.append(f"the peer's segments to us carry up to {peer.rcv_mss} payload "
                                 f"bytes: our MSS {hs.mss_sent} arrived intact")
    # 4. TTL-limited SYNs: a quotation with a rewritten MSS proves the up direction.
    up_measured = hops is not None and hops.hop is not None and hops.quoted_mss is not None
    if up_measured and hops is not None and hops.quoted_mss is not None and not up:
        if not down:
            clamp_nums["mss_received"] = hops.quoted_mss
            clamp_nums["syn_ack_mss"] = hs.mss_received
            clamp_ev.append(hs_line)
        clamp_nums.setdefault("mss_at_peer", hops.quoted_mss)
    up = up or up_measured
    if down or up:
        if hops is not None:
            clamp_ev.extend(hops.evidence)
            if hops.hop is not None:
                clamp_nums["hop"] = hops.hop
                clamp_nums["hop_ttl"] = hops.ttl
        direction = Direction.BOTH if down and up else Direction.DOWN if down else Direction.UP
        problems.insert(0, Verdict(VerdictCode.MSS_CLAMPED, leg, direction, tuple(clamp_ev),
                                   Confidence.MEASURED if down or up_measured
                                   else Confidence.INFERRED, clamp_nums))
    elif hops is not None:
        healthy_lines.extend(hops.evidence[:1])
    if hops is not None:
        m["hop"] = hops.hop
        m["hop_ttl"] = hops.ttl

    m["duration_s"] = round(duration_s, 3)
    if seg is not None:
        m["search_s"] = round(seg.search_s, 3)
    report = LegReport(leg, target, None, m, tuple(notes), not_measured)
    verdicts = healthy_unless(problems, leg, healthy_lines)
    summary = "; ".join(_summary(v) for v in verdicts)
    return Measurement(legs=(report,), verdicts=verdicts, summary=f"{leg}: {summary}")


def _summary(v: Verdict) -> str:
    if v.code is VerdictCode.MSS_CLAMPED:
        where = f" ({v.direction.value})" if v.direction else ""
        return f"MSS_CLAMPED {v.numbers['mss_sent']} -> {v.numbers['mss_received']}{where}"
    mtu = v.numbers.get("mtu")
    return f"{v.code.value} at {mtu}" if mtu is not None else v.code.value


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
                 overhead: int, low: int, high: int, beyond_clamp: bool) -> SegmentView:
    """Combine the search result with how each size failed. Pure."""
    bad = result.smallest_bad
    failure = _FAILURE.get(outcomes[bad]) if bad is not None and bad in outcomes else None
    if failure is Failure.LOCAL and any(
            o is tcpprobe.SegmentOutcome.ICMP_TOO_BIG for o in outcomes.values()):
        # Our stack refused the size because an ICMP too-big lowered the cached PMTU.
        failure = Failure.ICMP
    resets = tuple(sorted(s for s, o in outcomes.items() if o is tcpprobe.SegmentOutcome.RESET))
    return SegmentView(overhead, low, high, beyond_clamp, result.largest_ok, bad, failure,
                       result.exact, result.icmp_mtu, result.probes, result.reason, resets)


SegmentProber = Callable[[Sequence[int]], list[tcpprobe.SegmentProbe]]


def search_segments(family: int, addr: tuple[str, int], hs: tcpprobe.Handshake, *,
                    override: bool, ack_timeout: float, progress: Progress,
                    prober: SegmentProber | None = None) -> SegmentView:
    """Bisect the largest acknowledged segment (IP packet bytes) on fresh connections.

    ``prober`` (payload sizes -> results) defaults to real connections to ``addr``;
    unit tests pass a simulated path to test the search/outcome plumbing.
    """
    if prober is None:
        def prober(payloads: Sequence[int]) -> list[tcpprobe.SegmentProbe]:
            return tcpprobe.probe_segments(
                family, addr, payloads, override_mss=hs.mss_sent if override else None,
                ack_timeout=ack_timeout)

    ts = tcpprobe.TS_OPTION_LEN if hs.timestamps else 0
    overhead = tcpprobe.ip_header_len(family) + tcpprobe.TCP_HEADER_LEN + ts
    max_payload = hs.pmtu - overhead if override else hs.snd_mss
    high = overhead + max_payload
    # A 1-byte segment must cross any path: starting there finds thresholds below 576
    # and tells a service that resets any data from a size policy.
    low = overhead + 1
    # Each probe is its own connection, so retries of the edge size go out together
    # (one ack timeout instead of three in a black hole).
    t0 = time.monotonic()
    search = SizeSearch(low, high, max_probes=60, max_rounds=10, retries=3,
                        parallel_retries=True)
    outcomes: dict[int, tcpprobe.SegmentOutcome] = {}
    while sizes := search.next_batch():
        progress(f"segments: probing {len(sizes)} sizes {sizes[0]}..{sizes[-1]} bytes")
        results = prober([s - overhead for s in sizes])
        fed: list[ProbeResult] = []
        for size, r in zip(sizes, results, strict=True):
            if outcomes.get(size) is not tcpprobe.SegmentOutcome.ACKED:
                outcomes[size] = r.outcome
            hint = r.pmtu if r.outcome is tcpprobe.SegmentOutcome.ICMP_TOO_BIG else None
            fed.append(ProbeResult(size, _OUTCOME[r.outcome], hint))
        search.feed(fed)
    view = replace(segment_view(search.result(), outcomes, overhead=overhead, low=low,
                                high=high, beyond_clamp=override),
                   search_s=time.monotonic() - t0)
    if view.largest_ok is None and view.failure is Failure.RESET:
        # Even a 1-byte segment is reset: the service, not a size policy.
        view = replace(view, service_resets=True, reason=(
            "the service resets connections that send data, even 1 byte"))
    return view


def _interface_mtu(family: int, address: str) -> int | None:
    """The egress interface's MTU (None when it cannot be found)."""
    try:
        return route_to(Target(address, address, family)).interface_mtu
    except NotMeasuredError:
        return None


def auto_ack_timeout(rtt_s: float) -> float:
    """Long enough for the kernel to retransmit a lost segment at least once (RTO >= 200 ms),
    short enough that a black hole's few rounds stay within the 2 s search budget."""
    return max(0.4, min(3.0, 0.3 + 10 * rtt_s))


def measure_mss(host: str, port: int, *, leg: str = "fmc-proxy", segments: bool = True,
                hops: bool = False, progress: Progress = no_progress,
                ack_timeout: float | None = None, max_hops: int = 8,
                peer_probe: bool = True, leg_pmtu: int | None = None) -> Measurement:
    """Measure the handshake MSS, segment thresholds and (with ``hops``) the clamp's hop.

    ``peer_probe`` sends one small HTTP request (GET /) to see the size of the
    peer's reply segments, which shows a clamp applied to our SYN (up
    direction). ``leg_pmtu`` (from ``pmtu``, when the caller has it) tells a
    clamp from an MSS sized to the path. ``hops`` sends TTL-limited SYNs (at most ``max_hops``, one
    wait of about a second) whose quotations locate a rewrite of our SYN.
    Raises NotMeasuredError when no connection can be made.
    """
    t0 = time.monotonic()
    resolved = resolve(host)
    family, addr = resolved.family, (resolved.address, port)
    fam = 6 if family == socket.AF_INET6 else 4
    target = f"[{addr[0]}]:{addr[1]}" if fam == 6 else f"{addr[0]}:{addr[1]}"
    progress(f"handshake with {target}")
    hs = tcpprobe.handshake(family, addr)
    view = HandshakeView(fam, hs.mss_sent, hs.mss_received, hs.received_exact, hs.method,
                         hs.timestamps, hs.pmtu, _interface_mtu(family, addr[0]))
    not_measured: list[str] = []
    if not hs.received_exact:
        not_measured.append("exact MSS received: our route MTU bounds TCP_INFO; "
                            "capturing the SYN-ACK needs root (CAP_NET_RAW)")
    finding: HopFinding | None = None
    if hops:   # before the segments: their ICMP may lower the cached PMTU and our SYN's MSS
        progress(f"TTL-limited SYNs, 1..{max_hops} hops")
        quotes = tcpprobe.ttl_syns(family, addr, max_hops=max_hops)
        # Compare each quotation with the MSS those SYNs really carried.
        carried = [q.sent_mss for q in quotes if q.quoted_mss is not None and q.sent_mss]
        finding = locate_rewrite(max(carried) if carried else hs.mss_sent, HopView(tuple(
            (q.ttl, q.hop, q.quoted_mss, q.reached) for q in quotes)))
    seg: SegmentView | None = None
    errors: list[str] = []
    if segments:
        override = hs.snd_mss + (tcpprobe.TS_OPTION_LEN if hs.timestamps else 0) < hs.mss_sent
        if override and not tcpprobe.can_override_mss(family, addr, hs.mss_sent, 3.0):
            override = False
            not_measured.append(
                f"segments above the negotiated MSS ({hs.mss_received}): raising our send "
                "MSS needs root (CAP_NET_ADMIN for TCP_REPAIR)")
        wait = ack_timeout if ack_timeout is not None else auto_ack_timeout(hs.rtt_s)
        seg = search_segments(family, addr, hs, override=override, ack_timeout=wait,
                              progress=progress)
        if seg.service_resets:
            errors.append(f"{target} resets connections that send data, even 1 byte: "
                          "segment sizes cannot be measured on this port; try the proxy port")
        elif seg.largest_ok is None and seg.failure is not Failure.RESET:
            errors.append(f"no data segment to {target} was acknowledged ({seg.reason}); "
                          "the service may not accept data")
    peer: PeerView | None = None
    if peer_probe:
        progress("asking the peer for a multi-segment reply (one small HTTP request)")
        host_header = f"[{addr[0]}]" if fam == 6 else addr[0]
        request = (f"GET / HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: pathprobe\r\n"
                   "Connection: close\r\n\r\n").encode("ascii")
        try:
            ps = tcpprobe.peer_segments(family, addr, request,
                                        timeout=max(1.0, min(3.0, 20 * hs.rtt_s)))
            peer = PeerView(ps.received, ps.rcv_mss, ps.timestamps, ps.timed_out)
        except NotMeasuredError as exc:
            not_measured.append(f"the peer's segment size: {exc}")
    out = classify(leg, target, view, seg, finding, peer=peer, leg_pmtu=leg_pmtu,
                   duration_s=time.monotonic() - t0,
                   not_measured=tuple(not_measured))
    if errors:
        return Measurement(out.legs, out.verdicts if any(
            v.code is not VerdictCode.HEALTHY for v in out.verdicts) else (),
            tuple(errors), out.summary)
    return out


__all__ = [
    "Failure",
    "HandshakeView",
    "HopFinding",
    "HopView",
    "PeerView",
    "SegmentView",
    "classify",
    "locate_rewrite",
    "measure_mss",
    "segment_view",
]
