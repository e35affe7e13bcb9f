"""`pathprobe analyze` through the real CLI on captures of what people actually send
(issue 20 items 1, 2, 3, 5, 7; issue 19 item 4): any TCP capture, plain-HTTP proxying,
captures taken on the proxy, ICMP on its own, and no false alarms.

The captures are built here packet by packet (scapy), each the smallest that shows the
case; the lab-recorded ones are in tests/lab/test_analyze.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from pathprobe.schema import load_schema
from tests.conftest import cli_env
from tests.unit.test_capture_analysis import CLIENT_HELLO, SERVER_HELLO, write_pcap

FMC, PROXY, PROXY_OUT, UPSTREAM, ROUTER = (
    "198.18.1.2", "198.18.2.2", "198.18.3.1", "198.18.4.2", "198.18.1.1")
FMC6, SERVER6, ROUTER6 = "2001:db8:1::2", "2001:db8:4::2", "2001:db8:1::1"
NAME = "upstream.pathprobe.test"


@dataclass
class Conv:
    """One TCP conversation client:cport <-> server:sport, seq/ack kept right."""

    client: str = FMC
    server: str = PROXY
    cport: int = 40000
    sport: int = 3128
    cseq: int = 1000
    sseq: int = 7000
    frames: list[tuple[float, bytes]] = field(default_factory=list)

    def pkt(self, ts: float, up: bool, flags: str, payload: bytes = b"",
            seq: int | None = None, ack: int | None = None,
            options: Sequence[tuple[str, object]] = (), window: int = 502) -> None:
        from scapy.layers.inet import IP, TCP
        from scapy.layers.inet6 import IPv6
        from scapy.layers.l2 import Ether

        src, dst = (self.client, self.server) if up else (self.server, self.client)
        sp, dp = (self.cport, self.sport) if up else (self.sport, self.cport)
        mine = self.cseq if up else self.sseq
        theirs = self.sseq if up else self.cseq
        tcp = TCP(sport=sp, dport=dp, flags=flags, seq=mine if seq is None else seq,
                  ack=(theirs if ack is None else ack) if "A" in flags else 0,
                  options=list(options), window=window)
        ip = IPv6(src=src, dst=dst) if ":" in src else IP(src=src, dst=dst, flags="DF")
        pkt = Ether() / ip / tcp
        if payload:
            pkt = pkt / payload
        self.frames.append((ts, bytes(pkt)))

    def handshake(self, ts: float, mss: int = 1460, peer_mss: int = 1460) -> None:
        self.pkt(ts, True, "S", options=[("MSS", mss)])
        self.cseq += 1
        self.pkt(ts + 0.001, False, "SA", options=[("MSS", peer_mss)])
        self.sseq += 1
        self.pkt(ts + 0.002, True, "A")

    def send(self, ts: float, up: bool, payload: bytes) -> int:
        seq = self.cseq if up else self.sseq
        self.pkt(ts, up, "PA", payload)
        if up:
            self.cseq += len(payload)
        else:
            self.sseq += len(payload)
        return seq

    def ack(self, ts: float, up: bool) -> None:
        self.pkt(ts, up, "A")

    def close(self, ts: float) -> None:
        self.pkt(ts, True, "FA")
        self.cseq += 1
        self.pkt(ts + 0.001, False, "FA")
        self.sseq += 1
        self.pkt(ts + 0.002, True, "A")


def ether(pkt: Any) -> bytes:
    from scapy.layers.l2 import Ether

    return bytes(Ether() / pkt)


def cli(tmp_path: Path, frames: Sequence[tuple[float, bytes]], *args: str
        ) -> tuple[int, dict[str, Any], str]:
    """`pathprobe analyze CAPTURE --json ARGS` in a subprocess: (exit status, JSON, stderr)."""
    cap = write_pcap(tmp_path / "t.pcap", sorted(frames, key=lambda x: x[0]))
    r = subprocess.run([sys.executable, "-m", "pathprobe", "analyze", str(cap), "--json", *args],
                       capture_output=True, text=True, env=cli_env(), timeout=120, check=False)
    assert "Traceback" not in r.stderr, r.stderr
    doc = json.loads(r.stdout) if r.stdout.strip() else {}
    if doc:
        jsonschema.validate(doc, load_schema())
    return r.returncode, doc, r.stderr


def verdict(doc: dict[str, Any], code: str) -> dict[str, Any]:
    found = [v for v in doc["verdicts"] if v["code"] == code]
    assert len(found) == 1, [v["code"] for v in doc["verdicts"]]
    return found[0]


def codes(doc: dict[str, Any]) -> list[str]:
    return [v["code"] for v in doc["verdicts"]]


def tls_session(c: Conv, ts: float, upload: int = 0) -> None:
    """Handshake, ClientHello, ServerHello, an optional upload the server acknowledges."""
    c.handshake(ts)
    c.send(ts + 0.01, True, CLIENT_HELLO)
    c.send(ts + 0.02, False, SERVER_HELLO)
    for i in range(upload):
        c.send(ts + 0.03 + i * 0.001, True, b"\x17" * 1448)
    c.send(ts + 0.05, False, b"\x17" * 100)
    c.ack(ts + 0.06, True)
    c.close(ts + 0.1)


# --- item 1: any TCP capture ----------------------------------------------------------------

def test_a_direct_tls_capture_is_analysed_without_options(tmp_path: Path) -> None:
    """No CONNECT anywhere: every connection is analysed, its roles from the handshake."""
    c = Conv(server=UPSTREAM, sport=443)
    tls_session(c, 0.0)
    status, doc, _err = cli(tmp_path, c.frames)
    assert status == 0 and codes(doc) == ["HEALTHY"]
    (row,) = doc["legs"]
    assert row["name"] == "fmc-upstream" and row["client_port"] == 40000
    assert row["target"] == f"{UPSTREAM}:443" and row["tls"] == "hello+server"


def test_connections_without_a_syn_are_analysed_from_where_the_capture_starts(
        tmp_path: Path) -> None:
    c = Conv(server=UPSTREAM, sport=443, cport=50123)
    tls_session(c, 0.0)
    c.frames = c.frames[3:]                       # the capture started after the handshake
    status, doc, _err = cli(tmp_path, c.frames)
    assert status == 0
    (row,) = doc["legs"]
    assert (row["client_port"], row["mss_sent"]) == (50123, None)
    assert "capture started mid-connection (no SYN): MSS and options unknown" in row["notes"]


def test_the_server_is_the_listener_even_with_the_higher_port(tmp_path: Path) -> None:
    """A client on port 1025 talking to a server on 8443, captured mid-stream: the port
    that answered a SYN earlier is the listener, whatever the port numbers say."""
    first = Conv(server=UPSTREAM, sport=8443, cport=1025)
    tls_session(first, 0.0)
    later = Conv(server=UPSTREAM, sport=8443, cport=1026)
    tls_session(later, 1.0)
    later.frames = later.frames[3:]
    _status, doc, _err = cli(tmp_path, first.frames + later.frames)
    assert sorted(r["client_port"] for r in doc["legs"]) == [1025, 1026]


def test_ip_without_tcp_is_a_report_and_no_ip_at_all_is_exit_3(tmp_path: Path) -> None:
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import ARP

    udp = [(0.0, ether(IP(src=FMC, dst=UPSTREAM) / UDP(sport=5000, dport=53) / b"q"))]
    status, doc, _err = cli(tmp_path, udp)
    assert status == 0 and codes(doc) == ["HEALTHY"]
    assert any("no TCP connection in the capture" in n for n in doc["notes"])
    arp = [(0.0, ether(ARP(psrc=FMC, pdst=ROUTER)))]
    status, doc, err = cli(tmp_path, arp)
    assert status == 3 and not doc
    assert "no IP packet in 1 frame " in err and len(err.strip().splitlines()) == 1


def test_host_and_port_narrow_the_view(tmp_path: Path) -> None:
    a = Conv(server=UPSTREAM, sport=443, cport=40001)
    tls_session(a, 0.0)
    b = Conv(server="198.18.4.3", sport=80, cport=40002)
    b.handshake(1.0)
    b.send(1.01, True, b"GET / HTTP/1.1\r\nHost: b\r\n\r\n")
    b.send(1.02, False, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    b.close(1.1)
    _s, everything, _e = cli(tmp_path, a.frames + b.frames)
    assert len(everything["legs"]) == 2
    _s, narrowed, _e = cli(tmp_path, a.frames + b.frames, "--port", "80")
    assert [r["client_port"] for r in narrowed["legs"]] == [40002]
    status, _doc, err = cli(tmp_path, a.frames + b.frames, "--host", "198.18.9.9")
    assert status == 3 and "none matching" in err


# --- item 2: plain-HTTP proxying --------------------------------------------------------------

def _plain_http(status_line: bytes, headers: bytes = b"", scheme: str = "http") -> Conv:
    c = Conv()
    c.handshake(0.0)
    c.send(0.01, True, f"GET {scheme}://{NAME}/file HTTP/1.1\r\nHost: {NAME}\r\n\r\n".encode())
    c.send(0.02, False, b"HTTP/1.1 " + status_line + b"\r\n" + headers +
           b"Content-Length: 0\r\n\r\n")
    c.ack(0.03, True)
    c.close(0.1)
    return c


def test_a_plain_http_request_through_the_proxy_is_a_proxied_session(tmp_path: Path) -> None:
    status, doc, _err = cli(tmp_path, _plain_http(b"200 OK").frames)
    assert status == 0 and codes(doc) == ["HEALTHY"]
    (row,) = doc["legs"]
    assert row["name"] == "fmc-proxy" and row["status"] == 200
    assert row["target"] == f"GET {NAME}:80 via {PROXY}:3128"
    # with --port, as the issue saw it, it stays a proxied session (not "direct")
    _s, doc, _e = cli(tmp_path, _plain_http(b"200 OK").frames, "--port", "3128")
    assert doc["legs"][0]["name"] == "fmc-proxy"
    # a scheme in capitals is the same scheme (RFC 3986 3.1; Zeek's http/proxy.pcap sends
    # "GET HTTP://bro.org/", which was a direct session)
    _s, doc, _e = cli(tmp_path, _plain_http(b"200 OK", scheme="HTTP").frames)
    assert [(r["name"], r["target"]) for r in doc["legs"]] == [
        ("fmc-proxy", f"GET {NAME}:80 via {PROXY}:3128")]


def test_a_plain_http_request_refused_for_credentials(tmp_path: Path) -> None:
    c = _plain_http(b"407 Proxy Authentication Required", b"Proxy-Authenticate: Basic realm=x\r\n")
    status, doc, _err = cli(tmp_path, c.frames)
    v = verdict(doc, "PROXY_AUTH_REQUIRED")
    assert status == 1 and v["leg"] == "fmc-proxy"
    assert f"frame 4: GET http://{NAME}:80/... (plain HTTP through the proxy)" in v["evidence"]


def test_a_userinfo_sent_in_a_request_is_never_shown(tmp_path: Path) -> None:
    """RFC 9110 allows no userinfo in a CONNECT target or a Host header; a client that takes
    a proxy URL for the target sends one anyway. The target is in every report: the password
    (or the user) must not be, in any format or encoding."""
    import base64

    connect = Conv()
    connect.handshake(0.0)
    connect.send(0.01, True, f"CONNECT alice:S3cretPw@{NAME}:443 HTTP/1.1\r\n"
                 f"Host: alice:S3cretPw@{NAME}:443\r\n\r\n".encode())
    connect.send(0.02, False, b"HTTP/1.1 200 Connection established\r\n\r\n")
    connect.ack(0.03, True)
    connect.close(0.1)
    direct = Conv(server=UPSTREAM, cport=40001, sport=80)
    direct.handshake(1.0)
    direct.send(1.01, True, b"GET / HTTP/1.1\r\nHost: bob:Hunter22@www.example.test\r\n\r\n")
    direct.send(1.02, False, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    direct.ack(1.03, True)
    direct.close(1.1)
    cap = write_pcap(tmp_path / "t.pcap", sorted(connect.frames + direct.frames))
    secrets = ["S3cretPw", "alice", "Hunter22", "bob:"]
    secrets += [base64.b64encode(s.encode()).decode().rstrip("=") for s in
                ("alice:S3cretPw", "bob:Hunter22")]
    for fmt in (["--json"], [], ["--format", "markdown"], ["--format", "html"],
                ["--format", "tsv"]):
        r = subprocess.run([sys.executable, "-m", "pathprobe", "analyze", str(cap), *fmt],
                           capture_output=True, text=True, env=cli_env(),
                           timeout=120, check=False)
        assert r.returncode == 0, r.stderr
        if fmt == ["--json"]:   # (the other formats wrap the cells)
            assert sorted(row["target"] for row in json.loads(r.stdout)["legs"]) == [
                f"{NAME}:443 via {PROXY}:3128", f"www.example.test at {UPSTREAM}:80"]
        for secret in secrets:
            assert secret not in r.stdout + r.stderr, (fmt, secret)


def test_a_request_the_capture_ends_with_is_not_unanswered(tmp_path: Path) -> None:
    """The capture stops right after a request (a one-packet capture): no verdict on an
    answer nobody could have seen; the same request with 5 s of silence after it is one."""
    c = Conv()
    c.handshake(0.0)
    c.send(0.01, True, f"POST http://{NAME}/x HTTP/1.1\r\nHost: {NAME}\r\n\r\n".encode())
    status, doc, _err = cli(tmp_path, c.frames, "--port", "3128")
    assert status == 0 and codes(doc) == ["HEALTHY"]
    c.ack(5.0, False)
    status, doc, _err = cli(tmp_path, c.frames, "--port", "3128")
    assert status == 1 and verdict(doc, "CONNECT_NO_RESPONSE")["leg"] == "fmc-proxy"


def test_the_origin_s_own_404_through_the_proxy_is_no_proxy_refusal(tmp_path: Path) -> None:
    status, doc, _err = cli(tmp_path, _plain_http(b"404 Not Found").frames)
    assert status == 0 and codes(doc) == ["HEALTHY"]


# --- item 3: a capture taken on the proxy -----------------------------------------------------

def _proxy_side(leg2_mss: int = 1460) -> list[tuple[float, bytes]]:
    """The FMC's CONNECT on leg 1 and the proxy's own connection to the upstream on leg 2
    (from its other address), as tcpdump -i any on the proxy shows them."""
    leg1 = Conv(cport=40000)
    leg1.handshake(0.0)
    leg1.send(0.01, True, f"CONNECT {NAME}:443 HTTP/1.1\r\nHost: {NAME}:443\r\n\r\n".encode())
    leg2 = Conv(client=PROXY_OUT, server=UPSTREAM, cport=51000, sport=443)
    leg2.handshake(0.02, mss=1460, peer_mss=leg2_mss)
    leg1.send(0.03, False, b"HTTP/1.1 200 Connection established\r\n\r\n")
    from pathprobe.wire.tls import client_hello

    hello = client_hello(517, NAME)
    leg1.send(0.04, True, hello)
    leg2.send(0.05, True, hello)
    flight = SERVER_HELLO + b"\x16" * 2000
    leg2.send(0.06, False, flight[:leg2_mss])
    leg1.send(0.07, False, flight[:1448])
    leg1.ack(0.08, True)
    leg2.ack(0.08, True)
    leg2.close(0.2)
    leg1.close(0.21)
    # and an unrelated connection of the proxy's own (not the FMC's request)
    other = Conv(client=PROXY_OUT, server="198.18.4.9", cport=51001, sport=53)
    other.handshake(0.03)
    other.close(0.05)
    return leg1.frames + leg2.frames + other.frames


def test_a_capture_on_the_proxy_shows_both_legs(tmp_path: Path) -> None:
    status, doc, _err = cli(tmp_path, _proxy_side(leg2_mss=1300))
    rows = {r["name"]: r for r in doc["legs"] if r["client_port"] != 51001}
    assert set(rows) == {"fmc-proxy", "proxy-upstream"}
    leg2 = rows["proxy-upstream"]
    assert leg2["target"] == f"{NAME} at {UPSTREAM}:443 for {FMC}:40000"
    assert (leg2["mss_sent"], leg2["mss_received"], leg2["max_seg_down"]) == (1460, 1300, 1300)
    assert (rows["fmc-proxy"]["mss_received"], rows["fmc-proxy"]["max_seg_down"]) == (1460, 1448)
    v = verdict(doc, "MSS_CLAMPED")                    # each leg's own fault on its own leg
    assert v["leg"] == "proxy-upstream" and status == 0
    assert any("captured on the proxy: 1 connection(s)" in n for n in doc["notes"])
    unrelated = [r for r in doc["legs"] if r["client_port"] == 51001]
    assert unrelated[0]["name"] == "fmc-upstream"


def test_the_text_report_names_each_connection_s_leg(tmp_path: Path) -> None:
    cap = write_pcap(tmp_path / "p.pcap", sorted(_proxy_side(), key=lambda x: x[0]))
    r = subprocess.run([sys.executable, "-m", "pathprobe", "analyze", str(cap), "--format",
                        "github"], capture_output=True, text=True, env=cli_env(), timeout=120,
                       check=False)
    assert r.returncode == 0, r.stderr
    head = next(line for line in r.stdout.splitlines() if "client port" in line)
    assert head.split("|")[1].strip() == "leg"
    assert any(line.startswith("| proxy-upstream") and f"for {FMC}:40000" in line
               for line in r.stdout.splitlines())


def test_proxy_filter_narrows_to_the_proxy_s_legs(tmp_path: Path) -> None:
    _s, doc, _e = cli(tmp_path, _proxy_side(), "--proxy", f"{PROXY}:3128")
    assert sorted(r["name"] for r in doc["legs"]) == ["fmc-proxy", "proxy-upstream"]


# --- item 5: ICMP evidence on its own ---------------------------------------------------------

def _too_big(v6: bool) -> list[tuple[float, bytes]]:
    from scapy.layers.inet import ICMP, IP
    from scapy.layers.inet6 import ICMPv6EchoRequest, ICMPv6PacketTooBig, IPv6

    if v6:
        ping = IPv6(src=FMC6, dst=SERVER6) / ICMPv6EchoRequest(id=7, seq=1) / (b"p" * 1452)
        err = IPv6(src=ROUTER6, dst=FMC6) / ICMPv6PacketTooBig(mtu=1400) / bytes(ping)[:1232]
    else:
        ping = IP(src=FMC, dst=UPSTREAM, flags="DF") / ICMP(id=7, seq=1) / (b"p" * 1472)
        err = IP(src=ROUTER, dst=FMC) / ICMP(type=3, code=4, nexthopmtu=1400) / \
            bytes(ping)[:28]
    return [(0.0, ether(ping)), (0.001, ether(err))]


def test_frag_needed_alone_is_a_path_mtu_finding(tmp_path: Path) -> None:
    for v6 in (False, True):
        status, doc, _err = cli(tmp_path, _too_big(v6))
        v = verdict(doc, "PMTU_REDUCED")
        router, src, dst = (ROUTER6, FMC6, SERVER6) if v6 else (ROUTER, FMC, UPSTREAM)
        assert status == 0 and v["leg"] == "fmc-upstream" and v["router"] == router
        assert v["pmtu_high"] == 1400 and v["severity"] == "info"
        assert (f"frame 2: {router} says the next hop MTU is 1400 for a 1500-byte packet from "
                f"{src}") in v["evidence"]
        proto = "ICMPv6" if v6 else "ICMP"
        assert any(e.startswith(f"frame 2: the message quotes the {proto} packet {src} > {dst}")
                   for e in v["evidence"])


def test_frag_needed_quoting_the_other_family_is_read_not_an_internal_error(
        tmp_path: Path) -> None:
    """An ICMPv4 frag-needed quoting an IPv6 TCP packet (or ICMPv6 quoting IPv4): a crafted
    or garbled message, told as what it says (exit 4 before: the quoted addresses were
    read as the outer family's)."""
    from scapy.layers.inet import ICMP, IP, TCP
    from scapy.layers.inet6 import ICMPv6PacketTooBig, IPv6

    for v6 in (False, True):
        quoted = bytes(IP(src=FMC, dst=UPSTREAM) / TCP(sport=40000, dport=443) / (b"x" * 1460)
                       ) if v6 else bytes(IPv6(src=FMC6, dst=SERVER6) / TCP(
                           sport=40000, dport=443) / (b"x" * 1440))[:1200]
        err = (IPv6(src=ROUTER6, dst=FMC6) / ICMPv6PacketTooBig(mtu=1400) if v6
               else IP(src=ROUTER, dst=FMC) / ICMP(type=3, code=4, nexthopmtu=1400)) / quoted
        status, doc, _err = cli(tmp_path, [(0.0, ether(err))])
        v = verdict(doc, "PMTU_REDUCED")
        src = FMC if v6 else FMC6
        assert status == 0 and v["pmtu_high"] == 1400
        assert any(f"1400 for a 1500-byte packet from {src}" in e for e in v["evidence"])


def test_a_too_big_message_for_a_packet_that_fits_proves_nothing(tmp_path: Path) -> None:
    """pcap4j's IcmpV6PacketTooBigPacketTest: 'MTU 12345' for a 51-byte packet was
    PMTU_REDUCED 'MTU at most 12345' (measured). A packet that fits the MTU named cannot
    have drawn the message: it is noted and no verdict rests on it, alone or quoting a
    connection of the capture."""
    from scapy.layers.inet import ICMP, IP, TCP
    from scapy.layers.inet6 import ICMPv6PacketTooBig, IPv6

    for v6 in (False, True):
        src, dst, router = (FMC6, SERVER6, ROUTER6) if v6 else (FMC, UPSTREAM, ROUTER)
        ip = IPv6 if v6 else IP
        syn = ip(src=src, dst=dst) / TCP(sport=40000, dport=443, flags="S", seq=1)
        synack = ip(src=dst, dst=src) / TCP(sport=443, dport=40000, flags="SA", seq=9, ack=2)
        data = ip(src=src, dst=dst) / TCP(sport=40000, dport=443, flags="PA", seq=2, ack=10) \
            / (b"x" * 100)
        err = (IPv6(src=router, dst=src) / ICMPv6PacketTooBig(mtu=1400) if v6 else
               IP(src=router, dst=src) / ICMP(type=3, code=4, nexthopmtu=1400)) / bytes(data)
        lone = (IPv6(src=router, dst=src) / ICMPv6PacketTooBig(mtu=12345) if v6 else
                IP(src=router, dst=src) / ICMP(type=3, code=4, nexthopmtu=1400)) / bytes(
            ip(src=src, dst="198.18.9.9" if not v6 else "2001:db8:9::9") / TCP(dport=80))
        frames = [(0.0, ether(syn)), (0.001, ether(synack)), (0.002, ether(data)),
                  (0.003, ether(err)), (0.004, ether(lone))]
        _status, doc, _err = cli(tmp_path, frames)
        assert "PMTU_REDUCED" not in codes(doc), codes(doc)
        note = next(n for n in doc["notes"] if "did not fit a next-hop MTU" in n)
        size = 140 + (20 if v6 else 0)
        assert note.startswith(f"frame 4: {router} says a {size}-byte packet did not fit a "
                               "next-hop MTU of 1400; it fits") and "2 such message" in note


def _ping(ts: float, size: int, seq: int, answered: bool, dst: str = UPSTREAM
          ) -> list[tuple[float, bytes]]:
    from scapy.layers.inet import ICMP, IP

    out = [(ts, ether(IP(src=FMC, dst=dst, flags="DF") / ICMP(id=9, seq=seq) /
                      (b"p" * (size - 28))))]
    if answered:
        out.append((ts + 0.01, ether(IP(src=dst, dst=FMC) / ICMP(type=0, id=9, seq=seq) /
                                     (b"p" * (size - 28)))))
    return out


def test_a_df_ping_sweep_shows_a_black_hole(tmp_path: Path) -> None:
    frames = [f for i, (size, ok) in enumerate(
        [(600, True), (1000, True), (1400, True), (1450, False), (1500, False), (1000, True)])
        for f in _ping(float(i), size, i, ok)]
    status, doc, _err = cli(tmp_path, frames)
    v = verdict(doc, "PMTU_BLACKHOLE")
    assert status == 1 and (v["pmtu_low"], v["pmtu_high"]) == (1400, 1449)
    assert v["confidence"] == "measured" and v["largest_answered"] == 1400
    assert "frame 7: 2 DF ping(s) to 198.18.4.2 never answered, from 1450 bytes" in v["evidence"]


def test_a_ping_its_sender_fragmented_says_nothing_of_the_path_mtu(tmp_path: Path) -> None:
    """Suricata's ipv6-malformed-fragments-16: a 20 KB echo request sent as 1,486-byte
    fragments, never answered, after a small answered ping, was a black hole 'between 58
    and 1471'. Its fragments fit the link; only a ping that crossed whole tests a size."""
    from scapy.layers.inet6 import (
        ICMPv6EchoReply,
        ICMPv6EchoRequest,
        IPv6,
        IPv6ExtHdrFragment,
        fragment6,
    )

    frames = [(0.0, ether(IPv6(src=FMC6, dst=ROUTER6) / ICMPv6EchoRequest(id=7, seq=1))),
              (0.01, ether(IPv6(src=ROUTER6, dst=FMC6) / ICMPv6EchoReply(id=7, seq=1)))]
    big = IPv6(src=FMC6, dst=ROUTER6) / IPv6ExtHdrFragment() / ICMPv6EchoRequest(
        id=7, seq=2, data=b"x" * 4000)
    frames += [(1.0 + i * 0.001, ether(f)) for i, f in enumerate(fragment6(big, 1486))]
    frames += [(2.0, ether(IPv6(src=FMC6, dst=ROUTER6) / ICMPv6EchoRequest(id=7, seq=3))),
               (2.01, ether(IPv6(src=ROUTER6, dst=FMC6) / ICMPv6EchoReply(id=7, seq=3)))]
    status, doc, err = cli(tmp_path, frames)
    assert status == 0 and codes(doc) == ["HEALTHY"], (err, codes(doc))
    assert any("IP fragments in the capture" in n for n in doc["notes"])


def test_one_larger_ping_lost_is_only_inferred(tmp_path: Path) -> None:
    """One unanswered ping of a size: a lost packet looks the same (ping -c 3 tells)."""
    frames = [f for i, (size, ok) in enumerate([(1000, True), (1500, False), (1000, True)])
              for f in _ping(float(i), size, i, ok)]
    status, doc, _err = cli(tmp_path, frames)
    v = verdict(doc, "PMTU_BLACKHOLE")
    assert status == 1 and v["confidence"] == "inferred"
    assert any("only one ping that large" in e for e in v["evidence"])


def test_pings_lost_below_the_minimum_mtu_are_loss_not_a_path_mtu(tmp_path: Path) -> None:
    frames = [f for i, (size, ok) in enumerate([(100, True), (300, True), (500, False),
                                                 (100, True)])
              for f in _ping(float(i), size, i, ok)]
    status, doc, _err = cli(tmp_path, frames)
    assert status == 0 and codes(doc) == ["HEALTHY"]
    assert f"frame 3: 3 DF ping(s) to {UPSTREAM} answered, up to 300 bytes" in doc["notes"]


def test_pings_alone_answered_are_no_measured_health(tmp_path: Path) -> None:
    """Arkime's icmp-frame-relay: ten small pings answered, no TCP. Nothing is wrong, but
    no connection was judged: HEALTHY is inferred, and says so (it said '0 connection(s):
    no refusal, stall, reset, black hole or MSS change seen', measured)."""
    frames = [f for i in range(3) for f in _ping(float(i), 100, i, True)]
    status, doc, _err = cli(tmp_path, frames)
    (v,) = doc["verdicts"]
    assert status == 0 and v["code"] == "HEALTHY" and v["confidence"] == "inferred"
    assert v["evidence"] == ["no TCP connection to judge in the capture: what its pings, ICMP "
                             "messages and DNS queries show, if it holds any, is in the notes"]
    assert f"frame 1: 3 DF ping(s) to {UPSTREAM} answered, up to 100 bytes" in doc["notes"]
    assert doc["summary"] == "fmc-upstream healthy"   # (what the pings crossed is measured)


def test_ttl_exceeded_hops_are_listed(tmp_path: Path) -> None:
    from scapy.layers.inet import ICMP, IP, UDP

    probe = IP(src=FMC, dst=UPSTREAM, ttl=1) / UDP(sport=40000, dport=33434)
    hop = IP(src=ROUTER, dst=FMC) / ICMP(type=11, code=0) / bytes(probe)
    _s, doc, _e = cli(tmp_path, [(0.0, ether(probe)), (0.01, ether(hop))])
    assert f"frame 2: TTL exceeded at {ROUTER} on the way to {UPSTREAM}" in doc["notes"]


# --- item 7: no false alarms ------------------------------------------------------------------
# (--port chooses the connections the same way before and after issue 20, so these tests
# fail on the old rules, not on the old refusal of captures without a CONNECT)
PORT443 = ("--port", "443")
PORT80 = ("--port", "80")


def test_a_gap_the_peer_acknowledged_is_capture_loss(tmp_path: Path) -> None:
    c = Conv(server=UPSTREAM, sport=443)
    c.handshake(0.0)
    c.send(0.01, True, CLIENT_HELLO)
    c.send(0.02, False, SERVER_HELLO)
    c.sseq += 1448                               # the capture dropped a full segment
    c.send(0.03, False, b"\x17" * 44)            # "MTU at least 84" said the old code
    c.ack(0.04, True)                            # the FMC acknowledged all of it
    c.pkt(1.5, True, "FA")
    status, doc, _err = cli(tmp_path, c.frames, *PORT443)
    assert status == 0 and codes(doc) == ["HEALTHY"], doc["verdicts"]
    assert any("capture loss" in n for n in doc["legs"][0]["notes"])


def _stuck(c: Conv, size: int, ts: float) -> None:
    seq = c.send(ts, True, b"\x17" * size)
    for i in range(1, 4):
        c.pkt(ts + i, True, "PA", b"\x17" * size, seq=seq)


def test_a_black_hole_needs_smaller_segments_to_get_through(tmp_path: Path) -> None:
    """Retransmissions of the only segment ever sent: the connection died, no size shown."""
    c = Conv(server=UPSTREAM, sport=443)
    c.handshake(0.0)
    _stuck(c, 1448, 0.01)
    _status, doc, _err = cli(tmp_path, c.frames, *PORT443)
    assert "PMTU_BLACKHOLE" not in codes(doc)


def test_no_pmtu_verdict_below_the_ipv6_minimum_mtu(tmp_path: Path) -> None:
    c = Conv(client=FMC6, server=SERVER6, sport=443)
    c.handshake(0.0)
    c.send(0.01, True, b"\x16" * 300)
    c.ack(0.02, False)
    _stuck(c, 1000, 0.03)                        # a 1060-byte packet: every v6 path carries it
    _status, doc, _err = cli(tmp_path, c.frames, *PORT443)
    assert "PMTU_BLACKHOLE" not in codes(doc)
    # the same at 1400 bytes (a 1460-byte packet) is a black hole
    d = Conv(client=FMC6, server=SERVER6, sport=443)
    d.handshake(0.0)
    d.send(0.01, True, b"\x16" * 300)
    d.ack(0.02, False)
    _stuck(d, 1400, 0.03)
    _status, doc, _err = cli(tmp_path, d.frames, *PORT443)
    assert verdict(doc, "PMTU_BLACKHOLE")["pmtu_low"] == 360


def test_one_refused_syn_among_successes_is_a_warning_and_says_server(tmp_path: Path) -> None:
    refused = Conv(server=UPSTREAM, sport=443, cport=40001)
    refused.pkt(0.0, True, "S", options=[("MSS", 1460)])
    refused.pkt(0.001, False, "RA", ack=refused.cseq + 1)
    ok = [Conv(server=UPSTREAM, sport=443, cport=40002 + i) for i in range(3)]
    for i, c in enumerate(ok):
        tls_session(c, 1.0 + i)
    frames = refused.frames + [f for c in ok for f in c.frames]
    status, doc, _err = cli(tmp_path, frames, *PORT443)
    v = verdict(doc, "PROXY_UNREACHABLE")
    assert status == 1 and v["severity"] == "warning" and v["others_connected"] == 3
    status, _doc, _err = cli(tmp_path, frames, "--fail-on", "critical", *PORT443)
    assert status == 0
    words = json.dumps([doc["summary"], doc["recommendations"], v["evidence"]])
    assert "server" in doc["summary"] and "proxy" not in words.lower()
    assert doc["summary"] == "no TCP connection to the server (once; others succeeded)"
    # two refusals among the successes are not 'once'
    again = Conv(server=UPSTREAM, sport=443, cport=40009)
    again.pkt(0.5, True, "S", options=[("MSS", 1460)])
    again.pkt(0.501, False, "RA", ack=again.cseq + 1)
    _status, doc, _err = cli(tmp_path, frames + again.frames, *PORT443)
    assert doc["summary"] == "no TCP connection to the server (2 times; others succeeded)"


def test_a_direct_session_s_words_name_the_server(tmp_path: Path) -> None:
    """A TLS session straight to a server that stops answering, and a black hole on it:
    no proxy, no tunnel, no 'diagnose --proxy' in what the report says."""
    d = Conv(server=UPSTREAM, sport=443)
    d.handshake(0.0)
    d.send(0.01, True, CLIENT_HELLO)
    d.ack(0.02, False)
    d.pkt(10.0, True, "FA")
    _status, doc, _err = cli(tmp_path, d.frames, *PORT443)
    assert doc["summary"] == "fmc-upstream TLS session opens, but the server never answers " \
        "(inferred)"
    c = Conv(server=UPSTREAM, sport=443)
    c.handshake(0.0)
    c.send(0.01, True, b"\x16" * 600)
    c.ack(0.02, False)
    _stuck(c, 1448, 0.03)
    _status, doc2, _err = cli(tmp_path, c.frames, *PORT443)
    assert "toward the server" in doc2["summary"]
    for report in (doc, doc2):
        words = json.dumps([report["summary"], report["recommendations"],
                            [v["evidence"] for v in report["verdicts"]]]).lower()
        assert "proxy" not in words and "tunnel" not in words, words


def test_a_refused_syn_alone_is_critical(tmp_path: Path) -> None:
    refused = Conv(server=UPSTREAM, sport=443, cport=40001)
    refused.pkt(0.0, True, "S", options=[("MSS", 1460)])
    refused.pkt(0.001, False, "RA", ack=refused.cseq + 1)
    status, doc, _err = cli(tmp_path, refused.frames, *PORT443)
    v = verdict(doc, "PROXY_UNREACHABLE")
    assert status == 1 and v["severity"] == "critical" and v["leg"] == "fmc-upstream"
    assert doc["summary"] == "no TCP connection to the server"
    assert "proxy" not in json.dumps(doc["recommendations"]).lower()


def _unanswered(client: str, cport: int) -> Conv:
    """A SYN to the upstream, sent again 1 s later, and nothing back."""
    c = Conv(client=client, server=UPSTREAM, sport=443, cport=cport)
    for t in (0.0, 1.0):
        c.pkt(t + cport / 1000, True, "S", options=[("MSS", 1460)])
    return c


def test_unanswered_syns_from_many_hosts_in_a_one_way_capture_are_a_warning(
        tmp_path: Path) -> None:
    """StopDDoS's captures (a SYN flood from 37,586 spoofed addresses, a tap of one way):
    every SYN resent, nothing ever came back, and it was a critical PROXY_UNREACHABLE,
    'measured'. With not one connection seen from both ends, a capture of one direction
    looks the same as a dead server: said, and a warning."""
    flood = [f for i in range(3) for f in _unanswered(f"198.18.1.{10 + i}", 40001 + i).frames]
    status, doc, _err = cli(tmp_path, flood)
    v = verdict(doc, "PROXY_UNREACHABLE")
    assert (status, v["severity"], v["confidence"]) == (1, "warning", "inferred"), v
    assert v["connections"] == 3 and "others_connected" not in v, v
    assert "unanswered SYNs came from 3 different addresses, and not one TCP connection " \
        "analysed has packets from both ends: a capture of one direction (a tap or SPAN " \
        "session of one way) or a SYN flood looks the same as a server that never " \
        "answers" in " ".join(v["evidence"]), v["evidence"]
    assert doc["summary"] == "no TCP connection to the server (inferred)"
    status, _doc, _err = cli(tmp_path, flood, "--fail-on", "critical")
    assert status == 0
    # One client (the FMC's own capture: its interface sees both ways), or any connection
    # seen from both ends (the capture holds the way back): unreachable, critical.
    other = _served("198.18.1.20", "198.18.4.3", 40009, 5.0).frames
    for frames in (_unanswered(FMC, 40001).frames + _unanswered(FMC, 40002).frames,
                   flood + other):
        status, doc, _err = cli(tmp_path, frames)
        v = verdict(doc, "PROXY_UNREACHABLE")
        assert (status, v["severity"], v["confidence"]) == (1, "critical", "measured"), v
        assert not any("different addresses" in e for e in v["evidence"]), v["evidence"]


def _refused(client: str, server: str, cport: int, ts: float = 0.0) -> Conv:
    c = Conv(client=client, server=server, sport=443, cport=cport)
    c.pkt(ts, True, "S", options=[("MSS", 1440)])
    c.pkt(ts + 0.001, False, "RA", ack=c.cseq + 1)
    return c


def _served(client: str, server: str, cport: int, ts: float) -> Conv:
    c = Conv(client=client, server=server, sport=443, cport=cport)
    tls_session(c, ts)
    return c


def test_a_refusal_the_client_falls_back_from_at_once_is_a_warning(tmp_path: Path) -> None:
    """Zeek's test captures (zip64, irc-353, redis ...): 'localhost' tried over IPv6, refused,
    then over IPv4 at once, and the session worked. It was a critical PROXY_UNREACHABLE,
    'measured'. The same for another address of a pool. A success to another address
    seconds later, or from another client of the same IP version, is no fallback."""
    v6 = _refused(FMC6, SERVER6, 40001)
    status, doc, _err = cli(tmp_path, v6.frames + _served(FMC, UPSTREAM, 40002, 0.002).frames,
                            *PORT443)
    v = verdict(doc, "PROXY_UNREACHABLE")
    assert status == 1 and (v["severity"], v["others_connected"]) == ("warning", 1)
    assert any(e.startswith("a client of the other IP version (this one, if both are one "
                            f"host) connected to port 443 of {UPSTREAM} 2.0 ms after this SYN")
               for e in v["evidence"]), v["evidence"]
    pool = _refused(FMC, UPSTREAM, 40001).frames + _served(FMC, "198.18.4.3", 40002, 0.01).frames
    _status, doc, _err = cli(tmp_path, pool, *PORT443)
    v = verdict(doc, "PROXY_UNREACHABLE")
    assert v["severity"] == "warning"
    assert any(e.startswith("the same client connected to port 443 of 198.18.4.3 10.0 ms "
                            "after this SYN: if both are addresses of one name") for e in
               v["evidence"]), v["evidence"]
    assert doc["summary"] == "no TCP connection to the server (once; others succeeded)"
    # Happy Eyeballs: the IPv6 SYN unanswered (sent again after 1 s), IPv4 begun at 250 ms
    silent = Conv(client=FMC6, server=SERVER6, sport=443, cport=40001)
    for t in (0.0, 1.0):
        silent.pkt(t, True, "S", options=[("MSS", 1440)])
    he = silent.frames + _served(FMC, UPSTREAM, 40002, 0.25).frames
    _status, doc, _err = cli(tmp_path, he, *PORT443)
    v = verdict(doc, "PROXY_UNREACHABLE")
    assert v["severity"] == "warning" and any(
        f"connected to port 443 of {UPSTREAM} 250.0 ms after this SYN" in e
        for e in v["evidence"]), v["evidence"]
    # a silent attempt and a browser's other connections on the same port (Suricata's
    # base64-decode-5885, tls-subjectaltname): the same IP version 16 ms later, or the
    # other one 2.3 s later, is no Happy Eyeballs
    silent4 = Conv(server="198.18.4.9", sport=443, cport=40001)
    for t in (0.0, 1.0):
        silent4.pkt(t, True, "S", options=[("MSS", 1460)])
    for frames in (silent4.frames + _served(FMC, "198.18.4.3", 40002, 0.016).frames,
                   silent.frames + _served(FMC, UPSTREAM, 40002, 2.3).frames):
        _status, doc, _err = cli(tmp_path, frames, *PORT443)
        v = verdict(doc, "PROXY_UNREACHABLE")
        assert v["severity"] == "critical" and "others_connected" not in v, v
    for later in (_served(FMC, "198.18.4.3", 40002, 0.6),    # a scanner's next probe (nmap)
                  _served(FMC, "198.18.4.3", 40002, 30.0),   # a user's retry (pop3)
                  _served("198.18.1.3", "198.18.4.3", 40002, 0.01)):   # another client
        _status, doc, _err = cli(tmp_path, _refused(FMC, UPSTREAM, 40001).frames
                                 + later.frames, *PORT443)
        v = verdict(doc, "PROXY_UNREACHABLE")
        assert v["severity"] == "critical" and "others_connected" not in v, v


def test_one_plain_refusal_keeps_a_folded_refusal_critical(tmp_path: Path) -> None:
    """Zeek's nmap-vsn: refusals with a success right after (a fallback, or the scanner's
    next probe) and refusals with nothing else got in fold into one PROXY_UNREACHABLE. It
    took the first member's 'others succeeded': a warning, '(once; others succeeded)',
    when one refusal nothing else got past makes the whole critical."""
    frames = (_refused(FMC, UPSTREAM, 40001).frames
              + _served(FMC, "198.18.4.3", 40002, 0.01).frames
              + _refused(FMC, "198.18.4.9", 40003, 1.0).frames)
    status, doc, _err = cli(tmp_path, frames, *PORT443)
    v = verdict(doc, "PROXY_UNREACHABLE")
    assert status == 1 and v["severity"] == "critical" and "others_connected" not in v, v
    assert doc["summary"] == "no TCP connection to the server"
    assert any("fell back" in e for e in v["evidence"]), v["evidence"]


def test_two_refusals_neither_critical_alone_fold_into_a_warning(tmp_path: Path) -> None:
    """Cisco mercury's emix.pcap and smb.pcap: a refusal while others to the same server got
    in (measured, a warning alone) and a lone SYN never sent again (inferred, a warning
    alone) folded into one PROXY_UNREACHABLE. The fold took 'nothing else got in' from the
    one and 'measured' from the other: a critical that no member proves. Now it is as
    strong as its members (inferred: not all had others connected); the member that
    decides the severity leads the evidence."""
    lone = Conv(server="198.18.4.9", sport=8443, cport=40005)
    lone.pkt(0.0, True, "S", options=[("MSS", 1460)])
    frames = (lone.frames + _refused(FMC, UPSTREAM, 40001, 1.0).frames
              + _served(FMC, UPSTREAM, 40002, 5.0).frames
              + _served(FMC, "198.18.4.3", 40003, 9.0).frames)
    status, doc, _err = cli(tmp_path, frames)
    v = verdict(doc, "PROXY_UNREACHABLE")
    assert status == 1 and v["severity"] == "warning", v
    assert v["confidence"] == "inferred" and "others_connected" not in v, v
    # with a refusal nothing else got past, that one leads and makes the whole critical
    alone = _refused(FMC, "198.18.4.7", 40004, 2.0).frames
    _status, doc, _err = cli(tmp_path, frames + alone)
    v = verdict(doc, "PROXY_UNREACHABLE")
    assert v["severity"] == "critical" and "others_connected" not in v, v
    assert v["evidence"][0] == "connection 198.18.1.2:40004 -> 198.18.4.7:443", v["evidence"]


@pytest.mark.parametrize(("answer", "what"), [
    (b"\x00\x01\x00\x00\x00\x03\x01\x81\x01", "data that is not TLS"),   # Modbus
    (b"\x15\x03\x03\x00\x02\x02\x28", "a TLS alert"),                      # handshake_failure
])
def test_a_hello_answered_by_something_else_is_no_stall(tmp_path: Path, answer: bytes,
                                                         what: str) -> None:
    """Zeek's modbus-and-non-modbus-p502: a scanner's ClientHello to a Modbus server, which
    answered 9 bytes of Modbus; the client closed a minute later. It was a critical
    TUNNEL_STALL ('no ServerHello ... 59.8 s without data'): the answer came, the path
    carried it; the handshake failed at the far end. The same for a TLS alert."""
    c = Conv(server=UPSTREAM, sport=443)
    c.handshake(0.0)
    c.send(0.01, True, CLIENT_HELLO)
    c.ack(0.02, False)
    c.send(0.03, False, answer)
    c.ack(0.04, True)
    c.close(60.0)
    status, doc, _err = cli(tmp_path, c.frames, *PORT443)
    assert status == 0 and codes(doc) == ["HEALTHY"], codes(doc)
    (row,) = doc["legs"]
    assert row["tls"] == "hello, answered"
    assert (f"frame 6: the ClientHello was answered with {what} ({len(answer)} bytes), not a "
            "ServerHello: the path carried the answer; the handshake failed at the far end "
            "(its TLS policy, or no TLS server there)") in row["notes"], row["notes"]


def test_a_server_hello_the_capture_missed_is_no_other_answer(tmp_path: Path) -> None:
    """The ServerHello's first segment missing from the capture, its second seen (bytes of
    a certificate): that is no answer 'that is not TLS'. Only the server's first byte
    counts."""
    c = Conv(server=UPSTREAM, sport=443)
    c.handshake(0.0)
    c.send(0.01, True, CLIENT_HELLO)
    c.sseq += 1448                                  # (the segment the capture lost)
    c.send(0.03, False, b"\x30\x82" + bytes(398))
    c.ack(0.04, True)
    c.close(0.1)
    _status, doc, _err = cli(tmp_path, c.frames, *PORT443)
    (row,) = doc["legs"]
    assert row["tls"] != "hello, answered" and not any(
        "ClientHello was answered" in n for n in row["notes"]), row


def test_a_hello_the_server_closes_unanswered_is_its_refusal_not_a_stall(
        tmp_path: Path) -> None:
    """Suricata's TLSv1-Extracted-MaliciousC2: a 104-byte ClientHello, acknowledged; 7 s
    later the server's FIN, whose sequence number says it sent nothing. It was a critical
    TUNNEL_STALL: the path carried both; the server refused. A FIN whose sequence number
    shows bytes the capture never saw (a ServerHello lost on the way) stays a stall."""
    def session(fin_after: int) -> Conv:
        c = Conv(server=UPSTREAM, sport=443)
        c.handshake(0.0)
        c.send(0.01, True, CLIENT_HELLO)
        c.ack(0.02, False)
        c.pkt(7.2, False, "FA", seq=c.sseq + fin_after)
        c.ack(7.21, True)
        return c

    status, doc, _err = cli(tmp_path, session(0).frames, *PORT443)
    assert status == 0 and codes(doc) == ["HEALTHY"], codes(doc)
    (row,) = doc["legs"]
    assert row["tls"] == "hello, closed"
    assert ("frame 6: server FIN 7.2 s after the ClientHello, which the server had "
            "acknowledged, without a ServerHello; its sequence number shows it sent nothing "
            "before: the server refused the session (not a TLS server for that name, or its "
            "policy), not the path") in row["notes"], row["notes"]
    status, doc, _err = cli(tmp_path, session(2896).frames, *PORT443)
    assert status == 1 and codes(doc) == ["TUNNEL_STALL"], codes(doc)
    assert doc["legs"][0]["tls"] == "hello, no server"


def test_connections_never_seen_from_both_ends_measure_nothing(tmp_path: Path) -> None:
    """Zeek's tcp/syn.pcap (one SYN), syn-then-rst (the client's SYN and its own RST),
    one-sided-2745: HEALTHY 'measured' on '1 connection(s): no refusal, stall ...'. Nothing
    crossed the path and came back: HEALTHY inferred, fact nothing-answered. One connection
    seen from both ends beside them measures the path again."""
    syn = Conv(server=UPSTREAM, sport=443, cport=40001)
    syn.pkt(0.0, True, "S", options=[("MSS", 1460)])
    aborted = Conv(server=UPSTREAM, sport=443, cport=40002)
    aborted.pkt(0.0, True, "S", options=[("MSS", 1460)])
    aborted.pkt(0.001, True, "R")
    one_way = Conv(server=UPSTREAM, sport=443, cport=40003)
    tls_session(one_way, 0.0)
    up_only = [f for f, up in zip(one_way.frames, _directions(one_way)) if up]
    sentence = ("{n} connection(s), none with packets from both ends in the capture (a SYN it "
                "shows no answer to, or one direction captured): nothing wrong seen, and "
                "nothing measured")
    for frames, n in ((syn.frames, 1), (aborted.frames, 1), (up_only, 1),
                      (syn.frames + aborted.frames + up_only, 3)):
        status, doc, _err = cli(tmp_path, frames, *PORT443)
        (v,) = doc["verdicts"]
        assert status == 0 and (v["code"], v["confidence"]) == ("HEALTHY", "inferred"), v
        assert v["evidence"] == [sentence.format(n=n)]
    both = Conv(server=UPSTREAM, sport=443, cport=40004)
    tls_session(both, 0.0)
    late = Conv(server=UPSTREAM, sport=443, cport=40005)   # (last: no time for an answer)
    late.pkt(0.5, True, "S", options=[("MSS", 1460)])
    _status, doc, _err = cli(tmp_path, both.frames + late.frames, *PORT443)
    (v,) = doc["verdicts"]
    assert (v["code"], v["confidence"]) == ("HEALTHY", "measured"), v


def _directions(c: Conv) -> list[bool]:
    """For each frame of ``c``: sent by the client?"""
    from scapy.layers.l2 import Ether

    return [Ether(data).payload.src == c.client for _ts, data in c.frames]


def test_syns_retried_from_the_same_port_are_more_attempts_not_other_ports(
        tmp_path: Path) -> None:
    """A client that tries again after each RST from the same port (the Practical Packet
    Analysis capture nowebaccess2): it said "2 other connection(s) (client ports 1074,
    1074)"."""
    again = Conv(server=UPSTREAM, sport=80, cport=40001)
    for t in (0.0, 0.5, 1.0):
        again.pkt(t, True, "S", options=[("MSS", 1460)])
        again.pkt(t + 0.001, False, "RA", ack=again.cseq + 1)
    other = Conv(server=UPSTREAM, sport=80, cport=40002)
    other.pkt(1.5, True, "S", options=[("MSS", 1460)])
    other.pkt(1.501, False, "RA", ack=other.cseq + 1)
    _status, doc, _err = cli(tmp_path, again.frames, *PORT80)
    evidence = verdict(doc, "PROXY_UNREACHABLE")["evidence"]
    assert "the same in 2 more attempts from that client port" in evidence, evidence
    _status, doc, _err = cli(tmp_path, again.frames + other.frames, *PORT80)
    evidence = verdict(doc, "PROXY_UNREACHABLE")["evidence"]
    # (it said "3 other connection(s) (client ports 40002)": two of them came from 40001)
    assert "the same in 3 more attempts: 2 from that client port, 1 from client ports 40002" \
        in evidence, evidence


def test_a_syn_ack_the_client_never_takes_is_no_connection(tmp_path: Path) -> None:
    """A tshark list pasted on Stack Overflow: SYN, SYN-ACK, and the client's SYN again a
    second later, never an ACK. It was HEALTHY ('no refusal, stall ...'); the handshake
    failed on the client's side of the capture point. A SYN sent again before a late
    SYN-ACK, then acknowledged, is a connection as before."""
    ignored = Conv(server=UPSTREAM, sport=443, cport=40001)
    ignored.pkt(0.0, True, "S", options=[("MSS", 1460)])
    ignored.pkt(0.001, False, "SA", options=[("MSS", 1460)], ack=ignored.cseq + 1)
    ignored.pkt(1.0, True, "S", options=[("MSS", 1460)])
    status, doc, _err = cli(tmp_path, ignored.frames, *PORT443)
    v = verdict(doc, "PROXY_UNREACHABLE")
    assert status == 1 and v["severity"] == "critical", doc["verdicts"]
    assert any("the SYN-ACK came back, yet the client never acknowledged it" in e
               for e in v["evidence"]), v["evidence"]
    late = Conv(server=UPSTREAM, sport=443, cport=40002)
    late.pkt(0.0, True, "S", options=[("MSS", 1460)])
    late.pkt(1.0, True, "S", options=[("MSS", 1460)])
    late.handshake(1.05)
    del late.frames[2]      # (handshake() sent a SYN of its own: keep its SYN-ACK and ACK)
    status, doc, _err = cli(tmp_path, late.frames, *PORT443)
    assert "PROXY_UNREACHABLE" not in codes(doc), doc["verdicts"]


def test_a_syn_the_capture_ends_with_or_whose_answer_it_missed_is_no_refusal(
        tmp_path: Path) -> None:
    last = Conv(server=UPSTREAM, sport=443, cport=40001)
    tls_session(last, 0.0)
    last.pkt(0.5, True, "S", options=[("MSS", 1460)], seq=5000)   # the capture's last packet
    status, doc, _err = cli(tmp_path, last.frames, *PORT443)
    assert status == 0 and codes(doc) == ["HEALTHY"]
    missed = Conv(server=UPSTREAM, sport=443, cport=40002)
    missed.handshake(0.0)
    missed.frames.pop(1)                         # the SYN-ACK is not in the capture ...
    missed.send(0.01, True, CLIENT_HELLO)        # ... but the client acknowledged it
    missed.ack(0.02, False)
    missed.pkt(3.0, True, "FA")
    status, doc, _err = cli(tmp_path, missed.frames, *PORT443)
    assert "PROXY_UNREACHABLE" not in codes(doc)


def test_a_peer_refusing_while_the_other_side_connects_is_a_warning(tmp_path: Path) -> None:
    """BGP peers: A's SYN to B:179 is refused, B's connection to A:179 succeeds."""
    refused = Conv(client="198.18.1.2", server="198.18.1.1", cport=40001, sport=179)
    refused.pkt(0.0, True, "S", options=[("MSS", 1460)])
    refused.pkt(0.001, False, "RA", ack=refused.cseq + 1)
    other = Conv(client="198.18.1.1", server="198.18.1.2", cport=35000, sport=179)
    other.handshake(0.5)
    other.send(0.6, True, b"\xff" * 19)
    other.ack(0.61, False)
    status, doc, _err = cli(tmp_path, refused.frames + other.frames, "--port", "179")
    v = verdict(doc, "PROXY_UNREACHABLE")
    assert v["severity"] == "warning" and status == 1
    assert any("between the same two hosts" in e for e in v["evidence"])


# --- issue 19 item 4: a large ClientHello dropped for what it is ------------------------------

def _pq_hello() -> bytes:
    """A post-quantum-sized ClientHello record (1800 bytes) starting with its header."""
    from pathprobe.wire.tls import client_hello

    return client_hello(1800, NAME)


def _hello_tunnel(cport: int, ts: float, answer: str) -> Conv:
    """A tunnel whose 1800-byte hello goes in two segments, ACKed by the proxy; then the
    upstream's answer: "server" (a ServerHello), "silence" or "rst"."""
    c = Conv(cport=cport)
    c.handshake(ts)
    c.send(ts + 0.01, True, f"CONNECT {NAME}:443 HTTP/1.1\r\n\r\n".encode())
    c.send(ts + 0.02, False, b"HTTP/1.1 200 Connection established\r\n\r\n")
    hello = _pq_hello()
    c.send(ts + 0.03, True, hello[:1448])
    c.send(ts + 0.031, True, hello[1448:])
    c.ack(ts + 0.04, False)
    if answer == "server":
        c.send(ts + 0.05, False, SERVER_HELLO)
        for i in range(3):
            c.send(ts + 0.06 + i * 0.001, True, b"\x17" * 1448)
        c.send(ts + 0.08, False, b"\x17" * 100)
        c.ack(ts + 0.09, True)
        c.close(ts + 0.1)
    elif answer == "rst":
        c.pkt(ts + 0.2, False, "RA")
    else:
        c.pkt(ts + 10.0, True, "FA")
    return c


def test_a_large_hello_acked_by_the_proxy_then_nothing_is_tls_hello_dropped(
        tmp_path: Path) -> None:
    for answer in ("silence", "rst"):
        earlier = _hello_tunnel(40001, 0.0, "server")    # full-size segments crossed
        dropped = _hello_tunnel(40002, 1.0, answer)
        status, doc, _err = cli(tmp_path, earlier.frames + dropped.frames)
        assert codes(doc) == ["TLS_HELLO_DROPPED"], (answer, codes(doc))
        v = doc["verdicts"][0]
        assert status == 1 and v["severity"] == "critical" and v["confidence"] == "inferred"
        assert (v["leg"], v["direction"], v["hello_dropped_from"]) == ("proxy-upstream", "up", 1800)
        assert v["how"] == ("reset" if answer == "rst" else "drop")
        assert v["segment_crossed"] == 1448 and v["first_segment"] == 1448
        assert any(e.startswith("frame 23: TLS ClientHello for upstream.pathprobe.test of 1800 "
                                "bytes spans segments") for e in v["evidence"])
        assert not any(r["command"].startswith(("sysopt", "ip link", "ifconfig"))
                       for r in doc["recommendations"])


def test_a_large_hello_without_proof_that_the_size_crosses_stays_open(tmp_path: Path) -> None:
    """Nothing shows 1448-byte segments crossing leg 2: size or content, both remain."""
    status, doc, _err = cli(tmp_path, _hello_tunnel(40002, 1.0, "silence").frames)
    v = verdict(doc, "TUNNEL_STALL")
    assert status == 1 and "TLS_HELLO_DROPPED" not in codes(doc)
    assert any("'pathprobe tunnel --hello both' tells which" in e for e in v["evidence"])


def test_a_hello_whose_first_segment_vanishes_upstream_is_no_pmtu_verdict(
        tmp_path: Path) -> None:
    """Captured on the leg the hello crosses: its first segment, starting the record, is
    retransmitted unacknowledged, while 1448-byte segments of an earlier session crossed."""
    earlier = Conv(server=UPSTREAM, sport=443, cport=40001)
    tls_session(earlier, 0.0, upload=3)
    c = Conv(server=UPSTREAM, sport=443, cport=40002)
    c.handshake(1.0)
    hello = _pq_hello()
    seq = c.send(1.01, True, hello[:1448])
    c.send(1.011, True, hello[1448:])
    c.pkt(1.02, False, "A", ack=seq)              # duplicate ACKs: the first never arrived
    for i in range(1, 4):
        c.pkt(1.01 + i, True, "PA", hello[:1448], seq=seq)
    c.pkt(8.0, False, "RA", ack=seq)
    status, doc, _err = cli(tmp_path, earlier.frames + c.frames, *PORT443)
    assert status == 1 and codes(doc) == ["TLS_HELLO_DROPPED"], codes(doc)
    v = doc["verdicts"][0]
    assert v["leg"] == "fmc-upstream" and "PMTU_BLACKHOLE" not in codes(doc)
    assert any("retransmitted 3 time(s), never acknowledged" in e for e in v["evidence"])


def test_every_format_holds_for_the_new_reports(tmp_path: Path) -> None:
    """Width, Markdown tables (markdown-it-py), standalone HTML and TSV for a proxy-side,
    an ICMP-only and a TLS_HELLO_DROPPED report."""
    from pathprobe.capture import Filters, analyze_capture
    from pathprobe.findings import finish
    from tests.reports import check_all

    cases = {
        "proxy": _proxy_side(leg2_mss=1300),
        "icmp": _too_big(False) + _too_big(True),
        "hello": _hello_tunnel(40001, 0.0, "server").frames
        + _hello_tunnel(40002, 1.0, "rst").frames,
    }
    for name, frames in cases.items():
        cap = write_pcap(tmp_path / f"{name}.pcap", sorted(frames, key=lambda x: x[0]))
        a = analyze_capture(cap, Filters())
        check_all(finish([a.measurement], command="analyze", started="2026-12-03T00:00:00",
                         duration_s=0.1, recommender=a.recommender))


def test_a_lone_syn_never_retried_is_no_proven_outage_but_retried_ones_are(
        tmp_path: Path) -> None:
    """The tcpdump project's scps_invalid.pcap: one SYN, then 299 s of capture without it
    coming again. A client without an answer retries after about 1 s, so the capture likely
    misses the connection's later packets: inferred, a warning, both causes named."""
    lone = Conv(server=UPSTREAM, sport=443, cport=40001)
    lone.pkt(0.0, True, "S", options=[("MSS", 1460)])
    other = Conv(server=UPSTREAM, sport=443, cport=40002, client="198.18.1.9")
    other.pkt(299.0, True, "S", options=[("MSS", 1460)])
    status, doc, _err = cli(tmp_path, lone.frames + other.frames, *PORT443)
    v = verdict(doc, "PROXY_UNREACHABLE")
    assert (v["confidence"], v["severity"], status) == ("inferred", "warning", 1)
    assert any("never sent that SYN again in the 299.0 s" in e for e in v["evidence"])
    retried = Conv(server=UPSTREAM, sport=443, cport=40003)
    for t in (0.0, 1.0, 3.0):
        retried.pkt(t, True, "S", options=[("MSS", 1460)], seq=9000)
    tail = Conv(server=UPSTREAM, sport=443, cport=40004)
    tail.pkt(10.0, True, "S", options=[("MSS", 1460)])     # capture time after the retries
    _status, doc, _err = cli(tmp_path, retried.frames + tail.frames, *PORT443)
    v = verdict(doc, "PROXY_UNREACHABLE")
    assert (v["confidence"], v["severity"]) == ("measured", "critical")
    assert any("sent 3 times" in e for e in v["evidence"])
    assert not any("never sent that SYN again" in e for e in v["evidence"])


def test_a_verdict_measured_by_a_later_connection_shows_that_connections_evidence(
        tmp_path: Path) -> None:
    """Suricata's kill_router6: a lone SYN (never retried) to a server, then a SYN to it
    sent 4 times, both unanswered. Merged, the verdict is measured and critical (the
    retried one proves it), but it showed the lone SYN's evidence ("not a proven one")."""
    lone = Conv(server=UPSTREAM, sport=443, cport=54112)
    lone.pkt(0.0, True, "S", options=[("MSS", 1440)])
    retried = Conv(server=UPSTREAM, sport=443, cport=54114)
    for t in (0.001, 1.0, 2.0, 3.0):
        retried.pkt(t, True, "S", options=[("MSS", 1440)], seq=9000)
    # capture time after the retries (from the same client: SYNs of several clients and
    # nothing back would leave a one-way capture open)
    tail = Conv(server=UPSTREAM, sport=443, cport=54116)
    tail.pkt(9.0, True, "S", options=[("MSS", 1440)])
    _status, doc, _err = cli(tmp_path, lone.frames + retried.frames + tail.frames, *PORT443)
    v = verdict(doc, "PROXY_UNREACHABLE")
    assert (v["confidence"], v["severity"]) == ("measured", "critical")
    assert v["evidence"][0].endswith(":54114 -> " + UPSTREAM + ":443")
    assert any("sent 4 times" in e for e in v["evidence"])
    assert not any("never sent that SYN again" in e for e in v["evidence"])
    assert any("client ports 54112" in e for e in v["evidence"]), v["evidence"]
