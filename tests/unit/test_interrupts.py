"""Ctrl-C while `analyze` reads a stream that has not ended: exit 3 with the partial report."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import cli_env

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "captures" / "acl.pcap"


def test_ctrl_c_while_analyze_reads_a_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "live.pcap"
    os.mkfifo(fifo)
    proc = subprocess.Popen([sys.executable, "-m", "pathprobe", "analyze", str(fifo), "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=cli_env(),
                            text=True)
    writer = os.open(fifo, os.O_WRONLY)   # a capture that is still being written
    try:
        os.write(writer, FIXTURE.read_bytes())
        time.sleep(1.0)                   # analyze is now waiting for more
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=20)
    finally:
        os.close(writer)
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 3, stderr
    doc = json.loads(stdout)
    assert doc["partial"] is True and any("interrupted" in e for e in doc["errors"])
    assert "Traceback" not in stderr


# Moments from the interpreter's start to well after the report (analyze of a small
# capture takes ~0.3-0.6 s here): issue 23 item 9.
MOMENTS_S = [i * 0.02 for i in range(0, 40)] + [0.9, 1.2, 1.6, 2.0]


def test_ctrl_c_at_any_moment_is_quiet_and_consistent() -> None:
    """Before the CLI is ready: 130 (or killed by SIGINT before Python could catch it), no
    output; while it runs: 3 with a partial report; after the report: the report's status.
    Never a traceback, never a bare -2 once Python runs."""
    full = subprocess.run([sys.executable, "-m", "pathprobe", "analyze", str(FIXTURE), "--json"],
                          capture_output=True, text=True, env=cli_env(), check=False)
    seen: dict[str, int] = {}
    for delay in MOMENTS_S:
        proc = subprocess.Popen([sys.executable, "-m", "pathprobe", "analyze", str(FIXTURE),
                                 "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=cli_env(), text=True)
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=30)
        where = f"SIGINT after {delay:.2f} s: {proc.returncode} {stderr[-300:]!r}"
        assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, where
        if proc.returncode in (130, -signal.SIGINT):
            kind = "early"
            assert stdout == "" and stderr == "", where
        elif proc.returncode == 3:
            kind = "partial"
            doc = json.loads(stdout)
            assert doc["partial"] is True, where
        else:
            kind = "complete"
            assert proc.returncode == full.returncode, where
            assert json.loads(stdout)["partial"] is False, where
        seen[kind] = seen.get(kind, 0) + 1
    assert seen.get("early") and seen.get("complete"), seen
