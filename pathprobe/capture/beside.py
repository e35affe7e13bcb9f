"""Run one piece of work in a forked child while the parent does another: two captures
read at once on two cores (``analyze a.pcap b.pcap``).

Why a fork and not threads: the reading loop is pure Python and holds the GIL, so only a
second process reads the second capture at the same time. The child hands back its
result pickled through a pipe; it never writes to the terminal (a progress thread of the
parent may hold a lock at the moment of the fork), so its progress messages come back
with the result. Where ``os.fork`` is missing or only one CPU is available, or the child
cannot hand over its result (unpicklable, killed), the parent does the work itself:
never a different answer, at worst the time of doing both in turn.

Ctrl-C (the terminal sends it to both processes) is the parent's to act on: the child
only notes it (a ``Stop``), so that a reading of its own that may stop
(``stop_on_interrupt``) stops, and its result, whole or partial, is still handed over.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import sys
from collections.abc import Callable
from typing import Any, Generic, TypeVar, cast

from pathprobe.capture.analysis import no_cyclic_gc
from pathprobe.interrupts import Stop

T = TypeVar("T")


class Beside(Generic[T]):
    """``work`` running in a child process; ``result()`` waits for it (or does it here)."""

    def __init__(self, work: Callable[[], T]) -> None:
        self.work = work
        self.pid = 0
        self.fd = -1
        self.forked = False   # a child does the work (else ``result`` does it here, in turn)
        if hasattr(os, "fork") and sys.platform.startswith("linux") and _cpus() > 1:
            self._start()

    def _start(self) -> None:
        r, w = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            os.close(r)
            os.close(w)
            return
        if pid == 0:   # the child: work, hand over, leave without running any cleanup
            os.close(r)
            signal.signal(signal.SIGINT, Stop())
            _child(self.work, w)
        os.close(w)
        self.pid, self.fd, self.forked = pid, r, True

    def result(self) -> T:
        """The child's result (its exception raised here), or the work done here."""
        if not self.pid:
            return self.work()
        ok: bool | None = None
        value: Any = None
        try:
            # Loaded as the child writes it (the two overlap), without the cyclic garbage
            # collector, which would walk the growing heap of new objects again and again.
            with os.fdopen(self.fd, "rb") as f, no_cyclic_gc():
                self.fd = -1
                ok, value = pickle.load(f)
        except Exception:   # nothing (or not all) handed over: killed, out of memory
            ok = None
        finally:
            self._reap()
        if ok is None:
            return self.work()
        if not ok:
            raise value
        return cast(T, value)

    def cancel(self) -> None:
        """Stop the child (the parent failed or was interrupted)."""
        if self.pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            self._reap()
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def _reap(self) -> None:
        pid, self.pid = self.pid, 0
        if pid:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)


def _cpus() -> int:
    """CPUs this process may run on: with one, a child would only add the hand-over."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _child(work: Callable[[], object], fd: int) -> None:
    status = 0
    try:
        try:
            outcome: tuple[bool | None, object] = (True, work())
        except BaseException as e:   # handed to the parent, raised there
            outcome = (False, e)
        with os.fdopen(fd, "wb") as f:
            # Written as it is pickled; if that fails half-way, the parent cannot load
            # it and does the work itself.
            pickle.dump(outcome, f, protocol=pickle.HIGHEST_PROTOCOL)
    except BaseException:   # the parent sees no result and does the work
        status = 1
    finally:
        os._exit(status)
