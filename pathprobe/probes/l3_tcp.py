"""Don't-fragment probes of exact IP sizes over TCP: ``tcp`` (unprivileged, one connection
per size to an open port, the ACK proves delivery) and ``syn`` (root, SYNs carrying a
payload to any TCP port, any answer proves delivery). Both measure "up" only; the
shared prober base, rounds and timing are in ``probes.l3``.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import select
import socket
import struct
import termios
import time
from collections.abc import Sequence
from dataclasses import dataclass

from pathprobe.errors import NotMeasuredError, PermissionNeeded
from pathprobe.probes import kernel
from pathprobe.probes.kernel import read_errqueue
from pathprobe.probes.l3 import Prober, Round, Timing, mtu_hint, set_probe_mode
from pathprobe.search import ProbeOutcome, ProbeResult
from pathprobe.wire import overhead
from pathprobe.wire.headers import parse_ip, parse_tcp


@dataclass(frozen=True)
class TcpPath:
    """What one handshake taught: segment limits and header overhead."""

    snd_mss: int
    timestamps: bool
    pmtu: int
    rtt_s: float


def unacked_bytes(sock: socket.socket) -> int:
    """Bytes written but not yet acknowledged (SIOCOUTQ): 0 means the peer has it all.

    tcpi_unacked counts segments in flight, which is 0 too while data still
    waits in the send queue, so it cannot prove delivery.
    """
    buf = fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0")
    return int(struct.unpack("i", buf)[0])


class TcpProber(Prober):
    """Unprivileged TCP to an open port: one connection per size, its ACK proves delivery."""

    def __init__(self, target: str, family: int, *, port: int,
                 timing: Timing | None = None, connect_timeout: float = 2.0) -> None:
        super().__init__(target, family, timing or Timing(), method="tcp")
        self.port = port
        self.connect_timeout = connect_timeout
        self.path = self._handshake_probe()
        self.overhead = overhead.ip_tcp_overhead(self.family, self.path.timestamps)

    @property
    def max_size(self) -> int:
        """The largest IP size one segment can have on this connection (peer MSS)."""
        return int(self.path.snd_mss + self.overhead)

    def _connect(self) -> socket.socket:
        sock = socket.socket(self.family, socket.SOCK_STREAM)
        if self.family == socket.AF_INET:
            # IPv4 TCP sets DF only with IP_PMTUDISC_DO (PROBE sends without DF and
            # routers fragment). DO lets an ICMP shrink the MSS and the kernel resend
            # smaller: probe() catches that via snd_mss and calls it TOO_BIG.
            kernel.set_dont_fragment(sock, self.family, ignore_cached_pmtu=False)
        else:
            set_probe_mode(sock, self.family, recverr=False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # Close with a reset: no retransmissions of unacknowledged probes after we are done.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.setblocking(False)
        err = sock.connect_ex((self.target, self.port))
        if err not in (0, errno.EINPROGRESS):
            sock.close()
            raise NotMeasuredError(f"cannot connect to {self.target} port {self.port}: "
                                   f"{os.strerror(err)}")
        return sock

    def _handshake_probe(self) -> TcpPath:
        t0 = time.monotonic()
        sock = self._connect()
        try:
            _, w, _ = select.select([], [sock], [], self.connect_timeout)
            err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if not w or err:
                why = os.strerror(err) if err else "no answer"
                raise NotMeasuredError(
                    f"TCP port {self.port} on {self.target} is not open ({why})")
            rtt = time.monotonic() - t0
            info = kernel.tcp_info(sock)
            self.timing.observe(rtt)
            return TcpPath(info.snd_mss, info.timestamps, info.pmtu, rtt)
        finally:
            sock.close()

    def route_pmtu(self) -> int | None:
        """The PMTU the kernel learned from ICMP for this target (route cache), if any."""
        return kernel.route_mtu(self.family, self.target, self.port)

    def probe(self, sizes: Sequence[int]) -> list[ProbeResult]:
        rnd = Round(sizes, self.timing)
        t0 = time.monotonic()
        connect_deadline = t0 + self.connect_timeout
        rnd.deadline = connect_deadline + self.timing.ceiling  # hard stop for the round
        socks: dict[socket.socket, int] = {}
        connecting: dict[socket.socket, int] = {}
        sent_at: dict[socket.socket, float] = {}
        try:
            for i, size in enumerate(sizes):
                if size > self.max_size:
                    rnd.settle(i, ProbeResult(size, ProbeOutcome.LOCAL_TOO_BIG), answered=False)
                    continue
                self._pace(i, t0)
                s = self._connect()
                socks[s] = i
                connecting[s] = i
            while rnd.open:
                now = time.monotonic()
                if connecting and now > connect_deadline:
                    connecting.clear()  # never connected: those probes are lost
                for s, t in list(sent_at.items()):
                    i = socks[s]
                    size = rnd.sizes[i]
                    info = kernel.tcp_info(s)
                    if unacked_bytes(s) == 0:
                        if info.snd_mss < size - self.overhead:
                            # ICMP shrank the MSS and the kernel resent smaller: too big.
                            rnd.settle(i, ProbeResult(size, ProbeOutcome.TOO_BIG,
                                                      mtu_hint(info.pmtu, size, self.family)))
                        else:
                            rnd.settle(i, ProbeResult(size, ProbeOutcome.DELIVERED))
                            self.timing.observe(time.monotonic() - t)
                        del sent_at[s]
                    elif now - t > self.timing.timeout():
                        del sent_at[s]  # not acknowledged in time: lost
                if not connecting and not sent_at:
                    break
                writers = list(connecting)
                wait = 0.002
                _, w, _ = select.select([], writers, [], wait) if writers else ([], [], [])
                if not writers:
                    time.sleep(wait)
                for s in w:
                    i = connecting.pop(s)
                    if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                        continue  # connection failed: the probe is lost
                    try:
                        s.send(b"\0" * (rnd.sizes[i] - self.overhead))
                        self.probes_sent += 1
                        sent_at[s] = time.monotonic()
                    except OSError as e:
                        if e.errno == errno.EMSGSIZE:
                            rnd.settle(i, ProbeResult(rnd.sizes[i], ProbeOutcome.LOCAL_TOO_BIG),
                                       answered=False)
        finally:
            for s in socks:
                s.close()
        results = rnd.finish()
        # ICMP frag-needed was absorbed by the kernel: read what it learned.
        cached = self.route_pmtu()
        if cached is not None:
            results = [ProbeResult(r.size, ProbeOutcome.TOO_BIG, mtu_hint(cached, r.size,
                                                                      self.family))
                       if r.outcome is ProbeOutcome.LOST and mtu_hint(cached, r.size, self.family)
                       else r for r in results]
        return results


class SynProber(Prober):
    """Root: SYNs carrying a payload, of exact IP sizes, to a TCP port (open or closed).

    Any TCP answer (SYN-ACK from an open port, RST from a closed one) proves the
    whole SYN arrived; answers are small, so this measures "up" only. For
    targets that drop ICMP echo and UDP. scapy crafts the segments (TCP
    checksum over the pseudo-header, options); a raw IPPROTO_TCP socket sends
    them so the kernel adds the IP header with DF (IP_PMTUDISC_PROBE) and
    refuses sizes above the interface MTU with EMSGSIZE. Our own kernel
    answers the SYN-ACKs with a reset, so no connection is left behind.
    """

    def __init__(self, target: str, family: int, *, port: int, source: str,
                 timing: Timing | None = None) -> None:
        super().__init__(target, family, timing or Timing(), method="syn")
        self.port = port
        self.source = source
        try:
            self.sock = socket.socket(family, socket.SOCK_RAW, socket.IPPROTO_TCP)
        except PermissionError as e:
            raise PermissionNeeded("SYN probes need root or CAP_NET_RAW") from e
        self.sock.setblocking(False)
        with contextlib.suppress(OSError):
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        set_probe_mode(self.sock, family, recverr=True)
        self.overhead = self.ip_header + overhead.TCP_HEADER + 4  # + the MSS option
        self.base_port = 20000 + int.from_bytes(os.urandom(2), "big") % 30000
        self.next_port = 0

    def close(self) -> None:
        self.sock.close()

    def _segment(self, sport: int, isn: int, size: int) -> bytes:
        """The TCP segment (header + payload) of a SYN whose IP packet is `size` bytes."""
        from scapy.layers.inet import IP, TCP  # lazy: scapy costs ~0.6 s to import
        from scapy.layers.inet6 import IPv6
        from scapy.packet import Raw

        ip = (IP(src=self.source, dst=self.target) if self.family == socket.AF_INET
              else IPv6(src=self.source, dst=self.target))
        payload = b"\0" * (size - self.overhead)
        pkt = ip / TCP(sport=sport, dport=self.port, flags="S", seq=isn, window=64240,
                       options=[("MSS", 1460)]) / Raw(payload)
        return bytes(pkt)[self.ip_header:]

    def probe(self, sizes: Sequence[int]) -> list[ProbeResult]:
        rnd = Round(sizes, self.timing)
        by_port: dict[int, int] = {}
        segments = []
        for i, size in enumerate(sizes):
            sport = self.base_port + (self.next_port % 10000)
            self.next_port += 1
            by_port[sport] = i
            segments.append(self._segment(sport, int.from_bytes(os.urandom(4), "big"), size))
        rnd.sent_at = t0 = time.monotonic()
        rnd.deadline = t0 + self.timing.timeout()
        for i, seg in enumerate(segments):
            self._pace(i, t0)
            try:
                self.sock.sendto(seg, (self.target, 0))
                self.probes_sent += 1
            except OSError as e:
                if e.errno != errno.EMSGSIZE:
                    raise NotMeasuredError(f"cannot send to {self.target}: {e.strerror}") from e
                rnd.settle(i, ProbeResult(sizes[i], ProbeOutcome.LOCAL_TOO_BIG), answered=False)
        while rnd.open:
            ready, _, errs = select.select([self.sock], [], [self.sock], rnd.remaining())
            if not ready and not errs:
                continue
            for entry in read_errqueue(self.sock):
                # Raw sockets quote from the transport header: our source port first.
                if entry.too_big(self.family) and len(entry.payload) >= 2:
                    j = by_port.get(struct.unpack_from("!H", entry.payload)[0])
                    if j is not None:
                        if entry.offender:
                            self.too_big_from.add(entry.offender)
                        rnd.settle(j, ProbeResult(sizes[j], ProbeOutcome.TOO_BIG,
                                                  mtu_hint(entry.info, sizes[j], self.family)))
            while True:
                try:
                    data, addr = self.sock.recvfrom(65535)
                except OSError:
                    break
                src, seg = str(addr[0]), data
                if self.family == socket.AF_INET:
                    ip = parse_ip(data)
                    if ip is None:
                        continue
                    src, seg = ip.src, data[ip.header_length:]
                tcp = parse_tcp(seg)
                if tcp is None or src != self.target or tcp.sport != self.port:
                    continue
                j = by_port.get(tcp.dport)
                if j is not None and (tcp.syn or tcp.rst):
                    rnd.settle(j, ProbeResult(sizes[j], ProbeOutcome.DELIVERED))
        return rnd.finish()

