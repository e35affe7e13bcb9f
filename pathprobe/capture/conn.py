"""What the tracker remembers of one TCP connection: pure data, no logic beyond
sequence arithmetic.

``Conn`` holds both directions (``Side``), the CONNECT/HTTP exchanges seen on it and
the evidence the rules of ``pathprobe.capture.rules`` cite (frame numbers, sizes,
times). ``pathprobe.capture.tracker`` fills it packet by packet.
"""

from __future__ import annotations

import struct
from collections import deque
from dataclasses import dataclass, field

from pathprobe.compat import SLOTS
from pathprobe.wire.hostport import host_port

Bytes = bytes   # (a field of Side is called ``bytes``)
UP, DOWN = 0, 1           # up: client -> server (the side that sent the SYN); down: back
MASK = 0xFFFFFFFF
HALF = 1 << 31
STALL_MIN_S = 0.1         # the shortest silence a stall can be (analyze --stall-after's minimum)
LARGE_PAYLOAD = 536       # a segment larger than the classic default MSS counts as "large"
# The least MTU any link has (RFC 791, RFC 8200): hosts do not lower a path MTU below it
# (RFC 1191, RFC 8201), so a frag-needed / Packet Too Big naming less lowers nothing
LINK_MIN_MTU = {4: 68, 6: 1280}

# A connection table key: the packed source and destination addresses, then the source
# and destination ports, as an IP header and the TCP header after it hold them back to
# back (12 bytes for IPv4, 36 for IPv6): the reading loop takes it from a packet in one
# slice, and one short bytes object hashes faster than a tuple of four.
Key = bytes
_PORTS = struct.Struct("!HH")


def pack_key(src: bytes, dst: bytes, sport: int, dport: int) -> Key:
    """The table key of packets from ``src``:``sport`` to ``dst``:``dport``."""
    return src + dst + _PORTS.pack(sport, dport)


def key_parts(key: Key) -> tuple[bytes, bytes, int, int]:
    """(packed source, packed destination, source port, destination port) of a key."""
    n = (len(key) - 4) // 2
    sport, dport = _PORTS.unpack_from(key, 2 * n)
    return key[:n], key[n:2 * n], sport, dport

# Frame, timestamp, and the segment it belongs to; kept small as tuples.
InFlight = tuple[int, int, int, int, int, float]   # (start, end, payload, ip_len, frame, ts)




@dataclass
class Exchange:
    """One CONNECT request and the proxy's answer, if any."""

    target: str
    frame: int
    ts: float
    with_auth: bool
    retransmits: int = 0
    status: int | None = None
    reason: str = ""
    response_frame: int | None = None
    schemes: tuple[str, ...] = ()
    head_complete: bool = False
    # "CONNECT", or the method of an absolute-form request (``GET http://host/...``): a
    # plain-HTTP request through a proxy, answered by the proxy without a tunnel.
    method: str = "CONNECT"
    # Data came back that is no HTTP status line: the far end answered, but is no proxy.
    non_http: bool = False
    # The answer's first data came after bytes the capture lacks (its head among them):
    # (the frame that showed it, the bytes before it not seen); its status is unknown.
    head_unseen: tuple[int, int] | None = None


@dataclass(**SLOTS)
class Side:
    """One direction of a connection (the bytes one endpoint sends)."""

    isn: int | None = None
    next_seq: int = 0           # highest relative sequence end seen
    acked: int = 0              # highest relative ack the peer sent for these bytes
    bytes: int = 0
    max_payload: int = 0
    max_ip_len: int = 0
    max_delivered_ip: int = 0
    max_delivered_payload: int = 0
    retransmits: int = 0
    retx_bytes: int = 0         # payload bytes sent again (loss on the path, or resends)
    # Created on the first segment worth remembering: an empty deque is ~0.6 KB, most of
    # a SYN-only connection's memory.
    inflight: deque[InFlight] | None = None
    # Large segments resent (and any while nothing got through): start -> [payload, ip_len,
    # first_retx_frame, count, last_frame, last_ts, dup_acks before the first resend,
    # first_retx_ts]
    big_retx: dict[int, list[float]] = field(default_factory=dict)
    hole: tuple[int, int, int, float] | None = None   # (start, end, frame, ts) unseen bytes
    hole_acks: int = 0   # the receiver's ACKs at the hole's start after it (it lacks them)
    # The receiver's ACKs that did not advance while more of these bytes were out: it is
    # alive, and (after later, smaller segments) lacks what they follow.
    dup_acks: int = 0
    # The frame of the last ACK that raised ``acked`` or repeated it (a duplicate ACK): what
    # an ACK captured twice is a copy of, whatever frames lie between the two.
    ack_frame: int = 0
    fin_frame: int | None = None
    rst_frame: int | None = None
    # At this side's first FIN or RST: how many bytes its sequence number says were sent
    # before it that the capture did not show (None: no close seen).
    close_unseen: int | None = None
    syn_frame: int | None = None
    syn_count: int = 0
    isn_other: int | None = None   # a second SYN(-ACK)'s own initial sequence number
    mss: int | None = None
    wscale: int | None = None
    timestamps: bool = False
    sack: bool = False
    last_seq: int | None = None   # the sequence number of the last packet sent (any flags)
    # The receive window this side last advertised (unscaled; None: not known), and since
    # when it has been zero: a receiver whose application stopped reading.
    window: int | None = None
    zero_since: float = 0.0
    turn_start: int = 1           # where this side began to send after the peer's large data
    retx_end: int = 0             # where the last retransmitted segment ended (relative)
    retx_ts: float = 0.0          # ... when it was sent, and how long after the data before
    retx_wait: float = 0.0        # it (a bound on the sender's retransmission timer then)
    # TLS record framing, followed from the hello on (``framing.follow_records``): where
    # the next record header starts (relative sequence number; None: not followed, -1:
    # lost), the first bytes of a header split between segments, the record in progress.
    rec_next: int | None = None
    rec_part: Bytes = b""   # (``bytes`` is a field name in here)
    rec_len: int = 0
    rec_frame: int = 0

    def advertised(self, window: int | None, ts: float) -> None:
        """The receive window of this side's packet at ``ts``, if known (the hot loop
        inlines it)."""
        if window is None:
            return
        if not window and self.window != 0:
            self.zero_since = ts
        self.window = window

    def rel(self, seq: int) -> int:
        """Sequence number relative to the ISN, unwrapped around the highest seen."""
        assert self.isn is not None
        delta = (seq - self.isn - self.next_seq) & MASK
        if delta >= HALF:
            delta -= 1 << 32
        return self.next_seq + delta

    def close_seen(self, seq: int) -> None:
        """Note, at this side's first FIN or RST at sequence number ``seq``, the bytes it
        sent before that the capture never showed."""
        if self.close_unseen is None and self.isn is not None:
            delta = (seq - self.isn - self.next_seq) & MASK
            self.close_unseen = delta if delta < HALF else 0

    def renumbered(self, seq: int, start: int) -> int:
        """A side that answered twice with two initial sequence numbers (a SYN-ACK resent
        by another box; Wireshark's list renumbers from the second) sends from the one its
        peer took: its first data, before its SYN or just past the other one, says which.
        Returns that data's relative start (``start`` when it follows the first)."""
        if start >= 0 and (seq - 1) & MASK != self.isn_other:
            return start
        self.isn = (seq - 1) & MASK
        self.acked, self.dup_acks = min(self.acked, 1), 0
        return 1


@dataclass(frozen=True, **SLOTS)
class Owed:
    """What one direction still owed its receiver at a moment: the difference between a
    stalled session (data pending) and an idle one (everything delivered)."""

    unacked: int        # bytes sent, not acknowledged and retransmitted: the sender waits
    # Bytes not acknowledged, yet never retransmitted across the silence: a sender waiting
    # for an ACK retransmits within a second or so, so the capture lacks packets here.
    unacked_quiet: int
    unseen: int         # bytes sent (the sender's sequence number says) that never arrived
    record: tuple[int, int, int] | None   # a TLS record in progress: (frame, length, missing)
    known: bool         # both were seen: ACKs for this direction, and its TLS framing
    retx_ts: float = 0.0     # when the unacknowledged bytes were last retransmitted
    retx_wait: float = 0.0   # the wait before that retransmission (its timer, at most)
    # The capture dropped bytes of this direction that were acknowledged: what it never
    # showed (``unseen``, the rest of ``record``) may be more of its own loss.
    lossy: bool = False

    @property
    def waiting(self) -> bool:
        # (a record cut where the bytes that did arrive were never acknowledged nor resent:
        # the capture lacks this flow's packets, perhaps the rest of the record too)
        return self.unacked > 0 or (not self.lossy and (self.unseen > 0 or (
            self.record is not None and not self.unacked_quiet)))


@dataclass(**SLOTS)
class Conn:
    """Everything remembered about one TCP connection."""

    index: int
    family: int
    client: str
    cport: int
    server: str
    sport: int
    first_frame: int
    first_ts: float
    saw_syn: bool
    last_frame: int = 0
    last_ts: float = 0.0
    up: Side = field(default_factory=Side)
    down: Side = field(default_factory=Side)
    phase: str = "start"        # start | request | response | tunnel | other
    exchanges: list[Exchange] = field(default_factory=list)
    head: bytearray = field(default_factory=bytearray)
    first_payload: str = ""     # what the client spoke first: connect, tls, http, other
    client_hello: tuple[int, int] | None = None     # (frame, payload bytes)
    hello_record: int = 0        # the ClientHello record's declared length (with its header)
    hello_end: int = 0           # relative sequence number where that record ends
    server_name: str = ""        # SNI of the ClientHello, or Host of an origin-form request
    unread: bool = False         # a first message went unread, its payload cut (snap length)
    server_hello: tuple[int, int] | None = None
    tls_version: int | None = None   # what the ServerHello selected, when its bytes tell
    # The server's first data after the ClientHello when it is no ServerHello: (frame,
    # payload bytes, a TLS alert?). The path carried an answer; the handshake failed at
    # the far end (its TLS policy, or no TLS server at all).
    hello_answer: tuple[int, int, bool] | None = None
    tunnel_start: tuple[int, float] | None = None   # (frame, ts) of the 200
    tunnel_up: int = 0
    tunnel_down: int = 0
    last_data_frame: int = 0
    last_data_ts: float = 0.0
    # Direction of the last large segment: who was transferring when data stopped (small
    # late segments such as TLS session tickets do not count).
    last_big_dir: int = UP
    last_data_dir: int = UP      # direction of the last data segment of any size
    # Where the last turn began: (frame, seconds since the other side's data, relative
    # sequence number) of the first data after the other side's.
    turn: tuple[int, float, int] = (0, 0.0, 0)
    max_gap: tuple[float, int, int] = (0.0, 0, 0)    # (seconds, frame before, frame after)
    max_gap_s: float = 0.0       # max_gap[0], kept apart: compared for every segment
    gap_dir: int = UP            # direction of the last large data before the longest gap
    gap_leg1_clear: bool = False  # everything sent up was acknowledged when the gap began
    after_gap: int = 0           # payload bytes (both directions) after the longest gap
    gap_last_dir: int = UP       # direction of the last data before the longest gap
    # The TLS content type of the record that ended the longest gap when the other side
    # sent it, in order, at a record boundary: an answer (23) or a goodbye (21); else 0.
    gap_reply: int = 0
    gap_owed: tuple[Owed, Owed] | None = None   # (up, down) when the longest gap began
    gap_turn: int = 0            # bytes the client had sent since the server's last large data
    gap_start_ts: float = 0.0    # when the longest silence began (its last data before)
    end: tuple[str, int, float] | None = None       # (how, frame, ts): first FIN/RST
    rst_on_large: tuple[int, int, int, int, float, int] | None = None
    # ^ (dir of large segment, ip_len, payload, frame of segment, delay s, frame of RST)
    icmp: list[tuple[int, int, int, str, int]] = field(default_factory=list)
    # ^ (frame, dir of quoted packet, mtu, router, quoted ip length)
    fragments: int = 0
    synack_rst: int | None = None   # frame of a RST answering the SYN
    syn_after_synack: int | None = None   # frame of the client's SYN sent again after it
    evicted_at: float | None = None   # capture time when it was judged while still open
    # (frame, time) of the last packet before the capture's first pause after this
    # connection's last one (``timeline``): the capture watched it no longer
    paused: tuple[int, float] | None = None
    keys: tuple[Key, Key] = (b"", b"")   # table keys (up, down)

    def seen_until(self, capture_end: float) -> float:
        """When the capture last watched it: its first FIN or RST, its judging while still
        open (eviction), else the capture's end."""
        if self.end is not None:
            return self.end[2]
        return self.evicted_at if self.evicted_at is not None else capture_end

    def side(self, direction: int) -> Side:
        return self.up if direction == UP else self.down

    def endpoint(self, direction: int) -> str:
        """``address:port`` of the sender of ``direction`` (as evidence shows it)."""
        return (host_port(self.client, self.cport) if direction == UP
                else host_port(self.server, self.sport))


def syn_only(c: Conn) -> bool:
    """Nothing but a SYN (and its resends) in the capture."""
    return c.down.syn_frame is None and not c.up.bytes and not c.down.bytes


def shed_order(c: Conn) -> tuple[int, float]:
    """Which connections to judge first when the tracker's table is full (smallest first)."""
    rank = 0 if syn_only(c) else 1 if c.end is not None else 2
    return rank, c.last_ts
