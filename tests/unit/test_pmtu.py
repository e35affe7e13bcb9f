"""pmtu's pure decisions (verdicts, direction), its helpers, the command's help, and a
real TCP probe over loopback (no root needed)."""

from __future__ import annotations

import contextlib
import os
import socket
import struct
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from pathprobe.errors import NotMeasuredError, PermissionNeeded, UsageError
from pathprobe.facts.pmtu import PmtuFact, ProbeKind
from pathprobe.facts.search import SearchFact
from pathprobe.model import (
    Basis,
    Direction,
    Evidence,
    Leg,
    Limit,
    RouteInfo,
    Step,
    Unmeasured,
    UnmeasuredReason,
    VerdictCode,
)
from pathprobe.pmtu import _Probe, measure_pmtu, run_search
from pathprobe.pmtu_rules import (
    DirectionCheck,
    MethodFailure,
    SearchRun,
    direction_from,
    first_answer,
    hop_from_traces,
    not_measured,
    verdicts_for,
)
from pathprobe.probes import l3, l3_tcp
from pathprobe.probes.kernel import resolve
from pathprobe.render.evidence import describe
from pathprobe.render.unmeasured import unmeasured_sentence
from pathprobe.search import FailedHow, ProbeOutcome, ProbeResult, SearchResult, StopReason
from pathprobe.wire.headers import internet_checksum

REPO = Path(__file__).resolve().parents[2]
ROUTE = RouteInfo("198.18.1.2", "to-r1", 1500, 1500)
LEG = Leg.FMC_PROXY


def run(ok: int | None, bad: int | None, *, exact: bool = True, signalled: bool = False,
        icmp: int | None = None, method: str = "icmp", down: bool = True,
        ceiling: int | None = 1500, stop: StopReason | None = None) -> SearchRun:
    if stop is None:
        stop = (StopReason.HIGH_DELIVERED if ok is not None and ok >= 1500 else
                StopReason.CLOSED if exact else StopReason.PROBE_BUDGET)
    result = SearchResult(largest_ok=ok, smallest_bad=bad, exact=exact, icmp_mtu=icmp,
                          signalled=signalled, probes=40, rounds=3, stop=stop,
                          failed_how=(FailedHow.ICMP if signalled else FailedHow.LOST)
                          if bad is not None else None, low=576, high=1500, duration_s=0.4)
    return SearchRun(method, ProbeKind.ICMP_RAW, result, down, ceiling=ceiling)


def said(unmeasured: tuple[Unmeasured, ...], command: str = "pmtu") -> list[str]:
    """What the report says for each thing not measured, as the command names it."""
    return [unmeasured_sentence(u, command) for u in unmeasured]


def facts(evidence: tuple[Evidence, ...] | list[Evidence]) -> list[object]:
    return [e.fact for e in evidence]


def rendered(evidence: tuple[Evidence, ...] | list[Evidence]) -> list[str]:
    """Every sentence, checked for unfilled '?' placeholders."""
    out = [describe(e) for e in evidence]
    for line in out:
        assert "?" not in line.replace("(ICMP time-exceeded filtered?)", ""), line
    return out


def test_black_hole_verdict_carries_limit_and_evidence() -> None:
    dir_ev = [Evidence(PmtuFact.LIMIT_UP, Step.PMTU, {"method": "tcp", "size": 1373,
                                                     "mtu": 1372})]
    verdicts, unmeasured = verdicts_for(LEG, run(1372, 1373), ROUTE, 1500, Direction.UP,
                                        dir_ev, 1500)
    (v,) = verdicts
    assert not unmeasured
    assert (v.code, v.leg, v.direction, v.limit, v.numbers["smallest_failing"]) == (
        VerdictCode.PMTU_BLACKHOLE, Leg.FMC_PROXY, Direction.UP, Limit(mtu=1372), 1373)
    assert v.basis is Basis.THIS_LEG_ONLY and v.severity is None
    assert v.confidence.value == "measured"
    assert facts(v.evidence)[:2] == [PmtuFact.VANISH, SearchFact.SEARCH]
    assert v.evidence[0].values == {"mtu": 1372, "bad": 1373}
    assert dir_ev[0] in v.evidence
    text = rendered(v.evidence)
    assert text[0] == "packets above 1372 bytes vanish without any ICMP (1373 bytes never " \
                      "answered)"
    assert "do not cross upward either" in text[-1]


def test_reduced_verdict_when_icmp_signalled() -> None:
    (v,), _ = verdicts_for(LEG, run(1400, 1401, signalled=True, icmp=1400), ROUTE, 1500,
                           Direction.UP, [], 1400)
    assert (v.code, v.numbers["icmp_mtu"], v.limit) == (VerdictCode.PMTU_REDUCED, 1400,
                                                        Limit(mtu=1400))
    assert v.evidence[0].fact is PmtuFact.ICMP_TOO_BIG
    assert "next-hop MTU 1400); PMTUD works" in rendered(v.evidence)[0]


def test_healthy_when_interface_mtu_crosses() -> None:
    (v,), _ = verdicts_for(LEG, run(1500, None), ROUTE, 1500, None, [], 1500)
    assert (v.code, v.direction, v.limit, v.basis) == (
        VerdictCode.HEALTHY, Direction.BOTH, Limit(mtu=1500), Basis.THIS_LEG_ONLY)
    assert rendered(v.evidence)[0] == "probes of 1500 bytes (the MTU of to-r1) cross the path"
    (v,), _ = verdicts_for(LEG, run(1500, None, method="tcp", down=False), ROUTE, 1500,
                           Direction.UP, [], 1500)
    assert v.direction is Direction.UP


def test_open_bracket_without_failure_is_not_a_verdict() -> None:
    verdicts, unmeasured = verdicts_for(LEG, run(918, None, exact=False, method="udp"), ROUTE,
                                        1500, Direction.UP, [], 1500)
    (u,) = unmeasured
    assert verdicts == () and (u.step, u.reason, u.mtu) == (
        Step.PMTU, UnmeasuredReason.LOWER_BOUND, 918)
    (line,) = said(unmeasured)
    assert "918 bytes is only a lower bound" in line and line.endswith("another --method")
    # diagnose has no --method: its sentence never tells the user to use one
    (line,) = said(unmeasured, "diagnose")
    assert "918 bytes is only a lower bound" in line and "--method" not in line


def test_open_bracket_with_failure_is_inferred_lower_bound() -> None:
    (v,), _ = verdicts_for(LEG, run(1300, 1380, exact=False), ROUTE, 1500, None, [], 1500)
    assert v.code is VerdictCode.PMTU_BLACKHOLE and v.confidence.value == "inferred"
    assert v.limit == Limit(mtu=1300, exact=False)
    assert PmtuFact.OPEN_BRACKET in facts(v.evidence)
    assert any("proven lower bound" in t for t in rendered(v.evidence))


def test_tcp_ceiling_below_interface() -> None:
    # The kernel's cache says 1380 and TCP cannot send more: reduced, inferred.
    (v,), _ = verdicts_for(LEG, run(1380, None, method="tcp", down=False, ceiling=1380),
                           ROUTE, 1500, Direction.UP, [], 1380)
    assert (v.code, v.confidence.value, v.numbers["route_pmtu"]) == (
        VerdictCode.PMTU_REDUCED, "inferred", 1380)
    assert v.evidence[0].fact is PmtuFact.ROUTE_CACHE
    # A peer MSS limit without any ICMP learned: nothing concluded above it.
    verdicts, unmeasured = verdicts_for(LEG, run(1340, None, method="tcp", down=False,
                                                 ceiling=1340), ROUTE, 1500, Direction.UP, [],
                                        1500)
    assert verdicts == () and [(u.reason, u.size) for u in unmeasured] == [
        (UnmeasuredReason.METHOD_CEILING, 1340)]
    assert said(unmeasured) == [
        "tcp can only send up to 1340 bytes here (the peer's MSS); 1340 crosses, larger "
        "sizes were not measured: use --method icmp as root"]
    assert "--method" not in said(unmeasured, "diagnose")[0]


def test_loopback_route_mtu_is_not_a_reduction() -> None:
    """lo: interface MTU 65536, route MTU 65535 (the IPv4 maximum): nothing was reduced."""
    lo = RouteInfo("127.0.0.1", "lo", 65536, 65535)
    verdicts, _ = verdicts_for(LEG, run(65535, None, method="tcp", down=False,
                                        ceiling=65535), lo, 65535, Direction.UP, [], 65535)
    assert all(v.code is not VerdictCode.PMTU_REDUCED for v in verdicts)


def test_direction_rules() -> None:
    echo = run(1300, 1301)
    d = direction_from(echo, DirectionCheck("tcp", True, 1500))
    assert d[:3] == (Direction.DOWN, 1500, 1300)
    assert d[3][0].fact is PmtuFact.LIMIT_DOWN and d[3][0].values["size"] == 1301
    assert rendered(d[3])[0].startswith("tcp probes of 1301 bytes cross upward")
    assert direction_from(echo, DirectionCheck("tcp", False, 1300))[:3] == (
        Direction.UP, 1300, None)
    unknown = direction_from(echo, None)
    assert unknown[0] is None and facts(unknown[3]) == [PmtuFact.DIRECTION_UNKNOWN]
    assert direction_from(echo, DirectionCheck("udp", None, None))[0] is None
    assert direction_from(run(1400, 1401, signalled=True), None)[0] is Direction.UP
    up = direction_from(run(1400, 1401, down=False), None)
    assert up[:3] == (Direction.UP, 1400, None) and facts(up[3]) == [PmtuFact.UP_ONLY_METHOD]


def _silent(method: str) -> SearchRun:
    return run(None, None, method=method, exact=False, stop=StopReason.TARGET_SILENT)


def test_first_answer_records_typed_failures() -> None:
    def search(m: str) -> SearchRun:
        if m == "icmp":
            raise PermissionNeeded("ICMP probes need root or CAP_NET_RAW")
        if m == "tcp":
            raise NotMeasuredError("cannot connect: port not open")
        if m == "syn":
            return _silent(m)
        return run(1372, 1373, method=m)

    got, failures = first_answer(["icmp", "tcp", "syn", "udp"], search)
    assert got is not None and got.method == "udp"
    assert [(f.method, f.why) for f in failures] == [
        ("icmp", UnmeasuredReason.PERMISSION), ("tcp", UnmeasuredReason.ERROR),
        ("syn", UnmeasuredReason.SILENT)]
    notes = rendered([f.evidence() for f in failures])
    assert notes[0] == "not used: icmp: ICMP probes need root or CAP_NET_RAW"
    assert notes[2].startswith("not used: syn: the smallest size (576) was never answered")


def test_not_measured_is_a_result_with_a_typed_permission_flag() -> None:
    perm = [MethodFailure("icmp", UnmeasuredReason.PERMISSION, "ICMP probes need root"),
            MethodFailure("syn", UnmeasuredReason.PERMISSION, "SYN probes need root")]
    m = not_measured("198.18.2.2", perm)
    assert [u.reason for u in m.unmeasured] == [UnmeasuredReason.PERMISSION]
    assert not m.verdicts
    assert said(m.unmeasured) == ["icmp: ICMP probes need root; syn: SYN probes need root"]
    one = not_measured("198.18.2.2", [MethodFailure("tcp", UnmeasuredReason.ERROR, "not open")])
    assert (said(one.unmeasured), one.unmeasured[0].reason) == (["not open"],
                                                                UnmeasuredReason.ERROR)
    # A root message from a probe that did run is no permission problem: typed, not read.
    mixed = not_measured("198.18.2.2", [perm[0], MethodFailure("udp", UnmeasuredReason.SILENT,
                                                                 result=_silent("udp").result)])
    assert [u.reason for u in mixed.unmeasured] == [UnmeasuredReason.SILENT]
    (line,) = said(mixed.unmeasured)
    assert line.startswith("198.18.2.2 answered no probe (icmp: ICMP probes need")
    assert "udp: the smallest size (576) was never answered" in line
    assert said(not_measured("198.18.2.2", []).unmeasured) == [
        "198.18.2.2 answered no probe (no method available)"]


def test_resolve_rejects_garbage() -> None:
    with pytest.raises(UsageError):
        resolve("")
    with pytest.raises(UsageError):
        resolve("-x")
    assert resolve("127.0.0.1").family == socket.AF_INET
    assert resolve("::1").version == 6


def test_measure_rejects_bad_arguments() -> None:
    for kwargs in ({"method": "bogus"}, {"max_probes": 0}, {"method": "tcp"},
                   {"method": "syn"}, {"port": 0}):
        with pytest.raises(UsageError):
            measure_pmtu("127.0.0.1", leg=LEG, **kwargs)  # type: ignore[arg-type]


def test_measure_unresolvable_is_a_result_not_an_exception() -> None:
    m = measure_pmtu("no-such-host.invalid", leg=LEG, method="icmp")
    assert not m.verdicts and "cannot resolve" in said(m.unmeasured)[0]
    assert [u.reason for u in m.unmeasured] == [UnmeasuredReason.ERROR]


def test_icmp_checksum_vector() -> None:
    # Echo request id 0x1234 seq 1, payload "abcd", checksum by hand (RFC 1071).
    head = struct.pack("!BBHHH", 8, 0, 0, 0x1234, 1)
    csum = internet_checksum(head + b"abcd")
    assert csum == 0x2104  # ~(0x0800 + 0x1234 + 0x0001 + 0x6162 + 0x6364)
    full = struct.pack("!BBHHH", 8, 0, csum, 0x1234, 1) + b"abcd"
    assert internet_checksum(full) == 0  # a correct checksum sums to zero
    assert internet_checksum(b"\x00\x01\xf2") == (~(0x0001 + 0xF200) & 0xFFFF)


def test_hint_validity() -> None:
    assert l3.mtu_hint(1400, 1500, socket.AF_INET) == 1400
    assert l3.mtu_hint(1500, 1500, socket.AF_INET) is None      # not below what we sent
    assert l3.mtu_hint(60, 1500, socket.AF_INET) is None        # below the IPv4 minimum
    assert l3.mtu_hint(1200, 1300, socket.AF_INET6) is None     # below the IPv6 minimum


def test_help_teaches_the_command() -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-m", "pathprobe", "pmtu", "--help"],
                         capture_output=True, text=True, env=env, check=True).stdout
    for needle in ("--method", "auto", "--port", "--max-probes", "100", "Example",
                   "Exit status", "PMTU_BLACKHOLE", "lower bound"):
        assert needle in out, needle


def test_help_does_not_load_scapy() -> None:
    code = ("import sys; from pathprobe.cli import main; "
            "main(['pmtu', '--help']); print('scapy' in sys.modules)")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, check=True).stdout
    assert out.strip().endswith("False")


@pytest.fixture
def tcp_server() -> Iterator[int]:
    """A loopback TCP server that accepts and reads everything (an open port)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    stop = threading.Event()

    def serve() -> None:
        srv.settimeout(0.1)
        conns = []
        while not stop.is_set():
            try:
                c, _ = srv.accept()
                c.setblocking(False)
                conns.append(c)
            except TimeoutError:
                pass
            for c in conns:
                with contextlib.suppress(OSError):
                    c.recv(1 << 20)
        for c in conns:
            c.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        yield srv.getsockname()[1]
    finally:
        stop.set()
        t.join(2)
        srv.close()


def test_tcp_probe_over_loopback(tcp_server: int) -> None:
    prober = l3_tcp.TcpProber("127.0.0.1", socket.AF_INET, port=tcp_server)
    try:
        sizes = [576, 1500, 9000]
        results = prober.probe(sizes)
    finally:
        prober.close()
    assert [r.outcome.value for r in results] == ["delivered"] * 3
    assert prober.path.snd_mss > 9000


def test_tcp_closed_port_is_not_measured() -> None:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    with pytest.raises(NotMeasuredError, match="not open"):
        l3_tcp.TcpProber("127.0.0.1", socket.AF_INET, port=port)


def test_hop_from_traces_black_hole_after_first_router() -> None:
    small = {1: ("198.18.1.1", "time-exceeded"), 2: ("198.18.2.2", "reply")}
    large = {1: ("198.18.1.1", "time-exceeded")}
    hop, notes = hop_from_traces(small, large, 1372, 1373)
    assert hop == "198.18.1.1"
    assert notes[0].fact is PmtuFact.HOPS_VANISH_AFTER
    assert (notes[0].values["ttl"], notes[0].values["next_hop"]) == (1, "198.18.2.2")
    assert rendered(notes)[0] == ("--hops: 1373-byte probes still reach hop 1 (198.18.1.1) and "
                                  "vanish after it, before hop 2 (198.18.2.2); 1372-byte "
                                  "probes go through")


def test_hop_from_traces_too_big_and_nothing() -> None:
    small = {1: ("r1", "time-exceeded"), 2: ("r2", "time-exceeded"), 3: ("t", "reply")}
    hop, _ = hop_from_traces(small, {1: ("r1", "time-exceeded"), 2: ("r2", "too-big")},
                             1400, 1401)
    assert hop == "r2"
    hop, notes = hop_from_traces(small, {}, 1400, 1401)
    assert hop is None and notes[0].fact is PmtuFact.HOPS_DIE_FIRST
    assert rendered(notes)[0] == ("--hops: 1401-byte probes die before the first hop (r1): the "
                                  "local link or host drops them")
    hop, notes = hop_from_traces({}, {}, 1400, 1401)
    assert hop is None and notes[0].fact is PmtuFact.HOPS_NONE_ANSWERED
    assert "no hop answered" in describe(notes[0])


def _closed_udp_port(family: int, host: str) -> int:
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.bind((host, 0))
    port = int(s.getsockname()[1])
    s.close()
    return port


@pytest.mark.parametrize(("family", "host"), [(socket.AF_INET, "127.0.0.1"),
                                              (socket.AF_INET6, "::1")])
def test_udp_back_to_back_probes_all_answered(family: int, host: str) -> None:
    """Regression: an earlier probe's port-unreachable (sk_err) made the next send fail."""
    prober = l3.UdpProber(host, family, port=_closed_udp_port(family, host))
    try:
        results = prober.probe([600, 1300, 1500])
    finally:
        prober.close()
    assert [r.outcome.value for r in results] == ["delivered"] * 3


def test_udp_local_emsgsize_above_interface_mtu() -> None:
    prober = l3.UdpProber("127.0.0.1", socket.AF_INET, port=_closed_udp_port(
        socket.AF_INET, "127.0.0.1"))
    try:
        (r,) = prober.probe([70000 - 1])  # above any IPv4 datagram: refused locally
    finally:
        prober.close()
    assert r.outcome.value == "local-too-big"


class _BlackHole(l3.Prober):
    """A simulated path: sizes above ``limit`` are lost (no socket)."""

    def __init__(self, limit: int) -> None:
        super().__init__("198.18.2.2", socket.AF_INET, method="icmp", measures_down=True)
        self.limit = limit

    def probe(self, sizes: Sequence[int]) -> list[ProbeResult]:
        return [ProbeResult(s, ProbeOutcome.DELIVERED if s <= self.limit else ProbeOutcome.LOST)
                for s in sizes]


def test_run_search_drives_to_an_exact_answer_and_reports_rounds() -> None:
    lines: list[str] = []
    got = run_search(_Probe(_BlackHole(1372), ProbeKind.ICMP_RAW), 576, 1500, max_probes=100,
                     batch=24, progress=lines.append, label="icmp")
    r = got.result
    assert (r.largest_ok, r.smallest_bad, r.exact, r.stop) == (1372, 1373, True,
                                                                StopReason.CLOSED)
    assert len(lines) == r.rounds and lines[0].startswith("icmp round 1:")


def test_run_search_time_budget_uses_the_injected_clock() -> None:
    ticks = iter(range(0, 10_000, 10))   # every clock read: 10 s later
    got = run_search(_Probe(_BlackHole(1372), ProbeKind.ICMP_RAW), 576, 1500, max_probes=100,
                     batch=24, progress=lambda _: None, label="icmp",
                     clock=lambda: float(next(ticks)))
    r = got.result
    assert (r.stop, r.exact, r.rounds, r.duration_s) == (StopReason.TIME_BUDGET, False, 1, 30.0)
    assert r.largest_ok is not None and r.largest_ok <= 1372   # a proven lower bound


def test_measure_pmtu_orchestration_through_the_socket_factory() -> None:
    """measure_pmtu with a simulated path (no probe socket): auto skips a method that needs
    root, the next one finds the black hole, and the leg's JSON names are the usual ones."""
    asked: list[str] = []

    def make_probe(method: str, target: object, port: int | None) -> _Probe:
        asked.append(method)
        if method == "icmp":
            raise PermissionNeeded("raw ICMP needs root")
        hole = _BlackHole(1372)
        hole.method, hole.measures_down = method, False
        return _Probe(hole, ProbeKind.UDP)

    m = measure_pmtu("127.0.0.1", leg=LEG, make_probe=make_probe)
    assert asked == ["icmp", "udp"]
    (v,) = m.verdicts
    assert v.code is VerdictCode.PMTU_BLACKHOLE and v.limit == Limit(mtu=1372, exact=True)
    assert v.direction is Direction.UP
    (leg,) = m.legs
    assert list(leg.measurements)[:4] == ["pmtu", "pmtu_method", "pmtu_exact", "probes"]
    assert (leg.measurements["pmtu"], leg.measurements["pmtu_method"]) == (1372, "udp")
    assert leg.measurements["pmtu_up"] == 1372 and leg.measurements["pmtu_down"] is None
    failures = [n for n in leg.notes if n.fact is PmtuFact.NOT_USED]
    assert len(failures) == 1 and failures[0].values["method"] == "icmp"


def test_measure_over_loopback_is_never_reduced(tcp_server: int) -> None:
    """Issue 15 item 8: lo's MTU 65536 vs its route MTU 65535 is no PMTU reduction."""
    for method in ("auto", "tcp"):
        m = measure_pmtu("127.0.0.1", leg=LEG, method=method, port=tcp_server)
        assert all(v.code is not VerdictCode.PMTU_REDUCED for v in m.verdicts), m
        assert m.verdicts or m.unmeasured
        for v in m.verdicts:
            assert v.code is VerdictCode.HEALTHY and v.limit == Limit(mtu=65535)
        for leg in m.legs:
            rendered(leg.notes)


# --- the way down measured on its own (our advertised MSS, a small request) ------------

def _down_result(ok: int | None, bad: int | None, exact: bool) -> SearchResult:
    return SearchResult(ok, bad, exact, None, False, 12, 3,
                        StopReason.CLOSED if exact else StopReason.PROBE_BUDGET,
                        FailedHow.LOST if bad is not None else None, 2, 1404, 1500)


def test_down_stopping_at_the_up_limit_is_both() -> None:
    from pathprobe.pmtu_rules import DirectionCheck, down_direction

    check = DirectionCheck("tcp", False, 1404)
    direction, down, ev = down_direction(check, 1404, 1500, (_down_result(1404, 1405, True), 0),
                                         3128)
    assert (direction, down) == (Direction.BOTH, 1404)
    assert [e.fact for e in ev] == [PmtuFact.LIMIT_BOTH, PmtuFact.DOWN_SEARCH]


def test_down_carrying_more_keeps_the_limit_up() -> None:
    from pathprobe.pmtu_rules import DirectionCheck, down_direction

    check = DirectionCheck("tcp", False, 1404)
    direction, down, ev = down_direction(check, 1404, 1500, (_down_result(1500, None, True), 0),
                                         3128)
    assert (direction, down) == (Direction.UP, 1500)
    assert ev[0].fact is PmtuFact.LIMIT_UP_ONLY and ev[0].values["down"] == 1500
    # an open bracket is never called "both": only a closed one at the same size is
    direction, down, _ = down_direction(check, 1404, 1500,
                                        (_down_result(1404, None, False), 0), 3128)
    assert direction is Direction.UP


def test_down_unmeasurable_when_answers_are_too_small() -> None:
    from pathprobe.pmtu_rules import DirectionCheck, down_direction

    check = DirectionCheck("tcp", False, 1404)
    direction, down, ev = down_direction(check, 1404, 1500, (_down_result(None, None, False), 5),
                                         3128)
    assert (direction, down) == (Direction.UP, None)
    assert ev[-1].fact is PmtuFact.DOWN_UNMEASURED


def test_a_complete_answer_proves_only_the_packets_that_came() -> None:
    from pathprobe.probes.down import DownOutcome, DownProbe, as_result

    whole = as_result(DownProbe(1500, DownOutcome.COMPLETE, 3600, 1500))
    assert whole is not None and (whole.size, whole.outcome) == (1500, ProbeOutcome.DELIVERED)
    smaller = as_result(DownProbe(1500, DownOutcome.COMPLETE, 3600, 1352))
    assert smaller is not None and smaller.size == 1352
    stalled = as_result(DownProbe(1500, DownOutcome.STALLED, 0, None))
    assert stalled is not None and stalled.outcome is ProbeOutcome.LOST
    assert as_result(DownProbe(1500, DownOutcome.SHORT, 400, 400)) is None
    assert as_result(DownProbe(1500, DownOutcome.REFUSED, 0, None)) is None
