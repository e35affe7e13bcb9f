"""Hex dumps in capture text: tcpdump's (-x, -X, -xx, -XX: "\\t0x0010:  c612 0202 ...")
below a packet line, and tshark's and Wireshark's ("0010  c6 12 02 02 ..."; tshark -x,
'Copy as Hex Dump', the input of text2pcap) below a packet-list row or on their own.

Below a line, a dump adds what the line does not show: the payload's first bytes and the
TCP options. On its own, a dump is the whole packet but its time: ``dumped_packet`` reads
it as a packet line would show it. Pure, no I/O.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence

from pathprobe.capture.icmp import ECHO_REPLY, ECHO_REQUEST
from pathprobe.capture.linklayer import (
    LINKTYPE_ETHERNET,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_LINUX_SLL2,
    LINKTYPE_NULL,
    LINKTYPE_RAW,
    ip_offset,
)
from pathprobe.capture.textpacket import Echo, TextForm, TextPacket
from pathprobe.wire.headers import (
    PROTO_ICMP,
    PROTO_ICMP6,
    PROTO_TCP,
    IpHeader,
    TcpHeader,
    internet_checksum,
    parse_icmp_error,
    parse_ip,
    parse_tcp,
)

# An offset (tcpdump: "0x" and a colon; tshark, Wireshark: four or more hex digits), then
# the bytes in groups of two or four digits, one blank apart; the ASCII column after two
# blanks or more is not read.
_HEX_LINE = re.compile(r"^\s*(?:0x)?([0-9a-fA-F]{4,8})(?::\s*|\s+)((?:[0-9a-fA-F]{2,4} ?){1,16})")
_HEX_START = re.compile(r"^\s*(?:0x)?0{4,8}[:\s]")
HEX_MAX = 1 << 16             # bytes of one packet's dump read (an IP packet's most)
# What a dump may start with: the IP header (-x, -X), or a link header (-xx, -XX, tshark)
_DUMP_LINKTYPES = (LINKTYPE_RAW, LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2)
# ... and the order a dump on its own is tried in: a link header first (tshark's dumps
# start with the frame), an IP header last (a MAC address may start with 0x45); BSD
# loopback's (Npcap's on Windows) names the address family, in either byte order
_ALONE_LINKTYPES = (LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL2, LINKTYPE_LINUX_SLL, LINKTYPE_NULL,
                    LINKTYPE_RAW)
_LOOPBACK_FAMILIES = frozenset(f.to_bytes(4, order) for f in (2, 24, 28, 30)
                               for order in ("little", "big"))
# what an IPv6 header may lead to: TCP, UDP, ICMPv6, the extension headers, ESP, AH, none
_V6_NEXT = frozenset({6, 17, 58, 0, 43, 44, 60, 50, 51, 59, 135, 139, 140})


def hex_dump(lines: Sequence[str], i: int) -> tuple[int, bytes] | None:
    """The bytes of a hex dump starting at line ``i`` (next line, bytes; past HEX_MAX the
    lines are passed over, unread); None if none."""
    if i >= len(lines) or not _HEX_START.match(lines[i]):
        return None
    raw = bytearray()
    j, offset = i, 0
    while j < len(lines):
        m = _HEX_LINE.match(lines[j])
        if m is None or int(m.group(1), 16) != offset:
            break
        words = m.group(2).split()
        if any(len(w) % 2 for w in words):
            break
        offset += sum(len(w) for w in words) // 2
        if len(raw) < HEX_MAX:
            raw += bytes.fromhex("".join(words))
        j += 1
    return (j, bytes(raw[:HEX_MAX])) if raw else None


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:      # a host name: any address will do
        return None


def hex_payload(p: TextPacket, raw: bytes) -> tuple[TcpHeader, bytes] | None:
    """(TCP header, TCP payload) in a packet's dump: after the link header (none, Ethernet
    with its tags, Linux cooked) behind which an IP header with the line's addresses (any,
    when the line names hosts) carries TCP with the line's ports. None when it is no TCP
    packet of this line."""
    want = (_address(p.src), _address(p.dst))
    for off in dict.fromkeys(ip_offset(linktype, raw) for linktype in _DUMP_LINKTYPES):
        ip = parse_ip(raw[off:]) if off >= 0 else None
        if ip is None or ip.proto != PROTO_TCP or (
                None not in want and (_address(ip.src), _address(ip.dst)) != want):
            continue
        start = off + ip.header_length
        tcp = parse_tcp(raw[start:])
        if tcp is None or len(raw) < start + tcp.header_length or (
                (p.sport, p.dport) != (tcp.sport, tcp.dport) and p.sport and p.dport):
            return None
        return tcp, raw[start + tcp.header_length:]
    return None


def _ip_in(raw: bytes) -> tuple[int, IpHeader] | None:
    """Where the IP packet of a dump on its own starts, and its header: behind the first
    link header that leads to a plausible IP header (an IPv6 next header we know of).
    Without a link header only bytes that cannot be chance: an IPv4 header whose checksum
    holds (802.15.4 frames read as IPv4 with a header of 32 bytes, of protocol 0), an
    IPv6 packet of exactly the dump's length."""
    for linktype in _ALONE_LINKTYPES:
        off = ip_offset(linktype, raw)
        ip = parse_ip(raw[off:]) if off >= 0 else None
        if ip is None or ip.total_length < ip.header_length or (
                ip.version == 6 and ip.proto not in _V6_NEXT) or (
                linktype == LINKTYPE_NULL and raw[:4] not in _LOOPBACK_FAMILIES):
            continue
        if linktype != LINKTYPE_RAW or (not internet_checksum(raw[:ip.header_length])
                                        if ip.version == 4 else ip.total_length == len(raw)):
            return off, ip
    return None


def holds_ip(raw: bytes) -> bool:
    """Is there an IP packet in this dump on its own, behind a link header we read?"""
    return _ip_in(raw) is not None


def dumped_packet(raw: bytes, lineno: int) -> TextPacket | None:
    """A dump on its own (tshark -x) as a packet line would show it, without a time: a TCP
    segment with its options and first bytes, an ICMP frag-needed / Packet Too Big with
    the packet it quotes, or a ping. None for any other packet."""
    found = _ip_in(raw)
    if found is None or found[1].frag_offset or found[1].more_fragments:
        return None     # (a fragment: the first one's TCP header counts no length)
    off, ip = found
    family, start = ip.version, off + ip.header_length
    if ip.proto == PROTO_TCP:
        tcp = parse_tcp(raw[start:ip.total_length + off])
        if tcp is None:
            return None
        o = tcp.options
        payload = raw[start + tcp.header_length:off + ip.total_length]
        return TextPacket(lineno, TextForm.HEX, ip.src, tcp.sport, ip.dst, tcp.dport,
                          tcp.flags, None, family, seq=tcp.seq, ack=tcp.ack,
                          length=ip.total_length - ip.header_length - tcp.header_length,
                          mss=o.mss, wscale=o.wscale, window=tcp.window,
                          sack=o.sack_permitted, tsopt=o.timestamps is not None,
                          options_shown=True, content=payload, ip_len=ip.total_length,
                          df=ip.df)
    if ip.proto not in (PROTO_ICMP, PROTO_ICMP6) or len(raw) < start + 8:
        return None
    icmp = raw[start:off + ip.total_length]
    if icmp[0] in (ECHO_REQUEST[family], ECHO_REPLY[family]):
        return TextPacket(lineno, TextForm.HEX, ip.src, 0, ip.dst, 0, 0, None, family,
                          echo=Echo(icmp[0] == ECHO_REQUEST[family],
                                    int.from_bytes(icmp[4:6], "big"),
                                    int.from_bytes(icmp[6:8], "big")),
                          ip_len=ip.total_length, df=ip.df)
    error = parse_icmp_error(icmp, family)
    if error is None or not error.frag_needed or error.quoted_ip is None:
        return None
    q = error.quoted_ip
    if q.proto != PROTO_TCP:
        return None
    ports = error.quoted_tcp_ports or (0, 0)
    quoted = TextPacket(lineno, TextForm.HEX, q.src, ports[0], q.dst, ports[1], 0, None,
                        q.version, seq=error.quoted_tcp.seq if error.quoted_tcp else None)
    return TextPacket(lineno, TextForm.HEX, ip.src, 0, ip.dst, 0, 0, None, family,
                      icmp_mtu=error.mtu or 0, icmp_orig=q.dst, quoted=quoted,
                      quoted_len=q.total_length)
