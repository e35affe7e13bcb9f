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
from collections.abc import Iterator
from pathlib import Path

import pytest

from pathprobe.errors import NotMeasuredError, UsageError
from pathprobe.model import Direction, VerdictCode
from pathprobe.pmtu import (
    DirectionCheck,
    SearchRun,
    direction_from,
    hop_from_traces,
    measure_pmtu,
    verdicts_for,
)
from pathprobe.probes import l3
from pathprobe.search import SearchResult
from pathprobe.sysinfo import RouteInfo, resolve

REPO = Path(__file__).resolve().parents[2]
ROUTE = RouteInfo("198.18.1.2", "to-r1", 1500, 1500)


def run(ok: int | None, bad: int | None, *, exact: bool = True, signalled: bool = False,
        icmp: int | None = None, method: str = "icmp", down: bool = True,
        ceiling: int | None = 1500) -> SearchRun:
    result = SearchResult(ok, bad, exact, icmp, signalled, 40, 3, "why")
    return SearchRun(method, "detail", result, 0.4, down, ceiling=ceiling)


def test_black_hole_verdict_carries_numbers_and_evidence() -> None:
    verdicts, errors = verdicts_for("fmc-proxy", run(1372, 1373), ROUTE, 1500, Direction.UP,
                                    ["dir"], 1500)
    (v,) = verdicts
    assert not errors
    assert (v.code, v.direction, v.numbers["mtu"], v.numbers["smallest_failing"]) == (
        VerdictCode.PMTU_BLACKHOLE, Direction.UP, 1372, 1373)
    assert v.confidence.value == "measured"
    assert any("vanish" in e for e in v.evidence) and "dir" in v.evidence


def test_reduced_verdict_when_icmp_signalled() -> None:
    (v,), _ = verdicts_for("leg", run(1400, 1401, signalled=True, icmp=1400), ROUTE, 1500,
                           Direction.UP, [], 1400)
    assert (v.code, v.numbers["icmp_mtu"]) == (VerdictCode.PMTU_REDUCED, 1400)


def test_healthy_when_interface_mtu_crosses() -> None:
    (v,), _ = verdicts_for("leg", run(1500, None), ROUTE, 1500, None, [], 1500)
    assert (v.code, v.direction) == (VerdictCode.HEALTHY, Direction.BOTH)
    (v,), _ = verdicts_for("leg", run(1500, None, method="tcp", down=False), ROUTE, 1500,
                           Direction.UP, [], 1500)
    assert v.direction is Direction.UP


def test_open_bracket_without_failure_is_not_a_verdict() -> None:
    verdicts, errors = verdicts_for("leg", run(918, None, exact=False, method="udp"), ROUTE,
                                    1500, Direction.UP, [], 1500)
    assert verdicts == () and "lower bound" in errors[0]


def test_open_bracket_with_failure_is_inferred_lower_bound() -> None:
    (v,), _ = verdicts_for("leg", run(1300, 1380, exact=False), ROUTE, 1500, None, [], 1500)
    assert v.code is VerdictCode.PMTU_BLACKHOLE and v.confidence.value == "inferred"
    assert v.numbers["mtu"] == 1300
    assert any("lower bound" in e for e in v.evidence)


def test_tcp_ceiling_below_interface() -> None:
    # The kernel's cache says 1380 and TCP cannot send more: reduced, inferred.
    (v,), _ = verdicts_for("leg", run(1380, None, method="tcp", down=False, ceiling=1380),
                           ROUTE, 1500, Direction.UP, [], 1380)
    assert (v.code, v.confidence.value) == (VerdictCode.PMTU_REDUCED, "inferred")
    # A peer MSS limit without any ICMP learned: nothing concluded above it.
    verdicts, errors = verdicts_for("leg", run(1340, None, method="tcp", down=False,
                                               ceiling=1340), ROUTE, 1500, Direction.UP, [],
                                    1500)
    assert verdicts == () and "1340" in errors[0]


def test_direction_rules() -> None:
    echo = run(1300, 1301)
    assert direction_from(echo, DirectionCheck("tcp", True, 1500))[:3] == (
        Direction.DOWN, 1500, 1300)
    assert direction_from(echo, DirectionCheck("tcp", False, 1300))[:3] == (
        Direction.UP, 1300, None)
    assert direction_from(echo, None)[0] is None
    assert direction_from(echo, DirectionCheck("udp", None, None))[0] is None
    assert direction_from(run(1400, 1401, signalled=True), None)[0] is Direction.UP
    assert direction_from(run(1400, 1401, down=False), None)[:3] == (Direction.UP, 1400, None)


def test_resolve_rejects_garbage() -> None:
    with pytest.raises(UsageError):
        resolve("")
    with pytest.raises(UsageError):
        resolve("-x")
    assert resolve("127.0.0.1").family == socket.AF_INET
    assert resolve("::1").version == 6


def test_measure_rejects_bad_arguments() -> None:
    with pytest.raises(UsageError):
        measure_pmtu("127.0.0.1", method="bogus")
    with pytest.raises(UsageError):
        measure_pmtu("127.0.0.1", max_probes=0)
    with pytest.raises(UsageError):
        measure_pmtu("127.0.0.1", method="tcp")  # needs --port
    with pytest.raises(UsageError):
        measure_pmtu("127.0.0.1", method="syn")  # needs --port


def test_icmp_checksum_vector() -> None:
    # Echo request id 0x1234 seq 1, payload "abcd", checksum by hand (RFC 1071).
    head = struct.pack("!BBHHH", 8, 0, 0, 0x1234, 1)
    csum = l3._checksum(head + b"abcd")
    assert csum == 0x2104  # ~(0x0800 + 0x1234 + 0x0001 + 0x6162 + 0x6364)
    full = struct.pack("!BBHHH", 8, 0, csum, 0x1234, 1) + b"abcd"
    assert l3._checksum(full) == 0  # a correct checksum sums to zero
    assert l3._checksum(b"\x00\x01\xf2") == (~(0x0001 + 0xF200) & 0xFFFF)


def test_hint_validity() -> None:
    assert l3._hint(1400, 1500, socket.AF_INET) == 1400
    assert l3._hint(1500, 1500, socket.AF_INET) is None      # not below what we sent
    assert l3._hint(60, 1500, socket.AF_INET) is None        # below the IPv4 minimum
    assert l3._hint(1200, 1300, socket.AF_INET6) is None     # below the IPv6 minimum


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
    prober = l3.TcpProber("127.0.0.1", socket.AF_INET, port=tcp_server)
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
        l3.TcpProber("127.0.0.1", socket.AF_INET, port=port)


def test_hop_from_traces_black_hole_after_first_router() -> None:
    small = {1: ("198.18.1.1", "time-exceeded"), 2: ("198.18.2.2", "reply")}
    large = {1: ("198.18.1.1", "time-exceeded")}
    hop, notes = hop_from_traces(small, large, 1372, 1373)
    assert hop == "198.18.1.1"
    assert "hop 1" in notes[0] and "198.18.2.2" in notes[0]


def test_hop_from_traces_too_big_and_nothing() -> None:
    small = {1: ("r1", "time-exceeded"), 2: ("r2", "time-exceeded"), 3: ("t", "reply")}
    hop, _ = hop_from_traces(small, {1: ("r1", "time-exceeded"), 2: ("r2", "too-big")},
                             1400, 1401)
    assert hop == "r2"
    hop, notes = hop_from_traces(small, {}, 1400, 1401)
    assert hop is None and "first hop" in notes[0]
    hop, notes = hop_from_traces({}, {}, 1400, 1401)
    assert hop is None and "no hop answered" in notes[0]


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
