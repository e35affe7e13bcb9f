"""analyze: each recogniser on hand-built conversations, the lab-recorded fixtures,
and the fast header path against the shared parsers of pathprobe.wire.headers."""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pathprobe.capture import Filters, analyze_capture
from pathprobe.capture.advice import measure_first
from pathprobe.capture.analysis import Analysis, fast_tcp
from pathprobe.capture.conn import key_parts
from pathprobe.capture.report import EXAMPLE_PORTS, Merger
from pathprobe.capture.rules import conn_findings, size_limit
from pathprobe.errors import CaptureUnreadable
from pathprobe.facts.capture import CaptureFact
from pathprobe.findings import finish
from pathprobe.model import (
    Basis,
    Confidence,
    Direction,
    Evidence,
    ExitStatus,
    Leg,
    Limit,
    Report,
    Severity,
    Step,
    Verdict,
    VerdictCode,
)
from pathprobe.render.evidence import describe
from pathprobe.wire.headers import parse_ip, parse_tcp, tcp_payload_length

PLACEHOLDER = re.compile(r"(?<!\w)\?")    # what render prints for a missing value
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
    a = analyze_capture(cap, filters or Filters())
    assert_renders(all_evidence(a))
    return list(a.measurement.verdicts)


def codes(verdicts: Sequence[Verdict]) -> list[VerdictCode]:
    return [v.code for v in verdicts]


def only(verdicts: Sequence[Verdict], code: VerdictCode) -> Verdict:
    found = [v for v in verdicts if v.code is code]
    assert len(found) == 1, codes(verdicts)
    return found[0]


def facts(v: Verdict) -> list[object]:
    return [e.fact for e in v.evidence]


def fact(v: Verdict, member: CaptureFact) -> Evidence:
    """The one evidence item of ``v`` naming ``member``."""
    found = [e for e in v.evidence if e.fact is member]
    assert len(found) == 1, facts(v)
    return found[0]


def texts(v: Verdict) -> list[str]:
    return [describe(e) for e in v.evidence]


def no_recommend(_verdicts: Sequence[Verdict], _targets: object) -> tuple[()]:
    """findings.finish without pathprobe.recommend (tested on its own)."""
    return ()


def report(a: Analysis) -> Report:
    """The analyze command's Report (without recommendations)."""
    return finish([a.measurement], command="analyze", started="", duration_s=0.0,
                  recommender=no_recommend)


def all_evidence(a: Analysis) -> list[Evidence]:
    m = a.measurement
    return [*a.notes, *(e for v in m.verdicts for e in v.evidence),
            *(n for leg in m.legs for n in leg.notes)]


def assert_renders(items: Sequence[Evidence]) -> None:
    """Every item has a sentence with every field filled in."""
    for e in items:
        text = describe(e)
        assert e.step is Step.CAPTURE and isinstance(e.fact, CaptureFact)
        assert text and not PLACEHOLDER.search(text) and "None" not in text, (e, text)
        if e.frames:
            assert e.values.get("frame") in (None, e.frames[0]), e


# --- recognisers on hand-built conversations ---------------------------------------------

def test_healthy_tunnel_is_healthy(tmp_path: Path) -> None:
    f = Flow()
    f.tunnel()
    f.send(0.1, True, CLIENT_HELLO)
    f.send(0.12, False, SERVER_HELLO)
    f.ack(0.13, True)
    f.close(0.2)
    (v,) = analyse(tmp_path, f)
    assert (v.code, v.leg, v.direction) == (VerdictCode.HEALTHY, Leg.FMC_PROXY, Direction.BOTH)
    assert fact(v, CaptureFact.NOTHING_WRONG).values == {"connections": 1}


def test_mss_in_syn_ack_lower_than_syn_is_clamped(tmp_path: Path) -> None:
    f = Flow()
    f.handshake(0.0, mss=1460, peer_mss=1300)
    f.send(0.01, True, CONNECT)
    f.send(0.02, False, b"HTTP/1.1 200 Connection established\r\n\r\n")
    f.close(0.1)
    v = only(analyse(tmp_path, f), VerdictCode.MSS_CLAMPED)
    assert (v.leg, v.direction, v.basis, v.limit) == (Leg.FMC_PROXY, Direction.BOTH,
                                                      Basis.CAPTURE_POINT, None)
    assert v.numbers["mss_sent"] == 1460 and v.numbers["mss_received"] == 1300
    syn, synack = fact(v, CaptureFact.SYN_MSS), fact(v, CaptureFact.SYNACK_MSS)
    assert (syn.frames, syn.values.get("mss"), syn.values.get("sender")) == ((1,), 1460, FMC)
    assert (synack.frames, synack.values["mss"], synack.values["sender"]) == ((2,), 1300, PROXY)
    assert describe(syn) == f"frame 1: SYN from {FMC} carries MSS 1460"
    assert facts(v)[0] is CaptureFact.CONNECTION and CaptureFact.CLAMP_WHO_UNKNOWN in facts(v)


def test_higher_peer_mss_is_not_a_clamp(tmp_path: Path) -> None:
    f = Flow()
    f.handshake(0.0, mss=1460, peer_mss=8960)
    f.send(0.01, True, CONNECT)
    f.send(0.02, False, b"HTTP/1.1 200 Connection established\r\n\r\n")
    f.close(0.1)
    assert codes(analyse(tmp_path, f)) == [VerdictCode.HEALTHY]


@pytest.mark.parametrize(("status", "code", "leg", "why"), [
    (b"403 Forbidden", VerdictCode.PROXY_DENIED, Leg.FMC_PROXY, CaptureFact.POLICY_REFUSES),
    (b"400 Bad Request", VerdictCode.PROXY_DENIED, Leg.FMC_PROXY, CaptureFact.POLICY_REFUSES),
    (b"502 Bad Gateway", VerdictCode.PROXY_UPSTREAM_ERROR, Leg.PROXY_UPSTREAM,
     CaptureFact.UPSTREAM_UNREACHABLE),
    (b"503 Service Unavailable", VerdictCode.PROXY_UPSTREAM_ERROR, Leg.PROXY_UPSTREAM,
     CaptureFact.UPSTREAM_UNREACHABLE),
    (b"504 Gateway Timeout", VerdictCode.PROXY_UPSTREAM_ERROR, Leg.PROXY_UPSTREAM,
     CaptureFact.UPSTREAM_UNREACHABLE),
])
def test_proxy_refusals(tmp_path: Path, status: bytes, code: VerdictCode, leg: Leg,
                        why: CaptureFact) -> None:
    f = Flow()
    f.tunnel(status=status)
    f.close(0.1)
    v = only(analyse(tmp_path, f), code)
    assert (v.leg, v.direction, v.basis) == (leg, None, Basis.PROXY_ANSWER)
    assert v.numbers["status"] == int(status[:3])
    assert v.numbers["target"] == TARGET
    connect, answer = fact(v, CaptureFact.CONNECT_SENT), fact(v, CaptureFact.PROXY_ANSWERED)
    assert connect.frames == (4,) and connect.values.get("target") == TARGET
    assert answer.frames == (6,) and answer.values.get("status") == int(status[:3])
    assert describe(answer) == f"frame 6: proxy answered {status.decode()}"
    assert fact(v, why).values.get("target") == TARGET


def test_407_ntlm_only_is_unsupported(tmp_path: Path) -> None:
    f = Flow()
    f.tunnel(status=b"407 Proxy Authentication Required",
             headers=b"Proxy-Authenticate: NTLM\r\nProxy-Authenticate: Negotiate\r\n")
    f.close(0.1)
    v = only(analyse(tmp_path, f), VerdictCode.PROXY_AUTH_UNSUPPORTED)
    assert v.numbers["schemes"] == "ntlm, negotiate"
    assert v.confidence is Confidence.MEASURED      # the whole head was captured
    assert fact(v, CaptureFact.AUTH_SCHEMES).values.get("head_complete") == 1
    assert CaptureFact.FMC_SCHEMES_UNSUPPORTED in facts(v)


def test_407_head_cut_by_the_snap_length_is_only_inferred() -> None:
    """The lab fixture was taken with -s 400: more schemes could follow NTLM."""
    a = analyze_capture(FIXTURES / "auth-ntlm.pcap", Filters())
    v = only(a.measurement.verdicts, VerdictCode.PROXY_AUTH_UNSUPPORTED)
    assert v.confidence is Confidence.INFERRED
    schemes = fact(v, CaptureFact.AUTH_SCHEMES)
    assert schemes.values.get("head_complete") == 0
    assert "not fully captured" in describe(schemes)


def test_407_basic_without_credentials_is_auth_required(tmp_path: Path) -> None:
    f = Flow()
    f.tunnel(status=b"407 Proxy Authentication Required",
             headers=b'Proxy-Authenticate: Basic realm="x"\r\n')
    f.close(0.1)
    v = only(analyse(tmp_path, f), VerdictCode.PROXY_AUTH_REQUIRED)
    assert v.numbers["schemes"] == "basic" and v.numbers["credentials"] == "none sent"
    assert CaptureFact.NO_CREDENTIALS_SENT in facts(v)
    assert CaptureFact.CREDENTIALS_REJECTED not in facts(v)


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
    assert (v.leg, v.direction, v.basis) == (Leg.FMC_PROXY, Direction.UP, Basis.PROXY_ANSWER)
    assert v.numbers["retransmits"] == 3
    connect = fact(v, CaptureFact.CONNECT_SENT)
    assert connect.frames == (4,) and connect.values.get("retransmits") == 3
    assert describe(connect).endswith("retransmitted 3 time(s)")
    ended = fact(v, CaptureFact.NO_HTTP_ANSWER)
    assert (ended.values.get("ended"), ended.values.get("how")) == ("closed", "client FIN")
    assert CaptureFact.CONNECT_NEVER_ACKED in facts(v)


def test_syn_never_answered_to_the_proxy_is_unreachable(tmp_path: Path) -> None:
    f = Flow()
    f._pkt(0.0, True, "S", options=[("MSS", 1460)])
    f._pkt(1.0, True, "S", options=[("MSS", 1460)])
    # Without --proxy nothing says this SYN went to a proxy: a server, on the direct leg.
    assert only(analyse(tmp_path, f), VerdictCode.PROXY_UNREACHABLE).leg is Leg.FMC_UPSTREAM
    v = only(analyse(tmp_path, f, filters=Filters(proxy_host=PROXY, proxy_port=3128)),
             VerdictCode.PROXY_UNREACHABLE)
    assert v.numbers["syn_sent"] == 2 and v.basis is Basis.CAPTURE_POINT
    syn = fact(v, CaptureFact.SYN_UNANSWERED)
    assert syn.frames == (1,) and syn.values.get("count") == 2 and syn.values.get("port") == 3128


def test_rst_right_after_a_large_segment(tmp_path: Path) -> None:
    f = Flow()
    f.tunnel()
    f.send(0.1, True, CLIENT_HELLO)
    f.ack(0.11, False)
    f.send(0.12, False, SERVER_HELLO[:600])
    f.ack(0.13, True)
    f.send(0.2, True, b"\x17" * 1448)
    f.rst(0.2005, False)
    verdicts = analyse(tmp_path, f)
    v = only(verdicts, VerdictCode.RST_ON_LARGE_SEGMENT)
    assert (v.leg, v.direction, v.basis) == (Leg.FMC_PROXY, Direction.UP, Basis.CAPTURE_POINT)
    assert v.limit == Limit(pmtu_low=40 + len(CLIENT_HELLO), pmtu_high=40 + 1448 - 1,
                            exact=False)
    seg, rst = fact(v, CaptureFact.LARGE_SEGMENT), fact(v, CaptureFact.RST_AFTER_LARGE)
    assert (seg.values.get("size"), seg.values.get("payload")) == (40 + 1448, 1448)
    assert rst.frames[0] == seg.frames[0] + 1 and rst.values.get("delay_ms") in (0, 1)
    assert fact(v, CaptureFact.RST_THRESHOLD_ABOVE).values["delivered"] == 40 + len(CLIENT_HELLO)
    assert VerdictCode.PMTU_BLACKHOLE not in codes(verdicts)


def test_rst_after_small_segment_is_not_blamed_on_size(tmp_path: Path) -> None:
    f = Flow()
    f.tunnel()
    f.send(0.1, True, CLIENT_HELLO)
    f.rst(0.1005, False)
    assert VerdictCode.RST_ON_LARGE_SEGMENT not in codes(analyse(tmp_path, f))


def _black_hole(first: bytes, small_after: bool = False, dup_ack: bool = False) -> Flow:
    """A tunnel whose ``first`` record is acknowledged, then a 1448-byte one never is;
    with ``small_after``, 300 more bytes follow it, and with ``dup_ack`` the proxy
    acknowledges (again) only what came before: it got the small segment, not the large."""
    f = Flow()
    f.tunnel()
    f.send(0.1, True, first)
    f.ack(0.11, False)
    big = b"\x17" * 1448
    seq = f.send(0.2, True, big)
    if small_after:
        f.send(0.21, True, b"\x17" * 300)
    if dup_ack:
        f.cseq, after = seq, f.cseq                  # (the ACK is at the large segment)
        f.ack(0.22, False)
        f.cseq = after
    for i in range(4):
        f.resend(0.4 * 2 ** i, True, seq, big)
    return f


def test_large_segments_retransmitted_unacked_are_a_black_hole(tmp_path: Path) -> None:
    v = only(analyse(tmp_path, _black_hole(CLIENT_HELLO)), VerdictCode.PMTU_BLACKHOLE)
    assert (v.leg, v.direction, v.basis) == (Leg.FMC_PROXY, Direction.UP, Basis.CAPTURE_POINT)
    low = 20 + 20 + len(CLIENT_HELLO)
    # Never over-report: the proven lower bound is the largest packet acknowledged.
    assert v.limit == Limit(pmtu_low=low, pmtu_high=40 + 1448 - 1, exact=False)
    retx = fact(v, CaptureFact.LARGE_RETRANSMITTED)
    assert (retx.values["count"], retx.values["size"], retx.values["payload"]) == (4, 1488, 1448)
    assert retx.frames == (11,)                  # the first retransmission
    assert "retransmitted 4 times" in describe(retx)
    bracket = fact(v, CaptureFact.BLACKHOLE_BRACKET)
    assert (bracket.values.get("delivered"), bracket.values.get("size")) == (low, 1488)


def test_black_hole_whose_smaller_later_data_vanished_too_is_unproven(
        tmp_path: Path) -> None:
    """Suricata's ssh-hassh-incomplete: a 1440-byte segment resent 7 times, and 528 bytes
    after it, drew not one ACK: everything vanished, not only the large. Size is not
    proven (a silent receiver or path remains): a warning without a size, no MTU advice."""
    a = analyze_capture(write_pcap(tmp_path / "t.pcap", sorted(
        _black_hole(CLIENT_HELLO, small_after=True).frames)), Filters())
    v = only(a.measurement.verdicts, VerdictCode.PMTU_BLACKHOLE)
    assert v.unproven and v.limit is None and v.confidence is Confidence.INFERRED
    later = fact(v, CaptureFact.LATER_DATA_UNANSWERED)
    assert later.values["later"] == 300 and "not proven" in describe(later)
    assert CaptureFact.BLACKHOLE_BRACKET not in facts(v)
    from pathprobe.render.summary import phrase
    assert phrase(v) == ("large packets going up (toward the upstream) never acknowledged, "
                         "nor smaller ones after them")
    r = report(a)
    assert [x.severity for x in r.verdicts] == [Severity.WARNING]
    (advice,) = a.recommender(r.verdicts, {})
    assert advice.command.startswith("pathprobe diagnose") and "vanished alike" in advice.why
    # The proxy's duplicate ACK says the small segment arrived: only the large one vanished.
    v = only(analyse(tmp_path, _black_hole(CLIENT_HELLO, small_after=True, dup_ack=True)),
             VerdictCode.PMTU_BLACKHOLE)
    assert not v.unproven and v.limit is not None and v.limit.pmtu_high == 40 + 1448 - 1
    assert CaptureFact.BLACKHOLE_BRACKET in facts(v)


def test_black_hole_bracket_closed_is_exact(tmp_path: Path) -> None:
    """1487-byte packets acknowledged, 1488 never: the limit is proven exactly."""
    v = only(analyse(tmp_path, _black_hole(b"\x17" * 1447)), VerdictCode.PMTU_BLACKHOLE)
    assert v.limit == Limit(mtu=1487, pmtu_low=1487, pmtu_high=1487, exact=True)


@given(delivered=st.one_of(st.none(), st.integers(68, 9000)), failing=st.integers(69, 9001))
def test_size_limit_never_claims_more_than_proven(delivered: int | None, failing: int) -> None:
    lim = size_limit(delivered, failing)
    assert lim.pmtu_high == failing - 1
    assert lim.exact == (delivered is not None and delivered >= failing - 1)
    if lim.exact:
        assert lim.mtu == lim.pmtu_low == failing - 1
    else:
        assert lim.mtu is None and lim.pmtu_low == delivered


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


def _frag_needed(acked: bool) -> Flow:
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
    if acked:
        f.ack(0.22, False)
        f.close(0.3)
    return f


def test_icmp_frag_needed_quoting_the_connection(tmp_path: Path) -> None:
    v = only(analyse(tmp_path, _frag_needed(acked=True)), VerdictCode.PMTU_REDUCED)
    assert (v.leg, v.direction, v.basis) == (Leg.FMC_PROXY, Direction.UP, Basis.CAPTURE_POINT)
    assert v.limit == Limit(mtu=1400) and v.numbers["router"] == R1
    icmp = fact(v, CaptureFact.ICMP_FRAG_NEEDED)
    assert (icmp.values["mtu"], icmp.values["router"], icmp.values["size"]) == (1400, R1, 1488)
    assert icmp.frames == (9,)
    assert describe(fact(v, CaptureFact.PMTUD_WORKS)).endswith("PMTUD works")


def test_icmp_without_the_smaller_size_acknowledged_is_no_exact_mtu(tmp_path: Path) -> None:
    v = only(analyse(tmp_path, _frag_needed(acked=False)), VerdictCode.PMTU_REDUCED)
    # Only the CONNECT's packet was acknowledged: that much is proven, 1400 is the ceiling.
    assert v.limit == Limit(pmtu_low=40 + len(CONNECT), pmtu_high=1400, exact=False)
    assert CaptureFact.PMTUD_WORKS not in facts(v)


def test_tunnel_stall_after_clienthello(tmp_path: Path) -> None:
    f = Flow()
    f.tunnel()
    f.send(0.1, True, CLIENT_HELLO)
    f.ack(0.11, False)
    f.fin(30.0, True)
    v = only(analyse(tmp_path, f), VerdictCode.TUNNEL_STALL)
    assert (v.leg, v.direction, v.basis) == (Leg.PROXY_UPSTREAM, None, Basis.CAPTURE_POINT)
    assert v.confidence is Confidence.INFERRED and v.limit is None
    assert fact(v, CaptureFact.TUNNEL_OPEN).frames == (6,)
    hello = fact(v, CaptureFact.CLIENT_HELLO)
    assert hello.frames == (8,) and hello.values.get("size") == len(CLIENT_HELLO)
    assert fact(v, CaptureFact.NO_SERVER_HELLO).values["idle_s"] == pytest.approx(29.9, abs=0.05)
    assert CaptureFact.HELLO_ACKED_ON_LEG1 in facts(v)
    assert "acknowledged on leg 1" in describe(fact(v, CaptureFact.HELLO_ACKED_ON_LEG1))


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
    last = fact(v, CaptureFact.LAST_DATA)
    assert last.values.get("after") == 24 and last.values.get("until_frame") == last.frames[0] + 2
    assert fact(v, CaptureFact.TUNNEL_BYTES).values.get("direction") == "down"
    # No timestamps in this handshake: a full segment carries 1460 bytes, more than came.
    none_full = fact(v, CaptureFact.NO_FULL_SEGMENT)
    assert (none_full.values.get("max_seg_down"), none_full.values.get("full_seg")) == (1448, 1460)


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
    first = fact(v, CaptureFact.CONNECTION)
    assert (first.values.get("client"), first.values.get("cport")) == (FMC, 41000)
    same = fact(v, CaptureFact.SAME_IN_OTHERS)
    assert same.values.get("others") == 11 and same.values.get("unlisted") == 11 - EXAMPLE_PORTS
    assert same.values.get("ports") == ", ".join(str(41001 + i) for i in range(EXAMPLE_PORTS))
    assert describe(same).startswith("the same in 11 other connection(s)")
    assert describe(same).endswith(", ...)")


def test_merger_keeps_one_finding_per_group(tmp_path: Path) -> None:
    """Memory stays flat: 12 refused connections leave one finding and a few ports."""
    from pathprobe.capture.tracker import Tracker

    flows = []
    for i in range(12):
        f = Flow(cport=41000 + i)
        f.tunnel(ts=i, status=b"403 Forbidden")
        f.close(i + 0.5)
        flows.append(f)
    cap = write_pcap(tmp_path / "t.pcap", sorted((x for f in flows for x in f.frames),
                                                 key=lambda x: x[0]))
    from pathprobe.capture.analysis import track
    from pathprobe.capture.reader import ReadStats

    tracker: Tracker = track(cap, Filters(), ReadStats())
    tracker.finish()
    merger = Merger()
    for c in tracker.done:
        for finding in conn_findings(c, tracker.capture_end, Leg.FMC_PROXY):
            merger.add(finding)
    (group,) = merger.groups.values()
    _first, (count, measured), ports = group
    assert (count, measured, len(ports)) == (12, 12, EXAMPLE_PORTS + 1)   # (+ its own)


def test_port_filter_selects_connections(tmp_path: Path) -> None:
    a, b = Flow(cport=40001), Flow(cport=40002)
    a.tunnel(status=b"403 Forbidden")
    b.tunnel(ts=1.0)
    b.close(1.5)
    verdicts = analyse(tmp_path, a, b, filters=Filters(ports=frozenset({40002})))
    assert codes(verdicts) == [VerdictCode.HEALTHY]


def test_host_filter_matching_nothing_is_an_error(tmp_path: Path) -> None:
    """Filters narrow the view; one that leaves nothing leaves nothing to analyse."""
    f = Flow()
    f.tunnel()
    with pytest.raises(CaptureUnreadable) as e:
        analyse(tmp_path, f, filters=Filters(hosts=frozenset({"198.18.9.9"})))
    assert e.value.exit_status is ExitStatus.NOT_MEASURED


def test_passwords_in_the_capture_are_never_reported(tmp_path: Path) -> None:
    from pathprobe.render import leg_json, verdict_json

    f = Flow()
    f.handshake(0.0)
    f.send(0.01, True, CONNECT[:-2] + b"Proxy-Authorization: Basic Zm1jOmxhYi1zZWNyZXQ=\r\n\r\n")
    f.send(0.02, False, b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                        b"Proxy-Authenticate: Basic realm=\"x\"\r\n\r\n")
    f.close(0.1)
    cap = write_pcap(tmp_path / "t.pcap", sorted(f.frames))
    a = analyze_capture(cap, Filters())
    r = report(a)
    text = json.dumps([*map(verdict_json, r.verdicts), *map(leg_json, r.legs),
                       *map(describe, r.notes)])
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
    notes = [n.fact for n in a.measurement.legs[0].notes]
    assert CaptureFact.ROW_OK in notes and CaptureFact.ROW_RETRANSMISSIONS not in notes


def test_capture_started_mid_connection(tmp_path: Path) -> None:
    f = Flow()
    f.tunnel()
    f.send(0.1, True, CLIENT_HELLO)
    f.send(0.2, False, SERVER_HELLO)
    f.ack(0.3, True)
    f.close(0.4)
    late = f.frames[8:]                                 # no SYN, no CONNECT in the file
    cap = write_pcap(tmp_path / "t.pcap", late)
    assert analyze_capture(cap, Filters()).measurement.legs   # analysed without filters
    a = analyze_capture(cap, Filters(ports=frozenset({3128})))
    (row,) = a.measurement.legs
    assert row.name is Leg.FMC_UPSTREAM
    assert row.measurements["client_port"] == f.cport   # the higher port is the client
    assert row.measurements["mss_sent"] is None
    assert CaptureFact.ROW_NO_SYN in [n.fact for n in row.notes]
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
    (seen,) = [n for n in a.notes if n.fact is CaptureFact.FRAGMENTS_SEEN]
    assert seen.values.get("count") == len(frags) and seen.frames == (8,)
    (row,) = [n for n in a.measurement.legs[0].notes if n.fact is CaptureFact.ROW_FRAGMENTS]
    assert row.values.get("count") == len(frags)
    assert describe(row) == f"{len(frags)} IP fragments"


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
    assert fact(v, CaptureFact.NO_SERVER_HELLO).values.get("ended") == "silent"
    assert v.numbers["idle_s"] == pytest.approx(EVICT_IDLE_S + 100, abs=5)


def test_offloaded_super_segments_are_flagged(tmp_path: Path) -> None:
    f = Flow()
    f.tunnel()
    f.send(0.1, True, CLIENT_HELLO)
    f.send(0.2, False, b"\x17" * 2896)                  # GRO merged two 1448-byte segments
    f.ack(0.21, True)
    f.close(0.3)
    cap = write_pcap(tmp_path / "t.pcap", sorted(f.frames, key=lambda x: x[0]))
    (row,) = analyze_capture(cap, Filters()).measurement.legs
    (offload,) = [n for n in row.notes if n.fact is CaptureFact.ROW_OFFLOAD]
    assert "TSO/GRO" in describe(offload)


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
    assert v.direction is Direction.UP and v.leg is Leg.PROXY_UPSTREAM
    assert CaptureFact.LEG1_ALL_ACKED in facts(v)


def test_syn_answered_by_rst_is_unreachable(tmp_path: Path) -> None:
    f = Flow()
    f._pkt(0.0, True, "S", options=[("MSS", 1460)])
    f._pkt(0.001, False, "RA")
    v = only(analyse(tmp_path, f, filters=Filters(proxy_host=PROXY)),
             VerdictCode.PROXY_UNREACHABLE)
    assert [e.frames for e in v.evidence[1:]] == [(1,), (2,)]
    assert facts(v)[1:] == [CaptureFact.SYN_SENT, CaptureFact.SYN_ANSWERED_BY_RST]
    assert describe(v.evidence[1]) == f"frame 1: SYN to {PROXY}:3128"


def _gap_flow(acked: bool) -> Flow:
    """A full segment from the proxy missing from the capture; the FMC's ACK covers it
    (it was delivered: capture loss) or stays below it (it never arrived)."""
    f = Flow()
    f.tunnel()
    f.send(0.1, True, CLIENT_HELLO)
    f.send(0.11, False, SERVER_HELLO[:600])
    before = f.sseq
    f.sseq += 1448                                     # a full segment that never arrived
    f.send(0.12, False, b"\x17" * 600)
    if acked:
        f.ack(0.13, True)
        f.close(2.0)
    else:
        f.sseq = before                                # duplicate ACKs below the gap
        f.ack(0.13, True)
        f.ack(2.0, True)
    return f


def test_bytes_missing_before_the_capture_point_are_an_inferred_black_hole(
        tmp_path: Path) -> None:
    v = only(analyse(tmp_path, _gap_flow(acked=False)), VerdictCode.PMTU_BLACKHOLE)
    assert (v.direction, v.confidence) == (Direction.DOWN, Confidence.INFERRED)
    assert v.limit == Limit(pmtu_low=640, exact=False) and v.numbers["missing_bytes"] == 1448
    gap = fact(v, CaptureFact.DATA_AFTER_GAP)
    assert gap.frames == (10,) and gap.values.get("missing") == 1448
    assert fact(v, CaptureFact.SMALLER_ARRIVED).values.get("max_payload") == 600


def test_bytes_acknowledged_but_not_captured_are_capture_loss(tmp_path: Path) -> None:
    """Issue 20 item 7: the peer acknowledged the gap, so the network delivered it."""
    f = _gap_flow(acked=True)
    frames = sorted(f.frames, key=lambda x: x[0])
    a = analyze_capture(write_pcap(tmp_path / "t.pcap", frames), Filters())
    assert codes(a.measurement.verdicts) == [VerdictCode.HEALTHY]
    (loss,) = [n for n in a.notes if n.fact is CaptureFact.CAPTURE_LOSS]
    assert (loss.values.get("connections"), loss.values.get("missing")) == (1, 1448)
    (row,) = [n for n in a.measurement.legs[0].notes if n.fact is CaptureFact.ROW_CAPTURE_LOSS]
    assert row.frames == (10,) and "capture loss" in describe(row)


def test_gap_in_a_one_way_capture_is_no_black_hole(tmp_path: Path) -> None:
    """Issue 20 item 7 (PcapPlusPlus' unidirectional captures): without one packet of the
    receiver's, bytes that never showed up may be the capture's loss as well as the
    network's; a note says so, no PMTU verdict."""
    f = _gap_flow(acked=False)
    server = bytes(int(x) for x in f.server.split("."))
    frames = sorted((fr for fr in f.frames if fr[1][26:30] == server), key=lambda x: x[0])
    a = analyze_capture(write_pcap(tmp_path / "t.pcap", frames), Filters())
    assert VerdictCode.PMTU_BLACKHOLE not in codes(a.measurement.verdicts)
    (gap,) = [n for n in a.notes if n.fact is CaptureFact.GAP_UNPROVEN]
    assert (gap.values.get("connections"), gap.values.get("missing")) == (1, 1448)
    (one_way,) = [n for n in a.notes if n.fact is CaptureFact.ONE_WAY]
    assert one_way.values.get("connections") == 1
    assert not [n for n in a.notes if n.fact is CaptureFact.CAPTURE_LOSS]
    (row,) = [n for n in a.measurement.legs[0].notes if n.fact is CaptureFact.ROW_GAP_UNPROVEN]
    assert row.frames == (5,) and "capture loss or network loss" in describe(row)
    assert_renders(all_evidence(a))


def test_data_resent_to_a_peer_never_seen_is_said_not_called_healthy_silently(
        tmp_path: Path) -> None:
    """648 bytes sent three times within a second, the peer never in the capture: too few
    and too soon for a stall (test_capture_ppa: resent for seconds, it is one), no size
    verdict (nothing got through), but not a silent HEALTHY either: a note says what the
    capture cannot tell."""
    f = Flow(server="198.18.3.2", sport=1043)
    seq = f.send(0.0, True, b"\x01" * 648)
    for i, t in enumerate((0.2, 0.6)):
        f.resend(t + i * 0.001, True, seq, b"\x01" * 648)
    a = analyze_capture(write_pcap(tmp_path / "t.pcap", f.frames), Filters())
    assert codes(a.measurement.verdicts) == [VerdictCode.HEALTHY]
    (note,) = [n for n in a.notes if n.fact is CaptureFact.PEER_SILENT]
    assert note.values.get("connections") == 1 and "one direction" in describe(note)
    f.ack(9.3, False)                                  # the peer answers after all
    a = analyze_capture(write_pcap(tmp_path / "t.pcap", f.frames), Filters())
    assert not [n for n in a.notes if n.fact is CaptureFact.PEER_SILENT]


def test_a_teardown_alone_is_tcp_packets_without_a_connection(tmp_path: Path) -> None:
    """Practical Packet Analysis' tcp_teardown: FIN, ACK, FIN, ACK of a connection whose
    start the capture missed. It said '4 IP packets, no TCP connection in the capture'."""
    f = Flow(server="198.18.3.2", sport=80)
    f.fin(0.0, False)
    f.ack(0.001, True)
    f.fin(0.5, True)
    f.ack(0.6, False)
    a = analyze_capture(write_pcap(tmp_path / "t.pcap", f.frames), Filters())
    assert not [n for n in a.notes if n.fact is CaptureFact.NO_TCP]
    (strays,) = [n for n in a.notes if n.fact is CaptureFact.TCP_STRAYS]
    assert strays.values.get("count") == 4 and "the 4 TCP packets carry no data" in describe(
        strays)


def test_gap_no_larger_than_a_segment_that_arrived_is_loss_not_size(tmp_path: Path) -> None:
    """The receiver lacks 1,100 bytes (duplicate ACKs), but 1,200-byte segments arrived:
    whatever segments the gap held were no larger, so size cannot be why they vanished."""
    f = Flow()
    f.tunnel()
    f.send(0.1, True, CLIENT_HELLO)
    f.send(0.11, False, SERVER_HELLO)                 # 1,206 bytes: this size crosses
    before = f.sseq
    f.sseq += 1100                                     # never arrives
    f.send(0.12, False, b"\x17" * 600)
    f.sseq = before
    f.ack(0.13, True)
    f.ack(2.0, True)
    a = analyze_capture(write_pcap(tmp_path / "t.pcap", sorted(f.frames)), Filters())
    assert VerdictCode.PMTU_BLACKHOLE not in codes(a.measurement.verdicts)
    assert not [n for n in a.notes if n.fact in (CaptureFact.GAP_UNPROVEN,
                                                 CaptureFact.CAPTURE_LOSS)]


def test_direct_tls_session_without_server_hello_stalls_on_the_direct_leg(
        tmp_path: Path) -> None:
    f = Flow(server="198.18.3.2", sport=443)
    f.handshake(0.0)
    f.send(0.01, True, CLIENT_HELLO)
    f.ack(0.02, False)
    f.fin(30.0, True)
    v = only(analyse(tmp_path, f, filters=Filters(ports=frozenset({443}))),
             VerdictCode.TUNNEL_STALL)
    assert (v.leg, v.direction) == (Leg.FMC_UPSTREAM, None)
    assert facts(v)[1:] == [CaptureFact.TLS_SESSION, CaptureFact.CLIENT_HELLO,
                            CaptureFact.NO_SERVER_HELLO]


def test_upload_stall_with_data_unacknowledged_on_leg1(tmp_path: Path) -> None:
    f = Flow()
    f.tunnel()
    f.send(0.1, True, CLIENT_HELLO)
    f.send(0.11, False, SERVER_HELLO)
    f.ack(0.12, True)
    for i in range(8):
        f.send(0.2 + i * 0.001, True, b"\x17" * 1288)   # sent once, never acknowledged
    f.fin(6.0, True)
    v = only(analyse(tmp_path, f), VerdictCode.TUNNEL_STALL)
    assert v.direction is Direction.UP
    assert CaptureFact.LEG1_SOME_UNACKED in facts(v)
    assert CaptureFact.LEG1_ALL_ACKED not in facts(v)


def test_reader_notes_table_limit_and_unmatched_icmp(tmp_path: Path) -> None:
    from scapy.layers.inet import ICMP, IP, TCP
    from scapy.layers.l2 import Ether

    a, b = Flow(cport=40001), Flow(cport=40002)
    a.tunnel()
    a.close(0.1)
    b.tunnel(ts=1.0)
    b.close(1.1)
    quoted = IP(src=FMC, dst=PROXY) / TCP(sport=50000, dport=3128) / (b"x" * 1448)
    icmp = Ether() / IP(src=R1, dst=FMC) / ICMP(type=3, code=4, nexthopmtu=1400) / \
        bytes(quoted)[:28]
    frames = sorted(a.frames + b.frames + [(2.0, bytes(icmp))], key=lambda x: x[0])
    result = analyze_capture(write_pcap(tmp_path / "t.pcap", frames), Filters(), max_rows=1)
    assert_renders(all_evidence(result))
    notes = {n.fact: n for n in result.notes}
    limited = notes[CaptureFact.TABLE_LIMITED]
    assert (limited.values.get("shown"), limited.values.get("chosen")) == (1, 2)
    assert len(result.measurement.legs) == 1
    # The ICMP quotes no connection of the capture: it is evidence on its own.
    v = only(result.measurement.verdicts, VerdictCode.PMTU_REDUCED)
    icmp_fact = fact(v, CaptureFact.ICMP_FRAG_NEEDED)
    assert icmp_fact.frames == (len(frames),) and icmp_fact.values.get("mtu") == 1400
    assert icmp_fact.values.get("router") == R1 and v.leg is Leg.FMC_PROXY


# --- the report: findings.finish over the capture's Measurement -------------------------

def test_report_rates_and_keeps_one_verdict_per_finding(tmp_path: Path) -> None:
    a, b = Flow(cport=40001), Flow(cport=40002, sport=3128)
    a.handshake(0.0, mss=1460, peer_mss=1300)
    a.send(0.01, True, CONNECT)
    a.send(0.02, False, b"HTTP/1.1 403 Forbidden\r\n\r\n")
    a.close(0.1)
    b.tunnel(ts=1.0, status=b"403 Forbidden")
    b.close(1.5)
    cap = write_pcap(tmp_path / "t.pcap", sorted(a.frames + b.frames, key=lambda x: x[0]))
    analysis = analyze_capture(cap, Filters())
    r = report(analysis)
    assert [(v.code, v.severity) for v in r.verdicts] == [
        (VerdictCode.PROXY_DENIED, Severity.CRITICAL), (VerdictCode.MSS_CLAMPED, Severity.INFO)]
    assert r.verdicts[0].numbers["connections"] == 2
    assert r.exit_status() is ExitStatus.PROBLEM
    assert {leg.measurements["client_port"] for leg in r.legs} == {40001, 40002}
    read = r.notes[0]
    assert read.fact is CaptureFact.CAPTURE_READ
    assert (read.values["file"], read.values["chosen"], read.values["total"]) == ("t.pcap", 2, 2)
    assert describe(read).startswith("t.pcap: ")


def test_healthy_report_exits_0(tmp_path: Path) -> None:
    f = Flow()
    f.tunnel()
    f.send(0.1, True, CLIENT_HELLO)
    f.send(0.12, False, SERVER_HELLO)
    f.close(0.2)
    r = report(analyze_capture(write_pcap(tmp_path / "t.pcap", f.frames), Filters()))
    assert [(v.code, v.severity) for v in r.verdicts] == [(VerdictCode.HEALTHY, Severity.INFO)]
    assert r.exit_status() is ExitStatus.HEALTHY


# --- the lab-recorded fixtures (scripts/make_captures.py) ------------------------------

# name: code, leg, direction, limit, numbers
EXPECTED: dict[str, tuple[VerdictCode, Leg, Direction | None, Limit | None,
                          dict[str, object]]] = {
    "healthy": (VerdictCode.HEALTHY, Leg.FMC_PROXY, Direction.BOTH, None, {}),
    "healthy-v6": (VerdictCode.HEALTHY, Leg.FMC_PROXY, Direction.BOTH, None, {}),
    "healthy-sll2": (VerdictCode.HEALTHY, Leg.FMC_PROXY, Direction.BOTH, None, {}),
    "acl": (VerdictCode.PROXY_DENIED, Leg.FMC_PROXY, None, None, {"status": 403}),
    "auth-basic": (VerdictCode.PROXY_AUTH_REQUIRED, Leg.FMC_PROXY, None, None,
                   {"schemes": "basic", "credentials": "none sent"}),
    "auth-basic-wrong": (VerdictCode.PROXY_AUTH_REQUIRED, Leg.FMC_PROXY, None, None,
                         {"schemes": "basic", "credentials": "rejected"}),
    "auth-ntlm": (VerdictCode.PROXY_AUTH_UNSUPPORTED, Leg.FMC_PROXY, None, None,
                  {"schemes": "ntlm"}),
    "upstream-down": (VerdictCode.PROXY_UPSTREAM_ERROR, Leg.PROXY_UPSTREAM, None, None,
                      {"status": 503}),
    "clamp": (VerdictCode.MSS_CLAMPED, Leg.FMC_PROXY, Direction.BOTH, None,
              {"mss_sent": 1460, "mss_received": 1300}),
    "rst": (VerdictCode.RST_ON_LARGE_SEGMENT, Leg.FMC_PROXY, Direction.UP,
            Limit(pmtu_low=569, pmtu_high=1499, exact=False), {}),
    "mtu": (VerdictCode.PMTU_REDUCED, Leg.FMC_PROXY, Direction.UP, Limit(mtu=1400),
            {"router": R1}),
    "blackhole-leg1": (VerdictCode.PMTU_BLACKHOLE, Leg.FMC_PROXY, Direction.UP,
                       Limit(pmtu_low=569, pmtu_high=1499, exact=False), {}),
    "blackhole-leg2": (VerdictCode.TUNNEL_STALL, Leg.PROXY_UPSTREAM, Direction.UP, None, {}),
    "stall": (VerdictCode.TUNNEL_STALL, Leg.PROXY_UPSTREAM, Direction.DOWN, None,
              {"max_seg_down": 1448}),
    "blackhole-leg1-down": (VerdictCode.TUNNEL_STALL, Leg.PROXY_UPSTREAM, Direction.DOWN, None,
                            {"full_seg": 1448}),
    "no-response": (VerdictCode.CONNECT_NO_RESPONSE, Leg.FMC_PROXY, Direction.UP, None,
                    {"target": TARGET}),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_verdicts(name: str) -> None:
    code, leg, direction, limit, numbers = EXPECTED[name]
    result = analyze_capture(FIXTURES / f"{name}.pcap", Filters())
    verdicts = result.measurement.verdicts
    assert codes(verdicts) == [code], verdicts
    v = verdicts[0]
    assert (v.leg, v.direction, v.limit, v.severity) == (leg, direction, limit, None)
    for key, value in numbers.items():
        assert v.numbers[key] == value, (key, v.numbers)
    assert v.evidence
    assert_renders(all_evidence(result))
    if code is not VerdictCode.HEALTHY:
        assert isinstance(v.numbers["wireshark_filter"], str)
        assert v.basis in (Basis.CAPTURE_POINT, Basis.PROXY_ANSWER)
        assert any(e.frames for e in v.evidence)
    (rv,) = report(result).verdicts               # findings.finish keeps it and rates it
    assert rv.code is code and rv.severity is not None


def test_fixture_black_hole_lower_bound_is_proven_not_guessed() -> None:
    """Leg 1 drops packets above 1372: the capture proves only what was acknowledged."""
    v = analyze_capture(FIXTURES / "blackhole-leg1.pcap", Filters()).measurement.verdicts[0]
    assert v.limit is not None and not v.limit.exact and v.limit.mtu is None
    low = v.limit.pmtu_low
    assert isinstance(low, int) and low <= 1372


def test_fixture_leg2_black_hole_is_not_blamed_on_leg1() -> None:
    v = analyze_capture(FIXTURES / "blackhole-leg2.pcap", Filters()).measurement.verdicts[0]
    assert v.leg is Leg.PROXY_UPSTREAM and v.confidence is Confidence.INFERRED
    assert "acknowledged on leg 1" in describe(fact(v, CaptureFact.LEG1_ALL_ACKED))


def test_fixture_leg1_down_black_hole_is_not_pinned_on_leg2() -> None:
    """Leg 1 drops the proxy's large segments: the FMC sees nothing of them, so the
    capture cannot tell this from a leg-2 stall, and must say both are possible."""
    a = analyze_capture(FIXTURES / "blackhole-leg1-down.pcap", Filters())
    (v,) = a.measurement.verdicts
    seg = v.numbers["max_seg_down"]
    assert isinstance(seg, int) and seg < 1448
    none_full = fact(v, CaptureFact.NO_FULL_SEGMENT)
    assert (none_full.values.get("max_seg_down"), none_full.values.get("full_seg")) == (seg, 1448)
    assert "vanish on leg 1 downstream" in describe(none_full)
    advice, _rest = measure_first(a.measurement.verdicts, a.targets)
    assert [r.command for r in advice] == ["pathprobe diagnose --proxy http://198.18.2.2:3128"]
    stall = analyze_capture(FIXTURES / "stall.pcap", Filters())
    (sv,) = stall.measurement.verdicts
    assert CaptureFact.FULL_SEGMENTS_ARRIVED in facts(sv)
    advice, rest = measure_first(stall.measurement.verdicts, stall.targets)
    assert advice == () and rest == (sv,)


def test_fixture_table_row() -> None:
    a = analyze_capture(FIXTURES / "clamp.pcap", Filters())
    (row,) = a.measurement.legs
    m = row.measurements
    assert row.name is Leg.FMC_PROXY and row.target.startswith(TARGET)
    assert (m["status"], m["mss_sent"], m["mss_received"]) == (200, 1460, 1300)
    assert m["max_seg_down"] == 1288          # 1300 - 12 bytes of timestamps
    assert m["tls"] == "hello+server" and m["ended"] == "client FIN"
    notes = {n.fact: n for n in row.notes}
    assert notes[CaptureFact.ROW_FINDING].values.get("code") == "MSS_CLAMPED"
    assert notes[CaptureFact.ROW_FRAMES].frames == (1, 39)
    assert describe(notes[CaptureFact.ROW_TIMESTAMPS]) == "timestamps on"
    assert a.targets == {Leg.FMC_PROXY: "198.18.2.2:3128", Leg.PROXY_UPSTREAM: TARGET}


def test_fixture_ipv6_target_is_bracketed() -> None:
    """The leg's target and the row's target write an IPv6 proxy in brackets (the text
    tests check a verdict's evidence)."""
    a = analyze_capture(FIXTURES / "healthy-v6.pcap", Filters())
    assert (a.targets)[Leg.FMC_PROXY] == "[2001:db8:2::2]:3128"
    (row,) = a.measurement.legs
    assert row.target is not None and row.target.endswith(" via [2001:db8:2::2]:3128")


def test_rows_and_verdicts_carry_their_ip_version_and_clamp_typed() -> None:
    """The recommendations' header sizes follow the capture's own IP version (typed), not
    how an address is written."""
    from pathprobe.findings import finish
    from pathprobe.model import IpVersion

    v6 = analyze_capture(FIXTURES / "healthy-v6.pcap", Filters())
    assert {row.ip_version for row in v6.measurement.legs} == {IpVersion.V6}
    report = finish([v6.measurement], command="analyze", started="t", duration_s=0,
                    recommender=v6.recommender)
    assert report.verdicts and all(v.ip_version is IpVersion.V6 for v in report.verdicts)
    (clamp,) = analyze_capture(FIXTURES / "clamp.pcap", Filters()).measurement.verdicts
    assert (clamp.mss_received, clamp.ip_version) == (1300, IpVersion.V4)


# --- the fast path agrees with the shared parsers ----------------------------------------

@settings(max_examples=300, deadline=None)
@given(v6=st.booleans(), sport=st.integers(0, 65535), dport=st.integers(0, 65535),
       seq=st.integers(0, 2**32 - 1), ack=st.integers(0, 2**32 - 1),
       flags=st.integers(0, 255), payload=st.binary(max_size=64),
       opts=st.sampled_from([[], [("MSS", 1300)], [("Timestamp", (1, 2)), ("NOP", None)]]),
       cut=st.integers(0, 120), win=st.integers(0, 65535), tso=st.booleans())
def test_fast_path_matches_headers_parsers(v6: bool, sport: int, dport: int, seq: int,
                                           ack: int, flags: int, payload: bytes,
                                           opts: list[tuple[str, object]], cut: int,
                                           win: int, tso: bool) -> None:
    """(``tso``: an IPv4 total length of 0, as captured before segmentation offload: both
    read the packet at its captured length.)"""
    from scapy.layers.inet import IP, TCP
    from scapy.layers.inet6 import IPv6

    tso = tso and not v6
    l3 = (IPv6(src="2001:db8:1::2", dst="2001:db8:2::2") if v6
          else IP(src=FMC, dst=PROXY, len=0) if tso else IP(src=FMC, dst=PROXY))
    raw = bytes(l3 / TCP(sport=sport, dport=dport, seq=seq, ack=ack, flags=flags,
                         options=opts, window=win) / payload)
    raw = raw[:len(raw) - min(cut, len(payload))]   # a snap length shorter than the packet
    fast = fast_tcp(raw, 0)
    ip = parse_ip(raw)
    assert ip is not None
    tcp = parse_tcp(raw[ip.header_length:])
    assert fast is not None and tcp is not None
    import socket

    af = socket.AF_INET6 if v6 else socket.AF_INET
    family, key, fseq, fack, fflags, ip_len, poff, plen, window = fast
    src, dst, fsport, fdport = key_parts(key)
    assert family == ip.version
    assert (socket.inet_ntop(af, src), socket.inet_ntop(af, dst)) == (ip.src, ip.dst)
    assert (fsport, fdport, fseq, fack, fflags, window) == (
        tcp.sport, tcp.dport, tcp.seq, tcp.ack, tcp.flags, tcp.window)
    assert window == win
    assert ip_len == ip.total_length
    assert ip_len == (len(raw) if tso else len(raw) + min(cut, len(payload)))
    assert plen == tcp_payload_length(ip, tcp) == (len(raw) - poff if tso else len(payload))
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


@settings(max_examples=300, deadline=None)
@given(v6=st.booleans(), mtu=st.integers(0, 70000), sport=st.integers(0, 65535),
       dport=st.integers(0, 65535), size=st.integers(0, 1500), cut=st.integers(0, 50),
       kind=st.sampled_from(["plain", "tcp-options", "ip-options", "mf", "offset", "udp",
                             "echo", "outer-options", "outer-mf", "ext-header", "other-code",
                             "other-family"]))
def test_fast_too_big_matches_headers_parsers(v6: bool, mtu: int, sport: int, dport: int,
                                              size: int, cut: int, kind: str) -> None:
    """fast_too_big, where it answers, says what _slow's shared parsers say; it answers
    for the plain frag-needed / Packet Too Big quoting TCP (snap length permitting)."""
    import socket

    from scapy.layers.inet import ICMP, IP, TCP, UDP
    from scapy.layers.inet6 import ICMPv6EchoRequest, ICMPv6PacketTooBig, IPv6
    from scapy.layers.inet6 import IPv6ExtHdrHopByHop as HopByHop

    from pathprobe.capture.analysis import fast_too_big
    from pathprobe.wire.headers import parse_icmp_error

    l4 = UDP(sport=sport, dport=dport) if kind == "udp" else TCP(
        sport=sport, dport=dport, options=[("MSS", 1300)] if kind == "tcp-options" else [])
    if v6 != (kind == "other-family"):
        quoted = IPv6(src="2001:db8:1::2", dst="2001:db8:2::2", plen=size)
        quoted = quoted / HopByHop() / l4 if kind == "ext-header" else quoted / l4
    else:
        quoted = IP(src=FMC, dst=PROXY, len=size, flags="MF" if kind == "mf" else 0,
                    frag=3 if kind == "offset" else 0,
                    options=b"\x01\x01\x01\x00" if kind == "ip-options" else b"") / l4
    body = bytes(quoted)
    body = body[:len(body) - cut]
    if v6:
        outer = IPv6(src="2001:db8:1::1", dst="2001:db8:1::2")
        icmp = ICMPv6EchoRequest() if kind == "echo" else ICMPv6PacketTooBig(mtu=mtu)
        raw = bytes((outer / HopByHop() if kind == "outer-options" else outer) / icmp / body)
    else:
        outer = IP(src=R1, dst=FMC, flags="MF" if kind == "outer-mf" else 0,
                   options=b"\x01\x01\x01\x00" if kind == "outer-options" else b"")
        icmp = ICMP(type=8) if kind == "echo" else ICMP(
            type=3, code=1 if kind == "other-code" else 4, nexthopmtu=mtu % 65536)
        raw = bytes(outer / icmp / body)
    fast = fast_too_big(raw, 0)
    ip = parse_ip(raw)
    assert ip is not None
    err = parse_icmp_error(raw[ip.header_length:], ip.version)
    slow = None
    if (err is not None and err.frag_needed and err.mtu and err.quoted_ip is not None
            and err.quoted_tcp_ports is not None and err.quoted_ip.proto == 6
            and not ip.more_fragments and not ip.frag_offset
            and err.quoted_ip.version == ip.version):
        af = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
        q = err.quoted_ip
        key = (socket.inet_pton(af, q.src) + socket.inet_pton(af, q.dst)
               + struct.pack("!HH", *err.quoted_tcp_ports))   # the table's key, as packed
        slow = (ip.src, err.mtu, key, q.total_length)
    if fast is not None:
        assert fast == slow
    elif kind in ("plain", "tcp-options", "mf") and slow is not None:
        pytest.fail(f"fast_too_big declined a plain message: {slow}")


@settings(max_examples=200, deadline=None)
@given(kind=st.integers(0, 255), body=st.binary(min_size=8, max_size=40))
def test_icmp6_noise_is_what_nothing_reads(kind: int, body: bytes) -> None:
    """What _icmp6_noise skips, the shared parsers and IcmpLog would have ignored too;
    neighbour discovery is skipped, echo and errors are not."""
    from scapy.layers.inet6 import IPv6

    from pathprobe.capture.analysis import _icmp6_noise
    from pathprobe.capture.icmp import IcmpLog
    from pathprobe.wire.headers import parse_icmp_error

    raw = bytes(IPv6(src="2001:db8:1::2", dst="2001:db8:2::2", nh=58) / (bytes([kind]) + body))
    if not _icmp6_noise(raw, 0):
        assert kind <= 129
        return
    ip = parse_ip(raw)
    assert ip is not None and ip.proto == 58 and not ip.more_fragments
    assert parse_icmp_error(raw[40:], 6) is None
    log = IcmpLog()
    log.echo(1, 0.0, ip, raw[40:])
    assert log.empty()
    assert _icmp6_noise(raw, 0) == (kind >= 130)


# --- recommendations ---------------------------------------------------------------------

def _size_verdict(code: VerdictCode, limit: Limit, leg: Leg = Leg.FMC_PROXY) -> Verdict:
    return Verdict(code, leg, Direction.UP, (), Confidence.MEASURED, {}, limit=limit,
                   basis=Basis.CAPTURE_POINT)


def test_wide_bracket_recommends_measuring_not_a_tiny_mtu() -> None:
    v = _size_verdict(VerdictCode.PMTU_BLACKHOLE, Limit(pmtu_low=569, pmtu_high=1499,
                                                        exact=False))
    (rec,), rest = measure_first([v], {Leg.FMC_PROXY: "198.18.2.2:3128"})
    assert rest == ()
    assert rec.command == "pathprobe diagnose --proxy http://198.18.2.2:3128"
    assert "569 <= limit < 1500" in rec.why and "fmc-proxy" in rec.why


def test_wide_bracket_on_the_direct_leg_measures_the_address() -> None:
    v = _size_verdict(VerdictCode.RST_ON_LARGE_SEGMENT,
                      Limit(pmtu_low=600, pmtu_high=1499, exact=False), Leg.FMC_UPSTREAM)
    (rec,), _ = measure_first([v], {Leg.FMC_UPSTREAM: "[2001:db8:2::2]:443"})
    assert rec.command == "pathprobe pmtu 2001:db8:2::2"


def test_tight_or_unbounded_limits_go_to_the_live_rules() -> None:
    tight = _size_verdict(VerdictCode.RST_ON_LARGE_SEGMENT,
                          Limit(pmtu_low=1380, pmtu_high=1399, exact=False))
    no_low = _size_verdict(VerdictCode.PMTU_BLACKHOLE, Limit(pmtu_high=1499, exact=False))
    exact = _size_verdict(VerdictCode.PMTU_BLACKHOLE, size_limit(1400, 1401))
    advice, rest = measure_first([tight, no_low, exact], {})
    assert advice == () and rest == (tight, no_low, exact)


def test_recommender_uses_the_capture_addresses() -> None:
    """findings.finish passes the rows' targets ("T via P"); the capture's own win."""
    a = analyze_capture(FIXTURES / "blackhole-leg1.pcap", Filters())
    recs = a.recommender(a.measurement.verdicts,
                         {Leg.FMC_PROXY: f"{TARGET} via 198.18.2.2:3128"})
    assert [r.command for r in recs] == ["pathprobe diagnose --proxy http://198.18.2.2:3128"]


@pytest.mark.parametrize("name", sorted(n for n, e in EXPECTED.items()
                                        if e[0] is not VerdictCode.HEALTHY))
def test_wireshark_filters_are_valid_and_select_the_problem(name: str) -> None:
    """Each suggested display filter is accepted by tshark and shows the frames cited."""
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
        cited = {frame for e in v.evidence for frame in e.frames}
        assert shown & cited, (filt, shown, cited)


def test_connect_to_a_path_is_no_proxy_request(tmp_path: Path) -> None:
    """Zeek's http/methods.pcap: a web server answers 'CONNECT /' with 400. A CONNECT
    target is host:port (RFC 9110 9.3.6); a path makes it a request to an origin server,
    whose refusal says nothing about a proxy's policy."""
    f = Flow(server="198.18.3.2", sport=80)
    f.handshake(0.0)
    f.send(0.01, True, b"CONNECT / HTTP/1.1\r\nHost: www.example.com\r\n\r\n")
    f.send(0.02, False, b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
    f.close(0.03)
    verdicts = analyse(tmp_path, f)
    assert codes(verdicts) == [VerdictCode.HEALTHY]
    assert verdicts[0].leg is Leg.FMC_UPSTREAM


def _dropped_again(retransmits: int, answers: bool) -> Flow:
    """A download from a web server: three 1448-byte segments acknowledged, then the fourth
    (the same size) sent again ``retransmits`` times and never acknowledged, 296 bytes
    after it, then the server's reset. The client acknowledges (again) only what came
    before it once the 296 bytes arrive, and, with ``answers``, after each resend too."""
    f = Flow(server="198.18.3.2", sport=80)
    f.handshake(0.0)
    f.send(0.01, True, b"GET /file.exe HTTP/1.1\r\nHost: upstream.example\r\n\r\n")
    for i in range(3):
        f.send(0.02 + i / 100, False, b"\x4d" * 1448)
        f.ack(0.025 + i / 100, True)
    seq = f.send(0.1, False, b"\x5a" * 1448)
    f.send(0.101, False, b"\x5a" * 296)
    f.sseq, after = seq, f.sseq          # (the client's ACKs stay at the lost segment)
    f.ack(0.102, True)
    f.ack(0.103, True)
    for i in range(retransmits):
        f.resend(0.3 * 2 ** i, False, seq, b"\x5a" * 1448)
        if answers:
            f.ack(0.3 * 2 ** i + 0.001, True)
    f.sseq = after
    f.rst(0.3 * 2 ** retransmits, False)
    return f


def test_a_segment_lost_each_time_though_its_size_crosses_is_dropped_for_content(
        tmp_path: Path) -> None:
    """Suricata's http-sha256-drop-02: an IPS dropped one segment of a file it matched,
    after segments of the same 1448 bytes had crossed, five times, then the server reset.
    No finding at all said so. Size is ruled out (no PMTU_BLACKHOLE, no limit); with the
    client's duplicate ACKs after the resends the path stayed up: a critical stall dropped
    for content. If the client fell silent when the resends began (as in that capture, and
    Zeek's http_206_example_b, whose client sent 64 duplicate ACKs before the resends and
    none after), a silent receiver or path remains: a warning."""
    a = analyze_capture(write_pcap(tmp_path / "t.pcap", sorted(
        _dropped_again(5, answers=True).frames)), Filters())
    assert_renders(all_evidence(a))
    v = only(a.measurement.verdicts, VerdictCode.TUNNEL_STALL)
    assert VerdictCode.PMTU_BLACKHOLE not in codes(a.measurement.verdicts)
    assert (v.leg, v.direction, v.limit, v.unproven) == (
        Leg.FMC_UPSTREAM, Direction.DOWN, None, False)
    assert v.confidence is Confidence.INFERRED
    assert fact(v, CaptureFact.LARGE_RETRANSMITTED).values["count"] == 5
    assert fact(v, CaptureFact.SAME_SIZE_CROSSED).values["delivered"] == 1448
    assert fact(v, CaptureFact.RECEIVER_ANSWERS).values["dups"] == 5
    assert "IPS" in describe(fact(v, CaptureFact.DROPPED_FOR_CONTENT))
    assert [x.severity for x in report(a).verdicts] == [Severity.CRITICAL]
    (advice,) = a.recommender(report(a).verdicts, {})
    assert "drop logs" in advice.command and "TLS" not in advice.why
    from pathprobe.render.summary import phrase
    assert phrase(v) == "connection to the server stalls coming down (toward the FMC)"
    quiet = analyze_capture(write_pcap(tmp_path / "q.pcap", sorted(
        _dropped_again(5, answers=False).frames)), Filters())
    w = only(quiet.measurement.verdicts, VerdictCode.TUNNEL_STALL)
    assert w.unproven and CaptureFact.NOTHING_AFTER in facts(w)
    assert CaptureFact.RECEIVER_ANSWERS not in facts(w)
    assert [x.severity for x in report(quiet).verdicts] == [Severity.WARNING]
    # Two retransmissions are bad luck, not yet a pattern.
    assert VerdictCode.TUNNEL_STALL not in codes(analyse(tmp_path, _dropped_again(2, True)))


def test_plain_http_refused_upstream_is_checked_with_http(tmp_path: Path) -> None:
    """Suricata's http-sha256-drop-02 again: 'GET http://host:80/' answered 503 by squid
    was advised 'curl -v https://host:80/' (TLS to port 80)."""
    f = Flow()
    f.handshake(0.0)
    f.send(0.01, True, b"GET http://upstream.example/a HTTP/1.1\r\nHost: upstream.example"
                       b"\r\n\r\n")
    f.ack(0.011, False)
    f.send(0.02, False, b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")
    f.close(0.1)
    a = analyze_capture(write_pcap(tmp_path / "p.pcap", sorted(f.frames)), Filters())
    v = only(a.measurement.verdicts, VerdictCode.PROXY_UPSTREAM_ERROR)
    assert v.plain_http
    (advice,) = a.recommender(report(a).verdicts, {})
    assert advice.command == "from the proxy: curl -v http://upstream.example/"
