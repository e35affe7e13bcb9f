"""Where the capture itself was not running: no packet at all for a day, or time jumping
back by more than a minute (pieces merged from different captures, as public collections
hold: jumps of days to decades). A connection's silence across such a pause is no evidence
of a stall. A quiet hour is not a pause: a filtered capture of one stuck connection is
quiet. Pure."""

from __future__ import annotations

from collections.abc import Sequence

from pathprobe.capture.linklayer import Frame

PAUSE_S = 86400.0     # no packet at all for this long: the capture stopped (or was merged)
BACK_S = 60.0         # time going back this far: merged (small steps back: queue reordering)
PAUSES_MAX = 256      # pauses remembered (the first ones)

# (frame before, frame after, time of the frame before, time of the frame after)
Pause = tuple[int, int, float, float]


def batch_pauses(batch: Sequence[Frame], previous: tuple[int, float] | None) -> list[Pause]:
    """The pauses before and within one batch of frames (``previous``: the last frame
    before it). Cheap for busy captures: a batch that spans less than a pause, forward, is
    not walked (a jump back in time that a jump forward undoes within it goes unseen)."""
    first, last = batch[0], batch[-1]
    if previous is not None and not -BACK_S <= first[1] - previous[1] <= PAUSE_S:
        out = [(previous[0], first[0], previous[1], first[1])]
    else:
        out = []
    if -BACK_S <= last[1] - first[1] <= PAUSE_S:
        return out
    for a, b in zip(batch, batch[1:]):
        if not -BACK_S <= b[1] - a[1] <= PAUSE_S:
            out.append((a[0], b[0], a[1], b[1]))
    return out


def first_pause(pauses: Sequence[Pause], after_frame: int, until_frame: int | None
                ) -> Pause | None:
    """The first pause between two frames of a connection (``until_frame`` None: to the
    end of the capture)."""
    for p in pauses:
        if p[0] >= after_frame and (until_frame is None or p[1] <= until_frame):
            return p
    return None
