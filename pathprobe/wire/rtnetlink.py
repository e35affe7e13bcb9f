"""The kernel's route lookup (``ip route get ADDR``) as bytes: build the request, parse the answer.

Pure: no socket here (``pathprobe.probes.kernel`` sends and receives). Asking
rtnetlink which route a packet to the proxy takes gives the outgoing
interface, the gateway and the preferred source without any compiled
package (psutil, netifaces) and without matching addresses by hand.
Layouts are linux/netlink.h and linux/rtnetlink.h, in host byte order.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
import struct
from dataclasses import dataclass

NLMSG_HEADER = struct.Struct("=IHHII")    # len, type, flags, seq, pid
RTMSG = struct.Struct("=BBBBBBBBI")       # family, dst_len, src_len, tos, table, proto, scope,
#                                           type, flags
RTATTR = struct.Struct("=HH")             # len, type
NLMSG_ERROR = 2
RTM_NEWROUTE = 24
RTM_GETROUTE = 26
NLM_F_REQUEST = 0x1
RTA_DST = 1
RTA_OIF = 4
RTA_GATEWAY = 5
RTA_PREFSRC = 7


class NetlinkError(ValueError):
    """The answer is not a route: a kernel error (``errno``) or malformed bytes (errno 0)."""

    def __init__(self, message: str, code: int = 0) -> None:
        super().__init__(message)
        self.errno = code


@dataclass(frozen=True)
class Route:
    """What the kernel would use for one destination."""

    oif: int | None          # outgoing interface index
    gateway: str | None      # next hop, None when the destination is on-link
    prefsrc: str | None      # source address the kernel prefers


def _align(n: int) -> int:
    return (n + 3) & ~3


def get_route_request(address: str, seq: int = 1) -> bytes:
    """RTM_GETROUTE for one IPv4 or IPv6 address (scope suffixes ignored)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    family = socket.AF_INET if ip.version == 4 else socket.AF_INET6
    dst = ip.packed
    attr = RTATTR.pack(RTATTR.size + len(dst), RTA_DST) + dst
    body = RTMSG.pack(family, len(dst) * 8, 0, 0, 0, 0, 0, 0, 0) + attr
    return NLMSG_HEADER.pack(NLMSG_HEADER.size + len(body), RTM_GETROUTE, NLM_F_REQUEST,
                             seq, 0) + body


def parse_route_reply(data: bytes) -> Route:
    """The first message of the kernel's answer: a route, or NetlinkError."""
    if len(data) < NLMSG_HEADER.size:
        raise NetlinkError(f"netlink answer too short ({len(data)} bytes)")
    length, kind, _flags, _seq, _pid = NLMSG_HEADER.unpack_from(data)
    if not NLMSG_HEADER.size <= length <= len(data):
        raise NetlinkError(f"netlink message length {length} does not fit {len(data)} bytes")
    if kind == NLMSG_ERROR:
        if length < NLMSG_HEADER.size + 4:
            raise NetlinkError("netlink error message too short")
        (code,) = struct.unpack_from("=i", data, NLMSG_HEADER.size)
        raise NetlinkError(errno.errorcode.get(-code, f"errno {-code}"), -code)
    if kind != RTM_NEWROUTE:
        raise NetlinkError(f"unexpected netlink message type {kind}")
    if length < NLMSG_HEADER.size + RTMSG.size:
        raise NetlinkError("route message too short")
    family = data[NLMSG_HEADER.size]
    if family not in (socket.AF_INET, socket.AF_INET6):
        raise NetlinkError(f"route of unknown address family {family}")
    attrs: dict[int, bytes] = {}
    pos = NLMSG_HEADER.size + RTMSG.size
    while pos + RTATTR.size <= length:
        alen, atype = RTATTR.unpack_from(data, pos)
        if alen < RTATTR.size or pos + alen > length:
            raise NetlinkError(f"route attribute length {alen} at offset {pos} is invalid")
        attrs.setdefault(atype, data[pos + RTATTR.size:pos + alen])
        pos += _align(alen)
    size = 4 if family == socket.AF_INET else 16

    def address(atype: int) -> str | None:
        raw = attrs.get(atype)
        if raw is None:
            return None
        if len(raw) != size:
            raise NetlinkError(f"route attribute {atype} has {len(raw)} bytes, not {size}")
        return socket.inet_ntop(family, raw)

    oif_raw = attrs.get(RTA_OIF)
    if oif_raw is not None and len(oif_raw) != 4:
        raise NetlinkError(f"RTA_OIF has {len(oif_raw)} bytes, not 4")
    oif = struct.unpack("=I", oif_raw)[0] if oif_raw is not None else None
    return Route(oif, address(RTA_GATEWAY), address(RTA_PREFSRC))
