"""`pmtu` orchestration: pick a probe method, drive the search, turn it into verdicts.

The decisions (which method, what the numbers mean, which verdict) live in
small pure functions (``verdicts_for``, ``direction_from``) that are unit
tested; ``measure_pmtu`` wires them to the sockets of ``probes.l3``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pathprobe.errors import NotMeasuredError, PermissionNeeded, UsageError
from pathprobe.model import (
    Confidence,
    Direction,
    LegReport,
    Measurement,
    Number,
    Progress,
    Verdict,
    VerdictCode,
    no_progress,
)
from pathprobe.search import SearchResult, SizeSearch
from pathprobe.sysinfo import RouteInfo, Target, resolve, route_mtu, route_to

if TYPE_CHECKING:
    from pathprobe.probes.l3 import Prober

METHODS = ("auto", "icmp", "udp", "tcp", "syn")
TIME_BUDGET_S = 15.0        # a whole search never runs longer than this ...
UDP_TIME_BUDGET_S = 40.0    # ... except UDP, paced by the target's ICMP rate limit (1/s)
MIN_LOW = {4: 576, 6: 1280}  # sizes every path must carry (RFC 791 / RFC 8200)
DEFAULT_HIGH = 1500
MAX_IP_SIZE = 65535          # IPv4 total length / IPv6 without jumbograms (lo has 65536)


@dataclass(frozen=True)
class SearchRun:
    """One search with one method."""

    method: str          # icmp | udp | tcp
    detail: str          # e.g. "raw ICMP socket"
    result: SearchResult
    duration_s: float
    measures_down: bool
    timed_out: bool = False
    ceiling: int | None = None   # the largest size this method could send (TCP: peer MSS)
    too_big_from: tuple[str, ...] = ()   # routers that sent ICMP too-big


@dataclass(frozen=True)
class DirectionCheck:
    """Whether a+1 crosses upward (up-only method), after echo said min(up, down) = a."""

    method: str
    up_ok: bool | None        # None: the up-only method itself got no answer
    pmtu_up: int | None       # exact up PMTU when a search was run


def run_search(prober: Prober, low: int, high: int, *, max_probes: int, batch: int,
               progress: Progress, label: str, ceiling: int | None = None) -> SearchRun:
    """Drive SizeSearch with one prober, within the probe budget and TIME_BUDGET_S."""
    search = SizeSearch(low, high, max_probes=max_probes, batch=batch, parallel_retries=True,
                        max_rounds=30 if prober.method == "udp" else 12)
    t0 = time.monotonic()
    timed_out = False
    budget = UDP_TIME_BUDGET_S if prober.method == "udp" else TIME_BUDGET_S
    while sizes := search.next_batch():
        if time.monotonic() - t0 > budget:
            timed_out = True
            break
        results = prober.probe(sizes)
        search.feed(results)
        ok = search.largest_ok
        progress(f"{label} round {search.result().rounds}: {len(sizes)} probes "
                 f"{sizes[0]}..{sizes[-1]} bytes, largest delivered so far: "
                 f"{ok if ok is not None else 'none'}")
    result = search.result()
    if timed_out:
        result = SearchResult(result.largest_ok, result.smallest_bad, False, result.icmp_mtu,
                              result.signalled, result.probes, result.rounds,
                              f"time budget ({budget:.0f} s) spent: "
                              f"{result.largest_ok} is the proven lower bound")
    return SearchRun(prober.method, prober.detail or prober.method, result,
                     time.monotonic() - t0, prober.measures_down, timed_out,
                     ceiling if ceiling is not None else high, tuple(sorted(prober.too_big_from)))


def _make_prober(method: str, target: Target, port: int | None,
                 source: str | None = None) -> Prober:
    from pathprobe.probes import l3

    prober: l3.Prober
    if method == "icmp":
        try:
            prober = l3.IcmpProber(target.address, target.family, raw=True)
            prober_detail = "raw ICMP echo socket"
        except PermissionNeeded:
            prober = l3.IcmpProber(target.address, target.family, raw=False)
            prober_detail = "unprivileged ICMP ping socket"
    elif method == "udp":
        prober = l3.UdpProber(target.address, target.family)
        prober_detail = "UDP to closed port 33434 (IP_RECVERR)"
    elif method == "tcp":
        if port is None:
            raise UsageError("--method tcp needs --port: a TCP port open on the target "
                             "(e.g. the proxy port)")
        prober = l3.TcpProber(target.address, target.family, port=port)
        prober_detail = f"TCP segments to open port {port}"
    elif method == "syn":
        if port is None:
            raise UsageError("--method syn needs --port: a TCP port on the target (open or "
                             "closed, as long as the target answers SYNs)")
        prober = l3.SynProber(target.address, target.family, port=port,
                              source=source or route_to(target).source)
        prober_detail = f"scapy-crafted SYNs with payload to port {port}"
    else:
        raise UsageError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    prober.detail = prober_detail
    return prober


def _batch_for(method: str) -> int:
    # Port unreachable is rate-limited by the target (burst ~6): keep UDP rounds small.
    return 6 if method == "udp" else 24


def _search_with(method: str, target: Target, port: int | None, low: int, high: int,
                 max_probes: int, progress: Progress) -> SearchRun:
    prober = _make_prober(method, target, port)
    try:
        # TCP cannot send a segment above the peer's MSS (or a PMTU the kernel cached).
        ceiling = min(high, prober.max_size)
        return run_search(prober, min(low, ceiling), ceiling, max_probes=max_probes,
                          batch=_batch_for(method), progress=progress, label=method,
                          ceiling=ceiling)
    finally:
        prober.close()


def _auto_order(port: int | None) -> list[str]:
    """ICMP first (both directions, fastest); TCP to a known-open port; SYNs (root); UDP."""
    return ["icmp", "tcp", "syn", "udp"] if port is not None else ["icmp", "udp"]


def check_direction(target: Target, port: int | None, echo_pmtu: int, high: int,
                    max_probes: int, progress: Progress) -> DirectionCheck | None:
    """Echo measured min(up, down) = a; an up-only method tells whether a+1 goes up."""
    method = "tcp" if port is not None else "udp"
    try:
        prober = _make_prober(method, target, port)
    except (NotMeasuredError, OSError):
        return None
    try:
        if method == "tcp":
            high = min(high, prober.max_size)
        if echo_pmtu >= high:
            return None
        a = echo_pmtu
        results = prober.probe([a, a + 1, a + 1, a + 1])
        progress(f"direction check ({method}): " + ", ".join(
            f"{r.size} {r.outcome.value}" for r in results))
        if results[0].outcome.value != "delivered" and not any(
                r.outcome.value == "delivered" for r in results[1:]):
            return DirectionCheck(method, None, None)
        if any(r.outcome.value == "delivered" for r in results[1:]):
            up = run_search(prober, a + 1, high, max_probes=max_probes,
                            batch=_batch_for(method), progress=progress, label=f"{method} up")
            return DirectionCheck(method, True, up.result.largest_ok if up.result.exact
                                  else None)
        return DirectionCheck(method, False, a)
    finally:
        prober.close()


def direction_from(run: SearchRun, check: DirectionCheck | None) -> tuple[
        Direction | None, int | None, int | None, list[str]]:
    """(direction, pmtu_up, pmtu_down, evidence) from the main run and the up-only check."""
    pmtu = run.result.largest_ok
    if not run.measures_down:
        return (Direction.UP, pmtu, None,
                [f"{run.method} probes measure the up direction only (replies are small); "
                 "the down direction was not measured"])
    if run.result.signalled and run.result.exact:
        return (Direction.UP, pmtu, None,
                [f"the ICMP too-big answered our {run.result.smallest_bad}-byte requests on "
                 f"the way up; down carries at least {pmtu}"])
    if check is None or check.up_ok is None:
        return (None, None, None,
                ["ICMP echo replies are as large as the requests: the answer is "
                 "min(up, down); no up-only method answered to tell the direction"])
    if check.up_ok:
        return (Direction.DOWN, check.pmtu_up, pmtu,
                [f"{check.method} probes of {(pmtu or 0) + 1} bytes cross upward "
                 f"but echo replies above {pmtu} bytes never come back: the limit is "
                 "on the way down"])
    return (Direction.UP, pmtu, None,
            [f"{check.method} probes of {(pmtu or 0) + 1} bytes do not cross "
             f"upward either: the limit is on the way up (down carries at least {pmtu}; "
             "more is not measurable from this end)"])


def verdicts_for(leg: str, run: SearchRun, route: RouteInfo, high: int,
                 direction: Direction | None, dir_evidence: list[str],
                 route_pmtu: int | None) -> tuple[tuple[Verdict, ...], tuple[str, ...]]:
    """(verdicts, errors): PMTU_REDUCED / PMTU_BLACKHOLE / HEALTHY with evidence and numbers.

    No verdict (and an error line, so exit status 3) when nothing is proven either
    way: the bracket is open and no size above the answer was shown to fail.
    """
    r = run.result
    pmtu = r.largest_ok
    assert pmtu is not None
    iface = route.interface or "?"
    ceiling = run.ceiling if run.ceiling is not None else high
    evidence = [f"{run.method} ({run.detail}): {r.reason}",
                f"{r.probes} probes in {r.rounds} rounds, {run.duration_s:.2f} s"]
    numbers: dict[str, Number] = {"mtu": pmtu, "interface_mtu": route.interface_mtu}
    confidence = Confidence.MEASURED if r.exact else Confidence.INFERRED
    if pmtu >= high and r.exact:
        evidence.insert(0, f"probes of {pmtu} bytes (the MTU of {iface}) cross the path")
        return (Verdict(VerdictCode.HEALTHY, leg, Direction.BOTH if run.measures_down
                        else Direction.UP, tuple(evidence), Confidence.MEASURED, numbers),), ()
    if pmtu >= ceiling and r.exact:
        # The method itself cannot send more (TCP: peer MSS or a PMTU the kernel cached).
        if route_pmtu is not None and route_pmtu == ceiling:
            numbers["route_pmtu"] = route_pmtu
            evidence.insert(0, f"the kernel's route cache holds PMTU {route_pmtu} for this "
                            f"target (learned from ICMP) and {pmtu}-byte probes cross")
            return (Verdict(VerdictCode.PMTU_REDUCED, leg, Direction.UP, tuple(evidence),
                            Confidence.INFERRED, numbers),), ()
        return (), (f"{run.method} can only send up to {ceiling} bytes here (the peer's MSS); "
                    f"{pmtu} crosses, larger sizes were not measured: use --method icmp as "
                    "root",)
    if r.smallest_bad is None:
        return (), (f"{run.method}: {r.reason}; {pmtu} bytes is only a lower bound "
                    "(answers were lost or rate-limited); rerun, or use another --method",)
    numbers["smallest_failing"] = r.smallest_bad
    if not r.exact:
        evidence.append(f"bracket not closed: {pmtu} is a proven lower bound, the real "
                        "path MTU may be higher")
    if r.signalled:
        numbers["icmp_mtu"] = r.icmp_mtu
        evidence.insert(0, f"packets above {pmtu} bytes get ICMP too-big "
                        f"(next-hop MTU {r.icmp_mtu}); PMTUD works")
        code = VerdictCode.PMTU_REDUCED
    else:
        evidence.insert(0, f"packets above {pmtu} bytes vanish without any ICMP "
                        f"({r.smallest_bad} bytes never answered)")
        code = VerdictCode.PMTU_BLACKHOLE
    evidence.extend(dir_evidence)
    return (Verdict(code, leg, direction, tuple(evidence), confidence, numbers),), ()


def measure_pmtu(host: str, *, leg: str = "fmc-upstream", method: str = "auto",
                 hops: bool = False, max_probes: int = 100, port: int | None = None,
                 progress: Progress = no_progress, family: int | None = None,
                 check_dir: bool = True) -> Measurement:
    """Measure the path MTU to host; raises PermissionNeeded / NotMeasuredError when it cannot."""
    if method not in METHODS:
        raise UsageError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if not 1 <= max_probes <= 10000:
        raise UsageError("--max-probes must be between 1 and 10000")
    if port is not None and not 1 <= port <= 65535:
        raise UsageError(f"--port must be 1..65535, got {port}")
    t0 = time.monotonic()
    target = resolve(host, family)
    route = route_to(target)
    high = min(route.interface_mtu or DEFAULT_HIGH, MAX_IP_SIZE)
    low = min(MIN_LOW[target.version], high)
    progress(f"probing {target.address} via {route.interface or '?'} (MTU {high}), "
             f"sizes {low}..{high}")

    order = _auto_order(port) if method == "auto" else [method]
    failures: list[str] = []
    run: SearchRun | None = None
    for m in order:
        try:
            candidate = _search_with(m, target, port, low, high, max_probes, progress)
        except PermissionNeeded as e:
            if method != "auto":
                raise
            failures.append(f"{m}: {e}")
            continue
        except NotMeasuredError as e:
            if method != "auto":
                raise
            failures.append(f"{m}: {e}")
            continue
        if candidate.result.largest_ok is not None:
            run = candidate
            break
        failures.append(f"{m}: {candidate.result.reason}")
        if candidate.result.smallest_bad is not None:
            run = candidate  # low itself fails: that is an answer, not silence
            break
    if run is None or run.result.largest_ok is None:
        detail = "; ".join(failures) or "no method available"
        if method == "auto" and all("permission" in f.lower() or "root" in f for f in failures):
            raise PermissionNeeded(detail)
        raise NotMeasuredError(f"{target.address} answered no probe ({detail}); check the "
                               "address, or give an open TCP port with --port")

    check = None
    signalled = run.result.signalled and run.result.exact
    if check_dir and method == "auto" and run.measures_down and not signalled \
            and run.result.largest_ok < high:
        check = check_direction(target, port, run.result.largest_ok, high, max_probes,
                                progress)
    direction, pmtu_up, pmtu_down, dir_evidence = direction_from(run, check)
    cached = route_mtu(target)
    verdicts, errors = verdicts_for(leg, run, route, high, direction, dir_evidence, cached)

    measurements: dict[str, Number] = {
        "pmtu": run.result.largest_ok,
        "pmtu_method": run.method,
        "pmtu_exact": run.result.exact,
        "probes": run.result.probes,
        "rounds": run.result.rounds,
        "duration_s": round(time.monotonic() - t0, 3),
        "interface": route.interface,
        "interface_mtu": route.interface_mtu,
        "route_pmtu": cached,
    }
    if run.result.icmp_mtu is not None:
        measurements["icmp_mtu"] = run.result.icmp_mtu
    if pmtu_up is not None or pmtu_down is not None or direction is not None:
        measurements["pmtu_up"] = pmtu_up
        measurements["pmtu_down"] = pmtu_down
    notes = [f"method: {run.detail}", f"source {route.source}", run.result.reason]
    notes.extend(f"not used: {f}" for f in failures)
    if hops:
        hop, hop_notes = locate_hop(target, run, progress, direction)
        measurements["hop"] = hop
        notes.extend(hop_notes)
    leg_report = LegReport(leg, target.address, direction, measurements, tuple(notes))
    summary = _summary(target, run, verdicts[0] if verdicts else None)
    return Measurement(legs=(leg_report,), verdicts=verdicts, errors=errors, summary=summary)


MAX_TTL = 16


def locate_hop(target: Target, run: SearchRun, progress: Progress,
               direction: Direction | None = None) -> tuple[str | None, list[str]]:
    """Name the hop where the MTU drops: the ICMP sender, or the end of a TTL search."""
    r = run.result
    if r.largest_ok is None or r.smallest_bad is None:
        return None, ["--hops: no size fails on this path, there is no hop to name"]
    if direction is Direction.DOWN:
        return None, ["--hops: the limit is on the way down; TTL-limited probes from this "
                      "end cannot locate it"]
    if r.signalled and run.too_big_from:
        hop = run.too_big_from[0]
        return hop, [f"--hops: {hop} sent the ICMP too-big (next-hop MTU {r.icmp_mtu})"]
    from pathprobe.probes import l3

    try:
        try:
            prober = l3.IcmpProber(target.address, target.family, raw=True)
        except PermissionNeeded:
            prober = l3.IcmpProber(target.address, target.family, raw=False)
    except PermissionNeeded:
        return None, ["--hops needs ICMP probes: run as root (or allow ping sockets via "
                      "net.ipv4.ping_group_range)"]
    try:
        small = prober.trace(r.largest_ok, MAX_TTL)
        large = prober.trace(r.smallest_bad, MAX_TTL)
    finally:
        prober.close()
    return hop_from_traces(small, large, r.largest_ok, r.smallest_bad, progress)


def hop_from_traces(small: dict[int, tuple[str, str]], large: dict[int, tuple[str, str]],
                    ok: int, bad: int, progress: Progress = no_progress) -> tuple[
                        str | None, list[str]]:
    """The last hop that answers TTL-limited probes of the failing size (as scamper does)."""
    last_small = min((t for t in small if small[t][1] == "reply"), default=max(small, default=0))
    path = " ".join(f"{t}:{small[t][0]}" for t in sorted(small) if t <= last_small)
    progress(f"hops ({ok} bytes): {path or 'none answered'}")
    if not small:
        return None, ["--hops: no hop answered TTL-limited probes (ICMP time-exceeded "
                      "filtered?)"]
    too_big = [t for t in sorted(large) if large[t][1] == "too-big"]
    if too_big:
        hop = large[too_big[0]][0]
        return hop, [f"--hops: {hop} (hop {too_big[0]}) answers {bad}-byte probes with "
                     "ICMP too-big"]
    reached = [t for t in sorted(large) if large[t][1] == "time-exceeded"]
    last = max(reached) if reached else 0
    nxt = small.get(last + 1)
    after = f", before hop {last + 1} ({nxt[0]})" if nxt else ""
    if last == 0:
        first = small.get(1)
        return None, [f"--hops: {bad}-byte probes die before the first hop"
                      f"{f' ({first[0]})' if first else ''}: the local link or host drops them"]
    hop = large[last][0]
    return hop, [f"--hops: {bad}-byte probes still reach hop {last} ({hop}) and vanish "
                 f"after it{after}; {ok}-byte probes go through"]


def _summary(target: Target, run: SearchRun, verdict: Verdict | None) -> str:
    r = run.result
    exact = r.exact and (run.ceiling is None or r.largest_ok != run.ceiling
                         or verdict is not None)
    bound = "exactly" if exact else "at least (lower bound)"
    code = verdict.code.value if verdict is not None else "not concluded"
    return (f"path MTU to {target.address} is {bound} {r.largest_ok} bytes "
            f"({code}, {run.method}, {r.probes} probes, {run.duration_s:.2f} s)")

