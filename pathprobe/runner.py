"""One way to run a measuring command's steps into a Report, for every command.

The steps yield Measurements; what they yielded before a Ctrl-C is kept and the
report is marked partial. Timing, the hints that name a command's own flags (from
the steps' typed ``unmeasured``) and the findings (``findings.finish``) are done
here once; ``commands.common.run_measuring`` adds the output and the exit status.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime

from pathprobe.compat import UTC
from pathprobe.findings import Recommender, default_recommender, finish
from pathprobe.model import (
    Evidence,
    Measurement,
    Progress,
    Report,
    UnmeasuredReason,
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


def hints_for(measured: Sequence[Measurement], hints: Mapping[UnmeasuredReason, str]
              ) -> tuple[str, ...]:
    """The command's hint for each reason a step measured nothing, once each."""
    return tuple(dict.fromkeys(hints[u.reason] for m in measured for u in m.unmeasured
                               if u.reason in hints))


def measure_report(command: str, measure: Measure, *, started: str,
                   progress: Progress = no_progress, clock: Callable[[], float] = time.monotonic,
                   hints: Mapping[UnmeasuredReason, str] | None = None,
                   leg2_target: str | None = None, notes: Sequence[Evidence] = (),
                   recommender: Recommender = default_recommender,
                   on_step: Callable[[float], None] | None = None) -> Report:
    """Run ``measure`` and make its report; Ctrl-C keeps what was measured so far.
    ``on_step`` gets each step's wall time (a step: what one Measurement took)."""
    t0 = clock()
    measured: list[Measurement] = []
    extra: list[str] = []
    partial = False
    try:
        last = t0
        for m in measure(progress):
            measured.append(m)
            if on_step is not None:
                now = clock()
                on_step(now - last)
                last = now
    except InterruptedDuring as e:
        partial = True
        extra.append(f"interrupted during: {e.during}")
    except KeyboardInterrupt:
        partial = True
        extra.append(f"interrupted: '{command}' was stopped before it finished")
    extra.extend(hints_for(measured, hints or {}))
    return finish(measured, command=command, started=started, duration_s=clock() - t0,
                  partial=partial, extra_errors=extra, notes=notes, leg2_target=leg2_target,
                  recommender=recommender)
