"""Ctrl-C while `analyze` reads: the reading stops, what was read is analysed and reported
(partial); progress while a long read goes on."""

from __future__ import annotations

import json
import os
import re
import signal
import struct
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pathprobe.capture.linklayer import Frame
from pathprobe.capture.reader import read_frames
from tests.conftest import REPO, cli_env
from tests.unit.test_capture_analysis import CLIENT_HELLO, Flow

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "captures" / "acl.pcap"


@pytest.mark.parametrize(("presses", "gzipped"), [(1, False), (2, False), (6, False),
                                                  (1, True)])
def test_ctrl_c_while_analyze_reads_a_fifo(tmp_path: Path, presses: int,
                                           gzipped: bool) -> None:
    """Also pressed again and again (issue 23 item 4): the partial report still comes;
    and of a gzip stream still being written (flushed so far), what came is read too."""
    fifo = tmp_path / "live.pcap"
    os.mkfifo(fifo)
    proc = subprocess.Popen([sys.executable, "-m", "pathprobe", "analyze", str(fifo), "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=cli_env(),
                            text=True)
    writer = os.open(fifo, os.O_WRONLY)   # a capture that is still being written
    data = FIXTURE.read_bytes()
    if gzipped:
        packer = zlib.compressobj(wbits=31)    # (gzip's own format, flushed, not ended)
        data = packer.compress(data) + packer.flush(zlib.Z_SYNC_FLUSH)
    try:
        os.write(writer, data)
        time.sleep(1.0)                   # analyze is now waiting for more
        for _ in range(presses):
            proc.send_signal(signal.SIGINT)
            time.sleep(0.01)
        stdout, stderr = proc.communicate(timeout=20)
    finally:
        os.close(writer)
        if proc.poll() is None:
            proc.kill()
    # what was read is analysed: the fixture's refused CONNECT (a finding: exit 1)
    assert proc.returncode == 1, stderr
    doc = json.loads(stdout)
    assert doc["partial"] is True, doc
    assert doc["errors"] == ["interrupted during: reading the capture"], doc["errors"]
    assert [v["code"] for v in doc["verdicts"]] == ["PROXY_DENIED"], doc["verdicts"]
    frames = sum(1 for _ in read_frames(FIXTURE))
    assert f"Ctrl-C stopped the reading of live.pcap after frame {frames}: " in doc["notes"][1], \
        doc["notes"]
    assert doc["notes"][0].startswith(f"live.pcap: {frames} frames"), doc["notes"]
    assert "Traceback" not in stderr


def _tunnels(copies: int) -> tuple[bytes, int]:
    """A pcap of ``copies`` tunnels, one after the other (distinct client ports): the first
    a reset answering a large segment, the others healthy downloads; and its frame count."""
    rst = Flow()
    rst.tunnel()
    rst.send(0.1, True, CLIENT_HELLO)
    rst.ack(0.11, False)
    rst.send(0.2, True, b"\x17" * 1448)
    rst.rst(0.2005, False)
    ok = Flow(cport=40001)
    ok.tunnel()
    ok.send(0.1, True, CLIENT_HELLO)
    for i in range(6):
        ok.send(0.11 + i * 0.001, False, b"\x17" * 1400)
    ok.ack(0.12, True)
    ok.close(0.13)
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    frames = 0
    for k in range(copies):
        flow = rst if k == 0 else ok
        for ts, data in flow.frames:
            b = bytearray(data)
            for pos in (34, 36):      # the client port, either side (Ethernet, IPv4, TCP)
                if b[pos:pos + 2] == flow.cport.to_bytes(2, "big"):
                    b[pos:pos + 2] = (20000 + k).to_bytes(2, "big")
            t = 1_700_000_000 + k * 0.2 + ts
            out.append(struct.pack("<IIII", int(t), round((t % 1) * 1e6), len(b), len(b)))
            out.append(bytes(b))
            frames += 1
    return b"".join(out), frames


def _feed(fifo: Path, data: bytes, fed: threading.Event | None = None) -> None:
    """A capture still being written: ``data`` into ``fifo`` at 1 MB/s (256 KiB every
    0.25 s), until all was written or analyze stopped reading, as asked; then ``fed``."""
    try:
        with open(fifo, "wb", buffering=0) as w:
            for at in range(0, len(data), 1 << 18):
                w.write(data[at:at + (1 << 18)])
                time.sleep(0.25)
    except BrokenPipeError:
        pass
    if fed is not None:
        fed.set()


def _ctrl_c(proc: subprocess.Popen[str], timeout: float = 30, group: bool = False
            ) -> tuple[str, str]:
    """Ctrl-C to the run (``group``: to its process group, as a terminal sends it: a child
    process gets it too), and what the run wrote."""
    if group:
        os.killpg(proc.pid, signal.SIGINT)
    else:
        proc.send_signal(signal.SIGINT)
    return proc.communicate(timeout=timeout)


def _stopped_after_a_finding(proc: subprocess.Popen[str], stdout: str, stderr: str,
                             during: str = "reading the capture") -> dict[str, Any]:
    """The report of a run whose reading Ctrl-C stopped once what it read showed a finding
    (the reset story comes first): status 1, partial, the reset, no traceback."""
    assert proc.returncode == 1, stderr
    assert "Traceback" not in stderr
    doc: dict[str, Any] = json.loads(stdout)
    assert doc["partial"] is True and doc["errors"] == [f"interrupted during: {during}"], doc
    assert "RST_ON_LARGE_SEGMENT" in {v["code"] for v in doc["verdicts"]}, doc["verdicts"]
    return doc


def test_a_long_read_says_how_far_it_got_and_ctrl_c_reports_what_was_read(
        tmp_path: Path) -> None:
    """A capture that keeps coming (a FIFO fed 1 MB/s, 9 s in all): a progress line after
    1 s, another 3 s later, then Ctrl-C: the reading stops, and the connections read so far
    are judged."""
    data, total = _tunnels(1000)
    fifo = tmp_path / "live.pcap"
    os.mkfifo(fifo)
    proc = subprocess.Popen([sys.executable, "-m", "pathprobe", "analyze", str(fifo), "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=cli_env(),
                            text=True)
    fed = threading.Event()
    threading.Thread(target=_feed, args=(fifo, data, fed), daemon=True).start()
    try:
        assert proc.stderr is not None
        lines = [proc.stderr.readline() for _ in range(2)]   # after 1 s, then 3 s more
        for line in lines:
            assert re.fullmatch(r"pathprobe: reading live\.pcap: [\d,]+ frames \(Ctrl-C: "
                                r"stop, report what was read\)\n", line), lines
        assert not fed.is_set()
        stdout, stderr = _ctrl_c(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
    doc = _stopped_after_a_finding(proc, stdout, stderr)
    assert [v["code"] for v in doc["verdicts"]] == ["RST_ON_LARGE_SEGMENT"], doc["verdicts"]
    read = re.match(r"live\.pcap: (\d+) frames, (\d+) of \2 TCP connections", doc["notes"][0])
    assert read is not None, doc["notes"]
    frames, connections = int(read[1]), int(read[2])
    assert 0 < frames < total and 1 < connections < 1000, (frames, total, connections)
    assert doc["notes"][1].startswith(f"Ctrl-C stopped the reading of live.pcap after frame "
                                      f"{frames}: ")


def test_two_captures_say_how_far_the_first_got(tmp_path: Path) -> None:
    """Two captures: the first is read here and says how far it got (the second, read by a
    child process, must not draw on the terminal); the report is whole."""
    data, _total = _tunnels(300)
    fifo, second = tmp_path / "live.pcap", tmp_path / "far.pcap"
    second.write_bytes(data)
    os.mkfifo(fifo)
    proc = subprocess.Popen([sys.executable, "-m", "pathprobe", "analyze", str(fifo),
                             str(second), "--json"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=cli_env(), text=True)
    try:
        _feed(fifo, data)    # (about 3 s)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1, stderr
    lines = stderr.splitlines()
    assert any(re.fullmatch(r"pathprobe: reading live\.pcap: [\d,]+ frames \(Ctrl-C: stop, "
                            r"report what was read\)", line) for line in lines), lines
    assert not any("far.pcap: " in line and "reading" in line for line in lines), lines
    assert json.loads(stdout)["partial"] is False


def test_ctrl_c_while_two_captures_are_read_reports_what_each_one_read(tmp_path: Path) -> None:
    """Ctrl-C from the terminal (to the process group: the parent, which reads the first
    capture, and the child that reads the second): each reading stops where it got, and
    one report covers what both read, matched, partial."""
    data, total = _tunnels(1000)
    fifos = [tmp_path / "near.pcap", tmp_path / "far.pcap"]
    for fifo in fifos:
        os.mkfifo(fifo)
    proc = subprocess.Popen([sys.executable, "-m", "pathprobe", "analyze", *map(str, fifos),
                             "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=cli_env(), text=True, start_new_session=True)
    for fifo in fifos:   # (9 s each)
        threading.Thread(target=_feed, args=(fifo, data), daemon=True).start()
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()    # after 1 s
        assert re.fullmatch(r"pathprobe: reading near\.pcap: [\d,]+ frames \(Ctrl-C: stop, "
                            r"report what was read\)\n", line), line
        stdout, stderr = _ctrl_c(proc, group=True)
    finally:
        if proc.poll() is None:
            proc.kill()
    doc = _stopped_after_a_finding(proc, stdout, stderr, "reading the captures")
    # each capture's own note (they may stop at the same frame: the notes must still differ)
    stopped = [re.match(r"Ctrl-C stopped the reading of (\w+)\.pcap after frame (\d+)", n)
               for n in doc["notes"]]
    frames = {m[1]: int(m[2]) for m in stopped if m is not None}
    assert sorted(frames) == ["far", "near"], doc["notes"]
    assert all(0 < n < total for n in frames.values()), (frames, doc["notes"])
    matched = next(n for n in doc["notes"] if n.startswith("near.pcap and far.pcap: "))
    assert re.match(r"near\.pcap and far\.pcap: [1-9]\d* connection\(s\) seen in both", matched)


def test_ctrl_c_while_a_long_text_is_parsed_reports_the_lines_parsed(tmp_path: Path) -> None:
    """A text of 100k+ tcpdump lines takes seconds to parse: a line says how far the parse
    got, and Ctrl-C then ends the parse where it got; what it parsed is analysed whole
    (not only a first batch), the note says after which of the text's lines."""
    data, _frames = _tunnels(6000)      # (120k lines: 3-4 s of parsing here)
    pcap, text = tmp_path / "big.pcap", tmp_path / "big.txt"
    pcap.write_bytes(data)
    lines = subprocess.run(["tcpdump", "-n", "-r", str(pcap)], capture_output=True,
                           check=True).stdout
    text.write_bytes(lines)
    total = lines.count(b"\n")
    proc = subprocess.Popen([sys.executable, "-m", "pathprobe", "analyze", str(text), "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=cli_env(),
                            text=True)
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()    # after 1 s
        said = re.fullmatch(r"pathprobe: parsing big\.txt: line ([\d,]+) of ([\d,]+) \(Ctrl-C: "
                            r"stop, report what was read\)\n", line)
        assert said is not None and int(said[2].replace(",", "")) == total, line
        stdout, stderr = _ctrl_c(proc, 60)
    finally:
        if proc.poll() is None:
            proc.kill()
    doc = _stopped_after_a_finding(proc, stdout, stderr)
    stopped = [re.match(rf"Ctrl-C stopped the reading of big\.txt after line (\d+) of {total}: "
                        r"this report covers the lines before it", n) for n in doc["notes"]]
    (cut,) = [int(m[1]) for m in stopped if m is not None]
    assert 0 < cut < total, (cut, total)
    read = re.match(r"big\.txt: text \(tcpdump\), (\d+) packets on", doc["notes"][0])
    assert read is not None and int(read[1]) == cut, doc["notes"][0]   # (a packet a line)


def test_progress_after_a_second_then_every_three_with_the_share_read() -> None:
    from pathprobe.capture.reader import ReadStats
    from pathprobe.capture.reading import Reading
    from pathprobe.interrupts import Stop

    now = [0.0]
    said: list[str] = []
    stats = ReadStats(size=137_428_937, where=lambda: 68_714_469)
    reading = Reading("big.pcap", stats, said.append, Stop(), clock=lambda: now[0])

    def source() -> Iterator[list[Frame]]:
        for n in range(1, 11):     # a batch of two frames every 0.5 s
            now[0] = n * 0.5
            yield [(2 * n - 1, now[0], 1, b"", 0), (2 * n, now[0], 1, b"", 0)]

    assert [batch[-1][0] for batch in reading.batches(source())] == list(range(2, 21, 2))
    line = "reading big.pcap: {} frames, 50% of 137 MB (Ctrl-C: stop, report what was read)"
    # as the batches read at 1.0 s and 4.0 s come (not 7.0 s): the frames before them
    assert said == [line.format(2), line.format(14)]
    stats.where = None       # a pipe: how far is unknown
    assert reading.line() == "reading big.pcap: 20 frames (Ctrl-C: stop, report what was read)"
    assert not stats.stopped
    reading.stop = None      # (Ctrl-C does not stop it: no such hint)
    assert reading.line() == "reading big.pcap: 20 frames"


def test_capture_text_says_no_share_read(tmp_path: Path) -> None:
    """Text is read whole before its first packet is handed on: 100% of the file would
    say nothing of how far the analysis got."""
    from pathprobe.capture.reader import ReadStats
    from pathprobe.capture.reading import Reading
    from pathprobe.capture.textframes import open_text
    from pathprobe.interrupts import Stop

    stats = ReadStats(size=16_000_000, where=lambda: 16_000_000)
    stats.text = open_text("big.txt", b"12:00:00.000000 IP 198.18.1.2.40000 > 198.18.2.2.3128: "
                                      b"Flags [S], seq 1, win 64240, length 0\n")
    reading = Reading("big.txt", stats, None, Stop())
    reading.handed = 1024
    assert reading.line() == "reading big.txt: 1,024 frames (Ctrl-C: stop, report what was read)"


def test_a_capture_read_in_one_batch_says_nothing_however_long_it_took() -> None:
    from pathprobe.capture.reader import ReadStats
    from pathprobe.capture.reading import Reading

    now = [0.0]
    said: list[str] = []
    reading = Reading("small.pcap", ReadStats(), said.append, None, clock=lambda: now[0])

    def source() -> Iterator[list[Frame]]:
        now[0] = 30.0              # (a loaded machine)
        yield [(1, 0.0, 1, b"", 0)]
        now[0] = 60.0

    assert len(list(reading.batches(source()))) == 1
    assert said == []



# Moments from the interpreter's start to well after the report (analyze of a small
# capture takes ~0.3-0.6 s here): issue 23 item 9.
MOMENTS_S = [0.01 + i * 0.003 for i in range(30)] + [i * 0.05 for i in range(2, 14)] + [
    0.9, 1.2, 1.6, 2.0]
OUR_FRAME = re.compile(re.escape(f'File "{REPO / "pathprobe"}/') + r'([^"]+)", line (\d+)')
# The entry point's handler exists from this line on; before it (the package's three
# statements, __main__'s first lines) a Ctrl-C is still Python's own to report.
HANDLER_LINE = next((i for i, line in enumerate(
    (REPO / "pathprobe" / "__main__.py").read_text().splitlines(), 1)
    if line.startswith("_PREVIOUS = ")), 0)


def ours_after_start(stderr: str) -> bool:
    """Whether a traceback shows our code running after the quiet handler was set."""
    return any(not (name == "__init__.py" or (name == "__main__.py"
                                               and int(line) <= HANDLER_LINE))
               for name, line in OUR_FRAME.findall(stderr))


def test_ctrl_c_at_any_moment_is_quiet_and_consistent() -> None:
    """Once pathprobe's code runs: before the CLI is ready, 130 and no output; once the
    command began, 3 with one line, or with the partial report once it measures; after
    the report, the report's status. Never a traceback from our code. (Python's own
    start - importing site, finding the module - comes before any of our code can run;
    a Ctrl-C there is the interpreter's to report.)"""
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
        where = f"SIGINT after {delay:.3f} s: {proc.returncode} {stderr[-600:]!r}"
        assert not ours_after_start(stderr), where
        if "Traceback" in stderr or "init_import_site" in stderr:
            # Python's own start: either it stops, or the Ctrl-C is reported and swallowed
            # and the run goes on whole: by site, inside its .pth processing, or by the
            # interpreter, when it lands in a callback ('Exception ignored in: <function
            # _get_module_lock.<locals>.cb ...>': importlib's lock cleanup; CI saw it once)
            kind = "interpreter start"
            if stdout:
                assert ("Remainder of file ignored" in stderr
                        or "Exception ignored in" in stderr), where
                assert proc.returncode == full.returncode, where
                assert json.loads(stdout)["partial"] is False, where
        elif proc.returncode in (130, -signal.SIGINT):  # ours, or before Python had a handler
            kind = "before ready"
            assert stdout == "" and stderr == "", where
        elif proc.returncode == 3 and stdout == "":   # the command began, nothing measured
            kind = "interrupted"
            assert stderr == "pathprobe: error: interrupted\n", where
        elif proc.returncode == 3:
            kind = "partial"
            doc = json.loads(stdout)
            assert doc["partial"] is True, where
        else:
            doc = json.loads(stdout)
            assert proc.returncode == full.returncode, where
            if doc["partial"]:   # while it read: what was read (all of it, one batch)
                kind = "read"
                assert doc["errors"] == ["interrupted during: reading the capture"], where
                assert doc["verdicts"] == json.loads(full.stdout)["verdicts"], where
            else:
                kind = "complete"
        seen[kind] = seen.get(kind, 0) + 1
    assert seen.get("before ready") and seen.get("complete"), seen


def test_masked_holds_ctrl_c_back_from_us_and_the_programs_we_start() -> None:
    """The teardown's shield (issue 23 item 4): a real SIGINT inside ``masked`` raises
    nothing, is reported afterwards and not delivered later; a program started inside
    inherits the mask, so a Ctrl-C to it cannot cut it short either."""
    from pathprobe.interrupts import masked

    with masked() as seen:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)
        child = subprocess.run(["sh", "-c", "kill -INT $$; echo survived"],
                               capture_output=True, text=True, timeout=10, check=False)
    assert seen.interrupted
    assert child.stdout == "survived\n"
    time.sleep(0.05)   # had it been left pending, KeyboardInterrupt would come here
    with masked() as quiet:
        pass
    assert not quiet.interrupted


def test_a_ctrl_c_python_wrapped_while_making_a_class_is_an_interrupt() -> None:
    """CI caught it: Ctrl-C while a dataclass was being made came out (on 3.11) as
    'internal error: RuntimeError: Error calling __set_name__' and exit 4."""
    from pathprobe.cli import interrupted_inside

    class PressesCtrlC:
        def __set_name__(self, owner: type, name: str) -> None:
            raise KeyboardInterrupt

    try:
        type("Made", (), {"field": PressesCtrlC()})
    except KeyboardInterrupt as bare:  # Python 3.12+ no longer wraps it
        assert interrupted_inside(bare)
    except RuntimeError as wrapped:     # 3.9-3.11
        assert interrupted_inside(wrapped)
    else:
        raise AssertionError("__set_name__ did not raise")
    try:
        try:
            raise ValueError("a real bug")
        except ValueError as first:
            raise RuntimeError("while handling it") from first
    except RuntimeError as unrelated:
        assert not interrupted_inside(unrelated)


def test_after_the_ctrl_c_a_shield_took_the_runs_later_ones_change_nothing() -> None:
    """CI caught it: 'lab up' interrupted twice 30 ms apart ended with exit 3 and no
    message; the teardown was quicker than 30 ms, so the second Ctrl-C met the handler
    put back after it and cut the 'the lab was removed' line short."""
    from pathprobe.interrupts import first_interrupt, release
    from pathprobe.lab.manager import shielded_from_ctrl_c

    first_interrupt()
    try:
        with pytest.raises(KeyboardInterrupt), shielded_from_ctrl_c(first_interrupts=True):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)   # an armed handler would raise KeyboardInterrupt here
    finally:
        release()
    first_interrupt()      # a run whose first Ctrl-C the shield did not see
    try:
        with shielded_from_ctrl_c(first_interrupts=True):
            pass
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)
    finally:
        release()


def test_a_reading_begun_after_a_noted_ctrl_c_stops_at_once() -> None:
    """A child process notes a Ctrl-C that comes before its reading begins (``beside``):
    that reading must stop at once, not read the whole capture."""
    from pathprobe.interrupts import Stop, stop_on_interrupt

    noted = Stop()
    previous = signal.signal(signal.SIGINT, noted)
    try:
        with stop_on_interrupt() as fresh:
            assert fresh is not None and not fresh.asked
        noted(signal.SIGINT, None)
        with stop_on_interrupt() as stop:
            assert stop is not None and stop.asked
        assert signal.getsignal(signal.SIGINT) is noted
    finally:
        signal.signal(signal.SIGINT, previous)
