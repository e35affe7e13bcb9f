"""The capture reader: formats, link types, compression, damage; and the CLI's answers."""

from __future__ import annotations

import gzip
import json
import shutil
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pathprobe.capture import Filters, ReadStats, analyze_capture, read_frames
from pathprobe.capture.linklayer import ip_offset
from pathprobe.cli import main
from pathprobe.errors import CaptureError, CaptureUnreadable, UsageError
from pathprobe.facts.capture import CaptureFact
from pathprobe.model import ExitStatus, VerdictCode
from pathprobe.render.evidence import describe

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "captures"
HEALTHY = FIXTURES / "healthy.pcap"
ACL = FIXTURES / "acl.pcap"


def pcap_records(path: Path) -> tuple[int, list[tuple[int, int, bytes, int]]]:
    """(link type, [(sec, usec, data, orig)]) of a little-endian fixture."""
    raw = path.read_bytes()
    linktype = struct.unpack_from("<I", raw, 20)[0]
    out, off = [], 24
    while off < len(raw):
        sec, usec, incl, orig = struct.unpack_from("<IIII", raw, off)
        out.append((sec, usec, raw[off + 16:off + 16 + incl], orig))
        off += 16 + incl
    return linktype, out


def write_pcap(path: Path, linktype: int, records: list[tuple[int, int, bytes, int]],
               endian: str = "<", nanos: bool = False) -> Path:
    magic = 0xA1B23C4D if nanos else 0xA1B2C3D4
    with path.open("wb") as f:
        f.write(struct.pack(endian + "IHHiIII", magic, 2, 4, 0, 0, 65535, linktype))
        for sec, usec, data, orig in records:
            f.write(struct.pack(endian + "IIII", sec, usec * 1000 if nanos else usec,
                                len(data), orig))
            f.write(data)
    return path


def _block(endian: str, btype: int, body: bytes) -> bytes:
    body += b"\0" * (-len(body) % 4)
    n = len(body) + 12
    return struct.pack(endian + "II", btype, n) + body + struct.pack(endian + "I", n)


def write_pcapng(path: Path, linktype: int, records: list[tuple[int, int, bytes, int]],
                 endian: str = "<", tsresol: int | None = 9, block: int = 6) -> Path:
    """SHB, a statistics-like unknown block, one IDB (with if_tsresol), then packets as
    EPBs (``block`` 6), SPBs (3) or obsolete PBs (2)."""
    shb = _block(endian, 0x0A0D0D0A, struct.pack(endian + "IHHq", 0x1A2B3C4D, 1, 0, -1))
    opts = b""
    if tsresol is not None:
        opts = struct.pack(endian + "HH", 9, 1) + bytes([tsresol]) + b"\0\0\0"
        opts += struct.pack(endian + "HH", 0, 0)
    idb = _block(endian, 1, struct.pack(endian + "HHI", linktype, 0, 65535) + opts)
    out = [shb, _block(endian, 0x0BAD, b"custom"), idb]
    unit = 10 ** (tsresol if tsresol is not None else 6)
    for sec, usec, data, orig in records:
        ts = sec * unit + usec * unit // 10**6
        if block == 3:
            out.append(_block(endian, 3, struct.pack(endian + "I", orig) + data))
        elif block == 2:
            out.append(_block(endian, 2, struct.pack(endian + "HHIIII", 0, 0, ts >> 32,
                                                     ts & 0xFFFFFFFF, len(data), orig) + data))
        else:
            out.append(_block(endian, 6, struct.pack(endian + "IIIII", 0, ts >> 32,
                                                     ts & 0xFFFFFFFF, len(data), orig) + data))
    path.write_bytes(b"".join(out))
    return path


def verdict_codes(path: Path) -> list[VerdictCode]:
    return [v.code for v in analyze_capture(path, Filters()).measurement.verdicts]


# --- formats --------------------------------------------------------------------------

@pytest.mark.parametrize("endian", ["<", ">"])
@pytest.mark.parametrize("nanos", [False, True])
def test_pcap_byte_orders_and_resolutions(tmp_path: Path, endian: str, nanos: bool) -> None:
    linktype, recs = pcap_records(ACL)
    path = write_pcap(tmp_path / "x.pcap", linktype, recs, endian, nanos)
    frames = list(read_frames(path))
    assert len(frames) == len(recs)
    assert frames[3][1] == pytest.approx(recs[3][0] + recs[3][1] / 1e6, abs=1e-6)
    assert frames[3][3] == recs[3][2]
    assert verdict_codes(path) == [VerdictCode.PROXY_DENIED]


@pytest.mark.parametrize("endian", ["<", ">"])
@pytest.mark.parametrize("tsresol", [None, 6, 9])
def test_pcapng(tmp_path: Path, endian: str, tsresol: int | None) -> None:
    linktype, recs = pcap_records(ACL)
    path = write_pcapng(tmp_path / "x.pcapng", linktype, recs, endian, tsresol)
    frames = list(read_frames(path))
    assert [f[0] for f in frames] == list(range(1, len(recs) + 1))
    assert frames[5][1] == pytest.approx(recs[5][0] + recs[5][1] / 1e6, abs=1e-6)
    assert verdict_codes(path) == [VerdictCode.PROXY_DENIED]


def test_pcapng_simple_packet_blocks(tmp_path: Path) -> None:
    linktype, recs = pcap_records(ACL)
    path = write_pcapng(tmp_path / "x.pcapng", linktype, recs, block=3)
    assert [f[3] for f in read_frames(path)] == [r[2] for r in recs]


@pytest.mark.parametrize("endian", ["<", ">"])
def test_pcapng_obsolete_packet_blocks(tmp_path: Path, endian: str) -> None:
    linktype, recs = pcap_records(ACL)
    path = write_pcapng(tmp_path / "x.pcapng", linktype, recs, endian, block=2)
    frames = list(read_frames(path))
    assert [f[3] for f in frames] == [r[2] for r in recs]
    assert frames[5][1] == pytest.approx(recs[5][0] + recs[5][1] / 1e6, abs=1e-6)
    assert verdict_codes(path) == [VerdictCode.PROXY_DENIED]


def test_pcapng_written_by_editcap_if_available(tmp_path: Path) -> None:
    editcap = shutil.which("editcap")
    if editcap is None:
        pytest.skip("editcap (wireshark-common) not installed")
    import subprocess

    out = tmp_path / "clamp.pcapng"
    subprocess.run([editcap, "-F", "pcapng", str(FIXTURES / "clamp.pcap"), str(out)],
                   check=True, capture_output=True)
    assert verdict_codes(out) == [VerdictCode.MSS_CLAMPED]


def test_gzip_compressed(tmp_path: Path) -> None:
    path = tmp_path / "acl.pcap.gz"
    path.write_bytes(gzip.compress(ACL.read_bytes()))
    stats = ReadStats()
    assert len(list(read_frames(path, stats))) == 12 and stats.compressed
    assert verdict_codes(path) == [VerdictCode.PROXY_DENIED]


# --- link types ---------------------------------------------------------------------------

def _strip_ethernet(recs: list[tuple[int, int, bytes, int]]) -> list[tuple[int, int, bytes,
                                                                         int]]:
    return [(s, u, d[14:], o - 14) for s, u, d, o in recs]


@pytest.mark.parametrize(("linktype", "prefix"), [
    (101, lambda ip: b""),                                          # raw IP
    (12, lambda ip: b""),                                           # DLT_RAW (BSD)
    (228, lambda ip: b""),                                          # raw IPv4
    (113, lambda ip: struct.pack("!HHH8sH", 0, 1, 6, b"\x02" * 8, 0x0800)),   # SLL
    (276, lambda ip: struct.pack("!HHIHBB8s", 0x0800, 0, 2, 1, 0, 6, b"\x02" * 8)),  # SLL2
    (0, lambda ip: struct.pack("=I", 2)),                           # BSD loopback
])
def test_link_types(tmp_path: Path, linktype: int, prefix: object) -> None:
    _lt, recs = pcap_records(ACL)
    assert callable(prefix)
    ip_recs = [(s, u, prefix(d) + d, o) for s, u, d, o in _strip_ethernet(recs)]
    path = write_pcap(tmp_path / "x.pcap", linktype, ip_recs)
    assert verdict_codes(path) == [VerdictCode.PROXY_DENIED]


def test_vlan_tagged_ethernet(tmp_path: Path) -> None:
    _lt, recs = pcap_records(ACL)
    tagged = [(s, u, d[:12] + b"\x81\x00\x00\x64" + d[12:], o + 4) for s, u, d, o in recs]
    assert ip_offset(1, tagged[0][2]) == 18
    path = write_pcap(tmp_path / "x.pcap", 1, tagged)
    assert verdict_codes(path) == [VerdictCode.PROXY_DENIED]


def test_non_ip_frames_are_skipped() -> None:
    arp = b"\xff" * 6 + b"\x02" * 6 + b"\x08\x06" + b"\0" * 28
    assert ip_offset(1, arp) == -1
    assert ip_offset(113, b"\0" * 14 + b"\x08\x06") == -1
    assert ip_offset(1, b"\0" * 5) == -1


def test_unsupported_link_type_is_one_clear_error(tmp_path: Path) -> None:
    path = write_pcap(tmp_path / "x.pcap", 187, [(0, 0, b"\0" * 40, 40)])   # Bluetooth HCI
    with pytest.raises(CaptureError, match=r"Bluetooth HCI .link type 187.* no IP"):
        list(read_frames(path))


# --- damage ---------------------------------------------------------------------------------

def test_truncated_last_packet_is_reported_and_the_rest_analysed(tmp_path: Path) -> None:
    raw = ACL.read_bytes()
    path = tmp_path / "cut.pcap"
    path.write_bytes(raw[:-10])
    stats = ReadStats()
    assert len(list(read_frames(path, stats))) == 11
    assert stats.truncated is not None and "frame 12: cut short" in stats.truncated
    result = analyze_capture(path, Filters())
    (cut,) = [n for n in result.notes if n.fact is CaptureFact.CAPTURE_TRUNCATED]
    assert "capture truncated: frame 12" in describe(cut)
    assert [v.code for v in result.measurement.verdicts] == [VerdictCode.PROXY_DENIED]


def test_truncated_pcapng_and_gzip(tmp_path: Path) -> None:
    linktype, recs = pcap_records(ACL)
    ng = write_pcapng(tmp_path / "x.pcapng", linktype, recs)
    cut = tmp_path / "cut.pcapng"
    cut.write_bytes(ng.read_bytes()[:-7])
    stats = ReadStats()
    assert len(list(read_frames(cut, stats))) == 11 and stats.truncated
    gz = tmp_path / "cut.pcap.gz"
    gz.write_bytes(gzip.compress(ACL.read_bytes())[:-30])
    stats = ReadStats()
    frames = list(read_frames(gz, stats))
    assert stats.truncated and len(frames) <= 12


@pytest.mark.parametrize(("content", "message"), [
    (b"", "empty or too short"),
    (b"hello, this is a text file\n", "not a capture: no pcap/pcapng header"),
    (gzip.compress(b"not a capture at all"), "not a capture: no pcap/pcapng header"),
    (b"\x7fELF\x02\x01\x01\x00" + bytes(64), "neither pcap/pcapng .* nor text"),
])
def test_non_captures_are_usage_errors(tmp_path: Path, content: bytes, message: str) -> None:
    """A file that is no capture at all (nor capture text) is bad input: exit 2 (issue 20)."""
    path = tmp_path / "bad"
    path.write_bytes(content)
    with pytest.raises(UsageError, match=message):
        analyze_capture(path, Filters())


@pytest.mark.parametrize(("content", "message"), [
    (b"\xd4\xc3\xb2\xa1\x02\x00", "header is truncated"),
    (b"\x1f\x8b\x08\x00garbage-garbage-garbage", "gzip"),
])
def test_broken_captures_are_capture_errors(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad"
    path.write_bytes(content)
    with pytest.raises(CaptureError, match=message):
        analyze_capture(path, Filters())


def test_impossible_record_length_is_corruption(tmp_path: Path) -> None:
    raw = bytearray(ACL.read_bytes())
    struct.pack_into("<I", raw, 24 + 8, 0x7FFFFFF0)
    path = tmp_path / "corrupt.pcap"
    path.write_bytes(bytes(raw))
    with pytest.raises(CaptureError, match=r"frame 1: record length .* impossible"):
        list(read_frames(path))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])
@given(sizes=st.lists(st.integers(0, 700), min_size=1, max_size=40),
       giant=st.sampled_from([None, 0, -1]), cut=st.integers(0, 40))
def test_chunked_reading_keeps_every_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            sizes: list[int], giant: int | None,
                                            cut: int) -> None:
    """Frames are sliced out of chunks read from a file, or from a gzip stream: every
    record comes out whole, in order and once, with the same truncation note, whether
    records end on chunk borders, span them, or one is larger than a chunk (chunks made
    tiny here)."""
    from pathprobe.capture import reader
    monkeypatch.setattr(reader, "CHUNK", 512)
    if giant is not None:
        sizes.insert(giant if giant >= 0 else len(sizes), 1500)   # three chunks in one record
    records = [(i, i * 7, bytes([i % 251]) * n, n + 4) for i, n in enumerate(sizes)]
    raw = write_pcap(tmp_path / "whole.pcap", 1, records).read_bytes()
    cut %= 16 + len(records[-1][2])     # into the last record, never past it
    raw = raw[:len(raw) - cut]
    plain, packed = tmp_path / "x.pcap", tmp_path / "x.pcap.gz"
    plain.write_bytes(raw)
    packed.write_bytes(gzip.compress(raw))

    def read(path: Path) -> tuple[list[object], str | None]:
        stats = ReadStats()
        frames = [(n, ts, data, orig) for n, ts, _lt, data, orig in read_frames(path, stats)]
        return frames, stats.truncated

    frames, truncated = read(plain)
    assert (frames, truncated) == read(packed)
    whole = len(records) - (1 if cut else 0)
    assert [(n, data, orig) for n, _ts, data, orig in frames] == [
        (i + 1, data, orig) for i, (_s, _u, data, orig) in enumerate(records[:whole])]
    assert [ts for _n, ts, _d, _o in frames] == pytest.approx(
        [sec + usec / 1e6 for sec, usec, _d, _o in records[:whole]])
    assert (truncated is None) == (cut == 0)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])
@given(records=st.lists(st.tuples(st.integers(0, 700), st.sampled_from([6, 6, 6, 3, 2]),
                                  st.booleans()), min_size=1, max_size=30),
       endians=st.lists(st.sampled_from(["<", ">"]), min_size=1, max_size=2),
       chunk=st.sampled_from([64, 97, 256, 1 << 20]), cut=st.integers(0, 60))
def test_chunked_pcapng_reading_keeps_every_block(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        records: list[tuple[int, int, bool]], endians: list[str], chunk: int, cut: int) -> None:
    """pcapng's Enhanced Packet Blocks are sliced out of the chunk read in one loop, every
    other block (or one across a chunk's end) read one at a time: whatever the chunk size,
    every frame comes out whole, numbered as Wireshark does (frames on an interface of an
    unsupported link type counted, not handed on), with the same truncation note; sections
    of either byte order, one after the other."""
    from pathprobe.capture import reader
    parts, expected, n = [], [], 0
    per_section = -(-len(records) // len(endians))
    for s, endian in enumerate(endians):
        mine = records[s * per_section:(s + 1) * per_section]
        if not mine:
            continue
        body = b"".join(
            _block(endian, kind, struct.pack(endian + "I", size) + bytes([size % 251]) * size)
            if kind == 3 else   # (a simple packet block has no captured length: it is whole)
            _block(endian, kind, struct.pack(endian + ("IIIII" if kind == 6 else "HHIIII"),
                                             *((1 if foreign else 0, 0, 5, size, size + 4)
                                               if kind == 6 else
                                               (1 if foreign else 0, 0, 0, 5, size, size + 4)))
                   + bytes([size % 251]) * size)
            for size, kind, foreign in mine)
        head = write_pcapng(tmp_path / f"s{s}", 1, [], endian=endian).read_bytes()
        other_if = _block(endian, 1, struct.pack(endian + "HHI", 187, 0, 65535))
        parts.append(head + other_if + body)
        for size, kind, foreign in mine:
            n += 1
            if not (foreign and kind != 3):   # (a simple packet block is interface 0's)
                expected.append((n, bytes([size % 251]) * size, size if kind == 3 else size + 4))
    raw = b"".join(parts)
    raw = raw[:len(raw) - cut % len(raw)] if cut else raw
    path = tmp_path / "x.pcapng"
    path.write_bytes(raw)

    def read(size: int) -> tuple[list[tuple[int, bytes, int]], str | None, int]:
        monkeypatch.setattr(reader, "CHUNK", size)
        stats = ReadStats()
        try:
            frames = [(n, data, orig) for n, _ts, _lt, data, orig in read_frames(path, stats)]
        except CaptureError as e:
            return [], str(e), -1
        return frames, stats.truncated, stats.unsupported_frames

    got, whole = read(chunk), read(1 << 20)
    assert got == whole
    if not cut:
        assert got[0] == expected and got[1] is None
    else:   # a prefix of them, whole ones only
        assert got[0] == expected[:len(got[0])]


def test_impossible_record_length_in_a_file_long_enough(tmp_path: Path) -> None:
    """A record length past any sane size is corruption, even when the file is long enough
    to hold it, plain or compressed."""
    raw = bytearray(ACL.read_bytes())
    struct.pack_into("<I", raw, 24 + 8, (1 << 24) + 1)
    raw += bytes((1 << 24) + 64)
    for name, content in (("big.pcap", bytes(raw)), ("big.pcap.gz", gzip.compress(raw))):
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(CaptureError, match=r"frame 1: record length 16777217 is impossible"):
            list(read_frames(path))


@pytest.mark.parametrize("kind", ["pcap", "pcapng"])
def test_corruption_after_some_frames_ends_the_capture_there(tmp_path: Path,
                                                             kind: str) -> None:
    """Suricata's smtp-to-comma capture: 18 good frames, then a record length of 3925868813.
    tcpdump and tshark show the 18 frames and stop; pathprobe refused the file (exit 2).
    The frames before the corruption are analysed, and a note says where it began; a
    corrupt first record is still an error."""
    linktype, records = pcap_records(ACL)
    if kind == "pcap":
        path = write_pcap(tmp_path / "cut.pcap", linktype, records)
        raw = path.read_bytes() + struct.pack("<IIII", 1, 0, 3925868813, 60) + bytes(60)
        want = "frame 13: record length 3925868813 is impossible"
    else:
        path = write_pcapng(tmp_path / "cut.pcapng", linktype, records)
        raw = path.read_bytes() + struct.pack("<II", 6, 0x7FFFFFF0) + bytes(40)
        want = f"after frame {len(records)}: pcapng block length"
    assert len(records) == 12
    path.write_bytes(raw)
    report, whole = analyze_capture(path, Filters()), analyze_capture(ACL, Filters())
    assert report.measurement.verdicts == whole.measurement.verdicts
    (note,) = [describe(n) for n in report.notes if n.fact is CaptureFact.CAPTURE_TRUNCATED]
    assert note.startswith(f"capture truncated: {want}") and note.endswith(
        "; the 12 frames before it were analysed"), note
    first = raw[:24] + struct.pack("<IIII", 1, 0, 3925868813, 60) if kind == "pcap" else None
    if first is not None:
        path.write_bytes(first + bytes(60))
        with pytest.raises(CaptureError, match="frame 1: record length 3925868813"):
            analyze_capture(path, Filters())


def test_missing_file_and_directory_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file"):
        list(read_frames(tmp_path / "nope.pcap"))
    with pytest.raises(UsageError, match="is a directory"):
        list(read_frames(tmp_path))
    assert main(["analyze", str(tmp_path / "nope.pcap")]) == ExitStatus.USAGE


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=st.sampled_from(["acl", "rst", "mtu", "healthy-v6"]), fmt=st.sampled_from(
    ["pcap", "pcapng", "gz"]), cut=st.integers(0, 30000),
       flips=st.lists(st.tuples(st.integers(0, 30000), st.integers(0, 255)), max_size=6))
def test_fuzz_damaged_files_never_crash(tmp_path_factory: pytest.TempPathFactory, source: str,
                                        fmt: str, cut: int,
                                        flips: list[tuple[int, int]]) -> None:
    """Truncated or corrupted captures give a report or a one-line typed error (CaptureError;
    UsageError when so little is left that it is no capture at all), never anything else."""
    linktype, recs = pcap_records(FIXTURES / f"{source}.pcap")
    tmp = tmp_path_factory.mktemp("fuzz")
    if fmt == "pcapng":
        raw = write_pcapng(tmp / "x", linktype, recs).read_bytes()
    else:
        raw = (FIXTURES / f"{source}.pcap").read_bytes()
        if fmt == "gz":
            raw = gzip.compress(raw)
    data = bytearray(raw[:max(0, len(raw) - cut)])
    for pos, value in flips:
        if data:
            data[pos % len(data)] = value
    path = tmp / "damaged"
    path.write_bytes(bytes(data))
    try:
        result = analyze_capture(path, Filters())
    except (CaptureError, UsageError) as e:
        assert str(e) and "\n" not in str(e)
    else:
        assert result.measurement.verdicts


# --- the command line -------------------------------------------------------------------

def test_cli_json_and_exit_status(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", str(ACL), "--json"]) == ExitStatus.PROBLEM
    doc = json.loads(capsys.readouterr().out)
    assert doc["schema"] == "pathprobe/1" and doc["command"] == "analyze"
    assert [v["code"] for v in doc["verdicts"]] == ["PROXY_DENIED"]
    assert doc["legs"][0]["client_port"] and doc["legs"][0]["status"] == 403
    assert main(["analyze", str(HEALTHY)]) == ExitStatus.HEALTHY
    out = capsys.readouterr().out
    assert "HEALTHY" in out and "fmc-proxy" in out


def test_cli_bad_file_is_one_line_exit_2(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("not a capture\n")
    assert main(["analyze", str(path)]) == ExitStatus.USAGE  # bad input (README's table)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("pathprobe: error: ")
    assert "Traceback" not in err


def test_cli_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", str(ACL), "--proxy", "proxy.example:99999"]) == ExitStatus.USAGE
    assert main(["analyze", str(ACL), "--host", "not-an-address"]) == ExitStatus.USAGE
    assert main(["analyze", str(ACL), "--port", "0"]) == ExitStatus.USAGE
    err = capsys.readouterr().err
    assert "Traceback" not in err


def test_cli_filters(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", str(ACL), "--json", "--host", "198.18.2.2",
                 "--port", "3128"]) == ExitStatus.PROBLEM
    assert main(["analyze", str(ACL), "--port", "81"]) == ExitStatus.NOT_MEASURED
    assert "none matching --host/--port" in capsys.readouterr().err


def test_host_filter_says_what_it_left_out(capsys: pytest.CaptureFixture[str]) -> None:
    """--host with an address the capture never shows: "0 TCP connections" alone reads as
    a capture without TCP; the line also counts the TCP packets the filter left out."""
    _linktype, records = pcap_records(ACL)
    tcp = sum(1 for _s, _u, data, _o in records if data[12:14] == b"\x08\x00" and data[23] == 6)
    assert tcp > 0
    assert main(["analyze", str(ACL), "--host", "198.18.9.9"]) == ExitStatus.NOT_MEASURED
    err = capsys.readouterr().err
    assert f"0 TCP connections ({tcp} TCP packets of other hosts left out), none matching" \
        in err and err.count("\n") == 1, err
    assert main(["analyze", str(ACL), "--port", "81"]) == ExitStatus.NOT_MEASURED
    assert "left out" not in capsys.readouterr().err   # (no --host: nothing left out by it)


def test_help_teaches(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", "--help"]) == 0
    out = capsys.readouterr().out
    for needle in ("pcapng", "--proxy", "--host", "--port", "--stall-after", "Example",
                   "Exit status", "TUNNEL_STALL", "default: 3.0"):
        assert needle in out, needle


def test_pcapng_sections_concatenated_and_foreign_interfaces(tmp_path: Path) -> None:
    """Two sections (e.g. `cat a.pcapng b.pcapng`), the second big-endian; frames on an
    interface of an unsupported link type are counted, skipped and reported."""
    linktype, recs = pcap_records(ACL)
    first = write_pcapng(tmp_path / "a", linktype, recs[:6]).read_bytes()
    second = write_pcapng(tmp_path / "b", linktype, recs[6:], endian=">").read_bytes()
    foreign = write_pcapng(tmp_path / "c", 187, [(0, 0, b"\0" * 40, 40)]).read_bytes()
    path = tmp_path / "all.pcapng"
    path.write_bytes(first + foreign + second)
    stats = ReadStats()
    frames = list(read_frames(path, stats))
    assert len(frames) == 12 and stats.unsupported_frames == 1
    assert [f[0] for f in frames] == [*range(1, 7), *range(8, 14)]   # Wireshark's numbering
    result = analyze_capture(path, Filters())
    assert [v.code for v in result.measurement.verdicts] == [VerdictCode.PROXY_DENIED]
    (skipped,) = [n for n in result.notes if n.fact is CaptureFact.UNSUPPORTED_FRAMES]
    assert skipped.values.get("count") == 1
    assert describe(skipped) == "1 frame on interfaces of unsupported link types skipped"


def test_pcapng_of_wifi_frames_only_says_so_like_its_pcap(tmp_path: Path) -> None:
    """Practical Packet Analysis' 802.11 captures (pcapng, radiotap): 'healthy, 12 IP
    packets, no TCP connection' (exit 0), while a pcap of that link type says it carries no
    IP and how to capture instead (exit 3). Now the same; and frames without IP beside IP
    ones are not counted as IP packets. (Radiotap is read now: these frames hold none.)"""
    radiotap = b"\x00\x00\x08\x00\x00\x00\x00\x00"
    wifi = write_pcapng(tmp_path / "w", 127,
                        [(0, i, radiotap + b"\x80\x00" + bytes(40), 50) for i in range(12)])
    with pytest.raises(CaptureUnreadable) as err:
        analyze_capture(wifi, Filters())
    assert "no IP packet in 12 frames (12 802.11 management, control or encrypted frames) " \
        "on 802.11 radiotap" in str(err.value)
    assert "wired side" in str(err.value)
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Ether

    udp = bytes(Ether() / IP(src="198.18.1.2", dst="198.18.0.53") / UDP(dport=53) / b"q")
    mixed = tmp_path / "mixed.pcapng"
    mixed.write_bytes(write_pcapng(tmp_path / "e", 1, [(0, 0, udp, len(udp))]).read_bytes()
                      + wifi.read_bytes())
    result = analyze_capture(mixed, Filters())
    (no_tcp,) = [n for n in result.notes if n.fact is CaptureFact.NO_TCP]
    assert no_tcp.values.get("packets") == 1


def test_cli_ipv6_host_and_proxy_forms(capsys: pytest.CaptureFixture[str]) -> None:
    v6 = str(FIXTURES / "healthy-v6.pcap")
    assert main(["analyze", v6, "--host", "2001:DB8:2::2"]) == ExitStatus.HEALTHY
    assert main(["analyze", v6, "--proxy", "[2001:db8:2::2]:3128"]) == ExitStatus.HEALTHY
    assert main(["analyze", v6, "--host", "2001:db8:9::9"]) == ExitStatus.NOT_MEASURED
    capsys.readouterr()


def test_ipv6_extension_headers_take_the_slow_path(tmp_path: Path) -> None:
    """TCP behind a hop-by-hop header is parsed by pathprobe.wire.headers and tracked."""
    from scapy.layers.inet import TCP
    from scapy.layers.inet6 import IPv6, IPv6ExtHdrHopByHop
    from scapy.layers.l2 import Ether

    a, b = "2001:db8:1::2", "2001:db8:2::2"
    connect = b"CONNECT upstream.pathprobe.test:443 HTTP/1.1\r\n\r\n"

    def pkt(src: str, dst: str, sp: int, dp: int, flags: str, seq: int, ack: int,
            payload: bytes = b"") -> bytes:
        return bytes(Ether() / IPv6(src=src, dst=dst) / IPv6ExtHdrHopByHop() /
                     TCP(sport=sp, dport=dp, flags=flags, seq=seq, ack=ack,
                         options=[("MSS", 1440)] if "S" in flags else []) / payload)

    frames = [
        pkt(a, b, 40000, 3128, "S", 100, 0),
        pkt(b, a, 3128, 40000, "SA", 900, 101),
        pkt(a, b, 40000, 3128, "A", 101, 901),
        pkt(a, b, 40000, 3128, "PA", 101, 901, connect),
        pkt(b, a, 3128, 40000, "PA", 901, 101 + len(connect), b"HTTP/1.1 403 Forbidden\r\n\r\n"),
    ]
    path = write_pcap(tmp_path / "x.pcap", 1, [(i, 0, f, len(f)) for i, f in enumerate(frames)])
    result = analyze_capture(path, Filters())
    (v,) = result.measurement.verdicts
    assert v.code is VerdictCode.PROXY_DENIED
    assert result.measurement.legs[0].measurements["mss_sent"] == 1440
