"""Checks that pathprobe.compat behaves like the 3.10/3.11 standard library it stands in for.

Standard library only, so tests/lab/test_pyz.py can run them under a bare oldest interpreter
(``python3.9 tests/compat_checks.py``), where the fallbacks are the code under test.
"""

from __future__ import annotations

import datetime
import sys
from pathlib import Path

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pathprobe import compat


def check_str_enum() -> None:
    class Color(compat.StrEnum):
        RED = "red"
        DARK_BLUE = "dark-blue"

    assert str(Color.RED) == "red" and f"{Color.DARK_BLUE}" == "dark-blue"
    assert f"{Color.RED:>5}" == "  red" and format(Color.RED) == "red"
    assert Color.RED == "red" and isinstance(Color.RED, str)
    assert Color("dark-blue") is Color.DARK_BLUE
    assert "-".join([Color.RED, Color.DARK_BLUE]) == "red-dark-blue"
    assert Color.RED.value == "red" and Color.RED.upper() == "RED"


def check_utc_and_slots() -> None:
    assert datetime.datetime(2026, 1, 1, tzinfo=compat.UTC).isoformat() == \
        "2026-01-01T00:00:00+00:00"
    expected: dict[str, bool] = {"slots": True} if sys.version_info >= (3, 10) else {}
    assert dict(compat.SLOTS) == expected


def check_pairwise() -> None:
    assert list(compat.pairwise([])) == [] and list(compat.pairwise([1])) == []
    assert list(compat.pairwise("abc")) == [("a", "b"), ("b", "c")]


if __name__ == "__main__":
    check_str_enum()
    check_utc_and_slots()
    check_pairwise()
    print(f"compat ok on Python {sys.version.split()[0]}")
