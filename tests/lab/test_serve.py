"""`pathprobe serve`: the reflector reports the SYN as it arrived (after a leg-2 clamp),
enforces its token and reply bounds, and is usable through squid by `pathprobe tunnel`."""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pathprobe.lab import topology as topo
from pathprobe.lab.netns import run_in_netns
from pathprobe.reflector import MAX_SEND, Limits, ReflectorServer, read_syn
from pathprobe.wire import reflector_protocol as rp
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
    assert read_syn(raw) == rp.Syn(ip_version=4, ttl=63, header_bytes=60, mss=1300,
                                   timestamps=True, sack=True, wscale=7)
    assert read_syn(b"\x45\x00") is None


def test_limits_rate_and_concurrency() -> None:
    now = [0.0]
    lim = Limits(max_connections=2, rate=2.0, burst=2.0, clock=lambda: now[0])
    assert lim.admit("a") and lim.admit("a")
    assert not lim.admit("a")  # burst spent
    assert lim.admit("b") and lim.claim() and lim.claim()
    assert not lim.claim()     # two greeted: the global limit
    assert not lim.admit("c")  # no room to serve it: refused at once
    lim.release()
    now[0] = 1.0  # two tokens refilled for "a"
    assert lim.admit("a") and lim.claim()
    assert not lim.admit("a")  # greeted limit again
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
    # the clamp lets every size through: information (exit 0), not failure
    assert r.returncode == 0 and clamp and clamp[0]["severity"] == "info", rep
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


# --- the reflector under abuse (loopback, no lab) ------------------------------------------

@pytest.fixture
def loopback_reflector(request: pytest.FixtureRequest) -> Iterator[ReflectorServer]:
    limits = getattr(request, "param", None) or Limits()
    srv = ReflectorServer(("127.0.0.1", 0), token=TOKEN, limits=limits)
    threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1},
                     daemon=True).start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()


def _eof(s: socket.socket) -> bool:
    """Whether the reflector closed ``s`` (never waits)."""
    if not select.select([s], [], [], 0)[0]:
        return False
    try:
        return s.recv(4096, socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True  # reset: also closed


@pytest.fixture
def serve_process() -> Iterator[tuple[str, int]]:
    """`pathprobe serve --token` on loopback in its own process (as deployed)."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "pathprobe", "serve", "--listen", f"127.0.0.1:{port}",
         "--token", TOKEN, "--max-time", "60"],
        stderr=subprocess.PIPE, text=True, env=cli_env(), cwd=REPO)
    assert proc.stderr is not None
    try:
        line = proc.stderr.readline()
        assert "reflector listening" in line, line
        yield "127.0.0.1", port
    finally:
        proc.terminate()
        proc.wait(10)


def test_slow_tokenless_clients_cannot_lock_out_a_token_holder(
        serve_process: tuple[str, int]) -> None:
    """320 clients from 320 addresses drip their HELLO; one with the token is still served,
    and the slow ones are cut at the greeting deadline."""
    slow: list[socket.socket] = []
    try:
        t_start = time.monotonic()
        for i in range(320):
            s = socket.socket()
            s.bind((f"127.0.{1 + i // 200}.{1 + i % 200}", 0))
            s.settimeout(3)
            s.connect(serve_process)
            s.send(b"H")
            slow.append(s)
        last_connect = time.monotonic()
        assert last_connect - t_start < Limits().greeting_s, "too slow to set up"
        for s in slow:  # still dripping while the token holder comes
            if not _eof(s):
                s.send(b"E")
        t0 = time.monotonic()
        with socket.create_connection(serve_process, timeout=5) as c:
            c.sendall(rp.build_request(rp.HelloRequest(TOKEN)))
            hello = rp.parse_hello(c.makefile("rb").readline().decode())
        waited = time.monotonic() - t0
        assert hello is not None and hello.peer == "127.0.0.1", hello
        assert waited < 2.0, waited
        # Every slow client is gone by its 3 s greeting deadline (+ reaper slack).
        deadline = last_connect + Limits().greeting_s + 1.5
        alive = list(slow)
        while alive and time.monotonic() < deadline:
            select.select(alive, [], [], 0.1)
            alive = [s for s in alive if not _eof(s)]
        assert not alive, f"{len(alive)} slow clients still connected"
    finally:
        for s in slow:
            s.close()


@pytest.mark.parametrize("loopback_reflector", [Limits(lifetime_s=1.5, idle_s=5.0)],
                         indirect=True)
def test_lifetime_cuts_a_slow_sink(loopback_reflector: ReflectorServer) -> None:
    t0 = time.monotonic()
    with socket.create_connection(loopback_reflector.server_address[:2], timeout=3) as c:
        f = c.makefile("rb")
        c.sendall(rp.build_request(rp.HelloRequest(TOKEN)))
        assert rp.parse_hello(f.readline().decode()) is not None
        c.sendall(rp.build_request(rp.SinkRequest(1000)))
        cut = None
        for _ in range(40):  # one byte every 0.1 s: never idle, 4 s at most
            try:
                c.send(b"r")
            except OSError:
                cut = time.monotonic() - t0
                break
            if select.select([c], [], [], 0.1)[0] and _eof(c):
                cut = time.monotonic() - t0
                break
        assert cut is not None and 1.3 <= cut <= 2.3, cut


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("value", ["inf", "nan", "-1", "-inf"])
def test_serve_max_time_must_be_finite(value: str) -> None:
    r = subprocess.run([sys.executable, "-m", "pathprobe", "serve", "--listen",
                        f"127.0.0.1:{_free_port()}", f"--max-time={value}"],
                       capture_output=True, text=True, timeout=20, env=cli_env(), cwd=REPO,
                       check=False)
    assert r.returncode == 2 and "max-time" in r.stderr and "Traceback" not in r.stderr


def test_serve_rejects_an_unusable_token() -> None:
    r = subprocess.run([sys.executable, "-m", "pathprobe", "serve", "--listen",
                        f"127.0.0.1:{_free_port()}", "--token", "s3cr\u00e9t"],
                       capture_output=True, text=True, timeout=20, env=cli_env(), cwd=REPO,
                       check=False)
    assert r.returncode == 2 and "token" in r.stderr


def test_sigterm_removes_the_throwaway_key(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "pathprobe", "serve", "--tls", "--listen",
         f"127.0.0.1:{_free_port()}", "--max-time", "60"],
        stderr=subprocess.PIPE, text=True, env=cli_env({"TMPDIR": str(tmp_path)}), cwd=REPO)
    assert proc.stderr is not None
    try:
        line = proc.stderr.readline()
        assert "reflector listening" in line and "TLS" in line, line
        made = list(tmp_path.glob("pathprobe-serve-*/reflector.key"))
        assert len(made) == 1
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(10) == 0
        assert not made[0].parent.exists()
        assert "reflector stopped" in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
