"""`pathprobe serve`: the reflector reports the SYN as it arrived (after a leg-2 clamp),
enforces its token and reply bounds, and is usable through squid by `pathprobe tunnel`."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from pathprobe.lab import topology as topo
from pathprobe.lab.netns import run_in_netns
from pathprobe.reflector import MAX_SEND, Limits, describe_syn
from tests.conftest import REPO, Lab, cli_env

PORT = 7010
TOKEN = "t0ken-for-tests"


def test_describe_syn_vector() -> None:
    # IPv4 + TCP SYN with MSS 1300, SACK permitted, timestamps, window scale 7 (scapy-built).
    from scapy.layers.inet import IP, TCP

    raw = bytes(IP(src="198.18.3.2", dst="198.18.4.2", ttl=63) / TCP(
        sport=40000, dport=7007, flags="S",
        options=[("MSS", 1300), ("SAckOK", b""), ("Timestamp", (1, 0)), ("NOP", None),
                 ("WScale", 7)]))
    info = describe_syn(raw)
    assert info == {"syn_mss": 1300, "syn_timestamps": True, "syn_sack": True, "syn_wscale": 7,
                    "syn_ip_version": 4, "syn_ttl": 63, "syn_header_bytes": 60}
    assert describe_syn(b"\x45\x00") == {"syn": None}


def test_limits_rate_and_concurrency() -> None:
    now = [0.0]
    lim = Limits(max_connections=3, rate=2.0, burst=2.0, clock=lambda: now[0])
    assert lim.admit("a") and lim.admit("a")
    assert not lim.admit("a")  # burst spent
    assert lim.admit("b")
    assert not lim.admit("c")  # three active: the global limit
    lim.release()
    now[0] = 1.0  # two tokens refilled for "a"
    assert lim.admit("a")
    assert not lim.admit("a")  # active limit again
    lim.release()
    lim.release()
    assert lim.admit("a")


@pytest.fixture
def reflector(lab: Lab) -> Iterator[subprocess.Popen[str]]:
    lab.up("clamp", leg=2, param=1200)
    proc = subprocess.Popen(
        ["ip", "netns", "exec", lab.ns("upstream"), sys.executable, "-m", "pathprobe", "serve",
         "--listen", f"[::]:{PORT}", "--token", TOKEN, "--max-time", "60"],
        stderr=subprocess.PIPE, text=True, env=cli_env(), cwd=REPO)
    assert proc.stderr is not None
    line = proc.stderr.readline()
    assert "reflector listening" in line and "token required" in line, line
    try:
        yield proc
    finally:
        proc.terminate()
        proc.wait(5)


def _talk(lines: list[bytes], expect: list[int]) -> list[bytes]:
    """From the proxy namespace: send each line, read each answer (a line or N bytes)."""
    out = []
    with socket.create_connection((topo.UPSTREAM_V4, PORT), timeout=3) as s:
        f = s.makefile("rb")
        for line, n in zip(lines, expect, strict=True):
            s.sendall(line)
            out.append(f.readline() if n == 0 else f.read(n))
    return out


def test_reflector_reports_the_clamped_syn_and_bounds_replies(
        lab: Lab, reflector: subprocess.Popen[str]) -> None:
    def run() -> list[bytes]:
        return _talk([f"HELLO {TOKEN}\n".encode(), b"SINK 00005\nhello", b"SEND 1000\n",
                      f"SEND {MAX_SEND + 1}\n".encode()], [0, 0, 1000, 0])
    hello, sink, sent, refused = run_in_netns(lab.ns("proxy"), run)
    info = json.loads(hello)
    assert info["pathprobe"] == "reflector" and info["peer"] == topo.PROXY_UPSTREAM_SIDE_V4
    assert info["syn_mss"] == 1200  # the proxy sent 1460; r2 clamped it on leg 2
    assert info["syn_timestamps"] is True and info["syn_ip_version"] == 4
    assert json.loads(sink)["received"] == 5
    assert sent == b"s" * 1000
    assert "error" in json.loads(refused)

    bad = run_in_netns(lab.ns("proxy"), lambda: _talk([b"HELLO wrong\n"], [0]))
    assert json.loads(bad[0]) == {"error": "bad token"}
    skipped = run_in_netns(lab.ns("proxy"), lambda: _talk([b"SEND 10\n"], [0]))
    assert "HELLO" in json.loads(skipped[0])["error"]


def test_tunnel_uses_the_reflector_through_squid(lab: Lab,
                                                 reflector: subprocess.Popen[str]) -> None:
    r = lab.cli("tunnel", "--proxy", topo.PROXY_URL, "--target",
                f"{topo.UPSTREAM_NAME}:{topo.UPSTREAM_TLS_PORT}", "--reflector",
                f"{topo.UPSTREAM_NAME}:{PORT}", "--token", TOKEN, "--direction", "up",
                "--json")
    rep = json.loads(r.stdout)
    clamp = [v for v in rep["verdicts"] if v["code"] == "MSS_CLAMPED"]
    assert r.returncode == 1 and clamp, rep
    # squid may use IPv4 or IPv6 on leg 2; the clamp applies to both (1200 either way).
    assert clamp[0]["mss_received"] == 1200 and clamp[0]["leg"] == "proxy-upstream"
    wrong = lab.cli("tunnel", "--proxy", topo.PROXY_URL, "--target",
                    f"{topo.UPSTREAM_NAME}:{topo.UPSTREAM_TLS_PORT}", "--reflector",
                    f"{topo.UPSTREAM_NAME}:{PORT}", "--token", "nope", "--direction", "up",
                    "--json")
    assert any("token" in e for e in json.loads(wrong.stdout)["errors"])


def test_serve_usage_errors(lab: Lab) -> None:
    lab.up("healthy")
    r = lab.cli("serve", "--listen", "nonsense", node="upstream")
    assert r.returncode == 2 and "ADDR:PORT" in r.stderr
    # The lab's own reflector already holds 7007 on the upstream.
    t0 = time.monotonic()
    r = lab.cli("serve", "--listen", f"[::]:{topo.REFLECTOR_PORT}", node="upstream")
    assert r.returncode == 3 and "cannot listen" in r.stderr
    assert time.monotonic() - t0 < 10 and "Traceback" not in r.stderr


def test_tls_reflector_keeps_sizes_exact_on_the_wire(lab: Lab) -> None:
    """`serve --tls` + `tunnel --reflector-tls`: TLS record overhead is accounted for."""
    lab.up("blackhole", leg=2, param=1350)
    proc = subprocess.Popen(
        ["ip", "netns", "exec", lab.ns("upstream"), sys.executable, "-m", "pathprobe", "serve",
         "--tls", "--listen", f"[::]:{PORT + 1}", "--max-time", "60"],
        stderr=subprocess.PIPE, text=True, env=cli_env(), cwd=REPO)
    assert proc.stderr is not None
    try:
        line = proc.stderr.readline()
        assert "reflector listening" in line and "TLS" in line, line
        r = lab.cli("tunnel", "--proxy", topo.PROXY_URL, "--target",
                    f"{topo.UPSTREAM_NAME}:{topo.UPSTREAM_TLS_PORT}", "--reflector",
                    f"{topo.UPSTREAM_NAME}:{PORT + 1}", "--reflector-tls", "--json")
        rep = json.loads(r.stdout)
        holes = {v["direction"]: v for v in rep["verdicts"] if v["code"] == "PMTU_BLACKHOLE"}
        assert r.returncode == 1 and set(holes) == {"up", "down"}, rep
        for v in holes.values():
            assert v["pmtu_low"] == v["pmtu_high"] == 1350, v
            assert any("TLS" in e for e in holes["up"]["evidence"])
    finally:
        proc.terminate()
        proc.wait(5)
    bad = lab.cli("serve", "--cert", "/etc/hostname", "--key", "/etc/hostname", node="upstream")
    assert bad.returncode == 2 and "--tls" in bad.stderr
