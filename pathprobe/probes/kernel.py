"""The Linux kernel interface of every probe: socket constants, tcp_info, error queue,
and the local facts a measurement rests on (address, route, interface, MTUs).

One place for what Python's socket module lacks (linux/tcp.h, linux/in.h,
linux/in6.h, linux/errqueue.h, linux/sockios.h) and for decoding what the kernel
hands back, so the probes (l3, tcp, tunnel), the orchestration (pmtu, mss,
diagnose) and the reflector read the same struct the same way. ``parse_tcp_info``
is pure; the rest are thin socket calls. Nothing here sends a packet:
``connect()`` on a UDP socket only asks the kernel for the route, rtnetlink asks
it which interface, and ``IP_MTU`` reads the route's MTU (a PMTU learned from
ICMP when one is cached, else the device MTU).
"""

from __future__ import annotations

import fcntl
import socket
import struct
from dataclasses import dataclass
from pathlib import Path

from pathprobe.errors import NotMeasuredError, UsageError
from pathprobe.model import RouteInfo, Target
from pathprobe.wire import rtnetlink

# linux/tcp.h
TCP_MAXSEG = 2
TCP_INFO = 11
TCP_REPAIR = 19
TCP_REPAIR_OPTIONS = 22
TCP_SAVE_SYN = 27
TCP_SAVED_SYN = 28
TCPOPT_MSS = 2
TCPI_OPT_TIMESTAMPS = 1
TCP_ESTABLISHED = 1
TCP_CLOSE = 7           # tcpi_state after a reset
# linux/in.h
IP_MTU_DISCOVER = 10
IP_RECVERR = 11
IP_MTU = 14
IP_PMTUDISC_DO = 2      # DF on; ICMP lowers the route's PMTU
IP_PMTUDISC_PROBE = 3   # DF on; the cached PMTU is ignored
# linux/in6.h
IPV6_MTU_DISCOVER = 23
IPV6_MTU = 24
IPV6_RECVERR = 25
IPV6_PMTUDISC_DO = 2
IPV6_PMTUDISC_PROBE = 3
# linux/socket.h, linux/errqueue.h
MSG_ERRQUEUE = 0x2000
SO_EE_ORIGIN_ICMP = 2
SO_EE_ORIGIN_ICMP6 = 3
# linux/sockios.h, linux/if.h, linux/netlink.h
SIOCGIFMTU = 0x8921
IFNAMSIZ = 16
NETLINK_ROUTE = 0
NETLINK_TIMEOUT_S = 1.0

TCP_INFO_MIN = 104      # bytes up to tcpi_total_retrans: every kernel since 2.6
TCP_INFO_READ = 232     # what we ask for (newer kernels return more, we ignore it)
_EE = struct.Struct("=IBBBBII")   # struct sock_extended_err


@dataclass(frozen=True)
class TcpInfo:
    """The fields of Linux ``struct tcp_info`` this tool reads."""

    state: int
    retransmits: int
    options: int          # TCPI_OPT_* bits negotiated in the handshake
    snd_mss: int          # payload bytes per segment we may send (peer MSS - options, PMTU)
    rcv_mss: int          # largest payload per segment seen from the peer (estimate)
    unacked: int          # segments in flight
    pmtu: int
    rtt_us: int
    advmss: int           # our advertised MSS minus per-segment options
    total_retrans: int
    bytes_acked: int | None = None   # kernel >= 4.1 (buffers of 128 bytes or more)

    @property
    def timestamps(self) -> bool:
        return bool(self.options & TCPI_OPT_TIMESTAMPS)


def parse_tcp_info(buf: bytes) -> TcpInfo:
    """Decode ``struct tcp_info``: 8 one-byte fields, 24 u32 (from tcpi_rto), then u64s.

    ValueError when ``buf`` is shorter than the 104 bytes every kernel returns.
    """
    if len(buf) < TCP_INFO_MIN:
        raise ValueError(f"tcp_info too short ({len(buf)} bytes)")
    state, _ca, retrans, _probes, _backoff, options = buf[:6]
    u = struct.unpack_from("=24I", buf, 8)
    acked = struct.unpack_from("=Q", buf, 120)[0] if len(buf) >= 128 else None
    return TcpInfo(state=state, retransmits=retrans, options=options, snd_mss=u[2],
                   rcv_mss=u[3], unacked=u[4], pmtu=u[13], rtt_us=u[15], advmss=u[19],
                   total_retrans=u[23], bytes_acked=acked)


def tcp_info(sock: socket.socket) -> TcpInfo:
    """``TCP_INFO`` of a TCP socket (OSError/ValueError where the kernel has none)."""
    return parse_tcp_info(sock.getsockopt(socket.IPPROTO_TCP, TCP_INFO, TCP_INFO_READ))


def tcp_info_or_none(sock: socket.socket) -> TcpInfo | None:
    """``tcp_info`` for callers to whom a missing answer is just "unknown"."""
    try:
        return tcp_info(sock)
    except (OSError, ValueError):
        return None


def set_dont_fragment(sock: socket.socket, family: int, *, ignore_cached_pmtu: bool) -> None:
    """DF on. ``ignore_cached_pmtu``: IP_PMTUDISC_PROBE (else DO, which ICMP can lower)."""
    if family == socket.AF_INET:
        sock.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER,
                        IP_PMTUDISC_PROBE if ignore_cached_pmtu else IP_PMTUDISC_DO)
    else:
        sock.setsockopt(socket.IPPROTO_IPV6, IPV6_MTU_DISCOVER,
                        IPV6_PMTUDISC_PROBE if ignore_cached_pmtu else IPV6_PMTUDISC_DO)


def enable_recverr(sock: socket.socket, family: int) -> None:
    """ICMP errors about this socket's packets go to its error queue (``read_errqueue``)."""
    if family == socket.AF_INET:
        sock.setsockopt(socket.IPPROTO_IP, IP_RECVERR, 1)
    else:
        sock.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVERR, 1)


@dataclass(frozen=True)
class ErrQueueEntry:
    """One message from the socket error queue (IP_RECVERR / IPV6_RECVERR)."""

    errno: int
    origin: int
    type: int
    code: int
    info: int           # next-hop MTU for frag-needed / Packet Too Big
    offender: str | None
    payload: bytes      # the start of what we sent, as quoted back

    @property
    def from_icmp(self) -> bool:
        return self.origin in (SO_EE_ORIGIN_ICMP, SO_EE_ORIGIN_ICMP6)

    def too_big(self, family: int) -> bool:
        """ICMP frag-needed (v4) or Packet Too Big (v6)."""
        if family == socket.AF_INET:
            return self.origin == SO_EE_ORIGIN_ICMP and self.type == 3 and self.code == 4
        return self.origin == SO_EE_ORIGIN_ICMP6 and self.type == 2

    def port_unreachable(self, family: int) -> bool:
        if family == socket.AF_INET:
            return self.origin == SO_EE_ORIGIN_ICMP and self.type == 3 and self.code == 3
        return self.origin == SO_EE_ORIGIN_ICMP6 and self.type == 1 and self.code == 4

    def time_exceeded(self, family: int) -> bool:
        return self.from_icmp and self.type == (11 if family == socket.AF_INET else 3)


def parse_errqueue_cmsg(cmsg: bytes, payload: bytes) -> ErrQueueEntry | None:
    """Decode ``struct sock_extended_err`` plus the offender's sockaddr (pure)."""
    if len(cmsg) < _EE.size:
        return None
    ee_errno, origin, etype, code, _pad, info, _data = _EE.unpack_from(cmsg)
    return ErrQueueEntry(ee_errno, origin, etype, code, info, _offender(cmsg[_EE.size:]),
                         payload)


def _offender(raw: bytes) -> str | None:
    if len(raw) >= 8 and struct.unpack_from("=H", raw)[0] == socket.AF_INET:
        return socket.inet_ntop(socket.AF_INET, raw[4:8])
    if len(raw) >= 24 and struct.unpack_from("=H", raw)[0] == socket.AF_INET6:
        return socket.inet_ntop(socket.AF_INET6, raw[8:24])
    return None


def read_errqueue(sock: socket.socket) -> list[ErrQueueEntry]:
    """Drain the error queue without blocking (entries in arrival order)."""
    out: list[ErrQueueEntry] = []
    while True:
        try:
            data, anc, _flags, _addr = sock.recvmsg(2048, 512, MSG_ERRQUEUE | socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            return out
        for level, kind, cmsg in anc:
            if (level, kind) in ((socket.IPPROTO_IP, IP_RECVERR),
                                 (socket.IPPROTO_IPV6, IPV6_RECVERR)):
                entry = parse_errqueue_cmsg(cmsg, data)
                if entry is not None:
                    out.append(entry)


def route_mtu(family: int, address: str, port: int = 9) -> int | None:
    """The MTU of the kernel's route to ``address`` now (a cached PMTU, else the device's).

    ``connect()`` on a UDP socket only looks the route up: nothing is sent.
    None when there is no route.
    """
    level, opt = ((socket.IPPROTO_IP, IP_MTU) if family == socket.AF_INET
                  else (socket.IPPROTO_IPV6, IPV6_MTU))
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        try:
            s.connect((address, port))
            return int(s.getsockopt(level, opt))
        except OSError:
            return None


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


def target_route_mtu(target: Target) -> int | None:
    """``route_mtu`` for a resolved target."""
    return route_mtu(target.family, target.address)


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
    return RouteInfo(source, iface, mtu, target_route_mtu(target),
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
