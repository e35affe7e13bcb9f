"""Leg 2 (proxy to upstream) measured from inside CONNECT tunnels.

An explicit proxy splits TCP in two, so leg 2 is invisible to DF/ICMP probes
from the FMC. Here: open a tunnel (proxy verdicts if that fails), then bisect
the size of a single write the far end must answer (a refused ClientHello,
or the ``pathprobe serve`` reflector), and read large answers back. This
module runs those steps in order; the probes' I/O is ``pathprobe.probes.tunnel``
and every decision is a pure rule in ``pathprobe.tunnel_rules``.

Before the sizes, one real TLS handshake with the target tells whether the
proxy decrypts TLS (``pathprobe.interception``). If it does, it answers
ClientHellos itself, so without a reflector leg 2 up is measured with HTTP
POST bodies through the decrypted session instead (a lower bound only).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

from pathprobe.errors import UsageError
from pathprobe.facts.interception import InterceptionFact
from pathprobe.facts.tunnel import (
    ConnectError,
    ConnectFailure,
    Download,
    Outcome,
    SizedProbe,
    TunnelFact,
)
from pathprobe.interception import (
    POST_SIZES,
    assess_tls,
    first_refusal,
    post_evidence,
    post_leg,
    post_verdict,
    proxy_refusal,
    tls_row,
)
from pathprobe.model import (
    DEFAULT_TARGET,
    Credentials,
    Direction,
    Evidence,
    Leg,
    LegReport,
    Measurement,
    Progress,
    ProxyConfig,
    Step,
    Verdict,
    VerdictCode,
    no_progress,
)
from pathprobe.probes import tls_check
from pathprobe.probes import tunnel as io
from pathprobe.probes.tunnel import Tunnel
from pathprobe.search import Aborted, ProbeResult, SearchResult, SizeSearch, drive
from pathprobe.timeouts import IDLE_WAIT, POST_WAIT, TLS_CHECK_WAIT
from pathprobe.tunnel_rules import (
    DOWN_LOW,
    DOWN_MAXSEG,
    PAYLOAD_HIGH,
    UP_LOW,
    SizeFinding,
    answer_too_small,
    clamp_verdict,
    connect_verdict,
    consistent,
    download_leg,
    download_verdict,
    first_round_timeout,
    has_down_size_verdict,
    healthy_verdict,
    leg2_shape,
    next_timeout,
    size_leg,
    size_verdict,
    to_probe_result,
)
from pathprobe.wire import http_connect as hc
from pathprobe.wire import tls
from pathprobe.wire.reflector_protocol import Hello, parse_hello

REFLECTOR_TOKEN_ENV = "PATHPROBE_REFLECTOR_TOKEN"
BATCH = 12
MAX_PROBES = 60
MAX_ROUNDS = 8
SEARCH_BUDGET_S = 30.0   # one direction's search never runs longer than this
CONNECT_TIMEOUT_S = 5.0
DOWNLOAD_LIMIT = 1 << 20


def parse_target(text: str) -> tuple[str, int]:
    """HOST:PORT (IPv6 as [addr]:port) for CONNECT; UsageError otherwise."""
    try:
        return hc.parse_authority(text)
    except ValueError as e:
        raise UsageError(f"--target must be HOST:PORT (e.g. {DEFAULT_TARGET}): {e}") from None


Prober = Callable[[int, float], SizedProbe]


@dataclass(frozen=True)
class SearchOutcome:
    """One direction's search and what the probes showed beside the sizes."""

    result: SearchResult
    failures: dict[int, Outcome]
    max_segment: int | None
    acked: dict[int, bool | None]
    broken: ConnectError | None = None


def _search(prober: Prober, low: int, high: int, progress: Progress, label: str,
            timeout: float, leg1_segment: int | None = None) -> SearchOutcome:
    """Bisect one direction with ``search.drive``; the tunnel breaking aborts it."""
    s = SizeSearch(low, high, retries=1, batch=BATCH, max_probes=MAX_PROBES,
                   max_rounds=MAX_ROUNDS, retract_conflicts=True)
    answered: list[float] = []
    delivered: set[int] = set()
    segments: list[int] = []
    failures: dict[int, Outcome] = {}
    acked: dict[int, bool | None] = {}
    split: set[int] = set()      # sizes once answered in leg 1's pieces (re-probed)
    broken: list[ConnectError] = []
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
                if p.outcome is Outcome.ANSWERED:
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


@dataclass
class _Run:
    """What one measure_tunnel run has gathered so far (legs, verdicts, errors)."""

    legs: list[LegReport]
    verdicts: list[Verdict] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def add(self, verdict: Verdict | None) -> None:
        if verdict is not None:
            self.verdicts.append(verdict)

    def measurement(self) -> Measurement:
        return Measurement(tuple(self.legs), tuple(self.verdicts), tuple(self.errors))


class _Broken(Exception):
    """A later tunnel could not be opened (or the proxy refused inside a decrypted session):
    the run ends with the proxy's verdict."""

    def __init__(self, err: ConnectError, *evidence: Evidence) -> None:
        super().__init__(err.detail)
        self.err = err
        self.evidence = evidence

    @classmethod
    def refused_inside_tls(cls, head: hc.ConnectResponse) -> _Broken:
        """A decrypting proxy's 200 to CONNECT, then its own refusal inside TLS."""
        return cls(ConnectError(ConnectFailure.STATUS, f"{head.status} {head.reason[:200]}".strip(),
                                head),
                   Evidence(InterceptionFact.REFUSED_INSIDE_TLS, Step.TUNNEL,
                            {"status": head.status}))


@dataclass
class _Session:
    """Everything the steps after the first CONNECT share."""

    proxy: ProxyConfig
    target: str
    credentials: Credentials | None
    auth: io.Authenticator
    first: Tunnel
    progress: Progress
    token: str | None
    # Leg 1's proven payload per segment up (from pmtu): the up probes' segments stay
    # within it, so their writes cross leg 1 and what fails is leg 2's.
    leg1_payload: int | None = None
    reflector: str | None = None
    tls_name: str | None = None
    hello: Hello | None = None
    ca_file: str | None = None
    # The TLS session may end at the proxy (the interception check): no ClientHello sizes.
    proxy_may_terminate: bool = False
    check_s: float = 0.0
    # What leg 2 up showed when it was measured with POST bodies (for HEALTHY's evidence).
    up_evidence: Evidence | None = None

    @property
    def host(self) -> str:
        return parse_target(self.target)[0]

    @property
    def far(self) -> str:
        """Where the sized probes go: the reflector when it answered, else the target."""
        return self.reflector or self.target

    def far_auth(self) -> io.Authenticator:
        """An authenticator for the far end that reuses the proxy's first challenge."""
        auth = io.Authenticator(self.credentials, self.far)
        if self.auth.challenge is not None:
            auth.learn([self.auth.challenge])
        return auth

    def round1_timeout(self) -> float:
        return first_round_timeout(self.first.connect_s)

    def shape(self) -> tuple[int | None, bool | None]:
        return leg2_shape(parse_target(self.far)[0], self.hello)


def leg1_given(proxy: ProxyConfig, payload: int) -> Measurement:
    """What the user says leg 1 carries (--leg1-max-payload): a fact for the attribution,
    said as such, on the leg-1 row."""
    return Measurement(legs=(LegReport(
        Leg.FMC_PROXY, proxy.display, None, {"max_payload": payload},
        notes=(Evidence(TunnelFact.LEG1_GIVEN, Step.TUNNEL, {"payload": payload}),)),))


def measure_tunnel(proxy: ProxyConfig, target: str, *, credentials: Credentials | None = None,
                   reflector: str | None = None, progress: Progress = no_progress,
                   token: str | None = None, reflector_tls: bool = False,
                   directions: Sequence[Direction] = (Direction.UP, Direction.DOWN),
                   leg1_payload: int | None = None, ca_file: str | None = None
                   ) -> Measurement:
    """Open a tunnel to ``target`` and measure leg 2 up and down inside it.

    With ``reflector`` (HOST:PORT of ``pathprobe serve``) both directions are
    byte-exact and the SYN MSS on leg 2 is seen; without it the up direction
    uses refused ClientHellos to ``target`` (POST bodies when the proxy decrypts
    TLS) and the down direction a GET. ``ca_file`` (PEM) is trusted besides the
    system store when the target's certificate chain is checked.
    Which leg a size finding belongs to is decided later, from the facts of
    all steps (``pathprobe.findings.attribute``). ``leg1_payload``, when leg 1's
    limit is already proven (diagnose's pmtu step), keeps the up probes' segments
    within it: leg 1's loss timeouts are not waited for again, and leg 2 is measured
    beyond leg 1's limit.
    """
    parse_target(target)
    if reflector is not None:
        parse_target(reflector)
    auth = io.Authenticator(credentials, target)
    source = Evidence(TunnelFact.PROXY_SOURCE, Step.TUNNEL, {"source": proxy.source})
    progress(f"CONNECT {target} via {proxy.display}")
    first = io.open_tunnel(proxy, target, auth, timeout=CONNECT_TIMEOUT_S, maxseg=leg1_payload)
    if isinstance(first, ConnectError):
        fail = connect_verdict(first, proxy, target, credentials)
        leg = LegReport(Leg.FMC_PROXY, proxy.display, None,
                        {"connect_status": fail.numbers.get("status"), "auth": auth.scheme},
                        notes=(source,))
        return Measurement((leg,), (fail,))
    first.sock.close()
    run = _Run([_leg1_row(proxy, auth, first, source)])
    session = _Session(proxy, target, credentials, auth, first, progress,
                       token if token is not None else os.environ.get(REFLECTOR_TOKEN_ENV),
                       leg1_payload, ca_file=ca_file)
    try:
        if reflector is not None:
            _greet_reflector(session, run, reflector, reflector_tls)
        _check_interception(session, run)
        _measure_sizes(session, run, directions)
    except _Broken as broken:
        v = connect_verdict(broken.err, proxy, target, credentials)
        run.verdicts.append(replace(v, evidence=(*v.evidence, *broken.evidence)))
        return run.measurement()
    # Interception is a finding about the proxy, not about leg 2's path: leg 2 can be healthy.
    path_findings = [v for v in run.verdicts if v.code is not VerdictCode.PROXY_TLS_INTERCEPTED]
    if not path_findings and not run.errors:
        run.verdicts.append(healthy_verdict(directions, session.reflector is not None,
                                            session.up_evidence))
    return run.measurement()


def _leg1_row(proxy: ProxyConfig, auth: io.Authenticator, first: Tunnel,
              source: Evidence) -> LegReport:
    """Leg 1 as the first CONNECT saw it (status, timing, the proxy's MSS)."""
    return LegReport(Leg.FMC_PROXY, proxy.display, None, {
        "connect_status": 200, "auth": auth.scheme or "none",
        "connect_ms": round(first.connect_s * 1000, 1),
        "established_ms": round(first.established_s * 1000, 1),
        "mss_received": first.peer_mss, "snd_mss": first.snd_mss,
    }, notes=(source,))


def _greet_reflector(s: _Session, run: _Run, reflector: str, use_tls: bool) -> None:
    """Ask the reflector how the proxy's SYN arrived; without a valid greeting the run
    goes on without it (an error says why)."""
    tls_name = parse_target(reflector)[0] if use_tls else None
    raw = io.reflector_hello(s.proxy, reflector, io.Authenticator(s.credentials, reflector),
                             s.token, CONNECT_TIMEOUT_S, tls_name)
    if isinstance(raw, ConnectError):
        run.errors.append(f"reflector {reflector} not reachable through the proxy: {raw.detail}")
        return
    hello = parse_hello(raw)
    if hello is None:
        run.errors.append(f"{reflector} is not a pathprobe reflector (greeting "
                          f"{(raw or '')[:60]!r}) or the token is wrong")
        return
    s.reflector, s.tls_name, s.hello = reflector, tls_name, hello
    run.legs.append(LegReport(Leg.PROXY_UPSTREAM, reflector, Direction.UP, {
        "mss_received": hello.syn_mss, "ip_version": hello.syn_ip_version},
        notes=(Evidence(TunnelFact.SYN_AS_ARRIVED, Step.TUNNEL),)))
    run.add(clamp_verdict(hello, s.first.peer_mss, s.first.family))


def _check_interception(s: _Session, run: _Run) -> None:
    """One real handshake with the target through the proxy (bounded: a decrypting proxy
    stuck on leg 2 is not waited for): PROXY_TLS_INTERCEPTED, or a note on leg 1's row."""
    timeout = TLS_CHECK_WAIT.wait(s.first.established_s)
    s.progress(f"TLS to {s.host} through the proxy: is it decrypted? (at most {timeout:.1f} s)")
    check = tls_check.check_tls(s.proxy, s.target, s.auth, s.host, s.ca_file, timeout,
                                DOWN_MAXSEG)
    if isinstance(check, ConnectError):
        raise _Broken(check)
    result = assess_tls(check, s.host, s.target)
    s.proxy_may_terminate, s.check_s = result.proxy_may_terminate, check.elapsed_s
    run.legs.append(tls_row(s.proxy.display, check, result))
    run.add(result.verdict)


def _measure_sizes(s: _Session, run: _Run, directions: Sequence[Direction]) -> None:
    """Up and down in the order their waits allow.

    Without a reflector the two directions share nothing (ClientHellos up, one GET
    down), so their waits overlap; a reflector's per-source connection limit keeps
    them in turn there.
    """
    up, down = Direction.UP in directions, Direction.DOWN in directions
    with ThreadPoolExecutor(max_workers=1) as background:
        pending = background.submit(_down_probes, s) if up and down and not s.reflector else None
        answered_up = _measure_up(s, run) if up else False
        if down:
            sized, d = pending.result() if pending is not None else _down_probes(s)
            _judge_down(s, run, sized, d, answered_up)


def _measure_up(s: _Session, run: _Run) -> bool:
    """Bisect the largest write leg 2 carries up; True when any write was answered."""
    if s.proxy_may_terminate and s.reflector is None:
        return _measure_up_posts(s, run)
    far, far_auth, tls_name, maxseg = s.far, s.far_auth(), s.tls_name, s.leg1_payload
    if s.reflector is not None:
        method = f"reflector {s.reflector} (sized writes{', TLS' if tls_name else ''})"

        def probe(n: int, t: float) -> SizedProbe:
            return io.probe_reflector_up(s.proxy, far, far_auth, n, s.token, t, tls_name,
                                         maxseg)
    else:
        method = "refused TLS ClientHello"

        def probe(n: int, t: float) -> SizedProbe:
            return io.probe_client_hello(s.proxy, far, far_auth, n, s.host, t, maxseg)
    low = max(UP_LOW, tls.min_client_hello_size(s.host))
    leg1_segment = s.first.snd_mss   # opened with the same maxseg as the probes
    up = _search(probe, low, PAYLOAD_HIGH, s.progress, "leg 2 up", s.round1_timeout(),
                 leg1_segment)
    if up.broken is not None:
        raise _Broken(up.broken)
    family, stamps = s.shape()
    finding = SizeFinding(Direction.UP, up.result, PAYLOAD_HIGH, up.failures, method,
                          family, stamps, up.max_segment, up.acked)
    row = size_leg(far, finding, leg1_segment)
    if maxseg is not None:
        row = replace(row, notes=(*row.notes, Evidence(TunnelFact.WITHIN_LEG1_LIMIT, Step.TUNNEL,
                                                       {"payload": maxseg})))
    run.legs.append(row)
    run.add(size_verdict(finding, s.first.family))
    if up.result.largest_ok is None:
        run.errors.append(_nothing_answered_up(up, low, reflector=s.reflector is not None))
    return up.result.largest_ok is not None


def _measure_up_posts(s: _Session, run: _Run) -> bool:
    """Leg 2 up through a proxy that decrypts TLS (or may: a certificate from a private CA):
    it answers ClientHellos itself, so they measure nothing on leg 2; POST bodies of growing
    size go through its decrypted session instead, and what stalls there is leg 2's
    (inferred, a lower bound only)."""
    timeout = POST_WAIT.wait(s.check_s)
    s.progress(f"leg 2 up: the TLS session may end at the proxy; POST bodies of {POST_SIZES[0]}.."
               f"{POST_SIZES[-1]} bytes through it (timeout {timeout:.1f} s)")
    posts = tls_check.post_bodies(s.proxy, s.target, s.auth, s.host, POST_SIZES, timeout,
                                  DOWN_MAXSEG)
    if isinstance(posts, ConnectError):
        raise _Broken(posts)
    refusal = first_refusal(posts)
    if refusal is not None:
        raise _Broken.refused_inside_tls(refusal)
    run.legs.append(post_leg(s.target, posts, timeout))
    if not any(p.sent for p in posts):
        run.errors.append("leg 2 up not measured: TLS through the proxy did not complete for "
                          "the POST bodies")
        return False
    verdict = post_verdict(posts, timeout)
    run.add(verdict)
    if verdict is None:
        s.up_evidence = post_evidence(posts, timeout)
    return any(p.answered for p in posts)


def _nothing_answered_up(up: SearchOutcome, low: int, *, reflector: bool) -> str:
    """Why leg 2 up has no size, for people (and what to try)."""
    if up.result.probes == 0:
        return ("leg 2 up: no sized write could be sent (the reflector refused every "
                "connection: busy, rate-limited or a wrong token)")
    hint = ("; the far end answered with non-TLS bytes"
            if Outcome.GARBAGE in up.failures.values() else "")
    if Outcome.ECHOED in up.failures.values():
        hint += "; our own bytes came back (the tunnel echoes): not the far end's answer"
    if not reflector:
        hint += "; --target must be a TLS server that answers a ClientHello (or use --reflector)"
    return f"leg 2 up: even {low}-byte writes got no answer{hint}"


def _down_probes(s: _Session) -> tuple[SearchOutcome | None, Download | ConnectError]:
    """The down direction's probes: sized replies (reflector), then one large answer."""
    sized = None
    if s.reflector is not None:
        far, far_auth = s.far, s.far_auth()

        def probe(n: int, t: float) -> SizedProbe:
            return io.probe_reflector_down(s.proxy, far, far_auth, n, s.token, t, DOWN_MAXSEG,
                                           s.tls_name)
        sized = _search(probe, DOWN_LOW, PAYLOAD_HIGH, s.progress, "leg 2 down",
                        s.round1_timeout())
        if sized.broken is not None:
            return sized, sized.broken
    s.progress("leg 2 down: reading a large answer through the tunnel")
    return sized, io.download_over_tls(s.proxy, s.target, s.auth, s.host, "/",
                                       IDLE_WAIT.wait(s.first.established_s), DOWNLOAD_LIMIT,
                                       DOWN_MAXSEG)


def _judge_down(s: _Session, run: _Run, sized: SearchOutcome | None,
                d: Download | ConnectError, answered_up: bool) -> None:
    """Verdicts and rows for the down direction from its probes' results."""
    if sized is not None:
        if sized.broken is not None:
            raise _Broken(sized.broken)
        answered_up = answered_up or sized.result.largest_ok is not None
        family, stamps = s.shape()
        finding = SizeFinding(Direction.DOWN, sized.result, PAYLOAD_HIGH, sized.failures,
                              f"reflector {s.reflector} (sized replies)", family, stamps)
        run.legs.append(size_leg(s.far, finding, None))
        run.add(size_verdict(finding))
    if isinstance(d, ConnectError):
        raise _Broken(d)
    if s.proxy_may_terminate and d.head is not None and proxy_refusal(d.head):
        raise _Broken.refused_inside_tls(d.head)
    if answer_too_small(d) and s.reflector is None:
        run.errors.append("leg 2 down not measured: the target's answer to GET / is too small "
                          "(use --reflector)")
    row = download_leg(s.target, d)
    if s.proxy_may_terminate:
        row = replace(row, notes=(*row.notes, Evidence(InterceptionFact.DECRYPTED_DOWNLOAD,
                                                       Step.TUNNEL)))
    run.legs.append(row)
    dv = download_verdict(d, "GET / over TLS", answered_up)
    if dv is not None and dv.direction is None:
        run.errors.append("leg 2: the far end never answered through the tunnel; no size was "
                          "measured")
    if dv is not None and not has_down_size_verdict(run.verdicts):
        run.verdicts.append(dv)
