"""Ctrl-C (SIGINT) in the measuring commands: exit 3 with the partial report, never a bare
130 (issue 15 item 3). Each command is interrupted mid-measurement in the lab."""

from __future__ import annotations

import json
import select
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import Lab, cli_env

PROXY = "http://198.18.2.2:3128"
TARGET = "upstream.pathprobe.test:443"


def interrupted(lab: Lab, argv: list[str], after: str) -> tuple[int, dict[str, object], str]:
    """Run `pathprobe ARGV --json` in the fmc namespace; SIGINT once stderr shows ``after``."""
    proc = subprocess.Popen(["ip", "netns", "exec", lab.ns("fmc"), sys.executable, "-m",
                             "pathprobe", *argv, "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=cli_env(),
                            cwd="/", text=True)
    assert proc.stderr is not None
    seen = ""
    deadline = time.monotonic() + 30
    try:
        while after not in seen and time.monotonic() < deadline:
            if select.select([proc.stderr], [], [], 0.5)[0]:
                line = proc.stderr.readline()
                if not line:
                    break
                seen += line
        assert after in seen, seen
        proc.send_signal(signal.SIGINT)
        stdout, rest = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, json.loads(stdout), seen + rest


@pytest.mark.parametrize(("argv", "after"), [
    (["tunnel", "--proxy", PROXY, "--target", TARGET], "leg 2 up: probing"),
    (["mss", "198.18.2.2:3128"], "segments:"),
    (["pmtu", "198.18.2.2", "--port", "3128"], "round 1"),
])
def test_ctrl_c_is_exit_3_with_a_partial_report(lab: Lab, argv: list[str], after: str) -> None:
    if lab.state is None or lab.state.scenario != "blackhole":
        lab.up("blackhole")   # slow rounds (lost probes wait), room to interrupt
    status, doc, err = interrupted(lab, argv, after)
    assert status == 3, err
    assert doc["partial"] is True and doc["command"] == argv[0]
    assert any("interrupted" in e for e in doc["errors"])
    assert "Traceback" not in err
