"""The second of two captures is read in a forked child: same answer, same errors."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pytest

from pathprobe.capture.beside import Beside
from pathprobe.errors import CaptureError

CAPTURES = Path(__file__).resolve().parents[1] / "fixtures" / "captures"


@pytest.fixture(autouse=True)
def two_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    """A child is used only with a second CPU: these tests want one whatever the machine."""
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1})


def test_the_work_runs_in_another_process_and_its_result_comes_back() -> None:
    job = Beside(lambda: (os.getpid(), list(range(100_000))))
    pid, numbers = job.result()
    assert pid != os.getpid()
    assert numbers == list(range(100_000))      # more than a pipe buffer holds


def test_the_childs_error_is_raised_here_with_its_message() -> None:
    def bad() -> None:
        raise CaptureError("b.pcap: not a capture")

    job = Beside(bad)
    with pytest.raises(CaptureError, match=r"b\.pcap: not a capture"):
        job.result()


def test_a_result_that_cannot_be_handed_over_is_computed_here() -> None:
    job = Beside(lambda: (os.getpid(), threading.Lock()))   # a lock does not pickle
    pid, _lock = job.result()
    assert pid == os.getpid()


def test_cancel_stops_the_child() -> None:
    job = Beside(lambda: threading.Event().wait(30))
    pid = job.pid
    job.cancel()
    assert pid and job.pid == 0
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_with_one_cpu_the_work_is_done_here(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0})
    job = Beside(os.getpid)
    assert job.pid == 0 and job.result() == os.getpid()


@pytest.mark.parametrize("pair", [("blackhole-leg1", "blackhole-leg2"), ("stall", "mtu"),
                                  ("healthy", "healthy")])
def test_two_captures_give_the_same_report_with_or_without_the_child(
        pair: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """What the child hands back (the analysis and the segment log, pickled) makes the
    same report as reading both captures here; and it is handed back: the parent reads
    one capture, not both (a result that cannot be pickled is read again here, which is
    the same report in twice the time)."""
    from pathprobe.api import analyze
    from pathprobe.capture.run import CaptureRun
    from pathprobe.render import report_json

    paths = [CAPTURES / f"{name}.pcap" for name in pair]
    seen: list[int] = []
    fork = os.fork
    read_here: list[str] = []
    one = CaptureRun._one

    def counted_fork() -> int:
        seen.append(1)
        return fork()

    def counted_one(self: CaptureRun, source: Any, log: Any, live: Any = None,
                    stoppable: bool = False) -> Any:
        read_here.append(source[2])      # (the child's own calls stay in the child)
        return one(self, source, log, live, stoppable)

    monkeypatch.setattr(os, "fork", counted_fork)
    monkeypatch.setattr(CaptureRun, "_one", counted_one)
    beside = analyze(*paths)
    assert read_here == [paths[0].name]        # the second came from the child
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0})
    here = analyze(*paths)
    assert len(seen) == 1                      # the first run used a child, the second not
    a, b = (report_json(r) for r in (beside, here))
    for doc in (a, b):
        for key in ("started", "duration_s"):
            doc.pop(key, None)
    assert a == b and a["verdicts"]
