"""The lab under Ctrl-C, concurrency and the wrong user (issue 15 items 3 and 8).

Real `pathprobe lab` processes get real signals; afterwards no namespace,
squid or shared-memory file of the prefix may be left.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pathprobe.lab import topology as topo
from pathprobe.lab.manager import (
    SHM_DIR,
    STATE_DIR,
    existing_namespaces,
    lab_lock,
    squid_name,
    state_path,
)
from tests.conftest import UNPRIVILEGED, Lab, cli_env

PREFIX = topo.lab_prefix()


def cli(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "pathprobe", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd="/",
                            env=cli_env({topo.PREFIX_ENV: PREFIX}))


def leftovers() -> list[str]:
    """Everything of this prefix that a removed lab must not leave behind."""
    left = [ns for ns in existing_namespaces() if ns.startswith(PREFIX)]
    left += [str(p) for p in SHM_DIR.glob(f"{squid_name(PREFIX)}-*")]
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if f"-n {squid_name(PREFIX)}" in cmd:
                left.append(f"process {proc.name}: {cmd[:60]}")
    return left


def wait_for(condition: object, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def test_two_ctrl_c_during_lab_up_leave_nothing(lab: Lab) -> None:
    lab.down()
    proc = cli("lab", "up", "healthy")
    # Interrupt once the build has started (its state file exists), then again at once.
    assert wait_for(lambda: any(ns.startswith(PREFIX) for ns in existing_namespaces()), 20)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.002)  # the second arrives while the first one's cleanup runs
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 3, err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1] == "pathprobe: error: interrupted: the lab was removed"
    assert leftovers() == []
    assert not state_path(PREFIX).exists()


def test_concurrent_lab_up_is_refused_and_the_first_survives(lab: Lab) -> None:
    """While one 'lab up' holds the prefix (here: this process, with the same lock a
    running 'lab up' takes), a second one fails at once and does not touch the lab."""
    state = lab.up("healthy")
    with lab_lock(PREFIX):
        second = cli("lab", "up", "healthy")
        _, err = second.communicate(timeout=60)
    assert not (STATE_DIR / f"{PREFIX}lab.lock").exists()   # the lock file goes with the lock
    assert second.returncode == 3, err
    assert err.strip().splitlines() == [
        f"pathprobe: error: a lab with prefix {PREFIX!r} is being built by pid {os.getpid()}; "
        "wait for it, or use another PATHPROBE_LAB_PREFIX"]
    status = subprocess.run([sys.executable, "-m", "pathprobe", "lab", "status", "--json"],
                            capture_output=True, text=True, cwd="/",
                            env=cli_env({topo.PREFIX_ENV: PREFIX}), check=False)
    assert status.returncode == 0, status.stdout + status.stderr
    assert f'"workdir": "{state.workdir}"' in status.stdout  # the same lab, not a new one


def test_lab_down_removes_squid_shared_memory(lab: Lab) -> None:
    lab.up("healthy")
    stale = SHM_DIR / f"{squid_name(PREFIX)}-cf__stale.shm"
    stale.write_bytes(b"x")
    other = SHM_DIR / f"{squid_name(PREFIX)}x-cf__other.shm"   # another prefix: kept
    other.write_bytes(b"x")
    try:
        assert sorted(SHM_DIR.glob(f"{squid_name(PREFIX)}-*"))
        lab.down()
        assert leftovers() == []
        assert other.exists()
    finally:
        other.unlink(missing_ok=True)


def test_lab_exec_passes_the_exit_status_through(lab: Lab) -> None:
    lab.up("healthy")
    for code in (0, 1, 3, 7):
        proc = subprocess.run([sys.executable, "-m", "pathprobe", "lab", "exec", "--", "sh",
                               "-c", f"exit {code}"], capture_output=True, text=True,
                              cwd="/", env=cli_env({topo.PREFIX_ENV: PREFIX}), check=False,
                              timeout=30)
        assert proc.returncode == code, proc.stderr


def test_sigint_to_lab_exec_reaches_the_command_and_waits_for_it(lab: Lab) -> None:
    """The command gets the interrupt once, may take seconds to wrap up, and its own
    status and last words come through (it is not killed after 0.25 s)."""
    lab.up("healthy")
    script = ("import signal, sys, time\n"
              "def stop(signum, frame):\n"
              "    time.sleep(1.5)\n"
              "    print('partial report', flush=True)\n"
              "    sys.exit(3)\n"
              "signal.signal(signal.SIGINT, stop)\n"
              "print('started', flush=True)\n"
              "time.sleep(30)\n")
    proc = cli("lab", "exec", "--", sys.executable, "-c", script)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "started"
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 3, err
    assert "partial report" in out
    assert 1.4 < time.monotonic() - t0 < 8


def test_sigint_to_lab_exec_diagnose_is_exit_3_and_leaves_no_process(lab: Lab) -> None:
    lab.up("healthy")
    proc = cli("lab", "exec", "--", sys.executable, "-m", "pathprobe", "diagnose")
    time.sleep(3.0)
    ns_pids = subprocess.run(["ip", "netns", "pids", lab.ns("fmc")], capture_output=True,
                             text=True, check=False).stdout.split()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 3, err
    assert "Traceback" not in err
    assert wait_for(lambda: not any(Path(f"/proc/{p}").exists() for p in ns_pids), 5)


@pytest.mark.usefixtures("unprivileged_ok")
@pytest.mark.parametrize("args", [("lab", "status"), ("lab", "exec", "--", "true"),
                                  ("lab", "down"), ("lab", "up")])
def test_lab_as_non_root_is_one_line_and_exit_3(args: tuple[str, ...]) -> None:
    proc = subprocess.run([*UNPRIVILEGED, sys.executable, "-m", "pathprobe", *args],
                          capture_output=True, text=True, cwd="/",
                          env=cli_env({topo.PREFIX_ENV: PREFIX}), check=False, timeout=30)
    assert proc.returncode == 3, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "pathprobe: error: the lab builds network namespaces and needs root; rerun with sudo"]


def test_no_prefix_state_is_left(lab: Lab) -> None:
    lab.down()
    assert leftovers() == []
    assert not os.path.exists(state_path(PREFIX))
