"""What each direction of a connection still owes its receiver: bytes not acknowledged,
and the TLS record in progress (followed header by header). This is what tells a stalled
session (data pending) from an idle one (``capture.stall``). Pure."""

from __future__ import annotations

from pathprobe.capture.conn import Owed, Side

TLS_RECORD_MAX = (1 << 14) + 2048   # the largest TLSCiphertext (RFC 5246 6.2.3)
RECORD_LOST = -1                    # Side.rec_next: framing lost, found again at a record start


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
    if r == RECORD_LOST:
        head = data[off:off + 5]
        if (len(head) < 5 or not 20 <= head[0] <= 23 or head[1] != 3 or head[2] not in (1, 3)
                or ((head[3] << 8) | head[4]) > TLS_RECORD_MAX):
            return
        r = start
        s.rec_part = b""
    captured = min(end, start + len(data) - off)
    while r < end:
        part = s.rec_part
        first = r + len(part)            # the header's first byte not yet seen
        if first < start:                # it lay in bytes the capture lacks
            s.rec_next, s.rec_part = RECORD_LOST, b""
            return
        head = part + data[off + first - start:off + min(r + 5, captured) - start]
        if len(head) < 5:
            if r + 5 > end and captured == end:   # the header goes on in the next segment
                if not part:
                    s.rec_frame = frame
                s.rec_part = head
                s.rec_next = r
                return
            s.rec_next, s.rec_part = RECORD_LOST, b""
            return
        length = (head[3] << 8) | head[4]
        if not 20 <= head[0] <= 24 or head[1] != 3 or length > TLS_RECORD_MAX:
            s.rec_next, s.rec_part = RECORD_LOST, b""
            return
        if not part:
            s.rec_frame = frame
        s.rec_part = b""
        s.rec_len = length
        r += 5 + length
    s.rec_next = r


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
    # (a packet after a FIN carries its sequence number plus one)
    sent = s.rel(s.last_seq) - (s.fin_frame is not None) if s.last_seq is not None else 0
    unseen = sent - s.next_seq if sent > s.next_seq and sent > s.acked else 0
    r = s.rec_next
    if r is None or r == RECORD_LOST:
        return Owed(unacked, quiet, unseen, None, False)
    if s.rec_part:      # a header cut between segments: its length is unknown
        return Owed(unacked, quiet, unseen, (s.rec_frame, 0, 5 - len(s.rec_part)), acks_seen)
    if r > s.next_seq:
        return Owed(unacked, quiet, unseen, (s.rec_frame, s.rec_len, r - s.next_seq),
                    acks_seen)
    return Owed(unacked, quiet, unseen, None, acks_seen)
