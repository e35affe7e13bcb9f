"""`analyze` reads captures as they are sent: compressed (gzip, bzip2, xz) or in a zip or tar
archive (also compressed, also holding a compressed capture or capture text); what it
cannot read (7-Zip, RAR, zstd, other capture formats, archives on stdin, three captures in
one archive) is one line, exit 2, naming what to do (two are read as two captures of the
same connections: test_capture_correlate). Through the CLI, against the plain
capture's report."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import os
import random
import struct
import subprocess
import sys
import tarfile
import threading
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pathprobe.capture import packing
from pathprobe.capture.packing import (
    ArchivePair,
    Compression,
    Decompressing,
    Member,
    UnpackError,
    choose_member,
    compression_of,
    foreign,
)
from pathprobe.capture.reader import read_frames
from pathprobe.capture.textdecode import looks_like_text
from pathprobe.errors import CaptureError
from tests.conftest import cli_env

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CAPTURE = FIXTURES / "captures" / "rst.pcap"
TEXT = FIXTURES / "text" / "healthy.tcpdump-S.txt"


def analyze(path: Path | str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "pathprobe", "analyze", str(path), "--json"],
                          input=stdin, capture_output=True, env=cli_env(), check=False,
                          timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, proc.stdout.decode(),
                                       proc.stderr.decode())


def verdicts(proc: subprocess.CompletedProcess[str]) -> list[tuple[str, str, str, str]]:
    assert proc.returncode in (0, 1), proc.stderr
    doc = json.loads(proc.stdout)
    return [(v["code"], v["leg"], v["direction"], json.dumps(v["evidence"], sort_keys=True))
            for v in doc["verdicts"]]


def notes(proc: subprocess.CompletedProcess[str]) -> list[str]:
    return list(json.loads(proc.stdout)["notes"])


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pathprobe: error: "), lines
    assert "Traceback" not in proc.stderr
    return lines[0]


def _zip(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _tar(members: dict[str, bytes], mode: str = "w") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tf:  # type: ignore[call-overload]
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


PCAP = CAPTURE.read_bytes()


def _large_pcap() -> bytes:
    """The capture, then 300 frames of random bytes (no IP; they do not compress): a cut
    in the packed file falls after the connection's frames."""
    rng = random.Random(7)
    noise = b"".join(struct.pack("<IIII", 1_700_000_100 + i, 0, 1400, 1400) + bytes(12)
                     + b"\x88\xb5" + rng.randbytes(1386) for i in range(300))
    return PCAP + noise
PACKED: dict[str, Callable[[bytes], bytes]] = {
    "rst.pcap.gz": gzip.compress,
    "rst.pcap.bz2": bz2.compress,
    "rst.pcap.xz": lzma.compress,
    "rst.zip": lambda d: _zip({"capture/rst.pcap": d}),
    "rst-stored.zip": lambda d: _zip({"rst.pcap": d}, zipfile.ZIP_STORED),
    "rst-bzip2.zip": lambda d: _zip({"rst.pcap": d}, zipfile.ZIP_BZIP2),
    "rst-nested.zip": lambda d: _zip({"rst.pcap.gz": gzip.compress(d)}),
    "rst-mac.zip": lambda d: _zip({"rst.pcap": d, "__MACOSX/._rst.pcap": b"\0\5\26\7" * 20,
                                   ".DS_Store": b"\0\0\0\1Bud1" * 10}),
    "rst.tar": lambda d: _tar({"rst.pcap": d}),
    "rst.tar.gz": lambda d: _tar({"dir/rst.pcap": d, "dir/notes.bin": bytes(range(256))},
                                 "w:gz"),
    "rst.tar.bz2": lambda d: _tar({"rst.pcap": d}, "w:bz2"),
    "rst.tar.xz": lambda d: _tar({"rst.pcap.xz": lzma.compress(d)}, "w:xz"),
}


@pytest.mark.parametrize("name", sorted(PACKED))
def test_a_packed_capture_reads_as_the_capture(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(PACKED[name](PCAP))
    plain, packed = analyze(CAPTURE), analyze(path)
    assert verdicts(packed) == verdicts(plain) and verdicts(plain)
    assert packed.returncode == plain.returncode == 1
    said = [n for n in notes(packed) if "read out of the" in n]
    archive = any(name.endswith(s) for s in (".zip", ".tar", ".tar.gz", ".tar.bz2", ".tar.xz"))
    assert len(said) == int(archive), notes(packed)
    if archive:
        assert f"archive {path.name}" in said[0] and "rst.pcap" in said[0]


def test_capture_text_in_a_zip_reads_as_the_text(tmp_path: Path) -> None:
    path = tmp_path / "case.zip"
    path.write_bytes(_zip({"paste.txt": TEXT.read_bytes(), "logo.png": b"\x89PNG\r\n\x1a\n\0"}))
    packed = analyze(path)
    assert verdicts(packed) == verdicts(analyze(TEXT))
    assert any("paste.txt read out of the zip archive" in n and "1 other file" in n
               for n in notes(packed)), notes(packed)


def test_a_capture_beats_text_beside_it(tmp_path: Path) -> None:
    path = tmp_path / "case.zip"
    path.write_bytes(_zip({"README.txt": b"captured on the FMC, eth0\n", "rst.pcapng.bin": PCAP}))
    assert verdicts(analyze(path)) == verdicts(analyze(CAPTURE))


@pytest.mark.parametrize(("members", "words"), [
    ({"fmc.pcap": PCAP, "proxy.pcap": PCAP, "asa.pcap": PCAP},
     ["3 captures", "fmc.pcap", "proxy.pcap"]),
    ({"a.txt": b"tcpdump lines\n", "b.txt": b"more lines\n", "c.txt": b"x\n"},
     ["3 text files", "a.txt"]),
    ({"report.bin": bytes(range(256)) * 4}, ["no capture in it", "report.bin"]),
    ({}, ["no capture in it", "no file"]),
    ({f"x{i}.pcap": PCAP for i in range(8)}, ["8 captures", "x4.pcap and 3 more"]),
    ({"evil\x1b[31m\x07.pcap": PCAP, "b.pcap": PCAP, "c.pcap": PCAP},
     ["evil.pcap, b.pcap, c.pcap"]),
])
def test_an_archive_without_one_capture_says_what_it_holds(
        tmp_path: Path, members: dict[str, bytes], words: list[str]) -> None:
    path = tmp_path / "case.zip"
    path.write_bytes(_zip(members))
    line = one_line_error(analyze(path))
    for w in words:
        assert w in line, line
    assert "\x1b" not in line


@pytest.mark.parametrize("packed", [_zip({f"log{i}.txt": b"x\n" for i in range(6)}),
                                    _tar({f"log{i}.txt": b"x\n" for i in range(6)}, "w:gz")])
def test_an_archive_of_too_many_files_is_refused_early(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, packed: bytes) -> None:
    """An appliance's whole log bundle: the heads of its files are not all kept."""
    monkeypatch.setattr(packing, "MEMBERS_MAX", 5)
    path = tmp_path / "bundle.bin"
    path.write_bytes(packed)
    with pytest.raises(CaptureError, match="more than 5 files"):
        for _ in read_frames(path):
            pass


def test_an_encrypted_member_is_named(tmp_path: Path) -> None:
    data = bytearray(_zip({"rst.pcap": PCAP}, zipfile.ZIP_STORED))
    for sig, at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):   # the 'encrypted' flag bit
        i = data.index(sig) + at
        data[i] |= 1
    path = tmp_path / "locked.zip"
    path.write_bytes(bytes(data))
    assert "encrypted" in one_line_error(analyze(path))


@pytest.mark.parametrize(("head", "words"), [
    (b"(\xb5/\xfd" + bytes(60), "zstd -d"),
    (b"7z\xbc\xaf\x27\x1c" + bytes(60), "7z x"),
    (b"Rar!\x1a\x07\x01\x00" + bytes(60), "unrar x"),
    (b"GMBU\x02\x00" + bytes(60), "Network Monitor"),
    (b"snoop\0\0\0\0\0\0\2\0\0\0\4" + bytes(60), "snoop"),
    (b"\xa1\xb2\xcd\x34" + bytes(60), "editcap"),
])
def test_what_we_cannot_read_is_named_with_its_tool(tmp_path: Path, head: bytes,
                                                    words: str) -> None:
    path = tmp_path / "capture.bin"
    path.write_bytes(head)
    line = one_line_error(analyze(path))
    assert words in line and str(path) in line, line


@pytest.mark.parametrize("packed", [_zip({"rst.pcap": PCAP}), _tar({"rst.pcap": PCAP}),
                                    _tar({"rst.pcap": PCAP}, "w:gz")])
def test_an_archive_on_stdin_asks_for_its_path(packed: bytes) -> None:
    assert "give the archive's file" in one_line_error(analyze("-", packed))


def test_an_archive_in_a_fifo_is_one_line(tmp_path: Path) -> None:
    """A named pipe is read once, as a stream: an archive there cannot be listed first."""
    fifo = tmp_path / "capture.fifo"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_bytes(_zip({"rst.pcap": PCAP})),
                              daemon=True)
    writer.start()
    line = one_line_error(analyze(fifo))
    writer.join(5)
    assert "zip archive in a stream" in line, line


@pytest.mark.parametrize("kind", [bz2.compress, lzma.compress])
def test_stdin_decompresses_bzip2_and_xz(kind: Callable[[bytes], bytes]) -> None:
    assert verdicts(analyze("-", kind(PCAP))) == verdicts(analyze(CAPTURE))


@pytest.mark.parametrize("name", ["rst.tar.gz", "rst.pcap.xz", "rst.pcap.bz2", "rst.zip"])
def test_cut_or_corrupt_packing_is_a_line_or_a_note(tmp_path: Path, name: str) -> None:
    """A transfer cut short: the frames before the cut are analysed with a note (as for a
    cut pcap), or, when nothing can be read, one line; never a traceback."""
    whole = PACKED[name](_large_pcap())
    frames = 300 + sum(1 for _ in read_frames(CAPTURE))
    for keep in (len(whole) // 2, len(whole) - 30, 200):
        path = tmp_path / name
        path.write_bytes(whole[:keep])
        proc = analyze(path)
        assert "Traceback" not in proc.stderr
        if proc.returncode == 2:
            one_line_error(proc)
        else:
            assert proc.returncode in (0, 1), proc.stderr
            said = notes(proc)   # (a cut in a tar's trailing padding loses no frame)
            assert any("truncated" in n for n in said) or f"{frames} frames" in said[0], said
    flipped = bytearray(whole)
    flipped[len(flipped) // 2] ^= 0xFF
    path = tmp_path / name
    path.write_bytes(bytes(flipped))
    proc = analyze(path)
    assert "Traceback" not in proc.stderr and proc.returncode in (0, 1, 2), proc.stderr
    if proc.returncode == 2:
        one_line_error(proc)


def test_two_packed_captures_are_matched_as_two(tmp_path: Path) -> None:
    a, b = tmp_path / "fmc.zip", tmp_path / "proxy.pcap.xz"
    a.write_bytes(_zip({"fmc.pcap": PCAP}))
    b.write_bytes(lzma.compress(PCAP))
    proc = subprocess.run([sys.executable, "-m", "pathprobe", "analyze", str(a), str(b),
                           "--json"], capture_output=True, text=True, env=cli_env(),
                          check=False, timeout=120)
    plain = subprocess.run([sys.executable, "-m", "pathprobe", "analyze", str(CAPTURE),
                            str(CAPTURE), "--json"], capture_output=True, text=True,
                           env=cli_env(), check=False, timeout=120)
    assert [v[:3] for v in verdicts(proc)] == [v[:3] for v in verdicts(plain)]


# --- pure parts: magics, the choice of member, the decompressing stream -----------------

@pytest.mark.parametrize(("head", "kind"), [
    (gzip.compress(b"x"), Compression.GZIP), (bz2.compress(b"x"), Compression.BZIP2),
    (lzma.compress(b"x"), Compression.XZ), (b"BZhX", None), (PCAP[:8], None), (b"", None),
])
def test_compression_is_told_by_its_magic(head: bytes, kind: Compression | None) -> None:
    assert compression_of(head) is kind


def test_a_capture_holding_a_tar_header_is_a_capture(tmp_path: Path) -> None:
    """A capture of a tar download whose first frame holds "ustar" where a tar header has
    it (byte 257 of the file) is still read as the capture it is."""
    data = bytearray(PCAP)
    data[257:262] = b"ustar"   # (inside the first frame's bytes)
    path = tmp_path / "download.pcap"
    path.write_bytes(bytes(data))
    proc = analyze(path)
    assert proc.returncode in (0, 1) and not any("archive" in n for n in notes(proc)), proc


def test_foreign_quotes_the_file_name() -> None:
    said = foreign(b"(\xb5/\xfd" + bytes(8), "my capture; rm -rf.zst")
    assert said is not None and "zstd -d 'my capture; rm -rf.zst'" in said
    assert foreign(PCAP[:600], "x") is None and foreign(b"hello world\n" * 50, "x") is None


def test_choose_member_prefers_one_capture_then_one_text() -> None:
    cap = Member("a/b.pcap", len(PCAP), PCAP[:4096])
    text = Member("notes.txt", 20, b"12:00:00.000 IP a > b\n")
    fork = Member("__MACOSX/a/._b.pcap", 100, PCAP[:100])
    empty = Member("empty.pcap", 0, b"")
    gz = Member("c.pcap.gz", 50, gzip.compress(PCAP[:100]))
    assert choose_member("x.zip", "zip", [text, fork, cap, empty], looks_like_text) == 2
    assert choose_member("x.zip", "zip", [text, fork], looks_like_text) == 0
    assert choose_member("x.zip", "zip", [text, gz], looks_like_text) == 1
    with pytest.raises(CaptureError, match="3 captures"):
        choose_member("x.zip", "zip", [cap, gz, cap], looks_like_text)


def test_choose_member_two_captures_or_two_texts_are_a_pair() -> None:
    """Two captures (a text beside them is a note), or two texts and no capture: an
    ArchivePair naming their places, also when both files are alike."""
    cap = Member("fmc/b.pcap", len(PCAP), PCAP[:4096])
    text = Member("notes.txt", 20, b"12:00:00.000 IP a > b\n")
    with pytest.raises(ArchivePair, match="two captures") as two:
        choose_member("x.zip", "zip", [text, cap, cap], looks_like_text)
    assert two.value.members == ((1, "fmc/b.pcap"), (2, "fmc/b.pcap"))
    with pytest.raises(ArchivePair, match="two capture texts") as texts:
        choose_member("x.tar", "tar", [text, Member("\x1b[2Jb.txt", 20, text.head)],
                      looks_like_text)
    assert texts.value.members == ((0, "notes.txt"), (1, "b.txt"))
    assert choose_member("x.zip", "zip", [text, cap, cap], looks_like_text, 2) == 2


@settings(max_examples=40, deadline=None)
@given(data=st.binary(min_size=0, max_size=20_000), streams=st.integers(1, 3),
       chunk=st.integers(1, 70_000), kind=st.sampled_from(list(Compression)))
def test_decompressing_equals_the_library(data: bytes, streams: int, chunk: int,
                                          kind: Compression) -> None:
    """Any data, split into streams one after another, read in any chunk size: the bytes
    the library gives, and not truncated."""
    pack = {Compression.GZIP: gzip.compress, Compression.BZIP2: bz2.compress,
            Compression.XZ: lzma.compress}[kind]
    cut = len(data) // streams
    parts = [data[i * cut:(i + 1) * cut if i < streams - 1 else len(data)]
             for i in range(streams)]
    stream = Decompressing(io.BytesIO(b"".join(pack(p) for p in parts)), kind)
    out = b"".join(iter(lambda: stream.read(chunk), b""))
    assert out == data and not stream.truncated


@pytest.mark.parametrize("kind", [Compression.BZIP2, Compression.XZ])
def test_decompressing_keeps_what_came_before_a_cut(kind: Compression) -> None:
    data = bytes(range(256)) * 20_000
    pack = bz2.compress if kind is Compression.BZIP2 else lzma.compress
    packed = pack(data)
    stream = Decompressing(io.BytesIO(packed[: len(packed) * 2 // 3]), kind)
    out = b"".join(iter(lambda: stream.read(4096), b""))
    assert stream.truncated and data.startswith(out)
    with pytest.raises(UnpackError):
        Decompressing(io.BytesIO(packed[:12] + bytes(range(200))), kind).read()


MAGICS = [b"PK\x03\x04", b"PK\x05\x06", b"BZh9", b"\xfd7zXZ\x00", b"\x1f\x8b\x08\x00"]


@settings(max_examples=150, deadline=None)
@given(magic=st.sampled_from(MAGICS), body=st.binary(max_size=3000),
       tar=st.booleans(), seed=st.sampled_from([b"", PCAP[:600], _zip({"a.pcap": PCAP[:600]})]))
def test_any_bytes_after_a_packing_magic_are_a_capture_error_at_worst(
        tmp_path_factory: pytest.TempPathFactory, magic: bytes, body: bytes, tar: bool,
        seed: bytes) -> None:
    """Random, cut or spliced archives: frames, or a CaptureError (one line, exit 2 or 3),
    never another exception (a traceback, exit 4)."""
    data = bytearray(magic + seed[len(magic):] + body)
    if tar and len(data) >= 262:
        data[257:262] = b"ustar"
    path = tmp_path_factory.mktemp("fuzz") / "x.bin"
    path.write_bytes(bytes(data))
    try:
        for _ in read_frames(path):
            pass
    except CaptureError:
        pass

