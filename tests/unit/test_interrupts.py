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
