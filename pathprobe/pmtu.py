"""`pmtu` orchestration: pick a probe method, drive the search, hand the results to the rules.

The decisions live in ``pmtu_rules`` (pure, unit-tested); this module resolves
the target, asks the kernel for the route (``probes.kernel``), opens the probers
of ``probes.l3`` / ``probes.l3_tcp`` / ``probes.down`` and feeds what they measured to the rules.
"Could not measure" is a result (``Measurement.unmeasured``), never an
exception; only bad arguments raise (``UsageError``). ``make_probe`` is the
socket factory: tests pass a simulated path to drive the orchestration without
sockets.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pathprobe.errors import NotMeasuredError, PermissionNeeded, UsageError
from pathprobe.facts.pmtu import PmtuFact, ProbeKind
from pathprobe.model import (
    Direction,
    Evidence,
    Hop,
    Leg,
    LegReport,
    Measurement,
    Progress,
    Step,
    Target,
    Unmeasured,
    UnmeasuredReason,
    no_progress,
)
from pathprobe.pmtu_rules import (
    DEFAULT_HIGH,
    MAX_IP_SIZE,
    MAX_TTL,
    METHODS,
    MIN_LOW,
    NEEDS_PORT,
    DirectionCheck,
    MethodFailure,
    SearchRun,
    auto_order,
    batch_for,
    check_arguments,
    direction_from,
    down_direction,
    first_answer,
    hop_from_traces,
    hop_without_trace,
    not_measured,
    pmtu_ev,
    verdicts_for,
)
from pathprobe.probes.kernel import resolve, route_to, target_route_mtu
from pathprobe.records import PmtuResult
from pathprobe.search import ProbeOutcome, SearchResult, SizeSearch, drive, search_evidence
from pathprobe.serialize import pmtu_measurements
from pathprobe.timeouts import DOWN_WAIT

if TYPE_CHECKING:
    from pathprobe.probes.l3 import Prober

TIME_BUDGET_S = 15.0        # a whole search never runs longer than this ...

UDP_TIME_BUDGET_S = 40.0    # ... except UDP, paced by the target's ICMP rate limit (1/s)


Clock = Callable[[], float]


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
    from pathprobe.probes import l3_tcp

    if method == "tcp":
        return _Probe(l3_tcp.TcpProber(target.address, target.family, port=port),
                      ProbeKind.TCP, port)
    return _Probe(l3_tcp.SynProber(target.address, target.family, port=port,
                                   source=source or route_to(target).source),
                  ProbeKind.SYN, port)


# The socket factory: (method, target, port) -> an open prober. Tests pass a simulated path.
ProbeFactory = Callable[[str, Target, "int | None"], _Probe]


def _search_with(method: str, target: Target, port: int | None, low: int, high: int,
                 max_probes: int, progress: Progress, clock: Clock,
                 make_probe: ProbeFactory = _make_prober) -> SearchRun:
    probe = make_probe(method, target, port)
    try:
        # TCP cannot send a segment above the peer's MSS (or a PMTU the kernel cached).
        ceiling = min(high, probe.prober.max_size)
        return run_search(probe, min(low, ceiling), ceiling, max_probes=max_probes,
                          batch=batch_for(method), progress=progress, label=method,
                          ceiling=ceiling, clock=clock)
    finally:
        probe.prober.close()


def check_direction(target: Target, port: int | None, echo_pmtu: int, high: int,
                    max_probes: int, progress: Progress, clock: Clock = time.monotonic,
                    make_probe: ProbeFactory = _make_prober) -> DirectionCheck | None:
    """Echo measured min(up, down) = a; an up-only method tells whether a+1 goes up."""
    method = "tcp" if port is not None else "udp"
    try:
        probe = make_probe(method, target, port)
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
                            batch=batch_for(method), progress=progress, label=f"{method} up",
                            clock=clock)
            return DirectionCheck(method, True, up.result.largest_ok if up.result.exact
                                  else None)
        return DirectionCheck(method, False, a)
    except NotMeasuredError:
        return None
    finally:
        probe.prober.close()


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


def measure_pmtu(host: str, *, leg: Leg, method: str = "auto", hops: bool = False,
                 max_probes: int = 100, port: int | None = None,
                 progress: Progress = no_progress, family: int | None = None,
                 check_dir: bool = True, clock: Clock = time.monotonic,
                 make_probe: ProbeFactory = _make_prober) -> Measurement:
    """Measure the path MTU to host. Bad arguments raise UsageError; anything that cannot
    be measured is a Measurement whose typed ``unmeasured`` says what and why (e.g. that
    privileges were what was missing). ``make_probe`` is the socket factory."""
    check_arguments(method, max_probes, port)
    t0 = clock()
    try:
        target = resolve(host, family)
        route = route_to(target)
    except NotMeasuredError as e:
        why = (UnmeasuredReason.PERMISSION if isinstance(e, PermissionNeeded)
               else UnmeasuredReason.ERROR)
        return Measurement(unmeasured=(Unmeasured(Step.PMTU, why, host, cause=str(e)),))
    high = min(route.interface_mtu or DEFAULT_HIGH, MAX_IP_SIZE)
    low = min(MIN_LOW[target.version], high)
    progress(f"probing {target.address} via {route.interface or '?'} (MTU {high}), "
             f"sizes {low}..{high}")

    order = auto_order(port) if method == "auto" else [method]
    run, failures = first_answer(order, lambda m: _search_with(
        m, target, port, low, high, max_probes, progress, clock, make_probe))
    if run is None or run.result.largest_ok is None:
        if run is not None:   # even the smallest size fails: say how
            failures = (*failures, MethodFailure(run.method, UnmeasuredReason.SILENT,
                                                 result=run.result))
        return not_measured(target.address, failures)

    check = None
    signalled = run.result.signalled and run.result.exact
    if check_dir and method == "auto" and run.measures_down and not signalled \
            and run.result.largest_ok < high:
        check = check_direction(target, port, run.result.largest_ok, high, max_probes,
                                progress, clock, make_probe)
    direction, pmtu_up, pmtu_down, dir_evidence = direction_from(run, check)
    if direction is Direction.UP and check is not None and check.up_ok is False \
            and port is not None:
        # Up stops at a; the way down carries at least a: measure it on its own.
        a = run.result.largest_ok
        down = measure_down(target, port, a, high, max_probes, progress, clock)
        direction, pmtu_down, dir_evidence = down_direction(check, a, high, down, port)
    cached = target_route_mtu(target)
    verdicts, unmeasured = verdicts_for(leg, run, route, high, direction, dir_evidence, cached)

    notes = [run.probe_note(), pmtu_ev(PmtuFact.SOURCE, source=route.source),
             search_evidence(run.result, Step.PMTU, run.method)]
    notes.extend(f.evidence() for f in failures)
    hop: Hop | None = None
    if hops:
        address, hop_notes = locate_hop(target, run, progress, direction)
        hop = Hop(address) if address is not None else None
        notes.extend(hop_notes)
    result = PmtuResult(
        mtu=run.result.largest_ok, method=run.method, exact=run.result.exact,
        probes=run.result.probes, rounds=run.result.rounds, interface=route.interface,
        interface_mtu=route.interface_mtu, route_pmtu=cached, icmp_mtu=run.result.icmp_mtu,
        direction_known=pmtu_up is not None or pmtu_down is not None or direction is not None,
        mtu_up=pmtu_up, mtu_down=pmtu_down, hops_searched=hops, hop=hop,
        duration_s=round(clock() - t0, 3))
    leg_report = LegReport(leg, target.address, direction, pmtu_measurements(result),
                           tuple(notes), step=Step.PMTU, ip_version=target.version,
                           sizes=result.sizes())
    return Measurement(legs=(leg_report,), verdicts=verdicts, unmeasured=unmeasured)


def locate_hop(target: Target, run: SearchRun, progress: Progress,
               direction: Direction | None = None) -> tuple[str | None, list[Evidence]]:
    """Name the hop where the MTU drops: the ICMP sender, or the end of a TTL search."""
    known = hop_without_trace(run, direction)
    if known is not None:
        return known
    r = run.result
    ok, bad = r.largest_ok, r.smallest_bad
    if ok is None or bad is None:   # hop_without_trace answered these
        return None, []
    from pathprobe.probes import l3

    try:
        try:
            prober = l3.IcmpProber(target.address, target.family, raw=True)
        except PermissionNeeded:
            prober = l3.IcmpProber(target.address, target.family, raw=False)
    except PermissionNeeded:
        return None, [pmtu_ev(PmtuFact.HOPS_NEED_ICMP)]
    try:
        small = prober.trace(ok, MAX_TTL)
        large = prober.trace(bad, MAX_TTL)
    finally:
        prober.close()
    return hop_from_traces(small, large, ok, bad, progress)

