"""Run the CLI on a pseudo-terminal (as a user's shell would), to test what a terminal
gets: the updating progress line, colour, the summary last."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Sequence

from tests.conftest import cli_env

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def run_on_pty(args: Sequence[str], *, env: dict[str, str] | None = None, columns: int = 80,
               prefix: Sequence[str] = (), stdout_pipe: bool = False, timeout: float = 120,
               typed: bytes | None = None, typed_after: bytes = b"") -> tuple[int, str, str]:
    """(exit status, what the terminal got, stdout when it was a pipe) of ``pathprobe
    ARGS`` with stderr (and stdout unless ``stdout_pipe``) on a terminal ``columns`` wide;
    ``typed``: lines typed (pasted) on it once it showed ``typed_after``, then one Ctrl-D."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    full = cli_env({"TERM": "xterm", **(env or {})})
    if "NO_COLOR" not in (env or {}):
        full.pop("NO_COLOR", None)
    proc = subprocess.Popen([*prefix, sys.executable, "-m", "pathprobe", *args], stdin=slave,
                            stdout=subprocess.PIPE if stdout_pipe else slave, stderr=slave,
                            env=full, close_fds=True, cwd="/")
    os.close(slave)
    got = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if typed is not None and typed_after in got:
            for line in typed.splitlines(keepends=True):   # (a line at a time, as pasted)
                os.write(master, line)
            os.write(master, b"\x04")
            typed = None
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:   # the other side closed
                break
            if not data:
                break
            got += data
        elif proc.poll() is not None:
            break
    if proc.poll() is None:   # (out of time: a hang fails the test, not the whole run)
        proc.kill()
    piped = proc.stdout.read().decode() if stdout_pipe and proc.stdout else ""
    proc.wait(timeout=10)
    os.close(master)
    return proc.returncode, got.decode("utf-8", "replace"), piped


def visible_lines(terminal: str) -> list[str]:
    """What stays or flashes on the screen: split at line ends and carriage returns,
    colour removed."""
    return [ANSI.sub("", piece) for line in terminal.split("\n") for piece in line.split("\r")]
