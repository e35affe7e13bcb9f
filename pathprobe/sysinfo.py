"""Local facts a measurement rests on: the address, the interface, its MTU, the cached PMTU.

Nothing here sends a packet: ``connect()`` on a UDP socket only asks the
kernel for the route, and ``IP_MTU`` reads the route's MTU (the PMTU learned
from ICMP when the kernel has one cached, else the device MTU).
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

import psutil

from pathprobe.errors import NotMeasuredError, UsageError
from pathprobe.probes import kernel


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
    return kernel.route_mtu(target.family, target.address)


def route_to(target: Target) -> RouteInfo:
    """Source address, outgoing interface and MTUs for target; no packet is sent."""
    with socket.socket(target.family, socket.SOCK_DGRAM) as s:
        try:
            s.connect((target.address, 9))
        except OSError as e:
            raise NotMeasuredError(f"no route to {target.address}: {e.strerror}; "
                                   "check the address and the routing table") from e
        source = str(s.getsockname()[0])
    iface = interface_of(source)
    mtu = None
    if iface is not None:
        stats = psutil.net_if_stats().get(iface)
        mtu = stats.mtu if stats is not None else None
    return RouteInfo(source, iface, mtu, route_mtu(target))


def interface_of(address: str) -> str | None:
    """The interface holding a local address (scope suffixes ignored)."""
    bare = address.split("%", 1)[0]
    for name, addrs in psutil.net_if_addrs().items():
        for a in addrs:
            if a.address.split("%", 1)[0] == bare:
                return name
    return None
