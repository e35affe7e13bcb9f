"""Don't-fragment probes of exact IP sizes: ICMP echo, UDP, TCP (the only socket code of pmtu).

Each prober sends one round of sizes at once and classifies every probe as a
``search.ProbeResult``. All methods use ``IP_PMTUDISC_PROBE`` (DF set, the
kernel's cached PMTU ignored, so an earlier run cannot shrink our probes).

Why stdlib sockets and not scapy for ICMP: importing scapy costs ~0.6-1.5 s
on this class of machine, which alone would blow the 2 s budget of a whole
`pathprobe pmtu` run on a black hole; a raw ICMP socket lets the kernel build
the IP header with DF and still gives us every reply to match by id/seq.

- ``icmp``: raw ICMP socket (root / CAP_NET_RAW) or an unprivileged ping
  socket where ``net.ipv4.ping_group_range`` allows. Echo replies are as big
  as the request, so it measures min(up, down).
- ``udp``: unprivileged; a closed port's port-unreachable proves delivery,
  frag-needed / Packet Too Big arrive on the error queue (``IP_RECVERR``).
  Measures "up" only. Targets rate-limit port unreachable, so rounds are small.
- ``tcp``, ``syn``: in ``probes.l3_tcp``. ``tcp`` is unprivileged; one connection
  per size to a port known open, the payload sized so the segment has the exact
  IP size; the ACK proves delivery. Measures "up" only. ICMP is absorbed by the
  kernel, which records the learned PMTU in its route cache; we read it back
  with ``IP_MTU``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import socket
import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from pathprobe.errors import NotMeasuredError, PermissionNeeded
from pathprobe.probes import kernel
from pathprobe.probes.kernel import ErrQueueEntry, read_errqueue
from pathprobe.search import ProbeOutcome, ProbeResult
from pathprobe.wire import overhead
from pathprobe.wire.headers import internet_checksum, parse_icmp_error, parse_ip

_ECHO = struct.Struct("!BBHHH")  # type, code, checksum, id, seq

ICMP_BURST, ICMP_RATE = 6, 1.0   # Linux icmp_ratelimit defaults (per destination)
MAX_TOKEN_WAIT_S = 3.0
MIN_MTU: dict[int, int] = {socket.AF_INET: 68, socket.AF_INET6: 1280}


@dataclass
class Timing:
    """Round timeouts from the measured RTT, with a floor and a ceiling."""

    floor: float = 0.15
    ceiling: float = 2.0
    first: float = 1.0          # until the first answer tells us the RTT
    srtt: float | None = None

    def observe(self, rtt: float) -> None:
        self.srtt = rtt if self.srtt is None else 0.8 * self.srtt + 0.2 * rtt

    def timeout(self) -> float:
        if self.srtt is None:
            return self.first
        return min(self.ceiling, max(self.floor, 4 * self.srtt + 0.05))


@dataclass
class Prober:
    """Base: one socket family, the rate cap, and the round bookkeeping."""

    target: str
    family: int
    timing: Timing = field(default_factory=Timing)
    rate_pps: float = 2000.0       # rate cap inside a round
    method: str = ""
    measures_down: bool = False    # replies as large as the probe (echo)
    probes_sent: int = 0
    detail: str = ""               # for the report, e.g. "raw ICMP echo socket"
    too_big_from: set[str] = field(default_factory=set)   # routers that sent too-big

    @property
    def max_size(self) -> int:
        """The largest IP size this method can send (TCP: the peer's MSS limits it)."""
        return 65535

    @property
    def ip_header(self) -> int:
        return overhead.ip_header(self.family)

    def _pace(self, i: int, t0: float) -> None:
        due = t0 + i / self.rate_pps
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)

    def probe(self, sizes: Sequence[int]) -> list[ProbeResult]:
        raise NotImplementedError

    def close(self) -> None:
        """Release sockets."""


def set_probe_mode(sock: socket.socket, family: int, recverr: bool) -> None:
    """DF on, cached PMTU ignored; optionally ICMP errors to the error queue."""
    kernel.set_dont_fragment(sock, family, ignore_cached_pmtu=True)
    if recverr:
        kernel.enable_recverr(sock, family)


def mtu_hint(mtu: int, sent: int, family: int) -> int | None:
    """An ICMP MTU is a hint only if it is below what we sent and not below the minimum."""
    return mtu if MIN_MTU[family] <= mtu < sent else None


class Round:
    """Per-round bookkeeping: which probe is which, and when to stop waiting."""

    def __init__(self, sizes: Sequence[int], timing: Timing) -> None:
        self.sizes = list(sizes)
        self.results: list[ProbeResult | None] = [None] * len(sizes)
        self.timing = timing
        self.sent_at = time.monotonic()
        self.deadline = self.sent_at + timing.timeout()

    def settle(self, i: int, result: ProbeResult, answered: bool = True) -> None:
        if self.results[i] is not None:
            return
        self.results[i] = result
        if answered:
            first = self.timing.srtt is None
            self.timing.observe(time.monotonic() - self.sent_at)
            if first:
                self.deadline = self.sent_at + self.timing.timeout()

    @property
    def open(self) -> bool:
        return any(r is None for r in self.results) and time.monotonic() < self.deadline

    def remaining(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def finish(self) -> list[ProbeResult]:
        return [r if r is not None else ProbeResult(s, ProbeOutcome.LOST)
                for s, r in zip(self.sizes, self.results)]


class IcmpProber(Prober):
    """ICMP echo with DF: raw socket when privileged, else a ping socket."""

    def __init__(self, target: str, family: int, *, raw: bool,
                 timing: Timing | None = None) -> None:
        super().__init__(target, family, timing or Timing(), method="icmp", measures_down=True)
        self.raw = raw
        proto = socket.IPPROTO_ICMP if family == socket.AF_INET else socket.IPPROTO_ICMPV6
        kind = socket.SOCK_RAW if raw else socket.SOCK_DGRAM
        try:
            self.sock = socket.socket(family, kind, proto)
        except PermissionError as e:
            if raw:
                # a fact only: each command's hint names its own flags
                raise PermissionNeeded("ICMP probes need root or CAP_NET_RAW") from e
            raise PermissionNeeded(
                "unprivileged ICMP (ping sockets) is disabled here "
                "(net.ipv4.ping_group_range)") from e
        self.sock.setblocking(False)
        with contextlib.suppress(OSError):
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        set_probe_mode(self.sock, family, recverr=not raw)
        self.ident = (os.getpid() ^ int(time.monotonic() * 1000)) & 0xFFFF
        self.seq = int.from_bytes(os.urandom(2), "big")
        self.overhead = self.ip_header + overhead.ICMP_ECHO_HEADER
        if not raw:
            # The kernel chooses the echo id of a ping socket (its local "port").
            self.sock.bind(("0.0.0.0", 0) if family == socket.AF_INET else ("::", 0))
            self.ident = self.sock.getsockname()[1]

    def close(self) -> None:
        self.sock.close()

    def _packet(self, seq: int, size: int) -> bytes:
        v4 = self.family == socket.AF_INET
        payload = (b"pathprobe" * ((size // 9) + 1))[: size - self.overhead]
        head = _ECHO.pack(8 if v4 else 128, 0, 0, self.ident, seq)
        if v4 and self.raw:
            # (raw ICMPv4: the kernel fills the checksum for ICMPv6 and ping sockets)
            head = _ECHO.pack(8, 0, internet_checksum(head + payload), self.ident, seq)
        return head + payload

    def probe(self, sizes: Sequence[int]) -> list[ProbeResult]:
        rnd = Round(sizes, self.timing)
        by_seq: dict[int, int] = {}
        t0 = time.monotonic()
        for i, size in enumerate(sizes):
            self._pace(i, t0)
            self.seq = (self.seq + 1) & 0xFFFF
            by_seq[self.seq] = i
            try:
                self.sock.sendto(self._packet(self.seq, size), (self.target, 0))
                self.probes_sent += 1
            except OSError as e:
                if e.errno != errno.EMSGSIZE:
                    raise NotMeasuredError(f"cannot send ICMP to {self.target}: {e.strerror}") \
                        from e
                rnd.settle(i, ProbeResult(size, ProbeOutcome.LOCAL_TOO_BIG), answered=False)
        rnd.sent_at = t0
        while rnd.open:
            ready, _, errs = select.select([self.sock], [], [self.sock], rnd.remaining())
            if not ready and not errs:
                continue
            if not self.raw:
                for entry in read_errqueue(self.sock):
                    self._on_error(entry, rnd, by_seq)
            while True:
                try:
                    data, addr = self.sock.recvfrom(65535)
                except (BlockingIOError, InterruptedError):
                    break
                except OSError:
                    break  # an error-queue wake-up on a ping socket
                self._on_packet(data, str(addr[0]), rnd, by_seq)
        return rnd.finish()

    def _on_error(self, entry: ErrQueueEntry, rnd: Round, by_seq: dict[int, int]) -> None:
        """Ping socket: frag-needed / PTB from the error queue; payload is our quoted echo."""
        if not entry.too_big(self.family) or len(entry.payload) < 8:
            return
        _t, _c, _s, _ident, seq = _ECHO.unpack_from(entry.payload)
        i = by_seq.get(seq)
        if i is None:
            return
        size = rnd.sizes[i]
        if entry.offender:
            self.too_big_from.add(entry.offender)
        rnd.settle(i, ProbeResult(size, ProbeOutcome.TOO_BIG, mtu_hint(entry.info, size,
                                                                     self.family)))

    def _on_packet(self, data: bytes, src: str, rnd: Round, by_seq: dict[int, int]) -> None:
        icmp = data
        if self.family == socket.AF_INET and self.raw:
            ip = parse_ip(data)
            if ip is None:
                return
            icmp, src = data[ip.header_length:], ip.src
        if len(icmp) < 8:
            return
        etype, _code, _sum, ident, seq = _ECHO.unpack_from(icmp)
        reply = 0 if self.family == socket.AF_INET else 129
        if etype == reply and src == self.target:
            i = by_seq.get(seq)
            if i is not None and (ident == self.ident or not self.raw) \
                    and len(icmp) + self.ip_header == rnd.sizes[i]:
                rnd.settle(i, ProbeResult(rnd.sizes[i], ProbeOutcome.DELIVERED))
            return
        if not self.raw:
            return
        err = parse_icmp_error(icmp, 4 if self.family == socket.AF_INET else 6)
        if err is None or not err.frag_needed or err.quoted_ip is None:
            return
        q = err.quoted_ip
        quoted_echo = icmp[8 + q.header_length: 8 + q.header_length + 8]
        if q.dst != self.target or len(quoted_echo) < 8:
            return
        _t, _c, _s, ident, seq = _ECHO.unpack_from(quoted_echo)
        i = by_seq.get(seq)
        if i is None or ident != self.ident:
            return
        size = rnd.sizes[i]
        if q.total_length != size:  # the quote must be the packet we sent
            return
        hint = mtu_hint(err.mtu, size, self.family) if err.mtu else None
        self.too_big_from.add(src)
        rnd.settle(i, ProbeResult(size, ProbeOutcome.TOO_BIG, hint))

    def trace(self, size: int, max_ttl: int, timeout: float | None = None) -> dict[
            int, tuple[str, str]]:
        """TTL-limited echo probes of one size: {ttl: (who answered, how)}.

        how is "time-exceeded", "too-big" or "reply" (the target). One probe per
        TTL, all sent at once (each router sees one or two: its ICMP rate limit
        is not an issue); a TTL with no answer is absent from the result.
        """
        v4 = self.family == socket.AF_INET
        level, opt = ((socket.IPPROTO_IP, socket.IP_TTL) if v4
                      else (socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS))
        by_seq: dict[int, int] = {}
        for ttl in range(1, max_ttl + 1):
            self.seq = (self.seq + 1) & 0xFFFF
            by_seq[self.seq] = ttl
            self.sock.setsockopt(level, opt, ttl)
            with contextlib.suppress(OSError):
                self.sock.sendto(self._packet(self.seq, size), (self.target, 0))
                self.probes_sent += 1
        self.sock.setsockopt(level, opt, 64)
        found: dict[int, tuple[str, str]] = {}
        deadline = time.monotonic() + (timeout if timeout is not None
                                       else max(0.3, self.timing.timeout()))
        exceeded, too_big = (11, 3) if v4 else (3, 2)
        while time.monotonic() < deadline and len(found) < max_ttl:
            ready, _, errs = select.select([self.sock], [], [self.sock],
                                           max(0.0, deadline - time.monotonic()))
            if not ready and not errs:
                continue
            if not self.raw:
                for e in read_errqueue(self.sock):
                    if len(e.payload) >= 8 and e.offender:
                        hop_ttl = by_seq.get(_ECHO.unpack_from(e.payload)[4])
                        how = ("time-exceeded" if e.type == exceeded else
                               "too-big" if e.too_big(self.family) else "")
                        if hop_ttl and how:
                            found.setdefault(hop_ttl, (e.offender, how))
            while True:
                try:
                    data, addr = self.sock.recvfrom(65535)
                except OSError:
                    break
                src, icmp = str(addr[0]), data
                if v4 and self.raw:
                    ip = parse_ip(data)
                    if ip is None:
                        continue
                    src, icmp = ip.src, data[ip.header_length:]
                if len(icmp) < 8:
                    continue
                etype, _c, _s, ident, seq = _ECHO.unpack_from(icmp)
                if etype == (0 if v4 else 129) and src == self.target:
                    if seq in by_seq and (ident == self.ident or not self.raw):
                        found.setdefault(by_seq[seq], (src, "reply"))
                    continue
                if not self.raw or etype not in (exceeded, too_big):
                    continue
                err = parse_icmp_error(icmp, 4 if v4 else 6)
                if err is None or err.quoted_ip is None:
                    continue
                q = err.quoted_ip
                quoted = icmp[8 + q.header_length: 16 + q.header_length]
                if q.dst != self.target or len(quoted) < 8:
                    continue
                _t, _c, _s, ident, seq = _ECHO.unpack_from(quoted)
                if ident == self.ident and seq in by_seq:
                    found.setdefault(by_seq[seq], (src, "time-exceeded" if etype == exceeded
                                                   else "too-big"))
        return found


class UdpProber(Prober):
    """Unprivileged UDP to a closed port: port unreachable = delivered (up only)."""

    def __init__(self, target: str, family: int, *, port: int = 33434,
                 timing: Timing | None = None) -> None:
        super().__init__(target, family, timing or Timing(), method="udp")
        self.port = port
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.setblocking(False)
        set_probe_mode(self.sock, family, recverr=True)
        self.token = int.from_bytes(os.urandom(4), "big")
        self.overhead = self.ip_header + overhead.UDP_HEADER
        # Our model of the target's port-unreachable budget (Linux: burst 6, then 1/s
        # per destination). Without it, answers after the burst are suppressed and
        # read as losses: slower than waiting for the tokens, and never more exact.
        self.icmp_tokens = float(ICMP_BURST)
        self.icmp_tokens_at = time.monotonic()

    def close(self) -> None:
        self.sock.close()

    def _wait_for_tokens(self, wanted: int) -> None:
        now = time.monotonic()
        self.icmp_tokens = min(float(ICMP_BURST),
                               self.icmp_tokens + (now - self.icmp_tokens_at) * ICMP_RATE)
        self.icmp_tokens_at = now
        missing = min(wanted, ICMP_BURST) - self.icmp_tokens
        if missing > 0:
            time.sleep(min(MAX_TOKEN_WAIT_S, missing / ICMP_RATE))
            self._wait_for_tokens(0)

    def probe(self, sizes: Sequence[int]) -> list[ProbeResult]:
        self._wait_for_tokens(len(sizes))
        rnd = Round(sizes, self.timing)
        by_token: dict[int, int] = {}
        t0 = time.monotonic()
        for i, size in enumerate(sizes):
            self._pace(i, t0)
            self.token = (self.token + 1) & 0xFFFFFFFF
            by_token[self.token] = i
            payload = self.token.to_bytes(4, "big") + b"\0" * (size - self.overhead - 4)
            for _attempt in range(3):
                try:
                    self.sock.sendto(payload, (self.target, self.port))
                    self.probes_sent += 1
                except OSError as e:
                    if e.errno == errno.EMSGSIZE:
                        rnd.settle(i, ProbeResult(size, ProbeOutcome.LOCAL_TOO_BIG),
                                   answered=False)
                    elif e.errno in (errno.ECONNREFUSED, errno.EHOSTUNREACH):
                        # An earlier probe's ICMP error (sk_err) surfaced on this send and
                        # nothing was sent; reporting it cleared it, so send again.
                        continue
                    else:
                        raise NotMeasuredError(
                            f"cannot send UDP to {self.target}: {e.strerror}") from e
                break
        rnd.sent_at = t0
        while rnd.open:
            ready, _, errs = select.select([self.sock], [], [self.sock], rnd.remaining())
            if not ready and not errs:
                continue
            for entry in read_errqueue(self.sock):
                if len(entry.payload) < 4:
                    continue
                j = by_token.get(int.from_bytes(entry.payload[:4], "big"))
                if j is None:
                    continue
                size = rnd.sizes[j]
                if entry.port_unreachable(self.family) and entry.offender == self.target:
                    rnd.settle(j, ProbeResult(size, ProbeOutcome.DELIVERED))
                elif entry.too_big(self.family):
                    if entry.offender:
                        self.too_big_from.add(entry.offender)
                    rnd.settle(j, ProbeResult(size, ProbeOutcome.TOO_BIG,
                                              mtu_hint(entry.info, size, self.family)))
            with contextlib.suppress(OSError):
                while self.sock.recv(65535, socket.MSG_DONTWAIT):
                    pass  # something answered on the port: ignore data, errors are above
        # Conservative: every probe may have cost the target a token (a suppressed
        # answer looks exactly like a loss, so we cannot count only the answers).
        self.icmp_tokens = max(0.0, self.icmp_tokens - len(sizes))
        return rnd.finish()
