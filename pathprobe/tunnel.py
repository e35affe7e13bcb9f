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
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace

from pathprobe import hellos
from pathprobe.errors import UsageError
from pathprobe.facts.hello import HelloProfile, ShapeResult
from pathprobe.facts.http_range import RangeFact, RangeUnmeasured
from pathprobe.facts.interception import InterceptionFact
from pathprobe.facts.tunnel import (
    ConnectError,
    ConnectFailure,
    Download,
    Outcome,
    SizedProbe,
    TunnelFact,
)
from pathprobe.hello_rules import (
    needs_shapes,
    own_hello_suspected,
    refine_threshold,
    shape_evidence,
)
from pathprobe.interception import (
    POST_SIZES,
    TlsOutcome,
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
    IpVersion,
    Leg,
    LegReport,
    Measurement,
    Number,
    Progress,
    ProxyConfig,
    Step,
    Unmeasured,
    UnmeasuredReason,
    Verdict,
    VerdictCode,
    no_progress,
)
from pathprobe.probes import tls_check
from pathprobe.probes import tunnel as io
from pathprobe.probes.http_range import range_get
from pathprobe.probes.tunnel import Tunnel
from pathprobe.range_rules import (
    RANGE_PATH,
    RANGE_PORT,
    judge_discovery,
    lower_bound,
    not_a_size,
    not_possible,
    range_verdict,
    to_sized,
)
from pathprobe.search import Aborted, ProbeResult, SearchResult, SizeSearch, drive, search_evidence
from pathprobe.timeouts import IDLE_WAIT, POST_WAIT, TLS_CHECK_WAIT, TUNNEL_WAIT
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
from pathprobe.wire.hostport import HostPort
from pathprobe.wire.http_get import absolute_url
from pathprobe.wire.reflector_protocol import Hello, parse_hello

REFLECTOR_TOKEN_ENV = "PATHPROBE_REFLECTOR_TOKEN"
BATCH = 12
MAX_PROBES = 60
MAX_ROUNDS = 8
SEARCH_BUDGET_S = 30.0   # one direction's search never runs longer than this
CONNECT_TIMEOUT_S = 5.0
DOWNLOAD_LIMIT = 1 << 20
# The large answer over TLS usually comes whole within this on a healthy path; after it the
# ranged plain-HTTP answers start beside it (their rounds then overlap its idle wait).
RANGED_GRACE_S = 0.25


def parse_target(text: str) -> HostPort:
    """HOST:PORT (IPv6 as [addr]:port) for CONNECT; UsageError otherwise."""
    try:
        return HostPort.parse(text)
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
    wait: float = 0.0     # the last round's wait, fitted to the answers seen


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
                         broken[0] if broken else None, wait[0])


@dataclass
class _Run:
    """What one measure_tunnel run has gathered so far (legs, verdicts, what it could not
    measure)."""

    legs: list[LegReport]
    verdicts: list[Verdict] = field(default_factory=list)
    unmeasured: list[Unmeasured] = field(default_factory=list)

    def add(self, verdict: Verdict | None) -> None:
        if verdict is not None:
            self.verdicts.append(verdict)

    def measurement(self) -> Measurement:
        return Measurement(tuple(self.legs), tuple(self.verdicts),
                           unmeasured=tuple(self.unmeasured))

    def not_measured(self, reason: UnmeasuredReason, target: str, cause: str = "") -> None:
        self.unmeasured.append(Unmeasured(Step.TUNNEL, reason, target, cause=cause))


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
    target: HostPort
    credentials: Credentials | None
    auth: io.Authenticator
    first: Tunnel
    progress: Progress
    token: str | None
    # Leg 1's proven payload per segment up (from pmtu): the up probes' segments stay
    # within it, so their writes cross leg 1 and what fails is leg 2's.
    leg1_payload: int | None = None
    reflector: HostPort | None = None
    tls_name: str | None = None
    hello: Hello | None = None
    ca_file: str | None = None
    # The TLS session may end at the proxy (the interception check): no ClientHello sizes.
    proxy_may_terminate: bool = False
    tls_stalled: bool = False    # the check's handshake got no certificate in time
    # The size-or-content shapes sent beside the up search (hellos.start_shapes).
    shapes: Future[list[ShapeResult]] | None = None
    hello_evidence: tuple[Evidence, ...] = ()   # the realistic hellos that crossed leg 2
    check_s: float = 0.0
    # The check's time when the target itself answered it (not a decrypting proxy): an
    # answer over both legs, as an answered probe is.
    answered_s: float | None = None
    # What leg 2 up showed when it was measured with POST bodies (for HEALTHY's evidence).
    up_evidence: Evidence | None = None

    @property
    def host(self) -> str:
        return self.target.host

    @property
    def far(self) -> HostPort:
        """Where the sized probes go: the reflector when it answered, else the target."""
        return self.reflector or self.target

    def far_auth(self) -> io.Authenticator:
        """An authenticator for the far end that reuses the proxy's first challenge."""
        auth = io.Authenticator(self.credentials, self.far)
        if self.auth.challenge is not None:
            auth.learn([self.auth.challenge])
        return auth

    def round1_timeout(self) -> float:
        """The first round's wait: from the check's answer when the target answered it (as
        the rounds after it wait from their answers), else from the CONNECT alone."""
        return first_round_timeout(self.first.connect_s, self.answered_s)

    def shape(self) -> tuple[int | None, bool | None]:
        return leg2_shape(self.far.host, self.hello)


def leg1_given(proxy: ProxyConfig, payload: int) -> Measurement:
    """What the user says leg 1 carries (--leg1-max-payload): a fact for the attribution,
    said as such, on the leg-1 row."""
    return Measurement(legs=(LegReport(
        Leg.FMC_PROXY, proxy.display, None, {"max_payload": payload},
        notes=(Evidence(TunnelFact.LEG1_GIVEN, Step.TUNNEL, {"payload": payload}),)),))


def measure_tunnel(proxy: ProxyConfig, target: HostPort, *,
                   credentials: Credentials | None = None,
                   reflector: HostPort | None = None, progress: Progress = no_progress,
                   token: str | None = None, reflector_tls: bool = False,
                   directions: Sequence[Direction] = (Direction.UP, Direction.DOWN),
                   leg1_payload: int | None = None, ca_file: str | None = None,
                   hello: HelloProfile = HelloProfile.BOTH) -> Measurement:
    """Open a tunnel to ``target`` and measure leg 2 up and down inside it.

    With ``reflector`` (HOST:PORT of ``pathprobe serve``) both directions are
    byte-exact and the SYN MSS on leg 2 is seen; without it the up direction
    uses refused ClientHellos to ``target`` (POST bodies when the proxy decrypts
    TLS) and the down direction a GET. ``ca_file`` (PEM) is trusted besides the
    system store when the target's certificate chain is checked. ``hello``: the realistic
    ClientHellos sent beside the up search (``pathprobe.hellos``).
    Which leg a size finding belongs to is decided later, from the facts of
    all steps (``pathprobe.findings.attribute``). ``leg1_payload``, when leg 1's
    limit is already proven (diagnose's pmtu step), keeps the up probes' segments
    within it: leg 1's loss timeouts are not waited for again, and leg 2 is measured
    beyond leg 1's limit.
    """
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
        _measure_with_hellos(session, run, directions, hello)
    except _Broken as broken:
        v = connect_verdict(broken.err, proxy, target, credentials)
        run.verdicts.append(replace(v, evidence=(*v.evidence, *broken.evidence)))
        return run.measurement()
    # Interception is a finding about the proxy, not about leg 2's path: leg 2 can be healthy.
    path_findings = [v for v in run.verdicts if v.code is not VerdictCode.PROXY_TLS_INTERCEPTED]
    if not path_findings and not run.unmeasured:
        healthy = healthy_verdict(directions, session.reflector is not None,
                                  session.up_evidence)
        # "Will a post-quantum handshake through this proxy work?" answered where it is read.
        run.verdicts.append(replace(healthy, evidence=(*healthy.evidence,
                                                       *session.hello_evidence)))
    return run.measurement()


def _leg1_row(proxy: ProxyConfig, auth: io.Authenticator, first: Tunnel,
              source: Evidence) -> LegReport:
    """Leg 1 as the first CONNECT saw it (status, timing, the proxy's MSS)."""
    return LegReport(Leg.FMC_PROXY, proxy.display, None, {
        "connect_status": 200, "auth": auth.scheme or "none",
        "connect_ms": round(first.connect_s * 1000, 1),
        "established_ms": round(first.established_s * 1000, 1),
        "mss_received": first.peer_mss, "snd_mss": first.snd_mss,
    }, notes=(source,), ip_version=IpVersion(first.family))


def _greet_reflector(s: _Session, run: _Run, reflector: HostPort, use_tls: bool) -> None:
    """Ask the reflector how the proxy's SYN arrived; without a valid greeting the run
    goes on without it (an error says why)."""
    tls_name = reflector.host if use_tls else None
    raw = io.reflector_hello(s.proxy, reflector, io.Authenticator(s.credentials, reflector),
                             s.token, CONNECT_TIMEOUT_S, tls_name)
    if isinstance(raw, ConnectError):
        run.not_measured(UnmeasuredReason.REFLECTOR_UNREACHABLE, target=str(reflector),
                         cause=raw.detail)
        return
    hello = parse_hello(raw)
    if hello is None:
        run.not_measured(UnmeasuredReason.NOT_A_REFLECTOR, target=str(reflector),
                         cause=(raw or "")[:60])
        return
    s.reflector, s.tls_name, s.hello = reflector, tls_name, hello
    run.legs.append(LegReport(Leg.PROXY_UPSTREAM, str(reflector), Direction.UP, {
        "mss_received": hello.syn_mss, "ip_version": hello.syn_ip_version},
        notes=(Evidence(TunnelFact.SYN_AS_ARRIVED, Step.TUNNEL),)))
    run.add(clamp_verdict(hello, s.first.peer_mss, s.first.family))


# Handshakes the target completed (a certificate came): the check's time spans both legs.
_ANSWERED_CHECKS = (TlsOutcome.VERIFIED, TlsOutcome.VERIFIED_WITH_CA_FILE, TlsOutcome.UNVERIFIED)


def _check_interception(s: _Session, run: _Run) -> None:
    """One real handshake with the target through the proxy (bounded: a decrypting proxy
    stuck on leg 2 is not waited for): PROXY_TLS_INTERCEPTED, or a note on leg 1's row."""
    timeout = TLS_CHECK_WAIT.wait(s.first.established_s)
    s.progress(f"TLS to {s.host} through the proxy: is it decrypted? (at most {timeout:.1f} s)")
    check = tls_check.check_tls(s.proxy, s.target, s.auth, s.host, s.ca_file, timeout,
                                DOWN_MAXSEG)
    if isinstance(check, ConnectError):
        raise _Broken(check)
    result = assess_tls(check, s.target)
    s.proxy_may_terminate, s.check_s = result.proxy_may_terminate, check.elapsed_s
    s.tls_stalled = check.outcome is TlsOutcome.STALLED
    if not s.proxy_may_terminate and check.outcome in _ANSWERED_CHECKS:
        s.answered_s = check.elapsed_s
    run.legs.append(tls_row(s.proxy.display, check, result))
    run.add(result.verdict)


def _hello_target(s: _Session, timeout: float) -> hellos.HelloTarget:
    """The hellos go where the ClientHello probes go: the target, within leg 1's limit."""
    return hellos.HelloTarget(s.proxy, s.target, s.auth, s.host, s.leg1_payload, timeout)


def _measure_with_hellos(s: _Session, run: _Run, directions: Sequence[Direction],
                         which: HelloProfile) -> None:
    """The sizes, with the realistic hellos (post-quantum, classic) sent beside the up search
    so their waits overlap it; then what the hellos show, per leg."""
    if Direction.UP not in directions:
        which = HelloProfile.NONE
    with ThreadPoolExecutor(max_workers=2) as background:
        target = _hello_target(s, s.round1_timeout())
        pending = hellos.start_profile(background, target, which)
        if Direction.UP in directions and s.reflector is None and not s.proxy_may_terminate:
            # ClientHellos will be the up probes: the shapes that tell a size limit from a
            # hello reader go now, at the largest write leg 1 carries whole.
            s.shapes = hellos.start_shapes(background, target,
                                           min(PAYLOAD_HIGH, s.first.snd_mss or PAYLOAD_HIGH))
        _measure_sizes(s, run, directions)
        results = pending.result() if pending is not None else []
    family, stamps = s.shape()
    found = hellos.judge_profile(results, str(s.target), run.legs, run.verdicts,
                                 proxy_answers=s.proxy_may_terminate,
                                 hellos_probed=s.reflector is None, full_segment=PAYLOAD_HIGH,
                                 family=family, timestamps=stamps)
    if found is not None and s.reflector is not None:
        _hello_threshold(s, run, found)
    run.verdicts[:] = own_hello_suspected(run.verdicts, results, s.tls_stalled)
    if not s.proxy_may_terminate:
        s.hello_evidence = tuple(shape_evidence(r) for r in results if r.answered)


def _hello_threshold(s: _Session, run: _Run, found: Verdict) -> None:
    """The sized writes went to the reflector, so no ClientHello size was searched: search
    one-record hellos between the classic one (answered) and the post-quantum one (lost)."""
    low, high = found.numbers.get("hello_max"), found.numbers.get("hello_dropped_from")
    if not (isinstance(low, int) and isinstance(high, int) and low < high):
        return
    auth = io.Authenticator(s.credentials, s.target)
    if s.auth.challenge is not None:
        auth.learn([s.auth.challenge])

    def probe(n: int, t: float) -> SizedProbe:
        return io.probe_client_hello(s.proxy, s.target, auth, n, s.host, t, s.leg1_payload)
    hello = _search(probe, low, high, s.progress, "ClientHello sizes", s.round1_timeout(),
                    s.first.snd_mss)
    r = hello.result
    i = run.verdicts.index(found)
    run.verdicts[i] = refine_threshold(found, r.largest_ok, r.smallest_bad, r.exact,
                                       search_evidence(r, Step.TUNNEL,
                                                       "one-record ClientHellos"))


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
            probes = pending.result() if pending is not None else _down_probes(s)
            _judge_down(s, run, probes, answered_up)


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
    row = size_leg(str(far), finding, leg1_segment)
    if maxseg is not None:
        row = replace(row, notes=(*row.notes, Evidence(TunnelFact.WITHIN_LEG1_LIMIT, Step.TUNNEL,
                                                       {"payload": maxseg})))
    verdict = size_verdict(finding, s.first.family)
    if s.reflector is None and verdict is not None and needs_shapes(verdict):
        # ClientHellos were the probes: a hello reader looks like a path MTU until the
        # same bytes in other shapes rule it out (or in).
        verdict, row = hellos.rule_out_content(
            _hello_target(s, up.wait), verdict, row, s.progress, family, stamps, PAYLOAD_HIGH,
            leg1_segment, s.shapes.result() if s.shapes is not None else ())
    run.legs.append(row)
    run.add(verdict)
    if up.result.largest_ok is None:
        run.unmeasured.append(_nothing_answered_up(up, low, s.reflector))
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
    run.legs.append(post_leg(str(s.target), posts, timeout))
    if not any(p.sent for p in posts):
        run.not_measured(UnmeasuredReason.POSTS_INCOMPLETE, target=str(s.target))
        return False
    verdict = post_verdict(posts, timeout)
    run.add(verdict)
    if verdict is None:
        s.up_evidence = post_evidence(posts, timeout)
    return any(p.answered for p in posts)


def _nothing_answered_up(up: SearchOutcome, low: int, reflector: HostPort | None
                         ) -> Unmeasured:
    """Why leg 2 up has no size (typed; ``render.unmeasured`` says what to try)."""
    far = str(reflector) if reflector is not None else None
    if up.result.probes == 0:
        return Unmeasured(Step.TUNNEL, UnmeasuredReason.NO_SIZED_WRITE, target=far)
    return Unmeasured(Step.TUNNEL, UnmeasuredReason.NO_ANSWER_UP, target=far,
                      method="reflector" if reflector is not None else "hello", size=low,
                      non_tls=Outcome.GARBAGE in up.failures.values())


@dataclass(frozen=True)
class _RangeSizing:
    """Leg 2 down sized with ranged plain-HTTP answers (no reflector): the object's URL,
    and the search, or why there is none."""

    url: str
    total: int | None = None
    sized: SearchOutcome | None = None
    why: RangeUnmeasured | None = None
    values: dict[str, Number] = field(default_factory=dict)
    crossed: int | None = None     # the largest answer that came whole, trusted or not


@dataclass(frozen=True)
class _DownProbes:
    """What the down direction's probes brought back."""

    sized: SearchOutcome | None            # the reflector's sized replies
    download: Download | ConnectError      # one large answer over TLS
    ranged: _RangeSizing | None = None     # ranged plain-HTTP answers (without a reflector)


def _down_probes(s: _Session) -> _DownProbes:
    """The down direction's probes: sized replies (reflector), or ranged plain-HTTP answers
    beside it, and one large answer."""
    sized = None
    if s.reflector is not None:
        far, far_auth = s.far, s.far_auth()

        def probe(n: int, t: float) -> SizedProbe:
            return io.probe_reflector_down(s.proxy, far, far_auth, n, s.token, t, DOWN_MAXSEG,
                                           s.tls_name)
        sized = _search(probe, DOWN_LOW, PAYLOAD_HIGH, s.progress, "leg 2 down",
                        s.round1_timeout())
        if sized.broken is not None:
            return _DownProbes(sized, sized.broken)
        return _DownProbes(sized, _download(s))
    # No reflector: the ranged answers only sharpen a down-direction finding. They start
    # when the large answer showed trouble, or had not come whole within RANGED_GRACE_S (then
    # their waits overlap the download's); when it came whole they are not waited for (a
    # filtered port 80 must not slow a healthy run): the daemon thread stops at its next
    # round, or is left behind at exit.
    stop, settled = threading.Event(), threading.Event()
    box: list[_RangeSizing | BaseException] = []

    def ranged() -> None:
        settled.wait(RANGED_GRACE_S)
        if stop.is_set():
            return
        try:
            box.append(_range_probes(s, stop))
        except BaseException as e:   # re-raised in the caller's thread, when it waits
            box.append(e)
    worker = threading.Thread(target=ranged, name="pathprobe-ranged", daemon=True)
    worker.start()
    d = _download(s)
    if not isinstance(d, Download) or not (d.stalled or answer_too_small(d)):
        stop.set()
        settled.set()
        return _DownProbes(None, d)
    settled.set()
    worker.join()   # bounded by the ranged answers' own waits and the search's budget
    found = box[0] if box else None
    if isinstance(found, BaseException):
        raise found
    return _DownProbes(None, d, found)


def _download(s: _Session) -> Download | ConnectError:
    s.progress("leg 2 down: reading a large answer through the tunnel")
    return io.download_over_tls(s.proxy, s.target, s.auth, s.host, "/",
                                IDLE_WAIT.wait(s.first.established_s), DOWNLOAD_LIMIT,
                                DOWN_MAXSEG)


def _range_probes(s: _Session, stop: threading.Event) -> _RangeSizing:
    """Bisect the size of ranged plain-HTTP answers from the target host's port 80 through
    the proxy (``GET http://host/`` as the FMC sends it); first one byte, which says whether
    the proxy forwards plain HTTP, the upstream honours Range and how large the object is."""
    host = s.host
    url = absolute_url(host, RANGE_PORT, RANGE_PATH)

    def progress(line: str) -> None:   # silent once not needed: the report may be printing
        if not stop.is_set():
            s.progress(line)
    progress(f"leg 2 down: ranged GET {url} through the proxy")
    first = range_get(s.proxy, s.auth, host, RANGE_PORT, 0, 0,
                      IDLE_WAIT.wait(s.first.established_s), DOWN_MAXSEG, RANGE_PATH)
    total, why, values = judge_discovery(first, PAYLOAD_HIGH)
    if why is not None or total is None:
        return _RangeSizing(url, why=why, values=values)
    assert not isinstance(first, ConnectError)

    def probe(n: int, t: float) -> SizedProbe:
        if stop.is_set():   # not needed any more: ends the search like a broken tunnel
            return to_sized(ConnectError(ConnectFailure.NO_RESPONSE, "not needed"), n)
        return to_sized(range_get(s.proxy, s.auth, host, RANGE_PORT, 0, n - 1, t, DOWN_MAXSEG,
                                  RANGE_PATH), n)
    # The one-byte answer crossed both legs: its time sets the first round's wait, as an
    # answered probe's does for the rounds after it.
    sized = _search(probe, DOWN_LOW, PAYLOAD_HIGH, progress, "leg 2 down (ranged GET)",
                    TUNNEL_WAIT.wait(first.elapsed_s))
    if sized.broken is not None:
        return _RangeSizing(url, total, why=RangeUnmeasured.NO_ANSWER,
                            values={"detail": sized.broken.detail})
    r = sized.result
    crossed = max([*r.retracted, r.largest_ok or 0]) or None
    if r.retracted:   # our leg-1 MSS is small: nothing else explains a larger answer coming
        return _RangeSizing(url, total, why=RangeUnmeasured.NOT_BY_SIZE, crossed=crossed,
                            values={"sizes": ", ".join(map(str, r.retracted)),
                                    "bad": r.smallest_bad})
    if r.largest_ok is None:
        return _RangeSizing(url, total, why=RangeUnmeasured.LOW_FAILS,
                            values={"low": DOWN_LOW})
    return _RangeSizing(url, total, sized, crossed=crossed)


def _judge_down(s: _Session, run: _Run, probes: _DownProbes, answered_up: bool) -> None:
    """Verdicts and rows for the down direction from its probes' results."""
    sized, d = probes.sized, probes.download
    if sized is not None:
        if sized.broken is not None:
            raise _Broken(sized.broken)
        answered_up = answered_up or sized.result.largest_ok is not None
        family, stamps = s.shape()
        finding = SizeFinding(Direction.DOWN, sized.result, PAYLOAD_HIGH, sized.failures,
                              f"reflector {s.reflector} (sized replies)", family, stamps)
        run.legs.append(size_leg(str(s.far), finding, None))
        run.add(size_verdict(finding))
    if isinstance(d, ConnectError):
        raise _Broken(d)
    if s.proxy_may_terminate and d.head is not None and proxy_refusal(d.head):
        raise _Broken.refused_inside_tls(d.head)
    ranged_sized = probes.ranged is not None and probes.ranged.sized is not None
    if answer_too_small(d) and s.reflector is None and not ranged_sized:
        run.not_measured(UnmeasuredReason.ANSWER_TOO_SMALL, target=str(s.target))
    row = download_leg(str(s.target), d)
    if s.proxy_may_terminate:
        row = replace(row, notes=(*row.notes, Evidence(InterceptionFact.DECRYPTED_DOWNLOAD,
                                                       Step.TUNNEL)))
    unsized = _judge_ranged(s, run, probes.ranged)
    if unsized is not None:
        row = replace(row, notes=(*row.notes, unsized))
    run.legs.append(row)
    dv = download_verdict(d, "GET / over TLS", answered_up)
    if dv is not None and unsized is not None and dv.direction is Direction.DOWN:
        dv = replace(dv, evidence=(*dv.evidence, unsized))   # why it is not sized better
    crossed = probes.ranged.crossed if probes.ranged is not None else None
    if dv is not None and dv.code is VerdictCode.PMTU_BLACKHOLE and crossed is not None \
            and crossed >= PAYLOAD_HIGH:
        dv = not_a_size(dv, crossed)   # full-size answers came down: never blame the size
    if dv is not None and dv.direction is None:
        run.not_measured(UnmeasuredReason.FAR_END_SILENT, target=str(s.target))
    if dv is not None and not has_down_size_verdict(run.verdicts):
        run.verdicts.append(dv)
    elif dv is not None and probes.ranged is not None:
        _add_download_evidence(run, dv)


def _judge_ranged(s: _Session, run: _Run, ranged: _RangeSizing | None) -> Evidence | None:
    """The ranged answers' row and size verdict; the note saying why they sized nothing
    (None when they did, or were not tried)."""
    if ranged is None:
        return None
    if ranged.sized is None:
        assert ranged.why is not None
        return not_possible(ranged.why, ranged.url, ranged.values)
    family, stamps = s.shape()
    method = f"ranged GET {ranged.url}"
    finding = SizeFinding(Direction.DOWN, lower_bound(ranged.sized.result), PAYLOAD_HIGH,
                          ranged.sized.failures, method, family, stamps)
    row = size_leg(ranged.url, finding, None)
    verdict = size_verdict(finding)
    run.legs.append(replace(row, notes=(*row.notes, Evidence(
        RangeFact.OBJECT, Step.TUNNEL, {"url": ranged.url, "total": ranged.total}))))
    if verdict is not None:
        run.add(range_verdict(verdict, ranged.url, ranged.total or 0))
    return None


def _add_download_evidence(run: _Run, dv: Verdict) -> None:
    """The ranged answers sized the down direction; the stalled download saw the same fault:
    its stall (facts and numbers) joins that one verdict."""
    for i, v in enumerate(run.verdicts):
        if v.direction is Direction.DOWN and v.code is dv.code:
            stall = tuple(e for e in dv.evidence if e.fact is TunnelFact.DOWNLOAD_STALLED)
            numbers = {k: n for k, n in dv.numbers.items() if k not in v.numbers}
            run.verdicts[i] = replace(v, evidence=(*v.evidence, *stall),
                                      numbers={**v.numbers, **numbers})
            return
