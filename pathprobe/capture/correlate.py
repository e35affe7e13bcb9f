"""Two captures of the same connections, one story: where each lost segment vanished.

TAC localises a drop by capturing at two points (the FMC and the proxy, or both
sides of a firewall) and asking, for each segment the sender had to retransmit:
did it reach the second capture point? ``SegmentLog`` rides along the reading
loop of ``analysis.track`` (its ``tap``: the loop updates a row in place for
in-order packets and calls the log for the rest) and keeps, per connection and
direction, the byte ranges seen (coalesced), how many copies of each repeated
segment passed, and the highest acknowledgement; bounded, so memory does not
grow with the packets. ``correlate`` then matches connections across the two logs
(same addresses and ports; behind NAT by the SYN's initial sequence number or the
first payload bytes, with the server port) and says, as typed ``Localisation``
records, on which side of which capture each loss happened. Pure: no I/O, no
sentences (``pathprobe.render.evidence.capture`` words them).
"""

from __future__ import annotations

import socket
import zlib
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from pathprobe.capture.conn import HALF, MASK, Key, key_parts, pack_key
from pathprobe.capture.duplicate import RecentFrames
from pathprobe.capture.finding import ev
from pathprobe.capture.matching import MatchBy, match, outside, seq_shift, shortfall
from pathprobe.compat import SLOTS, StrEnum
from pathprobe.facts.capture import CaptureFact
from pathprobe.model import Evidence, Measurement, Verdict, VerdictCode
from pathprobe.wire.headers import TCP_ACK, TCP_SYN
from pathprobe.wire.hostport import HostPort

INTERVALS_MAX = 256      # disjoint seen ranges kept per direction (holes are rare)
COPIES_MAX = 256         # retransmitted segments remembered per direction
RECENT_MAX = 16          # first-copy frames remembered per direction (to cite the original)
RING = 2 * RECENT_MAX
_RING0 = array("q", bytes(8 * RING))      # zeros: no segment starts at relative 0
LOGS_MAX = 20_000        # connections logged per capture (~4 KB each); clean ones go first
FINGERPRINT = 64         # payload bytes hashed to match connections behind NAT
PER_CONN_MAX = 8         # localisations reported per connection and direction
LATE_S = 1.0             # a copy needs the far capture to run this much longer to be judged

Endpoint = tuple[bytes, int]


class Where(StrEnum):
    """Where a copy of a segment (or its acknowledgement) vanished."""

    BETWEEN = "between"              # seen at the near capture, never at the far one
    SOME_BETWEEN = "some-between"    # fewer copies at the far capture than at the near one
    AFTER_FAR = "after-far"          # every copy passed both, never acknowledged
    ACK_BETWEEN = "ack-between"      # acknowledged at the far capture, the ACK never came back
    FAR_MISSED = "far-missed"        # acknowledged by the receiver, the far capture missed it


class Order(StrEnum):
    """How the capture nearer the sender was told apart."""

    TTL = "ttl"                      # the sender's packets had a higher TTL there
    ARGUMENTS = "arguments"          # same TTL: the first capture is nearest the client


@dataclass(**SLOTS)
class Flow:
    """One direction of one connection in one capture (sequence numbers relative to the ISN).

    The bytes seen are the current run [base, max_end) plus earlier disjoint runs in
    ``seen``: in-order data only moves ``max_end`` (the per-packet cost matters)."""

    isn: int
    saw_syn: bool
    ttl: int
    base: int = 1
    max_end: int = 1                 # relative end of the highest byte seen
    seen: list[list[int]] = field(default_factory=list)   # earlier [start, end) runs
    overflow: bool = False           # more holes than INTERVALS_MAX: 'never seen' unprovable
    # start -> [end, copies, first frame, last frame, frame of the first ACK covering it,
    #           time of the first repetition, time of the last copy, end of the longest]
    # (copies cut anew, at other lengths: ``end`` is where the shortest ended)
    copies: dict[int, list[Any]] = field(default_factory=dict)
    unacked_copies: int = 0
    # start, frame, start, frame ... of the latest first copies, cyclic (no per-packet
    # objects: an array of machine integers)
    ring: array[int] = field(default_factory=lambda: _RING0[:])
    ring_i: int = 0
    acked: int = 0                   # highest relative ACK from the peer
    ack_frame: int = 0
    fingerprint: int = 0             # crc32 of the first payload bytes (0: none yet)

    def rel(self, seq: int) -> int:
        """A raw sequence number relative to the ISN, unwrapped around the highest seen."""
        delta = (seq - self.isn - self.max_end) & MASK
        return self.max_end + (delta - (1 << 32) if delta >= HALF else delta)

    def runs(self) -> list[list[int]]:
        return [*self.seen, [self.base, self.max_end]] if self.max_end > self.base \
            else list(self.seen)

    def covered(self, start: int, end: int) -> bool:
        """Whether every byte of [start, end) was seen."""
        if self.base <= start and end <= self.max_end:
            return True
        return any(a <= start and end <= b for a, b in self.seen)

    def holes(self) -> Iterator[tuple[int, int]]:
        """Ranges below the highest byte seen that never showed up."""
        runs = self.runs()
        prev = 1 if self.saw_syn else (runs[0][0] if runs else 0)
        for a, b in runs:
            if a > prev:
                yield prev, a
            prev = max(prev, b)

    def first_frame(self, start: int) -> int:
        """The frame of the first copy of the segment at ``start``, if still remembered."""
        r = self.ring
        return next((r[i + 1] for i in range(0, len(r), 2) if r[i] == start), 0)


@dataclass(**SLOTS)
class ConnLog:
    """One TCP connection in one capture: its endpoints (as seen there) and both flows."""

    client: Endpoint
    server: Endpoint
    family: int
    first_ts: float
    flows: dict[Endpoint, Flow] = field(default_factory=dict)   # sender -> its flow
    entries: tuple[list[Any], list[Any]] = ([], [])            # table rows (client, server)
    lossy: bool = False
    finished: bool = False       # a FIN or RST was seen


# A SegmentLog table row, one per direction of a connection (a list: the reading loop
# updates NEXT to ACK_FRAME in place for in-order packets, without calling the log); SENT_SEQ
# and SENT_FRAME: the last data segment the log was called for (a resend, say: its copy)
FLOW, PEER, LOG, NEXT, ACK, WATCH, LAST_SEQ, LAST_FRAME, ACK_FRAME, SENT_SEQ, SENT_FRAME = \
    range(11)


class SegmentLog:
    """Per-packet tap for ``analysis.track``: logs what two-capture matching needs.

    ``table`` maps a directional key to a row [this direction's Flow, the other's,
    ConnLog, next raw sequence number, last raw ACK, watch, last in-order segment's raw
    sequence number and frame, last ACK's frame]. The reading loop handles an in-order
    packet itself (a dict lookup and a few stores); the log is called for the rest:
    SYN, FIN and RST, packets without ACK, a direction's first packet, data out of order
    (repeated bytes, holes), and every packet of a direction whose ACKs must be timed
    (``watch``: the other direction has repeated segments not yet acknowledged).
    ``settle`` brings the flows up to date before matching."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.table: dict[Key, list[Any]] = {}
        self.conns: dict[tuple[Endpoint, Endpoint], ConnLog] = {}
        self.forgotten = 0
        self.start_ts: float | None = None   # the first connection's first packet
        # The reading loop's recent frames, while it reads (``analysis.track``): a copy
        # (a packet captured twice) is no second send
        self.recent: RecentFrames | None = None
        self.end_ts = 0.0       # the capture's last packet (the reading loop sets it)

    def copied(self, key: Key, seq: int, frame: int) -> bool:
        """Whether this data segment is one captured twice (``duplicate``): a copy of the
        last frame that carried the same sequence number (the last in-order segment, the
        last the log was called for, a first copy its flow remembers), else of the frame
        before it."""
        if self.recent is None:
            return False
        row = self.table.get(key)
        earlier = frame - 1
        if row is not None and row[FLOW] is not None:
            if row[LAST_FRAME] and seq == row[LAST_SEQ]:
                earlier = row[LAST_FRAME]
            elif row[SENT_FRAME] and seq == row[SENT_SEQ]:
                earlier = row[SENT_FRAME]
            else:
                flow: Flow = row[FLOW]
                earlier = flow.first_frame(flow.rel(seq)) or earlier
        return self.recent.copy_of(earlier, frame) or self.recent.copy_once_seen(frame)

    def span(self) -> tuple[float, float] | None:
        """The time this capture covers: its first connection's start to its last packet."""
        return None if self.start_ts is None else (self.start_ts, self.end_ts)

    def __call__(self, frame: int, ts: float, data: bytes, ip_off: int, family: int,
                 key: Key, seq: int, ack: int, flags: int, payload_len: int,
                 payload_off: int) -> None:
        row = self.table.get(key)
        if row is None or flags & TCP_SYN or row[FLOW] is None:
            row = self._enter(row, frame, ts, data, ip_off, family, key, seq, flags)
        flow, peer = row[FLOW], row[PEER]
        _catch_up(row, _reverse(row))
        if flags & 0x05:                            # FIN or RST: may be forgotten first
            row[LOG].finished = True
        if flags & TCP_ACK:
            row[ACK], row[ACK_FRAME] = ack, frame
            if peer is not None:
                _ack(peer, ack, frame, row)
        if payload_len and not flags & TCP_SYN:
            row[SENT_SEQ], row[SENT_FRAME] = seq, frame
            end = flow.max_end
            d = (seq - flow.isn - end) & MASK
            if d == 0:                              # the next bytes
                flow.max_end = end + payload_len
                _remember(flow, end, frame)
            else:
                _data(flow, frame, ts, end + (d - (1 << 32) if d >= HALF else d), payload_len)
                row[LOG].lossy = True
                if flow.unacked_copies:
                    _reverse(row)[WATCH] = True
            row[NEXT] = (flow.isn + flow.max_end) & MASK
            row[LAST_FRAME] = 0                     # (remembered already)
            if not flow.fingerprint:
                flow.fingerprint = zlib.crc32(data[payload_off:payload_off + FINGERPRINT]) or 1
        # (NEXT stays unset until a direction's first data: the loop then calls the log for
        # it, which takes the payload's fingerprint)

    def release(self) -> None:
        """Forget every connection now (each and its rows form a cycle for the collector)."""
        for log in self.conns.values():
            log.entries = ([], [])
        self.conns.clear()

    def settle(self) -> None:
        """Apply what the reading loop recorded in place (in-order data, ACKs)."""
        for log in self.conns.values():
            _settle(log)

    def _enter(self, row: list[Any] | None, frame: int, ts: float, data: bytes, ip_off: int,
               family: int, key: Key, seq: int, flags: int) -> list[Any]:
        """A packet of a new connection, a SYN, or a direction's first packet."""
        src, dst, sport, dport = key_parts(key)
        syn = bool(flags & TCP_SYN)
        if row is not None and syn and not flags & TCP_ACK and row[0] is not None \
                and row[0].isn != seq:
            row = None                              # the port pair reused: a new connection
        if row is None:
            a, b = (src, sport), (dst, dport)
            client_is_src = not flags & TCP_ACK if syn else sport >= dport
            row = self._new(a, b, family, ts) if client_is_src else self._new(b, a, family, ts)
            row = row if client_is_src else row[2].entries[1]
        if row[0] is None:
            ttl = data[ip_off + 8] if family == 4 else data[ip_off + 7]
            flow = Flow(seq if syn else (seq - 1) & MASK, syn, ttl)
            log: ConnLog = row[2]
            log.flows[(src, sport)] = flow
            row[0] = flow
            other = log.entries[1] if row is log.entries[0] else log.entries[0]
            other[1] = flow
        return row

    def _new(self, client: Endpoint, server: Endpoint, family: int, ts: float) -> list[Any]:
        """A new connection; returns its client's table row."""
        if len(self.conns) >= LOGS_MAX:
            self._forget()
        log = ConnLog(client, server, family, ts)
        if self.start_ts is None or ts < self.start_ts:
            self.start_ts = ts
        log.entries = ([None, None, log, None, None, False, None, 0, 0, None, 0],
                       [None, None, log, None, None, False, None, 0, 0, None, 0])
        self.conns[(client, server) if client < server else (server, client)] = log
        up, down = _keys(client, server)
        self.table[up], self.table[down] = log.entries
        return log.entries[0]

    def _forget(self) -> None:
        """Drop half of the connections (bounded memory): finished ones that lost nothing,
        then the oldest that lost nothing so far, then the oldest."""
        half = LOGS_MAX // 2
        clean = [k for k, v in self.conns.items() if not v.lossy and v.finished][:half]
        if len(clean) < half:
            chosen = set(clean)
            clean += [k for k, v in self.conns.items()
                      if not v.lossy and k not in chosen][:half - len(clean)]
        if not clean:
            clean = list(self.conns)[:half]
        for k in clean:
            log = self.conns.pop(k)
            for key in _keys(log.client, log.server):
                self.table.pop(key, None)
        self.forgotten += len(clean)


def _keys(client: Endpoint, server: Endpoint) -> tuple[Key, Key]:
    """The table keys of a connection's two directions, the client's first."""
    return (pack_key(client[0], server[0], client[1], server[1]),
            pack_key(server[0], client[0], server[1], client[1]))


def _settle(log: ConnLog) -> None:
    a, b = log.entries
    for row, rev in ((a, b), (b, a)):
        if row[FLOW] is not None:
            _catch_up(row, rev)


def _reverse(row: list[Any]) -> list[Any]:
    log: ConnLog = row[LOG]
    a, b = log.entries
    return b if row is a else a


def _catch_up(row: list[Any], rev: list[Any]) -> None:
    """Bring a flow up to date with what the loop recorded: in-order bytes up to NEXT,
    the last in-order segment's frame, the ACKs the other direction sent."""
    f: Flow = row[FLOW]
    if row[NEXT] is not None:
        d = (row[NEXT] - f.isn - f.max_end) & MASK
        if 0 < d < HALF:
            f.max_end += d
    if row[LAST_FRAME]:
        _remember(f, f.rel(row[LAST_SEQ]), row[LAST_FRAME])
        row[LAST_FRAME] = 0
    if rev[ACK] is not None:
        _ack(f, rev[ACK], rev[ACK_FRAME], rev)


def _ack(f: Flow, ack: int, frame: int, acker: list[Any]) -> None:
    """The other side acknowledged f's bytes up to ``ack`` (raw) in ``frame``."""
    d = (ack - f.isn - f.acked) & MASK
    if 0 < d < HALF:
        f.acked += d
        f.ack_frame = frame
        if f.unacked_copies:
            _acked_copies(f, f.acked, frame)
            if not f.unacked_copies:
                acker[WATCH] = False


def _remember(f: Flow, start: int, frame: int) -> None:
    i = f.ring_i
    f.ring[i] = start
    f.ring[i + 1] = frame
    f.ring_i = (i + 2) % RING


def _data(f: Flow, frame: int, ts: float, start: int, length: int) -> None:
    """A segment that is not simply the next bytes: a retransmission, a jump past a hole,
    or bytes filling one."""
    end = start + length
    if f.covered(start, end):                  # a retransmission
        c = f.copies.get(start)
        if c is not None:   # (cut anew: the bytes every copy carried, and any one)
            c[0], c[7] = min(c[0], end), max(c[7], end)
            c[1] += 1
            c[3] = frame
            c[6] = ts
        elif len(f.copies) < COPIES_MAX:
            acked = f.ack_frame if end <= f.acked else 0   # (already acknowledged)
            # the first copy's frame when still remembered, else this repetition's
            f.copies[start] = [end, 2, f.first_frame(start) or frame, frame, acked, ts, ts, end]
            f.unacked_copies += not acked
        return
    if start > f.max_end and f.max_end <= f.base:  # nothing seen yet: the run starts here
        f.base, f.max_end = start, end
    else:
        runs = _merged([*f.runs(), [start, end]])
        if len(runs) > INTERVALS_MAX:          # keep the first ranges; beyond, unprovable
            runs = [*runs[:INTERVALS_MAX - 1], [runs[INTERVALS_MAX - 1][0], runs[-1][1]]]
            f.overflow = True
        f.seen = runs[:-1]
        f.base, f.max_end = runs[-1]
    _remember(f, start, frame)


def _acked_copies(f: Flow, rel: int, frame: int) -> None:
    """Note the frame of the first ACK covering each repeated segment."""
    for c in f.copies.values():
        if not c[4] and c[0] <= rel:
            c[4] = frame
            f.unacked_copies -= 1


def _merged(runs: list[list[int]]) -> list[list[int]]:
    """Sorted, disjoint ranges covering the same bytes."""
    out: list[list[int]] = []
    for a, b in sorted(runs):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return out


# --- matching and localising ------------------------------------------------------------

@dataclass(frozen=True)
class Localisation:
    """One lost segment (or ACK) and the stretch of path where it vanished."""

    where: Where
    order: Order
    near: str                    # the capture nearer the segment's sender
    far: str
    sender: HostPort             # as the near capture shows it
    receiver: HostPort
    start: int                   # relative sequence number of the segment's first byte
    length: int
    copies_near: int
    copies_far: int
    frame_near: int              # the first copy at the near capture (0: not remembered)
    frame_far: int               # the first copy at the far capture (0: never seen)
    ack_frame: int               # the far capture's covering ACK (ACK_BETWEEN, FAR_MISSED)
    far_quiet: bool = False      # the far capture shows no packet from then on: it may have
    #                              stopped capturing, the claim is unproven


@dataclass(frozen=True)
class Correlation:
    """The outcome of matching two captures."""

    first: str
    second: str
    matched: dict[MatchBy, int]
    only_first: int
    only_second: int
    found: tuple[Localisation, ...]
    unprovable: int              # directions with too many holes to say 'never seen'
    forgotten: int = 0           # connections without loss dropped from a log (bounded memory)
    unlisted: int = 0            # connections with repeated or missing data not examined
    # of those only in one capture, how many began while the other was not capturing
    outside_first: int = 0
    outside_second: int = 0


def _ep(family: int, e: Endpoint) -> HostPort:
    return HostPort(socket.inet_ntop(socket.AF_INET6 if family == 6 else socket.AF_INET,
                                     e[0]), e[1])


def correlate(first: SegmentLog, second: SegmentLog, limit: int = 50) -> Correlation:
    """Match the two captures' connections and localise every loss (at most ``limit``)."""
    pairs, only_first, only_second = match(first, second)
    matched = {m: 0 for m in MatchBy}
    found: list[Localisation] = []
    unprovable = unlisted = 0
    for a, b, how in pairs:
        matched[how] += 1
        if not (a.lossy or b.lossy):
            continue
        if len(found) >= limit:      # enough to tell the story; the rest only counted
            unlisted += 1
            continue
        _settle(a)
        _settle(b)
        for sender_a in (a.client, a.server):
            sender_b = b.client if sender_a == a.client else b.server
            fa, fb = a.flows.get(sender_a), b.flows.get(sender_b)
            if fa is None or fb is None:
                continue
            near_is_first, order = _order(fa, fb, sender_a == a.client)
            near, far = (fa, fb) if near_is_first else (fb, fa)
            near_log, far_log = (a, b) if near_is_first else (b, a)
            # a copy sent after this (near time) could have reached the far point when that
            # capture shows nothing more (clocks aligned on the connection's first packets)
            far_end = ((second if near_is_first else first).end_ts
                       - (far_log.first_ts - near_log.first_ts) - LATE_S)
            near_name, far_name = ((first.name, second.name) if near_is_first
                                   else (second.name, first.name))
            shift = seq_shift(near, far)
            sender = sender_a if near_is_first else sender_b
            receiver = near_log.server if sender == near_log.client else near_log.client
            ctx = (order, near_name, far_name, _ep(near_log.family, sender),
                   _ep(near_log.family, receiver))
            unprovable += int(far.overflow)
            found.extend(_localise(near, far, shift, ctx, far_end)[:PER_CONN_MAX])
    return Correlation(
        first.name, second.name, matched, len(only_first), len(only_second),
        tuple(found[:limit]), unprovable, first.forgotten + second.forgotten, unlisted,
        *outside(pairs, only_first, only_second, first, second))


def _order(fa: Flow, fb: Flow, client_sends: bool) -> tuple[bool, Order]:
    """Whether the first capture is nearer this flow's sender, and how that was told."""
    if fa.ttl != fb.ttl:
        return fa.ttl > fb.ttl, Order.TTL
    return client_sends, Order.ARGUMENTS


Ctx = tuple[Order, str, str, HostPort, HostPort]


def _localise(near: Flow, far: Flow, shift: int, ctx: Ctx, far_end: float
              ) -> list[Localisation]:
    """Each segment the sender repeated at the near capture, and each hole at the far one."""
    order, near_name, far_name, sender, receiver = ctx
    out: list[Localisation] = []
    quiet = False

    def add(where: Where, start: int, end: int, n_near: int, n_far: int, f_near: int,
            f_far: int, ack_frame: int = 0) -> None:
        out.append(Localisation(where, order, near_name, far_name, sender, receiver, start,
                                end - start, n_near, n_far, f_near, f_far, ack_frame,
                                quiet and where is not Where.ACK_BETWEEN))

    for start, (end, _n, frame0, last, acked_at, early_ts, last_ts, _reach) in sorted(
            near.copies.items()):
        # the far capture shows no packet at all from when these copies could have got
        # there: it may have stopped capturing (the other explanation, said with the claim)
        quiet = early_ts > far_end
        fs, fe = start - shift, end - shift
        c = far.copies.get(fs)
        # at the far capture, the receiver's ACK passed before the last copy arrived there,
        # while at the near one no ACK came before the sender repeated it: the ACK was lost
        acked_early_far = c is not None and 0 < c[4] < c[3]
        acked_early_near = 0 < acked_at < last
        n, n_far = shortfall(near, far, start, end, shift)
        f_far = (c[2] if c is not None else far.first_frame(fs)) if n_far else 0
        if n_far == 0:
            if far.overflow:
                continue
            add(Where.BETWEEN, start, end, n, 0, frame0, 0)
        elif n_far < n:
            quiet = last_ts > far_end       # the missing copies may be the late ones
            add(Where.SOME_BETWEEN, start, end, n, n_far, frame0, f_far)
        elif far.acked < fe:
            add(Where.AFTER_FAR, start, end, n, n_far, frame0, f_far)
        elif c is not None and acked_early_far and not acked_early_near:
            add(Where.ACK_BETWEEN, start, end, n, n_far, frame0, f_far, c[4])
    quiet = False
    if not far.overflow:
        for hs, he in far.holes():
            ns, ne = hs + shift, he + shift
            if ne > near.max_end or not near.covered(ns, ne) or ns in near.copies:
                continue
            if far.acked >= he:              # the receiver had them: the far capture missed them
                add(Where.FAR_MISSED, ns, ne, 1, 0, near.first_frame(ns), 0, far.ack_frame)
    return out


# --- one report from two analyses -------------------------------------------------------

_FACT = {
    Where.BETWEEN: CaptureFact.LOST_BETWEEN,
    Where.SOME_BETWEEN: CaptureFact.SOME_LOST_BETWEEN,
    Where.AFTER_FAR: CaptureFact.LOST_AFTER_FAR,
    Where.ACK_BETWEEN: CaptureFact.ACK_LOST_BETWEEN,
    Where.FAR_MISSED: CaptureFact.FAR_CAPTURE_MISSED,
}


def localisation_evidence(loc: Localisation) -> Evidence:
    """The typed fact of one localisation; its frames are the near capture's."""
    return ev(_FACT[loc.where], loc.frame_near or None, near=loc.near, far=loc.far,
              sender=str(loc.sender), receiver=str(loc.receiver), start=loc.start,
              length=loc.length,
              copies_near=loc.copies_near, copies_far=loc.copies_far,
              frame_far=loc.frame_far or None, ack_frame=loc.ack_frame or None,
              order=loc.order.value, far_quiet=int(loc.far_quiet))


def matched_evidence(corr: Correlation) -> Evidence:
    return ev(CaptureFact.CAPTURES_MATCHED, first=corr.first, second=corr.second,
              matched=sum(corr.matched.values()), by_addresses=corr.matched[MatchBy.ADDRESSES],
              by_isn=corr.matched[MatchBy.ISN], by_payload=corr.matched[MatchBy.PAYLOAD],
              only_first=corr.only_first, only_second=corr.only_second,
              outside_first=corr.outside_first, outside_second=corr.outside_second,
              unprovable=corr.unprovable, forgotten=corr.forgotten, unlisted=corr.unlisted,
              listed=len(corr.found))


def _conn_of(v: Verdict) -> set[HostPort]:
    """The endpoints (address:port) of the connection a verdict cites first."""
    return set(v.endpoints) if v.endpoints is not None else set()


def combine(parts: Sequence[tuple[str, Measurement]], corr: Correlation) -> Measurement:
    """One report: both captures' rows and verdicts (each saying its capture), the
    localisations added to the verdicts of the connection they concern and to the notes."""
    legs = tuple(replace(row, target=f"{name}: {row.target}")
                 for name, m in parts for row in m.legs)
    verdicts: list[Verdict] = []
    for name, m in parts:
        for v in m.verdicts:
            if v.code is VerdictCode.HEALTHY and any(
                    x.code is VerdictCode.HEALTHY for x in verdicts):
                continue
            extra = [localisation_evidence(loc) for loc in corr.found
                     if loc.near == name and {loc.sender, loc.receiver} == _conn_of(v)]
            verdicts.append(replace(v, evidence=(ev(CaptureFact.IN_CAPTURE, file=name),
                                                 *v.evidence, *extra)))
    if len(verdicts) > 1:
        verdicts = [v for v in verdicts if v.code is not VerdictCode.HEALTHY]
    order = list(VerdictCode)
    verdicts.sort(key=lambda v: order.index(v.code))
    notes = [*(n for _name, m in parts for n in m.notes), matched_evidence(corr),
             *(localisation_evidence(loc) for loc in corr.found)]
    return Measurement(legs=legs, verdicts=tuple(verdicts), notes=tuple(notes))
