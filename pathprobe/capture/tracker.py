"""Per-connection TCP state built from parsed headers: pure, no I/O.

The tracker is fed one packet at a time (already parsed by
``pathprobe.wire.headers``) and keeps only counters, a few frame numbers as
evidence and a bounded window of unacknowledged segments per direction, so
memory grows with the number of connections, never with the number of packets.
"""

from __future__ import annotations

import heapq
import socket
from collections import deque
from collections.abc import Callable

from pathprobe.capture.conn import (
    DOWN,
    HALF,
    LARGE_PAYLOAD,
    LINK_MIN_MTU,
    MASK,
    UP,
    Conn,
    Exchange,
    Key,
    Side,
    key_parts,
    pack_key,
    shed_order,
    syn_only,
)
from pathprobe.capture.duplicate import DUPLICATE_S, RecentFrames
from pathprobe.capture.framing import (
    RECORD_LOST,
    RECORD_TYPES,
    follow_records,
    longest_gap,
    record_opened,
)
from pathprobe.capture.httpsniff import (
    AUTH_RE,
    HAS_AUTHZ,
    HEAD_MAX,
    HOST_RE,
    ORIGIN_RE,
    STATUS_RE,
    proxy_request,
)
from pathprobe.capture.inflight import delivered, new_inflight, note_big_retx, replace_inflight
from pathprobe.capture.timeline import Pause
from pathprobe.wire.headers import (
    TCP_ACK,
    TCP_FIN,
    TCP_RST,
    TCP_SYN,
    IpHeader,
    TcpOptions,
)
from pathprobe.wire.tls import sniff_client_hello, sniff_server_version

EVICT_IDLE_S = 300.0      # a connection silent this long (capture time) is judged as it is
RETIRED_MAX = 4096        # closed connections whose stragglers are recognised
MAX_CONNECTIONS = 50_000  # open connections tracked at once (~2 KB each); see Tracker.shed
RST_AFTER_LARGE_S = 2.0   # a reset this soon after an unacknowledged large segment answers it
REORDER_S = 0.003         # a hole filled this soon was reordered: a resend takes a round trip
LISTENERS_MAX = 65536     # (address, port) pairs remembered as answering SYNs

SNIFF_PHASES = ("start", "request", "response")
PAYLOAD_PEEK = 1024       # payload bytes looked at for CONNECT / HTTP / TLS recognition

# A proxied request, to join the proxy's own connection upstream (leg 2) in a capture on the
# proxy: (ts, frame, client address, client port, proxy address, proxy port, "host:port")
Request = tuple[float, int, str, int, str, int, str]
REQUESTS_MAX = 4096


# A connection table entry: (connection, direction, sending Side, the other Side)
Entry = tuple[Conn, int, Side, Side]


class Tracker:
    """Feeds packets into connections; call ``finish()`` to get them all."""

    def __init__(self, on_done: Callable[[Conn], None] | None = None,
                 max_connections: int = MAX_CONNECTIONS) -> None:
        # key -> (connection, direction of packets with this key, their sender's Side, the
        # other Side): the reading loop unpacks it without a lookup of which side is which
        self.table: dict[Key, Entry] = {}
        self.max_connections = max_connections
        self.shed_total = 0       # connections judged early because the table was full
        self.shed_syn_only = 0    # ... of which had sent only a SYN
        self.done: list[Conn] = []
        # Called with each connection once it is over (FIN both ways, RST, end of capture);
        # the default keeps them in ``done``; a streaming consumer's holds only open ones.
        self.on_done: Callable[[Conn], None] = on_done or self.done.append
        # Recently closed connections: their stray packets must not start new ones.
        self.retired: dict[Key, None] = {}
        self.count = 0
        self.capture_end = 0.0   # time of the last packet; the reading loop sets it
        self.requests: deque[Request] = deque(maxlen=REQUESTS_MAX)  # recent proxied requests
        self.proxies: dict[tuple[str, int], None] = {}   # (address, port) sent such requests
        # (packed address, port) seen answering a SYN: a listener, so the server side of a
        # connection whose start the capture missed.
        self.listening: set[tuple[bytes, int]] = set()
        self.pauses: tuple[Pause, ...] = ()     # where the capture went quiet (timeline)
        self.fragments: dict[tuple[str, str], list[int]] = {}   # (src,dst) -> [count, first]
        self.strays = 0   # TCP packets of no connection: no data, no SYN, start never seen
        self.header_cut = [0, 0]   # TCP packets whose TCP header is cut short: [count, first]
        self.unread_cut = 0   # connections whose first words went unread (_unread) ...
        self.unread_first: tuple[int, int, int, Conn] | None = None   # (frame, kept, length, c)
        # IPv4 packets of total length 0, read at their captured length (TSO): [count, first]
        self.offloaded = [0, 0]
        self.other_hosts = 0   # TCP packets left out by --host (neither address is one)
        self.recent = RecentFrames()   # the frames read last: copies are no resends

    def _new(self, frame: int, ts: float, family: int, key: Key, client_is_src: bool,
             saw_syn: bool) -> Conn:
        src, dst, sport, dport = key_parts(key)
        af = socket.AF_INET6 if family == 6 else socket.AF_INET
        a, b = socket.inet_ntop(af, src), socket.inet_ntop(af, dst)
        back = pack_key(dst, src, dport, sport)
        if client_is_src:
            c = Conn(self.count, family, a, sport, b, dport, frame, ts, saw_syn)
            up_key, down_key = key, back
        else:
            c = Conn(self.count, family, b, dport, a, sport, frame, ts, saw_syn)
            up_key, down_key = back, key
        c.keys = (up_key, down_key)
        if len(self.table) >= 2 * self.max_connections:
            self.shed(ts)
        self.count += 1
        self.table[up_key] = (c, UP, c.up, c.down)
        self.table[down_key] = (c, DOWN, c.down, c.up)
        return c

    def _src_is_client(self, key: Key, data: bytes, payload_off: int) -> bool:
        """Who is the client of a connection first seen mid-stream: the side that is not a
        known listener, that sends a request (not an answer), else the higher port."""
        src, dst, sport, dport = key_parts(key)
        if (dst, dport) in self.listening:
            return True
        if (src, sport) in self.listening:
            return False
        head = data[payload_off:payload_off + 8]
        if head.startswith(b"HTTP/1."):
            return False
        if proxy_request(data[payload_off:payload_off + PAYLOAD_PEEK]) is not None \
                or ORIGIN_RE.match(data[payload_off:payload_off + 256]):
            return True
        if (sport < 1024) != (dport < 1024):
            return dport < 1024
        return sport >= dport

    def _retire(self, c: Conn) -> None:
        k1, k2 = c.keys
        self.table.pop(k1, None)
        self.table.pop(k2, None)
        self.on_done(c)
        self.retired[k1] = self.retired[k2] = None
        if len(self.retired) > RETIRED_MAX:
            for key in list(self.retired)[:RETIRED_MAX // 2]:
                del self.retired[key]

    def evict(self, now: float, idle_s: float = EVICT_IDLE_S) -> None:
        """Judge connections silent for ``idle_s`` (capture time) so memory stays bounded."""
        stale: dict[int, Conn] = {}
        limit = now - idle_s
        for c, _d, _s, _o in self.table.values():
            if c.last_ts < limit:
                stale[c.index] = c
        for index in sorted(stale):
            c = stale[index]
            c.evicted_at = now
            self._retire(c)

    def end_observation(self, now: float) -> None:
        """What is open was seen until ``now`` and no further (a pasted snippet ended):
        judge it as it stands, so a later snippet's time never counts as its silence."""
        self.evict(now, idle_s=-1.0)

    def shed(self, now: float) -> None:
        """The table is full: judge a quarter of it early, least useful and idlest first.

        Order: connections that only sent a SYN, then finished ones (a FIN seen), then
        the rest, each by last activity (LRU). A quarter at a time, so the scan over the
        table is paid once per ``max_connections / 4`` new connections; memory stays
        bounded whatever the capture holds (e.g. a SYN flood)."""
        conns = [e[0] for e in self.table.values() if e[1] == UP]
        target = len(conns) - max(1, self.max_connections // 4)
        if target < 0:
            return
        victims = heapq.nsmallest(len(conns) - target, conns, key=shed_order)
        for c in sorted(victims, key=lambda c: c.index):
            if syn_only(c):
                self.shed_syn_only += 1
            self.shed_total += 1
            c.evicted_at = now
            self._retire(c)

    def finish(self) -> list[Conn]:
        """Hand over the connections still open; returns ``done`` in order of appearance."""
        still_open = {c.index: c for c, _d, _s, _o in self.table.values()}
        self.table.clear()
        for index in sorted(still_open):
            self.on_done(still_open[index])
        self.done.sort(key=lambda c: c.index)
        return self.done

    def tcp(self, frame: int, ts: float, family: int, key: Key, seq: int, ack: int,
            flags: int, ip_len: int, payload_len: int, data: bytes = b"",
            payload_off: int = 0, options: TcpOptions | None = None,
            window: int | None = None) -> None:
        """One TCP segment of the connection ``key`` (``conn.pack_key``; ``options``
        needed for SYNs only; ``window`` the receive window it advertises, when known).

        The captured payload is ``data[payload_off:]``; it is only sliced (at most
        PAYLOAD_PEEK bytes) while the connection waits for a CONNECT, an HTTP answer
        or a TLS hello, so bulk data is never copied.
        """
        entry = self.table.get(key)
        if entry is not None and not flags & 0x07:   # the common case: no SYN, FIN or RST
            c, d, s, _o = entry
            c.last_frame = frame
            c.last_ts = ts
            s.last_seq = seq
            s.advertised(window, ts)
            if flags & TCP_ACK:
                self._ack(c, d, ack, frame)
            if payload_len:
                self._data(c, d, s, frame, ts, seq, payload_len, ip_len, data, payload_off)
            return
        if flags & TCP_SYN:
            self._syn(entry, frame, ts, family, key, seq, ack, flags, options)
            return
        if entry is None:
            if not payload_len or key in self.retired:
                # An ACK, FIN or RST of a connection we never saw start, or a straggler
                # of one that just closed.
                self.strays += 1
                return
            # Mid-stream start: the capture is analysed from here, with the roles inferred.
            client_is_src = self._src_is_client(key, data, payload_off)
            c = self._new(frame, ts, family, key, client_is_src, False)
            d = UP if client_is_src else DOWN
        else:
            c, d = entry[0], entry[1]
        c.last_frame, c.last_ts = frame, ts
        s = c.down if d else c.up
        if s.isn is None:
            s.isn = (seq - 1) & MASK
            s.next_seq = 1
        s.last_seq = seq
        s.advertised(None if flags & TCP_RST else window, ts)   # (a reset's means nothing)
        # (before a reset: its ACK may cover the segment it answers; but not a reset's ACK
        # of a peer never seen: a client abandoning its unanswered SYN may send ACK 0)
        if flags & TCP_ACK and not (flags & TCP_RST and c.side(1 - d).isn is None):
            self._ack(c, d, ack, frame)
        if flags & TCP_RST:
            s.close_seen(seq)
            self._rst(c, d, frame, ts)
            return
        if payload_len:
            self._data(c, d, s, frame, ts, seq, payload_len, ip_len, data, payload_off)
        if flags & TCP_FIN:
            s.close_seen(seq + payload_len)
            if s.fin_frame is None:
                s.fin_frame = frame
                if c.end is None:
                    c.end = ("client FIN" if d == UP else "server FIN", frame, ts)
            if c.up.fin_frame is not None and c.down.fin_frame is not None:
                self._retire(c)

    def _syn(self, entry: Entry | None, frame: int, ts: float, family: int, key: Key,
             seq: int, ack: int, flags: int, options: TcpOptions | None) -> None:
        """A SYN (a new connection, or the same SYN again) or a SYN-ACK."""
        if not flags & TCP_ACK:
            if entry is not None:
                c, d = entry[0], entry[1]
                if d == UP and c.up.isn == seq:   # the same SYN again (or its copy)
                    if self.recent.copy_of(c.last_frame, frame) or self.recent.copy_nearby(frame):
                        return
                    c.up.syn_count += 1
                    c.last_frame, c.last_ts = frame, ts
                    if c.down.syn_frame is not None and c.syn_after_synack is None:
                        c.syn_after_synack = frame   # (the client did not take the SYN-ACK)
                    return
                self._retire(c)
            c = self._new(frame, ts, family, key, True, True)
            d = UP
        elif entry is None:
            c = self._new(frame, ts, family, key, False, False)
            d = DOWN
        else:
            c, d = entry[0], entry[1]
        if flags & TCP_ACK and len(self.listening) < LISTENERS_MAX:
            src, _dst, sport, _dport = key_parts(key)
            self.listening.add((src, sport))
        s = c.down if d else c.up
        if s.syn_frame is None:
            s.isn = seq
            s.next_seq = 1
            s.syn_frame = frame
            if options is not None:
                s.mss, s.wscale, s.sack = options.mss, options.wscale, options.sack_permitted
                s.timestamps = options.timestamps is not None
        elif seq != s.isn:
            s.isn_other = seq
        elif self.recent.copy_of(c.last_frame, frame) or self.recent.copy_nearby(frame):
            return
        s.syn_count += 1
        c.last_frame, c.last_ts = frame, ts
        if flags & TCP_ACK:
            self._ack(c, d, ack, frame)

    def _ack(self, c: Conn, d: int, ack: int, frame: int) -> None:
        o = c.up if d else c.down   # the bytes this ACK acknowledges
        if o.isn is None:
            o.isn = (ack - 1) & MASK
            o.next_seq = 1
        nxt = o.next_seq
        delta = (ack - o.isn - nxt) & MASK      # o.rel(ack), inlined: this runs per packet
        rel = nxt + delta - (1 << 32) if delta >= HALF else nxt + delta
        # (a repeated ACK captured twice is no word of the receiver's: duplicate.py; its
        # copy is of the last ACK that gave the same number)
        if o.hole is not None and rel == o.hole[0] and not self.recent.copy_of(o.ack_frame, frame):
            o.hole_acks += 1
        if rel <= o.acked:
            if rel == o.acked and o.next_seq > rel and not self.recent.copy_of(o.ack_frame, frame):
                o.dup_acks += 1
                o.ack_frame = frame
            return
        o.acked = rel
        o.ack_frame = frame
        delivered(o, rel)

    def _data(self, c: Conn, d: int, s: Side, frame: int, ts: float, seq: int, length: int,
              ip_len: int, data: bytes, payload_off: int) -> None:
        isn = s.isn
        if isn is None:                         # a side first seen mid-stream, with data
            isn = s.isn = (seq - 1) & MASK
            s.next_seq = 1
        nxt = s.next_seq
        delta = (seq - isn - nxt) & MASK        # s.rel(seq), inlined: this runs per segment
        start = nxt + delta - (1 << 32) if delta >= HALF else nxt + delta
        if start != nxt and nxt == 1 and not s.bytes and s.syn_count > 1:
            start = s.renumbered(seq, start)
        end = start + length
        last, gap = c.last_data_frame, ts - c.last_data_ts
        if end <= nxt and self._copy(s, frame, end, nxt, gap, last):
            return   # the same packet captured twice (duplicate.py): no resend
        if length > s.max_payload:
            s.max_payload, s.max_ip_len = length, max(ip_len, s.max_ip_len)
        if last:
            if gap > c.max_gap_s:
                longest_gap(c, gap, last, frame, record_opened(c, d, s, start, data, payload_off))
            c.after_gap += length
        c.last_data_frame, c.last_data_ts = frame, ts
        if length > LARGE_PAYLOAD and (c.last_big_dir != d or c.last_data_dir != d):
            # the other side's turn starts over (a session ticket is no answer to an upload)
            c.last_big_dir = d
            o = c.down if d == UP else c.up
            o.turn_start = o.next_seq
        elif length <= LARGE_PAYLOAD and d == DOWN and c.up.acked >= c.up.next_seq \
                and not c.exchanges:
            c.up.turn_start = c.up.next_seq   # a server's short answer, once it had it all
        if c.last_data_dir != d:   # the other side speaks: how soon, where (stall.echoed)
            c.last_data_dir, c.turn = d, (frame, gap, start)
        hole = s.hole
        if hole is not None and start <= hole[0] < end:
            s.hole = None
            if start == hole[0] and end <= nxt and self._late(  # not seen before, sent before
                    c, d, s, frame, ts, hole[3], start, length, data, payload_off):
                return
        if end <= nxt:   # everything in it was seen before: a retransmission
            s.retransmits += 1
            s.retx_bytes += length
            s.retx_end, s.retx_ts, s.retx_wait = end, ts, gap if last else 0.0
            if end > s.acked:
                seg = (start, end, length, ip_len, frame, ts)
                replace_inflight(s, seg, length > s.max_delivered_payload)
                if length > LARGE_PAYLOAD or not s.max_delivered_payload:
                    note_big_retx(s, seg)   # (any size while nothing got through)
            if d == UP and c.phase == "response" and c.exchanges:
                c.exchanges[-1].retransmits += 1
            return
        if start > nxt and s.hole is None:
            s.hole, s.hole_acks = (nxt, start, frame, ts), 0
        fresh = start >= nxt
        s.next_seq = end
        s.bytes += length
        if length > s.max_delivered_payload:
            # Only a segment larger than any delivered so far can teach us something
            # (a new largest delivered size, or the large segment a RST answers); in a
            # bulk transfer that keeps the queue empty once full-size segments got through.
            q = s.inflight
            if q is None:   # created on the first segment worth remembering (memory)
                q = s.inflight = new_inflight()
            q.append((start, end, length, ip_len, frame, ts))
        phase = c.phase
        if phase == "tunnel":
            if d == UP:
                c.tunnel_up += length
            else:
                c.tunnel_down += length
            # (a tunnel's content is looked at only for the hello its sender owes)
            if fresh and (c.client_hello if d == UP else c.server_hello) is None:
                payload = data[payload_off:payload_off + PAYLOAD_PEEK]
                if payload:
                    self._content(c, d, frame, ts, start, length, payload)
        elif fresh and phase in SNIFF_PHASES and (d == UP or phase != "request"):
            self._first_words(c, d, frame, ts, start, start - nxt, length, data, payload_off)
        rec = s.rec_next   # (framing lost: only a segment starting like a record may resync)
        if rec is not None and rec < end and (
                rec >= 0 or data[payload_off:payload_off + 1] in RECORD_TYPES):
            follow_records(s, frame, start, end, data, payload_off)

    def _copy(self, s: Side, frame: int, end: int, nxt: int, gap: float, last: int) -> bool:
        """Data seen before, within DUPLICATE_S of the connection's last data (its first can
        be no earlier): a copy of that frame when it ended where this one does (the highest
        byte seen, or the last resend's end), else of a frame just before (a burst)."""
        if gap > DUPLICATE_S:
            return False
        return (end in (nxt, s.retx_end) and self.recent.copy_of(last, frame)) \
            or self.recent.copy_once_seen(frame)

    def _late(self, c: Conn, d: int, s: Side, frame: int, ts: float, since: float,
              start: int, length: int, data: bytes, payload_off: int) -> bool:
        """Bytes seen after those that follow them (seen at ``since``): reordered (True) or
        resent (the caller counts it). A first word in them is read; TLS framing found later."""
        reordered = ts - since <= REORDER_S
        if reordered:
            s.bytes += length
            if c.phase == "tunnel":
                c.tunnel_up += length if d == UP else 0
                c.tunnel_down += 0 if d == UP else length
        payload = data[payload_off:payload_off + PAYLOAD_PEEK]
        if payload and c.phase != "other":   # (sniffing phases and the tunnel)
            followed = s.rec_next
            self._content(c, d, frame, ts, start, length, payload)
            if s.rec_next != followed:
                s.rec_next, s.rec_part = RECORD_LOST, b""
        return reordered

    def _first_words(self, c: Conn, d: int, frame: int, ts: float, start: int, unseen: int,
                     length: int, data: bytes, payload_off: int) -> None:
        """A request, an answer, a hello: read where a side begins to speak; past ``unseen``
        bytes the capture lacks, they are among those, but for a proxy's request line."""
        payload = data[payload_off:payload_off + PAYLOAD_PEEK]
        blind = unseen > 0 and c.phase != "request"
        if (blind or not payload) and c.phase == "response" and d == DOWN \
                and c.exchanges[-1].head_unseen is None:   # (its status unknown)
            c.exchanges[-1].head_unseen = (frame, unseen)
        if blind and (c.phase != "start" or proxy_request(payload) is None):
            return
        if payload:
            self._content(c, d, frame, ts, start, length, payload)
        else:   # (text holds none; a short snap length may keep none)
            self._unread(c, frame, 0, length)

    def _content(self, c: Conn, d: int, frame: int, ts: float, start: int, length: int,
                 payload: bytes) -> None:
        """Recognise CONNECT, absolute-form requests, the proxy's answer and TLS hellos in
        the segment at ``start`` (relative sequence number)."""
        phase = c.phase
        if d == UP and phase in ("start", "request"):
            request = proxy_request(payload)
            if request is not None:
                method, target = request
                c.exchanges.append(Exchange(target, frame, ts,
                                            bool(HAS_AUTHZ.search(payload[:HEAD_MAX])),
                                            method=method))
                self.requests.append((ts, frame, c.client, c.cport, c.server, c.sport, target))
                self.proxies[(c.server, c.sport)] = None
                c.phase = "response"
                c.head.clear()
                if not c.first_payload:
                    c.first_payload = "connect" if method == "CONNECT" else "http-proxy"
            elif phase == "start":
                if self._hello(c, frame, start, length, payload):
                    c.first_payload = "tls"
                    c.phase = "tunnel"
                elif payload[:1].isalpha():
                    c.first_payload = "http"
                    c.phase = "other"
                    if ORIGIN_RE.match(payload):
                        m = HOST_RE.search(payload[:HEAD_MAX])
                        if m:
                            c.server_name = m.group(1).decode("latin-1")
                else:
                    c.first_payload = "other"
                    c.phase = "other"
                if len(payload) < min(length, PAYLOAD_PEEK):   # (it may have been one)
                    self._unread(c, frame, len(payload), length)
        elif d == DOWN and phase == "response":
            self._response(c, frame, ts, payload, length)
        elif phase == "tunnel":
            if d == UP and c.client_hello is None:
                self._hello(c, frame, start, length, payload)
            elif d == DOWN and c.server_hello is None:
                if payload[:1] == b"\x16" and payload[5:6] == b"\x02":
                    c.server_hello = (frame, length)
                    c.tls_version = sniff_server_version(payload)
                    c.down.rec_next = start
                elif (c.client_hello is not None and c.hello_answer is None
                      and start == 1):   # its first byte: no gap before
                    c.hello_answer = (frame, length, payload[:1] == b"\x15")

    @staticmethod
    def _hello(c: Conn, frame: int, start: int, length: int, payload: bytes) -> bool:
        """Note a ClientHello starting this segment (its record length, SNI, where it ends)."""
        # Inside a CONNECT tunnel the request already names the host: no SNI walk.
        hello = sniff_client_hello(payload, name=not c.exchanges)
        if hello is None:
            return False
        c.client_hello = (frame, length)
        c.hello_record = hello[0]
        c.hello_end = start + hello[0]
        c.up.rec_next = start
        if hello[1] and not c.server_name:
            c.server_name = hello[1]
        return True

    def _unread(self, c: Conn, frame: int, kept: int, length: int) -> None:
        """First words unread in a payload cut short (snap length): ``kept`` of ``length``."""
        if not c.unread:
            c.unread = True
            self.unread_cut += 1
            self.unread_first = self.unread_first or (frame, kept, length, c)

    def _response(self, c: Conn, frame: int, ts: float, payload: bytes, length: int) -> None:
        ex = c.exchanges[-1]
        if ex.status is None:
            m = STATUS_RE.match(payload)
            if m is None:
                if not ex.non_http and len(payload) < min(length, PAYLOAD_PEEK):
                    self._unread(c, frame, len(payload), length)
                ex.non_http = True
                return
            ex.status = int(m.group(1))
            ex.reason = (m.group(2) or b"").decode("latin-1")[:80]
            ex.response_frame = frame
        room = HEAD_MAX - len(c.head)
        if room > 0:
            c.head += payload[:room]
        head_end = c.head.find(b"\r\n\r\n")
        if ex.status == 407:   # the schemes matter only to a 407 (rules._proxy_findings)
            head = c.head if head_end < 0 else c.head[:head_end]
            ex.schemes = tuple(dict.fromkeys(m.group(1).decode("latin-1").lower()
                                             for m in AUTH_RE.finditer(head)))
        if head_end >= 0 or len(c.head) >= HEAD_MAX:
            ex.head_complete = head_end >= 0
            if ex.status == 200 and ex.method == "CONNECT":
                c.phase = "tunnel"
                c.tunnel_start = (frame, ts)
            else:
                c.phase = "request"
            c.head.clear()

    def _rst(self, c: Conn, d: int, frame: int, ts: float) -> None:
        s = c.side(d)
        if s.rst_frame is None:
            s.rst_frame = frame
        if c.end is None:
            c.end = ("client RST" if d == UP else "server RST", frame, ts)
        if d == DOWN and c.down.syn_frame is None and c.up.syn_frame is not None:
            c.synack_rst = frame
        o = c.side(1 - d)
        # (a host that closed its side answers any data that still comes with a reset: its
        # own close, not a reset of large segments)
        if c.rst_on_large is None and o.inflight and s.fin_frame is None:
            _start, end, payload, ip_len, seg_frame, seg_ts = o.inflight[-1]
            delay = ts - seg_ts
            if (end > o.acked and payload > LARGE_PAYLOAD
                    and payload > o.max_delivered_payload and 0 <= delay <= RST_AFTER_LARGE_S):
                c.rst_on_large = (1 - d, ip_len, payload, seg_frame, delay, frame)
        self._retire(c)

    def too_big(self, frame: int, ts: float, router: str, mtu: int, quoted: Key,
                quoted_len: int) -> bool:
        """An ICMP frag-needed / Packet Too Big from ``router`` quoting a packet of
        ``quoted_len`` bytes with the table key ``quoted``; False when it quotes no
        connection the tracker follows, when that packet fits the MTU, or when no link has so
        small an MTU (a message that proves or lowers nothing: ``IcmpLog`` notes it)."""
        self.capture_end = ts
        entry = self.table.get(quoted)
        if entry is None or not LINK_MIN_MTU[4 if len(quoted) == 12 else 6] <= mtu < quoted_len:
            return False
        c, d = entry[0], entry[1]
        if len(c.icmp) < 32:
            c.icmp.append((frame, d, mtu, router, quoted_len))
        return True

    def fragment(self, frame: int, ip: IpHeader) -> None:
        key = (ip.src, ip.dst)
        r = self.fragments.get(key)
        if r is None:
            if len(self.fragments) < 1000:
                self.fragments[key] = [1, frame]
        else:
            r[0] += 1
