"""The exit statuses are exactly the README's table (issue 21 item 5): the table, the enum
and --help agree, and every status is produced for real by the CLI in a subprocess, each
error as one line on stderr."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from pathprobe.model import EXIT_STATUS_HELP, ExitStatus
from tests.conftest import REPO, cli_env

CAPTURES = REPO / "tests" / "fixtures" / "captures"


def readme_table() -> dict[int, str]:
    """status -> meaning, from the README's "Exit status" table."""
    text = (REPO / "README.md").read_text()
    section = text.split("### Exit status", 1)[1].split("\n\n", 2)[1]
    return {int(m[1]): m[2] for m in re.finditer(r"(?m)^\| (\d+) \| (.+?) \|$", section)}


def run(*args: str, code: str | None = None) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-c", code, *args] if code else \
        [sys.executable, "-m", "pathprobe", *args]
    return subprocess.run(argv, capture_output=True, text=True, env=cli_env(), timeout=60,
                          check=False, cwd=REPO)


def test_the_table_the_enum_and_help_agree() -> None:
    table = readme_table()
    assert sorted(table) == sorted(int(s) for s in ExitStatus)
    help_text = " ".join(EXIT_STATUS_HELP.split())
    for status in table:
        assert f" {status} " in help_text, status
    assert "bad input" in table[ExitStatus.USAGE] and "bad input" in help_text


def _one_error_line(r: subprocess.CompletedProcess[str]) -> str:
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("pathprobe: error: "), r.stderr
    assert "Traceback" not in r.stderr
    return lines[0]


def _busy_port() -> tuple[socket.socket, int]:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    return s, s.getsockname()[1]


def test_0_nothing_at_or_above_fail_on() -> None:
    r = run("analyze", str(CAPTURES / "healthy.pcap"), "-q")
    assert r.returncode == ExitStatus.HEALTHY == 0, r.stderr
    assert "HEALTHY" in r.stdout
    # an info finding stays 0 at the default --fail-on warning
    r = run("analyze", str(CAPTURES / "clamp.pcap"), "-q", "--json")
    assert r.returncode == 0 and '"severity": "info"' in r.stdout, r.stdout[-400:]


def test_1_a_finding_at_or_above_fail_on() -> None:
    r = run("analyze", str(CAPTURES / "acl.pcap"), "-q")
    assert r.returncode == ExitStatus.PROBLEM == 1 and "PROXY_DENIED" in r.stdout
    r = run("analyze", str(CAPTURES / "clamp.pcap"), "-q", "--fail-on", "info")
    assert r.returncode == 1


@pytest.mark.parametrize("args", [
    ("pmtu", "--max-probes", "abc", "198.18.0.1"),     # a bad option value
    ("diagnose", "--bogus"),                          # an unknown option
    ("pmtu", "--fail-on", "fatal", "198.18.0.1"),      # not one of the choices
    ("nosuch",),                                      # no such command
    ("analyze", "README.md"),                         # bad input: not a capture
    ("analyze", "no-such-file.pcap"),                 # bad input: missing
    ("mss", "a:b:c"),                                 # bad input: HOST:PORT
])
def test_2_usage_error_or_bad_input(args: tuple[str, ...]) -> None:
    r = run(*args)
    assert r.returncode == ExitStatus.USAGE == 2
    line = _one_error_line(r)
    assert "Value error" not in line and "Usage:" not in line


def test_2_names_the_help_of_the_command_that_failed() -> None:
    line = _one_error_line(run("lab", "up", "--leg", "5"))
    assert line.endswith("(see 'pathprobe lab up --help')"), line
    line = _one_error_line(run("diagnose", "--proxy"))
    assert "'--proxy'" in line and line.endswith("(see 'pathprobe diagnose --help')"), line


def test_3_could_not_measure() -> None:
    # a capture with no matching connection: nothing to measure
    r = run("analyze", str(CAPTURES / "healthy.pcap"), "--port", "1")
    assert r.returncode == ExitStatus.NOT_MEASURED == 3
    _one_error_line(r)
    # a port the reflector cannot listen on
    sock, port = _busy_port()
    with sock:
        r = run("serve", "--listen", f"127.0.0.1:{port}", "--max-time", "1")
    assert r.returncode == 3
    assert _one_error_line(r).startswith(f"pathprobe: error: cannot listen on 127.0.0.1:{port}")


def test_4_internal_error() -> None:
    """No input can cause it (that is the point), so a real fault is planted in the
    renderer and the real CLI runs: one line, a hint, status 4."""
    code = ("import sys, pathprobe.render as r\n"
            "def broken(*a, **k): raise KeyError('planted')\n"
            "r.render = broken\n"
            "from pathprobe.cli import main\n"
            "sys.exit(main(sys.argv[1:]))")
    r = run("analyze", str(CAPTURES / "healthy.pcap"), "-q", code=code)
    assert r.returncode == ExitStatus.INTERNAL == 4
    line = _one_error_line(r)
    assert "internal error: KeyError" in line and "--traceback" in line


def test_130_interrupted_while_starting() -> None:
    """Ctrl-C before the CLI is ready (issue 23 item 9): the entry point's own handler,
    by a real SIGINT after its first lines ran and before the CLI was imported."""
    code = ("import os, signal, pathprobe.__main__ as entry\n"
            "os.kill(os.getpid(), signal.SIGINT)\n"
            "entry.run()\n")
    r = subprocess.run([sys.executable, "-c", code, "analyze", str(CAPTURES / "acl.pcap")],
                       capture_output=True, text=True, env=cli_env(), timeout=60, check=False)
    assert r.returncode == ExitStatus.INTERRUPTED_EARLY == 130
    assert r.stdout == "" and r.stderr == ""


def test_readme_table_is_what_help_says(tmp_path: Path) -> None:
    r = run("--help")
    assert r.returncode == 0
    flat = " ".join(r.stdout.split())
    assert " ".join(EXIT_STATUS_HELP.split()) in flat
