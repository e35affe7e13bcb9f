"""What sizing leg 2 down with plain-HTTP Range requests observes (made by
``pathprobe.probes.http_range``, judged by ``pathprobe.range_rules``; sentences:
``pathprobe.render.evidence.http_range``).

Without a reflector the down direction of leg 2 has no sized reply of its own.
Where the proxy also forwards plain HTTP (``GET http://host/``, as the FMC itself
sends it), ranged answers of a chosen size from one object are those replies.
"""

from __future__ import annotations

from dataclasses import dataclass

from pathprobe.compat import StrEnum
from pathprobe.facts.tunnel import Outcome
from pathprobe.wire import http_connect as hc


class RangeFact(StrEnum):
    """What the Range sizing can observe; each value is stable (JSON `facts[].fact`)."""

    SIZED = "range-sized"                    # answers up to {ok} body bytes whole, {bad} not
    NOT_POSSIBLE = "range-not-possible"      # why no ranged answer could size leg 2 down
    OBJECT = "range-object"                  # the object sized: {url}, {total} bytes
    FULL_SIZE_CROSSED = "range-full-size-crossed"   # {crossed}-byte answers came whole


class RangeUnmeasured(StrEnum):
    """Why leg 2 down could not be sized with ranged plain-HTTP answers (stable values)."""

    PROXY_REFUSES = "proxy-refuses-http"     # the proxy answered the GET itself (403, 407 ...)
    NO_OBJECT = "no-object"                  # no object at that URL (3xx, 404, 5xx ...)
    NO_RANGE = "no-range"                    # the upstream ignores Range (200 with the whole)
    TOO_SMALL = "object-too-small"           # the object is smaller than a full segment
    CACHED = "cached"                        # the answer came from a cache, not over leg 2
    NO_ANSWER = "no-answer"                  # not even a one-byte range was answered
    LOW_FAILS = "low-fails"                  # even the smallest sized answer stalled
    NOT_BY_SIZE = "not-by-size"              # larger answers came whole, smaller ones did not


@dataclass(frozen=True)
class RangeAnswer:
    """One ranged GET through the proxy: what came back (the head, when complete)."""

    first: int
    last: int                    # the range asked for (inclusive)
    outcome: Outcome             # ANSWERED (head and the whole body), STALLED, RESET, CLOSED
    elapsed_s: float             # request sent -> answer complete (or given up)
    received: int = 0            # body bytes that came
    head: hc.ConnectResponse | None = None
    detail: str = ""

    @property
    def wanted(self) -> int:
        return self.last - self.first + 1
