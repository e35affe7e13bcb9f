"""analyze: each recogniser on hand-built conversations, the lab-recorded fixtures,
and the fast header path against the shared parsers of pathprobe.wire.headers."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pathprobe.capture import Filters, analyze_capture
from pathprobe.capture.analysis import fast_tcp
from pathprobe.errors import CaptureError
from pathprobe.model import Direction, ExitStatus, Verdict, VerdictCode
from pathprobe.wire.headers import parse_ip, parse_tcp, tcp_payload_length

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "captures"
FMC, PROXY, R1 = "198.18.1.2", "198.18.2.2", "198.18.1.1"
TARGET = "upstream.pathprobe.test:443"
CONNECT = f"CONNECT {TARGET} HTTP/1.1\r\nHost: {TARGET}\r\n\r\n".encode()
CLIENT_HELLO = b"\x16\x03\x01\x02\x00\x01" + b"\x00" * 511     # 517 bytes
SERVER_HELLO = b"\x16\x03\x03\x00\x7a\x02" + b"\x00" * 1200


def write_pcap(path: Path, frames: Sequence[tuple[float, bytes]], linktype: int = 1) -> Path:
    """A classic little-endian microsecond pcap."""
    with path.open("wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, linktype))
        for ts, data in frames:
            f.write(struct.pack("<IIII", int(ts), round((ts % 1) * 1e6), len(data), len(data)))
            f.write(data)
    return path


@dataclass
class Flow:
    """One TCP conversation FMC:cport <-> server:sport as Ethernet frames, seq/ack kept right."""

    cport: int = 40000
    server: str = PROXY
    sport: int = 3128
    cseq: int = 1000
    sseq: int = 7000
    frames: list[tuple[float, bytes]] = field(default_factory=list)

    def _pkt(self, ts: float, up: bool, flags: str, payload: bytes = b"",
             seq: int | None = None, options: Sequence[tuple[str, object]] = ()) -> None:
        from scapy.layers.inet import IP, TCP
        from scapy.layers.l2 import Ether

        src, dst = (FMC, self.server) if up else (self.server, FMC)
        sp, dp = (self.cport, self.sport) if up else (self.sport, self.cport)
        my_seq = self.cseq if up else self.sseq
        ack = self.sseq if up else self.cseq
        tcp = TCP(sport=sp, dport=dp, flags=flags, seq=my_seq if seq is None else seq,
                  ack=ack if "A" in flags else 0, options=list(options), window=502)
        pkt = Ether() / IP(src=src, dst=dst, flags="DF") / tcp
        if payload:
            pkt = pkt / payload
        self.frames.append((ts, bytes(pkt)))

    def handshake(self, ts: float, mss: int = 1460, peer_mss: int = 1460) -> None:
        self._pkt(ts, True, "S", options=[("MSS", mss), ("WScale", 7)])
        self.cseq += 1
        self._pkt(ts + 0.001, False, "SA", options=[("MSS", peer_mss), ("WScale", 7)])
        self.sseq += 1
        self._pkt(ts + 0.002, True, "A")

    def send(self, ts: float, up: bool, payload: bytes) -> int:
        """A data segment; returns its sequence number (for retransmissions)."""
        seq = self.cseq if up else self.sseq
        self._pkt(ts, up, "PA", payload)
        if up:
            self.cseq = (self.cseq + len(payload)) & 0xFFFFFFFF
        else:
            self.sseq = (self.sseq + len(payload)) & 0xFFFFFFFF
        return seq

    def resend(self, ts: float, up: bool, seq: int, payload: bytes) -> None:
        self._pkt(ts, up, "PA", payload, seq=seq)

    def ack(self, ts: float, up: bool) -> None:
        self._pkt(ts, up, "A")

    def fin(self, ts: float, up: bool) -> None:
        self._pkt(ts, up, "FA")
        if up:
            self.cseq += 1
        else:
            self.sseq += 1

    def rst(self, ts: float, up: bool) -> None:
        self._pkt(ts, up, "R")

    def close(self, ts: float) -> None:
        self.fin(ts, True)
        self.fin(ts + 0.001, False)
        self.ack(ts + 0.002, True)

    def tunnel(self, ts: float = 0.0, status: bytes = b"200 Connection established",
               headers: bytes = b"") -> None:
        """Handshake, CONNECT, the proxy's answer."""
        self.handshake(ts)
        self.send(ts + 0.01, True, CONNECT)
        self.ack(ts + 0.011, False)
        self.send(ts + 0.02, False, b"HTTP/1.1 " + status + b"\r\n" + headers + b"\r\n")
        self.ack(ts + 0.021, True)


def analyse(tmp_path: Path, *flows: Flow, extra: Sequence[tuple[float, bytes]] = (),
            filters: Filters | None = None) -> list[Verdict]:
    frames = sorted([f for flow in flows for f in flow.frames] + list(extra),
                    key=lambda x: x[0])
    cap = write_pcap(tmp_path / "t.pcap", frames)
    return list(analyze_capture(cap, filters or Filters()).measurement.verdicts)


def codes(verdicts: Sequence[Verdict]) -> list[VerdictCode]:
    return [v.code for v in verdicts]


def only(verdicts: Sequence[Verdict], code: VerdictCode) -> Verdict:
    found = [v for v in verdicts if v.code is code]
    assert len(found) == 1, codes(verdicts)
    return found[0]


# --- recognisers on hand-built conversations ---------------------------------------------

def test_healthy_tunnel_is_healthy(tmp_path: Path) -> None:
    f = Flow()
    f.tunnel()
    f.send(0.1, True, CLIENT_HELLO)
    f.send(0.12, False, SERVER_HELLO)
    f.ack(0.13, True)
    f.close(0.2)
    assert codes(analyse(tmp_path, f)) == [VerdictCode.HEALTHY]


def test_mss_in_syn_ack_lower_than_syn_is_clamped(tmp_path: Path) -> None:
    f = Flow()
    f.handshake(0.0, mss=1460, peer_mss=1300)
    f.send(0.01, True, CONNECT)
    f.send(0.02, False, b"HTTP/1.1 200 Connection established\r\n\r\n")
    f.close(0.1)
    v = only(analyse(tmp_path, f), VerdictCode.MSS_CLAMPED)
    assert v.numbers["mss_sent"] == 1460 and v.numbers["mss_received"] == 1300
    assert any("frame 1:" in e and "MSS 1460" in e for e in v.evidence)
    assert any("frame 2:" in e and "MSS 1300" in e for e in v.evidence)


def test_higher_peer_mss_is_not_a_clamp(tmp_path: Path) -> None:
    f = Flow()
    f.handshake(0.0, mss=1460, peer_mss=8960)
    f.send(0.01, True, CONNECT)
    f.send(0.02, False, b"HTTP/1.1 200 Connection established\r\n\r\n")
    f.close(0.1)
    assert codes(analyse(tmp_path, f)) == [VerdictCode.HEALTHY]


@pytest.mark.parametrize(("status", "code"), [
    (b"403 Forbidden", VerdictCode.PROXY_DENIED),
    (b"400 Bad Request", VerdictCode.PROXY_DENIED),
    (b"502 Bad Gateway", VerdictCode.PROXY_UPSTREAM_ERROR),
    (b"503 Service Unavailable", VerdictCode.PROXY_UPSTREAM_ERROR),
    (b"504 Gateway Timeout", VerdictCode.PROXY_UPSTREAM_ERROR),
])
def test_proxy_refusals(tmp_path: Path, status: bytes, code: VerdictCode) -> None:
    f = Flow()
    f.tunnel(status=status)
    f.close(0.1)
    v = only(analyse(tmp_path, f), code)
    assert v.numbers["status"] == int(status[:3])
    assert v.numbers["target"] == TARGET


def test_407_ntlm_only_is_unsupported(tmp_path: Path) -> None:
    f = Flow()
    f.tunnel(status=b"407 Proxy Authentication Required",
             headers=b"Proxy-Authenticate: NTLM\r\nProxy-Authenticate: Negotiate\r\n")
    f.close(0.1)
    v = only(analyse(tmp_path, f), VerdictCode.PROXY_AUTH_UNSUPPORTED)
    assert v.numbers["schemes"] == "ntlm, negotiate"
    assert v.confidence.value == "measured"      # the whole head was captured


def test_407_head_cut_by_the_snap_length_is_only_inferred() -> None:
    """The lab fixture was taken with -s 400: more schemes could follow NTLM."""
    a = analyze_capture(FIXTURES / "auth-ntlm.pcap", Filters())
    v = only(a.measurement.verdicts, VerdictCode.PROXY_AUTH_UNSUPPORTED)
    assert v.confidence.value == "inferred"
    assert any("not fully captured" in e for e in v.evidence)


def test_407_basic_without_credentials_is_auth_required(tmp_path: Path) -> None:
    f = Flow()
    f.tunnel(status=b"407 Proxy Authentication Required",
             headers=b'Proxy-Authenticate: Basic realm="x"\r\n')
    f.close(0.1)
    v = only(analyse(tmp_path, f), VerdictCode.PROXY_AUTH_REQUIRED)
    assert v.numbers["schemes"] == "basic"
    assert any("no credentials were sent" in e for e in v.evidence)


def test_407_then_200_on_the_same_connection_is_the_normal_dance(tmp_path: Path) -> None:
    f = Flow()
    f.tunnel(status=b"407 Proxy Authentication Required",
             headers=b'Proxy-Authenticate: Digest realm="x", nonce="n"\r\n')
    f.send(0.05, True, CONNECT[:-2] + b"Proxy-Authorization: Digest x\r\n\r\n")
    f.send(0.06, False, b"HTTP/1.1 200 Connection established\r\n\r\n")
    f.send(0.07, True, CLIENT_HELLO)
    f.send(0.08, False, SERVER_HELLO)
    f.close(0.1)
    assert codes(analyse(tmp_path, f)) == [VerdictCode.HEALTHY]


def test_connect_without_answer(tmp_path: Path) -> None:
    f = Flow()
    f.handshake(0.0)
    seq = f.send(0.01, True, CONNECT)
    for i in range(3):
        f.resend(0.2 * 2 ** i, True, seq, CONNECT)
    f.fin(3.0, True)
    v = only(analyse(tmp_path, f), VerdictCode.CONNECT_NO_RESPONSE)
    assert v.numbers["retransmits"] == 3
    assert any("never acknowledged" in e for e in v.evidence)


def test_syn_never_answered_to_the_proxy_is_unreachable(tmp_path: Path) -> None:
    f = Flow()
    f._pkt(0.0, True, "S", options=[("MSS", 1460)])
    f._pkt(1.0, True, "S", options=[("MSS", 1460)])
    # Without --proxy nothing says this SYN went to a proxy.
    with pytest.raises(CaptureError, match="none that looks like a proxy CONNECT"):
        analyse(tmp_path, f)
    v = only(analyse(tmp_path, f, filters=Filters(proxy_host=PROXY, proxy_port=3128)),
             VerdictCode.PROXY_UNREACHABLE)
    assert v.numbers["syn_sent"] == 2


def test_rst_right_after_a_large_segment(tmp_path: Path) -> None:
    f = Flow()
    f.tunnel()
    f.send(0.1, True, CLIENT_HELLO)
    f.ack(0.11, False)
    f.send(0.12, False, SERVER_HELLO[:600])
    f.ack(0.13, True)
    f.send(0.2, True, b"\x17" * 1448)
    f.rst(0.2005, False)
    v = only(analyse(tmp_path, f), VerdictCode.RST_ON_LARGE_SEGMENT)
    assert v.direction is Direction.UP
    assert v.numbers["size"] == 40 + 1448 and v.numbers["payload"] == 1448
    assert v.numbers["pmtu_low"] == 40 + len(CLIENT_HELLO)
    assert VerdictCode.PMTU_BLACKHOLE not in codes(analyse(tmp_path, f))


def test_rst_after_small_segment_is_not_blamed_on_size(tmp_path: Path) -> None:
    f = Flow()
    f.tunnel()
    f.send(0.1, True, CLIENT_HELLO)
    f.rst(0.1005, False)
    assert VerdictCode.RST_ON_LARGE_SEGMENT not in codes(analyse(tmp_path, f))


def test_large_segments_retransmitted_unacked_are_a_black_hole(tmp_path: Path) -> None:
    f = Flow()
    f.tunnel()
    f.send(0.1, True, CLIENT_HELLO)
    f.ack(0.11, False)
    big = b"\x17" * 1448
    seq = f.send(0.2, True, big)
    for i in range(4):
        f.resend(0.4 * 2 ** i, True, seq, big)
    v = only(analyse(tmp_path, f), VerdictCode.PMTU_BLACKHOLE)
    assert v.direction is Direction.UP
    low = 20 + 20 + len(CLIENT_HELLO)
    # Never over-report: the proven lower bound is the largest packet acknowledged.
    assert v.numbers["pmtu_low"] == low and "mtu" not in v.numbers
    assert v.numbers["pmtu_high"] == 40 + 1448 - 1
    assert any("retransmitted 4 time(s)" in e for e in v.evidence)


def test_retransmission_later_acknowledged_is_no_black_hole(tmp_path: Path) -> None:
    f = Flow()
    f.tunnel()
    big = b"\x17" * 1448
    seq = f.send(0.2, True, big)
    f.resend(0.4, True, seq, big)
    f.resend(0.8, True, seq, big)
    f.ack(0.81, False)
    f.close(1.0)
    assert codes(analyse(tmp_path, f)) == [VerdictCode.HEALTHY]


def test_icmp_frag_needed_quoting_the_connection(tmp_path: Path) -> None:
    from scapy.layers.inet import ICMP, IP, TCP
    from scapy.layers.l2 import Ether

    f = Flow()
    f.tunnel()
    big = b"\x17" * 1448
    seq = f.send(0.2, True, big)
    quoted = IP(src=FMC, dst=PROXY, flags="DF") / TCP(sport=f.cport, dport=3128) / big
    icmp = Ether() / IP(src=R1, dst=FMC) / ICMP(type=3, code=4, nexthopmtu=1400) / \
        bytes(quoted)[:28]
    f.frames.append((0.2001, bytes(icmp)))
    f.resend(0.21, True, seq, big[:1360])             # the kernel resends in smaller pieces
    f.resend(0.21, True, seq + 1360, big[1360:])
    f.ack(0.22, False)
    f.close(0.3)
    v = only(analyse(tmp_path, f), VerdictCode.PMTU_REDUCED)
    assert v.numbers["mtu"] == 1400 and v.numbers["router"] == R1
    assert v.direction is Direction.UP
    assert any("PMTUD works" in e for e in v.evidence)


def test_tunnel_stall_after_clienthello(tmp_path: Path) -> None:
    f = Flow()
    f.tunnel()
    f.send(0.1, True, CLIENT_HELLO)
    f.ack(0.11, False)
    f.fin(30.0, True)
    v = only(analyse(tmp_path, f), VerdictCode.TUNNEL_STALL)
    assert v.leg == "proxy-upstream" and v.confidence.value == "inferred"
    assert any("no ServerHello" in e for e in v.evidence)
    assert any("acknowledged on leg 1" in e for e in v.evidence)


def test_tunnel_stall_mid_download_then_alert(tmp_path: Path) -> None:
    f = Flow()
    f.tunnel()
    f.send(0.1, True, CLIENT_HELLO)
    f.send(0.11, False, SERVER_HELLO)
    for i in range(10):
        f.send(0.2 + i * 0.001, False, b"\x17" * 1448)
    f.ack(0.211, True)
    f.send(10.0, True, b"\x15" * 24)              # curl gives up: TLS alert, FIN
    f.ack(10.001, False)
    f.close(10.01)
    v = only(analyse(tmp_path, f), VerdictCode.TUNNEL_STALL)
    assert v.direction is Direction.DOWN
    assert v.numbers["idle_s"] == pytest.approx(9.8, abs=0.05)
    assert v.numbers["bytes_down"] == len(SERVER_HELLO) + 14480


def test_short_pause_with_data_resuming_is_not_a_stall(tmp_path: Path) -> None:
    f = Flow()
    f.tunnel()
    f.send(0.1, True, CLIENT_HELLO)
    f.send(0.11, False, SERVER_HELLO)
    f.send(0.2, False, b"\x17" * 1448)
    f.send(5.0, False, b"\x17" * 1448)             # resumed after 4.8 s: slow, not stalled
    f.send(5.1, False, b"\x17" * 1448)
    f.ack(5.2, True)
    f.close(5.3)
    assert codes(analyse(tmp_path, f)) == [VerdictCode.HEALTHY]


def test_same_problem_in_many_connections_is_one_verdict(tmp_path: Path) -> None:
    flows = []
    for i in range(12):
        f = Flow(cport=41000 + i)
        f.tunnel(ts=i, status=b"403 Forbidden")
        f.close(i + 0.5)
        flows.append(f)
    v = only(analyse(tmp_path, *flows), VerdictCode.PROXY_DENIED)
    assert v.numbers["connections"] == 12
    assert any("the same in 11 other connection(s)" in e and "..." in e for e in v.evidence)


def test_port_filter_selects_connections(tmp_path: Path) -> None:
    a, b = Flow(cport=40001), Flow(cport=40002)
    a.tunnel(status=b"403 Forbidden")
    b.tunnel(ts=1.0)
    b.close(1.5)
    verdicts = analyse(tmp_path, a, b, filters=Filters(ports=frozenset({40002})))
    assert codes(verdicts) == [VerdictCode.HEALTHY]


def test_host_filter_matching_nothing_is_an_error(tmp_path: Path) -> None:
    f = Flow()
    f.tunnel()
    with pytest.raises(CaptureError) as e:
        analyse(tmp_path, f, filters=Filters(hosts=frozenset({"198.18.9.9"})))
    assert e.value.exit_status is ExitStatus.NOT_MEASURED


def test_passwords_in_the_capture_are_never_reported(tmp_path: Path) -> None:
    f = Flow()
    f.handshake(0.0)
    f.send(0.01, True, CONNECT[:-2] + b"Proxy-Authorization: Basic Zm1jOmxhYi1zZWNyZXQ=\r\n\r\n")
    f.send(0.02, False, b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                        b"Proxy-Authenticate: Basic realm=\"x\"\r\n\r\n")
    f.close(0.1)
    cap = write_pcap(tmp_path / "t.pcap", sorted(f.frames))
    text = str(analyze_capture(cap, Filters()).measurement.to_report("analyze", "", 0)
               .to_json())
    assert "Zm1jOmxhYi1zZWNyZXQ" not in text and "lab-secret" not in text
    assert "rejected the credentials" in text


def test_sequence_numbers_wrapping_are_not_retransmissions(tmp_path: Path) -> None:
    f = Flow(cseq=0xFFFFFFFF - 3000, sseq=0xFFFFFFFF - 100)
    f.tunnel()
    for i in range(6):
        f.send(0.1 + i * 0.01, True, b"\x17" * 1000)      # crosses 2**32 on the way up
        f.send(0.105 + i * 0.01, False, b"\x17" * 1000)
    f.ack(0.2, True)
    f.ack(0.2, False)
    f.close(0.3)
    cap = write_pcap(tmp_path / "t.pcap", sorted(f.frames, key=lambda x: x[0]))
    a = analyze_capture(cap, Filters())
    assert [v.code for v in a.measurement.verdicts] == [VerdictCode.HEALTHY]
    assert not any("retransmissions" in n for n in a.measurement.legs[0].notes)


def test_capture_started_mid_connection(tmp_path: Path) -> None:
    f = Flow()
    f.tunnel()
    f.send(0.1, True, CLIENT_HELLO)
    f.send(0.2, False, SERVER_HELLO)
    f.ack(0.3, True)
    f.close(0.4)
    late = f.frames[8:]                                 # no SYN, no CONNECT in the file
    cap = write_pcap(tmp_path / "t.pcap", late)
    with pytest.raises(CaptureError):
        analyze_capture(cap, Filters())
    a = analyze_capture(cap, Filters(ports=frozenset({3128})))
    (row,) = a.measurement.legs
    assert row.measurements["client_port"] == f.cport   # the higher port is the client
    assert row.measurements["mss_sent"] is None
    assert [v.code for v in a.measurement.verdicts] == [VerdictCode.HEALTHY]


def test_ip_fragments_are_counted(tmp_path: Path) -> None:
    from scapy.layers.inet import IP, UDP, fragment
    from scapy.layers.l2 import Ether

    f = Flow()
    f.tunnel()
    f.close(0.5)
    frags = fragment(IP(src=FMC, dst=PROXY) / UDP(sport=5000, dport=5001) / (b"u" * 3000),
                     fragsize=1400)
    extra = [(0.3, bytes(Ether() / p)) for p in frags]
    cap = write_pcap(tmp_path / "t.pcap", sorted(f.frames + extra, key=lambda x: x[0]))
    a = analyze_capture(cap, Filters())
    assert any(f"{len(frags)} IP fragments" in n for n in a.notes)
    assert any(f"{len(frags)} IP fragments" in n for n in a.measurement.legs[0].notes)


def test_long_silent_connections_are_judged_and_forgotten(tmp_path: Path) -> None:
    from pathprobe.capture.tracker import EVICT_IDLE_S

    stuck = Flow(cport=40001)
    stuck.tunnel()
    stuck.send(0.1, True, CLIENT_HELLO)
    stuck.ack(0.11, False)                              # then silence, never closed
    later = Flow(cport=40002)
    later.tunnel(ts=EVICT_IDLE_S + 100)
    later.send(EVICT_IDLE_S + 100.1, True, CLIENT_HELLO)
    later.send(EVICT_IDLE_S + 100.2, False, SERVER_HELLO)
    later.close(EVICT_IDLE_S + 100.3)
    frames = sorted(stuck.frames + later.frames, key=lambda x: x[0])
    filler = later.frames[2]                             # a bare ACK, repeated
    frames += [(EVICT_IDLE_S + 101 + i * 1e-4, filler[1]) for i in range(17000)]
    cap = write_pcap(tmp_path / "t.pcap", frames)
    a = analyze_capture(cap, Filters())
    v = only(a.measurement.verdicts, VerdictCode.TUNNEL_STALL)
    assert any("no ServerHello" in e for e in v.evidence)
    assert v.numbers["idle_s"] == pytest.approx(EVICT_IDLE_S + 100, abs=5)


# --- the lab-recorded fixtures (scripts/make_captures.py) ------------------------------

EXPECTED: dict[str, tuple[VerdictCode, Direction | None, dict[str, object]]] = {
    "healthy": (VerdictCode.HEALTHY, Direction.BOTH, {}),
    "healthy-v6": (VerdictCode.HEALTHY, Direction.BOTH, {}),
    "healthy-sll2": (VerdictCode.HEALTHY, Direction.BOTH, {}),
    "acl": (VerdictCode.PROXY_DENIED, None, {"status": 403}),
    "auth-basic": (VerdictCode.PROXY_AUTH_REQUIRED, None, {"schemes": "basic",
                                                           "credentials": "none sent"}),
    "auth-basic-wrong": (VerdictCode.PROXY_AUTH_REQUIRED, None, {"schemes": "basic",
                                                                 "credentials": "rejected"}),
    "auth-ntlm": (VerdictCode.PROXY_AUTH_UNSUPPORTED, None, {"schemes": "ntlm"}),
    "upstream-down": (VerdictCode.PROXY_UPSTREAM_ERROR, None, {"status": 503}),
    "clamp": (VerdictCode.MSS_CLAMPED, Direction.BOTH, {"mss_sent": 1460, "mss_received": 1300}),
    "rst": (VerdictCode.RST_ON_LARGE_SEGMENT, Direction.UP, {"size": 1500}),
    "mtu": (VerdictCode.PMTU_REDUCED, Direction.UP, {"mtu": 1400, "router": R1}),
    "blackhole-leg1": (VerdictCode.PMTU_BLACKHOLE, Direction.UP, {"pmtu_high": 1499}),
    "blackhole-leg2": (VerdictCode.TUNNEL_STALL, Direction.UP, {}),
    "stall": (VerdictCode.TUNNEL_STALL, Direction.DOWN, {"max_seg_down": 1448}),
    "blackhole-leg1-down": (VerdictCode.TUNNEL_STALL, Direction.DOWN, {"full_seg": 1448}),
    "no-response": (VerdictCode.CONNECT_NO_RESPONSE, Direction.UP, {"target": TARGET}),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_verdicts(name: str) -> None:
    code, direction, numbers = EXPECTED[name]
    result = analyze_capture(FIXTURES / f"{name}.pcap", Filters())
    verdicts = result.measurement.verdicts
    assert codes(verdicts) == [code], [v.to_json() for v in verdicts]
    v = verdicts[0]
    assert v.direction == direction
    for key, value in numbers.items():
        assert v.numbers[key] == value, (key, v.numbers)
    assert v.evidence and all(isinstance(e, str) and e for e in v.evidence)
    if code is not VerdictCode.HEALTHY:
        assert "wireshark_filter" in v.numbers


def test_fixture_black_hole_lower_bound_is_proven_not_guessed() -> None:
    """Leg 1 drops packets above 1372: the capture proves only what was acknowledged."""
    v = analyze_capture(FIXTURES / "blackhole-leg1.pcap", Filters()).measurement.verdicts[0]
    low = v.numbers["pmtu_low"]
    assert isinstance(low, int) and low <= 1372
    assert "mtu" not in v.numbers


def test_fixture_leg2_black_hole_is_not_blamed_on_leg1() -> None:
    v = analyze_capture(FIXTURES / "blackhole-leg2.pcap", Filters()).measurement.verdicts[0]
    assert v.leg == "proxy-upstream" and v.confidence.value == "inferred"
    assert any("acknowledged on leg 1" in e for e in v.evidence)


def test_fixture_leg1_down_black_hole_is_not_pinned_on_leg2() -> None:
    """Leg 1 drops the proxy's large segments: the FMC sees nothing of them, so the
    capture cannot tell this from a leg-2 stall, and must say both are possible."""
    a = analyze_capture(FIXTURES / "blackhole-leg1-down.pcap", Filters())
    (v,) = a.measurement.verdicts
    seg = v.numbers["max_seg_down"]
    assert isinstance(seg, int) and seg < 1448
    assert any("vanish on leg 1 downstream" in e for e in v.evidence)
    assert any(r.command.startswith("pathprobe diagnose") for r in a.recommendations)
    stall = analyze_capture(FIXTURES / "stall.pcap", Filters())
    assert any("leg 1 carries them downstream" in e for e in stall.measurement.verdicts[0]
               .evidence)
    assert not any(r.platform == "pathprobe" for r in stall.recommendations)


def test_fixture_table_row() -> None:
    a = analyze_capture(FIXTURES / "clamp.pcap", Filters())
    (row,) = a.measurement.legs
    m = row.measurements
    assert row.name == "fmc-proxy" and row.target.startswith(TARGET)
    assert (m["status"], m["mss_sent"], m["mss_received"]) == (200, 1460, 1300)
    assert m["max_seg_down"] == 1288          # 1300 - 12 bytes of timestamps
    assert m["tls"] == "hello+server" and m["ended"] == "client FIN"


# --- the fast path agrees with the shared parsers ----------------------------------------

@settings(max_examples=300, deadline=None)
@given(v6=st.booleans(), sport=st.integers(0, 65535), dport=st.integers(0, 65535),
       seq=st.integers(0, 2**32 - 1), ack=st.integers(0, 2**32 - 1),
       flags=st.integers(0, 255), payload=st.binary(max_size=64),
       opts=st.sampled_from([[], [("MSS", 1300)], [("Timestamp", (1, 2)), ("NOP", None)]]),
       cut=st.integers(0, 120))
def test_fast_path_matches_headers_parsers(v6: bool, sport: int, dport: int, seq: int,
                                           ack: int, flags: int, payload: bytes,
                                           opts: list[tuple[str, object]], cut: int) -> None:
    from scapy.layers.inet import IP, TCP
    from scapy.layers.inet6 import IPv6

    l3 = IPv6(src="2001:db8:1::2", dst="2001:db8:2::2") if v6 else IP(src=FMC, dst=PROXY)
    raw = bytes(l3 / TCP(sport=sport, dport=dport, seq=seq, ack=ack, flags=flags,
                         options=opts) / payload)
    raw = raw[:len(raw) - min(cut, len(payload))]   # a snap length shorter than the packet
    fast = fast_tcp(raw, 0)
    ip = parse_ip(raw)
    assert ip is not None
    tcp = parse_tcp(raw[ip.header_length:])
    assert fast is not None and tcp is not None
    import socket

    af = socket.AF_INET6 if v6 else socket.AF_INET
    family, src, dst, fsport, fdport, fseq, fack, fflags, ip_len, poff, plen = fast
    assert family == ip.version
    assert (socket.inet_ntop(af, src), socket.inet_ntop(af, dst)) == (ip.src, ip.dst)
    assert (fsport, fdport, fseq, fack, fflags) == (tcp.sport, tcp.dport, tcp.seq, tcp.ack,
                                                   tcp.flags)
    assert ip_len == ip.total_length
    assert plen == tcp_payload_length(ip, tcp) == len(payload)
    assert poff == ip.header_length + tcp.header_length
    assert raw[poff:] == payload[:len(raw) - poff]


def test_fast_path_declines_what_it_does_not_handle() -> None:
    from scapy.layers.inet import ICMP, IP, TCP
    from scapy.layers.inet6 import IPv6, IPv6ExtHdrHopByHop

    assert fast_tcp(bytes(IP(src=FMC, dst=PROXY) / ICMP()), 0) is None
    assert fast_tcp(bytes(IP(src=FMC, dst=PROXY, options=b"\x01\x01\x01\x00") / TCP()),
                    0) is None
    assert fast_tcp(bytes(IP(src=FMC, dst=PROXY, flags="MF") / TCP()), 0) is None
    assert fast_tcp(bytes(IPv6() / IPv6ExtHdrHopByHop() / TCP()), 0) is None


# --- recommendations ---------------------------------------------------------------------

def test_wide_bracket_recommends_measuring_not_a_tiny_mtu() -> None:
    from pathprobe.capture.analysis import recommendations
    from pathprobe.model import Confidence

    v = Verdict(VerdictCode.PMTU_BLACKHOLE, "fmc-proxy", Direction.UP, ("e",),
                Confidence.MEASURED, {"pmtu_low": 569, "pmtu_high": 1499})
    (rec,) = recommendations([v], {"fmc-proxy": "198.18.2.2:3128"})
    assert rec.command == "pathprobe diagnose --proxy http://198.18.2.2:3128"
    assert "569 <= limit < 1500" in rec.why


def test_tight_bracket_recommendations_never_exceed_the_proven_size() -> None:
    from pathprobe.capture.analysis import recommendations
    from pathprobe.model import Confidence
    from pathprobe.recommend import max_size_in

    v = Verdict(VerdictCode.RST_ON_LARGE_SEGMENT, "fmc-proxy", Direction.UP, ("e",),
                Confidence.MEASURED, {"size": 1400, "pmtu_low": 1380})
    recs = recommendations([v], {"fmc-proxy": "198.18.2.2:3128"})
    sizes = [s for s in (max_size_in(r) for r in recs) if s is not None]
    assert sizes and max(sizes) <= 1380
    assert not any(r.platform == "pathprobe" for r in recs)


def test_fixture_auth_ntlm_recommends_digest_or_basic() -> None:
    a = analyze_capture(FIXTURES / "auth-ntlm.pcap", Filters())
    assert any("Digest" in r.why or "digest" in r.command for r in a.recommendations)


def test_offloaded_super_segments_are_flagged(tmp_path: Path) -> None:
    f = Flow()
    f.tunnel()
    f.send(0.1, True, CLIENT_HELLO)
    f.send(0.2, False, b"\x17" * 2896)                  # GRO merged two 1448-byte segments
    f.ack(0.21, True)
    f.close(0.3)
    cap = write_pcap(tmp_path / "t.pcap", sorted(f.frames, key=lambda x: x[0]))
    (row,) = analyze_capture(cap, Filters()).measurement.legs
    assert any("TSO/GRO" in n for n in row.notes)


def test_upload_stall_direction_ignores_a_late_small_segment_down(tmp_path: Path) -> None:
    """A leg-2 up black hole: the upload is acknowledged by the proxy, then nothing; a
    255-byte TLS session ticket arriving last must not turn it into a download stall."""
    f = Flow()
    f.tunnel()
    f.send(0.1, True, CLIENT_HELLO)
    f.send(0.11, False, SERVER_HELLO)
    for i in range(8):
        f.send(0.2 + i * 0.001, True, b"\x17" * 1288)
    f.ack(0.21, False)
    f.send(0.22, False, b"\x16" * 255)                   # late session ticket
    f.ack(0.23, True)
    f.send(6.0, True, b"\x15" * 24)
    f.close(6.01)
    v = only(analyse(tmp_path, f), VerdictCode.TUNNEL_STALL)
    assert v.direction is Direction.UP and v.leg == "proxy-upstream"
    assert any("acknowledged on leg 1" in e for e in v.evidence)


@pytest.mark.parametrize("name", sorted(n for n, e in EXPECTED.items()
                                        if e[0] is not VerdictCode.HEALTHY))
def test_wireshark_filters_are_valid_and_select_the_problem(name: str) -> None:
    """Each suggested display filter is accepted by tshark and shows the frames cited."""
    import re
    import shutil
    import subprocess

    tshark = shutil.which("tshark")
    if tshark is None:
        pytest.skip("tshark not installed")
    path = FIXTURES / f"{name}.pcap"
    for v in analyze_capture(path, Filters()).measurement.verdicts:
        filt = str(v.numbers["wireshark_filter"])
        r = subprocess.run([tshark, "-r", str(path), "-Y", filt, "-T", "fields", "-e",
                            "frame.number"], capture_output=True, text=True, check=False,
                           timeout=60)
        assert r.returncode == 0, (filt, r.stderr)
        shown = {int(x) for x in r.stdout.split()}
        assert shown, filt
        cited = {int(m) for e in v.evidence for m in re.findall(r"frame (\d+)", e)}
        assert shown & cited, (filt, shown, cited)
