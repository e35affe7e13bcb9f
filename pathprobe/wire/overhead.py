"""Header bytes between an MTU and a TCP payload (pure): the one place for 20/40/20/12.

An MSS option counts IP and TCP headers without options (MSS = MTU - 40 on
IPv4, - 60 on IPv6); once timestamps are negotiated every segment carries 12
more option bytes, so the payload per segment is MSS - 12.
"""

from __future__ import annotations

import socket

IPV4_HEADER = 20
IPV6_HEADER = 40
TCP_HEADER = 20
TCP_TIMESTAMPS = 12     # the timestamps option, padded to 4 bytes (Linux default: on)
UDP_HEADER = 8
ICMP_ECHO_HEADER = 8


def ip_version(family: int) -> int:
    """4 or 6 for an address family or an IP version number (both are accepted)."""
    if family in (4, socket.AF_INET):
        return 4
    if family in (6, socket.AF_INET6):
        return 6
    raise ValueError(f"not an IP family: {family!r}")


def ip_header(family: int) -> int:
    """IP header bytes (no IPv4 options, no IPv6 extension headers)."""
    return IPV4_HEADER if ip_version(family) == 4 else IPV6_HEADER


def ip_tcp_overhead(family: int, timestamps: bool = False) -> int:
    """IP + TCP header bytes of one segment: 40/60, plus 12 with timestamps."""
    return ip_header(family) + TCP_HEADER + (TCP_TIMESTAMPS if timestamps else 0)


def mss_for_mtu(mtu: int, family: int) -> int:
    """The MSS option a host with this MTU announces (headers without options)."""
    return mtu - ip_tcp_overhead(family)


def mtu_for_mss(mss: int, family: int) -> int:
    """The MTU whose full-size segments an MSS option of ``mss`` describes."""
    return mss + ip_tcp_overhead(family)


def payload_for_mtu(mtu: int, family: int, timestamps: bool) -> int:
    """TCP payload bytes of a segment that fills ``mtu`` exactly."""
    return mtu - ip_tcp_overhead(family, timestamps)


def mtu_for_payload(payload: int, family: int, timestamps: bool) -> int:
    """IP size of a segment carrying ``payload`` bytes."""
    return payload + ip_tcp_overhead(family, timestamps)


def payload_for_mss(mss: int, timestamps: bool) -> int:
    """Payload per segment when the peer announced ``mss`` (options come out of it)."""
    return mss - (TCP_TIMESTAMPS if timestamps else 0)


def mss_for_payload(payload: int, timestamps: bool) -> int:
    """The MSS option value behind a per-segment payload (inverse of payload_for_mss)."""
    return payload + (TCP_TIMESTAMPS if timestamps else 0)
