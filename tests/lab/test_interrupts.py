"""Ctrl-C (SIGINT) in the measuring commands: exit 3 with the partial report, never a bare
130 (issue 15 item 3). Each command is interrupted mid-measurement in the lab."""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from pathprobe.lab import topology as topo
from pathprobe.lab.manager import (
    SHM_DIR,
    STATE_DIR,
    down,
    existing_namespaces,
    squid_name,
    state_path,
)
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


# --- demo: Ctrl-C at many moments (issue 23 item 4) ----------------------------------------

DEMO_PREFIX = topo.lab_prefix()[:-1][:4] + "i-"   # its own lab, never the session's


def lab_leftovers(prefix: str) -> list[str]:
    """Everything of a lab with ``prefix`` still there."""
    left = [ns for ns in existing_namespaces() if ns.startswith(prefix)]
    left += [str(p) for p in SHM_DIR.glob(f"{squid_name(prefix)}-*")]
    left += [str(p) for p in (state_path(prefix), STATE_DIR / f"{prefix}lab.lock") if p.exists()]
    return left


class Demo:
    """`pathprobe demo --json` in its own process group (as a shell runs it), both
    streams collected as they come."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "pathprobe", "demo", "--json",
                                      *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, env=cli_env({topo.PREFIX_ENV: DEMO_PREFIX}),
                                     cwd="/", start_new_session=True)
        self.out: list[str] = []
        self.err: list[str] = []
        self.threads = [threading.Thread(target=self._read, args=(s, b), daemon=True)
                        for s, b in ((self.proc.stdout, self.out), (self.proc.stderr, self.err))]
        for t in self.threads:
            t.start()

    @staticmethod
    def _read(stream: Any, into: list[str]) -> None:
        for line in iter(stream.readline, ""):
            into.append(line)

    def wait_for(self, done: Callable[[], bool], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not done() and self.proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        assert done(), "".join(self.err)

    def report_complete(self) -> bool:
        try:
            json.loads("".join(self.out))
            return True
        except ValueError:
            return False

    def ctrl_c(self, times: int = 1, *, group: bool = True) -> None:
        """What Ctrl-C in a terminal does: SIGINT to the whole foreground group (or, with
        ``group=False``, what `kill -INT PID` does: to the demo alone)."""
        for _ in range(times):
            with contextlib.suppress(ProcessLookupError):
                if group:
                    os.killpg(self.proc.pid, signal.SIGINT)
                else:
                    os.kill(self.proc.pid, signal.SIGINT)
            time.sleep(0.03)

    def finish(self) -> tuple[int, str, str]:
        try:
            status = self.proc.wait(timeout=90)
        finally:
            if self.proc.poll() is None:
                os.killpg(self.proc.pid, signal.SIGKILL)
                down(DEMO_PREFIX)
        for t in self.threads:
            t.join(5)
        return status, "".join(self.out), "".join(self.err)


@pytest.mark.parametrize(("delay", "times"), [(0.0, 1), (0.0, 3), (0.03, 1), (0.1, 2),
                                              (0.3, 1)])
def test_demo_ctrl_c_after_the_report_keeps_its_status_and_tears_down(delay: float,
                                                                      times: int) -> None:
    demo = Demo("--scenario", "acl")
    demo.wait_for(demo.report_complete)
    time.sleep(delay)
    demo.ctrl_c(times)
    status, out, err = demo.finish()
    assert status == 1, err                     # the report's: a refusal is a finding
    assert json.loads(out)["partial"] is False
    assert "lab torn down" in err and "Traceback" not in err
    assert lab_leftovers(DEMO_PREFIX) == []


@pytest.mark.parametrize(("after", "delay", "times"), [
    ("building the lab", 0.05, 1), ("building namespaces", 0.1, 2), ("applying faults", 0, 1),
    ("waiting for proxy", 0.05, 3), ("running diagnose", 0.3, 1), ("running diagnose", 1.0, 2),
    ("leg 2 up", 0, 1), ("leg 2 down", 0, 2),
])
def test_demo_ctrl_c_before_the_report_is_exit_3_and_tears_down(after: str, delay: float,
                                                                times: int) -> None:
    demo = Demo("--scenario", "blackhole")     # lost probes: diagnose runs for a while
    demo.wait_for(lambda: after in "".join(demo.err))
    time.sleep(delay)
    complete = demo.report_complete()          # diagnose may be quicker than the delay
    demo.ctrl_c(times)
    status, out, err = demo.finish()
    assert "Traceback" not in err and "lab torn down" in err
    assert lab_leftovers(DEMO_PREFIX) == []
    if not out:                                # no report yet: interrupted
        assert status == 3 and "running diagnose" not in err, err
        return
    # A report finished before the signal keeps its status; else it is the partial one,
    # whose status is 1 when what it found already fails, else 3 (design.md).
    doc = json.loads(out)
    failing = any(v["severity"] in ("critical", "warning") for v in doc["verdicts"])
    assert status == (1 if failing or not doc["partial"] else 3), err
    assert not (complete and doc["partial"]), err


def test_demo_sigint_to_the_demo_alone_reaches_diagnose_once() -> None:
    """`kill -INT` to the demo only: it passes the interrupt on, diagnose prints its
    partial report, and the lab goes."""
    demo = Demo("--scenario", "blackhole")
    demo.wait_for(lambda: "icmp round 1" in "".join(demo.err))
    demo.ctrl_c(group=False)
    status, out, err = demo.finish()
    assert "Traceback" not in err and "lab torn down" in err
    doc = json.loads(out)
    assert doc["partial"] is True and status in (1, 3), err
    assert lab_leftovers(DEMO_PREFIX) == []


@pytest.mark.parametrize(("after", "delay", "times"), [
    ("building namespaces", 0.0, 1), ("building namespaces", 0.1, 3),
    ("applying faults", 0.0, 2), ("waiting for proxy", 0.0, 1), ("waiting for proxy", 0.1, 4),
])
def test_lab_up_ctrl_c_removes_the_lab(after: str, delay: float, times: int) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "pathprobe", "lab", "up", "blackhole"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=cli_env({topo.PREFIX_ENV: DEMO_PREFIX}), cwd="/",
                            start_new_session=True)
    try:
        assert proc.stderr is not None
        seen = ""
        while after not in seen:
            line = proc.stderr.readline()
            assert line, seen
            seen += line
        time.sleep(delay)
        for _ in range(times):
            os.killpg(proc.pid, signal.SIGINT)
            time.sleep(0.03)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            down(DEMO_PREFIX)
    if proc.returncode == 0:        # it was ready before the signal: it stays up, as asked
        down(DEMO_PREFIX)
        assert "ready in" in err
        return
    left = lab_leftovers(DEMO_PREFIX)
    down(DEMO_PREFIX)
    assert proc.returncode == 3 and "the lab was removed" in err, err
    assert "Traceback" not in err
    assert left == []
