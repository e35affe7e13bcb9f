"""What each direction of a connection still owes its receiver: bytes not acknowledged,
and the TLS record in progress (followed header by header). This is what tells a stalled
session (data pending) from an idle one (``capture.stall``). Pure."""

from __future__ import annotations

import struct
from enum import Enum

from pathprobe.capture.conn import STALL_MIN_S, Conn, Owed, Side

TLS_RECORD_MAX = (1 << 14) + 2048   # the largest TLSCiphertext (RFC 5246 6.2.3)
RECORD_LOST = -1                    # Side.rec_next: framing lost, found again at a record start
RECORD_TYPES = (b"\x14", b"\x15", b"\x16", b"\x17")   # a record's first byte, for resync


def follow_records(s: Side, frame: int, start: int, end: int, data: bytes, off: int) -> None:
    """Walk the TLS record headers that lie in one segment of ``s`` (relative sequence
    ``start``..``end``, its captured bytes from ``data[off]``), so that a silence can be told
    apart: at a record boundary the receiver may have all it asked for (idle), inside a
    record it is waiting for the rest (stalled).

    Where a header is not captured (a hole, a short snap length) or is no TLS header, the
    framing is lost (``RECORD_LOST``) until a segment begins with a record header (a
    TLS 1.0-1.3 type and version and a possible length: about one chance in 10^8 for
    ciphertext to look so)."""
    r = s.rec_next
    assert r is not None
    base = off - start                   # data[base + x] holds relative sequence x
    captured = min(end, len(data) - base)
    if r == RECORD_LOST:
        if captured - start < 5 or not _plausible(*_HEADER.unpack_from(data, off)):
            return
        r = start
        s.rec_part = b""
    while r < end:
        if s.rec_part or r + 5 > captured:      # a header split, or cut by the capture
            after = _split_header(s, frame, r, start, end, captured, data, base)
            if after is None:
                return
            r = after
            continue
        if r < start:                    # it lay in bytes the capture lacks
            s.rec_next = RECORD_LOST
            return
        kind, major, _minor, length = _HEADER.unpack_from(data, base + r)
        if not 20 <= kind <= 24 or major != 3 or length > TLS_RECORD_MAX:
            s.rec_next = RECORD_LOST
            return
        s.rec_frame, s.rec_len = frame, length
        r += 5 + length
    s.rec_next = r


_HEADER = struct.Struct(">BBBH")        # content type, version, length


def _plausible(kind: int, major: int, minor: int, length: int) -> bool:
    """A record header a segment may begin with: framing found again."""
    return 20 <= kind <= 23 and major == 3 and minor in (1, 3) and length <= TLS_RECORD_MAX


def _split_header(s: Side, frame: int, r: int, start: int, end: int, captured: int,
                  data: bytes, base: int) -> int | None:
    """The header at ``r`` continues past this segment (kept) or past the captured bytes
    (lost): None; or its first bytes came in the last segment: where the next one starts."""
    part = s.rec_part
    first = r + len(part)                # the header's first byte not yet seen
    head = part + data[base + first:base + min(r + 5, captured)] if first >= start else b""
    if len(head) < 5:
        if first >= start and r + 5 > end and captured == end:   # goes on in the next one
            if not part:
                s.rec_frame = frame
            s.rec_part, s.rec_next = head, r
        else:
            s.rec_part, s.rec_next = b"", RECORD_LOST
        return None
    kind, major, _minor, length = _HEADER.unpack(head)
    length = int(length)
    if not 20 <= kind <= 24 or major != 3 or length > TLS_RECORD_MAX:
        s.rec_part, s.rec_next = b"", RECORD_LOST
        return None
    if not part:
        s.rec_frame = frame
    s.rec_part, s.rec_len = b"", length
    return r + 5 + length


class Gap(Enum):
    """What the capture says of bytes that never showed up between others that did."""

    NONE = "none"
    CAPTURE_LOSS = "capture-loss"   # the receiver acknowledged them: the capture missed them
    UNPROVEN = "unproven"           # no ACK of the receiver's at them: capture or network loss
    NETWORK_LOSS = "network-loss"   # the receiver kept acknowledging up to them: it lacks them


HOLE_ACKS_MIN = 2   # one ACK at the hole's start may have left before the later data came


def gap_of(s: Side) -> Gap:
    """Who lost the bytes of ``s``'s hole: only the receiver's own ACKs can tell the
    network's loss from the capture's (a one-way capture shows none of them)."""
    if s.hole is None:
        return Gap.NONE
    if s.acked >= s.hole[1]:
        return Gap.CAPTURE_LOSS
    return Gap.NETWORK_LOSS if s.hole_acks >= HOLE_ACKS_MIN else Gap.UNPROVEN


def uncaptured(s: Side) -> int:
    """Bytes of ``s`` the peer acknowledged but the capture never showed (beyond a FIN's
    one sequence number): delivered, missed by the capture."""
    return max(0, s.acked - s.next_seq - 1)


def owed(s: Side) -> Owed:
    """``s``'s debts now: bytes not acknowledged, bytes its sequence number says it sent that
    never arrived (nor were acknowledged: else the capture only missed them), an unfinished
    TLS record."""
    if not s.bytes:
        return Owed(0, 0, 0, None, True)
    acks_seen = s.acked > 0
    pending = s.next_seq - s.acked if acks_seen and s.acked < s.next_seq else 0
    retransmitted = pending and s.retx_end > s.acked
    unacked, quiet = (pending, 0) if retransmitted else (0, pending)
    more = (s.retx_ts, s.retx_wait) if retransmitted else (0.0, 0.0)
    lossy = uncaptured(s) > 0 or gap_of(s) is Gap.CAPTURE_LOSS
    # (a packet after a FIN carries its sequence number plus one)
    sent = s.rel(s.last_seq) - (s.fin_frame is not None) if s.last_seq is not None else 0
    unseen = sent - s.next_seq if sent > s.next_seq and sent > s.acked else 0
    r = s.rec_next
    if r is None or r == RECORD_LOST:
        return Owed(unacked, quiet, unseen, None, False, *more, lossy)
    if s.rec_part:      # a header cut between segments: its length is unknown
        return Owed(unacked, quiet, unseen, (s.rec_frame, 0, 5 - len(s.rec_part)), acks_seen,
                    *more, lossy)
    if r > s.next_seq:
        return Owed(unacked, quiet, unseen, (s.rec_frame, s.rec_len, r - s.next_seq),
                    acks_seen, *more, lossy)
    return Owed(unacked, quiet, unseen, None, acks_seen, *more, lossy)


def record_opened(c: Conn, d: int, s: Side, start: int, data: bytes, off: int) -> int:
    """The content type of the TLS record that a segment of ``s`` (direction ``d``) at
    relative sequence ``start`` begins, when it answers the other side's last data and
    begins a record where the last one ended, in order; else 0."""
    if d == c.last_data_dir or not start == s.next_seq == s.rec_next or len(data) <= off:
        return 0
    return data[off]


def longest_gap(c: Conn, gap: float, before: int, after: int, reply: int) -> None:
    """The longest silence between data so far, what was pending when it began, and the
    record type the other side broke it with (``reply``, 0 when it did not)."""
    c.max_gap_s, c.max_gap = gap, (gap, before, after)
    c.gap_reply = reply
    c.gap_start_ts = c.last_data_ts
    c.gap_dir, c.gap_last_dir = c.last_big_dir, c.last_data_dir
    c.gap_leg1_clear = c.up.acked >= c.up.next_seq
    if gap >= STALL_MIN_S:   # what was pending matters only to a silence that may be a stall
        c.gap_owed = (owed(c.up), owed(c.down))
        c.gap_turn = c.up.next_seq - c.up.turn_start
    c.after_gap = 0
