"""Each lab fault is really in effect, proven with independent tools
(ping, curl, tcpdump, plain sockets), at several sizes, on both legs."""

from __future__ import annotations

import re
import socket
import subprocess
import time
from pathlib import Path

import pytest

from pathprobe.lab import topology as topo
from pathprobe.lab.netns import run_in_netns
from pathprobe.probes import kernel
from tests.conftest import Lab

PROXY = topo.PROXY_URL
URL = f"https://{topo.UPSTREAM_NAME}"
IP_PMTUDISC_PROBE, IP_MTU_DISCOVER = 3, 10

# (node that pings, destination) per leg: leg 1 fmc->proxy, leg 2 proxy->upstream.
PATHS = {1: ("fmc", topo.PROXY_V4), 2: ("proxy", topo.UPSTREAM_V4)}
PATHS_V6 = {1: ("fmc", topo.PROXY_V6), 2: ("proxy", topo.UPSTREAM_V6)}


def ping(lab: Lab, node: str, dst: str, packet_size: int) -> subprocess.CompletedProcess[str]:
    """One DF echo whose IP packet is exactly packet_size bytes."""
    v6 = ":" in dst
    payload = packet_size - (48 if v6 else 28)
    return lab.run(["ping", "-6" if v6 else "-4", "-n", "-c", "1", "-W", "1", "-M", "do",
                    "-s", str(payload), dst], node=node, timeout=10)


def curl(lab: Lab, *args: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    return lab.run(["curl", "-sk", "-x", PROXY, *args], timeout=timeout)


def udp_arrives(lab: Lab, src: str, dst_node: str, dst_ip: str, size: int) -> bool:
    """Send one DF UDP datagram making an IP packet of ``size`` bytes; did it arrive?"""
    receiver = run_in_netns(lab.ns(dst_node), lambda: _bound_udp(dst_ip))
    try:
        def send() -> None:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_PROBE)
                s.sendto(b"x" * (size - 28), (dst_ip, receiver.getsockname()[1]))
        run_in_netns(lab.ns(src), send)
        receiver.settimeout(1.0)
        try:
            data = receiver.recv(65535)
        except TimeoutError:
            return False
        return len(data) == size - 28
    finally:
        receiver.close()


def _bound_udp(ip: str) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((ip, 0))
    return s


@pytest.mark.parametrize("leg", [1, 2])
@pytest.mark.parametrize("mtu", [1280, 1400])
def test_router_mtu_sends_frag_needed_with_the_mtu(lab: Lab, leg: int, mtu: int) -> None:
    lab.up("mtu", leg=leg, param=mtu)
    node, dst = PATHS[leg]
    assert ping(lab, node, dst, mtu).returncode == 0
    too_big = ping(lab, node, dst, mtu + 1)
    assert too_big.returncode != 0
    assert re.search(rf"Frag needed and DF set \(mtu = {mtu}\)", too_big.stdout), too_big.stdout


def test_router_mtu_ipv6_sends_packet_too_big(lab: Lab) -> None:
    lab.up("mtu", leg=1, param=1400)
    node, dst = PATHS_V6[1]
    assert ping(lab, node, dst, 1400).returncode == 0
    too_big = ping(lab, node, dst, 1401)
    assert too_big.returncode != 0
    assert "Packet too big: mtu=1400" in too_big.stdout, too_big.stdout


@pytest.mark.parametrize(("scenario", "size"), [("mtu-noicmp", 1400), ("blackhole", 1372),
                                                ("blackhole", 1300)])
@pytest.mark.parametrize("leg", [1, 2])
def test_silent_drop_above_size_without_icmp(lab: Lab, scenario: str, size: int,
                                             leg: int) -> None:
    lab.up(scenario, leg=leg, param=size)
    node, dst = PATHS[leg]
    assert ping(lab, node, dst, size).returncode == 0
    lost = ping(lab, node, dst, size + 1)
    assert lost.returncode != 0
    assert "Frag needed" not in lost.stdout and "From " not in lost.stdout, lost.stdout


def test_blackhole_ipv6(lab: Lab) -> None:
    lab.up("blackhole", leg=2, param=1400)
    node, dst = PATHS_V6[2]
    assert ping(lab, node, dst, 1400).returncode == 0
    lost = ping(lab, node, dst, 1401)
    assert lost.returncode != 0 and "Packet too big" not in lost.stdout


def test_down_only_blackhole_passes_up_and_drops_down(lab: Lab) -> None:
    lab.up("blackhole", leg=1, direction="down", param=1300)
    # Up: a large datagram from the fmc reaches the proxy.
    assert udp_arrives(lab, "fmc", "proxy", topo.PROXY_V4, 1500)
    # Down: the same size from the proxy to the fmc vanishes; 1300 passes.
    assert not udp_arrives(lab, "proxy", "fmc", topo.FMC_V4, 1301)
    assert udp_arrives(lab, "proxy", "fmc", topo.FMC_V4, 1300)


def test_up_only_mtu_leaves_down_direction_alone(lab: Lab) -> None:
    lab.up("mtu", leg=2, direction="up", param=1300)
    assert not udp_arrives(lab, "proxy", "upstream", topo.UPSTREAM_V4, 1400)
    assert udp_arrives(lab, "upstream", "proxy", topo.PROXY_UPSTREAM_SIDE_V4, 1500)


def _capture(lab: Lab, bpf: str, workdir: Path) -> tuple[subprocess.Popen[bytes], Path]:
    pcap = workdir / "cap.pcap"
    # --immediate-mode: deliver each packet at once (else the ring buffer holds it
    # until its block times out and a quick SIGTERM loses it); -Z root: write tmp_path.
    proc = subprocess.Popen(["ip", "netns", "exec", lab.ns("fmc"), "tcpdump", "--immediate-mode",
                             "-Z", "root", "-i", topo.ifname("r1"), "-U", "-n", "-w", str(pcap),
                             bpf],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    line = proc.stderr.readline()  # "listening on ..." once the capture is live
    assert b"listening" in line, line
    return proc, pcap


def _read(pcap: Path) -> str:
    return subprocess.run(["tcpdump", "-n", "-r", str(pcap)], capture_output=True, text=True,
                          check=False).stdout


@pytest.mark.parametrize("mss", [1300, 1200])
def test_clamp_rewrites_the_synack_mss_seen_by_the_fmc(lab: Lab, tmp_path: Path,
                                                       mss: int) -> None:
    lab.up("clamp", param=mss)
    cap, pcap = _capture(lab, "tcp[tcpflags] & tcp-syn != 0", tmp_path)
    try:
        assert curl(lab, "-o", "/dev/null", "-w", "%{http_code}", f"{URL}/").stdout == "200"
        time.sleep(0.2)
    finally:
        cap.terminate()
        cap.wait(5)
    text = _read(pcap)
    syn = [ln for ln in text.splitlines() if "Flags [S]," in ln]
    synack = [ln for ln in text.splitlines() if "Flags [S.]," in ln]
    assert syn and synack, text
    assert "mss 1460" in syn[0]  # the fmc sends its own MSS
    assert f"mss {mss}" in synack[0]  # and receives the clamped one


def test_rst_on_large_segment_while_icmp_passes(lab: Lab, tmp_path: Path) -> None:
    lab.up("rst", param=1300)
    assert ping(lab, "fmc", topo.PROXY_V4, 1500).returncode == 0  # ICMP is not affected
    cap, pcap = _capture(lab, "tcp[tcpflags] & tcp-rst != 0 or greater 1300", tmp_path)
    try:
        upload = curl(lab, "-o", "/dev/null", "-w", "%{http_code}", "--data-binary",
                      "@/usr/bin/ls", f"{URL}/", timeout=20)
        time.sleep(0.2)
    finally:
        cap.terminate()
        cap.wait(5)
    assert upload.returncode != 0  # the upload is reset
    text = _read(pcap)
    assert re.search(rf"{re.escape(topo.PROXY_V4)}\.{topo.PROXY_PORT} > .*Flags \[R", text), text
    # Small requests still work: the reset is about size, not the port.
    assert curl(lab, "-o", "/dev/null", "-w", "%{http_code}", f"{URL}/bytes/10").stdout == "200"


def test_stall_stops_a_download_after_the_quota(lab: Lab) -> None:
    lab.up("stall", param=65536)
    r = curl(lab, "-o", "/dev/null", "-m", "4", "-w", "%{size_download}",
             f"{URL}/bytes/1000000", timeout=20)
    assert r.returncode == 28  # curl's operation timeout: the transfer stalled
    assert 0 < int(r.stdout) < 65536
    small = curl(lab, "-o", "/dev/null", "-w", "%{http_code}", f"{URL}/bytes/1000")
    assert small.stdout == "200"


def test_healthy_lab_serves_large_bodies_and_posts(lab: Lab) -> None:
    lab.up("healthy")
    r = curl(lab, "-o", "/dev/null", "-w", "%{http_code} %{size_download}", f"{URL}/")
    assert r.stdout == f"200 {topo.DEFAULT_BODY_BYTES}"
    post = curl(lab, "--data-binary", "@/usr/bin/ls", f"{URL}/")
    size = Path("/usr/bin/ls").stat().st_size
    assert post.stdout.strip() == f"received {size}"
    v6 = lab.run(["curl", "-sk", "-x", f"http://[{topo.PROXY_V6}]:{topo.PROXY_PORT}", "-o",
                  "/dev/null", "-w", "%{http_code}", f"{URL}/bytes/5000"])
    assert v6.stdout == "200"


@pytest.mark.parametrize(("scenario", "code"), [("acl", "403"), ("upstream-down", "503")])
def test_proxy_refusals(lab: Lab, scenario: str, code: str) -> None:
    lab.up(scenario)
    r = curl(lab, "-o", "/dev/null", "-w", "%{http_connect}", f"{URL}/")
    assert r.stdout == code


def test_denied_name_is_refused_even_by_the_open_proxy(lab: Lab) -> None:
    lab.up("healthy")
    r = curl(lab, "-o", "/dev/null", "-w", "%{http_connect}", f"https://{topo.DENIED_NAME}/")
    assert r.stdout == "403"
    # The refusal is by name only: the same address by IP (reverse lookup) is allowed.
    by_ip = curl(lab, "-o", "/dev/null", "-w", "%{http_connect}", f"https://{topo.UPSTREAM_V4}/")
    assert by_ip.stdout == "200"


@pytest.mark.parametrize(("scenario", "scheme", "flag"), [
    ("auth-basic", "Basic", "--proxy-basic"), ("auth-digest", "Digest", "--proxy-digest")])
def test_auth_scenarios_challenge_and_accept_credentials(lab: Lab, scenario: str, scheme: str,
                                                         flag: str) -> None:
    lab.up(scenario)
    anon = curl(lab, "-v", "-o", "/dev/null", "-w", "%{http_connect}", f"{URL}/")
    assert anon.stdout == "407"
    offered = re.findall(r"< Proxy-Authenticate: (\w+)", anon.stderr)
    assert offered == [scheme]
    ok = curl(lab, flag, "-U", f"{topo.LAB_USER}:{topo.LAB_PASSWORD}", "-o", "/dev/null",
              "-w", "%{http_code}", f"{URL}/bytes/100")
    assert ok.stdout == "200", ok.stderr
    wrong = curl(lab, flag, "-U", f"{topo.LAB_USER}:wrong", "-o", "/dev/null", "-w",
                 "%{http_connect}", f"{URL}/bytes/100")
    assert wrong.stdout == "407"


def test_ntlm_only_proxy_offers_only_ntlm(lab: Lab) -> None:
    lab.up("auth-ntlm")
    anon = curl(lab, "-v", "-o", "/dev/null", "-w", "%{http_connect}", f"{URL}/")
    assert anon.stdout == "407"
    assert re.findall(r"< Proxy-Authenticate: (\w+)", anon.stderr) == ["NTLM"]


def test_composed_faults_apply_together(lab: Lab, tmp_path: Path) -> None:
    lab.up("article")
    # Leg 2 up drops > 1400: a large upload through the tunnel stalls ...
    upload = curl(lab, "-o", "/dev/null", "-m", "3", "--data-binary", "@/usr/bin/ls",
                  f"{URL}/")
    assert upload.returncode == 28
    # ... while 1400-byte packets pass and the clamp is in place on leg 1.
    assert ping(lab, "proxy", topo.UPSTREAM_V4, 1400).returncode == 0
    assert ping(lab, "proxy", topo.UPSTREAM_V4, 1401).returncode != 0


def test_no_route_leaves_the_lab(lab: Lab) -> None:
    """Safety: a lab namespace cannot reach anything outside 198.18.0.0/15 and 2001:db8::/32."""
    lab.up("healthy")
    r = lab.run(["ip", "route", "get", "192.0.2.1"])  # TEST-NET-1: never sent, only looked up
    assert r.returncode != 0 and "unreachable" in r.stderr
    routes = lab.run(["ip", "-4", "route", "show"], node="r1").stdout
    assert "default" not in routes


def _retransmissions_of_three_writes(packet_size: int) -> int:
    """Open a TCP connection to the proxy, send three writes that each make one IP packet of
    ``packet_size`` bytes, wait until all are acknowledged: how many segments were resent."""
    with socket.create_connection((topo.PROXY_V4, topo.PROXY_PORT), timeout=5) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        overhead = 40 + (12 if kernel.tcp_info(s).timestamps else 0)
        for _ in range(3):
            s.sendall(b"x" * (packet_size - overhead))
            time.sleep(0.05)
        deadline = time.monotonic() + 5
        while kernel.tcp_info(s).unacked and time.monotonic() < deadline:
            time.sleep(0.02)
        info = kernel.tcp_info(s)
        assert info.unacked == 0, "the proxy never acknowledged the writes"
        return info.total_retrans


def test_drop_once_loses_one_packet_of_that_size_and_no_other(lab: Lab) -> None:
    lab.up("healthy", faults=["drop-once:1:up:200"])
    fmc = lab.ns("fmc")
    assert run_in_netns(fmc, lambda: _retransmissions_of_three_writes(201)) == 0
    assert run_in_netns(fmc, lambda: _retransmissions_of_three_writes(200)) >= 1
    assert run_in_netns(fmc, lambda: _retransmissions_of_three_writes(200)) == 0
