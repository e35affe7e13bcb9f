"""Leg 2 (proxy to upstream) measured from inside CONNECT tunnels.

An explicit proxy splits TCP in two, so leg 2 is invisible to DF/ICMP probes
from the FMC. Here: open a tunnel (proxy verdicts if that fails), then bisect
the size of a single write the far end must answer (a refused ClientHello,
or the ``pathprobe serve`` reflector), and read large answers back. The
decisions are pure functions of the probe results (``classify_*``); the
I/O is in ``pathprobe.probes.tunnel``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

from pathprobe.errors import UsageError
from pathprobe.facts.tunnel import TunnelFact
from pathprobe.model import (
    DEFAULT_TARGET,
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
    Verdict,
    VerdictCode,
    no_progress,
)
from pathprobe.probes import tunnel as io
from pathprobe.proxyconf import Credentials, ProxyConfig
from pathprobe.search import (
    Aborted,
    ProbeOutcome,
    ProbeResult,
    SearchResult,
    SizeSearch,
    StopReason,
    drive,
    search_evidence,
)
from pathprobe.timeouts import TUNNEL_WAIT
from pathprobe.wire import http_connect as hc
from pathprobe.wire import tls
from pathprobe.wire.overhead import TCP_TIMESTAMPS, ip_tcp_overhead, mss_for_mtu, mtu_for_mss
from pathprobe.wire.reflector_protocol import Hello, parse_hello

REFLECTOR_TOKEN_ENV = "PATHPROBE_REFLECTOR_TOKEN"
# Payload sizes searched: from a size every path carries to a full Ethernet segment.
UP_LOW = 536
DOWN_LOW = 536
PAYLOAD_HIGH = 1460
# Our advertised MSS for down-direction probes: leg 1 carries these small segments.
DOWN_MAXSEG = 536
BATCH = 12
FIRST_ROUND_TIMEOUT_S = 2.0
FIRST_ROUND_FLOOR_S = 1.0
MAX_PROBES = 60
MAX_ROUNDS = 8
DEFAULT_MSS = 1460  # what a proxy on a 1500-byte IPv4 Ethernet announces
SEARCH_BUDGET_S = 30.0   # one direction's search never runs longer than this
CONNECT_TIMEOUT_S = 5.0
DOWNLOAD_LIMIT = 1 << 20
DOWNLOAD_IDLE_S = 3.0
# A stall after fewer bytes than this looks like a size problem, not a quota.
SIZE_STALL_BYTES = 2 * PAYLOAD_HIGH


def parse_target(text: str) -> tuple[str, int]:
    """HOST:PORT (IPv6 as [addr]:port) for CONNECT; UsageError otherwise."""
    try:
        return hc.parse_authority(text)
    except ValueError as e:
        raise UsageError(f"--target must be HOST:PORT (e.g. {DEFAULT_TARGET}): {e}") from None


# --- pure classification ------------------------------------------------------------------

_PROBE_OUTCOME = {
    io.Outcome.ANSWERED: ProbeOutcome.DELIVERED,
    io.Outcome.RESET: ProbeOutcome.TOO_BIG,
    io.Outcome.CLOSED: ProbeOutcome.TOO_BIG,
    io.Outcome.GARBAGE: ProbeOutcome.TOO_BIG,
    io.Outcome.STALLED: ProbeOutcome.LOST,
}


def to_probe_result(p: io.SizedProbe, leg1_segment: int | None = None,
                    split_before: bool = False) -> ProbeResult | None:
    """What one probe proves about its size; None when it proves nothing about it.

    UNTESTED probes never wrote their size. An answered write above leg 1's
    segment crossed leg 1 in pieces; when the reflector's largest segment is
    exactly the first piece, the proxy passed the pieces on as they came (a
    race in its reads), so the write was not tested on leg 2 in one segment:
    only that piece is proven. A second such split of the same size is the
    proxy's own segmentation, repeatable, and the write counts as delivered.
    """
    if p.outcome is io.Outcome.UNTESTED:
        return None
    piece = None if split_before else leg1_piece(p, leg1_segment)
    if piece is not None:
        return ProbeResult(piece, ProbeOutcome.DELIVERED)
    return ProbeResult(p.size, _PROBE_OUTCOME.get(p.outcome, ProbeOutcome.LOST))


def leg1_piece(p: io.SizedProbe, leg1_segment: int | None) -> int | None:
    """The piece size when an answered write reached the reflector only in leg 1's
    pieces rather than whole; None otherwise."""
    if (p.outcome is io.Outcome.ANSWERED and p.segment is not None
            and leg1_segment is not None and p.size > leg1_segment == p.segment):
        return p.segment
    return None


def next_timeout(answered_s: Sequence[float], current: float) -> float:
    """Wait for an answer: 5x the slowest answer seen plus slack, within floor/ceiling."""
    if not answered_s:
        return current
    return TUNNEL_WAIT.wait(max(answered_s))


def first_round_timeout(connect_s: float) -> float:
    """Round 1 has no answered probe yet: scale from the CONNECT's round trip (squid
    answers 200 only after its handshake with the upstream, so it spans both legs),
    never below 1 s so a slow server's first answers are not taken for losses."""
    return max(FIRST_ROUND_FLOOR_S, next_timeout([connect_s], FIRST_ROUND_TIMEOUT_S))


def connect_verdict(err: io.ConnectError, proxy: ProxyConfig, target: str,
                    credentials: Credentials | None) -> Verdict:
    """The proxy verdict for a CONNECT that did not give a tunnel."""
    leg = Leg.FMC_PROXY
    ev = [Evidence(TunnelFact.CONNECT_FAILED, Step.TUNNEL, {
        "target": target, "proxy": proxy.display, "source": proxy.source, "detail": err.detail})]
    if err.kind is io.ConnectFailure.UNREACHABLE:
        return Verdict(VerdictCode.PROXY_UNREACHABLE, leg, None, tuple(ev),
                       basis=Basis.PROXY_ANSWER)
    if err.kind in (io.ConnectFailure.NO_RESPONSE, io.ConnectFailure.MALFORMED):
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
    failures: dict[int, io.Outcome]
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
    """The leg row: max_payload and the PMTU range it implies for leg 2's unknown headers."""
    lo_h, hi_h = header_range(f.family, f.timestamps)
    r = f.search
    out: dict[str, Number] = {"pmtu_method": "tunnel", "probes": r.probes, "rounds": r.rounds}
    if f.max_segment is not None:
        out["max_segment"] = f.max_segment
    if r.largest_ok is None:
        out.update(max_payload=None, pmtu_low=None, pmtu_high=None)
    elif r.largest_ok >= f.high:
        # Every size up to a full segment crossed. The proxy splits writes above its own
        # segment size, so only a segment the reflector saw arrive bounds the PMTU.
        out.update(max_payload=None, max_payload_at_least=r.largest_ok,
                   pmtu_low=f.max_segment + lo_h if f.max_segment else None, pmtu_high=None)
    elif r.exact:
        out.update(max_payload=r.largest_ok, pmtu_low=r.largest_ok + lo_h,
                   pmtu_high=r.largest_ok + hi_h)
    else:
        out.update(max_payload=None, max_payload_at_least=r.largest_ok,
                   pmtu_low=r.largest_ok + lo_h, pmtu_high=None)
    return out


def _basis(f: SizeFinding, bad: int, kind: io.Outcome) -> Basis:
    """What the tunnel itself saw about where the failing write was lost."""
    if f.direction is Direction.DOWN:
        return Basis.SMALL_MSS_ON_LEG1
    if kind is io.Outcome.RESET:
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
    kind = f.failures.get(bad, io.Outcome.STALLED)
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
    code = (VerdictCode.RST_ON_LARGE_SEGMENT if kind in (io.Outcome.RESET, io.Outcome.CLOSED)
            else VerdictCode.PMTU_BLACKHOLE)
    numbers: dict[str, Number] = {"write_failed": bad}
    if code is VerdictCode.RST_ON_LARGE_SEGMENT:
        numbers["rst_threshold"] = bad   # the smallest write answered by a reset
    if leg1_version is not None:
        numbers["leg1_ip_version"] = leg1_version
    if f.direction is Direction.DOWN:
        numbers["our_mss"] = DOWN_MAXSEG
    limit = Limit(max_payload=r.largest_ok, pmtu_low=r.largest_ok + lo_h,
                  pmtu_high=r.largest_ok + hi_h if r.exact else None, exact=r.exact)
    return Verdict(code, Leg.PROXY_UPSTREAM, f.direction, tuple(ev), Confidence.MEASURED,
                   numbers, limit=limit, basis=basis)


def download_verdict(d: io.Download, method: str, anything_answered: bool) -> Verdict | None:
    """TUNNEL_STALL (or a down-direction size problem) from a large download, or None.

    No size verdict rests on a far end that never answered anything: when not one
    byte came back and no write was answered either, it is a stall, without a size.
    """
    if not d.stalled:
        return None
    numbers: dict[str, Number] = {"stalled_after": d.received, "idle_s": round(d.idle_s, 2),
                                  "tunnel_bytes": d.raw_received}
    if d.expected is not None:
        numbers["expected"] = d.expected
    ev = [Evidence(TunnelFact.DOWNLOAD_STALLED, Step.TUNNEL, {
        "method": method, "detail": d.detail, "received": d.received, "expected": d.expected,
        "raw": d.raw_received, "idle_s": round(d.idle_s, 1)})]
    if d.raw_received == 0 and not anything_answered:
        ev.append(Evidence(TunnelFact.FAR_END_SILENT, Step.TUNNEL, {"low": UP_LOW}))
        return Verdict(VerdictCode.TUNNEL_STALL, Leg.PROXY_UPSTREAM, None, tuple(ev),
                       Confidence.INFERRED, numbers, basis=Basis.PROXY_ANSWER)
    if d.raw_received < SIZE_STALL_BYTES:
        ev.append(Evidence(TunnelFact.DOWN_FIRST_SEGMENTS_ONLY, Step.TUNNEL))
        return Verdict(VerdictCode.PMTU_BLACKHOLE, Leg.PROXY_UPSTREAM, Direction.DOWN,
                       tuple(ev), Confidence.INFERRED, {**numbers, "our_mss": DOWN_MAXSEG},
                       limit=Limit(max_payload=DOWN_MAXSEG, exact=False),
                       basis=Basis.SMALL_MSS_ON_LEG1)
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
                   basis=Basis.THIS_LEG_ONLY)


# --- orchestration ------------------------------------------------------------------------

Prober = Callable[[int, float], io.SizedProbe]


@dataclass(frozen=True)
class SearchOutcome:
    """One direction's search and what the probes showed beside the sizes."""

    result: SearchResult
    failures: dict[int, io.Outcome]
    max_segment: int | None
    acked: dict[int, bool | None]
    broken: io.ConnectError | None = None


def _search(prober: Prober, low: int, high: int, progress: Progress, label: str,
            timeout: float, leg1_segment: int | None = None) -> SearchOutcome:
    """Bisect one direction with ``search.drive``; the tunnel breaking aborts it."""
    s = SizeSearch(low, high, retries=1, batch=BATCH, max_probes=MAX_PROBES,
                   max_rounds=MAX_ROUNDS, retract_conflicts=True)
    answered: list[float] = []
    delivered: set[int] = set()
    segments: list[int] = []
    failures: dict[int, io.Outcome] = {}
    acked: dict[int, bool | None] = {}
    split: set[int] = set()      # sizes once answered in leg 1's pieces (re-probed)
    broken: list[io.ConnectError] = []
    wait = [timeout]

    with ThreadPoolExecutor(max_workers=BATCH) as pool:
        def probe_batch(sizes: list[int]) -> list[ProbeResult]:
            progress(f"{label}: probing {len(sizes)} sizes {sizes[0]}..{sizes[-1]} "
                     f"(timeout {wait[0]:.1f} s)")
            probes = list(pool.map(lambda n, t=wait[0]: prober(n, t), sizes))
            err = next((p.connect_error for p in probes if p.connect_error), None)
            if err is not None:
                broken.append(err)
                raise Aborted
            results: list[ProbeResult] = []
            for p in probes:
                r = to_probe_result(p, leg1_segment, p.size in split)
                if r is None:
                    progress(f"{label}: {p.size} not tested ({p.detail}); not counted")
                    continue
                results.append(r)
                if p.outcome is io.Outcome.ANSWERED:
                    answered.append(p.elapsed_s)
                    if p.segment is not None:
                        segments.append(p.segment)
                    if r.size == p.size:
                        delivered.add(p.size)
                    else:
                        split.add(p.size)
                        delivered.add(r.size)
                else:
                    failures[p.size] = p.outcome
                    acked[p.size] = p.acked
            wait[0] = next_timeout(answered, wait[0])
            return [r for r in results if low <= r.size <= high]

        result = drive(s, probe_batch, budget_s=SEARCH_BUDGET_S)
    return SearchOutcome(consistent(result, delivered, failures), failures,
                         max(segments) if segments else None, acked,
                         broken[0] if broken else None)


def consistent(r: SearchResult, delivered: set[int], failures: dict[int, io.Outcome]
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


@dataclass
class _Run:
    """What one measure_tunnel run has gathered so far (legs, verdicts, errors)."""

    legs: list[LegReport]
    verdicts: list[Verdict] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def measurement(self) -> Measurement:
        return Measurement(tuple(self.legs), tuple(self.verdicts), tuple(self.errors))


def measure_tunnel(proxy: ProxyConfig, target: str, *, credentials: Credentials | None = None,
                   reflector: str | None = None, progress: Progress = no_progress,
                   token: str | None = None, reflector_tls: bool = False,
                   directions: Sequence[Direction] = (Direction.UP, Direction.DOWN)
                   ) -> Measurement:
    """Open a tunnel to ``target`` and measure leg 2 up and down inside it.

    With ``reflector`` (HOST:PORT of ``pathprobe serve``) both directions are
    byte-exact and the SYN MSS on leg 2 is seen; without it the up direction
    uses refused ClientHellos to ``target`` and the down direction a GET.
    Which leg a size finding belongs to is decided later, from the facts of
    all steps (``pathprobe.findings.attribute``).
    """
    host, _ = parse_target(target)
    if reflector is not None:
        parse_target(reflector)
    if token is None:
        token = os.environ.get(REFLECTOR_TOKEN_ENV)
    tls_name = parse_target(reflector)[0] if reflector is not None and reflector_tls else None
    auth = io.Authenticator(credentials, target)
    source = Evidence(TunnelFact.PROXY_SOURCE, Step.TUNNEL, {"source": proxy.source})
    progress(f"CONNECT {target} via {proxy.display}")
    first = io.open_tunnel(proxy, target, auth, timeout=CONNECT_TIMEOUT_S)
    if isinstance(first, io.ConnectError):
        fail = connect_verdict(first, proxy, target, credentials)
        leg = LegReport(Leg.FMC_PROXY, proxy.display, None,
                        {"connect_status": fail.numbers.get("status"), "auth": auth.scheme},
                        notes=(source,))
        return Measurement((leg,), (fail,))
    first.sock.close()
    peer_mss = first.peer_mss
    run = _Run([LegReport(Leg.FMC_PROXY, proxy.display, None, {
        "connect_status": 200, "auth": auth.scheme or "none",
        "connect_ms": round(first.connect_s * 1000, 1),
        "established_ms": round(first.established_s * 1000, 1),
        "mss_received": peer_mss, "snd_mss": first.snd_mss,
    }, notes=(source,))])

    def stop_on(err: io.ConnectError) -> Measurement:
        run.verdicts.append(connect_verdict(err, proxy, target, credentials))
        return run.measurement()

    hello: Hello | None = None
    if reflector is not None:
        hello_raw = io.reflector_hello(proxy, reflector, io.Authenticator(credentials, reflector),
                                       token, CONNECT_TIMEOUT_S, tls_name)
        if isinstance(hello_raw, io.ConnectError):
            run.errors.append(f"reflector {reflector} not reachable through the proxy: "
                              f"{hello_raw.detail}")
            reflector = None
        else:
            hello = parse_hello(hello_raw)
            if hello is None:
                run.errors.append(f"{reflector} is not a pathprobe reflector (greeting "
                                  f"{(hello_raw or '')[:60]!r}) or the token is wrong")
                reflector = None
            else:
                run.legs.append(LegReport(Leg.PROXY_UPSTREAM, reflector, Direction.UP, {
                    "mss_received": hello.syn_mss, "ip_version": hello.syn_ip_version},
                    notes=(Evidence(TunnelFact.SYN_AS_ARRIVED, Step.TUNNEL),)))
                clamp = clamp_verdict(hello, peer_mss, first.family)
                if clamp is not None:
                    run.verdicts.append(clamp)

    far = reflector or target
    round1_timeout = first_round_timeout(first.connect_s)
    family, stamps = _leg2_shape(parse_target(far)[0], hello if reflector is not None else None)
    far_auth = io.Authenticator(credentials, far)
    if auth.challenge is not None:
        far_auth.learn([auth.challenge])
    answered_up = False

    def down_probe(n: int, t: float) -> io.SizedProbe:
        return io.probe_reflector_down(proxy, far, far_auth, n, token, t, DOWN_MAXSEG,
                                       tls_name)

    def down_work() -> tuple[SearchOutcome | None, io.Download | io.ConnectError]:
        """The down direction: sized replies (reflector), then one large answer."""
        down = None
        if reflector is not None:
            down = _search(down_probe, DOWN_LOW, PAYLOAD_HIGH, progress, "leg 2 down",
                           round1_timeout)
            if down.broken is not None:
                return down, down.broken
        progress("leg 2 down: reading a large answer through the tunnel")
        return down, io.download_over_tls(proxy, target, auth, host, "/", DOWNLOAD_IDLE_S,
                                          DOWNLOAD_LIMIT, DOWN_MAXSEG)

    # Without a reflector the two directions share nothing (ClientHellos up, one GET
    # down), so their waits overlap; a reflector's per-source connection limit keeps
    # them in turn there.
    overlap = reflector is None and Direction.UP in directions and Direction.DOWN in directions
    with ThreadPoolExecutor(max_workers=1) as background:
        pending = background.submit(down_work) if overlap else None
        if Direction.UP in directions:
            if reflector is not None:
                method = f"reflector {reflector} (sized writes{', TLS' if tls_name else ''})"

                def up_probe(n: int, t: float) -> io.SizedProbe:
                    return io.probe_reflector_up(proxy, far, far_auth, n, token, t, tls_name)
            else:
                method = "refused TLS ClientHello"

                def up_probe(n: int, t: float) -> io.SizedProbe:
                    return io.probe_client_hello(proxy, far, far_auth, n, host, t)
            low = max(UP_LOW, tls.min_client_hello_size(host))
            up = _search(up_probe, low, PAYLOAD_HIGH, progress, "leg 2 up", round1_timeout,
                         first.snd_mss)
            if up.broken is not None:
                return stop_on(up.broken)
            answered_up = up.result.largest_ok is not None
            finding = SizeFinding(Direction.UP, up.result, PAYLOAD_HIGH, up.failures, method,
                                  family, stamps, up.max_segment, up.acked)
            run.legs.append(_size_leg(far, finding, first.snd_mss))
            v = size_verdict(finding, first.family)
            if v is not None:
                run.verdicts.append(v)
            if up.result.largest_ok is None:
                hint = ("; the far end answered with non-TLS bytes"
                        if io.Outcome.GARBAGE in up.failures.values() else "")
                if reflector is None:
                    hint += ("; --target must be a TLS server that answers a ClientHello "
                             "(or use --reflector)")
                if up.result.probes == 0:
                    run.errors.append("leg 2 up: no sized write could be sent (the reflector "
                                      "refused every connection: busy, rate-limited or a "
                                      "wrong token)")
                else:
                    run.errors.append(f"leg 2 up: even {low}-byte writes got no answer{hint}")
        if Direction.DOWN in directions:
            down, d = pending.result() if pending is not None else down_work()
    if Direction.DOWN in directions:
        if down is not None:
            if down.broken is not None:
                return stop_on(down.broken)
            answered_up = answered_up or down.result.largest_ok is not None
            finding = SizeFinding(Direction.DOWN, down.result, PAYLOAD_HIGH, down.failures,
                                  f"reflector {reflector} (sized replies)", family, stamps)
            run.legs.append(_size_leg(far, finding, None))
            v = size_verdict(finding)
            if v is not None:
                run.verdicts.append(v)
        if isinstance(d, io.ConnectError):
            return stop_on(d)
        dm: dict[str, Number] = {"downloaded": d.received, "expected": d.expected,
                                 "tunnel_bytes": d.raw_received,
                                 "download_s": round(d.elapsed_s, 2)}
        notes = [Evidence(TunnelFact.GET_RESULT, Step.TUNNEL, {"detail": d.detail})]
        if not d.stalled and d.raw_received < SIZE_STALL_BYTES:
            notes.append(Evidence(TunnelFact.ANSWER_TOO_SMALL, Step.TUNNEL))
            if reflector is None:
                run.errors.append("leg 2 down not measured: the target's answer to GET / is "
                                  "too small (use --reflector)")
        run.legs.append(LegReport(Leg.PROXY_UPSTREAM, target, Direction.DOWN, dm, tuple(notes)))
        dv = download_verdict(d, "GET / over TLS", answered_up)
        if dv is not None and dv.code is VerdictCode.TUNNEL_STALL and dv.direction is None:
            run.errors.append("leg 2: the far end never answered through the tunnel; no size "
                              "was measured")
        if dv is not None and not any(x.direction is Direction.DOWN and x.code in (
                VerdictCode.PMTU_BLACKHOLE, VerdictCode.RST_ON_LARGE_SEGMENT)
                for x in run.verdicts):
            run.verdicts.append(dv)

    if not run.verdicts and not run.errors:
        ev = []
        if Direction.UP in directions:
            ev.append(Evidence(TunnelFact.UP_ALL_SIZES, Step.TUNNEL, {"high": PAYLOAD_HIGH}))
        if Direction.DOWN in directions:
            ev.append(Evidence(TunnelFact.DOWN_COMPLETE, Step.TUNNEL,
                               {"reflector": reflector is not None}))
        both = Direction.UP in directions and Direction.DOWN in directions
        run.verdicts.append(Verdict(VerdictCode.HEALTHY, Leg.PROXY_UPSTREAM,
                                    Direction.BOTH if both else directions[0], tuple(ev)))
    return run.measurement()


def _size_leg(target: str, f: SizeFinding, snd_mss: int | None) -> LegReport:
    notes = [search_evidence(f.search, Step.TUNNEL, f.method)]
    if f.search.retracted:
        notes.append(Evidence(TunnelFact.SPLIT_NOT_TRUSTED, Step.TUNNEL, {
            "sizes": ", ".join(map(str, f.search.retracted))}))
    if snd_mss is not None and f.search.smallest_bad is not None and \
            f.search.smallest_bad > snd_mss and f.direction is Direction.UP:
        notes.append(Evidence(TunnelFact.REASSEMBLED, Step.TUNNEL, {"snd_mss": snd_mss}))
    return LegReport(Leg.PROXY_UPSTREAM, target, f.direction, size_numbers(f), tuple(notes))


def _leg2_shape(host: str, hello: Hello | None) -> tuple[int | None, bool | None]:
    """Leg 2's IP version and whether its segments carry timestamps, when known."""
    import ipaddress

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
