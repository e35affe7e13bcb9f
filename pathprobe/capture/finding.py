"""A finding about one connection, before findings are merged across connections, and
the helpers every capture rule uses to cite evidence (``rules``, ``stall``, ``icmp``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from pathprobe.capture.conn import UP, Conn
from pathprobe.facts.capture import CaptureFact
from pathprobe.model import (
    Basis,
    Confidence,
    Direction,
    Evidence,
    HelloSizes,
    Leg,
    Limit,
    Number,
    Step,
    VerdictCode,
)


def ev(fact: CaptureFact, frame: int | None = None, /, **values: Number) -> Evidence:
    """A capture evidence item; a cited frame goes both into the values and ``frames``."""
    if frame is None:
        return Evidence(fact, Step.CAPTURE, values)
    return Evidence(fact, Step.CAPTURE, {"frame": frame, **values}, (frame,))


@dataclass
class Finding:
    """A verdict about one connection, before merging across connections."""

    code: VerdictCode
    leg: Leg
    direction: Direction | None
    numbers: dict[str, Number]
    evidence: list[Evidence]
    confidence: Confidence = Confidence.MEASURED
    # the values that must match for two connections' findings to merge
    key_values: tuple[Number, ...] = ()
    limit: Limit | None = None
    basis: Basis = Basis.CAPTURE_POINT
    conn: Conn | None = field(default=None, repr=False)
    mss_received: int | None = None   # MSS_CLAMPED: the SYN-ACK's MSS
    # The facts the rules read, typed (``numbers`` holds them under their JSON names).
    hello: HelloSizes | None = None
    others_connected: int | None = None
    target_text: str | None = None
    plain_http: bool = False
    max_seg_down: int | None = None
    full_seg: int | None = None
    pinged: str | None = None   # a DF ping sweep's destination
    unproven: bool = False   # its cause not proven (Verdict.unproven): a warning
    size_untested: int | None = None   # Verdict.size_untested

    def key(self) -> tuple[object, ...]:
        return (self.code, self.leg, self.direction, self.key_values)


def direction_of(d: int) -> Direction:
    return Direction.UP if d == UP else Direction.DOWN


def ended_values(c: Conn, capture_end: float) -> dict[str, Number]:
    """How the connection ended, as values for the ``ended`` sentence."""
    if c.end is None and c.paused is not None:
        return {"ended": "paused", "after_s": round(c.paused[1] - c.last_ts, 1),
                "end_frame": c.paused[0]}
    if c.end is None and c.evicted_at is not None:
        return {"ended": "silent", "after_s": round(c.evicted_at - c.last_ts, 1)}
    if c.end is None:
        return {"ended": "open", "after_s": round(capture_end - c.last_ts, 1)}
    how, frame, _ts = c.end
    return {"ended": "closed", "how": how, "end_frame": frame}
