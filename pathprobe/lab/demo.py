"""`pathprobe demo`'s lifecycle: build the lab, run one command in its fmc namespace with
the report streaming to the user, and tear the lab down whatever happens (error, Ctrl-C
at any moment and any number of times, a command that does not finish)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Callable, Sequence

from pathprobe.interrupts import FirstInterrupt, first_interrupt, masked
from pathprobe.lab import topology as topo
from pathprobe.lab.execute import lab_environment
from pathprobe.lab.manager import down, up
from pathprobe.model import ExitStatus

DEMO_TIMEOUT_S = 120
INTERRUPT_GRACE_S = 10  # for the partial report after Ctrl-C


def run_demo(chosen: topo.Scenario, prefix: str, argv: Sequence[str],
             say: Callable[[str], None]) -> int:
    """Build ``chosen``, run ``argv`` in the fmc namespace (stdout and stderr inherited),
    tear down; the command's exit status, or 3 when interrupted before it had one.

    Only the first Ctrl-C interrupts (the build, or the command: it prints its partial
    report); once the command is done, or the teardown began, Ctrl-C changes nothing.
    """
    say(f"building the lab: {chosen.name}: {chosen.description}")
    guard = first_interrupt()
    status: int | None = None
    try:
        state = up(chosen, prefix, say)
        say(f"lab ready in {state.ready_s:.1f} s; running diagnose in {prefix}fmc")
        env = lab_environment(prefix)
        for name in ("HTTPS_PROXY", "https_proxy"):  # the demo passes --proxy explicitly
            env.pop(name, None)
        status = _run(["ip", "netns", "exec", topo.namespace(prefix, "fmc"), *argv], env, say)
        guard.disarm()
    except KeyboardInterrupt:
        pass
    finally:
        _teardown(prefix, guard, say)
    if status is None:
        say("interrupted")
        return int(ExitStatus.NOT_MEASURED)
    return status


def _run(argv: list[str], env: dict[str, str], say: Callable[[str], None]) -> int:
    """Run the command (its report streams to our stdout) and return its status. It runs
    in its own session, so Ctrl-C reaches it exactly once, from us: then it gets
    INTERRUPT_GRACE_S to print its partial report (exit 3)."""
    proc = subprocess.Popen(argv, env=env, start_new_session=True)
    try:
        try:
            return _as_demo_status(proc.wait(timeout=DEMO_TIMEOUT_S))
        except KeyboardInterrupt:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGINT)
            return _as_demo_status(proc.wait(timeout=INTERRUPT_GRACE_S))
    except subprocess.TimeoutExpired:
        say(f"diagnose did not finish in time ({DEMO_TIMEOUT_S} s, or {INTERRUPT_GRACE_S} s "
            "after Ctrl-C); stopped it")
        return int(ExitStatus.NOT_MEASURED)
    finally:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _as_demo_status(status: int) -> int:
    """The command's status as the demo's: interrupted while it was still starting (130)
    or killed by a signal (negative) is 3, interrupted; the rest as it is."""
    if status < 0 or status == ExitStatus.INTERRUPTED_EARLY:
        return int(ExitStatus.NOT_MEASURED)
    return status


def _teardown(prefix: str, guard: FirstInterrupt, say: Callable[[str], None]) -> None:
    """Remove the lab; no Ctrl-C can cut this short (SIGINT is blocked meanwhile, also
    for the programs it runs). Tried again should the first Ctrl-C land on its way in."""
    for _ in range(2):
        try:
            guard.disarm()
            with masked():
                removed = down(prefix)
            say(f"lab torn down ({len(removed)} resources removed)")
            return
        except KeyboardInterrupt:
            continue
