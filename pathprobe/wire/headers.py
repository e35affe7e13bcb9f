"""IPv4/IPv6/TCP/ICMP header parsing: pure, allocation-light, tolerant of garbage.

``analyze`` runs these on hundreds of thousands of packets and ``mss`` runs
them on ICMP quotations of whatever a router chose to send back, so every
parser returns None (or stops early) on truncated or malformed input instead
of raising. No sockets here; ``socket.inet_ntop`` is only a formatter.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

from pathprobe.compat import SLOTS

__all__ = [
    "ICMP6_DEST_UNREACH",
    "ICMP6_PACKET_TOO_BIG",
    "ICMP6_TIME_EXCEEDED",
    "ICMP_DEST_UNREACH",
    "ICMP_FRAG_NEEDED",
    "ICMP_TIME_EXCEEDED",
    "PROTO_TCP",
    "PROTO_UDP",
    "TCP_ACK",
    "TCP_FIN",
    "TCP_PSH",
    "TCP_RST",
    "TCP_SYN",
    "IcmpError",
    "IpHeader",
    "TcpHeader",
    "TcpOptions",
    "parse_icmp_error",
    "parse_ip",
    "parse_tcp",
    "parse_tcp_options",
    "tcp_payload_length",
]

TCP_FIN, TCP_SYN, TCP_RST, TCP_PSH, TCP_ACK = 0x01, 0x02, 0x04, 0x08, 0x10

PROTO_ICMP = 1
PROTO_TCP = 6
PROTO_UDP = 17
PROTO_ICMP6 = 58

ICMP_DEST_UNREACH = 3
ICMP_PORT_UNREACH = 3         # code of ICMP_DEST_UNREACH: no listener on the UDP port
ICMP_FRAG_NEEDED = 4          # code of ICMP_DEST_UNREACH carrying a next-hop MTU
ICMP_TIME_EXCEEDED = 11
ICMP6_DEST_UNREACH = 1
ICMP6_PORT_UNREACH = 4        # code of ICMP6_DEST_UNREACH
ICMP6_PACKET_TOO_BIG = 2
ICMP6_TIME_EXCEEDED = 3

# ICMPv4 error types (RFC 792/1812): dest unreachable, source quench, redirect,
# time exceeded, parameter problem. ICMPv6 errors are the types below 128.
_ICMP4_ERRORS = frozenset({3, 4, 5, 11, 12})

# IPv6 extension headers we walk to find the upper-layer protocol; each is
# (next header, length in 8-octet units beyond the first 8) except the fragment
# header (fixed 8 bytes) and AH (length in 4-octet units beyond the first 8).
_V6_HOP_BY_HOP, _V6_ROUTING, _V6_FRAGMENT, _V6_DSTOPTS, _V6_AH = 0, 43, 44, 60, 51
_V6_GENERIC_EXT = frozenset({_V6_HOP_BY_HOP, _V6_ROUTING, _V6_DSTOPTS, 135, 139, 140})
_V6_MAX_EXT = 8  # bound the walk: a crafted chain cannot make us loop long

# Captures hold few distinct addresses: format each once (bounded, cleared when full).
_ADDR_CACHE: dict[bytes, str] = {}
_ADDR_CACHE_MAX = 65536


def _addr(raw: bytes) -> str:
    text = _ADDR_CACHE.get(raw)
    if text is None:
        if len(_ADDR_CACHE) >= _ADDR_CACHE_MAX:
            _ADDR_CACHE.clear()
        text = socket.inet_ntop(socket.AF_INET if len(raw) == 4 else socket.AF_INET6, raw)
        _ADDR_CACHE[raw] = text
    return text


_V4 = struct.Struct("!BBHHHBBH4s4s")
_V6 = struct.Struct("!IHBB16s16s")
_TCP = struct.Struct("!HHIIBBH")


@dataclass(frozen=True, **SLOTS)
class TcpOptions:
    """The TCP options that matter for MSS/MTU reasoning (others are skipped)."""

    mss: int | None = None
    wscale: int | None = None
    sack_permitted: bool = False
    timestamps: tuple[int, int] | None = None   # (TSval, TSecr)

    @property
    def timestamps_len(self) -> int:
        """Bytes the timestamps option costs in every segment (10 padded to 12)."""
        return 12 if self.timestamps is not None else 0


_NO_OPTIONS = TcpOptions()
_LINUX_SACK_TS = b"\x04\x02\x08\x0a"


def parse_tcp_options(data: bytes | memoryview) -> TcpOptions:
    """Parse the options area of a TCP header; stop at EOL or at the first malformed option."""
    if not data:
        return _NO_OPTIONS
    buf = bytes(data)
    n = len(buf)
    if n == 20 and buf[:2] == b"\x02\x04" and buf[4:8] == _LINUX_SACK_TS \
            and buf[16:19] == b"\x01\x03\x03":
        # Linux's SYN and SYN-ACK: MSS, SACK permitted, timestamps, NOP, window scale
        # (one read instead of the walk: every connection's first two segments)
        return TcpOptions((buf[2] << 8) | buf[3], buf[19], True,
                          struct.unpack_from("!II", buf, 8))
    i = 0
    mss: int | None = None
    wscale: int | None = None
    sack = False
    ts: tuple[int, int] | None = None
    while i < n:
        kind = buf[i]
        if kind == 0:
            break
        if kind == 1:
            i += 1
            continue
        if i + 1 >= n:
            break
        length = buf[i + 1]
        if length < 2 or i + length > n:
            break
        if kind == 2 and length == 4:
            mss = (buf[i + 2] << 8) | buf[i + 3]
        elif kind == 3 and length == 3:
            wscale = buf[i + 2]
        elif kind == 4 and length == 2:
            sack = True
        elif kind == 8 and length == 10:
            ts = struct.unpack_from("!II", buf, i + 2)
        i += length
    if mss is None and wscale is None and not sack and ts is None:
        return _NO_OPTIONS
    return TcpOptions(mss, wscale, sack, ts)


@dataclass(frozen=True, **SLOTS)
class IpHeader:
    """An IPv4 or IPv6 header; for IPv6, fragment fields come from a fragment header."""

    version: int
    src: str
    dst: str
    proto: int             # upper-layer protocol, after IPv6 extension headers
    total_length: int      # IPv4 total length / IPv6 40 + payload length
    header_length: int     # including IPv6 extension headers
    ttl: int               # TTL / hop limit
    df: bool               # IPv6: always True (routers never fragment IPv6)
    ident: int             # IPv6: fragment header identification, else 0
    frag_offset: int       # in bytes
    more_fragments: bool


def parse_ip(data: bytes | memoryview) -> IpHeader | None:
    """Parse an IPv4/IPv6 header at the start of ``data``; None if not IP or truncated.

    IPv6 extension headers are walked (bounded) to find ``proto``; if the chain
    runs past the data (a short ICMP quotation), ``proto`` is the last next-header
    value seen and ``header_length`` counts what was walked.
    """
    n = len(data)
    if n < 1:
        return None
    version = data[0] >> 4
    if version == 4:
        if n < 20:
            return None
        vihl, _tos, total, ident, frag, ttl, proto, _csum, src, dst = _V4.unpack_from(data, 0)
        ihl = (vihl & 0x0F) * 4
        if ihl < 20 or ihl > n:
            return None
        # A total length of 0: captured on the sender before segmentation offload (TSO/LSO)
        # filled it in, as Wireshark presumes; the bytes captured are the packet.
        return IpHeader(4, _addr(src), _addr(dst), proto, total or n, ihl, ttl,
                        bool(frag & 0x4000), ident, (frag & 0x1FFF) * 8, bool(frag & 0x2000))
    if version == 6:
        if n < 40:
            return None
        _vtcfl, plen, nxt, hlim, src, dst = _V6.unpack_from(data, 0)
        off = 40
        ident = 0
        frag_offset = 0
        more = False
        for _ in range(_V6_MAX_EXT):
            if nxt in _V6_GENERIC_EXT or nxt == _V6_AH:
                if off + 2 > n:
                    break
                units = data[off + 1]
                length = (units + 2) * 4 if nxt == _V6_AH else (units + 1) * 8
                nxt = data[off]
                off += length
            elif nxt == _V6_FRAGMENT:
                if off + 8 > n:
                    break
                fo = (data[off + 2] << 8) | data[off + 3]
                ident = struct.unpack_from("!I", data, off + 4)[0]
                frag_offset = fo & 0xFFF8
                more = bool(fo & 1)
                nxt = data[off]
                off += 8
            else:
                break
        return IpHeader(6, _addr(src), _addr(dst), nxt, 40 + plen, min(off, n),
                        hlim, True, ident, frag_offset, more)
    return None


@dataclass(frozen=True, **SLOTS)
class TcpHeader:
    sport: int
    dport: int
    seq: int
    ack: int
    flags: int
    window: int
    header_length: int
    options: TcpOptions

    @property
    def syn(self) -> bool:
        return bool(self.flags & TCP_SYN)

    @property
    def rst(self) -> bool:
        return bool(self.flags & TCP_RST)


def parse_tcp(data: bytes | memoryview) -> TcpHeader | None:
    """Parse a TCP header; None if shorter than 20 bytes or with a data offset below 5.

    Options are parsed from what is present: a header cut short (as in an ICMP
    quotation) yields the options that fit.
    """
    if len(data) < 20:
        return None
    sport, dport, seq, ack, off, flags, window = _TCP.unpack_from(data, 0)
    hl = (off >> 4) * 4
    if hl < 20:
        return None
    opts = parse_tcp_options(data[20:hl]) if hl > 20 else _NO_OPTIONS
    return TcpHeader(sport, dport, seq, ack, flags, window, hl, opts)


def tcp_payload_length(ip: IpHeader, tcp: TcpHeader) -> int:
    """Bytes of TCP payload in the segment (from the IP length, not the captured length)."""
    return max(0, ip.total_length - ip.header_length - tcp.header_length)


@dataclass(frozen=True, **SLOTS)
class IcmpError:
    family: int            # 4 or 6
    type: int
    code: int
    mtu: int | None        # next-hop MTU of frag-needed (3/4) or Packet Too Big (v6 type 2)
    quoted_ip: IpHeader | None        # the quoted packet's IP header
    quoted_tcp_ports: tuple[int, int] | None   # (sport, dport) when TCP/UDP is quoted
    quoted_tcp: TcpHeader | None      # when the router quoted the whole TCP header

    @property
    def frag_needed(self) -> bool:
        """An ICMP 'too big' signal (v4 frag-needed or v6 Packet Too Big)."""
        if self.family == 4:
            return self.type == ICMP_DEST_UNREACH and self.code == ICMP_FRAG_NEEDED
        return self.type == ICMP6_PACKET_TOO_BIG

    @property
    def time_exceeded(self) -> bool:
        return self.type == (ICMP_TIME_EXCEEDED if self.family == 4 else ICMP6_TIME_EXCEEDED)

    @property
    def port_unreachable(self) -> bool:
        """The answer of a host with no listener on a UDP port (traceroute's last hop)."""
        if self.family == 4:
            return self.type == ICMP_DEST_UNREACH and self.code == ICMP_PORT_UNREACH
        return self.type == ICMP6_DEST_UNREACH and self.code == ICMP6_PORT_UNREACH


def internet_checksum(data: bytes) -> int:
    """The RFC 1071 checksum of ``data``: what an ICMPv4 header carries, and 0 over an IPv4
    header whose checksum holds."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return int(~total & 0xFFFF)


def parse_icmp_error(data: bytes | memoryview, family: int) -> IcmpError | None:
    """Parse an ICMP/ICMPv6 error message (starting at its type byte) and its quotation.

    None for non-error messages (echo, ND ...) or fewer than 8 bytes. A zero or
    absent MTU field is reported as None (old routers send 0: RFC 1191 says so).
    """
    if len(data) < 8:
        return None
    icmp_type, code = data[0], data[1]
    mtu: int | None = None
    if family == 4:
        if icmp_type not in _ICMP4_ERRORS:
            return None
        if icmp_type == ICMP_DEST_UNREACH and code == ICMP_FRAG_NEEDED:
            mtu = ((data[6] << 8) | data[7]) or None
    elif family == 6:
        if icmp_type >= 128:
            return None
        if icmp_type == ICMP6_PACKET_TOO_BIG:
            mtu = struct.unpack_from("!I", data, 4)[0] or None
    else:
        return None
    quote = memoryview(data)[8:] if not isinstance(data, memoryview) else data[8:]
    qip = parse_ip(quote)
    ports: tuple[int, int] | None = None
    qtcp: TcpHeader | None = None
    if qip is not None and qip.frag_offset == 0 and qip.proto in (PROTO_TCP, PROTO_UDP):
        l4 = quote[qip.header_length:]
        if len(l4) >= 4:
            ports = ((l4[0] << 8) | l4[1], (l4[2] << 8) | l4[3])
        if qip.proto == PROTO_TCP:
            qtcp = parse_tcp(l4)
    return IcmpError(family, icmp_type, code, mtu, qip, ports, qtcp)
