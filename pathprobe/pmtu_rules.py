"""`pmtu`'s rules: which method, what a search's numbers mean, which verdict. Pure.

No sockets, no clock, no resolver: each function takes what the probes measured
(``SearchRun``, ``DirectionCheck``, traces) and returns typed verdicts and
evidence, so every rule is unit-tested on plain values. ``pmtu`` wires them to
``probes.l3``, ``probes.l3_tcp`` and ``probes.down``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from pathprobe.errors import NotMeasuredError, PermissionNeeded, UsageError
from pathprobe.facts.pmtu import PmtuFact, ProbeKind
from pathprobe.model import (
    Attempt,
    Basis,
    Confidence,
    Direction,
    Evidence,
    Leg,
    Limit,
    Measurement,
    Number,
    Progress,
    RouteInfo,
    Step,
    Unmeasured,
    UnmeasuredReason,
    Verdict,
    VerdictCode,
    no_progress,
)
from pathprobe.records import PmtuNumbers
from pathprobe.search import SearchResult, search_evidence
from pathprobe.serialize import pmtu_numbers

METHODS = ("auto", "icmp", "udp", "tcp", "syn")

NEEDS_PORT = {
    "tcp": "--method tcp needs --port: a TCP port open on the target (e.g. the proxy port)",
    "syn": "--method syn needs --port: a TCP port on the target (open or closed, as long as "
           "the target answers SYNs)",
}

MIN_LOW = {4: 576, 6: 1280}  # sizes every path must carry (RFC 791 / RFC 8200)

DEFAULT_HIGH = 1500

MAX_IP_SIZE = 65535          # IPv4 total length / IPv6 without jumbograms (lo has 65536)

MAX_TTL = 16                 # TTL-limited probes that locate the hop


def pmtu_ev(fact: PmtuFact, **values: Number) -> Evidence:
    """One pmtu evidence item (the values are the template's fields)."""
    return Evidence(fact, Step.PMTU, values)


@dataclass(frozen=True)
class MethodFailure:
    """One method tried without an answer: why, and the probe's own message for people."""

    method: str
    why: UnmeasuredReason
    message: str = ""
    result: SearchResult | None = None   # the search, when one ran (SILENT)

    def attempt(self) -> Attempt:
        search = (search_evidence(self.result, Step.PMTU, self.method)
                  if self.result is not None else None)
        return Attempt(self.method, search, self.message)

    def evidence(self) -> Evidence:
        if self.result is not None:
            return pmtu_ev(PmtuFact.NOT_USED,
                       **search_evidence(self.result, Step.PMTU, self.method).values)
        return pmtu_ev(PmtuFact.NOT_USED, method=self.method, why=self.message)


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
        return pmtu_ev(PmtuFact.PROBE, probe=self.probe.value, port=self.port)


@dataclass(frozen=True)
class DirectionCheck:
    """Whether a+1 crosses upward (up-only method), after echo said min(up, down) = a."""

    method: str
    up_ok: bool | None        # None: the up-only method itself got no answer
    pmtu_up: int | None       # exact up PMTU when a search was run


def batch_for(method: str) -> int:
    # Port unreachable is rate-limited by the target (burst ~6): keep UDP rounds small.
    return 6 if method == "udp" else 24


def auto_order(port: int | None) -> list[str]:
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
            failures.append(MethodFailure(m, UnmeasuredReason.PERMISSION, str(e)))
            continue
        except NotMeasuredError as e:
            failures.append(MethodFailure(m, UnmeasuredReason.ERROR, str(e)))
            continue
        if run.result.largest_ok is not None or run.result.smallest_bad is not None:
            # low itself failing is an answer, not silence
            return run, tuple(failures)
        failures.append(MethodFailure(m, UnmeasuredReason.SILENT, result=run.result))
    return None, tuple(failures)


def not_measured(address: str, failures: Sequence[MethodFailure]) -> Measurement:
    """No method answered: why, typed (all needed privileges, or the target was silent)."""
    permission = bool(failures) and all(f.why is UnmeasuredReason.PERMISSION for f in failures)
    why = UnmeasuredReason.PERMISSION if permission else UnmeasuredReason.SILENT
    if len(failures) == 1 and failures[0].result is None:
        return Measurement(unmeasured=(Unmeasured(
            Step.PMTU, why if permission else failures[0].why, address,
            failures[0].method, cause=failures[0].message),))
    tried = tuple(f.attempt() for f in failures)
    return Measurement(unmeasured=(Unmeasured(Step.PMTU, why, address, tried=tried),))


def direction_from(run: SearchRun, check: DirectionCheck | None) -> tuple[
        Direction | None, int | None, int | None, list[Evidence]]:
    """(direction, pmtu_up, pmtu_down, evidence) from the main run and the up-only check."""
    pmtu = run.result.largest_ok
    if not run.measures_down:
        return Direction.UP, pmtu, None, [pmtu_ev(PmtuFact.UP_ONLY_METHOD, method=run.method)]
    if run.result.signalled and run.result.exact:
        return (Direction.UP, pmtu, None,
                [pmtu_ev(PmtuFact.TOO_BIG_ON_WAY_UP, bad=run.result.smallest_bad, mtu=pmtu)])
    if check is None or check.up_ok is None:
        return None, None, None, [pmtu_ev(PmtuFact.DIRECTION_UNKNOWN)]
    size = (pmtu or 0) + 1
    if check.up_ok:
        return (Direction.DOWN, check.pmtu_up, pmtu,
                [pmtu_ev(PmtuFact.LIMIT_DOWN, method=check.method, size=size, mtu=pmtu)])
    return (Direction.UP, pmtu, None,
            [pmtu_ev(PmtuFact.LIMIT_UP, method=check.method, size=size, mtu=pmtu)])


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
                [pmtu_ev(PmtuFact.LIMIT_UP, method=check.method, size=size, mtu=up_limit),
                 pmtu_ev(PmtuFact.DOWN_UNMEASURED, mtu=up_limit, port=port)])
    search_ev = pmtu_ev(PmtuFact.DOWN_SEARCH, port=port, ok=ok, bad=result.smallest_bad
                    if result.exact else None)
    if result.exact and ok == up_limit:
        return (Direction.BOTH, ok,
                [pmtu_ev(PmtuFact.LIMIT_BOTH, method=check.method, size=size), search_ev])
    return (Direction.UP, ok,
            [pmtu_ev(PmtuFact.LIMIT_UP_ONLY, method=check.method, size=size, down=ok), search_ev])


def verdicts_for(leg: Leg, run: SearchRun, route: RouteInfo, high: int,
                 direction: Direction | None, dir_evidence: Sequence[Evidence],
                 route_pmtu: int | None) -> tuple[tuple[Verdict, ...], tuple[Unmeasured, ...]]:
    """(verdicts, unmeasured): PMTU_REDUCED / PMTU_BLACKHOLE / HEALTHY with evidence and
    limits.

    ``high`` is the interface MTU capped at the largest IP packet (65535). No
    verdict (and an Unmeasured, so exit status 3) when nothing is proven either
    way: the bracket is open and no size above the answer was shown to fail.
    """
    r = run.result
    pmtu = r.largest_ok
    if pmtu is None:
        return (), (Unmeasured(Step.PMTU, UnmeasuredReason.NOTHING_DELIVERED,
                               method=run.method, size=r.low),)
    ceiling = run.ceiling if run.ceiling is not None else high
    evidence = [search_evidence(r, Step.PMTU, run.method),
                pmtu_ev(PmtuFact.SEARCH_TIME, probes=r.probes, rounds=r.rounds,
                    duration_s=round(r.duration_s, 3))]
    numbers = pmtu_numbers(PmtuNumbers(route.interface_mtu))
    if pmtu >= high and r.exact:
        evidence.insert(0, pmtu_ev(PmtuFact.INTERFACE_MTU_CROSSES, mtu=pmtu,
                               interface=route.interface))
        return (Verdict(VerdictCode.HEALTHY, leg, Direction.BOTH if run.measures_down
                        else Direction.UP, tuple(evidence), Confidence.MEASURED, numbers,
                        limit=Limit(mtu=pmtu), basis=Basis.THIS_LEG_ONLY),), ()
    if pmtu >= ceiling and r.exact:
        # The method itself cannot send more (TCP: peer MSS or a PMTU the kernel cached).
        if route_pmtu is not None and route_pmtu == ceiling and route_pmtu < high:
            numbers = pmtu_numbers(PmtuNumbers(route.interface_mtu, route_pmtu=route_pmtu))
            evidence.insert(0, pmtu_ev(PmtuFact.ROUTE_CACHE, route_pmtu=route_pmtu, mtu=pmtu))
            return (Verdict(VerdictCode.PMTU_REDUCED, leg, Direction.UP, tuple(evidence),
                            Confidence.INFERRED, numbers, limit=Limit(mtu=pmtu),
                            basis=Basis.THIS_LEG_ONLY),), ()
        return (), (Unmeasured(Step.PMTU, UnmeasuredReason.METHOD_CEILING, method=run.method,
                               size=ceiling, mtu=pmtu),)
    if r.smallest_bad is None:
        return (), (Unmeasured(Step.PMTU, UnmeasuredReason.LOWER_BOUND, method=run.method,
                               mtu=pmtu, tried=(Attempt(run.method, evidence[0]),)),)
    found = PmtuNumbers(route.interface_mtu, smallest_failing=r.smallest_bad)
    if not r.exact:
        evidence.append(pmtu_ev(PmtuFact.OPEN_BRACKET, mtu=pmtu))
    if r.signalled:
        found = replace(found, icmp_signalled=True, icmp_mtu=r.icmp_mtu)
        evidence.insert(0, pmtu_ev(PmtuFact.ICMP_TOO_BIG, mtu=pmtu, icmp_mtu=r.icmp_mtu))
        code = VerdictCode.PMTU_REDUCED
    else:
        evidence.insert(0, pmtu_ev(PmtuFact.VANISH, mtu=pmtu, bad=r.smallest_bad))
        code = VerdictCode.PMTU_BLACKHOLE
    evidence.extend(dir_evidence)
    confidence = Confidence.MEASURED if r.exact else Confidence.INFERRED
    return (Verdict(code, leg, direction, tuple(evidence), confidence, pmtu_numbers(found),
                    limit=Limit(mtu=pmtu, exact=r.exact), basis=Basis.THIS_LEG_ONLY),), ()


def check_arguments(method: str, max_probes: int, port: int | None) -> None:
    if method not in METHODS:
        raise UsageError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if not 1 <= max_probes <= 10000:
        raise UsageError("--max-probes must be between 1 and 10000")
    if port is not None and not 1 <= port <= 65535:
        raise UsageError(f"--port must be 1..65535, got {port}")
    if port is None and method in NEEDS_PORT:
        raise UsageError(NEEDS_PORT[method])


def hop_without_trace(run: SearchRun, direction: Direction | None = None
                      ) -> tuple[str | None, list[Evidence]] | None:
    """The hop where the MTU drops when no TTL search is needed (or none can help):
    no failing size, a limit on the way down, or the ICMP sender. None: trace."""
    r = run.result
    if r.largest_ok is None or r.smallest_bad is None:
        return None, [pmtu_ev(PmtuFact.HOPS_NO_FAILURE)]
    if direction is Direction.DOWN:
        return None, [pmtu_ev(PmtuFact.HOPS_DOWN)]
    if r.signalled and run.too_big_from:
        hop = run.too_big_from[0]
        return hop, [pmtu_ev(PmtuFact.HOPS_ICMP_SENDER, hop=hop, icmp_mtu=r.icmp_mtu)]
    return None


def hop_from_traces(small: dict[int, tuple[str, str]], large: dict[int, tuple[str, str]],
                    ok: int, bad: int, progress: Progress = no_progress) -> tuple[
                        str | None, list[Evidence]]:
    """The last hop that answers TTL-limited probes of the failing size (as scamper does)."""
    last_small = min((t for t in small if small[t][1] == "reply"), default=max(small, default=0))
    path = " ".join(f"{t}:{small[t][0]}" for t in sorted(small) if t <= last_small)
    progress(f"hops ({ok} bytes): {path or 'none answered'}")
    if not small:
        return None, [pmtu_ev(PmtuFact.HOPS_NONE_ANSWERED)]
    too_big = [t for t in sorted(large) if large[t][1] == "too-big"]
    if too_big:
        hop = large[too_big[0]][0]
        return hop, [pmtu_ev(PmtuFact.HOPS_TOO_BIG_AT, hop=hop, ttl=too_big[0], bad=bad)]
    reached = [t for t in sorted(large) if large[t][1] == "time-exceeded"]
    last = max(reached) if reached else 0
    if last == 0:
        first = small.get(1)
        return None, [pmtu_ev(PmtuFact.HOPS_DIE_FIRST, bad=bad,
                          first=first[0] if first else None)]
    nxt = small.get(last + 1)
    hop = large[last][0]
    return hop, [pmtu_ev(PmtuFact.HOPS_VANISH_AFTER, bad=bad, ok=ok, ttl=last, hop=hop,
                     next_ttl=last + 1, next_hop=nxt[0] if nxt else None)]

