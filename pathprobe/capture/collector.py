"""Which connections to show and what each is: the consumer of finished connections.

``Collector`` receives every connection the tracker finishes, gives it a role (client
to proxy, proxy to upstream joined to the request it serves, or direct), applies the
``Filters`` of --host/--port/--proxy, judges it by the rules of
``pathprobe.capture.rules`` and keeps bounded tables: memory stays flat whatever the
size of the capture.
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from pathprobe.capture.conn import DOWN, UP, Conn, Side
from pathprobe.capture.finding import ev
from pathprobe.capture.framing import Gap, gap_of, uncaptured
from pathprobe.capture.report import Merger, conn_row
from pathprobe.capture.rules import PathContext, conn_findings, synack_ignored
from pathprobe.capture.stall import closed_window, cut_off, unresent_one_way
from pathprobe.capture.timeline import first_pause
from pathprobe.capture.tracker import Request, Tracker
from pathprobe.facts.capture import CaptureFact
from pathprobe.model import Leg, LegReport, VerdictCode
from pathprobe.wire.hostport import host_port, parse_host


@dataclass(frozen=True)
class Filters:
    """Which connections to show: all by default; --host/--port/--proxy narrow the view."""

    hosts: frozenset[str] = frozenset()
    ports: frozenset[int] = frozenset()
    proxy_host: str | None = None
    proxy_port: int | None = None

    @property
    def explicit(self) -> bool:
        return bool(self.hosts or self.ports or self.proxy_host)

    def wants(self, c: Conn, leg: Leg) -> bool:
        host_ok = not self.hosts or c.client in self.hosts or c.server in self.hosts
        port_ok = not self.ports or c.cport in self.ports or c.sport in self.ports
        proxy_ok = (self.proxy_host is None or self.is_proxy(c) or c.client == self.proxy_host
                    or leg is Leg.PROXY_UPSTREAM)
        return host_ok and port_ok and proxy_ok

    def is_proxy(self, c: Conn) -> bool:
        if self.proxy_host is None or c.server != self.proxy_host:
            return False
        return self.proxy_port is None or c.sport == self.proxy_port


LOSSY_MIN = 100_000      # bytes a transfer carries before its share resent says something
LOSSY_SHARE = 0.02       # ... and the share of them sent again that slows it down
JOIN_S = 30.0          # a proxy opens its upstream connection this soon after the request
REFUSED_MAX = 10000    # failed handshakes held back until the end (to compare with successes)
SENDERS_MAX = 1000     # distinct senders of unanswered SYNs counted
CONNECTED_MAX = 65536  # servers whose successful handshakes are counted
# A client refused on one address of a name tries the next one at once (getaddrinfo's
# order); Happy Eyeballs (RFC 8305 5) starts the other IP version 100 ms to 2 s into a
# silent attempt (250 ms recommended; curl 200, Chrome 300). Anything else is a scanner's
# next probe, a user's retry or a browser's other tabs, not a fallback.
FALLBACK_S = 0.1
HAPPY_EYEBALLS_S = (0.1, 2.0)


@functools.lru_cache(maxsize=4096)   # a proxy capture names the same targets again and again
def _split_target(target: str) -> tuple[str, int]:
    """Host and port of a CONNECT target read from the capture (0: none readable)."""
    try:
        host, port = parse_host(target)
    except ValueError:
        return target.lower(), 0
    return host.lower(), port or 0


def _host_only(name: str) -> str:
    """The host of an SNI or a Host header (which may carry a port, or be [v6]:port)."""
    try:
        return parse_host(name)[0].lower()
    except ValueError:
        return name.lower()


def _join(c: Conn, requests: Sequence[Request], proxy_addrs: Mapping[str, None]
          ) -> Request | None:
    """The proxied request this connection serves upstream (a capture on the proxy): one
    made shortly before it starts, for the same port and the host it names (SNI, Host),
    or, without a name, to the same address or from the proxy's own address."""
    name = _host_only(c.server_name)
    for r in reversed(requests):
        ts, _frame, client, _cport, proxy, _pport, target = r
        if ts > c.first_ts + 0.001:
            continue
        if ts < c.first_ts - JOIN_S:
            break
        host, port = _split_target(target)
        if port != c.sport or c.client == client or c.server == proxy:
            continue
        if name:
            if name == host:
                return r
        elif host == c.server or c.client == proxy or c.client in proxy_addrs:
            return r
    return None


def _silent(s: Side) -> bool:
    """Not one packet from this side in the capture (every packet but a SYN sets
    ``last_seq``: ACKs, FINs and resets too)."""
    return s.last_seq is None and s.syn_frame is None


class Collector:
    """Receives each finished connection: role, filter, judge, merge, keep a bounded table.

    Connections are judged as soon as they end, so memory holds the open
    connections, one finding per verdict group and at most ``max_rows`` rows of
    each kind (problem, healthy), whatever the size of the capture. Failed
    handshakes alone wait for the end (bounded), to be weighed against the
    successful ones to the same server.
    """

    def __init__(self, filters: Filters, stall_s: float, max_rows: int) -> None:
        self.filters = filters
        self.stall_s = stall_s
        self.max_rows = max_rows
        self.merger = Merger()
        self.problem_rows: list[tuple[int, LegReport]] = []
        self.healthy_rows: list[tuple[int, LegReport]] = []
        self.seen = 0
        self.chosen = 0
        self.two_way = 0          # ... of them with packets from both ends (a path measured)
        self.legs: set[Leg] = set()
        self.targets: dict[Leg, str] = {}   # leg -> an address on it (IPv4/IPv6 overheads)
        self.tracker: Tracker | None = None
        self.refused: list[Conn] = []
        self.syn_senders: dict[str, None] = {}   # clients whose SYNs got nothing back
        self.any_two_way = False   # a connection with packets from both ends (any, filtered)
        # handshakes completed per (server, port) and per pair of hosts
        self.connected: dict[tuple[str, str], int] = {}
        # successful handshakes per server port: (first SYN, server, client, IP version)
        self.started: dict[int, list[tuple[float, str, str, int]]] = {}
        self.started_count = 0
        self.crossed: dict[tuple[str, str], int] = {}    # (client, server) -> payload
        self.hellos: dict[tuple[str, str], int] = {}     # (client, server) -> hello answered
        self.proxy_addrs: dict[str, None] = {}           # the proxy's upstream-side addresses
        self.joined = 0
        self.loss = [0, 0]                                # connections, bytes
        # Does the capture lack packets it is known to lack (text rows that fit several
        # connections)? Asked as connections are judged; the reader knows.
        self.packets_left_out: Callable[[], bool] = lambda: False
        self.unproven = [0, 0]    # gaps without the receiver's word: connections, bytes
        self.one_way = 0          # connections whose capture holds one side's packets only
        self.unresent = 0         # ... proven by data never resent (stall.unresent_one_way)
        self.cut_off = 0          # connections that went on beyond the capture (stall.cut_off)
        self.zero_windows = 0     # connections whose receiver ended with its window closed
        self.worst_zero: tuple[float, str, str] | None = None   # (s, receiver, sender)
        # connections without a finding that resent much of what they carried, and the worst:
        # (share resent, sender, bytes resent, bytes carried)
        self.lossy = 0
        self.worst_loss: tuple[float, str, int, int] | None = None
        self.peer_silent = 0      # ... healthy-looking, with data resent to a peer never seen

    def role(self, c: Conn) -> tuple[Leg, Request | None]:
        """Client to proxy, proxy to upstream (joined to its request), or direct."""
        t = self.tracker
        if c.exchanges or self.filters.is_proxy(c) or (
                t is not None and (c.server, c.sport) in t.proxies):
            return Leg.FMC_PROXY, None
        if t is not None and t.requests:
            r = _join(c, t.requests, self.proxy_addrs)
            if r is not None:
                return Leg.PROXY_UPSTREAM, r
        return Leg.FMC_UPSTREAM, None

    def __call__(self, c: Conn) -> None:
        self.seen += 1
        if c.down.syn_frame is not None and not synack_ignored(c):
            pair = (min(c.client, c.server), max(c.client, c.server))
            for key in ((c.server, str(c.sport)), pair):
                if key in self.connected or len(self.connected) < CONNECTED_MAX:
                    self.connected[key] = self.connected.get(key, 0) + 1
            if self.started_count < CONNECTED_MAX:
                self.started_count += 1
                self.started.setdefault(c.sport, []).append(
                    (c.first_ts, c.server, c.client, c.family))
        elif c.up.syn_frame is not None:
            if _silent(c.down) and len(self.syn_senders) < SENDERS_MAX:
                self.syn_senders.setdefault(c.client, None)
            if len(self.refused) < REFUSED_MAX:
                self.refused.append(c)      # judged in close(), against the successes
                return
        if not self.any_two_way:
            self.any_two_way = not _silent(c.up) and not _silent(c.down)
        self.judge(c)

    def close(self) -> None:
        """Judge the held-back failed handshakes, now that all successes are counted; then
        weigh the unanswered SYNs against the shape of the whole capture."""
        for started in self.started.values():
            started.sort()
        for c in self.refused:
            self.any_two_way = self.any_two_way or not _silent(c.down)
            self.judge(c)
        self.refused.clear()
        if not self.any_two_way and len(self.syn_senders) > 1:
            # Unanswered SYNs from many hosts, and nothing ever seen coming back: the
            # capture may hold one direction only (or a flood): not a proven unreachable.
            self.merger.doubt(VerdictCode.PROXY_UNREACHABLE, CaptureFact.SYN_UNANSWERED,
                              ev(CaptureFact.SYNS_ONE_WAY, senders=len(self.syn_senders),
                                 more=int(len(self.syn_senders) >= SENDERS_MAX)))

    def judge(self, c: Conn) -> None:
        leg, request = self.role(c)
        if not self.filters.wants(c, leg):
            return
        self.chosen += 1
        if not _silent(c.up) and not _silent(c.down):
            self.two_way += 1
        tracker = self.tracker
        capture_end = tracker.capture_end if tracker is not None else c.last_ts
        if c.evicted_at is not None:   # judged while open (idle, a full table, a snippet's
            capture_end = c.evicted_at  # end), perhaps held back: watched until then only
        pause = first_pause(tracker.pauses, c.last_frame, None) if tracker is not None else None
        if pause is not None:   # (merged pieces: its waits end there, not years later)
            c.paused = (pause[0], pause[2])
            capture_end, c.evicted_at = pause[2], None   # (an eviction across it: no wait)
        if tracker is not None and tracker.fragments:
            for key in ((c.client, c.server), (c.server, c.client)):
                frag = tracker.fragments.get(key)
                if frag is not None:
                    c.fragments += frag[0]
        if request is not None:
            self.joined += 1
            self.proxy_addrs.setdefault(c.client, None)
        path = (c.client, c.server)
        same_port = self.connected.get((c.server, str(c.sport)), 0)
        pair = self.connected.get((min(c.client, c.server), max(c.client, c.server)), 0)
        fallback = self._fallback(c) if c.down.syn_frame is None or synack_ignored(c) \
            else None
        ctx = PathContext(others_connected=same_port or pair, same_port=bool(same_port),
                          fallback=fallback,
                          full_crossed=self.crossed.get(path, 0),
                          hello_answered=self.hellos.get(path, 0),
                          pauses=tracker.pauses if tracker is not None else (),
                          packets_left_out=self.packets_left_out())
        findings = conn_findings(c, capture_end, leg, self.stall_s, ctx)
        if not findings and (c.server_hello is not None or c.down.bytes):
            self.crossed[path] = max(self.crossed.get(path, 0), c.up.max_delivered_payload)
        if c.server_hello is not None and c.hello_record:
            self.hellos[path] = max(self.hellos.get(path, 0), c.hello_record)
        if not findings and any(s.retransmits and s.acked <= 0 and _silent(o)
                                for s, o in ((c.up, c.down), (c.down, c.up))):
            self.peer_silent += 1
        if not findings and (c.up.retx_bytes or c.down.retx_bytes):
            self._loss(c)
        one_way = self.one_way
        for side in (c.up, c.down):
            hole, gap = side.hole, gap_of(side)
            if hole is not None and gap in (Gap.CAPTURE_LOSS, Gap.UNPROVEN):
                count = self.loss if gap is Gap.CAPTURE_LOSS else self.unproven
                count[0] += 1
                count[1] += hole[1] - hole[0]
                continue
            missed = uncaptured(side)              # acknowledged past all it showed
            if missed and side.last_seq is None:   # not one packet of its own: one way
                self.one_way += 1
            elif missed:
                self.loss[0] += 1
                self.loss[1] += missed
        watched = c.seen_until(capture_end)
        if not findings and one_way == self.one_way and unresent_one_way(
                c, watched - c.last_data_ts):
            self.unresent += 1
        elif cut_off(c, watched - c.last_data_ts):   # (whatever else it shows)
            self.cut_off += 1
        closed = closed_window(c, watched)
        if closed is not None:   # (whatever else it shows: an MSS clamp)
            self._zero_window(c, closed, watched)
        self.targets.setdefault(leg, host_port(c.server, c.sport))
        if c.exchanges and c.exchanges[-1].method == "CONNECT":
            self.targets.setdefault(Leg.PROXY_UPSTREAM, c.exchanges[-1].target)
        for f in findings:
            self.merger.add(f)
        rows = self.problem_rows if findings else self.healthy_rows
        if not self.max_rows or len(rows) < self.max_rows:
            row = conn_row(c, findings, leg, request[2:4] if request is not None else None)
            rows.append((c.index, row))
            self.legs.add(row.name)

    def _zero_window(self, c: Conn, d: int, watched: float) -> None:
        """Count a connection whose receiver of ``d`` ended with its window closed; keep
        the longest."""
        self.zero_windows += 1
        receiver = c.side(1 - d)
        seconds = max(0.0, watched - receiver.zero_since)
        if self.worst_zero is None or seconds > self.worst_zero[0]:
            self.worst_zero = (seconds, c.endpoint(1 - d), c.endpoint(d))

    def _loss(self, c: Conn) -> None:
        """Count a connection that resent LOSSY_SHARE or more of a transfer of at least
        LOSSY_MIN bytes: loss slows it down, though everything arrived in the end."""
        for d in (UP, DOWN):
            s = c.side(d)
            if s.bytes < LOSSY_MIN:
                continue
            share = s.retx_bytes / (s.bytes + s.retx_bytes)
            if share >= LOSSY_SHARE:
                self.lossy += 1
                if self.worst_loss is None or share > self.worst_loss[0]:
                    self.worst_loss = (share, c.endpoint(d), s.retx_bytes, s.bytes)
                return

    def _fallback(self, c: Conn) -> tuple[str, str, float] | None:
        """The first successful handshake to the same port on another address that the
        same client began within FALLBACK_S after this attempt's refusal, or, for a silent
        attempt, in the other IP version within HAPPY_EYEBALLS_S of its SYN (another IP
        version counts as the same client: its address differs); with that client and its
        start after this one's (s): a client trying the next address of a name."""
        refused = c.synack_rst is not None
        low, high = ((c.first_ts, c.last_ts + FALLBACK_S) if refused else
                     (c.first_ts + HAPPY_EYEBALLS_S[0], c.first_ts + HAPPY_EYEBALLS_S[1]))
        started = self.started.get(c.sport, [])
        for ts, server, client, family in started[bisect.bisect_left(started, (low,)):]:
            if ts > high:
                break
            if server != c.server and (family != c.family or (refused and client == c.client)):
                return server, client, ts - c.first_ts
        return None

    def leg_between(self, src: str, dst: str) -> Leg:
        """The leg a (non-TCP) packet from ``src`` to ``dst`` travels, by known roles."""
        t = self.tracker
        proxies = {a for a, _p in t.proxies} if t is not None else set()
        if dst in proxies or self.filters.proxy_host == dst:
            return Leg.FMC_PROXY
        if src in proxies or src in self.proxy_addrs or self.filters.proxy_host == src:
            return Leg.PROXY_UPSTREAM
        return Leg.FMC_UPSTREAM
