"""pathprobe.compat behaves like the standard library it stands in for (checks: compat_checks)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pathprobe import compat
from tests.compat_checks import check_pairwise, check_str_enum, check_utc_and_slots


def test_str_enum() -> None:
    check_str_enum()


def test_utc_and_slots() -> None:
    check_utc_and_slots()


def test_pairwise_examples() -> None:
    check_pairwise()


@given(st.lists(st.integers(), max_size=30))
def test_pairwise_pairs_neighbours(items: list[int]) -> None:
    pairs = list(compat.pairwise(iter(items)))
    assert pairs == list(zip(items, items[1:]))

