"""Streaming pcap/pcapng reader (also compressed or in an archive: packing.py) that
yields raw frames.

Why our own reader and not scapy's ``RawPcapReader``/``RawPcapNgReader``: both
build a namedtuple of metadata per packet and scapy's pcapng reader parses every
block's options in Python, which dominates the run time of ``analyze`` on
captures of 500k+ packets; scapy also raises generic exceptions on truncated
or corrupt files, which we must turn into one clear line. The formats are
small (a 24-byte pcap header plus a 16-byte record header; pcapng blocks with
a length prefix), so a ``struct``-based reader over a buffered file is short,
constant in memory (one frame at a time), and measurably faster (see
``scripts/bench_analyze.py``).
"""

from __future__ import annotations

import struct
import sys
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from pathprobe.capture.linklayer import (
    LINKTYPE_ETHERNET,
    SUPPORTED_LINKTYPES,
    Frame,
    frame_kind,
    ip_header_cut,
    linktype_name,
    recapture_advice,
)
from pathprobe.capture.packing import (
    PCAP_MAGICS,
    PCAPNG_MAGIC,
    TAR_BLOCK,
    Compression,
    Decompressing,
    Unpacked,
    compression_of,
    foreign,
    is_tar,
    is_zip,
    open_tar,
    open_zip,
    read_once,
)
from pathprobe.errors import CaptureError, CaptureUnreadable, UsageError

if TYPE_CHECKING:
    from pathprobe.capture.textframes import TextInfo

TEXT_PEEK = 1 << 16       # bytes looked at to tell capture text from other files
KINDS_MAX = 8             # kinds of non-IP frames named in the no-IP message

CHUNK = 1 << 20
# No sane capture has a single record above this; a larger length means corruption.
MAX_RECORD = 1 << 24



@dataclass
class ReadStats:
    """What the reader noticed besides frames; filled while iterating."""

    frames: int = 0
    linktypes: set[int] = field(default_factory=set)
    truncated: str | None = None        # the last frame was cut short (file ends mid-record)
    unsupported_frames: int = 0         # pcapng frames on interfaces of other link types
    unsupported_linktypes: set[int] = field(default_factory=set)   # ... and those types
    compressed: bool = False
    unpacked: Unpacked | None = None    # the capture was read out of an archive
    not_ip: int = 0                     # frames of supported link types that carry no IP
    not_ip_kinds: dict[str, int] = field(default_factory=dict)   # what they carry instead
    text: TextInfo | None = None        # the input was capture text, not a capture file
    # Of the frames without IP: those kept shorter than they were (the snap length), the
    # most bytes kept of one, and those that end inside the IP header they announce. (Only
    # these: a check of every frame costs 0.5% of the time on a large capture.)
    not_ip_cut: int = 0
    not_ip_kept: int = 0
    ip_cut: int = 0
    # For the progress of a long read: the file's size on disk and how far into it the
    # reading got (a plain or compressed file; not a pipe or an archive's member).
    size: int | None = None
    where: Callable[[], int] | None = None
    # A text's parse, every few thousand lines: (line, lines) -> go on? (``Reading``: how
    # far it got, and Ctrl-C that ends it there); cleared once the parse is done
    parsing: Callable[[int, int], bool] | None = None
    stopped: bool = False   # Ctrl-C stopped the reading early: the frames before were read
    stopped_at: int | None = None   # ... this many bytes into the file, when it can say


def _no_ip_there(linktype: int) -> str:
    return (f"{linktype_name(linktype)}, which carries no IP pathprobe can find; "
            f"{recapture_advice(linktype)}")


def _unsupported(linktype: int) -> CaptureError:
    """No IP traffic at all can come from this file: nothing to analyse (exit 3)."""
    return CaptureUnreadable(f"the capture's link type is {_no_ip_there(linktype)}")


def _open_raw(path: Path) -> BinaryIO:
    if str(path) == "-":
        return sys.stdin.buffer
    try:
        return path.open("rb")
    except FileNotFoundError:   # the command line is wrong (exit 2), not the file (exit 3)
        raise UsageError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{path}: is a directory, not a capture file") from None
    except OSError as e:
        raise CaptureUnreadable(f"{path}: cannot open: {e.strerror or e}") from None


def open_capture(path: Path, pair_member: int | None = None
                 ) -> tuple[BinaryIO, Compression | None, Unpacked | None]:
    """Open a capture ('-' is stdin), decompressing it (gzip, bzip2, xz) and taking it out
    of a zip or tar archive as its first bytes say (``pair_member``: that one of the two
    captures an ``ArchivePair`` named); (stream, compression, which member of which
    archive). Reads forward only: pipes, FIFOs and /dev/stdin work (archives need
    a path)."""
    raw = _open_raw(path)
    try:
        head = raw.peek(TAR_BLOCK) if hasattr(raw, "peek") else b""
    except OSError as e:
        raw.close()
        raise CaptureUnreadable(f"{path}: cannot read: {e.strerror or e}") from None
    named = str(path) != "-" and path.is_file()   # (an archive is read twice: not a pipe)
    kind = compression_of(head)
    if named and (is_zip(head) or (kind is None and is_tar(head))):
        raw.close()
        return _from_archive(path, None, is_zip(head), pair_member)
    if kind is None:
        return raw, None, None
    unpacking = Decompressing(raw, kind)
    if named:
        try:
            first = unpacking.read(TAR_BLOCK)
        except OSError as e:
            unpacking.close()
            raise CaptureUnreadable(f"{path}: cannot read: {e.strerror or e}") from None
        except CaptureError:
            unpacking.close()
            raise
        if is_tar(first):   # a tar.gz, tar.bz2, tar.xz
            unpacking.close()
            return _from_archive(path, kind, False, pair_member)
        unpacking.unread(first)
    return unpacking, kind, None  # type: ignore[return-value]


def _from_archive(path: Path, kind: Compression | None, zipped: bool,
                  pair_member: int | None) -> tuple[BinaryIO, None, Unpacked]:
    """The capture in the zip or (``kind``-compressed) tar archive at ``path``."""
    from pathprobe.capture.textdecode import looks_like_text
    stream, unpacked = (open_zip(path, looks_like_text, pair_member) if zipped else
                        open_tar(path, kind, looks_like_text, pair_member))
    return stream, None, unpacked


def read_frames(path: Path, stats: ReadStats | None = None) -> Iterator[Frame]:
    """Yield every frame of a pcap/pcapng(.gz) file, one at a time (constant memory).

    Raises CaptureError for files that are not captures or are corrupt; a
    truncated last frame (or compressed stream) ends iteration and is reported
    in ``stats.truncated``.
    """
    for batch in read_batches(path, stats):
        yield from batch


def read_batches(path: Path, stats: ReadStats | None = None, pair_member: int | None = None
                 ) -> Iterator[list[Frame]]:
    """``read_frames`` in lists of consecutive frames (up to a read chunk's worth): the
    hot loop of ``analyze`` iterates a list far faster than it resumes a generator."""
    stats = stats if stats is not None else ReadStats()
    f, compression, stats.unpacked = open_capture(path, pair_member)
    stats.compressed = compression is not None
    _mark_progress(path, f, stats)
    try:
        try:
            magic = f.read(4)
        except (OSError, EOFError, zlib.error) as e:
            what = f"{compression.value} file" if compression is not None else "file"
            # the system could not read it (exit 3) vs the bytes are no capture (exit 2)
            error = CaptureError if stats.compressed or not isinstance(e, OSError) \
                else CaptureUnreadable
            raise error(f"{path}: not a readable {what} ({e})") from None
        if magic in PCAP_MAGICS:
            yield from _guard(path, _read_pcap(f, magic, stats), stats)
        elif magic == PCAPNG_MAGIC:
            yield from _guard(path, _read_pcapng(f, stats), stats)
        else:
            yield from _batched(_read_other(path, f, magic, stats))
        if isinstance(f, Decompressing) and f.truncated:
            cut = f" ({stats.truncated})" if stats.truncated else ""
            stats.truncated = (f"the compressed data ends early, after {f.position} "
                               f"uncompressed bytes: {stats.frames} complete frames were "
                               f"analysed{cut}")
    finally:
        stats.where = None    # (no position once closed; and the stats must pickle: beside.py)
        if f is not sys.stdin.buffer:
            f.close()


def _mark_progress(path: Path, f: BinaryIO, stats: ReadStats) -> None:
    """Where a long read can tell how far it got: a file on disk, plain or compressed."""
    if stats.unpacked is not None or str(path) == "-":
        return
    try:
        if not path.is_file():   # (a FIFO, /dev/stdin: no size, no position)
            return
        stats.size = path.stat().st_size
    except OSError:
        return
    stats.where = f.compressed_position if isinstance(f, Decompressing) else f.tell


def _batched(frames: Iterator[Frame], size: int = 1024) -> Iterator[list[Frame]]:
    batch: list[Frame] = []
    try:
        for fr in frames:
            batch.append(fr)
            if len(batch) >= size:
                yield batch
                batch = []
    except CaptureError:   # the frames before a corrupt block still count (see _guard)
        if batch:
            yield batch
        raise
    if batch:
        yield batch


def _read_other(path: Path, f: BinaryIO, magic: bytes, stats: ReadStats) -> Iterator[Frame]:
    """Capture text (tcpdump lines, Wireshark rows ...), or a one-line CaptureError: a file
    that is no capture at all is bad input (exit 2)."""
    # (a read that came back short met the end: on a terminal another would wait for a
    # second Ctrl-D, as the end of what is typed there is no lasting state)
    try:
        head = magic + f.read(TEXT_PEEK) if len(magic) == 4 else magic
    except (OSError, EOFError, zlib.error) as e:
        raise CaptureUnreadable(f"{path}: cannot read: {e}") from None
    from pathprobe.capture.textdecode import looks_like_text
    from pathprobe.capture.textframes import TEXT_MAX, open_text, text_frames
    if len(head.strip()) < 4:
        raise CaptureError(f"{path}: empty or too short to be a capture file or capture text")
    what = foreign(head, str(path))
    if what is not None:
        raise CaptureError(f"{path}: {what}")
    if not looks_like_text(head):
        raise CaptureError(f"{path}: not a capture: neither pcap/pcapng (starts with "
                         f"{magic.hex()}) nor text; save it with 'tcpdump -w' or as pcapng, "
                         "or paste the tcpdump/Wireshark lines as text")
    try:
        data = head + f.read(TEXT_MAX + 1 - len(head)) if len(head) == 4 + TEXT_PEEK \
            else head
    except (OSError, EOFError, zlib.error) as e:
        raise CaptureUnreadable(f"{path}: cannot read: {e}") from None
    u = stats.unpacked
    name = u.member if u and u.paired else path.name if str(path) != "-" else "stdin"
    parsing, stats.parsing = stats.parsing, None    # (an analysis is handed over pickled)
    stats.text = open_text(name, data, parsing)
    for frame in text_frames(stats.text):
        stats.frames += 1
        yield frame
    stats.frames += stats.text.parse.other_protocols   # (UDP, ARP ...: packets, not TCP)
    stats.not_ip += stats.text.parse.not_ip


def _guard(path: Path, batches: Iterator[list[Frame]], stats: ReadStats
           ) -> Iterator[list[Frame]]:
    """Turn read and decompression errors into CaptureError. Corruption after some frames
    (a capture copied while written, a transfer cut) ends the capture there, as for
    tcpdump and tshark: the frames before it are analysed, and a note says where."""
    given = 0
    try:
        for batch in batches:
            given += len(batch)
            yield batch
    except CaptureError as e:
        if not given:
            raise
        stats.truncated = f"{e}; the {given} frames before it were analysed"
    except (OSError, zlib.error) as e:
        what = "compressed data" if stats.compressed else "data"
        error = CaptureError if stats.compressed or not isinstance(e, OSError) \
            else CaptureUnreadable
        raise error(f"{path}: cannot read the {what} after frame {stats.frames} ({e})") from None
    except struct.error as e:  # a record shorter than its fixed header inside a block
        raise CaptureError(f"{path}: corrupt capture after frame {stats.frames} ({e})") from None


def _read_pcap(f: BinaryIO, magic: bytes, stats: ReadStats) -> Iterator[list[Frame]]:
    """Classic pcap, one list of frames per chunk read."""
    endian, resolution = PCAP_MAGICS[magic]
    header = f.read(20)
    if len(header) < 20:
        raise CaptureError("pcap file header is truncated: not a usable capture")
    _vmaj, _vmin, _zone, _sigfigs, _snaplen, network = struct.unpack(endian + "HHiIII", header)
    linktype = network & 0xFFFF
    if linktype not in SUPPORTED_LINKTYPES:
        raise _unsupported(linktype)
    stats.linktypes.add(linktype)
    unpack = struct.Struct(endian + "IIII").unpack_from
    # Read in large chunks and slice frames out of them: two read() calls per frame
    # cost more than the rest of the reader. One raw read a chunk (read1): a file gives a
    # whole chunk, a pipe what it holds now, so a live capture's frames are analysed as
    # they come (and a Ctrl-C reports them), not once a megabyte of them piled up.
    read = read_once(f)
    buf = read(CHUNK)
    pos = 0
    n = 0
    while True:
        batch: list[Frame] = []
        append = batch.append
        size = len(buf)
        # every record that lies whole in the buffer, without another check
        while pos + 16 <= size:
            sec, frac, incl, orig = unpack(buf, pos)
            end = pos + 16 + incl
            if end > size:
                break
            n += 1
            append((n, sec + frac * resolution, linktype, buf[pos + 16:end], orig))
            pos = end
        stats.frames = n
        if batch:
            yield batch
        avail = size - pos
        if avail >= 16:
            incl = unpack(buf, pos)[2]
            if incl > MAX_RECORD:
                raise CaptureError(f"frame {n + 1}: record length {incl} is impossible; "
                                   "the capture is corrupt from here on")
            want = max(CHUNK, incl + 16)
        else:
            want = CHUNK
        more = read(want)
        buf = buf[pos:] + more
        pos = 0
        if not more:
            avail = len(buf)
            if avail:
                if avail < 16:
                    stats.truncated = (f"frame {n + 1}: record header cut short ({avail} of "
                                       "16 bytes)")
                else:
                    incl = unpack(buf, 0)[2]
                    stats.truncated = (f"frame {n + 1}: cut short ({avail - 16} of {incl} "
                                       "captured bytes); it was not analysed")
            return


_SHB_BOM_LE = b"\x4d\x3c\x2b\x1a"
_SHB_BOM_BE = b"\x1a\x2b\x3c\x4d"


# An Enhanced Packet Block's head: type, length, interface, time (high, low), captured and
# original length; in each byte order a section may use.
_EPB_HEAD = {"<": struct.Struct("<7I"), ">": struct.Struct(">7I")}


class _Chunks:
    """A forward-only stream read a chunk at a time: ``read`` as a file's, while the fast
    loop of ``_read_pcapng`` slices blocks straight out of ``buf`` from ``pos``."""

    def __init__(self, f: BinaryIO) -> None:
        self._read = read_once(f)
        self.buf = b""
        self.pos = 0

    def read(self, want: int) -> bytes:
        """Up to ``want`` bytes: fewer only where the stream ends."""
        while len(self.buf) - self.pos < want:
            more = self._read(max(CHUNK, want - len(self.buf) + self.pos))
            if not more:
                break
            self.buf = self.buf[self.pos:] + more
            self.pos = 0
        out = self.buf[self.pos:self.pos + want]
        self.pos += len(out)
        return out


def _read_pcapng(f: BinaryIO, stats: ReadStats) -> Iterator[list[Frame]]:
    """pcapng: sections (SHB) of interfaces (IDB) and packets (EPB/SPB/obsolete PB), in
    batches. Enhanced Packet Blocks that lie whole in the chunk read are sliced out of it in
    one loop (what dumpcap and Wireshark write: the whole of a large capture); every other
    block, or one that straddles two chunks or looks wrong, is read one at a time."""
    chunks = _Chunks(f)
    read = chunks.read
    endian = "<"
    interfaces: list[tuple[int, float]] = []   # (linktype, seconds per timestamp unit)
    n = 0
    block_type = 0x0A0D0D0A  # the 4 magic bytes were consumed by the caller
    first = True
    while True:
        if first:
            first = False
        else:
            # hot loop: scripts/bench_analyze.py (a pcapng copy), per frame as _read_pcap's
            batch: list[Frame] = []
            append = batch.append
            buf, pos, size = chunks.buf, chunks.pos, len(chunks.buf)
            head = _EPB_HEAD[endian].unpack_from
            known = len(interfaces)
            while pos + 28 <= size:
                kind, length, iface, high, low, caplen, origlen = head(buf, pos)
                end = pos + length
                if (kind != 6 or end > size or length < 32 or length % 4
                        or length > MAX_RECORD or caplen > length - 32 or iface >= known):
                    break   # (the block-at-a-time path below decides, errors included)
                linktype, unit = interfaces[iface]
                n += 1
                if linktype in SUPPORTED_LINKTYPES:
                    append((n, ((high << 32) | low) * unit, linktype,
                            buf[pos + 28:pos + 28 + caplen], origlen))
                else:
                    stats.unsupported_frames += 1
                    stats.unsupported_linktypes.add(linktype)
                pos = end
            chunks.pos = pos
            stats.frames = n
            if batch:
                yield batch
            raw_type = read(4)
            if len(raw_type) < 4:
                if raw_type:
                    stats.truncated = f"after frame {n}: block header cut short"
                return
            block_type = struct.unpack(endian + "I", raw_type)[0]
        if block_type == 0x0A0D0D0A:
            section = _section_header(read, stats)
            if section is None:
                return
            endian, interfaces = section, []
            continue
        body = _block_body(read, endian, block_type, n, stats)
        if body is None:
            return
        if block_type in (6, 2, 3):   # Enhanced, obsolete and Simple Packet Blocks
            frame = _packet(block_type, body, endian, interfaces, n + 1)
            n += 1
            stats.frames = n
            if frame[2] not in SUPPORTED_LINKTYPES:
                stats.unsupported_frames += 1
                stats.unsupported_linktypes.add(frame[2])
                continue
            yield [frame]
        elif block_type == 1:  # Interface Description Block
            if len(body) < 12:
                raise CaptureError("pcapng interface description block too short")
            linktype = struct.unpack_from(endian + "H", body)[0]
            interfaces.append((linktype, _tsresol(body[8:-4], endian)))
            if linktype in SUPPORTED_LINKTYPES:
                stats.linktypes.add(linktype)
        # other blocks (name resolution, statistics, custom, ...) are skipped


def _section_header(read: Callable[[int], bytes], stats: ReadStats) -> str | None:
    """The rest of a Section Header Block: the section's byte order ("<" or ">"), or None
    when the file ends inside it."""
    rest = read(8)
    if len(rest) < 8:
        raise CaptureError("pcapng section header is truncated")
    bom = rest[4:8]
    if bom == _SHB_BOM_LE:
        endian = "<"
    elif bom == _SHB_BOM_BE:
        endian = ">"
    else:
        raise CaptureError("pcapng section header has a bad byte-order magic; "
                           "the file is corrupt")
    length = struct.unpack(endian + "I", rest[:4])[0]
    if length < 28 or length % 4 or length > MAX_RECORD:
        raise CaptureError(f"pcapng section header length {length} is invalid")
    body = read(length - 12)
    if len(body) < length - 12:
        stats.truncated = "section header cut short"
        return None
    return endian


def _block_body(read: Callable[[int], bytes], endian: str, block_type: int, n: int,
                stats: ReadStats) -> bytes | None:
    """A block's body after its type (with the trailing length), or None when cut short."""
    raw_len = read(4)
    if len(raw_len) < 4:
        stats.truncated = f"after frame {n}: block header cut short"
        return None
    length = struct.unpack(endian + "I", raw_len)[0]
    if length < 12 or length % 4 or length > MAX_RECORD:
        raise CaptureError(f"after frame {n}: pcapng block length {length} is impossible; "
                           "the capture is corrupt from here on")
    body = read(length - 8)
    if len(body) < length - 8:
        if block_type in (6, 3, 2):
            stats.truncated = (f"frame {n + 1}: cut short ({len(body)} of {length - 8} "
                               "block bytes); it was not analysed")
        else:
            stats.truncated = f"after frame {n}: last block cut short"
        return None
    return body


def _packet(block_type: int, body: bytes, endian: str, interfaces: list[tuple[int, float]],
            n: int) -> Frame:
    """Frame ``n`` of an Enhanced (6), obsolete (2) or Simple (3) Packet Block."""
    if block_type == 3:   # interface 0, no timestamp
        if not interfaces or len(body) < 8:
            raise CaptureError(f"frame {n}: simple packet block without an interface")
        origlen = struct.unpack_from(endian + "I", body)[0]
        return n, 0.0, interfaces[0][0], body[4:4 + min(origlen, len(body) - 8)], origlen
    if len(body) < 24:   # 20 bytes of fields, 4 of trailing length
        raise CaptureError(f"frame {n}: packet block too short")
    if block_type == 6:
        iface, ts_hi, ts_lo, caplen, origlen = struct.unpack_from(endian + "IIIII", body)
    else:
        iface, _drops, ts_hi, ts_lo, caplen, origlen = struct.unpack_from(endian + "HHIIII",
                                                                          body)
    if iface >= len(interfaces) or caplen > len(body) - 24:
        raise CaptureError(f"frame {n}: refers to interface {iface} or length "
                           f"{caplen} that does not exist; the capture is corrupt")
    linktype, unit = interfaces[iface]
    return n, ((ts_hi << 32) | ts_lo) * unit, linktype, body[20:20 + caplen], origlen


def _tsresol(options: bytes, endian: str) -> float:
    """Seconds per timestamp unit from an IDB's if_tsresol option (default microseconds)."""
    i = 0
    while i + 4 <= len(options):
        code, length = struct.unpack_from(endian + "HH", options, i)
        if code == 0:
            break
        if code == 9 and length >= 1 and i + 5 <= len(options):
            v = options[i + 4]
            return float(2 ** -(v & 0x7F)) if v & 0x80 else float(10 ** -v)
        i += 4 + ((length + 3) & ~3)
    return 1e-6


def note_not_ip(stats: ReadStats, linktype: int, data: bytes, orig: int) -> None:
    """Count a frame that carries no IP (``orig`` bytes long, ``data`` as kept), and
    remember what it carries (a few kinds)."""
    stats.not_ip += 1
    if orig > len(data):
        stats.not_ip_cut += 1
        stats.not_ip_kept = max(stats.not_ip_kept, len(data))
    stats.ip_cut += ip_header_cut(linktype, data)
    kinds = stats.not_ip_kinds
    kind = frame_kind(linktype, data)
    if kind in kinds or len(kinds) < KINDS_MAX:
        kinds[kind] = kinds.get(kind, 0) + 1


def unsupported_only_error(path: Path, stats: ReadStats) -> CaptureUnreadable:
    """Every frame of a pcapng was on interfaces of link types that carry no IP pathprobe
    can find (Wi-Fi with radiotap headers ...): as a pcap of that link type says (exit 3)."""
    frames = f"all {stats.frames} frames are" if stats.frames > 1 else "its one frame is"
    return CaptureUnreadable(f"{path}: {frames} on interfaces of link type "
                             f"{_no_ip_there(min(stats.unsupported_linktypes))}")


def no_ip_error(path: Path, stats: ReadStats) -> CaptureUnreadable:
    """The one line for a capture without any IP packet: what it holds, how to re-capture."""
    n, s = stats.frames, "" if stats.frames == 1 else "s"
    if stats.text is not None:
        return CaptureUnreadable(f"{path}: no IP packet in {n} packet line{s} of "
                                 "text (ARP, STP, CDP, LLDP, IP headers tcpdump could not "
                                 "read and the like): paste the lines of the TCP "
                                 "connections, or give the capture file")
    kinds = ", ".join(f"{n} {k}" for k, n in sorted(stats.not_ip_kinds.items(),
                                                       key=lambda kv: -kv[1]))
    lt = min(stats.linktypes) if stats.linktypes else LINKTYPE_ETHERNET
    kept = stats.not_ip_kept
    # (IP headers the capture cut short: its snap length, not the link, is to blame)
    advice = (f"every frame was kept to at most {kept} byte{'' if kept == 1 else 's'} (the "
              "capture's snap length), too few for the IP header; re-capture with "
              "'tcpdump -s 0 -w FILE' to keep whole frames"
              if stats.not_ip_cut >= n and stats.ip_cut >= n else recapture_advice(lt))
    return CaptureUnreadable(f"{path}: no IP packet in {n} frame{s} ({kinds}) on "
                             f"{linktype_name(lt)}; {advice}")
