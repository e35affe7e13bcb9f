"""The tunnel's pure rules: what its probe results prove about leg 2.

Facts in (``pathprobe.facts.tunnel``: probe outcomes, downloads, refused
CONNECTs, the reflector's greeting), verdicts, leg rows and evidence out.
Nothing here does I/O or imports the probe layer, so every rule is unit-tested
with plain values; ``pathprobe.tunnel`` runs the probes and calls these.
Which leg a size finding finally belongs to is decided later, from the facts
of all steps (``pathprobe.findings.attribute``), using the ``Basis`` set here.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from pathprobe.facts.tunnel import (
    ConnectError,
    ConnectFailure,
    Download,
    Outcome,
    SizedProbe,
    TunnelFact,
)
from pathprobe.model import (
    Basis,
    Confidence,
    Credentials,
    Direction,
    Evidence,
    IpVersion,
    Leg,
    LegReport,
    LegSizes,
    Limit,
    Number,
    ProxyConfig,
    Step,
    Verdict,
    VerdictCode,
)
from pathprobe.search import ProbeOutcome, ProbeResult, SearchResult, StopReason, search_evidence
from pathprobe.timeouts import TUNNEL_WAIT
from pathprobe.wire import http_connect as hc
from pathprobe.wire.hostport import HostPort
from pathprobe.wire.overhead import TCP_TIMESTAMPS, ip_tcp_overhead, mss_for_mtu, mtu_for_mss
from pathprobe.wire.reflector_protocol import Hello

# Payload sizes searched: from a size every path carries to a full Ethernet segment.
UP_LOW = 536
DOWN_LOW = 536
PAYLOAD_HIGH = 1460
# Our advertised MSS for down-direction probes: leg 1 carries these small segments.
DOWN_MAXSEG = 536
FIRST_ROUND_TIMEOUT_S = 2.0
FIRST_ROUND_FLOOR_S = 1.0
DEFAULT_MSS = 1460  # what a proxy on a 1500-byte IPv4 Ethernet announces
# A stall after fewer bytes than this looks like a size problem, not a quota.
SIZE_STALL_BYTES = 2 * PAYLOAD_HIGH


_PROBE_OUTCOME = {
    Outcome.ANSWERED: ProbeOutcome.DELIVERED,
    Outcome.RESET: ProbeOutcome.TOO_BIG,
    Outcome.CLOSED: ProbeOutcome.TOO_BIG,
    Outcome.GARBAGE: ProbeOutcome.TOO_BIG,
    Outcome.STALLED: ProbeOutcome.LOST,
    Outcome.ECHOED: ProbeOutcome.LOST,   # no answer from the far end, at any size
}


def to_probe_result(p: SizedProbe, leg1_segment: int | None = None,
                    split_before: bool = False) -> ProbeResult | None:
    """What one probe proves about its size; None when it proves nothing about it.

    UNTESTED probes never wrote their size. An answered write above leg 1's
    segment crossed leg 1 in pieces; when the reflector's largest segment is
    exactly the first piece, the proxy passed the pieces on as they came (a
    race in its reads), so the write was not tested on leg 2 in one segment:
    only that piece is proven. A second such split of the same size is the
    proxy's own segmentation, repeatable, and the write counts as delivered.
    """
    if p.outcome is Outcome.UNTESTED:
        return None
    piece = None if split_before else leg1_piece(p, leg1_segment)
    if piece is not None:
        return ProbeResult(piece, ProbeOutcome.DELIVERED)
    return ProbeResult(p.size, _PROBE_OUTCOME.get(p.outcome, ProbeOutcome.LOST))


def leg1_piece(p: SizedProbe, leg1_segment: int | None) -> int | None:
    """The piece size when an answered write reached the reflector only in leg 1's
    pieces rather than whole; None otherwise."""
    if (p.outcome is Outcome.ANSWERED and p.segment is not None
            and leg1_segment is not None and p.size > leg1_segment == p.segment):
        return p.segment
    return None


def next_timeout(answered_s: Sequence[float], current: float) -> float:
    """Wait for an answer: 5x the slowest answer seen plus slack, within floor/ceiling."""
    if not answered_s:
        return current
    return TUNNEL_WAIT.wait(max(answered_s))


def first_round_timeout(connect_s: float, answered_s: float | None = None) -> float:
    """Round 1 has no answered probe yet. With another answer from the far end over both
    legs (``answered_s``: the TLS check's handshake), wait as the later rounds do from
    theirs; else scale from the CONNECT's round trip (squid answers 200 only after its
    handshake with the upstream, so it spans both legs), never below 1 s so a slow
    server's first answers are not taken for losses."""
    if answered_s is not None:
        return next_timeout([answered_s], FIRST_ROUND_TIMEOUT_S)
    return max(FIRST_ROUND_FLOOR_S, next_timeout([connect_s], FIRST_ROUND_TIMEOUT_S))


def connect_verdict(err: ConnectError, proxy: ProxyConfig, target: HostPort,
                    credentials: Credentials | None) -> Verdict:
    """The proxy verdict for a CONNECT that did not give a tunnel (``target`` typed for the
    recommendations; its text in the evidence and JSON)."""
    return replace(_refusal(err, proxy, str(target), credentials), target=target)


def _refusal(err: ConnectError, proxy: ProxyConfig, target: str,
             credentials: Credentials | None) -> Verdict:
    leg = Leg.FMC_PROXY
    ev = [Evidence(TunnelFact.CONNECT_FAILED, Step.TUNNEL, {
        "target": target, "proxy": proxy.display, "source": proxy.source, "detail": err.detail})]
    if err.kind is ConnectFailure.UNREACHABLE:
        return Verdict(VerdictCode.PROXY_UNREACHABLE, leg, None, tuple(ev),
                       basis=Basis.PROXY_ANSWER)
    if err.kind in (ConnectFailure.NO_RESPONSE, ConnectFailure.MALFORMED):
        return Verdict(VerdictCode.CONNECT_NO_RESPONSE, leg, None, tuple(ev),
                       basis=Basis.PROXY_ANSWER)
    resp = err.response
    assert resp is not None
    status = resp.status
    squid_error = resp.get("X-Squid-Error")
    if squid_error:
        ev.append(Evidence(TunnelFact.PROXY_ERROR_PAGE, Step.TUNNEL, {"error": squid_error}))
    numbers: dict[str, Number] = {"status": status, "target": target}
    if status == 407:
        schemes = hc.offered_schemes(err.challenges)
        numbers["offered"] = ",".join(schemes) or "none"
        ev.append(Evidence(TunnelFact.AUTH_OFFERED, Step.TUNNEL,
                           {"schemes": ", ".join(schemes) or "nothing"}))
        usable = [s for s in schemes if s in ("basic", "digest")]
        if not usable:
            ev.append(Evidence(TunnelFact.AUTH_UNSUPPORTED, Step.TUNNEL, {
                "schemes": "/".join(s.upper() for s in schemes) or "this"}))
            return Verdict(VerdictCode.PROXY_AUTH_UNSUPPORTED, leg, None, tuple(ev),
                           numbers=numbers, basis=Basis.PROXY_ANSWER)
        if credentials is None:
            ev.append(Evidence(TunnelFact.NO_CREDENTIALS, Step.TUNNEL))
        else:
            ev.append(Evidence(TunnelFact.CREDENTIALS_REJECTED, Step.TUNNEL, {
                "user": repr(credentials.user), "tried": err.auth_tried or "no usable scheme"}))
        return Verdict(VerdictCode.PROXY_AUTH_REQUIRED, leg, None, tuple(ev), numbers=numbers,
                       basis=Basis.PROXY_ANSWER)
    if status in (500, 502, 503, 504):
        ev.append(Evidence(TunnelFact.UPSTREAM_UNREACHABLE, Step.TUNNEL))
        return Verdict(VerdictCode.PROXY_UPSTREAM_ERROR, Leg.PROXY_UPSTREAM, None,
                       tuple(ev), numbers=numbers, basis=Basis.PROXY_ANSWER)
    ev.append(Evidence(TunnelFact.ACL_REFUSED, Step.TUNNEL))
    return Verdict(VerdictCode.PROXY_DENIED, leg, None, tuple(ev), numbers=numbers,
                   basis=Basis.PROXY_ANSWER)


@dataclass(frozen=True)
class SizeFinding:
    """One direction of leg 2: the search result and how the failures looked."""

    direction: Direction
    search: SearchResult
    high: int
    failures: dict[int, Outcome]
    method: str
    # Leg 2's address family when known (an address literal, or what the reflector saw).
    family: int | None = None
    timestamps: bool | None = None
    # Largest TCP segment the reflector received (its TCP_INFO rcv_mss), when known.
    max_segment: int | None = None
    # Failed up probes: did the proxy acknowledge the whole write (it crossed leg 1)?
    acked: dict[int, bool | None] = field(default_factory=dict)


def header_range(family: int | None, timestamps: bool | None) -> tuple[int, int]:
    """(least, most) IP+TCP header bytes per segment on leg 2 for what is known of it."""
    low = ip_tcp_overhead(6 if family == 6 else 4)
    high = ip_tcp_overhead(4 if family == 4 else 6)
    if timestamps is True:
        low, high = low + TCP_TIMESTAMPS, high + TCP_TIMESTAMPS
    elif timestamps is None:
        high += TCP_TIMESTAMPS
    return low, high


def size_numbers(f: SizeFinding) -> dict[str, Number]:
    """The leg row: max_payload and the PMTU range it implies for leg 2's unknown headers
    (the JSON names of ``size_sizes``, in the order the JSON has always had them)."""
    _, hi_h = header_range(f.family, f.timestamps)
    r = f.search
    sizes = size_sizes(f)
    out: dict[str, Number] = {"pmtu_method": "tunnel", "probes": r.probes, "rounds": r.rounds}
    if f.max_segment is not None:
        out["max_segment"] = f.max_segment
    out["max_payload"] = sizes.max_payload
    if sizes.payload_at_least is not None:
        out["max_payload_at_least"] = sizes.payload_at_least
    out["pmtu_low"] = sizes.pmtu_low
    out["pmtu_high"] = sizes.max_payload + hi_h if sizes.max_payload is not None else None
    return out


def size_sizes(f: SizeFinding) -> LegSizes:
    """The row's sizes, typed for the rules. Every size up to a full segment crossed: the
    proxy splits writes above its own segment size, so only a segment the reflector saw
    arrive bounds the PMTU."""
    lo_h, _ = header_range(f.family, f.timestamps)
    r = f.search
    if r.largest_ok is None:
        return LegSizes(max_segment=f.max_segment)
    if r.largest_ok >= f.high:
        return LegSizes(payload_at_least=r.largest_ok, max_segment=f.max_segment,
                        pmtu_low=f.max_segment + lo_h if f.max_segment else None)
    if r.exact:
        return LegSizes(max_payload=r.largest_ok, max_segment=f.max_segment,
                        pmtu_low=r.largest_ok + lo_h)
    return LegSizes(payload_at_least=r.largest_ok, max_segment=f.max_segment,
                    pmtu_low=r.largest_ok + lo_h)


def _basis(f: SizeFinding, bad: int, kind: Outcome) -> Basis:
    """What the tunnel itself saw about where the failing write was lost."""
    if f.direction is Direction.DOWN:
        return Basis.SMALL_MSS_ON_LEG1
    if kind is Outcome.RESET:
        return Basis.RESET_ON_OUR_SOCKET
    crossed = f.acked.get(bad)
    if crossed is True:
        return Basis.PROXY_ACKED
    if crossed is False:
        return Basis.PROXY_NEVER_ACKED
    return Basis.NEEDS_LEG1


def size_verdict(f: SizeFinding, leg1_version: int | None = None) -> Verdict | None:
    """PMTU_BLACKHOLE / RST_ON_LARGE_SEGMENT for one direction, stated for leg 2 with the
    basis that lets ``findings.attribute`` put it on the leg it belongs to."""
    r = f.search
    if r.largest_ok is None or r.smallest_bad is None or r.largest_ok >= f.high:
        return None
    bad = r.smallest_bad
    kind = f.failures.get(bad, Outcome.STALLED)
    basis = _basis(f, bad, kind)
    lo_h, hi_h = header_range(f.family, f.timestamps)
    ev = [Evidence(TunnelFact.WRITES, Step.TUNNEL, {"method": f.method, "ok": r.largest_ok,
                                                     "bad": bad, "how": kind.value}),
          search_evidence(r, Step.TUNNEL)]
    if r.exact:
        ev.append(Evidence(TunnelFact.PAYLOAD_CROSSES, Step.TUNNEL, {
            "direction": f.direction.value, "ok": r.largest_ok, "low": r.largest_ok + lo_h,
            "high": r.largest_ok + hi_h, "family": f.family, "timestamps": f.timestamps}))
    else:
        ev.append(Evidence(TunnelFact.NOT_EXACT, Step.TUNNEL, {"ok": r.largest_ok}))
    if r.retracted:
        ev.append(Evidence(TunnelFact.RETRACTED, Step.TUNNEL, {
            "sizes": ", ".join(map(str, r.retracted)), "bad": bad}))
    if r.unrepeated:
        ev.append(_unrepeated(r))
    code = (VerdictCode.RST_ON_LARGE_SEGMENT if kind in (Outcome.RESET, Outcome.CLOSED)
            else VerdictCode.PMTU_BLACKHOLE)
    numbers: dict[str, Number] = {"write_failed": bad}
    if code is VerdictCode.RST_ON_LARGE_SEGMENT:
        numbers["rst_threshold"] = bad   # the smallest write answered by a reset
    if leg1_version is not None:
        numbers["leg1_ip_version"] = leg1_version   # the JSON name of Verdict.leg1_ip_version
    if f.direction is Direction.DOWN:
        numbers["our_mss"] = DOWN_MAXSEG
    limit = Limit(max_payload=r.largest_ok, pmtu_low=r.largest_ok + lo_h,
                  pmtu_high=r.largest_ok + hi_h if r.exact else None, exact=r.exact)
    return Verdict(code, Leg.PROXY_UPSTREAM, f.direction, tuple(ev), Confidence.MEASURED,
                   numbers, limit=limit, basis=basis, write_failed=bad,
                   leg1_ip_version=IpVersion(leg1_version) if leg1_version in (4, 6) else None,
                   our_mss=DOWN_MAXSEG if f.direction is Direction.DOWN else None)


def download_verdict(d: Download, method: str, anything_answered: bool) -> Verdict | None:
    """TUNNEL_STALL (or a down-direction size problem) from a large download, or None.

    No size verdict rests on a far end that never answered anything: when not one
    byte of its came back (nothing at all, only our own bytes echoed, or the tunnel
    closed right after the proxy's 200) and no write was answered either, it is a
    stall, without a size.
    """
    silent = far_end_silent(d)
    if not d.stalled and not (silent and not d.complete):
        return None
    if not d.stalled:   # closed or echoed at once: nothing about sizes, only that
        if anything_answered:
            return None
        ev = [Evidence(TunnelFact.TUNNEL_ECHOED if d.echoed else TunnelFact.TUNNEL_CLOSED,
                       Step.TUNNEL),
              Evidence(TunnelFact.GET_RESULT, Step.TUNNEL, {"detail": d.detail})]
        return Verdict(VerdictCode.TUNNEL_STALL, Leg.PROXY_UPSTREAM, None, tuple(ev),
                       Confidence.INFERRED, {"tunnel_bytes": d.raw_received},
                       basis=Basis.PROXY_ANSWER)
    numbers: dict[str, Number] = {"stalled_after": d.received, "idle_s": round(d.idle_s, 2),
                                  "tunnel_bytes": d.raw_received}
    if d.expected is not None:
        numbers["expected"] = d.expected
    ev = [Evidence(TunnelFact.DOWNLOAD_STALLED, Step.TUNNEL, {
        "method": method, "detail": d.detail, "received": d.received, "expected": d.expected,
        "raw": d.raw_received, "idle_s": round(d.idle_s, 1)})]
    if silent and not anything_answered:
        if d.echoed:
            ev.append(Evidence(TunnelFact.TUNNEL_ECHOED, Step.TUNNEL))
        ev.append(Evidence(TunnelFact.FAR_END_SILENT, Step.TUNNEL, {"low": UP_LOW}))
        return Verdict(VerdictCode.TUNNEL_STALL, Leg.PROXY_UPSTREAM, None, tuple(ev),
                       Confidence.INFERRED, numbers, basis=Basis.PROXY_ANSWER)
    if d.raw_received < SIZE_STALL_BYTES:
        ev.append(Evidence(TunnelFact.DOWN_FIRST_SEGMENTS_ONLY, Step.TUNNEL))
        return Verdict(VerdictCode.PMTU_BLACKHOLE, Leg.PROXY_UPSTREAM, Direction.DOWN,
                       tuple(ev), Confidence.INFERRED, {**numbers, "our_mss": DOWN_MAXSEG},
                       limit=Limit(max_payload=DOWN_MAXSEG, exact=False),
                       basis=Basis.SMALL_MSS_ON_LEG1, our_mss=DOWN_MAXSEG)
    ev.append(Evidence(TunnelFact.DOWN_FLOWED_THEN_STOPPED, Step.TUNNEL))
    return Verdict(VerdictCode.TUNNEL_STALL, Leg.PROXY_UPSTREAM, Direction.DOWN,
                   tuple(ev), Confidence.MEASURED, numbers)


def clamp_verdict(hello: Hello, peer_mss: int | None,
                  leg1_version: int | None = None) -> Verdict | None:
    """MSS_CLAMPED on leg 2 when the proxy's SYN reached the reflector with a lower MSS.

    The proxy's MSS on leg 1 (its SYN-ACK to us) tells its interface MTU; on
    leg 2 it advertises the same MTU minus 40 (IPv4) or 60 (IPv6) bytes.
    """
    syn_mss = hello.syn_mss
    if syn_mss is None:
        return None
    l1 = leg1_version or 4
    l2 = hello.syn_ip_version if hello.syn_ip_version in (4, 6) else l1
    # The same interface MTU on both legs; only the IP header differs with the version.
    mtu = mtu_for_mss(DEFAULT_MSS if peer_mss is None else peer_mss, l1)
    expected = mss_for_mtu(mtu, l2)
    if syn_mss >= expected:
        return None
    ev = [Evidence(TunnelFact.SYN_AT_REFLECTOR, Step.TUNNEL, {"version": l2, "mss": syn_mss}),
          Evidence(TunnelFact.PROXY_MSS_ON_LEG1, Step.TUNNEL, {
              "peer_mss": peer_mss, "leg1_version": l1, "expected": expected})
          if peer_mss is not None
          else Evidence(TunnelFact.PROXY_MSS_DEFAULT, Step.TUNNEL, {"expected": expected}),
          Evidence(TunnelFact.LEG2_DEVICE_LOWERED, Step.TUNNEL)]
    return Verdict(VerdictCode.MSS_CLAMPED, Leg.PROXY_UPSTREAM, Direction.UP, tuple(ev),
                   Confidence.MEASURED if peer_mss is not None else Confidence.INFERRED,
                   {"mss_sent": expected, "mss_received": syn_mss, "ip_version": l2},
                   basis=Basis.THIS_LEG_ONLY, ip_version=IpVersion(l2), mss_received=syn_mss)


def consistent(r: SearchResult, delivered: set[int], failures: dict[int, Outcome]
               ) -> SearchResult:
    """Never over-report: a failure below a delivered size makes the answer a lower bound.

    (The proxy may split a write that crossed leg 1 in two segments, so a
    large size can pass where a smaller one failed; then only sizes below
    the smallest failure are trusted.) The search already withdraws such
    deliveries above failures it counted; this last check also covers the
    ones it did not count (losses in rounds where nothing was answered).
    """
    if r.largest_ok is None or not failures or min(failures) >= r.largest_ok:
        return r
    lowest_fail = min(failures)
    below = [n for n in delivered if n < lowest_fail]
    return replace(r, largest_ok=max(below) if below else None, smallest_bad=lowest_fail,
                   exact=False, stop=StopReason.NOTHING_LEFT,
                   retracted=tuple(sorted({*r.retracted, *(n for n in delivered
                                                            if n > lowest_fail)})))


def _unrepeated(r: SearchResult) -> Evidence:
    return Evidence(TunnelFact.ANSWER_NOT_REPEATED, Step.TUNNEL, {
        "sizes": ", ".join(map(str, r.unrepeated))})


def size_leg(target: str, f: SizeFinding, snd_mss: int | None) -> LegReport:
    notes = [search_evidence(f.search, Step.TUNNEL, f.method)]
    if f.search.retracted:
        notes.append(Evidence(TunnelFact.SPLIT_NOT_TRUSTED, Step.TUNNEL, {
            "sizes": ", ".join(map(str, f.search.retracted))}))
    if f.search.unrepeated:
        notes.append(_unrepeated(f.search))
    if snd_mss is not None and f.search.smallest_bad is not None and \
            f.search.smallest_bad > snd_mss and f.direction is Direction.UP:
        notes.append(Evidence(TunnelFact.REASSEMBLED, Step.TUNNEL, {"snd_mss": snd_mss}))
    return LegReport(Leg.PROXY_UPSTREAM, target, f.direction, size_numbers(f), tuple(notes),
                     step=Step.TUNNEL,
                     ip_version=IpVersion(f.family) if f.family in (4, 6) else None,
                     sizes=size_sizes(f))


def leg2_shape(host: str, hello: Hello | None) -> tuple[int | None, bool | None]:
    """Leg 2's IP version and whether its segments carry timestamps, when known."""
    family: int | None = None
    candidates = [host]
    if hello is not None and hello.peer is not None:
        candidates.insert(0, hello.peer)
    for c in candidates:
        try:
            ip = ipaddress.ip_address(c)
        except ValueError:
            continue
        mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
        family = 4 if mapped is not None else ip.version
        break
    return family, hello.syn_timestamps if hello is not None else None


def download_leg(target: str, d: Download) -> LegReport:
    """Leg 2's down row from the large answer read through the tunnel."""
    numbers: dict[str, Number] = {"downloaded": d.received, "expected": d.expected,
                                  "tunnel_bytes": d.raw_received,
                                  "download_s": round(d.elapsed_s, 2)}
    notes = [Evidence(TunnelFact.GET_RESULT, Step.TUNNEL, {"detail": d.detail})]
    if answer_too_small(d):
        notes.append(Evidence(TunnelFact.ANSWER_TOO_SMALL, Step.TUNNEL))
    return LegReport(Leg.PROXY_UPSTREAM, target, Direction.DOWN, numbers, tuple(notes),
                     step=Step.TUNNEL)


def answer_too_small(d: Download) -> bool:
    """An answer smaller than two full segments proves nothing about size (one that never
    came from the far end at all is not an answer: ``far_end_silent``)."""
    return not d.stalled and not far_end_silent(d) and d.raw_received < SIZE_STALL_BYTES


def far_end_silent(d: Download) -> bool:
    """Not one byte of the far end's came back: nothing at all, or only our own (echoed)."""
    return d.raw_received == 0 or d.echoed


def has_down_size_verdict(verdicts: Sequence[Verdict]) -> bool:
    """A sized-reply search already judged the down direction (the download adds nothing)."""
    return any(v.direction is Direction.DOWN and v.code in (
        VerdictCode.PMTU_BLACKHOLE, VerdictCode.RST_ON_LARGE_SEGMENT) for v in verdicts)


def healthy_verdict(directions: Sequence[Direction], reflector_used: bool,
                    up_evidence: Evidence | None = None) -> Verdict:
    """HEALTHY for leg 2 in the directions measured, saying what crossed (``up_evidence``
    when the up direction was measured another way than sized writes)."""
    ev = []
    if Direction.UP in directions:
        ev.append(up_evidence or Evidence(TunnelFact.UP_ALL_SIZES, Step.TUNNEL,
                                          {"high": PAYLOAD_HIGH}))
    if Direction.DOWN in directions:
        ev.append(Evidence(TunnelFact.DOWN_COMPLETE, Step.TUNNEL, {"reflector": reflector_used}))
    both = Direction.UP in directions and Direction.DOWN in directions
    return Verdict(VerdictCode.HEALTHY, Leg.PROXY_UPSTREAM,
                   Direction.BOTH if both else directions[0], tuple(ev))
