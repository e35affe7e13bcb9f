"""The reading loop's moments in a capture's time. Where the capture itself was not
running: no packet at all for a day, or time jumping back by more than a minute (pieces
merged from different captures, as public collections hold: jumps of days to decades). A
connection's silence across such a pause is no evidence of a stall. A quiet hour is not a
pause: a filtered capture of one stuck connection is quiet. And where idle connections
are swept: at fixed frames, whatever batches the reader made. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from pathprobe.capture.linklayer import Frame

SWEEP_EVERY = 16384   # frames between two sweeps of idle connections (Tracker.evict)

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


def next_sweep(frame: int) -> int:
    """The first frame of the span of SWEEP_EVERY frames after the one ``frame`` is in."""
    return (frame - 1) // SWEEP_EVERY * SWEEP_EVERY + SWEEP_EVERY + 1


def sweep_aligned(batches: Iterable[list[Frame]]) -> Iterator[list[Frame]]:
    """``batches`` cut where a span of SWEEP_EVERY frames begins, so that the reading loop,
    which sweeps before a batch that starts a span, sweeps at the same frames and times
    whatever batches the reader made: a file's chunks, a pipe's pieces as they came, pcap
    or pcapng. (Swept elsewhere, an idle connection is judged at another time, or not yet
    when its next packet comes: the same capture would tell two stories.)"""
    border = SWEEP_EVERY + 1
    for batch in batches:
        while batch and batch[-1][0] >= border:
            at = border - batch[0][0]     # (pcap frames are numbered without gaps; text not)
            if not (0 <= at < len(batch) and batch[at][0] == border):
                at = next(i for i, f in enumerate(batch) if f[0] >= border)
            if at:
                yield batch[:at]
                batch = batch[at:]
            border = next_sweep(batch[0][0])
        yield batch
