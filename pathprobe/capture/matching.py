"""Which connections of two captures are the same, of those seen in only one which began
while the other was not capturing, and how many times repeated bytes passed each: pure.

The same connection is found by its addresses and ports, or behind NAT by the client's
initial sequence number, or (NAT and ISN rewriting) by its first payload bytes.

Two captures never cover the same time: one is started later, stopped sooner, or stopped
by Ctrl-C partway through. A connection that began before the other capture's first
packet or after its last one is in one capture because of when they were taken, not
because the other point missed it; only the rest say something about the path (NAT,
another route) or about what a capture filter kept. Times are compared on the other
capture's clock, shifted by how far apart the two clocks show the same connections start.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from pathprobe.capture.conn import HALF, MASK
from pathprobe.compat import StrEnum

if TYPE_CHECKING:   # (correlate imports this module: its types are for annotations only)
    from pathprobe.capture.correlate import ConnLog, Flow, SegmentLog


class MatchBy(StrEnum):
    ADDRESSES = "addresses"      # the same addresses and ports in both captures
    ISN = "isn"                  # NAT: the client's initial sequence number and server port
    PAYLOAD = "payload"          # NAT and ISN rewriting: the first payload bytes


def match(first: SegmentLog, second: SegmentLog
          ) -> tuple[list[tuple[ConnLog, ConnLog, MatchBy]], list[ConnLog], list[ConnLog]]:
    """Pairs of the same connection in both logs; (pairs, only in first, only in second)."""
    by_isn: dict[tuple[int, int], ConnLog] = {}
    by_payload: dict[tuple[int, int, int], ConnLog] = {}
    for log in second.conns.values():
        c, s = log.flows.get(log.client), log.flows.get(log.server)
        if c is not None and c.saw_syn:
            by_isn.setdefault((c.isn, log.server[1]), log)
        if c is not None and c.fingerprint:
            by_payload.setdefault((c.fingerprint, s.fingerprint if s else 0, log.server[1]),
                                  log)
    pairs: list[tuple[ConnLog, ConnLog, MatchBy]] = []
    used: set[int] = set()
    unmatched: list[ConnLog] = []
    for key, log in first.conns.items():
        c, s = log.flows.get(log.client), log.flows.get(log.server)
        other, how = second.conns.get(key), MatchBy.ADDRESSES
        if other is None and c is not None and c.saw_syn:
            other, how = by_isn.get((c.isn, log.server[1])), MatchBy.ISN
        if other is None and c is not None and c.fingerprint:
            other = by_payload.get((c.fingerprint, s.fingerprint if s else 0, log.server[1]))
            how = MatchBy.PAYLOAD
        if other is None or id(other) in used:
            unmatched.append(log)
            continue
        used.add(id(other))
        pairs.append((log, other, how))
    return pairs, unmatched, [b for b in second.conns.values() if id(b) not in used]


def clock_offset(starts: Sequence[tuple[float, float]]) -> float | None:
    """How far the first capture's clock runs ahead of the second's: the median of the
    matched connections' first packets (first's time, second's time); None without any."""
    if not starts:
        return None
    gaps = sorted(a - b for a, b in starts)
    mid = len(gaps) // 2
    return gaps[mid] if len(gaps) % 2 else (gaps[mid - 1] + gaps[mid]) / 2


def began_outside(starts: Iterable[float], span: tuple[float, float] | None,
                  ahead: float | None) -> int:
    """How many of the connections that began at ``starts`` began outside ``span`` (the
    other capture's first and last packet, on its own clock, which runs ``ahead`` behind
    theirs); 0 where either is unknown (nothing to compare by)."""
    if span is None or ahead is None:
        return 0
    first, last = span
    return sum(1 for t in starts if not first <= t - ahead <= last)


def outside(pairs: Sequence[tuple[ConnLog, ConnLog, MatchBy]], only_first: Sequence[ConnLog],
            only_second: Sequence[ConnLog], first: SegmentLog, second: SegmentLog
            ) -> tuple[int, int]:
    """Of the connections only in the first capture, and only in the second, how many
    began while the other was not capturing (on its clock, as the pairs align the two)."""
    ahead = clock_offset([(a.first_ts, b.first_ts) for a, b, _how in pairs])
    return (began_outside((c.first_ts for c in only_first), second.span(), ahead),
            began_outside((c.first_ts for c in only_second), first.span(),
                          None if ahead is None else -ahead))


def seq_shift(near: Flow, far: Flow) -> int:
    """Add to a far relative sequence number to get the near one (0 when both saw the SYN,
    whatever a middlebox did to the ISN; else the raw ISN difference)."""
    if near.saw_syn and far.saw_syn:
        return 0
    d = (far.isn - near.isn) & MASK
    return d - (1 << 32) if d >= HALF else d


def _repeats(f: Flow, start: int, end: int, moved: int, most: bool
             ) -> list[tuple[int, int, int]]:
    """(start, end, repetitions) of the segments ``f``'s sender repeated over [start, end),
    numbered as there (``moved`` added). ``Flow.copies`` keeps one entry per start: where
    its copies had other lengths, the bytes all of them carried (``most`` False) or any
    one did (True: the longest's end)."""
    reach = 7 if most else 0
    return [(s + moved, c[reach] + moved, int(c[1]) - 1) for s, c in f.copies.items()
            if s + moved < end and c[reach] + moved > start]


def shortfall(near: Flow, far: Flow, start: int, end: int, shift: int) -> tuple[int, int]:
    """How many times the bytes [start, end) the sender repeated passed the near capture
    and the far one (``shift``: far's sequence numbers are near's minus it), where the far
    one saw the fewest of them: a byte at a time, whatever bounds the segments had at each
    (TSO or GRO where one capture was taken, a middlebox that cut them anew): once where
    seen, plus each repetition over it. Counted by segment start, a 1448-byte resend inside
    a 2896-byte one was 'seen only once' there, its other copy 'lost between the two
    capture points'. At least at the near capture, at most at the far one: no loss is
    claimed that the two do not prove."""
    mine, theirs = _repeats(near, start, end, 0, False), _repeats(far, start, end, shift, True)
    cuts = sorted({start, *(x for s, e, _r in (*mine, *theirs) for x in (s, e) if start < x < end)})

    def times(f: Flow, at: int, over: list[tuple[int, int, int]]) -> int:
        return (1 + sum(r for s, e, r in over if s <= at < e)) if f.covered(at, at + 1) else 0

    counts = [(times(near, x, mine), times(far, x - shift, theirs)) for x in cuts]
    return max(counts, key=lambda nf: (nf[0] - nf[1], nf[0]))
