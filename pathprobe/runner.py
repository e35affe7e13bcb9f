"""One way to run a measuring command's steps into a Report, for every command.

The steps yield Measurements; what they yielded before a Ctrl-C is kept and the
report is marked partial (``Interrupted``, typed: ``render`` says it). Timing and the
findings (``findings.finish``, which also adds the hints naming a command's own flags)
are done here once; ``commands.common.run_measuring`` adds the output and the exit
status.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from pathprobe.compat import UTC
from pathprobe.findings import Recommender, default_recommender, finish
from pathprobe.model import (
    Evidence,
    Interrupted,
    Measurement,
    Progress,
    Report,
    no_progress,
)

Measure = Callable[[Progress], Iterable[Measurement]]


def utc_now_iso() -> str:
    """When a run started, as the report's ``started`` says it."""
    return datetime.now(UTC).isoformat(timespec="seconds")


class InterruptedDuring(KeyboardInterrupt):
    """Ctrl-C while a named part of a run was going on (the partial report says which)."""

    def __init__(self, during: str) -> None:
        super().__init__(during)
        self.during = during


def measure_report(command: str, measure: Measure, *, started: str,
                   progress: Progress = no_progress, clock: Callable[[], float] = time.monotonic,
                   hints: bool = False,
                   leg2_target: str | None = None, notes: Sequence[Evidence] = (),
                   recommender: Recommender = default_recommender,
                   on_step: Callable[[float], None] | None = None) -> Report:
    """Run ``measure`` and make its report; Ctrl-C keeps what was measured so far.
    ``hints``: add the lines naming the command's own flags (the CLI's, not the library's).
    ``on_step`` gets each step's wall time (a step: what one Measurement took)."""
    t0 = clock()
    measured: list[Measurement] = []
    interrupted: Interrupted | None = None
    try:
        last = t0
        for m in measure(progress):
            measured.append(m)
            if on_step is not None:
                now = clock()
                on_step(now - last)
                last = now
    except InterruptedDuring as e:
        interrupted = Interrupted(e.during)
    except KeyboardInterrupt:
        interrupted = Interrupted()
    return finish(measured, command=command, started=started, duration_s=clock() - t0,
                  interrupted=interrupted, hints=hints, notes=notes,
                  leg2_target=leg2_target, recommender=recommender)
