"""The kernel layer: struct tcp_info and sock_extended_err decoded from bytes built here."""

from __future__ import annotations

import socket
import struct
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pathprobe.probes import kernel
from pathprobe.probes.kernel import TcpInfo, parse_errqueue_cmsg, parse_tcp_info

# struct tcp_info read in the lab (fmc -> squid, MSS clamped to 1300, timestamps on).
TCP_INFO_CLAMPED = bytes.fromhex(
    "010000000007aa01400d0300000000000805000018020000000000000000000000000000000000000000"
    "000000000000000000000000000000000000dc05000058fa00004500000022000000ffffff7f0a000000"
    "a8050000030000000000000090380000000000009909cc1f00000000ffffffffffffffff010000000000"
    "00000000000000000000020000000100000000000000450000000000000000000000000000000000000000"
    "00000000000000000000000000000000000000000000000000000100000000000000000000000000000000"
    "0000000000000000000000000000000000000088fe0000")

U32 = st.integers(0, 2**32 - 1)
U8 = st.integers(0, 255)


def build_tcp_info(info: TcpInfo, length: int = 232) -> bytes:
    """struct tcp_info as linux/tcp.h lays it out (native endianness, like the kernel)."""
    head = bytes([info.state, 0, info.retransmits, 0, 0, info.options, 0, 0])
    u = [0] * 24
    u[2], u[3], u[4] = info.snd_mss, info.rcv_mss, info.unacked
    u[13], u[15], u[19], u[23] = info.pmtu, info.rtt_us, info.advmss, info.total_retrans
    # Then u64 tcpi_pacing_rate, tcpi_max_pacing_rate, tcpi_bytes_acked (offset 120).
    raw = head + struct.pack("=24I", *u) + struct.pack("=3Q", 0, 0, info.bytes_acked or 0)
    return (raw + bytes(max(0, length - len(raw))))[:length]


def test_parse_tcp_info_lab_vector() -> None:
    info = parse_tcp_info(TCP_INFO_CLAMPED)
    assert info.state == 1 and info.timestamps
    assert (info.snd_mss, info.advmss, info.pmtu) == (1288, 1448, 1500)
    assert info.unacked == 0 and info.bytes_acked == 1
    assert info.rcv_mss == 536 and info.total_retrans == 0


def test_parse_tcp_info_built_vector() -> None:
    want = TcpInfo(state=7, retransmits=3, options=kernel.TCPI_OPT_TIMESTAMPS | 4,
                   snd_mss=1448, rcv_mss=1388, unacked=2, pmtu=1500, rtt_us=1234,
                   advmss=1448, total_retrans=9, bytes_acked=77)
    raw = build_tcp_info(want)
    # The offsets linux/tcp.h gives: tcpi_snd_mss at 16, tcpi_pmtu at 60, tcpi_advmss at 84.
    assert struct.unpack_from("=I", raw, 16)[0] == 1448
    assert struct.unpack_from("=I", raw, 60)[0] == 1500
    assert struct.unpack_from("=Q", raw, 120)[0] == 77
    assert parse_tcp_info(raw) == want
    assert parse_tcp_info(raw).timestamps and parse_tcp_info(raw).state == kernel.TCP_CLOSE


def test_parse_tcp_info_short() -> None:
    with pytest.raises(ValueError):
        parse_tcp_info(bytes(50))
    with pytest.raises(ValueError):
        parse_tcp_info(TCP_INFO_CLAMPED[:103])
    assert parse_tcp_info(TCP_INFO_CLAMPED[:104]).bytes_acked is None


@given(state=U8, retrans=U8, options=U8, snd=U32, rcv=U32, unacked=U32, pmtu=U32, rtt=U32,
       adv=U32, total=U32, acked=st.integers(0, 2**64 - 1),
       length=st.sampled_from([128, 160, 232, 280]))
def test_parse_tcp_info_round_trip(state: int, retrans: int, options: int, snd: int, rcv: int,
                                   unacked: int, pmtu: int, rtt: int, adv: int, total: int,
                                   acked: int, length: int) -> None:
    want = TcpInfo(state, retrans, options, snd, rcv, unacked, pmtu, rtt, adv, total, acked)
    got = parse_tcp_info(build_tcp_info(want, length))
    assert got == want
    assert got.timestamps == bool(options & 1)
    # Without the u64s (an old kernel's 104 bytes) everything but bytes_acked survives.
    short = parse_tcp_info(build_tcp_info(want, 104))
    assert short.bytes_acked is None and short.snd_mss == snd and short.total_retrans == total


def test_tcp_info_of_a_real_connection() -> None:
    with socket.create_server(("127.0.0.1", 0)) as srv, \
            socket.create_connection(srv.getsockname()[:2], timeout=2) as c:
        info = kernel.tcp_info(c)
        assert info.state == 1 and info.snd_mss > 0 and info.pmtu >= 1280
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        assert kernel.tcp_info_or_none(u) is None


def _ee(errno_: int, origin: int, type_: int, code: int, info: int) -> bytes:
    return struct.pack("=IBBBBII", errno_, origin, type_, code, 0, info, 0)


def test_errqueue_frag_needed_vector() -> None:
    sin = struct.pack("=HH4s8x", socket.AF_INET, 0, socket.inet_aton("198.18.1.1"))
    e = parse_errqueue_cmsg(_ee(90, kernel.SO_EE_ORIGIN_ICMP, 3, 4, 1400) + sin, b"quoted")
    assert e is not None and e.offender == "198.18.1.1" and e.info == 1400
    assert e.too_big(socket.AF_INET) and not e.port_unreachable(socket.AF_INET)
    assert e.from_icmp and e.payload == b"quoted" and not e.time_exceeded(socket.AF_INET)
    assert parse_errqueue_cmsg(b"\0" * 15, b"") is None


def test_errqueue_icmp6_vectors() -> None:
    sin6 = struct.pack("=HHI16sI", socket.AF_INET6, 0, 0,
                       socket.inet_pton(socket.AF_INET6, "2001:db8:1::1"), 0)
    ptb = parse_errqueue_cmsg(_ee(90, kernel.SO_EE_ORIGIN_ICMP6, 2, 0, 1280) + sin6, b"")
    assert ptb is not None and ptb.offender == "2001:db8:1::1" and ptb.too_big(socket.AF_INET6)
    unreach = parse_errqueue_cmsg(_ee(111, kernel.SO_EE_ORIGIN_ICMP6, 1, 4, 0), b"")
    assert unreach is not None and unreach.offender is None
    assert unreach.port_unreachable(socket.AF_INET6)
    hop = parse_errqueue_cmsg(_ee(113, kernel.SO_EE_ORIGIN_ICMP6, 3, 0, 0), b"")
    assert hop is not None and hop.time_exceeded(socket.AF_INET6)
    local = parse_errqueue_cmsg(_ee(90, 1, 3, 4, 1400), b"")  # SO_EE_ORIGIN_LOCAL
    assert local is not None and not local.from_icmp and not local.too_big(socket.AF_INET)


def test_errqueue_reads_a_real_port_unreachable() -> None:
    """UDP to a closed loopback port: the kernel queues the port unreachable for us."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        kernel.enable_recverr(s, socket.AF_INET)
        s.sendto(b"abcd", ("127.0.0.1", port))
        entries: list[kernel.ErrQueueEntry] = []
        for _ in range(50):  # bounded: 1 s at most
            entries = kernel.read_errqueue(s)
            if entries:
                break
            time.sleep(0.02)
        assert entries and entries[0].port_unreachable(socket.AF_INET)
        assert entries[0].offender == "127.0.0.1" and entries[0].payload == b"abcd"


def test_route_mtu_loopback() -> None:
    lo_mtu = int(Path("/sys/class/net/lo/mtu").read_text())
    assert kernel.route_mtu(socket.AF_INET, "127.0.0.1") == min(lo_mtu, 65535)  # IPv4 cap
    assert kernel.route_mtu(socket.AF_INET, "not-an-address") is None
