"""Local facts a measurement rests on: the address, the interface, its MTU, the cached PMTU.

Nothing here sends a packet: ``connect()`` on a UDP socket only asks the
kernel for the route, and ``IP_MTU`` reads the route's MTU (the PMTU learned
from ICMP when the kernel has one cached, else the device MTU).
"""

from __future__ import annotations

import fcntl
import socket
import struct
from dataclasses import dataclass
from pathlib import Path

from pathprobe.errors import NotMeasuredError, UsageError
from pathprobe.wire import rtnetlink

IP_MTU = 14        # linux/in.h
IPV6_MTU = 24      # linux/in6.h
SIOCGIFMTU = 0x8921  # linux/sockios.h
IFNAMSIZ = 16
NETLINK_ROUTE = 0
NETLINK_TIMEOUT_S = 1.0

@dataclass(frozen=True)
class Target:
    host: str         # as the user wrote it
    address: str      # the address probed
    family: int       # socket.AF_INET / AF_INET6

    @property
    def version(self) -> int:
        return 4 if self.family == socket.AF_INET else 6


@dataclass(frozen=True)
class RouteInfo:
    source: str
    interface: str | None
    interface_mtu: int | None
    route_mtu: int | None      # what the kernel would use now (cached PMTU or device MTU)
    gateway: str | None = None  # next hop toward the target, None when on-link or unknown


def resolve(host: str, family: int | None = None) -> Target:
    """HOST (name or literal) to one address; IPv4 first unless a family is forced."""
    if not host or host.startswith("-") or any(c.isspace() for c in host):
        raise UsageError(f"not a host name or address: {host!r}")
    fam = family if family is not None else socket.AF_UNSPEC
    try:
        infos = socket.getaddrinfo(host, None, fam, socket.SOCK_DGRAM)
    except (socket.gaierror, UnicodeError) as e:
        raise NotMeasuredError(f"cannot resolve {host}: {e}; check the name or give an "
                               "address") from e
    infos.sort(key=lambda i: 0 if i[0] == socket.AF_INET else 1)
    for fam_found, _type, _proto, _canon, sockaddr in infos:
        if fam_found in (socket.AF_INET, socket.AF_INET6):
            return Target(host, str(sockaddr[0]), int(fam_found))
    raise NotMeasuredError(f"{host} has no IPv4 or IPv6 address")


def route_mtu(target: Target) -> int | None:
    """The MTU the kernel's route to target carries now (includes a cached PMTU)."""
    with socket.socket(target.family, socket.SOCK_DGRAM) as s:
        try:
            s.connect((target.address, 9))
            level, opt = ((socket.IPPROTO_IP, IP_MTU) if target.family == socket.AF_INET
                          else (socket.IPPROTO_IPV6, IPV6_MTU))
            return int(s.getsockopt(level, opt))
        except OSError:
            return None


def route_to(target: Target) -> RouteInfo:
    """Source address, outgoing interface, gateway and MTUs for target; no packet is sent."""
    with socket.socket(target.family, socket.SOCK_DGRAM) as s:
        try:
            s.connect((target.address, 9))
        except OSError as e:
            raise NotMeasuredError(f"no route to {target.address}: {e.strerror}; "
                                   "check the address and the routing table") from e
        source = str(s.getsockname()[0])
    route = kernel_route(target.address)
    iface = None
    if route is not None and route.oif is not None:
        try:
            iface = socket.if_indextoname(route.oif)
        except OSError:
            iface = None
    mtu = interface_mtu(iface) if iface is not None else None
    return RouteInfo(source, iface, mtu, route_mtu(target),
                     route.gateway if route is not None else None)


def kernel_route(address: str) -> rtnetlink.Route | None:
    """The kernel's answer to ``ip route get ADDRESS`` over rtnetlink; None if it gives none."""
    try:
        with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE) as nl:
            nl.settimeout(NETLINK_TIMEOUT_S)
            nl.send(rtnetlink.get_route_request(address))
            return rtnetlink.parse_route_reply(nl.recv(65536))
    except (OSError, ValueError):   # no netlink (not Linux, seccomp), unroutable, malformed
        return None


def interface_mtu(name: str) -> int | None:
    """An interface's MTU: sysfs, else the SIOCGIFMTU ioctl; None when neither answers."""
    if not name or "/" in name or len(name.encode()) >= IFNAMSIZ:
        return None
    try:
        return int((Path("/sys/class/net") / name / "mtu").read_text().strip())
    except (OSError, ValueError):
        return ioctl_mtu(name)


def ioctl_mtu(name: str) -> int | None:
    """SIOCGIFMTU: the interface MTU where sysfs is not mounted (some containers, chroots)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            ifreq = struct.pack(f"{IFNAMSIZ}si", name.encode(), 0)
            answer = fcntl.ioctl(s.fileno(), SIOCGIFMTU, ifreq)
            return int(struct.unpack_from("i", answer, IFNAMSIZ)[0])
    except OSError:
        return None
