"""Streaming pcap/pcapng reader (optionally gzip-compressed) that yields raw frames.

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
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from pathprobe.errors import CaptureError, CaptureUnreadable, UsageError

# Link types (https://www.tcpdump.org/linktypes.html) we can find IP in.
LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW_OLD = 12   # DLT_RAW on most BSDs / old libpcap
LINKTYPE_RAW_OBSD = 14
LINKTYPE_RAW = 101
LINKTYPE_LOOP = 108
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229
LINKTYPE_LINUX_SLL2 = 276

LINKTYPE_NAMES = {
    LINKTYPE_NULL: "BSD loopback", LINKTYPE_ETHERNET: "Ethernet", LINKTYPE_RAW_OLD: "raw IP",
    LINKTYPE_RAW_OBSD: "raw IP", LINKTYPE_RAW: "raw IP", LINKTYPE_LOOP: "OpenBSD loopback",
    LINKTYPE_LINUX_SLL: "Linux cooked (SLL)", LINKTYPE_IPV4: "raw IPv4",
    LINKTYPE_IPV6: "raw IPv6", LINKTYPE_LINUX_SLL2: "Linux cooked v2 (SLL2)",
}
SUPPORTED_LINKTYPES = frozenset(LINKTYPE_NAMES)

CHUNK = 1 << 20
# No sane capture has a single record above this; a larger length means corruption.
MAX_RECORD = 1 << 24

_PCAP_MAGICS = {
    b"\xd4\xc3\xb2\xa1": ("<", 1e-6), b"\xa1\xb2\xc3\xd4": (">", 1e-6),
    b"\x4d\x3c\xb2\xa1": ("<", 1e-9), b"\xa1\xb2\x3c\x4d": (">", 1e-9),
}
_PCAPNG_SHB = b"\x0a\x0d\x0d\x0a"
_GZIP = b"\x1f\x8b"

# One frame: (frame number from 1, timestamp in seconds, link type, captured bytes, wire length)
Frame = tuple[int, float, int, bytes, int]


@dataclass
class ReadStats:
    """What the reader noticed besides frames; filled while iterating."""

    frames: int = 0
    linktypes: set[int] = field(default_factory=set)
    truncated: str | None = None        # the last frame was cut short (file ends mid-record)
    unsupported_frames: int = 0         # pcapng frames on interfaces of other link types
    compressed: bool = False


def _name(linktype: int) -> str:
    return LINKTYPE_NAMES.get(linktype, f"link type {linktype}")


def _unsupported(linktype: int) -> CaptureError:
    names = ", ".join(sorted(set(LINKTYPE_NAMES.values())))
    return CaptureError(f"capture link type {linktype} is not supported (supported: {names}); "
                        "re-capture with 'tcpdump -i IFACE' on an Ethernet interface or 'any'")


class GunzipStream:
    """Gzip decompression as a forward-only stream (pipes, FIFOs, stdin: no seek).

    Unlike ``gzip.GzipFile``, a stream cut short is not an EOFError that loses the
    last chunk: ``read`` returns every byte that decompressed and then b"", and
    ``truncated`` says the end-of-stream marker never came. Concatenated gzip
    members are read one after another, as gunzip does.
    """

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self._buf = b""
        self._eof = False
        self.truncated = False
        self.position = 0   # decompressed bytes handed out so far

    def read(self, n: int = -1) -> bytes:
        want = CHUNK if n < 0 else n
        while len(self._buf) < want and not self._eof:
            data = self._z.unconsumed_tail or self._raw.read(CHUNK)
            if not data:
                self._eof = True
                self.truncated = not self._z.eof
                self._buf += self._z.flush()
                break
            self._buf += self._z.decompress(data, want)
            if self._z.eof:
                rest = self._z.unused_data
                self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
                if rest.strip(b"\0"):   # another member follows (trailing zeros are padding)
                    self._buf += self._z.decompress(rest, want)
                else:
                    self._eof = not self._raw_has_more()
        out, self._buf = self._buf[:want], self._buf[want:]
        self.position += len(out)
        return out

    def _raw_has_more(self) -> bool:
        more = self._raw.read(CHUNK)
        if more:
            self._buf += self._z.decompress(more, CHUNK)
        return bool(more)

    def close(self) -> None:
        self._raw.close()


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


def open_capture(path: Path) -> tuple[BinaryIO, bool]:
    """Open a capture ('-' is stdin), gunzipping when it starts with the gzip magic;
    (stream, compressed). Reads forward only: pipes, FIFOs and /dev/stdin work."""
    raw = _open_raw(path)
    try:
        head = raw.peek(2)[:2] if hasattr(raw, "peek") else b""
    except OSError as e:
        raw.close()
        raise CaptureUnreadable(f"{path}: cannot read: {e.strerror or e}") from None
    if head == _GZIP:
        return GunzipStream(raw), True  # type: ignore[return-value]
    return raw, False


def read_frames(path: Path, stats: ReadStats | None = None) -> Iterator[Frame]:
    """Yield every frame of a pcap/pcapng(.gz) file, one at a time (constant memory).

    Raises CaptureError for files that are not captures or are corrupt; a
    truncated last frame (or compressed stream) ends iteration and is reported
    in ``stats.truncated``.
    """
    stats = stats if stats is not None else ReadStats()
    f, stats.compressed = open_capture(path)
    try:
        try:
            magic = f.read(4)
        except (OSError, EOFError, zlib.error) as e:
            what = "gzip file" if stats.compressed else "file"
            # the system could not read it (exit 3) vs the bytes are no capture (exit 2)
            error = CaptureError if stats.compressed or not isinstance(e, OSError) \
                else CaptureUnreadable
            raise error(f"{path}: not a readable {what} ({e})") from None
        if magic in _PCAP_MAGICS:
            yield from _guard(path, _read_pcap(f, magic, stats), stats)
        elif magic == _PCAPNG_SHB:
            yield from _guard(path, _read_pcapng(f, stats), stats)
        elif len(magic) < 4:
            raise CaptureError(f"{path}: empty or too short to be a capture file")
        else:
            raise CaptureError(f"{path}: not a pcap or pcapng capture (starts with "
                               f"{magic.hex()}); save it with 'tcpdump -w' or as pcapng")
        if isinstance(f, GunzipStream) and f.truncated:
            cut = f" ({stats.truncated})" if stats.truncated else ""
            stats.truncated = (f"the compressed data ends early, after {f.position} "
                               f"uncompressed bytes: {stats.frames} complete frames were "
                               f"analysed{cut}")
    finally:
        if f is not sys.stdin.buffer:
            f.close()


def _guard(path: Path, frames: Iterator[Frame], stats: ReadStats) -> Iterator[Frame]:
    """Turn read and decompression errors into CaptureError."""
    try:
        yield from frames
    except (OSError, zlib.error) as e:
        what = "compressed data" if stats.compressed else "data"
        error = CaptureError if stats.compressed or not isinstance(e, OSError) \
            else CaptureUnreadable
        raise error(f"{path}: cannot read the {what} after frame {stats.frames} ({e})") from None
    except struct.error as e:  # a record shorter than its fixed header inside a block
        raise CaptureError(f"{path}: corrupt capture after frame {stats.frames} ({e})") from None


def _read_pcap(f: BinaryIO, magic: bytes, stats: ReadStats) -> Iterator[Frame]:
    endian, resolution = _PCAP_MAGICS[magic]
    header = f.read(20)
    if len(header) < 20:
        raise CaptureError("pcap file header is truncated: not a usable capture")
    _vmaj, _vmin, _zone, _sigfigs, _snaplen, network = struct.unpack(endian + "HHiIII", header)
    linktype = network & 0xFFFF
    if linktype not in SUPPORTED_LINKTYPES:
        raise _unsupported(linktype)
    stats.linktypes.add(linktype)
    unpack = struct.Struct(endian + "IIII").unpack_from
    read = f.read
    # Read in large chunks and slice frames out of them: two read() calls per frame
    # cost more than the rest of the reader.
    buf = read(CHUNK)
    pos = 0
    n = 0
    while True:
        avail = len(buf) - pos
        if avail < 16:
            more = read(CHUNK)
            buf = buf[pos:] + more
            pos = 0
            avail = len(buf)
            if avail < 16:
                if avail:
                    stats.truncated = (f"frame {n + 1}: record header cut short ({avail} of "
                                       "16 bytes)")
                return
        sec, frac, incl, orig = unpack(buf, pos)
        if incl > avail - 16:
            if incl > MAX_RECORD:
                raise CaptureError(f"frame {n + 1}: record length {incl} is impossible; "
                                   "the capture is corrupt from here on")
            buf = buf[pos:] + read(max(CHUNK, incl + 16))
            pos = 0
            if incl > len(buf) - 16:
                stats.truncated = (f"frame {n + 1}: cut short ({len(buf) - 16} of {incl} "
                                   "captured bytes); it was not analysed")
                return
        n += 1
        end = pos + 16 + incl
        data = buf[pos + 16:end]
        pos = end
        stats.frames = n
        yield n, sec + frac * resolution, linktype, data, orig


_SHB_BOM_LE = b"\x4d\x3c\x2b\x1a"
_SHB_BOM_BE = b"\x1a\x2b\x3c\x4d"


def _read_pcapng(f: BinaryIO, stats: ReadStats) -> Iterator[Frame]:
    """pcapng: sections (SHB) of interfaces (IDB) and packets (EPB/SPB/obsolete PB)."""
    read = f.read
    endian = "<"
    interfaces: list[tuple[int, float]] = []   # (linktype, seconds per timestamp unit)
    n = 0
    block_type = 0x0A0D0D0A  # the 4 magic bytes were consumed by the caller
    first = True
    while True:
        if first:
            first = False
        else:
            raw_type = read(4)
            if len(raw_type) < 4:
                if raw_type:
                    stats.truncated = f"after frame {n}: block header cut short"
                return
            block_type = struct.unpack(endian + "I", raw_type)[0]
        if block_type == 0x0A0D0D0A:
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
                return
            interfaces = []
            continue
        raw_len = read(4)
        if len(raw_len) < 4:
            stats.truncated = f"after frame {n}: block header cut short"
            return
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
            return
        if block_type in (6, 2):  # Enhanced Packet Block, obsolete Packet Block
            if len(body) < 24:   # 20 bytes of fields, 4 of trailing length
                raise CaptureError(f"frame {n + 1}: packet block too short")
            if block_type == 6:
                iface, ts_hi, ts_lo, caplen, origlen = struct.unpack_from(endian + "IIIII", body)
            else:
                iface, _drops, ts_hi, ts_lo, caplen, origlen = struct.unpack_from(
                    endian + "HHIIII", body)
            if iface >= len(interfaces) or caplen > len(body) - 24:
                raise CaptureError(f"frame {n + 1}: refers to interface {iface} or length "
                                   f"{caplen} that does not exist; the capture is corrupt")
            n += 1
            stats.frames = n
            linktype, unit = interfaces[iface]
            if linktype not in SUPPORTED_LINKTYPES:
                stats.unsupported_frames += 1
                continue
            yield n, ((ts_hi << 32) | ts_lo) * unit, linktype, body[20:20 + caplen], origlen
        elif block_type == 3:  # Simple Packet Block (interface 0, no timestamp)
            if not interfaces or len(body) < 8:
                raise CaptureError(f"frame {n + 1}: simple packet block without an interface")
            origlen = struct.unpack_from(endian + "I", body)[0]
            n += 1
            stats.frames = n
            linktype, _unit = interfaces[0]
            if linktype not in SUPPORTED_LINKTYPES:
                stats.unsupported_frames += 1
                continue
            yield n, 0.0, linktype, body[4:4 + min(origlen, len(body) - 8)], origlen
        elif block_type == 1:  # Interface Description Block
            if len(body) < 12:
                raise CaptureError("pcapng interface description block too short")
            linktype = struct.unpack_from(endian + "H", body)[0]
            interfaces.append((linktype, _tsresol(body[8:-4], endian)))
            if linktype in SUPPORTED_LINKTYPES:
                stats.linktypes.add(linktype)
        # other blocks (name resolution, statistics, custom, ...) are skipped


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


# --- link layer ------------------------------------------------------------------------

_ETH_VLAN = (0x8100, 0x88A8, 0x9100)
ETHERTYPE_IPV4, ETHERTYPE_IPV6 = 0x0800, 0x86DD


def ip_offset(linktype: int, data: bytes) -> int:
    """Offset of the IPv4/IPv6 header in a frame, or -1 if the frame carries no IP."""
    if linktype == LINKTYPE_ETHERNET:
        if len(data) < 14:
            return -1
        et = (data[12] << 8) | data[13]
        off = 14
        while et in _ETH_VLAN and len(data) >= off + 4:
            et = (data[off + 2] << 8) | data[off + 3]
            off += 4
        return off if et in (ETHERTYPE_IPV4, ETHERTYPE_IPV6) else -1
    if linktype == LINKTYPE_LINUX_SLL:
        if len(data) < 16:
            return -1
        et = (data[14] << 8) | data[15]
        return 16 if et in (ETHERTYPE_IPV4, ETHERTYPE_IPV6) else -1
    if linktype == LINKTYPE_LINUX_SLL2:
        if len(data) < 20:
            return -1
        et = (data[0] << 8) | data[1]
        return 20 if et in (ETHERTYPE_IPV4, ETHERTYPE_IPV6) else -1
    if linktype in (LINKTYPE_RAW, LINKTYPE_RAW_OLD, LINKTYPE_RAW_OBSD, LINKTYPE_IPV4,
                    LINKTYPE_IPV6):
        return 0
    if linktype in (LINKTYPE_NULL, LINKTYPE_LOOP):
        return 4 if len(data) > 4 and data[4] >> 4 in (4, 6) else -1
    return -1
