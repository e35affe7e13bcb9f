"""What Python 3.9 lacks and pathprobe uses, in one place.

The one-file build (scripts/build-pyz.sh) runs on whatever CPython an
appliance ships, 3.9 included. Import these names from here instead of from
``enum``, ``datetime`` or ``itertools``; on newer interpreters they are the
standard library's own objects.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterable, Iterator
from datetime import timezone
from enum import Enum
from typing import Any, TypeVar

__all__ = ["SLOTS", "TIMEOUTS", "UTC", "StrEnum", "pairwise"]

T = TypeVar("T")

UTC = timezone.utc  # datetime.UTC is 3.11+

# ``except TIMEOUTS:`` catches a socket timeout everywhere: before 3.10 ``socket.timeout``
# is its own OSError subclass, not ``TimeoutError`` (an ``except OSError`` below would
# then take a timeout for a connection error).
TIMEOUTS: tuple[type[OSError], ...] = (TimeoutError, socket.timeout)

# ``@dataclass(**SLOTS)``: slotted instances (less memory, faster attributes) where the
# interpreter can (dataclass(slots=True) is 3.10+), plain ones on 3.9.
SLOTS: dict[str, Any] = {"slots": True} if sys.version_info >= (3, 10) else {}

if sys.version_info >= (3, 11):
    from enum import StrEnum
else:
    class StrEnum(str, Enum):
        """enum.StrEnum (3.11+): members are strings, and str()/format() give the value."""

        def __str__(self) -> str:
            return str(self.value)

        def __format__(self, spec: str) -> str:
            return format(str(self.value), spec)

        @staticmethod
        def _generate_next_value_(name: str, start: int, count: int,
                                  last_values: list[str]) -> str:
            return name.lower()

if sys.version_info >= (3, 10):
    from itertools import pairwise
else:
    def pairwise(iterable: Iterable[T]) -> Iterator[tuple[T, T]]:
        """itertools.pairwise (3.10+): (s0, s1), (s1, s2), ..."""
        it = iter(iterable)
        try:
            prev = next(it)
        except StopIteration:
            return
        for item in it:
            yield prev, item
            prev = item


def ip_version(family: int) -> int:
    """4 or 6 for a socket address family (AF_INET6's number differs between systems)."""
    return 6 if family == socket.AF_INET6 else 4
