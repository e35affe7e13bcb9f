"""Byte-vector tests for pathprobe.wire.headers.

The vectors are real packets captured in the lab (tcpdump in the fmc namespace,
Linux cooked header stripped): scenario ``clamp`` (MSS 1300 on leg 1) and
``mtu`` (router MTU 1400 on leg 1).
"""

from __future__ import annotations

import struct

from hypothesis import given
from hypothesis import strategies as st

from pathprobe.wire.headers import (
    TCP_ACK,
    TCP_FIN,
    TCP_SYN,
    IcmpError,
    TcpOptions,
    parse_icmp_error,
    parse_ip,
    parse_tcp,
    parse_tcp_options,
    tcp_payload_length,
)

# fmc -> proxy SYN, MSS 1460, SACK, timestamps, wscale 10.
SYN_V4 = bytes.fromhex(
    "4500003c2bc1400040067fd2c6120102c61202029c0e0c389ed177c300000000a002faf08f570000"
    "020405b40402080a51e8f44c000000000103030a")
# proxy -> fmc SYN-ACK after r1 clamped its MSS to 1300.
SYNACK_V4 = bytes.fromhex(
    "4500003c000040003f06ac93c6120202c61201020c389c0ee5a4e5ee9ed177c4a012fe888f570000"
    "020405140402080a5e8e3bf951e8f44c0103030a")
# pure ACK with timestamps (NOP NOP TS).
ACK_V4 = bytes.fromhex(
    "450000342bc2400040067fd9c6120102c61202029c0e0c389ed177c4e5a4e5ef8010003f8f4f0000"
    "0101080a51e8f44c5e8e3bf9")
# r1 -> fmc ICMP time exceeded quoting a TTL-1 SYN in full (Linux quotes up to 576 bytes).
TIME_EXCEEDED_V4 = bytes.fromhex(
    "45c0005806cf00004001e4eec6120101c61201020b00becc000000004500003cb48640000106360d"
    "c6120102c61202029c1a0c389f29cd7500000000a002faf08f570000020405b40402080ae8f8f62b"
    "000000000103030a")
# r1 -> fmc ICMP frag-needed, next-hop MTU 1400 (0x0578), quoting a 1478-byte UDP probe;
# cut after 200 bytes (as a short capture snaplen would).
FRAG_NEEDED_V4 = bytes.fromhex(
    "45c00240db8f000040010e46c6120101c612010203049f4700000578450005c6a0a440004011055a"
    "c6120102c6120202e0a8829a05b294ec" + "78" * 152)
# IPv6 SYN (MSS 1440) quoted in ICMPv6 time exceeded from r1.
TIME_EXCEEDED_V6 = bytes.fromhex(
    "6001e7b000583a4020010db800010000000000000000000120010db80001000000000000000000"
    "0203002e2d0000000060035e760028060120010db8000100000000000000000002"
    "20010db800020000000000000000000294440c38c5550c6d00000000a002fd205ba70000020405a0"
    "0402080a89814664000000000103030a")
# IPv6 SYN-ACK clamped to 1300.
SYNACK_V6 = bytes.fromhex(
    "600e51c40028063f20010db800020000000000000000000220010db80001000000000000000000020c38"
    "94467f79b453036cfaf0a012fb045ba70000020405140402080a047f39d47301c2770103030a")
# ICMPv6 Packet Too Big, MTU 1400, quoting a UDP probe (cut short).
PTB_V6 = bytes.fromhex(
    "60034de704d83a4020010db800010000000000000000000120010db80001000000000000000000020200"
    "36f40000057860013aef05b2114020010db800010000000000000000000220010db80002000000000000"
    "00000002d38e829a05b2613c" + "78" * 40)


def test_ipv4_syn() -> None:
    ip = parse_ip(SYN_V4)
    assert ip is not None
    assert (ip.version, ip.src, ip.dst, ip.proto) == (4, "198.18.1.2", "198.18.2.2", 6)
    assert (ip.total_length, ip.header_length, ip.ttl, ip.df) == (60, 20, 64, True)
    assert (ip.ident, ip.frag_offset, ip.more_fragments) == (0x2BC1, 0, False)
    tcp = parse_tcp(SYN_V4[ip.header_length:])
    assert tcp is not None
    assert (tcp.sport, tcp.dport, tcp.flags, tcp.header_length) == (39950, 3128, TCP_SYN, 40)
    assert tcp.seq == 0x9ED177C3 and tcp.ack == 0 and tcp.window == 0xFAF0
    assert tcp.options == TcpOptions(mss=1460, wscale=10, sack_permitted=True,
                                     timestamps=(0x51E8F44C, 0))
    assert tcp_payload_length(ip, tcp) == 0


def test_clamped_synack_mss() -> None:
    ip = parse_ip(SYNACK_V4)
    assert ip is not None and ip.ttl == 63 and ip.src == "198.18.2.2"
    tcp = parse_tcp(memoryview(SYNACK_V4)[ip.header_length:])
    assert tcp is not None
    assert tcp.flags == TCP_SYN | TCP_ACK and tcp.syn and not tcp.rst
    assert tcp.options.mss == 1300
    assert tcp.options.timestamps == (0x5E8E3BF9, 0x51E8F44C)
    assert tcp.options.timestamps_len == 12


def test_ack_with_timestamps_only() -> None:
    ip = parse_ip(ACK_V4)
    assert ip is not None
    tcp = parse_tcp(ACK_V4[20:])
    assert tcp is not None and tcp.flags == TCP_ACK and tcp.header_length == 32
    assert tcp.options.mss is None and tcp.options.wscale is None
    assert tcp.options.timestamps == (0x51E8F44C, 0x5E8E3BF9)
    assert tcp_payload_length(ip, tcp) == 0


def test_ipv6_synack_clamped() -> None:
    ip = parse_ip(SYNACK_V6)
    assert ip is not None
    assert (ip.version, ip.src, ip.dst, ip.proto) == (6, "2001:db8:2::2", "2001:db8:1::2", 6)
    assert (ip.total_length, ip.header_length, ip.ttl) == (80, 40, 63)
    tcp = parse_tcp(SYNACK_V6[40:])
    assert tcp is not None and tcp.options.mss == 1300
    assert tcp.flags == TCP_SYN | TCP_ACK


def test_icmp_time_exceeded_quotes_whole_syn() -> None:
    err = parse_icmp_error(TIME_EXCEEDED_V4[20:], 4)
    assert err is not None
    assert (err.family, err.type, err.code, err.mtu) == (4, 11, 0, None)
    assert err.time_exceeded and not err.frag_needed
    assert err.quoted_ip is not None
    assert (err.quoted_ip.src, err.quoted_ip.dst, err.quoted_ip.ttl) == (
        "198.18.1.2", "198.18.2.2", 1)
    assert err.quoted_tcp_ports == (39962, 3128)
    assert err.quoted_tcp is not None and err.quoted_tcp.options.mss == 1460
    assert err.quoted_tcp.seq == 0x9F29CD75


def test_icmp_frag_needed_v4() -> None:
    err = parse_icmp_error(memoryview(FRAG_NEEDED_V4)[20:], 4)
    assert err is not None
    assert (err.type, err.code, err.mtu) == (3, 4, 1400) and err.frag_needed
    assert err.quoted_ip is not None and err.quoted_ip.proto == 17
    assert err.quoted_ip.total_length == 1478 and err.quoted_ip.df
    assert err.quoted_tcp_ports == (57512, 33434)
    assert err.quoted_tcp is None


def test_icmpv6_time_exceeded_and_ptb() -> None:
    err = parse_icmp_error(TIME_EXCEEDED_V6[40:], 6)
    assert err is not None and err.time_exceeded and err.type == 3
    assert err.quoted_ip is not None and err.quoted_ip.ttl == 1
    assert err.quoted_tcp is not None and err.quoted_tcp.options.mss == 1440
    assert err.quoted_tcp_ports == (37956, 3128)
    ptb = parse_icmp_error(PTB_V6[40:], 6)
    assert ptb is not None and ptb.frag_needed and ptb.mtu == 1400
    assert ptb.quoted_ip is not None and ptb.quoted_ip.total_length == 1498
    assert ptb.quoted_tcp_ports == (54158, 33434)


def test_quote_cut_inside_tcp_header_keeps_ports() -> None:
    # RFC 792 minimum quotation: IP header + 8 bytes.
    short = TIME_EXCEEDED_V4[20:8 + 20 + 20 + 8]
    err = parse_icmp_error(short, 4)
    assert err is not None and err.quoted_tcp_ports == (39962, 3128)
    assert err.quoted_tcp is None


def test_quote_cut_inside_options_keeps_what_fits() -> None:
    short = TIME_EXCEEDED_V4[20:8 + 20 + 20 + 26]   # MSS + SACK-permitted fit, TS not
    err = parse_icmp_error(short, 4)
    assert err is not None and err.quoted_tcp is not None
    assert err.quoted_tcp.options.mss == 1460 and err.quoted_tcp.options.sack_permitted
    assert err.quoted_tcp.options.timestamps is None


def test_non_errors_and_garbage() -> None:
    assert parse_icmp_error(bytes.fromhex("0800f7ff00000000"), 4) is None  # echo request
    assert parse_icmp_error(bytes.fromhex("8000000000000000"), 6) is None  # echo request v6
    assert parse_icmp_error(b"\x03\x04", 4) is None
    assert parse_ip(b"") is None
    assert parse_ip(b"\x45" * 10) is None
    assert parse_ip(bytes(40)) is None            # version 0
    assert parse_ip(b"\x41" + bytes(39)) is None  # IHL 4 words < 20 bytes
    assert parse_tcp(bytes(19)) is None
    assert parse_tcp(bytes(12) + b"\x40" + bytes(7)) is None  # data offset 4


def test_frag_needed_zero_mtu_is_none() -> None:
    msg = bytearray(FRAG_NEEDED_V4[20:])
    msg[6:8] = b"\x00\x00"
    err = parse_icmp_error(bytes(msg), 4)
    assert err is not None and err.frag_needed and err.mtu is None


def test_ipv6_extension_headers_walked() -> None:
    base = bytearray(SYNACK_V6)
    tcp_part = bytes(base[40:])
    # hop-by-hop (8 bytes, next=fragment), fragment header (next=TCP, offset 0, M=1, id 7)
    hbh = bytes([44, 0]) + bytes(6)
    frag = bytes([6, 0]) + struct.pack("!HI", 1, 7)
    pkt = bytes(base[:6]) + bytes([0]) + bytes(base[7:40]) + hbh + frag + tcp_part
    pkt = pkt[:4] + struct.pack("!H", len(pkt) - 40) + pkt[6:]
    ip = parse_ip(pkt)
    assert ip is not None
    assert (ip.proto, ip.header_length, ip.more_fragments, ip.ident) == (6, 56, True, 7)
    assert ip.total_length == len(pkt)
    tcp = parse_tcp(pkt[ip.header_length:])
    assert tcp is not None and tcp.options.mss == 1300


def test_options_tolerate_malformed() -> None:
    assert parse_tcp_options(b"") == TcpOptions()
    assert parse_tcp_options(b"\x02\x04\x05") == TcpOptions()          # truncated MSS
    assert parse_tcp_options(b"\x02\x00\x05\xb4") == TcpOptions()      # length 0
    assert parse_tcp_options(b"\x00\x02\x04\x05\xb4") == TcpOptions()  # EOL first
    assert parse_tcp_options(b"\x01\x01\x02\x04\x05\xb4").mss == 1460
    assert parse_tcp_options(b"\xfe\x04\xaa\xbb\x02\x04\x01\x00").mss == 256  # unknown skipped


@given(st.binary(max_size=60))
def test_options_never_raise(data: bytes) -> None:
    opts = parse_tcp_options(data)
    assert opts.mss is None or 0 <= opts.mss <= 0xFFFF


@given(st.binary(max_size=120), st.sampled_from([4, 6]))
def test_parsers_never_raise(data: bytes, family: int) -> None:
    parse_ip(data)
    parse_tcp(data)
    err = parse_icmp_error(data, family)
    assert err is None or isinstance(err, IcmpError)


@given(st.integers(min_value=0, max_value=0xFFFF), st.binary(max_size=8))
def test_mss_roundtrip_after_noise(mss: int, noise: bytes) -> None:
    # Any number of NOPs then MSS is found; trailing garbage after it does not matter.
    data = b"\x01" * (len(noise) % 4) + b"\x02\x04" + struct.pack("!H", mss) + noise
    assert parse_tcp_options(data).mss == mss


def test_fin_flag_constant() -> None:
    tcp = parse_tcp(bytes.fromhex("9c0e0c389ed177c4e5a4e5ef8011003f8f4f0000"
                                  "0101080a51e8f44d5e8e3bf9"))
    assert tcp is not None and tcp.flags == TCP_FIN | TCP_ACK


@given(st.integers(0, 0xFFFF), st.integers(0, 255), st.integers(0, 0xFFFFFFFF),
       st.integers(0, 0xFFFFFFFF))
def test_linux_syn_options_read_at_once_agree_with_the_walk(mss: int, ws: int, tsval: int,
                                                            tsecr: int) -> None:
    """Linux's SYN layout (MSS, SACK permitted, timestamps, NOP, window scale) is read in one
    step; the same bytes with an end-of-options byte after them take the walk."""
    opts = (struct.pack("!BBH", 2, 4, mss) + b"\x04\x02" + struct.pack("!BBII", 8, 10, tsval,
                                                                        tsecr)
            + b"\x01\x03\x03" + bytes([ws]))
    fast, walked = parse_tcp_options(opts), parse_tcp_options(opts + b"\x00")
    assert fast == walked
    assert (fast.mss, fast.wscale, fast.sack_permitted, fast.timestamps) == (
        mss, ws, True, (tsval, tsecr))
