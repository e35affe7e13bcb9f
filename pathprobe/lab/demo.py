"""`pathprobe demo`'s lifecycle: build the lab, run one command in its fmc namespace with
the report streaming to the user, and tear the lab down whatever happens (error, Ctrl-C,
a command that does not finish)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Sequence

from pathprobe.lab import topology as topo
from pathprobe.lab.manager import down, lab_environment, up
from pathprobe.model import ExitStatus

DEMO_TIMEOUT_S = 120
INTERRUPT_GRACE_S = 10  # for the partial report after Ctrl-C


def run_demo(chosen: topo.Scenario, prefix: str, argv: Sequence[str],
             say: Callable[[str], None]) -> int:
    """Build ``chosen``, run ``argv`` in the fmc namespace (stdout and stderr inherited),
    tear down; the command's exit status, or 3 when interrupted or stopped."""
    say(f"building the lab: {chosen.name}: {chosen.description}")
    status = int(ExitStatus.NOT_MEASURED)
    try:
        state = up(chosen, prefix, say)
        say(f"lab ready in {state.ready_s:.1f} s; running diagnose in {prefix}fmc")
        env = lab_environment(prefix)
        for name in ("HTTPS_PROXY", "https_proxy"):  # the demo passes --proxy explicitly
            env.pop(name, None)
        proc = subprocess.Popen(["ip", "netns", "exec", topo.namespace(prefix, "fmc"), *argv],
                                env=env)
        status = _wait(proc, say)
    except KeyboardInterrupt:
        say("interrupted")
        status = int(ExitStatus.NOT_MEASURED)
    finally:
        removed = down(prefix)
        say(f"lab torn down ({len(removed)} resources removed)")
    return status


def _wait(proc: subprocess.Popen[bytes], say: Callable[[str], None]) -> int:
    try:
        return proc.wait(timeout=DEMO_TIMEOUT_S)
    except KeyboardInterrupt:
        # The child got the same SIGINT and prints its partial report; let it.
        try:
            proc.wait(timeout=INTERRUPT_GRACE_S)
        except (subprocess.TimeoutExpired, KeyboardInterrupt):
            proc.kill()
            proc.wait()
        say("interrupted")
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        say(f"diagnose did not finish within {DEMO_TIMEOUT_S} s; stopped it")
    return int(ExitStatus.NOT_MEASURED)
