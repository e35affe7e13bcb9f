"""`pathprobe demo`: builds its own lab, diagnoses it from the fmc, always tears down."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from pathprobe.lab import topology as topo
from pathprobe.lab.manager import existing_namespaces
from tests.conftest import cli_env

# Its own prefix, derived from the session's, so the demo never touches the test lab.
PREFIX = topo.lab_prefix()[:-1][:4] + "d-"


def demo(*args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pathprobe", "demo", *args],
                          capture_output=True, text=True, timeout=timeout, check=False,
                          env=cli_env({topo.PREFIX_ENV: PREFIX}), cwd="/")


def mine() -> set[str]:
    return {ns for ns in existing_namespaces() if ns.startswith(PREFIX)}


def test_demo_article_finds_leg2_black_hole_in_under_60s_and_tears_down() -> None:
    t0 = time.monotonic()
    r = demo()
    elapsed = time.monotonic() - t0
    assert elapsed < 60
    assert r.returncode == 1, r.stdout + r.stderr
    summary = " ".join(r.stdout.split("\nSummary\n")[1].split("\n\n")[0].split())
    assert summary.startswith("leg 2 (proxy-upstream) drops segments above 13"), r.stdout
    assert all(len(line) <= 100 for line in r.stdout.splitlines())   # pastes anywhere
    assert "PMTU_BLACKHOLE" in r.stdout and "MSS_CLAMPED" in r.stdout
    assert "lab torn down" in r.stderr
    assert mine() == set()


def test_demo_healthy_scenario_json_exit_0() -> None:
    r = demo("--scenario", "healthy", "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    assert '"schema": "pathprobe/1"' in r.stdout
    assert mine() == set()


def test_demo_quiet_and_the_output_options_reach_diagnose() -> None:
    """-q silences the demo and its diagnose (stderr empty); --fail-on and --host-name are
    diagnose's: the healthy lab at --fail-on info is still 0, and the report names the host."""
    r = demo("--scenario", "healthy", "-q", "--json", "--fail-on", "info",
             "--host-name", "lab-fmc")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stderr == ""
    context = json.loads(r.stdout)["context"]
    assert context["host"] == "lab-fmc"
    argv = context["argv"]
    assert argv[argv.index("--fail-on") + 1] == "info" and "--quiet" in argv
    assert mine() == set()


def test_demo_rejects_unknown_scenario_without_building_anything() -> None:
    r = demo("--scenario", "nope")
    assert r.returncode == 2 and "unknown scenario 'nope'" in r.stderr
    assert "Traceback" not in r.stderr
    assert mine() == set()


def test_demo_ctrl_c_tears_the_lab_down() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "pathprobe", "demo"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=cli_env({topo.PREFIX_ENV: PREFIX}), cwd="/",
                            start_new_session=True)
    try:
        assert proc.stderr is not None
        line = ""
        deadline = time.monotonic() + 30
        while "running diagnose" not in line and time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line:
                break
        assert "running diagnose" in line
        assert mine(), "the lab should be up while diagnose runs"
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode in (1, 3), err
    assert "lab torn down" in err
    assert mine() == set()
