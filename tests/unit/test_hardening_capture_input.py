"""`analyze` reads streams: '-', /dev/stdin, FIFOs, gzip pipes; a truncated .gz keeps
its intact frames (issue 15 item 6); unreadable inputs are one line, exit 3, and
non-captures exit 2 (item 5)."""

from __future__ import annotations

import gzip
import io
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from pathprobe.capture.packing import Compression, Decompressing, UnpackError
from pathprobe.capture.reader import ReadStats, read_frames
from tests.conftest import cli_env

CAPTURES = Path(__file__).resolve().parents[1] / "fixtures" / "captures"
CAPTURE = CAPTURES / "clamp.pcap"


def frames_of(path: Path) -> int:
    stats = ReadStats()
    for _ in read_frames(path, stats):
        pass
    return stats.frames


def analyze(arg: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "pathprobe", "analyze", arg, "--json"],
                          input=stdin, capture_output=True, env=cli_env(), check=False,
                          timeout=120)


def test_gunzip_stream_matches_gzip_and_handles_members() -> None:
    data = os.urandom(50_000) + bytes(300_000)
    packed = gzip.compress(data[:1000]) + gzip.compress(data[1000:])
    stream = Decompressing(io.BytesIO(packed), Compression.GZIP)
    out = b"".join(iter(lambda: stream.read(7777), b""))
    assert out == data and not stream.truncated


def test_gunzip_stream_keeps_the_intact_part_of_a_cut_stream() -> None:
    data = os.urandom(20_000) * 10
    packed = gzip.compress(data)
    stream = Decompressing(io.BytesIO(packed[: len(packed) // 2]), Compression.GZIP)
    out = b"".join(iter(lambda: stream.read(4096), b""))
    assert stream.truncated
    assert 0 < len(out) < len(data) and data.startswith(out)
    with pytest.raises(UnpackError):
        Decompressing(io.BytesIO(b"\x1f\x8b" + os.urandom(100)), Compression.GZIP).read()


def test_truncated_gz_analyses_the_frames_that_are_there(tmp_path: Path) -> None:
    raw = CAPTURE.read_bytes()
    whole = frames_of(CAPTURE)
    packed = gzip.compress(raw)
    cut = tmp_path / "cut.pcap.gz"
    cut.write_bytes(packed[: len(packed) * 2 // 3])
    stats = ReadStats()
    n = sum(1 for _ in read_frames(cut, stats))
    assert 0 < n < whole
    assert stats.truncated is not None and "compressed data ends early" in stats.truncated
    assert f"{n} complete frames" in stats.truncated


@pytest.mark.parametrize("compress", [False, True])
def test_analyze_dash_reads_stdin(compress: bool) -> None:
    data = CAPTURE.read_bytes()
    direct = analyze(str(CAPTURE))
    proc = analyze("-", gzip.compress(data) if compress else data)
    assert proc.returncode == direct.returncode, proc.stderr
    assert b'"verdicts"' in proc.stdout and b"Traceback" not in proc.stderr


def test_dev_stdin_from_a_pipe() -> None:
    proc = analyze("/dev/stdin", gzip.compress(CAPTURE.read_bytes()))
    assert proc.returncode in (0, 1), proc.stderr
    assert b'"verdicts"' in proc.stdout


def test_fifo_with_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "capture.fifo"
    os.mkfifo(fifo)
    data = CAPTURE.read_bytes()
    writer = threading.Thread(target=lambda: fifo.write_bytes(data), daemon=True)
    writer.start()
    proc = analyze(str(fifo))
    writer.join(5)
    assert proc.returncode in (0, 1), proc.stderr
    assert b'"verdicts"' in proc.stdout


@pytest.mark.parametrize(("path", "status"), [("/proc/self/mem", 3), ("/dev/zero", 2)])
def test_unreadable_or_endless_non_captures_are_one_line(path: str, status: int) -> None:
    """Unreadable (the system says no) is 3; readable but no capture is bad input, 2."""
    proc = analyze(path)
    assert proc.returncode == status, proc.stderr
    lines = proc.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pathprobe: error: "), lines
