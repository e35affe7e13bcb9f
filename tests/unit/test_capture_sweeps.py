"""What the reading loop decides across batches is decided alike whatever batches the
reader made: idle connections are swept at the same frames, and packets captured twice
are found as far back; the same capture as pcap, as pcapng, or through a pipe in pieces
as they came tells one story."""

from __future__ import annotations

import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from pathprobe.capture.timeline import SWEEP_EVERY, next_sweep, sweep_aligned
from tests.conftest import cli_env

FMC, PROXY = "198.18.1.2", "198.18.2.2"


@given(total=st.integers(1, 3 * SWEEP_EVERY + 5),
       cuts=st.lists(st.integers(1, 3 * SWEEP_EVERY + 5), max_size=40),
       gaps=st.booleans())
def test_the_batches_start_a_span_at_the_same_frames_however_they_came(
        total: int, cuts: list[int], gaps: bool) -> None:
    """Every frame once, in order; a batch begins where each span begins (the first frame
    of it there is, as text numbers frames by line, with gaps); and the frames before which
    the loop sweeps are the same for any batching."""
    numbers = [n * 3 if gaps else n for n in range(1, total + 1)]
    frames = [(n, float(n), 1, b"", 0) for n in numbers]
    edges = sorted({c for c in cuts if c < total})
    batches = [frames[a:b] for a, b in zip([0, *edges], [*edges, total])]
    out = list(sweep_aligned(batches))
    assert [f for b in out for f in b] == frames and all(out)
    starts = [b[0][0] for b in out]
    spans = sorted({next_sweep(n) for n in numbers if n > SWEEP_EVERY} - {SWEEP_EVERY + 1}
                   | ({SWEEP_EVERY + 1} if numbers[-1] > SWEEP_EVERY else set()))
    firsts = [min(n for n in numbers if n >= s) for s in spans if s <= numbers[-1]]
    assert set(firsts) <= set(starts)
    # where the reading loop sweeps: a batch that starts at or past the next span
    swept, at = [], SWEEP_EVERY + 1
    for first in starts:
        if first >= at:
            swept.append(first)
            at = next_sweep(first)
    assert swept == firsts


def _frame(src: str, dst: str, sport: int, dport: int, flags: int, seq: int, ack: int,
           payload: bytes = b"") -> bytes:
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40 + len(payload), 1, 0x4000, 64, 6, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 502, 0, 0)
    return b"\0" * 12 + b"\x08\x00" + ip + tcp + payload


def _capture() -> list[tuple[float, bytes]]:
    """A CONNECT never answered, in the midst of 4,000 short connections over 1,000 s
    (40k frames: sweeps at frames 16,385 and 32,769, the first after it went idle)."""
    syn, ack, psh, fin = 0x02, 0x10, 0x18, 0x11
    connect = b"CONNECT upstream.pathprobe.test:443 HTTP/1.1\r\n\r\n"
    out = [(0.5, _frame(FMC, PROXY, 40000, 3128, syn, 100, 0)),
           (0.501, _frame(PROXY, FMC, 3128, 40000, syn | ack, 500, 101)),
           (0.502, _frame(FMC, PROXY, 40000, 3128, ack, 101, 501)),
           (0.503, _frame(FMC, PROXY, 40000, 3128, psh, 101, 501, connect)),
           (0.504, _frame(PROXY, FMC, 3128, 40000, ack, 501, 101 + len(connect)))]
    request, answer = b"GET / HTTP/1.1\r\n\r\n", b"HTTP/1.1 204 No Content\r\n\r\n"
    for i in range(4000):
        t, port = 1.0 + i * 0.25, 20000 + i
        up = (FMC, "198.18.3.3", port, 80)
        down = ("198.18.3.3", FMC, 80, port)
        out += [(t, _frame(*up, syn, 1, 0)), (t + 0.001, _frame(*down, syn | ack, 9, 2)),
                (t + 0.002, _frame(*up, ack, 2, 10)),
                (t + 0.003, _frame(*up, psh, 2, 10, request)),
                (t + 0.004, _frame(*down, psh, 10, 2 + len(request), answer)),
                (t + 0.005, _frame(*up, ack, 2 + len(request), 10 + len(answer))),
                (t + 0.006, _frame(*up, fin, 2 + len(request), 10 + len(answer))),
                (t + 0.007, _frame(*down, fin, 10 + len(answer), 3 + len(request))),
                (t + 0.008, _frame(*up, ack, 3 + len(request), 11 + len(answer))),
                (t + 0.009, _frame(*down, ack, 11 + len(answer), 3 + len(request)))]
    return sorted(out, key=lambda x: x[0])


def _pcap(frames: list[tuple[float, bytes]]) -> bytes:
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for ts, data in frames:
        out.append(struct.pack("<IIII", int(ts), round(ts % 1 * 1e6), len(data), len(data)))
        out.append(data)
    return b"".join(out)


def _pcapng(frames: list[tuple[float, bytes]]) -> bytes:
    out = [struct.pack("<IIIHHqI", 0x0A0D0D0A, 28, 0x1A2B3C4D, 1, 0, -1, 28),
           struct.pack("<IIHHII", 1, 20, 1, 0, 65535, 20)]
    for ts, data in frames:
        us, pad = round(ts * 1e6), -len(data) % 4
        n = 32 + len(data) + pad
        out.append(struct.pack("<7I", 6, n, 0, us >> 32, us & 0xFFFFFFFF, len(data),
                               len(data)) + data + b"\0" * pad + struct.pack("<I", n))
    return b"".join(out)


def _report(argv: list[str], stdin: bytes | None = None, pieces: int = 0,
            status: int = 1) -> dict[str, object]:
    """The JSON report (less its times and context, the capture's name CAPTURE); ``pieces``
    1: standard input fed in pieces of odd sizes, 2: a frame at a time, slowly."""
    proc = subprocess.Popen([sys.executable, "-m", "pathprobe", "analyze", *argv, "--json",
                             "--max-rows", "0"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=cli_env())
    assert proc.stdin is not None

    def feed() -> None:    # in pieces, a pause now and then: batches vary
        assert proc.stdin is not None
        data, at, k = stdin or b"", 0, 0
        while at < len(data):
            if pieces == 2:    # (the header, then a frame at a time)
                size = 24 if at == 0 else 16 + struct.unpack_from("<I", data, at + 8)[0]
            else:
                size = (7919, 1021, 65537, 333)[k % 4] if pieces else len(data)
            proc.stdin.write(data[at:at + size])
            proc.stdin.flush()
            at, k = at + size, k + 1
            if pieces == 2 or (pieces and k % 50 == 0):
                time.sleep(0.002)
        proc.stdin.close()

    writer = threading.Thread(target=feed)
    writer.start()
    assert proc.stdout is not None and proc.stderr is not None
    stdout = proc.stdout.read()      # (stderr: a few lines at most, never a full pipe)
    stderr = proc.stderr.read()
    proc.wait(timeout=300)
    writer.join()
    assert proc.returncode == status, stderr
    doc: dict[str, object] = json.loads(stdout)
    for key in ("started", "duration_s", "context"):
        doc.pop(key)
    name = os.path.basename(argv[0])
    text = json.dumps(doc)
    return json.loads(text.replace(f'"{name}: ', '"CAPTURE: ') if name == "-"
                      else text.replace(name, "CAPTURE"))


def test_the_same_capture_tells_one_story_as_pcap_pcapng_or_a_pipe(tmp_path: Path) -> None:
    frames = _capture()
    pcap, ng = tmp_path / "c.pcap", tmp_path / "c.pcapng"
    pcap.write_bytes(_pcap(frames))
    ng.write_bytes(_pcapng(frames))
    from_file = _report([str(pcap)])
    # swept at frame 16,385 (410.259 s; the CONNECT went quiet at 0.504 s)
    assert "connection silent for 410 s" in json.dumps(from_file)
    assert _report([str(ng)]) == from_file
    assert _report(["-"], stdin=pcap.read_bytes(), pieces=1) == from_file


def test_copies_are_found_as_far_back_through_a_pipe_frame_by_frame(tmp_path: Path) -> None:
    """``tcpdump -i any`` piped live: each segment of a download captured twice, its copy
    four frames later (another connection's frames between). Read as they trickle in, a
    frame or two a batch, the copies are still copies, not resends: the report is the
    file's."""
    ack, psh = 0x10, 0x18
    frames: list[tuple[float, bytes]] = []
    for i in range(20):
        t = 1.0 + i * 0.01
        seg = _frame(PROXY, FMC, 3128, 40000, psh, 1 + 1000 * i, 1, bytes([i]) * 1000)
        frames.append((t, seg))
        for k in range(3):   # another connection's ACKs in between
            frames.append((t + 0.0001 * (k + 1), _frame(FMC, "198.18.3.3", 20000, 80, ack,
                                                        1, 1 + k + 3 * i)))
        frames.append((t + 0.0005, seg))
        frames.append((t + 0.002, _frame(FMC, PROXY, 40000, 3128, ack, 1, 1001 + 1000 * i)))
    pcap = tmp_path / "twice.pcap"
    pcap.write_bytes(_pcap(frames))
    from_file = _report([str(pcap)], status=0)
    assert "20 packets captured twice" in json.dumps(from_file), from_file["notes"]
    assert _report(["-"], stdin=pcap.read_bytes(), pieces=2, status=0) == from_file
