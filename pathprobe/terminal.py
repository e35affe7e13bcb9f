"""The terminal: progress on one updating line and colour, or plain lines elsewhere.

On a terminal (stderr a tty, ``TERM`` not ``dumb``, ``NO_COLOR`` unset) progress is one
line rewritten in place - the step, the time it has run, what it waits for - that never
wraps and is cleared before the report; a pipe, ``NO_COLOR``, ``--json`` get plain
``pathprobe: ...`` lines, ``-q`` nothing. With ``-v`` each step's wall time is a line of
its own in either form.
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO

CLEAR = "\r\x1b[K"


def is_terminal(stream: TextIO | None) -> bool:
    """A terminal that understands cursor movement (not a pipe, a file or TERM=dumb)."""
    try:
        tty = stream is not None and stream.isatty()
    except (AttributeError, ValueError):
        return False
    return tty and os.environ.get("TERM", "") != "dumb"


def styled(stream: TextIO | None) -> bool:
    """Colour and an updating line: a terminal, and NO_COLOR (https://no-color.org) unset."""
    return is_terminal(stream) and not os.environ.get("NO_COLOR")


def _fit(line: str) -> str:
    """One line that never wraps: spaces folded, cut to the terminal's width with '…'."""
    columns = shutil.get_terminal_size((80, 24)).columns
    line = " ".join(line.split())
    return line if len(line) <= columns - 1 else line[:max(columns - 2, 10)] + "\u2026"


class Display:
    """Plain progress lines on stderr; ``step_done`` adds a step's wall time (``-v``)."""

    def __init__(self, stream: TextIO | None = None, verbose: bool = False,
                 redact: Callable[[str], str] = str) -> None:
        self.stream = stream
        self.verbose = verbose
        self.redact = redact
        self.step = 1
        self.title: str | None = None     # the first thing the current step said

    def _out(self) -> TextIO:
        return self.stream if self.stream is not None else sys.stderr

    def write_line(self, text: str) -> None:
        out = self._out()
        out.write(f"pathprobe: {text}\n")
        out.flush()

    def __call__(self, message: str) -> None:
        message = self.redact(message)
        if self.title is None:
            self.title = message.rstrip(". ")
        self.show(message)

    def show(self, message: str) -> None:
        self.write_line(message)

    def step_done(self, seconds: float) -> None:
        if self.verbose:
            what = f" ({self.title})" if self.title else ""
            self.write_line(f"step {self.step}: {seconds:.2f} s{what}")
        self.step += 1
        self.title = None

    def close(self) -> None:
        """Nothing stays on the line the report starts on."""


class LiveDisplay(Display):
    """One line rewritten in place: ``[step N, 12 s] what it waits for``, cut to the
    terminal's width; a ticker thread keeps the seconds moving while a step waits."""

    def __init__(self, stream: TextIO | None = None, verbose: bool = False,
                 redact: Callable[[str], str] = str, *,
                 clock: Callable[[], float] = time.monotonic, tick_s: float = 0.5) -> None:
        super().__init__(stream, verbose, redact)
        self.clock = clock
        self.started = clock()
        self.message = "starting"
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.drawn = False
        self.ticker = threading.Thread(target=self._tick, args=(tick_s,), daemon=True,
                                       name="pathprobe-progress")
        self.ticker.start()

    def _tick(self, tick_s: float) -> None:
        while not self.stopped.wait(tick_s):
            self._draw()

    def _draw(self) -> None:
        with self.lock:
            if self.stopped.is_set():
                return
            elapsed = self.clock() - self.started
            line = _fit(f"pathprobe: [step {self.step}, {elapsed:.0f} s] {self.message}")
            out = self._out()
            out.write(CLEAR + line)
            out.flush()
            self.drawn = True

    def show(self, message: str) -> None:
        self.message = message
        self._draw()

    def write_line(self, text: str) -> None:
        """A line that stays (a step's time) above the live one; the ticker redraws it."""
        with self.lock:
            out = self._out()
            out.write(CLEAR + _fit(f"pathprobe: {text}") + "\n")
            out.flush()
            self.drawn = False

    def close(self) -> None:
        self.stopped.set()
        with self.lock:
            if self.drawn:
                out = self._out()
                out.write(CLEAR)
                out.flush()
                self.drawn = False


def display_for(*, quiet: bool, verbose: bool, json_out: bool,
                redact: Callable[[str], str] = str, live: bool = True) -> Display | None:
    """The progress display a run gets: none with -q, the live line on a terminal (not with
    --json or NO_COLOR, nor ``live`` False: the user types on that terminal), else plain
    lines."""
    if quiet:
        return None
    if live and not json_out and styled(sys.stderr):
        return LiveDisplay(verbose=verbose, redact=redact)
    return Display(verbose=verbose, redact=redact)
