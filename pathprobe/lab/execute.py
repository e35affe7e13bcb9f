"""`lab exec`: run a command inside a lab namespace, as a shell would.

The command gets the lab's proxy and target in its environment, the terminal's
foreground while it runs (so it can prompt and gets Ctrl-C itself), and a Ctrl-C
or SIGTERM sent only to us is passed on once; then it has EXEC_GRACE_S to print
its partial report before it is killed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence

from pathprobe.errors import LabError
from pathprobe.lab import topology as topo
from pathprobe.lab.manager import existing_namespaces, kill_group, require_root

# After Ctrl-C, how long 'lab exec' waits for the command to print its partial report.
EXEC_GRACE_S = 10.0


def lab_environment(prefix: str) -> dict[str, str]:
    """Environment for commands run inside the fmc namespace: the lab proxy and target."""
    env = dict(os.environ)
    env.update({
        "HTTPS_PROXY": topo.PROXY_URL, "https_proxy": topo.PROXY_URL,
        "PATHPROBE_LAB": prefix,
        "PATHPROBE_LAB_TARGET": f"{topo.UPSTREAM_NAME}:{topo.UPSTREAM_TLS_PORT}",
    })
    return env


def exec_in(prefix: str, node: str, argv: Sequence[str]) -> int:
    """Run ``argv`` inside a lab namespace; returns its exit status (128+N if killed by N).

    The command runs in its own process group (given the terminal while it runs), so
    a Ctrl-C reaches it once: from the terminal, or forwarded from us when only we
    were signalled (SIGINT/SIGTERM). Then it gets EXEC_GRACE_S to print its partial
    report before it is killed.
    """
    require_root()
    ns = topo.namespace(prefix, node)
    if ns not in existing_namespaces():
        raise LabError(f"the lab is not up (no namespace {ns}); run 'pathprobe lab up' first")
    if not argv:
        raise LabError("nothing to run: give a command after '--'")
    try:
        proc = subprocess.Popen(["ip", "netns", "exec", ns, *argv], env=lab_environment(prefix),
                                process_group=0)
    except OSError as e:
        raise LabError(f"cannot run {argv[0]}: {e.strerror or e}") from None
    with _foreground(proc.pid), _forwarding(proc) as interrupted:
        deadline: float | None = None
        while True:
            try:
                status = proc.wait(0.25)
                break
            except subprocess.TimeoutExpired:
                if interrupted and deadline is None:
                    deadline = time.monotonic() + EXEC_GRACE_S
                if deadline is not None and time.monotonic() > deadline:
                    kill_group(proc.pid)
    return status if status >= 0 else 128 - status


@contextlib.contextmanager
def _forwarding(proc: subprocess.Popen[bytes]) -> Iterator[list[int]]:
    """Pass SIGINT/SIGTERM on to ``proc``'s group; the yielded list records them."""
    got: list[int] = []

    def forward(signum: int, frame: object) -> None:
        got.append(signum)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield got
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def _foreground(pgid: int) -> Iterator[None]:
    """Make ``pgid`` the terminal's foreground group while it runs (so it can prompt and
    gets Ctrl-C itself), as a shell does; nothing happens without a controlling terminal."""
    try:
        tty = os.open("/dev/tty", os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        yield
        return
    try:
        ours = os.tcgetpgrp(tty)
        if ours != os.getpgrp():
            yield  # we are not in the foreground ourselves: leave the terminal alone
            return
        with contextlib.suppress(OSError):
            os.tcsetpgrp(tty, pgid)
        try:
            yield
        finally:
            previous = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
            with contextlib.suppress(OSError):
                os.tcsetpgrp(tty, ours)
            signal.signal(signal.SIGTTOU, previous)
    finally:
        os.close(tty)
