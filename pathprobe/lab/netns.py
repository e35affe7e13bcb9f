"""Run Python code inside a named network namespace without forking.

``setns(2)`` changes the namespace of the calling thread only, so we do it in
a fresh thread: sockets made there belong to the namespace for their whole
life, and the caller's thread is never moved. Python 3.11 has no os.setns,
hence ctypes.
"""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from pathprobe.errors import LabError

CLONE_NEWNET = 0x40000000
NETNS_DIR = Path("/run/netns")

T = TypeVar("T")


def _setns(path: Path) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns({path}): {os.strerror(err)}")
    finally:
        os.close(fd)


def run_in_netns(name: str, fn: Callable[[], T], timeout_s: float = 60.0) -> T:
    """Call ``fn()`` in a new thread that has joined namespace ``name``; return its result."""
    path = NETNS_DIR / name
    if not path.exists():
        raise LabError(f"network namespace {name} does not exist (is the lab up?)")
    box: dict[str, object] = {}

    def target() -> None:
        try:
            _setns(path)
            box["result"] = fn()
        except BaseException as e:  # handed to the caller's thread below
            box["error"] = e

    thread = threading.Thread(target=target, name=f"netns-{name}", daemon=True)
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        raise LabError(f"operation in namespace {name} did not finish in {timeout_s:.0f} s")
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["result"]  # type: ignore[return-value]


def write_sysctl(key: str, value: str | int) -> None:
    """Write a sysctl of the current thread's network namespace via /proc/sys."""
    Path("/proc/sys", *key.split(".")).write_text(f"{value}\n")
