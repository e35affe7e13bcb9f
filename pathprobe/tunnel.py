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
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from pathprobe import hellos
from pathprobe.errors import UsageError
from pathprobe.facts.hello import HelloProfile
from pathprobe.facts.tunnel import (
    ConnectError,
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
    LegSizes,
    Measurement,
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
from pathprobe.probes.tunnel import Tunnel
from pathprobe.proxyconf import config_findings
from pathprobe.search import search_evidence
from pathprobe.timeouts import POST_WAIT, TLS_CHECK_WAIT
from pathprobe.tunnel_down import down_probes, judge_down
from pathprobe.tunnel_rules import (
    DOWN_MAXSEG,
    PAYLOAD_HIGH,
    UP_LOW,
    SizeFinding,
    clamp_verdict,
    connect_verdict,
    healthy_verdict,
    size_leg,
    size_verdict,
)
from pathprobe.tunnel_session import (
    CONNECT_TIMEOUT_S,
    REFLECTOR_TOKEN_ENV,
    Broken,
    Run,
    SearchOutcome,
    Session,
    search_direction,
)
from pathprobe.wire import tls
from pathprobe.wire.hostport import HostPort
from pathprobe.wire.reflector_protocol import parse_hello


def parse_target(text: str) -> HostPort:
    """HOST:PORT (IPv6 as [addr]:port) for CONNECT; UsageError otherwise."""
    try:
        return HostPort.parse(text)
    except ValueError as e:
        raise UsageError(f"--target must be HOST:PORT (e.g. {DEFAULT_TARGET}): {e}") from None



def leg1_given(proxy: ProxyConfig, payload: int) -> Measurement:
    """What the user says leg 1 carries (--leg1-max-payload): a fact for the attribution,
    said as such, on the leg-1 row."""
    return Measurement(legs=(LegReport(
        Leg.FMC_PROXY, proxy.display, None, {"max_payload": payload},
        notes=(Evidence(TunnelFact.LEG1_GIVEN, Step.TUNNEL, {"payload": payload}),),
        step=Step.TUNNEL, sizes=LegSizes(max_payload=payload)),))


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
                        {"connect_status": first.status, "auth": first.auth_tried or auth.scheme},
                        notes=(source,), step=Step.TUNNEL)
        return Measurement((leg,), (fail,))
    first.sock.close()
    run = Run([_leg1_row(proxy, auth, first, source)])
    session = Session(proxy, target, credentials, auth, first, progress,
                       token if token is not None else os.environ.get(REFLECTOR_TOKEN_ENV),
                       leg1_payload, ca_file=ca_file)
    try:
        if reflector is not None:
            _greet_reflector(session, run, reflector, reflector_tls)
        _check_interception(session, run)
        _measure_with_hellos(session, run, directions, hello)
    except Broken as broken:
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
    # peer_mss: the proxy's MSS as our socket sees it, capped by any MSS we set ourselves
    # (not a measurement of the handshake: the mss step's mss_received is).
    return LegReport(Leg.FMC_PROXY, proxy.display, None, {
        "connect_status": 200, "auth": auth.scheme or "none",
        "connect_ms": round(first.connect_s * 1000, 1),
        "established_ms": round(first.established_s * 1000, 1),
        "peer_mss": first.peer_mss, "snd_mss": first.snd_mss,
    }, notes=(source,), step=Step.TUNNEL, ip_version=IpVersion(first.family))


def _greet_reflector(s: Session, run: Run, reflector: HostPort, use_tls: bool) -> None:
    """Ask the reflector how the proxy's SYN arrived; without a valid greeting the run
    goes on without it (an error says why)."""
    tls_name = reflector.host if use_tls else None
    raw = io.reflector_hello(s.proxy, reflector, s.auth.for_target(reflector),
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
        notes=(Evidence(TunnelFact.SYN_AS_ARRIVED, Step.TUNNEL),), step=Step.TUNNEL))
    run.add(clamp_verdict(hello, s.first.peer_mss, s.first.family))


# Handshakes the target completed (a certificate came): the check's time spans both legs.
_ANSWERED_CHECKS = (TlsOutcome.VERIFIED, TlsOutcome.VERIFIED_WITH_CA_FILE, TlsOutcome.UNVERIFIED)


def _check_interception(s: Session, run: Run) -> None:
    """One real handshake with the target through the proxy (bounded: a decrypting proxy
    stuck on leg 2 is not waited for): PROXY_TLS_INTERCEPTED, or a note on leg 1's row."""
    timeout = TLS_CHECK_WAIT.wait(s.first.established_s)
    s.progress(f"TLS to {s.host} through the proxy: is it decrypted? (at most {timeout:.1f} s)")
    check = tls_check.check_tls(s.proxy, s.target, s.auth, s.host, s.ca_file, timeout,
                                DOWN_MAXSEG)
    if isinstance(check, ConnectError):
        raise Broken(check)
    result = assess_tls(check, s.target)
    s.proxy_may_terminate, s.check_s = result.proxy_may_terminate, check.elapsed_s
    s.tls_stalled = check.outcome is TlsOutcome.STALLED
    if not s.proxy_may_terminate and check.outcome in _ANSWERED_CHECKS:
        s.answered_s = check.elapsed_s
    run.legs.append(tls_row(s.proxy.display, check, result))
    run.add(result.verdict)


def _hello_target(s: Session, timeout: float) -> hellos.HelloTarget:
    """The hellos go where the ClientHello probes go: the target, within leg 1's limit."""
    return hellos.HelloTarget(s.proxy, s.target, s.auth, s.host, s.leg1_payload, timeout)


def _measure_with_hellos(s: Session, run: Run, directions: Sequence[Direction],
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


def _hello_threshold(s: Session, run: Run, found: Verdict) -> None:
    """The sized writes went to the reflector, so no ClientHello size was searched: search
    one-record hellos between the classic one (answered) and the post-quantum one (lost)."""
    if found.hello is None:
        return
    low, high = found.hello.answered, found.hello.dropped_from
    if low is None or high is None or low >= high:
        return
    def probe(n: int, t: float) -> SizedProbe:
        return io.probe_client_hello(s.proxy, s.target, s.auth, n, s.host, t, s.leg1_payload)
    hello = search_direction(probe, low, high, s.progress, "ClientHello sizes", s.round1_timeout(),
                    s.first.snd_mss)
    r = hello.result
    i = run.verdicts.index(found)
    run.verdicts[i] = refine_threshold(found, r.largest_ok, r.smallest_bad, r.exact,
                                       search_evidence(r, Step.TUNNEL,
                                                       "one-record ClientHellos"))


def _measure_sizes(s: Session, run: Run, directions: Sequence[Direction]) -> None:
    """Up and down in the order their waits allow.

    Without a reflector the two directions share nothing (ClientHellos up, one GET
    down), so their waits overlap; a reflector's per-source connection limit keeps
    them in turn there.
    """
    up, down = Direction.UP in directions, Direction.DOWN in directions
    with ThreadPoolExecutor(max_workers=1) as background:
        pending = background.submit(down_probes, s) if up and down and not s.reflector else None
        answered_up = _measure_up(s, run) if up else False
        if down:
            probes = pending.result() if pending is not None else down_probes(s)
            judge_down(s, run, probes, answered_up)


def _measure_up(s: Session, run: Run) -> bool:
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
    up = search_direction(probe, low, PAYLOAD_HIGH, s.progress, "leg 2 up", s.round1_timeout(),
                 leg1_segment)
    if up.broken is not None:
        raise Broken(up.broken)
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


def _measure_up_posts(s: Session, run: Run) -> bool:
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
        raise Broken(posts)
    refusal = first_refusal(posts)
    if refusal is not None:
        raise Broken.refused_inside_tls(refusal)
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
                      non_tls=Outcome.GARBAGE in up.failures.values(),
                      echoed=Outcome.ECHOED in up.failures.values())




@dataclass(frozen=True)
class TunnelRun:
    """One ``pathprobe tunnel`` run, its arguments checked: what the command hands to the
    runner. Besides leg 2 measured it reports what the command line already says: a proxy
    setting the FMC cannot use (a finding of its own; the measurement goes on) and the
    leg-1 payload the user gives (``leg1_given``)."""

    proxy: ProxyConfig
    target: HostPort
    credentials: Credentials | None = None
    reflector: HostPort | None = None
    token: str | None = None
    reflector_tls: bool = False
    directions: tuple[Direction, ...] = (Direction.UP, Direction.DOWN)
    leg1_payload: int | None = None
    ca_file: str | None = None
    hello: HelloProfile = HelloProfile.BOTH

    def measure(self, progress: Progress) -> list[Measurement]:
        given = [config_findings(self.proxy)]
        if self.leg1_payload is not None:
            given.append(leg1_given(self.proxy, self.leg1_payload))
        return [*given, measure_tunnel(
            self.proxy, self.target, credentials=self.credentials, reflector=self.reflector,
            progress=progress, token=self.token, reflector_tls=self.reflector_tls,
            directions=self.directions, leg1_payload=self.leg1_payload, ca_file=self.ca_file,
            hello=self.hello)]
