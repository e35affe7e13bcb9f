"""The down direction of leg 1, measured from this end without sending large packets.

Our SYN's MSS option bounds the segments the peer sends us, while our request
stays small: advertise MSS ``M - 40`` (IPv6: ``- 60``) and ask for an answer
larger than a few segments (an HTTP request the proxy answers itself, e.g. its
error page). If the answer arrives whole, the way down carries ``M``-byte
packets; if it stalls, they vanish on the way. Each probe is its own
connection, so a batch runs in parallel; every wait is bounded.
"""

from __future__ import annotations

import socket
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from pathprobe.compat import TIMEOUTS, StrEnum
from pathprobe.probes import kernel
from pathprobe.search import ProbeOutcome, ProbeResult
from pathprobe.wire import overhead

READ_CHUNK = 65536
MAX_ANSWER = 1 << 20      # bytes read at most per probe


class DownOutcome(StrEnum):
    COMPLETE = "complete"      # the whole answer arrived (the peer closed after it)
    STALLED = "stalled"        # the answer started or not, then nothing until the timeout
    SHORT = "short"            # complete, but too small to need segments of the tested size
    REFUSED = "refused"        # no connection


@dataclass(frozen=True)
class DownProbe:
    """One connection advertising a small MSS: what came back."""

    size: int                 # the IP packet size tested (MSS + headers)
    outcome: DownOutcome
    received: int
    largest_packet: int | None   # the largest packet the answer came in (from tcpi_rcv_mss)


def probe_down(family: int, addr: tuple[str, int], size: int, request: bytes,
               timeout: float) -> DownProbe:
    """Advertise the MSS that makes the peer's full segments ``size``-byte packets, send
    ``request`` and read the answer until the peer closes or ``timeout`` passes."""
    mss = overhead.mss_for_mtu(size, family)
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.IPPROTO_TCP, kernel.TCP_MAXSEG, mss)
        sock.settimeout(timeout)
        try:
            sock.connect(addr)
            sock.sendall(request)
        except OSError:
            return DownProbe(size, DownOutcome.REFUSED, 0, None)
        received, deadline, closed = 0, time.monotonic() + timeout, False
        while received < MAX_ANSWER:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            sock.settimeout(left)
            try:
                data = sock.recv(READ_CHUNK)
            except TIMEOUTS:
                break
            except OSError:
                break
            if not data:
                closed = True
                break
            received += len(data)
        info = kernel.tcp_info_or_none(sock)
        largest = None
        if info is not None and info.rcv_mss:
            largest = overhead.mtu_for_payload(info.rcv_mss, family, info.timestamps)
        if not closed:
            return DownProbe(size, DownOutcome.STALLED, received, largest)
        needed = overhead.payload_for_mss(mss, info.timestamps if info else False)
        if received <= needed:
            return DownProbe(size, DownOutcome.SHORT, received, largest)
        return DownProbe(size, DownOutcome.COMPLETE, received, largest)
    finally:
        sock.close()


def as_result(p: DownProbe) -> ProbeResult | None:
    """What a probe proves for the size search; None when it proves nothing."""
    if p.outcome is DownOutcome.COMPLETE:
        # The peer may send smaller segments than we allowed (its own MSS or PMTU):
        # only the packet size that really came is proven.
        size = p.size if p.largest_packet is None else min(p.size, p.largest_packet)
        return ProbeResult(size, ProbeOutcome.DELIVERED)
    if p.outcome is DownOutcome.STALLED:
        return ProbeResult(p.size, ProbeOutcome.LOST)
    return None


class DownProber:
    """Batches of down probes to one TCP service, in parallel."""

    def __init__(self, family: int, addr: tuple[str, int], request: bytes,
                 timeout: float) -> None:
        self.family, self.addr, self.request, self.timeout = family, addr, request, timeout
        self.short = 0      # answers too small to test their size
        self.refused = 0

    def probe(self, sizes: list[int]) -> list[ProbeResult]:
        with ThreadPoolExecutor(max_workers=min(len(sizes), 16) or 1) as pool:
            probes = list(pool.map(lambda n: probe_down(self.family, self.addr, n,
                                                        self.request, self.timeout), sizes))
        out = []
        for p in probes:
            self.short += p.outcome is DownOutcome.SHORT
            self.refused += p.outcome is DownOutcome.REFUSED
            r = as_result(p)
            if r is not None:
                out.append(r)
        return out
