"""A long read of a capture as its user lives it: a line every few seconds on how far it
got, and Ctrl-C that stops the reading between two batches of frames, so that what was
read is still analysed and reported (marked partial) instead of lost.

A capture of a busy FMC runs to gigabytes: minutes of reading. The hot loop of
``analysis.track`` only iterates what ``Reading.batches`` hands it; the check for Ctrl-C
and the clock are read once a batch (about a thousand frames), never per frame.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from pathprobe.capture.linklayer import Frame
from pathprobe.capture.reader import ReadStats
from pathprobe.interrupts import Stop, StopAsked
from pathprobe.model import Progress

FIRST_SAY_S = 1.0     # the first line of progress (a smaller capture is read by then)
SAY_EVERY_S = 3.0     # between two (a pipe or a log gets each one)
MB = 1_000_000


class Reading:
    """Feeds the batches of a capture on, saying how far it got, until the end or Ctrl-C
    (``stats.stopped``; ``stats.frames`` then counts the frames handed on, all read)."""

    def __init__(self, name: str, stats: ReadStats, progress: Progress | None,
                 stop: Stop | None, clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self.stats = stats
        self.progress = progress
        self.stop = stop
        self.clock = clock
        self.started = clock()
        self.next_say = self.started + FIRST_SAY_S
        self.handed = 0      # the last frame handed on, whose batch was analysed
        self.parse_cut = False   # Ctrl-C ended a text's parse: all it parsed is analysed
        stats.parsing = self._parsing

    def batches(self, source: Iterator[list[Frame]]) -> Iterator[list[Frame]]:
        """``source``'s batches, each once the one before was analysed; Ctrl-C ends them
        after the batch being analysed, or ends a wait for input (a pipe gone quiet)."""
        stop = self.stop
        while True:
            if stop is not None:
                stop.waiting = True
            try:
                batch = next(source, None)
                if stop is not None:
                    stop.waiting = False
            except StopAsked:   # (nothing of the batch it waited for was handed on)
                batch = None
            if batch is None or (stop is not None and stop.asked and not self.parse_cut):
                self._end(source, stop is not None and stop.asked)
                return
            # (said only with more to read: a capture read in one go says nothing)
            if self.progress is not None and self.handed and self.clock() >= self.next_say:
                self.next_say = self.clock() + SAY_EVERY_S
                self.progress(self.line())
            yield batch
            self.handed = batch[-1][0]
            if stop is not None and stop.asked and not self.parse_cut:
                self._end(source, True)
                return

    def _end(self, source: Iterator[list[Frame]], stopped: bool) -> None:
        if stopped:
            self.stats.stopped = True
            self.stats.frames = self.handed    # (a reader may have counted a batch it built)
            self.stats.stopped_at = self._where()
            close = getattr(source, "close", None)
            if close is not None:
                close()     # the file is closed now, not when the generator is collected

    def _parsing(self, line: int, lines: int) -> bool:
        """A text's parse at ``line`` of ``lines``: says how far it got; False (parse no
        further) once Ctrl-C asked to stop, and then what it parsed is analysed whole."""
        stop = self.stop
        if stop is not None:
            stop.waiting = False    # (no wait for input now: Ctrl-C asks, as for frames)
            if stop.asked:
                self.parse_cut = True
                return False
        if self.progress is not None and line and self.clock() >= self.next_say:
            self.next_say = self.clock() + SAY_EVERY_S
            self.progress(f"parsing {self.name}: line {line:,} of {lines:,}{self._hint()}")
        return True

    def _hint(self) -> str:
        return " (Ctrl-C: stop, report what was read)" if self.stop is not None else ""

    def line(self) -> str:
        """How far the reading got, as a progress line (the display shows the seconds)."""
        where = self._where()
        part = ""   # (text is read whole before its first packet: its share says nothing)
        if where is not None and self.stats.size and self.stats.text is None:
            share = min(100, 100 * where // self.stats.size)
            part = f", {share}% of {self.stats.size / MB:,.0f} MB"
        return f"reading {self.name}: {self.handed:,} frames{part}{self._hint()}"

    def _where(self) -> int | None:
        where = self.stats.where
        if where is None:
            return None
        try:
            return where()
        except (OSError, ValueError):   # (closed, or no position after all)
            return None
