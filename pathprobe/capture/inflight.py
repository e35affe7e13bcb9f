"""What each direction has in flight: the segments not yet acknowledged (a bounded queue),
the large ones retransmitted, and the largest sizes that got through. This is what sizes
a black hole (the largest delivered, the smallest stuck). Pure."""

from __future__ import annotations

from collections import deque

from pathprobe.capture.conn import InFlight, Side

INFLIGHT_MAX = 512        # unacknowledged segments remembered per direction
RETX_MAX = 64             # distinct retransmitted large segments remembered per direction


def new_inflight() -> deque[InFlight]:
    """An empty queue, created on the first segment worth remembering (memory)."""
    return deque(maxlen=INFLIGHT_MAX)


def delivered(o: Side, rel: int) -> None:
    """The peer acknowledged o's bytes up to ``rel``: the segments below it got through."""
    q = o.inflight
    while q and q[0][1] <= rel:   # (None while nothing was remembered)
        _start, _end, payload, ip_len, _f, _t = q.popleft()
        if ip_len > o.max_delivered_ip:
            o.max_delivered_ip = ip_len
        if payload > o.max_delivered_payload:
            o.max_delivered_payload = payload
    if o.big_retx:
        for start in [k for k, v in o.big_retx.items() if k + v[0] <= rel]:
            payload = int(o.big_retx.pop(start)[0])
            if payload > o.max_delivered_payload:
                o.max_delivered_payload = payload


def replace_inflight(s: Side, seg: InFlight, keep: bool) -> None:
    """A retransmission replaces the segments it overlaps: when the ACK comes, it is the
    retransmitted size (e.g. after PMTUD shrank it), not the original, that got through."""
    q = s.inflight
    if q is None:
        q = s.inflight = new_inflight()
    start, end = seg[0], seg[1]
    kept = [e for e in q if e[1] <= start or e[0] >= end]
    if not keep:
        if len(kept) == len(q):
            return          # it overlaps nothing remembered
    else:
        # The queue is sorted by end (segments are remembered as the highest sequence
        # number grows, and replaced here in order): the copy goes after every segment
        # that ends no later than it.
        i, n = 0, len(kept)
        while i < n and kept[i][1] <= end:
            i += 1
        kept.insert(i, seg)
    q.clear()
    q.extend(kept)


def note_big_retx(s: Side, seg: InFlight) -> None:
    """A large segment sent again, not yet acknowledged: how often, first and last, and
    the duplicate ACKs counted before the first resend (did the receiver speak after?)."""
    start, _end, length, ip_len, frame, ts = seg
    r = s.big_retx.get(start)
    if r is None:
        if len(s.big_retx) < RETX_MAX:
            s.big_retx[start] = [length, ip_len, frame, 1, frame, ts, s.dup_acks, ts]
    else:
        r[3] += 1
        r[4], r[5] = frame, ts
