"""Ctrl-C at every moment of a run (issue 23 items 4 and 9).

Three moments need more than Python's default (KeyboardInterrupt wherever the
program happens to be):

- before the CLI is ready (interpreter start, imports): nothing has happened
  yet, so the run ends at once, quietly, with 130 (``pathprobe.__main__``);
- while a lab or other resources are cleaned up: SIGINT is blocked (the
  children the cleanup starts inherit the mask, so a Ctrl-C from the terminal
  cannot kill them either) and taken back afterwards (``masked``);
- after the report is complete: its exit status stands (``report_done``);
- a run that builds something (``demo``): only the first Ctrl-C interrupts it
  (``first_interrupt``), and its cleanup runs ``masked``;
- a long read of a capture (``analyze``): Ctrl-C asks the reading to stop at its next
  safe point, so what was read is still analysed (``stop_on_interrupt``).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import FrameType
from typing import Optional, Union

Handler = Union[Callable[[int, Optional[FrameType]], object], int, signal.Handlers, None]
_held: list[Handler] = []


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _install(handler: Handler) -> None:
    """Set the SIGINT handler; the first one replaced is what ``release`` restores."""
    previous = signal.signal(signal.SIGINT, handler)  # type: ignore[arg-type]
    if not _held:
        _held.append(previous)


def report_done() -> None:
    """The report is written: from now on Ctrl-C is ignored, so the exit status is the
    report's, not that of an interrupt arriving on the way out."""
    if _main_thread():
        _install(signal.SIG_IGN)


class FirstInterrupt:
    """The SIGINT handler of a run that must finish what the first Ctrl-C starts (the
    partial report of a measuring command, ``demo``'s teardown): that one raises
    KeyboardInterrupt; later ones, and any after ``disarm``, change nothing."""

    def __init__(self) -> None:
        self.armed = True

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.armed:
            self.armed = False
            raise KeyboardInterrupt

    def disarm(self) -> None:
        """From now on Ctrl-C changes nothing (the work is done, or cleanup begins)."""
        self.armed = False


def first_interrupt() -> FirstInterrupt:
    """Install a ``FirstInterrupt`` for the rest of the run (``release`` undoes it)."""
    guard = FirstInterrupt()
    if _main_thread():
        _install(guard)
    return guard


def release() -> None:
    """Put back the SIGINT handler ``report_done``/``first_interrupt`` replaced (for a
    caller that runs the CLI in its own process and goes on)."""
    if _held and _main_thread():
        signal.signal(signal.SIGINT, _held.pop())


@dataclass
class Masked:
    """What ``masked`` saw: whether Ctrl-C was pressed while it held SIGINT back."""

    interrupted: bool = False


@contextlib.contextmanager
def masked() -> Iterator[Masked]:
    """Run the block with SIGINT and SIGTERM blocked: a cleanup that no Ctrl-C (first,
    second or tenth) can cut short, nor the programs it starts (they inherit the mask).
    A signal that came meanwhile is taken (not delivered) and reported as
    ``interrupted``; the caller decides what it means."""
    seen = Masked()
    if not _main_thread():
        yield seen
        return
    signals = {signal.SIGINT, signal.SIGTERM}
    old = signal.pthread_sigmask(signal.SIG_BLOCK, signals)
    try:
        yield seen
    finally:
        pending = signal.sigpending() & (signals - old)
        for signum in pending:
            signal.sigwait({signum})  # pending, so this returns at once and consumes it
        seen.interrupted = signal.SIGINT in pending or signal.SIGTERM in pending
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


class StopAsked(KeyboardInterrupt):
    """Ctrl-C while a ``Stop`` waited for input: that wait ends here (a KeyboardInterrupt
    still, should it escape: the run then ends as any interrupted one)."""


class Stop:
    """Ctrl-C as a request: a long loop checks ``asked`` where stopping is safe (between
    batches of frames, never inside one). Only while ``waiting`` (for input that may never
    come: a pipe whose writer lives on) does Ctrl-C raise, as StopAsked, to end the wait."""

    def __init__(self) -> None:
        self.asked = False
        self.waiting = False

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.asked:      # (later ones change nothing, as with FirstInterrupt)
            return
        self.asked = True
        if self.waiting:
            raise StopAsked


@contextlib.contextmanager
def stop_on_interrupt() -> Iterator[Stop | None]:
    """Ctrl-C asks the block to stop (``Stop``) instead of interrupting it wherever it is;
    that Ctrl-C was the run's first, so the guard it would have tripped is disarmed. None
    where a signal handler cannot be set (not the main thread) or Ctrl-C is ignored."""
    if not _main_thread() or signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        yield None
        return
    stop = Stop()
    previous = signal.signal(signal.SIGINT, stop)
    # (a Stop it replaces took a Ctrl-C already: that of a child process, which only notes
    # one until its reading begins, ``beside``)
    stop.asked = isinstance(previous, Stop) and previous.asked
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)
        if stop.asked and isinstance(previous, FirstInterrupt):
            previous.disarm()
