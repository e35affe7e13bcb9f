"""TCP probes on kernel sockets: handshake MSS, sized segments, TTL-limited SYNs.

Everything here uses the kernel's own TCP (no hand-built packets), so the
kernel handles retransmission, checksums and resets for us and nothing needs
a firewall rule. What privileges add:

* root (``CAP_NET_RAW``): a raw IPPROTO_TCP socket sees the SYN-ACK exactly as
  it arrived, so the MSS received is exact even above our own route's MSS;
* root (``CAP_NET_ADMIN``): ``TCP_REPAIR_OPTIONS`` lets an established,
  still-unused connection forget the peer's (clamped) MSS, so segments larger
  than the clamp can be sent to find a reset or black-hole threshold hiding
  behind it. Without it the segment test is bounded by the negotiated MSS.

TTL-limited SYNs need no privilege: with ``IP_RECVERR`` the kernel queues the
ICMP time-exceeded (and the quoted TCP header) on the connecting socket.
"""

from __future__ import annotations

import contextlib
import errno
import select
import socket
import struct
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from pathprobe.compat import TIMEOUTS, StrEnum
from pathprobe.errors import NotMeasuredError
from pathprobe.probes import kernel
from pathprobe.probes.kernel import tcp_info
from pathprobe.wire import overhead
from pathprobe.wire.headers import TCP_ACK, TCP_SYN, parse_ip, parse_tcp


def _new_socket(family: int) -> socket.socket:
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    # DF on. Not IP_PMTUDISC_PROBE: Linux TCP sets DF only for DO/WANT (ip_dont_fragment),
    # and WANT drops DF when the route's MTU is locked. An ICMP too-big then lowers
    # tcpi_pmtu, which is how probe_segment sees it.
    kernel.set_dont_fragment(s, family, ignore_cached_pmtu=False)
    return s


def _connect(family: int, addr: tuple[str, int], timeout: float,
             maxseg: int | None = None) -> socket.socket:
    s = _new_socket(family)
    if maxseg is not None:   # our SYN's MSS: the peer's segments stay within it
        s.setsockopt(socket.IPPROTO_TCP, kernel.TCP_MAXSEG, maxseg)
    s.settimeout(timeout)
    try:
        s.connect(addr)
    except TIMEOUTS as exc:
        s.close()
        raise NotMeasuredError(
            f"no TCP connection to {addr[0]} port {addr[1]} within {timeout:g} s "
            "(filtered or down); check the address and port") from exc
    except OSError as exc:
        s.close()
        raise NotMeasuredError(
            f"no TCP connection to {addr[0]} port {addr[1]}: {exc.strerror}; "
            "check the address and port") from exc
    return s


# -- handshake ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Handshake:
    """The MSS values of one real handshake."""

    family: int
    mss_sent: int             # the MSS option of our SYN
    mss_received: int         # the MSS option of the SYN-ACK (exact, or a lower bound)
    received_exact: bool
    method: str               # "syn-ack capture" or "tcp_info"
    timestamps: bool
    snd_mss: int              # payload per segment the kernel will send
    pmtu: int                 # our route's MTU towards the peer
    rtt_s: float


def _raw_listener(family: int) -> socket.socket | None:
    """A raw socket that receives copies of incoming TCP segments; None without CAP_NET_RAW."""
    try:
        raw = socket.socket(family, socket.SOCK_RAW, socket.IPPROTO_TCP)
    except PermissionError:
        return None
    raw.setblocking(False)
    return raw


def _synack_mss(raw: socket.socket, family: int, peer: tuple[str, int], lport: int,
                deadline: float) -> int | None:
    """The MSS option of the SYN-ACK from ``peer`` to our ``lport`` seen on ``raw``."""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([raw], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            return None
        try:
            data, src = raw.recvfrom(256)
        except BlockingIOError:
            continue
        if family == socket.AF_INET:
            ip = parse_ip(data)
            if ip is None or ip.src != peer[0]:
                continue
            seg = data[ip.header_length:]
        else:   # IPv6 raw sockets deliver the TCP segment without the IPv6 header
            if socket.inet_pton(family, src[0]) != socket.inet_pton(family, peer[0]):
                continue
            seg = data
        tcp = parse_tcp(seg)
        if (tcp is not None and tcp.sport == peer[1] and tcp.dport == lport
                and tcp.flags & (TCP_SYN | TCP_ACK) == TCP_SYN | TCP_ACK):
            return tcp.options.mss if tcp.options.mss is not None else 536
    return None


def handshake(family: int, addr: tuple[str, int], *, timeout: float = 3.0) -> Handshake:
    """Connect once and read both MSS values; capture the SYN-ACK when privileged."""
    raw = _raw_listener(family)
    s = _new_socket(family)
    try:
        s.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", 0))
        lport = s.getsockname()[1]
        s.settimeout(timeout)
        t0 = time.monotonic()
        try:
            s.connect(addr)
        except TIMEOUTS as exc:
            raise NotMeasuredError(
                f"no TCP connection to {addr[0]} port {addr[1]} within {timeout:g} s "
                "(filtered or down); check the address and port") from exc
        except OSError as exc:
            raise NotMeasuredError(
                f"no TCP connection to {addr[0]} port {addr[1]}: {exc.strerror}; "
                "check the address and port") from exc
        rtt = time.monotonic() - t0
        info = tcp_info(s)
    finally:
        s.close()
    # Our SYN carried advmss + options; the kernel keeps advmss net of timestamps.
    mss_sent = overhead.mss_for_payload(info.advmss, info.timestamps)
    # snd_mss = min(peer MSS, our PMTU - headers) - options: exact below our own limit.
    own_limit = overhead.mss_for_mtu(info.pmtu, family)
    from_info = overhead.mss_for_payload(info.snd_mss, info.timestamps)
    captured = None
    if raw is not None:
        try:
            captured = _synack_mss(raw, family, addr, lport, time.monotonic() + 0.2)
        finally:
            raw.close()
    if captured is not None:
        return Handshake(family, mss_sent, captured, True, "syn-ack capture", info.timestamps,
                         info.snd_mss, info.pmtu, rtt)
    return Handshake(family, mss_sent, from_info, from_info < own_limit, "tcp_info",
                     info.timestamps,
                     info.snd_mss, info.pmtu, rtt)


# -- sized segments ----------------------------------------------------------------------

class SegmentOutcome(StrEnum):
    ACKED = "acked"
    RESET = "reset"
    LOST = "lost"              # not acknowledged in time (the kernel kept retransmitting)
    ICMP_TOO_BIG = "icmp-too-big"   # the kernel lowered its PMTU: ICMP said too big
    LOCAL_LIMIT = "local-limit"    # our stack will not send a segment this large
    NO_CONNECTION = "no-connection"


@dataclass(frozen=True)
class SegmentProbe:
    payload: int
    outcome: SegmentOutcome
    pmtu: int | None = None        # the kernel's PMTU after the probe (ICMP hint)
    detail: str = ""


def override_peer_mss(s: socket.socket, mss: int) -> bool:
    """Raise the connection's send MSS to ``mss`` via TCP_REPAIR (CAP_NET_ADMIN).

    Only valid on an established connection that has sent no data. Returns
    False when not permitted, leaving the connection untouched. The new MSS is
    not in force on return: see :func:`override_pending`.
    """
    try:
        s.setsockopt(socket.IPPROTO_TCP, kernel.TCP_REPAIR, 1)
    except OSError:
        return False
    try:
        s.setsockopt(socket.IPPROTO_TCP, kernel.TCP_REPAIR_OPTIONS,
                     struct.pack("=II", kernel.TCPOPT_MSS, mss))
        return True
    except OSError:
        return False
    finally:
        s.setsockopt(socket.IPPROTO_TCP, kernel.TCP_REPAIR, 0)


def override_pending(info: kernel.TcpInfo, payload: int, mss: int, family: int) -> bool:
    """Whether ``payload`` will fit one segment once a raised MSS ``mss`` is in force, but
    does not yet. Pure.

    Leaving repair mode sends a window probe, and the kernel applies the raised MSS
    only when it processes the peer's answer, one round trip later. Between the two
    the send MSS is still the clamped one; a size read as too big for it then is not
    our stack's limit. It never fits when ``mss`` itself or the cached PMTU is smaller.
    """
    if info.snd_mss >= payload or info.state != kernel.TCP_ESTABLISHED:
        return False
    return (overhead.mss_for_payload(payload, info.timestamps) <= mss
            and overhead.mtu_for_payload(payload, family, info.timestamps) <= info.pmtu)


def _await_override(s: socket.socket, family: int, payload: int, mss: int,
                    timeout: float) -> tuple[kernel.TcpInfo, bool]:
    """TCP_INFO once the raised MSS lets ``payload`` out in one segment, or at ``timeout``;
    and whether it was still pending then (the peer never answered the window probe)."""
    deadline = time.monotonic() + timeout
    while True:
        info = tcp_info(s)
        pending = override_pending(info, payload, mss, family)
        now = time.monotonic()
        if not pending or now >= deadline:
            return info, pending
        time.sleep(min(0.002, deadline - now))


def can_override_mss(family: int, addr: tuple[str, int], mss: int, timeout: float) -> bool:
    """Whether TCP_REPAIR is permitted here (one connection, no data sent)."""
    s = _connect(family, addr, timeout)
    try:
        return override_peer_mss(s, mss)
    finally:
        s.close()


def _filler(n: int) -> bytes:
    """Harmless bytes: an unterminated HTTP header line that any server just buffers."""
    head = b"X-Pathprobe-Pad: "
    return (head + b"a" * max(0, n - len(head)))[:n]


def probe_segment(family: int, addr: tuple[str, int], payload: int, *, override_mss: int | None,
                  connect_timeout: float = 3.0, ack_timeout: float = 1.0) -> SegmentProbe:
    """Send one segment of ``payload`` bytes on a fresh connection; acked, reset or lost?"""
    try:
        s = _connect(family, addr, connect_timeout)
    except NotMeasuredError as exc:
        return SegmentProbe(payload, SegmentOutcome.NO_CONNECTION, detail=str(exc))
    try:
        pending = False
        if override_mss is None:
            before = tcp_info(s)
        elif override_peer_mss(s, override_mss):
            before, pending = _await_override(s, family, payload, override_mss, ack_timeout)
        else:
            return SegmentProbe(payload, SegmentOutcome.LOCAL_LIMIT,
                                detail="TCP_REPAIR not permitted")
        if payload > before.snd_mss:
            late = (f" (the MSS {override_mss} set by TCP_REPAIR not in force after "
                    f"{ack_timeout:g} s: no answer to its window probe)" if pending else "")
            return SegmentProbe(payload, SegmentOutcome.LOCAL_LIMIT, before.pmtu,
                                f"send MSS is {before.snd_mss}{late}")
        s.setblocking(False)
        try:
            s.send(_filler(payload))
        except OSError as exc:
            if exc.errno in (errno.ECONNRESET, errno.EPIPE):
                return SegmentProbe(payload, SegmentOutcome.RESET, detail="reset before send")
            if exc.errno == errno.EMSGSIZE:
                return SegmentProbe(payload, SegmentOutcome.LOCAL_LIMIT, detail="EMSGSIZE")
            raise
        deadline = time.monotonic() + ack_timeout
        base = before.bytes_acked or 0
        while True:
            info = tcp_info(s)
            acked = (info.bytes_acked - base >= payload if info.bytes_acked is not None
                     else info.unacked == 0)
            if info.pmtu < before.pmtu and info.pmtu < overhead.mtu_for_payload(
                    payload, family, info.timestamps):
                return SegmentProbe(payload, SegmentOutcome.ICMP_TOO_BIG, info.pmtu,
                                    f"kernel PMTU lowered to {info.pmtu}")
            if acked:
                return SegmentProbe(payload, SegmentOutcome.ACKED, info.pmtu)
            if info.state == kernel.TCP_CLOSE:
                return SegmentProbe(payload, SegmentOutcome.RESET, info.pmtu,
                                    "connection reset by peer")
            now = time.monotonic()
            if now >= deadline:
                return SegmentProbe(payload, SegmentOutcome.LOST, info.pmtu,
                                    f"not acknowledged in {ack_timeout:g} s "
                                    f"({info.total_retrans} retransmissions)")
            select.select([s], [], [], min(0.01, deadline - now))
    finally:
        s.close()


def probe_segments(family: int, addr: tuple[str, int], payloads: Sequence[int], *,
                   override_mss: int | None, connect_timeout: float = 3.0,
                   ack_timeout: float = 1.0) -> list[SegmentProbe]:
    """Probe several sizes in parallel (one connection each); results in input order."""
    if not payloads:
        return []
    with ThreadPoolExecutor(max_workers=min(16, len(payloads))) as pool:
        return list(pool.map(
            lambda p: probe_segment(family, addr, p, override_mss=override_mss,
                                    connect_timeout=connect_timeout, ack_timeout=ack_timeout),
            payloads))


# -- the peer's segments -----------------------------------------------------------------

@dataclass(frozen=True)
class PeerSegments:
    """How large the peer's segments to us were (what MSS our SYN arrived with)."""

    received: int        # reply bytes read
    rcv_mss: int         # largest payload per segment seen (tcpi_rcv_mss)
    timestamps: bool
    timed_out: bool


def peer_segments(family: int, addr: tuple[str, int], request: bytes, *,
                  timeout: float = 2.0, max_bytes: int = 262144,
                  maxseg: int | None = None) -> PeerSegments:
    """Send ``request`` and read the reply (bounded in bytes and time); report segment size.

    The peer segments its reply at min(the MSS our SYN arrived with, its PMTU), so
    a multi-segment reply shows a clamp applied to our SYN on the way out.
    ``maxseg`` lowers the MSS our SYN carries (e.g. below a proven black hole on
    the way back, so the reply is not lost there).
    """
    s = _connect(family, addr, timeout, maxseg)
    try:
        s.sendall(request)
        received = 0
        timed_out = False
        deadline = time.monotonic() + timeout
        while received < max_bytes:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            s.settimeout(left)
            try:
                data = s.recv(65536)
            except TIMEOUTS:
                timed_out = True
                break
            except OSError:
                break
            if not data:
                break
            received += len(data)
        info = tcp_info(s)
        return PeerSegments(received, info.rcv_mss, info.timestamps, timed_out)
    finally:
        s.close()


# -- TTL-limited SYNs (tracebox-style) ---------------------------------------------------

@dataclass(frozen=True)
class HopQuote:
    """What happened to a SYN sent with a given TTL."""

    ttl: int
    hop: str | None            # the router that answered (ICMP source), or the target
    reached: bool              # the SYN reached the target (connection completed/refused)
    quoted_mss: int | None     # MSS option in the quoted SYN (None: not quoted)
    quoted_bytes: int          # how much of the TCP header the router quoted
    icmp: str = ""             # "time-exceeded", "unreachable", "" (no answer)
    sent_mss: int | None = None   # the MSS option our SYN carried (TCP_INFO in SYN_SENT)


def ttl_syns(family: int, addr: tuple[str, int], max_hops: int = 8,
             timeout: float = 1.0) -> list[HopQuote]:
    """SYNs with TTL 1..max_hops in parallel; read each ICMP quotation from the error queue.

    Stops being interesting at the first TTL that reaches the target; all
    sockets are closed before returning. Bounded: max_hops SYNs, one wait.
    """
    socks: list[tuple[int, socket.socket]] = []
    sent: dict[int, int] = {}
    try:
        for ttl in range(1, max_hops + 1):
            s = socket.socket(family, socket.SOCK_STREAM)
            if family == socket.AF_INET:
                s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, ttl)
            else:
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, ttl)
            kernel.enable_recverr(s, family)
            s.setblocking(False)
            socks.append((ttl, s))
            try:
                s.connect(addr)
            except BlockingIOError:
                pass
            except OSError:
                continue
            with contextlib.suppress(OSError, ValueError):
                # In SYN_SENT, advmss is still the MSS option the SYN carried.
                sent[ttl] = tcp_info(s).advmss
        results: dict[int, HopQuote] = {}
        deadline = time.monotonic() + timeout
        while len(results) < len(socks):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            pending = [s for t, s in socks if t not in results]
            _, _, _ = select.select(pending, pending, [], min(left, 0.05))
            for ttl, s in socks:
                if ttl in results:
                    continue
                try:
                    queued = kernel.read_errqueue(s)
                except OSError:
                    queued = []
                if queued:
                    icmp = next((e for e in queued if e.from_icmp), None)
                    tcp = parse_tcp(queued[0].payload)
                    how = ("" if icmp is None else "time-exceeded"
                           if icmp.time_exceeded(family) else f"icmp {icmp.type}/{icmp.code}")
                    results[ttl] = HopQuote(
                        ttl, icmp.offender if icmp else None, False,
                        tcp.options.mss if tcp is not None else None, len(queued[0].payload),
                        how or "icmp 0/0")
                    continue
                err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err == errno.ECONNREFUSED:
                    results[ttl] = HopQuote(ttl, addr[0], True, None, 0, "refused")
                elif err == 0:
                    try:
                        s.getpeername()
                    except OSError:
                        continue
                    results[ttl] = HopQuote(ttl, addr[0], True, None, 0)
        return [replace(results.get(t, HopQuote(t, None, False, None, 0)), sent_mss=sent.get(t))
                for t, _ in socks]
    finally:
        for _, s in socks:
            s.close()
