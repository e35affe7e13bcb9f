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
from pathprobe.model import (
    DEFAULT_TARGET,
    Confidence,
    Direction,
    Leg,
    LegReport,
    Measurement,
    Number,
    Progress,
    Verdict,
    VerdictCode,
    no_progress,
)
from pathprobe.probes import tunnel as io
from pathprobe.proxyconf import Credentials, ProxyConfig
from pathprobe.search import ProbeOutcome, ProbeResult, SearchResult, SizeSearch
from pathprobe.wire import http_connect as hc
from pathprobe.wire import tls

REFLECTOR_TOKEN_ENV = "PATHPROBE_REFLECTOR_TOKEN"
# Payload sizes searched: from a size every path carries to a full Ethernet segment.
UP_LOW = 536
DOWN_LOW = 536
PAYLOAD_HIGH = 1460
IPV4_TCP_HEADERS = 40
IPV6_TCP_HEADERS = 60
TIMESTAMPS = 12
# Our advertised MSS for down-direction probes: leg 1 carries these small segments.
DOWN_MAXSEG = 536
BATCH = 12
FIRST_ROUND_TIMEOUT_S = 2.0
FIRST_ROUND_FLOOR_S = 1.0
TIMEOUT_FLOOR_S = 0.5
TIMEOUT_CEILING_S = 3.0
MAX_PROBES = 60
MAX_ROUNDS = 8
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
    return min(TIMEOUT_CEILING_S, max(TIMEOUT_FLOOR_S, 5 * max(answered_s) + 0.25))


def first_round_timeout(connect_s: float) -> float:
    """Round 1 has no answered probe yet: scale from the CONNECT's round trip (squid
    answers 200 only after its handshake with the upstream, so it spans both legs),
    never below 1 s so a slow server's first answers are not taken for losses."""
    return max(FIRST_ROUND_FLOOR_S, next_timeout([connect_s], FIRST_ROUND_TIMEOUT_S))


def connect_verdict(err: io.ConnectError, proxy: ProxyConfig, target: str,
                    credentials: Credentials | None) -> Verdict:
    """The proxy verdict for a CONNECT that did not give a tunnel."""
    leg = Leg.FMC_PROXY.value
    ev = [f"CONNECT {target} via {proxy.display} (from {proxy.source}): {err.detail}"]
    if err.kind is io.ConnectFailure.UNREACHABLE:
        return Verdict(VerdictCode.PROXY_UNREACHABLE, leg, None, tuple(ev))
    if err.kind in (io.ConnectFailure.NO_RESPONSE, io.ConnectFailure.MALFORMED):
        return Verdict(VerdictCode.CONNECT_NO_RESPONSE, leg, None, tuple(ev))
    resp = err.response
    assert resp is not None
    status = resp.status
    squid_error = resp.get("X-Squid-Error")
    if squid_error:
        ev.append(f"proxy error page: {squid_error}")
    numbers: dict[str, Number] = {"status": status}
    if status == 407:
        schemes = hc.offered_schemes(err.challenges)
        numbers["offered"] = ",".join(schemes) or "none"
        ev.append(f"Proxy-Authenticate offers: {', '.join(schemes) or 'nothing'}")
        usable = [s for s in schemes if s in ("basic", "digest")]
        if not usable:
            ev.append("the FMC supports Basic and Digest proxy authentication, not "
                      f"{'/'.join(s.upper() for s in schemes) or 'this'}; configure Basic or "
                      "Digest for the FMC on the proxy")
            return Verdict(VerdictCode.PROXY_AUTH_UNSUPPORTED, leg, None, tuple(ev),
                           numbers=numbers)
        if credentials is None:
            ev.append("no credentials given: use --proxy-user USER with "
                      "PATHPROBE_PROXY_PASSWORD or the prompt")
        else:
            ev.append(f"credentials for user {credentials.user!r} were rejected "
                      f"({err.auth_tried or 'no usable scheme'})")
        return Verdict(VerdictCode.PROXY_AUTH_REQUIRED, leg, None, tuple(ev), numbers=numbers)
    if status in (500, 502, 503, 504):
        ev.append("the proxy could not reach the target (leg 2 connect failed or the upstream "
                  "is down)")
        return Verdict(VerdictCode.PROXY_UPSTREAM_ERROR, Leg.PROXY_UPSTREAM.value, None,
                       tuple(ev), numbers=numbers)
    ev.append("the proxy refuses this CONNECT (ACL): allow the target host and port for the FMC")
    return Verdict(VerdictCode.PROXY_DENIED, leg, None, tuple(ev), numbers=numbers)


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


def header_range(family: int | None, timestamps: bool | None) -> tuple[int, int, str]:
    """(least, most) IP+TCP header bytes per segment on leg 2, and how that was decided."""
    low = IPV6_TCP_HEADERS if family == 6 else IPV4_TCP_HEADERS
    high = IPV4_TCP_HEADERS if family == 4 else IPV6_TCP_HEADERS
    if timestamps is True:
        low, high = low + TIMESTAMPS, high + TIMESTAMPS
    elif timestamps is None:
        high += TIMESTAMPS
    fam = {4: "IPv4", 6: "IPv6"}.get(family or 0, "IPv4 or IPv6")
    opts = ("with TCP timestamps" if timestamps else "without TCP options"
            if timestamps is not None else "without TCP options .. with timestamps")
    return low, high, f"{fam}, {opts}"


def size_numbers(f: SizeFinding) -> dict[str, Number]:
    """max_payload and the PMTU range it implies for the unknown family/options of leg 2."""
    lo_h, hi_h, _ = header_range(f.family, f.timestamps)
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


def size_verdict(f: SizeFinding, leg1_max_payload: int | None,
                 leg1_family: int | None = None) -> Verdict | None:
    """PMTU_BLACKHOLE / RST_ON_LARGE_SEGMENT for one direction, on the leg it belongs to."""
    r = f.search
    if r.largest_ok is None or r.smallest_bad is None or r.largest_ok >= f.high:
        return None
    bad = r.smallest_bad
    kind = f.failures.get(bad, io.Outcome.STALLED)
    why: list[str] = []
    confidence = Confidence.MEASURED
    on_leg1 = False
    crossed_leg1 = f.acked.get(bad)
    if f.direction is Direction.UP and kind is io.Outcome.RESET:
        on_leg1, confidence = True, Confidence.INFERRED
        why.append("the reset arrived on our own connection to the proxy: a device on leg 1 "
                   "(or the proxy itself) resets large segments; a reset on leg 2 makes the "
                   "proxy close the tunnel instead")
    elif f.direction is Direction.UP and crossed_leg1 is False:
        on_leg1 = True
        why.append(f"the proxy never acknowledged the {bad}-byte write: it was lost on leg 1, "
                   "not leg 2")
    elif f.direction is Direction.UP and crossed_leg1 is True:
        why.append(f"the proxy acknowledged all {bad} bytes (they crossed leg 1), so the loss "
                   "is on leg 2")
    elif f.direction is Direction.UP:
        if leg1_max_payload is None:
            confidence = Confidence.INFERRED
            why.append("leg 1 was not measured for these sizes (run 'pathprobe pmtu' to the "
                       "proxy): blamed on leg 2 by inference")
        elif leg1_max_payload < bad:
            on_leg1, confidence = True, Confidence.INFERRED
            why.append(f"leg 1 carries only {leg1_max_payload}-byte payloads, so this limit may "
                       "be leg 1's; not blamed on leg 2")
        else:
            why.append(f"leg 1 carries {leg1_max_payload}-byte payloads, so the loss is on "
                       "leg 2")
    else:
        why.append(f"our advertised MSS was {DOWN_MAXSEG}, so leg 1 carried the answer in "
                   "small segments: the loss is on leg 2")
    shape = (replace(f, family=leg1_family, timestamps=None) if on_leg1 else f)
    numbers = {k: v for k, v in size_numbers(shape).items() if k in (
        "max_payload", "max_payload_at_least", "pmtu_low", "pmtu_high")}
    leg_words = "leg 1" if on_leg1 else "leg 2"
    ev = [f"{f.method}: {r.largest_ok} bytes in one write answered, {bad} "
          f"{'stalled (no answer)' if kind is io.Outcome.STALLED else kind.value}"
          f" ({r.reason}; {r.probes} probes in {r.rounds} rounds)"]
    if r.exact:
        ev.append(f"{leg_words} {f.direction.value} carries {r.largest_ok}-byte TCP payloads: "
                  f"PMTU {numbers['pmtu_low']}..{numbers['pmtu_high']} "
                  f"({header_range(shape.family, shape.timestamps)[2]})")
    else:
        ev.append(f"not byte-exact: at least {r.largest_ok} bytes cross (proven lower bound)")
    if r.retracted:
        ev.append(f"larger writes ({', '.join(map(str, r.retracted))}) were answered once but "
                  f"{bad} failed: the proxy relayed them in leg 1's pieces; not counted")
    ev += why
    code = (VerdictCode.RST_ON_LARGE_SEGMENT if kind in (io.Outcome.RESET, io.Outcome.CLOSED)
            else VerdictCode.PMTU_BLACKHOLE)
    if code is VerdictCode.RST_ON_LARGE_SEGMENT:
        numbers["rst_threshold"] = bad
    leg = Leg.FMC_PROXY.value if on_leg1 else Leg.PROXY_UPSTREAM.value
    return Verdict(code, leg, f.direction, tuple(ev), confidence, numbers)


def download_verdict(d: io.Download, method: str) -> Verdict | None:
    """TUNNEL_STALL (or a down-direction size problem) from a large download, or None."""
    if not d.stalled:
        return None
    numbers: dict[str, Number] = {"stalled_after": d.received, "idle_s": round(d.idle_s, 2),
                                  "tunnel_bytes": d.raw_received}
    if d.expected is not None:
        numbers["expected"] = d.expected
    ev = [f"{method}: {d.detail} after {d.received} body bytes"
          f"{f' of {d.expected}' if d.expected is not None else ''} ({d.raw_received} bytes "
          f"through the tunnel in all); idle {d.idle_s:.1f} s"]
    if d.raw_received < SIZE_STALL_BYTES:
        ev.append("nothing beyond the first segments arrived: full-size segments from the "
                  "upstream are lost on the way down (use --reflector for the exact size)")
        return Verdict(VerdictCode.PMTU_BLACKHOLE, Leg.PROXY_UPSTREAM.value, Direction.DOWN,
                       tuple(ev), Confidence.INFERRED, numbers)
    ev.append("data flowed, then stopped: proxy inspection, quota or timeout on the way")
    return Verdict(VerdictCode.TUNNEL_STALL, Leg.PROXY_UPSTREAM.value, Direction.DOWN,
                   tuple(ev), Confidence.MEASURED, numbers)


def clamp_verdict(hello: dict[str, object], peer_mss: int | None,
                  leg1_version: int | None = None) -> Verdict | None:
    """MSS_CLAMPED on leg 2 when the proxy's SYN reached the reflector with a lower MSS.

    The proxy's MSS on leg 1 (its SYN-ACK to us) tells its interface MTU; on
    leg 2 it advertises the same MTU minus 40 (IPv4) or 60 (IPv6) bytes.
    """
    syn_mss = hello.get("syn_mss")
    if not isinstance(syn_mss, int):
        return None
    leg2_version = hello.get("syn_ip_version")
    expected = 1460 if peer_mss is None else peer_mss
    l1 = leg1_version or 4
    l2 = leg2_version if leg2_version in (4, 6) else l1
    expected += (20 if l1 == 6 else 0) - (20 if l2 == 6 else 0)
    if syn_mss >= expected:
        return None
    ev = [f"the proxy's SYN arrived at the reflector over IPv{l2} with MSS {syn_mss}",
          f"the proxy advertises MSS {peer_mss} to us on leg 1 (IPv{l1}), so it sends "
          f"{expected} on leg 2" if peer_mss is not None
          else f"a 1500-byte-MTU proxy sends MSS {expected}",
          "a device on leg 2 lowered it"]
    return Verdict(VerdictCode.MSS_CLAMPED, Leg.PROXY_UPSTREAM.value, Direction.UP, tuple(ev),
                   Confidence.MEASURED if peer_mss is not None else Confidence.INFERRED,
                   {"mss_sent": expected, "mss_received": syn_mss})


# --- orchestration ------------------------------------------------------------------------

Prober = Callable[[int, float], io.SizedProbe]


SearchOutcome = tuple[SearchResult, dict[int, io.Outcome], int | None,
                      dict[int, bool | None], io.ConnectError | None]


def _search(prober: Prober, low: int, high: int, progress: Progress, label: str,
            timeout: float, leg1_segment: int | None = None) -> SearchOutcome:
    s = SizeSearch(low, high, retries=1, batch=BATCH, max_probes=MAX_PROBES,
                   max_rounds=MAX_ROUNDS, retract_conflicts=True)
    answered: list[float] = []
    delivered: set[int] = set()
    segments: list[int] = []
    failures: dict[int, io.Outcome] = {}
    acked: dict[int, bool | None] = {}
    split: set[int] = set()      # sizes once answered in leg 1's pieces (re-probed)
    with ThreadPoolExecutor(max_workers=BATCH) as pool:
        while sizes := s.next_batch():
            progress(f"{label}: probing {len(sizes)} sizes {sizes[0]}..{sizes[-1]} "
                     f"(timeout {timeout:.1f} s)")
            probes = list(pool.map(lambda n, t=timeout: prober(n, t), sizes))
            broken = next((p.connect_error for p in probes if p.connect_error), None)
            if broken is not None:
                return s.result(), failures, None, acked, broken
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
            s.feed(r for r in results if low <= r.size <= high)
            timeout = next_timeout(answered, timeout)
    return (consistent(s.result(), delivered, failures), failures,
            max(segments) if segments else None, acked, None)


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
                   exact=False,
                   reason=f"inconsistent: {lowest_fail} failed below the delivered "
                          f"{r.largest_ok}; only sizes below the failure are trusted")


def measure_tunnel(proxy: ProxyConfig, target: str, *, credentials: Credentials | None = None,
                   reflector: str | None = None, leg1_max_payload: int | None = None,
                   progress: Progress = no_progress, token: str | None = None,
                   reflector_tls: bool = False,
                   directions: Sequence[Direction] = (Direction.UP, Direction.DOWN)
                   ) -> Measurement:
    """Open a tunnel to ``target`` and measure leg 2 up and down inside it.

    With ``reflector`` (HOST:PORT of ``pathprobe serve``) both directions are
    byte-exact and the SYN MSS on leg 2 is seen; without it the up direction
    uses refused ClientHellos to ``target`` and the down direction a GET.
    """
    host, _ = parse_target(target)
    if reflector is not None:
        parse_target(reflector)
    if token is None:
        token = os.environ.get(REFLECTOR_TOKEN_ENV)
    tls_name = parse_target(reflector)[0] if reflector is not None and reflector_tls else None
    auth = io.Authenticator(credentials, target)
    progress(f"CONNECT {target} via {proxy.display}")
    first = io.open_tunnel(proxy, target, auth, timeout=CONNECT_TIMEOUT_S)
    if isinstance(first, io.ConnectError):
        fail = connect_verdict(first, proxy, target, credentials)
        leg = LegReport(Leg.FMC_PROXY.value, proxy.display, None,
                        {"connect_status": fail.numbers.get("status"),
                         "auth": auth.scheme},
                        notes=(f"proxy from {proxy.source}",))
        return Measurement((leg,), (fail,), summary=f"{fail.code.value}: {first.detail}")
    first.sock.close()
    peer_mss = first.peer_mss
    leg1 = LegReport(Leg.FMC_PROXY.value, proxy.display, None, {
        "connect_status": 200, "auth": auth.scheme or "none",
        "connect_ms": round(first.connect_s * 1000, 1),
        "established_ms": round(first.established_s * 1000, 1),
        "mss_received": peer_mss, "snd_mss": first.snd_mss,
    }, notes=(f"proxy from {proxy.source}",))
    legs: list[LegReport] = [leg1]
    hello: dict[str, object] | None = None
    verdicts: list[Verdict] = []
    errors: list[str] = []

    def stop_on(err: io.ConnectError) -> Measurement:
        stop = connect_verdict(err, proxy, target, credentials)
        return Measurement((*legs, ), (*verdicts, stop), tuple(errors),
                           summary=f"{stop.code.value} during the measurement: {err.detail}")

    if reflector is not None:
        hello_raw = io.reflector_hello(proxy, reflector, io.Authenticator(credentials, reflector),
                                       token, CONNECT_TIMEOUT_S, tls_name)
        if isinstance(hello_raw, io.ConnectError):
            errors.append(f"reflector {reflector} not reachable through the proxy: "
                          f"{hello_raw.detail}")
            reflector = None
        else:
            hello = _parse_hello(hello_raw)
            if hello is None:
                errors.append(f"{reflector} is not a pathprobe reflector (greeting "
                              f"{(hello_raw or '')[:60]!r}) or the token is wrong")
                reflector = None
            else:
                syn_mss = hello.get("syn_mss")
                legs.append(LegReport(Leg.PROXY_UPSTREAM.value, reflector, Direction.UP,
                                      {"mss_received": syn_mss if isinstance(syn_mss, int)
                                       else None, "ip_version": version
                                       if isinstance(version := hello.get("syn_ip_version"),
                                                     int) else None},
                                      notes=("SYN as it arrived at the reflector",)))
                clamp = clamp_verdict(hello, peer_mss, first.family)
                if clamp is not None:
                    verdicts.append(clamp)

    far = reflector or target
    round1_timeout = first_round_timeout(first.connect_s)
    family, stamps = _leg2_shape(parse_target(far)[0], hello if reflector is not None else None)
    far_auth = io.Authenticator(credentials, far)
    if auth.challenge is not None:
        far_auth.learn([auth.challenge])

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
        res, failures, segment, acked, err = _search(up_probe, low, PAYLOAD_HIGH, progress,
                                                     "leg 2 up", round1_timeout,
                                                     first.snd_mss)
        if err is not None:
            return stop_on(err)
        finding = SizeFinding(Direction.UP, res, PAYLOAD_HIGH, failures, method, family, stamps,
                              segment, acked)
        v = size_verdict(finding, leg1_max_payload, first.family)
        if v is not None and v.leg == Leg.FMC_PROXY.value:
            # Leg 1 stopped the larger writes: leg 2 is only known to carry what crossed.
            finding = replace(finding, search=replace(
                res, exact=False, smallest_bad=None,
                reason=f"leg 1 limits the writes to {res.largest_ok} bytes; leg 2 carries at "
                       "least that"))
        legs.append(_size_leg(far, finding, first.snd_mss))
        if v is not None:
            verdicts.append(v)
        if res.largest_ok is None:
            hint = ("; the far end answered with non-TLS bytes"
                    if io.Outcome.GARBAGE in failures.values() else "")
            if reflector is None:
                hint += ("; --target must be a TLS server that answers a ClientHello "
                         "(or use --reflector)")
            if res.probes == 0:
                errors.append("leg 2 up: no sized write could be sent (the reflector refused "
                              "every connection: busy, rate-limited or a wrong token)")
            else:
                errors.append(f"leg 2 up: even {low}-byte writes got no answer "
                              f"({res.reason}){hint}")

    if Direction.DOWN in directions:
        if reflector is not None:
            def down_probe(n: int, t: float) -> io.SizedProbe:
                return io.probe_reflector_down(proxy, far, far_auth, n, token, t, DOWN_MAXSEG,
                                               tls_name)
            res, failures, _, _, err = _search(down_probe, DOWN_LOW, PAYLOAD_HIGH, progress,
                                               "leg 2 down", round1_timeout)
            if err is not None:
                return stop_on(err)
            finding = SizeFinding(Direction.DOWN, res, PAYLOAD_HIGH, failures,
                                  f"reflector {reflector} (sized replies)", family, stamps)
            legs.append(_size_leg(far, finding, None))
            v = size_verdict(finding, leg1_max_payload)
            if v is not None:
                verdicts.append(v)
        progress("leg 2 down: reading a large answer through the tunnel")
        d = io.download_over_tls(proxy, target, auth, host, "/", DOWNLOAD_IDLE_S,
                                 DOWNLOAD_LIMIT, DOWN_MAXSEG)
        if isinstance(d, io.ConnectError):
            return stop_on(d)
        dm: dict[str, Number] = {"downloaded": d.received, "expected": d.expected,
                                 "tunnel_bytes": d.raw_received,
                                 "download_s": round(d.elapsed_s, 2)}
        notes = [f"GET / over TLS: {d.detail}"]
        if not d.stalled and d.raw_received < SIZE_STALL_BYTES:
            notes.append("answer too small to need full-size segments: down direction "
                         "not proven")
            if reflector is None:
                errors.append("leg 2 down not measured: the target's answer to GET / is too "
                              "small (use --reflector)")
        legs.append(LegReport(Leg.PROXY_UPSTREAM.value, target, Direction.DOWN, dm,
                              tuple(notes)))
        dv = download_verdict(d, "GET / over TLS")
        if dv is not None and not any(x.direction is Direction.DOWN and x.code in (
                VerdictCode.PMTU_BLACKHOLE, VerdictCode.RST_ON_LARGE_SEGMENT) for x in verdicts):
            verdicts.append(dv)

    if not verdicts and not errors:
        ev = []
        if Direction.UP in directions:
            ev.append(f"up: every size up to a full segment crossed leg 2 ({PAYLOAD_HIGH}-byte "
                      "writes answered)")
        if Direction.DOWN in directions:
            ev.append("down: " + ("sized replies up to a full segment and " if reflector else "")
                      + "a large answer arrived complete through the tunnel")
        both = Direction.UP in directions and Direction.DOWN in directions
        verdicts.append(Verdict(VerdictCode.HEALTHY, Leg.PROXY_UPSTREAM.value,
                                Direction.BOTH if both else directions[0], tuple(ev)))
    summary = "; ".join(f"{v.code.value} {v.leg}"
                        f"{' ' + v.direction.value if v.direction else ''}" for v in verdicts)
    if not verdicts:
        summary = f"could not measure leg 2 ({len(errors)} steps failed; see 'not measured')"
    return Measurement(tuple(legs), tuple(verdicts), tuple(errors), summary)


def _size_leg(target: str, f: SizeFinding, snd_mss: int | None) -> LegReport:
    notes = [f"{f.method}; {f.search.reason}"]
    if f.search.retracted:
        sizes = ", ".join(map(str, f.search.retracted))
        notes.append(f"not trusted: {sizes} answered although a smaller size failed (the "
                     "proxy can relay a write in the pieces leg 1 carried it in)")
    if snd_mss is not None and f.search.smallest_bad is not None and \
            f.search.smallest_bad > snd_mss and f.direction is Direction.UP:
        notes.append(f"sizes above {snd_mss} crossed leg 1 in two segments; the proxy "
                     "re-assembled them")
    return LegReport(Leg.PROXY_UPSTREAM.value, target, f.direction, size_numbers(f),
                     tuple(notes))


def _parse_hello(line: str | None) -> dict[str, object] | None:
    import json

    if not line:
        return None
    try:
        obj = json.loads(line)
    except ValueError:
        return None
    if not isinstance(obj, dict) or obj.get("pathprobe") != "reflector":
        return None
    return obj


def _leg2_shape(host: str, hello: dict[str, object] | None) -> tuple[int | None, bool | None]:
    """Leg 2's IP version and whether its segments carry timestamps, when known."""
    import ipaddress

    family: int | None = None
    stamps: bool | None = None
    candidates = [host]
    if hello is not None and isinstance(hello.get("peer"), str):
        candidates.insert(0, str(hello["peer"]))
    for c in candidates:
        try:
            ip = ipaddress.ip_address(c)
        except ValueError:
            continue
        mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
        family = 4 if mapped is not None else ip.version
        break
    if hello is not None and isinstance(hello.get("syn_timestamps"), bool):
        stamps = bool(hello["syn_timestamps"])
    return family, stamps
