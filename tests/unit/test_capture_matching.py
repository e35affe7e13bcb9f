"""Connections only in one of two captures that began while the other was not capturing
(``capture.matching``): the clocks' offset from matched connections, and the count."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pathprobe.capture.matching import began_outside, clock_offset

# (multiples of 1/1024 s: their sums stay exact, so a start on a boundary is one either way)
times = st.integers(-10**9, 10**9).map(lambda ms: ms / 1024)


def test_the_offset_is_the_median_of_the_matched_starts() -> None:
    assert clock_offset([]) is None
    assert clock_offset([(10.0, 4.0)]) == 6.0
    assert clock_offset([(10.0, 4.0), (11.0, 5.0), (50.0, 0.0)]) == 6.0   # (one outlier)
    assert clock_offset([(10.0, 4.0), (12.0, 4.0)]) == 7.0


def test_began_outside_counts_starts_before_or_after_the_span_on_its_clock() -> None:
    span = (100.0, 110.0)
    assert began_outside([0.0, 5.0, 10.0, 20.0, -1.0], span, -100.0) == 2   # 20 and -1
    assert began_outside([0.0, 5.0], span, 0.0) == 2
    assert began_outside([0.0], None, -100.0) == 0     # nothing to compare by
    assert began_outside([0.0], span, None) == 0


@given(st.lists(times, max_size=20), times, times, st.integers(0, 10**7).map(lambda ms: ms / 1024),
       times)
def test_one_clock_moved_moves_the_offset_and_changes_no_count(
        starts: list[float], shift: float, first: float, length: float, ahead: float) -> None:
    """The other capture's clock set another way: its span and the offset move alike."""
    span = (first, first + length)
    moved = (first - shift, first + length - shift)
    assert began_outside(starts, span, ahead) == began_outside(starts, moved, ahead + shift)
