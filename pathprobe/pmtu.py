"""`pmtu` orchestration: pick a probe method, drive the search, turn it into verdicts.

The decisions (which method, what the numbers mean, which verdict) live in
small pure functions (``verdicts_for``, ``direction_from``, ``hop_from_traces``)
that are unit tested; ``measure_pmtu`` wires them to the sockets of
``probes.l3``. "Could not measure" is a result (``Measurement.errors``), never
an exception; only bad arguments raise (``UsageError``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pathprobe.errors import NotMeasuredError, PermissionNeeded, UsageError
from pathprobe.facts.pmtu import PmtuFact, ProbeKind
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
from pathprobe.search import (
    ProbeOutcome,
    SearchResult,
    SizeSearch,
    drive,
    search_evidence,
)
from pathprobe.sysinfo import RouteInfo, Target, resolve, route_mtu, route_to
from pathprobe.timeouts import DOWN_WAIT

if TYPE_CHECKING:
    from pathprobe.probes.l3 import Prober

METHODS = ("auto", "icmp", "udp", "tcp", "syn")
NEEDS_PORT = {
    "tcp": "--method tcp needs --port: a TCP port open on the target (e.g. the proxy port)",
    "syn": "--method syn needs --port: a TCP port on the target (open or closed, as long as "
           "the target answers SYNs)",
}
TIME_BUDGET_S = 15.0        # a whole search never runs longer than this ...
UDP_TIME_BUDGET_S = 40.0    # ... except UDP, paced by the target's ICMP rate limit (1/s)
MIN_LOW = {4: 576, 6: 1280}  # sizes every path must carry (RFC 791 / RFC 8200)
DEFAULT_HIGH = 1500
MAX_IP_SIZE = 65535          # IPv4 total length / IPv6 without jumbograms (lo has 65536)

Clock = Callable[[], float]


def _ev(fact: PmtuFact, **values: Number) -> Evidence:
    return Evidence(fact, Step.PMTU, values)


@dataclass(frozen=True)
class MethodFailure:
    """One method tried without an answer: why, and the probe's own message for people."""

    method: str
    why: Unmeasured
    message: str = ""
    result: SearchResult | None = None   # the search, when one ran (SILENT)

    def evidence(self) -> Evidence:
        if self.result is not None:
            return _ev(PmtuFact.NOT_USED,
                       **search_evidence(self.result, Step.PMTU, self.method).values)
        return _ev(PmtuFact.NOT_USED, method=self.method, why=self.message)


@dataclass(frozen=True)
class SearchRun:
    """One search with one method."""

    method: str          # icmp | udp | tcp | syn
    probe: ProbeKind
    result: SearchResult
    measures_down: bool
    ceiling: int | None = None   # the largest size this method could send (TCP: peer MSS)
    too_big_from: tuple[str, ...] = ()   # routers that sent ICMP too-big
    port: int | None = None

    def probe_note(self) -> Evidence:
        return _ev(PmtuFact.PROBE, probe=self.probe.value, port=self.port)


@dataclass(frozen=True)
class DirectionCheck:
    """Whether a+1 crosses upward (up-only method), after echo said min(up, down) = a."""

    method: str
    up_ok: bool | None        # None: the up-only method itself got no answer
    pmtu_up: int | None       # exact up PMTU when a search was run


@dataclass
class _Probe:
    """A prober with the kind the report names (probes.l3 knows nothing of reports)."""

    prober: Prober
    kind: ProbeKind
    port: int | None = None


def run_search(probe: _Probe, low: int, high: int, *, max_probes: int, batch: int,
               progress: Progress, label: str, ceiling: int | None = None,
               clock: Clock = time.monotonic) -> SearchRun:
    """Drive SizeSearch with one prober (search.drive), within the probe and time budgets."""
    prober = probe.prober
    search = SizeSearch(low, high, max_probes=max_probes, batch=batch, parallel_retries=True,
                        max_rounds=30 if prober.method == "udp" else 12)

    def on_round(s: SizeSearch, sizes: list[int]) -> None:
        ok = s.largest_ok
        progress(f"{label} round {s.result().rounds}: {len(sizes)} probes "
                 f"{sizes[0]}..{sizes[-1]} bytes, largest delivered so far: "
                 f"{ok if ok is not None else 'none'}")

    budget = UDP_TIME_BUDGET_S if prober.method == "udp" else TIME_BUDGET_S
    result = drive(search, prober.probe, budget_s=budget, clock=clock, on_round=on_round)
    return SearchRun(prober.method, probe.kind, result, prober.measures_down,
                     ceiling if ceiling is not None else high,
                     tuple(sorted(prober.too_big_from)), probe.port)


def _make_prober(method: str, target: Target, port: int | None,
                 source: str | None = None) -> _Probe:
    from pathprobe.probes import l3

    if method == "icmp":
        try:
            return _Probe(l3.IcmpProber(target.address, target.family, raw=True),
                          ProbeKind.ICMP_RAW)
        except PermissionNeeded:
            return _Probe(l3.IcmpProber(target.address, target.family, raw=False),
                          ProbeKind.ICMP_PING)
    if method == "udp":
        return _Probe(l3.UdpProber(target.address, target.family), ProbeKind.UDP)
    if method not in NEEDS_PORT:
        raise UsageError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if port is None:
        raise UsageError(NEEDS_PORT[method])
    if method == "tcp":
        return _Probe(l3.TcpProber(target.address, target.family, port=port), ProbeKind.TCP,
                      port)
    return _Probe(l3.SynProber(target.address, target.family, port=port,
                               source=source or route_to(target).source), ProbeKind.SYN, port)


def _batch_for(method: str) -> int:
    # Port unreachable is rate-limited by the target (burst ~6): keep UDP rounds small.
    return 6 if method == "udp" else 24


def _search_with(method: str, target: Target, port: int | None, low: int, high: int,
                 max_probes: int, progress: Progress, clock: Clock) -> SearchRun:
    probe = _make_prober(method, target, port)
    try:
        # TCP cannot send a segment above the peer's MSS (or a PMTU the kernel cached).
        ceiling = min(high, probe.prober.max_size)
        return run_search(probe, min(low, ceiling), ceiling, max_probes=max_probes,
                          batch=_batch_for(method), progress=progress, label=method,
                          ceiling=ceiling, clock=clock)
    finally:
        probe.prober.close()


def _auto_order(port: int | None) -> list[str]:
    """ICMP first (both directions, fastest); TCP to a known-open port; SYNs (root); UDP."""
    return ["icmp", "tcp", "syn", "udp"] if port is not None else ["icmp", "udp"]


def first_answer(order: Sequence[str], search: Callable[[str], SearchRun]
                 ) -> tuple[SearchRun | None, tuple[MethodFailure, ...]]:
    """The first method whose search proves something (a delivery, or ``low`` failing),
    and why each method before it gave no answer."""
    failures: list[MethodFailure] = []
    for m in order:
        try:
            run = search(m)
        except PermissionNeeded as e:
            failures.append(MethodFailure(m, Unmeasured.PERMISSION, str(e)))
            continue
        except NotMeasuredError as e:
            failures.append(MethodFailure(m, Unmeasured.ERROR, str(e)))
            continue
        if run.result.largest_ok is not None or run.result.smallest_bad is not None:
            # low itself failing is an answer, not silence
            return run, tuple(failures)
        failures.append(MethodFailure(m, Unmeasured.SILENT, result=run.result))
    return None, tuple(failures)


def not_measured(address: str, failures: Sequence[MethodFailure]) -> Measurement:
    """No method answered: a result with errors (and the typed permission flag)."""
    from pathprobe.render.evidence import describe

    permission = bool(failures) and all(f.why is Unmeasured.PERMISSION for f in failures)
    why = Unmeasured.PERMISSION if permission else Unmeasured.SILENT
    if len(failures) == 1 and failures[0].result is None:
        return Measurement(errors=(failures[0].message,),
                           unmeasured=why if permission else failures[0].why)
    detail = "; ".join(describe(search_evidence(f.result, Step.PMTU, f.method))
                       if f.result is not None else f"{f.method}: {f.message}"
                       for f in failures) or "no method available"
    if permission:
        return Measurement(errors=(detail,), unmeasured=why)
    return Measurement(errors=(f"{address} answered no probe ({detail})",), unmeasured=why)


def check_direction(target: Target, port: int | None, echo_pmtu: int, high: int,
                    max_probes: int, progress: Progress,
                    clock: Clock = time.monotonic) -> DirectionCheck | None:
    """Echo measured min(up, down) = a; an up-only method tells whether a+1 goes up."""
    method = "tcp" if port is not None else "udp"
    try:
        probe = _make_prober(method, target, port)
    except (NotMeasuredError, OSError):
        return None
    try:
        if method == "tcp":
            high = min(high, probe.prober.max_size)
        if echo_pmtu >= high:
            return None
        a = echo_pmtu
        results = probe.prober.probe([a, a + 1, a + 1, a + 1])
        progress(f"direction check ({method}): " + ", ".join(
            f"{r.size} {r.outcome.value}" for r in results))
        delivered = [r.outcome is ProbeOutcome.DELIVERED for r in results]
        if not any(delivered):
            return DirectionCheck(method, None, None)
        if any(delivered[1:]):
            up = run_search(probe, a + 1, high, max_probes=max_probes,
                            batch=_batch_for(method), progress=progress, label=f"{method} up",
                            clock=clock)
            return DirectionCheck(method, True, up.result.largest_ok if up.result.exact
                                  else None)
        return DirectionCheck(method, False, a)
    except NotMeasuredError:
        return None
    finally:
        probe.prober.close()


def direction_from(run: SearchRun, check: DirectionCheck | None) -> tuple[
        Direction | None, int | None, int | None, list[Evidence]]:
    """(direction, pmtu_up, pmtu_down, evidence) from the main run and the up-only check."""
    pmtu = run.result.largest_ok
    if not run.measures_down:
        return Direction.UP, pmtu, None, [_ev(PmtuFact.UP_ONLY_METHOD, method=run.method)]
    if run.result.signalled and run.result.exact:
        return (Direction.UP, pmtu, None,
                [_ev(PmtuFact.TOO_BIG_ON_WAY_UP, bad=run.result.smallest_bad, mtu=pmtu)])
    if check is None or check.up_ok is None:
        return None, None, None, [_ev(PmtuFact.DIRECTION_UNKNOWN)]
    size = (pmtu or 0) + 1
    if check.up_ok:
        return (Direction.DOWN, check.pmtu_up, pmtu,
                [_ev(PmtuFact.LIMIT_DOWN, method=check.method, size=size, mtu=pmtu)])
    return (Direction.UP, pmtu, None,
            [_ev(PmtuFact.LIMIT_UP, method=check.method, size=size, mtu=pmtu)])




def measure_down(target: Target, port: int, floor: int, high: int, max_probes: int,
                 progress: Progress, clock: Clock = time.monotonic
                 ) -> tuple[SearchResult, int]:
    """Bisect the largest packet the way down carries, from ``floor`` (proven by echo)
    up to ``high``, with answers the peer sends under our advertised MSS. Returns the
    result and how many answers were too small to test their size."""
    from pathprobe.probes.down import DownOutcome, DownProber, probe_down
    from pathprobe.wire.http_get import get_request

    request = get_request(target.address)
    # One answer at the proven size first: how long an answer takes here sets the wait
    # for the rest (a lost answer costs a timeout per round, so keep it tight).
    t0 = clock()
    first = probe_down(target.family, (target.address, port), floor, request,
                       DOWN_WAIT.ceiling)
    took = clock() - t0
    timeout = DOWN_WAIT.wait(took) if first.outcome is DownOutcome.COMPLETE \
        else DOWN_WAIT.ceiling
    prober = DownProber(target.family, (target.address, port), request, timeout)
    # The way up stops at ``floor``: the way down most likely at the same size.
    search = SizeSearch(floor, high, max_probes=max_probes, batch=24, retries=2,
                        parallel_retries=True, max_rounds=8, first=(floor + 1,))

    def on_round(s: SizeSearch, sizes: list[int]) -> None:
        progress(f"down (advertised MSS) round {s.result().rounds}: {len(sizes)} probes "
                 f"{sizes[0]}..{sizes[-1]} bytes")

    return drive(search, prober.probe, budget_s=TIME_BUDGET_S, clock=clock,
                 on_round=on_round), prober.short


def down_direction(check: DirectionCheck, up_limit: int, high: int,
                   down: tuple[SearchResult, int], port: int
                   ) -> tuple[Direction, int | None, list[Evidence]]:
    """(direction, pmtu_down, evidence) once the way down was measured on its own: both
    when it stops at the up limit too, up when it carries more."""
    result, short = down
    size = up_limit + 1
    ok = result.largest_ok
    if ok is None or (short and result.smallest_bad is None and ok <= up_limit):
        return (Direction.UP, None,
                [_ev(PmtuFact.LIMIT_UP, method=check.method, size=size, mtu=up_limit),
                 _ev(PmtuFact.DOWN_UNMEASURED, mtu=up_limit, port=port)])
    search_ev = _ev(PmtuFact.DOWN_SEARCH, port=port, ok=ok, bad=result.smallest_bad
                    if result.exact else None)
    if result.exact and ok == up_limit:
        return (Direction.BOTH, ok,
                [_ev(PmtuFact.LIMIT_BOTH, method=check.method, size=size), search_ev])
    return (Direction.UP, ok,
            [_ev(PmtuFact.LIMIT_UP_ONLY, method=check.method, size=size, down=ok), search_ev])


def verdicts_for(leg: Leg, run: SearchRun, route: RouteInfo, high: int,
                 direction: Direction | None, dir_evidence: Sequence[Evidence],
                 route_pmtu: int | None) -> tuple[tuple[Verdict, ...], tuple[str, ...]]:
    """(verdicts, errors): PMTU_REDUCED / PMTU_BLACKHOLE / HEALTHY with evidence and limits.

    ``high`` is the interface MTU capped at the largest IP packet (65535). No
    verdict (and an error line, so exit status 3) when nothing is proven either
    way: the bracket is open and no size above the answer was shown to fail.
    """
    r = run.result
    pmtu = r.largest_ok
    if pmtu is None:
        return (), (f"{run.method}: nothing was delivered, not even {r.low} bytes",)
    ceiling = run.ceiling if run.ceiling is not None else high
    evidence = [search_evidence(r, Step.PMTU, run.method),
                _ev(PmtuFact.SEARCH_TIME, probes=r.probes, rounds=r.rounds,
                    duration_s=round(r.duration_s, 3))]
    numbers: dict[str, Number] = {"interface_mtu": route.interface_mtu}
    if pmtu >= high and r.exact:
        evidence.insert(0, _ev(PmtuFact.INTERFACE_MTU_CROSSES, mtu=pmtu,
                               interface=route.interface))
        return (Verdict(VerdictCode.HEALTHY, leg, Direction.BOTH if run.measures_down
                        else Direction.UP, tuple(evidence), Confidence.MEASURED, numbers,
                        limit=Limit(mtu=pmtu), basis=Basis.THIS_LEG_ONLY),), ()
    if pmtu >= ceiling and r.exact:
        # The method itself cannot send more (TCP: peer MSS or a PMTU the kernel cached).
        if route_pmtu is not None and route_pmtu == ceiling and route_pmtu < high:
            numbers["route_pmtu"] = route_pmtu
            evidence.insert(0, _ev(PmtuFact.ROUTE_CACHE, route_pmtu=route_pmtu, mtu=pmtu))
            return (Verdict(VerdictCode.PMTU_REDUCED, leg, Direction.UP, tuple(evidence),
                            Confidence.INFERRED, numbers, limit=Limit(mtu=pmtu),
                            basis=Basis.THIS_LEG_ONLY),), ()
        return (), (f"{run.method} can only send up to {ceiling} bytes here (the peer's MSS); "
                    f"{pmtu} crosses, larger sizes were not measured (ICMP probes as root "
                    "can send them)",)
    if r.smallest_bad is None:
        from pathprobe.render.evidence import describe

        return (), (f"{describe(evidence[0])}; {pmtu} bytes is only a lower bound (answers "
                    "were lost or rate-limited); rerun, or measure with another method",)
    numbers["smallest_failing"] = r.smallest_bad
    if not r.exact:
        evidence.append(_ev(PmtuFact.OPEN_BRACKET, mtu=pmtu))
    if r.signalled:
        numbers["icmp_mtu"] = r.icmp_mtu
        evidence.insert(0, _ev(PmtuFact.ICMP_TOO_BIG, mtu=pmtu, icmp_mtu=r.icmp_mtu))
        code = VerdictCode.PMTU_REDUCED
    else:
        evidence.insert(0, _ev(PmtuFact.VANISH, mtu=pmtu, bad=r.smallest_bad))
        code = VerdictCode.PMTU_BLACKHOLE
    evidence.extend(dir_evidence)
    confidence = Confidence.MEASURED if r.exact else Confidence.INFERRED
    return (Verdict(code, leg, direction, tuple(evidence), confidence, numbers,
                    limit=Limit(mtu=pmtu, exact=r.exact), basis=Basis.THIS_LEG_ONLY),), ()


def _check_arguments(method: str, max_probes: int, port: int | None) -> None:
    if method not in METHODS:
        raise UsageError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if not 1 <= max_probes <= 10000:
        raise UsageError("--max-probes must be between 1 and 10000")
    if port is not None and not 1 <= port <= 65535:
        raise UsageError(f"--port must be 1..65535, got {port}")
    if port is None and method in NEEDS_PORT:
        raise UsageError(NEEDS_PORT[method])


def measure_pmtu(host: str, *, leg: Leg, method: str = "auto", hops: bool = False,
                 max_probes: int = 100, port: int | None = None,
                 progress: Progress = no_progress, family: int | None = None,
                 check_dir: bool = True, clock: Clock = time.monotonic) -> Measurement:
    """Measure the path MTU to host. Bad arguments raise UsageError; anything that cannot
    be measured is a Measurement with ``errors`` (``unmeasured`` says why, e.g. when privileges
    were what was missing)."""
    _check_arguments(method, max_probes, port)
    t0 = clock()
    try:
        target = resolve(host, family)
        route = route_to(target)
    except NotMeasuredError as e:
        return Measurement(errors=(str(e),), unmeasured=Unmeasured.PERMISSION
                           if isinstance(e, PermissionNeeded) else Unmeasured.ERROR)
    high = min(route.interface_mtu or DEFAULT_HIGH, MAX_IP_SIZE)
    low = min(MIN_LOW[target.version], high)
    progress(f"probing {target.address} via {route.interface or '?'} (MTU {high}), "
             f"sizes {low}..{high}")

    order = _auto_order(port) if method == "auto" else [method]
    run, failures = first_answer(order, lambda m: _search_with(
        m, target, port, low, high, max_probes, progress, clock))
    if run is None or run.result.largest_ok is None:
        if run is not None:   # even the smallest size fails: say how
            failures = (*failures, MethodFailure(run.method, Unmeasured.SILENT,
                                                 result=run.result))
        return not_measured(target.address, failures)

    check = None
    signalled = run.result.signalled and run.result.exact
    if check_dir and method == "auto" and run.measures_down and not signalled \
            and run.result.largest_ok < high:
        check = check_direction(target, port, run.result.largest_ok, high, max_probes,
                                progress, clock)
    direction, pmtu_up, pmtu_down, dir_evidence = direction_from(run, check)
    if direction is Direction.UP and check is not None and check.up_ok is False \
            and port is not None:
        # Up stops at a; the way down carries at least a: measure it on its own.
        a = run.result.largest_ok
        down = measure_down(target, port, a, high, max_probes, progress, clock)
        direction, pmtu_down, dir_evidence = down_direction(check, a, high, down, port)
    cached = route_mtu(target)
    verdicts, errors = verdicts_for(leg, run, route, high, direction, dir_evidence, cached)

    measurements: dict[str, Number] = {
        "pmtu": run.result.largest_ok,
        "pmtu_method": run.method,
        "pmtu_exact": run.result.exact,
        "probes": run.result.probes,
        "rounds": run.result.rounds,
        "interface": route.interface,
        "interface_mtu": route.interface_mtu,
        "route_pmtu": cached,
    }
    if run.result.icmp_mtu is not None:
        measurements["icmp_mtu"] = run.result.icmp_mtu
    if pmtu_up is not None or pmtu_down is not None or direction is not None:
        measurements["pmtu_up"] = pmtu_up
        measurements["pmtu_down"] = pmtu_down
    notes = [run.probe_note(), _ev(PmtuFact.SOURCE, source=route.source),
             search_evidence(run.result, Step.PMTU, run.method)]
    notes.extend(f.evidence() for f in failures)
    if hops:
        hop, hop_notes = locate_hop(target, run, progress, direction)
        measurements["hop"] = hop
        notes.extend(hop_notes)
    measurements["duration_s"] = round(clock() - t0, 3)
    leg_report = LegReport(leg, target.address, direction, measurements, tuple(notes),
                           step=Step.PMTU)
    return Measurement(legs=(leg_report,), verdicts=verdicts, errors=errors)


MAX_TTL = 16


def locate_hop(target: Target, run: SearchRun, progress: Progress,
               direction: Direction | None = None) -> tuple[str | None, list[Evidence]]:
    """Name the hop where the MTU drops: the ICMP sender, or the end of a TTL search."""
    r = run.result
    if r.largest_ok is None or r.smallest_bad is None:
        return None, [_ev(PmtuFact.HOPS_NO_FAILURE)]
    if direction is Direction.DOWN:
        return None, [_ev(PmtuFact.HOPS_DOWN)]
    if r.signalled and run.too_big_from:
        hop = run.too_big_from[0]
        return hop, [_ev(PmtuFact.HOPS_ICMP_SENDER, hop=hop, icmp_mtu=r.icmp_mtu)]
    from pathprobe.probes import l3

    try:
        try:
            prober = l3.IcmpProber(target.address, target.family, raw=True)
        except PermissionNeeded:
            prober = l3.IcmpProber(target.address, target.family, raw=False)
    except PermissionNeeded:
        return None, [_ev(PmtuFact.HOPS_NEED_ICMP)]
    try:
        small = prober.trace(r.largest_ok, MAX_TTL)
        large = prober.trace(r.smallest_bad, MAX_TTL)
    finally:
        prober.close()
    return hop_from_traces(small, large, r.largest_ok, r.smallest_bad, progress)


def hop_from_traces(small: dict[int, tuple[str, str]], large: dict[int, tuple[str, str]],
                    ok: int, bad: int, progress: Progress = no_progress) -> tuple[
                        str | None, list[Evidence]]:
    """The last hop that answers TTL-limited probes of the failing size (as scamper does)."""
    last_small = min((t for t in small if small[t][1] == "reply"), default=max(small, default=0))
    path = " ".join(f"{t}:{small[t][0]}" for t in sorted(small) if t <= last_small)
    progress(f"hops ({ok} bytes): {path or 'none answered'}")
    if not small:
        return None, [_ev(PmtuFact.HOPS_NONE_ANSWERED)]
    too_big = [t for t in sorted(large) if large[t][1] == "too-big"]
    if too_big:
        hop = large[too_big[0]][0]
        return hop, [_ev(PmtuFact.HOPS_TOO_BIG_AT, hop=hop, ttl=too_big[0], bad=bad)]
    reached = [t for t in sorted(large) if large[t][1] == "time-exceeded"]
    last = max(reached) if reached else 0
    if last == 0:
        first = small.get(1)
        return None, [_ev(PmtuFact.HOPS_DIE_FIRST, bad=bad,
                          first=first[0] if first else None)]
    nxt = small.get(last + 1)
    hop = large[last][0]
    return hop, [_ev(PmtuFact.HOPS_VANISH_AFTER, bad=bad, ok=ok, ttl=last, hop=hop,
                     next_ttl=last + 1, next_hop=nxt[0] if nxt else None)]
