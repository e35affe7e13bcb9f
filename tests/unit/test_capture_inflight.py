"""A retransmission replaces the remembered segments it overlaps: the queue stays sorted by
end, and the result is the same as the plain filter-and-sort it replaced."""

from __future__ import annotations

from collections import deque

from hypothesis import given
from hypothesis import strategies as st

from pathprobe.capture.conn import InFlight, Side
from pathprobe.capture.inflight import INFLIGHT_MAX, replace_inflight


def _reference(q: list[InFlight], seg: InFlight, keep: bool) -> list[InFlight]:
    kept = [e for e in q if e[1] <= seg[0] or e[0] >= seg[1]]
    if keep:
        kept.append(seg)
    kept.sort(key=lambda e: e[1])
    return kept


segments = st.tuples(st.integers(0, 5000), st.integers(1, 1500)).map(
    lambda t: (t[0], t[0] + t[1], t[1], t[1] + 52, t[0], 0.0))


@given(st.lists(segments, max_size=40), segments, st.booleans())
def test_replacing_matches_filter_and_sort(remembered: list[InFlight], seg: InFlight,
                                           keep: bool) -> None:
    ordered = sorted(remembered, key=lambda e: e[1])    # the tracker's queue is by end
    side = Side()
    side.inflight = deque(ordered, maxlen=INFLIGHT_MAX)
    replace_inflight(side, seg, keep)
    assert list(side.inflight) == _reference(ordered, seg, keep)
