"""Captures as people send them: compressed (gzip, bzip2, xz) or packed in an archive (zip,
tar, tar.gz ...), read as the one capture inside, in constant memory.

A support case holds a capture zipped (a mail attachment, Windows' "Send to > Compressed
folder"), as a tar.gz off an appliance, or xz-compressed; refusing those as "not a
capture" makes the user unpack and try again. What we cannot read here (7-Zip, RAR, zstd,
other capture formats) is named, with the command that makes a pcap of it.
"""

from __future__ import annotations

import shlex
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

from pathprobe.errors import CaptureError
from pathprobe.sanitize import clean, shorten

if TYPE_CHECKING:
    from pathlib import Path

CHUNK = 1 << 20           # compressed bytes read at a time
MEMBER_PEEK = 512         # bytes of each archive member looked at to find the capture
MEMBERS_MAX = 20_000      # files an archive may hold (an appliance's whole log bundle: fewer)
NAMES_SHOWN = 5           # member names listed in an error

# pcap's magics: (byte order, seconds per timestamp fraction); and pcapng's section header
PCAP_MAGICS = {
    b"\xd4\xc3\xb2\xa1": ("<", 1e-6), b"\xa1\xb2\xc3\xd4": (">", 1e-6),
    b"\x4d\x3c\xb2\xa1": ("<", 1e-9), b"\xa1\xb2\x3c\x4d": (">", 1e-9),
}
PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"
TAR_MAGIC_AT = 257        # "ustar" (POSIX and GNU tar) in the first header block
TAR_BLOCK = 512


class Compression(Enum):
    """A compressed stream, told by its first bytes; each may hold a tar archive."""

    GZIP = "gzip"
    BZIP2 = "bzip2"
    XZ = "xz"


def compression_of(head: bytes) -> Compression | None:
    """The compression whose magic ``head`` starts with, if any."""
    if head[:2] == b"\x1f\x8b":
        return Compression.GZIP
    if head[:3] == b"BZh" and head[3:4].isdigit():
        return Compression.BZIP2
    if head[:6] == b"\xfd7zXZ\x00":
        return Compression.XZ
    return None


def is_zip(head: bytes) -> bool:
    return head[:4] in (b"PK\x03\x04", b"PK\x05\x06")


def is_capture(head: bytes) -> bool:
    """pcap or pcapng, by the first bytes."""
    return head[:4] in PCAP_MAGICS or head[:4] == PCAPNG_MAGIC


def is_tar(head: bytes) -> bool:
    """A tar header block (not a capture whose first packet holds "ustar" just there)."""
    return head[TAR_MAGIC_AT:TAR_MAGIC_AT + 5] == b"ustar" and not is_capture(head)


# Files people send for a capture that we cannot read: (magic, offset, what it is, what
# to do). Capture formats convert with Wireshark's editcap; archives unpack first.
_EDITCAP = "convert it with 'editcap -F pcapng FILE OUT.pcapng' (or save it as pcapng in Wireshark)"
_FOREIGN: tuple[tuple[bytes, int, str, str], ...] = (
    (b"(\xb5/\xfd", 0, "zstd-compressed", "decompress it first: zstd -d FILE"),
    (b"7z\xbc\xaf\x27\x1c", 0, "a 7-Zip archive", "unpack it first: 7z x FILE"),
    (b"Rar!\x1a\x07", 0, "a RAR archive", "unpack it first: unrar x FILE"),
    (b"\x04\x22\x4d\x18", 0, "lz4-compressed", "decompress it first: lz4 -d FILE"),
    (b"GMBU", 0, "a Microsoft Network Monitor capture", _EDITCAP),
    (b"RTSS", 0, "a Microsoft Network Monitor 1.x capture", _EDITCAP),
    (b"snoop\0\0\0", 0, "a snoop capture (Solaris)", _EDITCAP),
    (b"TRSNIFF data", 0, "a Sniffer capture", _EDITCAP),
    (b"\xa1\xb2\xcd\x34", 0, "a modified pcap (old Red Hat tcpdump)", _EDITCAP),
    (b"\x34\xcd\xb2\xa1", 0, "a modified pcap (old Red Hat tcpdump)", _EDITCAP),
    (b"ustar", TAR_MAGIC_AT, "a tar archive in a stream (standard input, a pipe)",
     "give the archive's file instead, or unpack it first"),
    (b"PK\x03\x04", 0, "a zip archive in a stream (standard input, a pipe)",
     "give the archive's file instead, or unpack it first"),
)


def foreign(head: bytes, name: str) -> str | None:
    """What ``head`` starts a file of, that is no capture we read, and what to do with the
    file ``name``; None for anything else."""
    for magic, at, what, todo in _FOREIGN:
        if head[at:at + len(magic)] == magic:
            return f"{what}, not pcap/pcapng: {todo.replace('FILE', shlex.quote(clean(name)))}"
    return None


class UnpackError(CaptureError):
    """The compressed data or the archive is corrupt or cut short (exit status 2; after
    some frames, the capture ends there with a note, as for a cut pcap)."""


class ArchivePair(CaptureError):
    """An archive holding two captures (or, with none, two capture texts): the two sides of
    one story as a support case sends them (fmc.pcap and proxy.pcap, zipped). A run of
    this archive alone reads each, by its place in the archive, as one of two captures."""

    def __init__(self, message: str, members: tuple[tuple[int, str], ...]) -> None:
        super().__init__(message)
        self.members = members    # (place among the archive's files, name to show)


class _Decompressor(Protocol):
    @property
    def eof(self) -> bool: ...

    @property
    def unused_data(self) -> bytes: ...

    def decompress(self, data: bytes, /, max_length: int = ...) -> bytes: ...


def _decompressor(kind: Compression) -> _Decompressor:
    """A fresh decompressor (bz2 and lzma are imported only when needed)."""
    if kind is Compression.GZIP:
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        if kind is Compression.BZIP2:
            import bz2
            return bz2.BZ2Decompressor()
        import lzma
        return lzma.LZMADecompressor()
    except ImportError:   # (a Python built without them)
        raise CaptureError(f"{kind.value}-compressed, and this Python cannot decompress it: "
                           f"decompress it first") from None


def read_once(f: BinaryIO) -> Callable[[int], bytes]:
    """One read of what lies under ``f`` (read1 where it has one): a pipe's bytes as they
    come, a file's up to the size asked; b"" only at the end."""
    return getattr(f, "read1", None) or f.read


class Decompressing:
    """gzip, bzip2 or xz decompression as a forward-only stream (pipes, FIFOs, stdin: no
    seek), in bounded memory.

    Unlike ``gzip.GzipFile`` and its kin, a stream cut short is no EOFError that loses
    the last chunk: ``read`` returns every byte that decompressed and then b"", and
    ``truncated`` says the end-of-stream marker never came. Streams one after another
    (``cat a.gz b.gz``, pbzip2, xz -T) are read in turn, as the tools do."""

    def __init__(self, raw: BinaryIO, kind: Compression) -> None:
        self._raw = raw
        self.kind = kind
        self._z = _decompressor(kind)
        self._buf = b""
        self._eof = False
        self.truncated = False
        self.position = 0   # decompressed bytes handed out so far
        self._raw_read = read_once(raw)

    def compressed_position(self) -> int:
        """How far into the compressed file the reading got (for progress)."""
        return self._raw.tell()

    def _input(self) -> bytes:
        """Compressed bytes to give the decompressor next (b"": it still holds some)."""
        z: Any = self._z
        if self.kind is Compression.GZIP:
            return z.unconsumed_tail or self._raw_read(CHUNK)   # type: ignore[no-any-return]
        return self._raw_read(CHUNK) if z.needs_input else b""   # type: ignore[no-any-return]

    def read(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes: fewer only at the end."""
        return self._take(CHUNK if n < 0 else n, whole=True)

    def read1(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes of what has come so far (at least one, b"" only at the end), as a
        BufferedReader's read1: a compressed pipe's frames are analysed as they come."""
        return self._take(CHUNK if n < 0 else n, whole=False)

    def _take(self, want: int, whole: bool) -> bytes:
        try:
            while (len(self._buf) < want if whole else not self._buf) and not self._eof:
                self._step(want)
        except Exception as e:
            if not self._corrupt(e):
                raise
            raise UnpackError(f"{self.kind.value} data corrupt after {self.position} "
                              f"uncompressed bytes ({e})") from None
        out, self._buf = self._buf[:want], self._buf[want:]
        self.position += len(out)
        return out

    def _corrupt(self, e: Exception) -> bool:
        """Is ``e`` the decompressor's word that the data is bad? (A read error of the file
        under it stays an OSError: exit 3, not 2; bz2 says 'Invalid data stream' as one.)"""
        if isinstance(e, (zlib.error, EOFError)):
            return True
        if self.kind is Compression.BZIP2:
            return isinstance(e, OSError)
        if self.kind is Compression.XZ:
            import lzma
            return isinstance(e, lzma.LZMAError)
        return False

    def _step(self, want: int) -> None:
        z: Any = self._z
        if z.eof:   # a stream ended: another may follow (trailing zeros are padding)
            rest = z.unused_data
            self._z = z = _decompressor(self.kind)
            if not rest.strip(b"\0"):
                rest = self._raw.read(CHUNK)
                if not rest:
                    self._eof = True
                    return
            self._buf += z.decompress(rest, want)
            return
        data = self._input()
        if not data and (self.kind is Compression.GZIP or z.needs_input):
            self._eof = self.truncated = True   # (the end-of-stream marker never came)
            if self.kind is Compression.GZIP:
                self._buf += z.flush()
            return
        self._buf += z.decompress(data, want)

    def unread(self, data: bytes) -> None:
        """Give back bytes read to look at them (a tar header)."""
        self._buf = data + self._buf
        self.position -= len(data)

    def close(self) -> None:
        self._raw.close()


class MemberKind(Enum):
    CAPTURE = "capture"
    TEXT = "text"
    OTHER = "other"


@dataclass(frozen=True)
class Member:
    """A file in an archive, with its first bytes as stored (``inflated_head`` opens them
    when the file itself is compressed)."""

    name: str
    size: int
    head: bytes


def inflated_head(head: bytes) -> bytes:
    """The first bytes that a compressed ``head`` decompresses to (b"" when they cannot be
    had from it: bzip2 needs a whole block); ``head`` itself when it is not compressed."""
    kind = compression_of(head)
    if kind is None:
        return head
    try:
        if kind is Compression.BZIP2:
            return b""
        z: Any = _decompressor(kind)
        return z.decompress(head, TAR_BLOCK)  # type: ignore[no-any-return]
    except MemoryError:
        raise
    except Exception:   # zlib.error, lzma.LZMAError: not what it seemed
        return b""


def member_kind(m: Member, is_text: Callable[[bytes], bool]) -> MemberKind:
    """A capture (pcap, pcapng, also compressed), capture text, or something else: by
    content, not by name."""
    base = PurePosixPath(m.name).name
    if not m.size or "__MACOSX" in PurePosixPath(m.name).parts or base.startswith("._") \
            or base == ".DS_Store":   # (a Mac's zip adds resource forks and folder state)
        return MemberKind.OTHER
    head = inflated_head(m.head)
    if is_capture(head):
        return MemberKind.CAPTURE
    return MemberKind.TEXT if head is m.head and is_text(head) else MemberKind.OTHER


def _names(members: Sequence[Member]) -> str:
    shown = ", ".join(shorten(clean(m.name), 80) for m in members[:NAMES_SHOWN])
    more = len(members) - NAMES_SHOWN
    return shown + (f" and {more} more" if more > 0 else "")


def choose_member(archive: str, kind: str, members: Sequence[Member],
                  is_text: Callable[[bytes], bool], pair_member: int | None = None) -> int:
    """The place of the one capture in the archive, else of its one capture text;
    ``pair_member``: that one of an ``ArchivePair``. A CaptureError that names what is
    there when that is not one file (``ArchivePair`` for two)."""
    if pair_member is not None:
        if pair_member >= len(members):
            raise CaptureError(f"{archive}: the {kind} archive changed while it was read")
        return pair_member
    kinds = [(m, member_kind(m, is_text)) for m in members]
    captures = [i for i, (_m, k) in enumerate(kinds) if k is MemberKind.CAPTURE]
    texts = [i for i, (_m, k) in enumerate(kinds) if k is MemberKind.TEXT]
    if len(captures) == 1:
        return captures[0]
    if len(captures) == 2 or (not captures and len(texts) == 2):
        two = captures or texts
        what = "captures" if captures else "capture texts"
        raise ArchivePair(
            f"{archive}: a {kind} archive holding two {what} "
            f"({_names([members[i] for i in two])}): give it alone to analyse them as two "
            "captures of the same connections, or unpack it and name one",
            tuple((i, shorten(clean(members[i].name), 80)) for i in two))
    if captures:
        chosen = [members[i] for i in captures]
        raise CaptureError(
            f"{archive}: a {kind} archive holding {len(captures)} captures ({_names(chosen)}): "
            "unpack it and name one (or two of the same connections, for where packets vanish)")
    if len(texts) == 1:
        return texts[0]
    if texts:
        named = [members[i] for i in texts]
        raise CaptureError(f"{archive}: a {kind} archive with no pcap/pcapng in it, and "
                           f"{len(texts)} text files ({_names(named)}): unpack it and name the "
                           "one that holds capture text")
    files = [m for m in members if m.size]
    raise CaptureError(f"{archive}: a {kind} archive with no capture in it" + (
        f" ({len(files)} file(s): {_names(files)})" if files else " (no file in it)"))


@dataclass(frozen=True)
class Unpacked:
    """Which file of which archive was read, for the report's note."""

    archive: str
    kind: str
    member: str
    others: int     # files in the archive left unread
    paired: bool = False   # one of an ArchivePair's two


class _MemberStream:
    """An archive member's bytes as a stream: its library's errors as UnpackError, and
    closing it closes what lies under it (the archive, its file)."""

    def __init__(self, inner: Any, what: str, *under: Any) -> None:
        self._inner, self._what, self._under = inner, what, under

    def read(self, n: int = -1) -> bytes:
        try:
            return self._inner.read(n)   # type: ignore[no-any-return]
        except MemoryError:
            raise
        except Exception as e:   # zipfile.BadZipFile (CRC), EOFError, tarfile.ReadError ...
            raise UnpackError(f"{self._what}: {type(e).__name__}: {e}") from None

    def close(self) -> None:
        for f in (self._inner, *self._under):
            f.close()


def open_zip(path: Path, is_text: Callable[[bytes], bool], pair_member: int | None = None
             ) -> tuple[BinaryIO, Unpacked]:
    """The capture in a zip archive (``pair_member``: that one of two), streamed from it."""
    import zipfile
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise CaptureError(f"{path}: a zip archive that cannot be read ({e}): cut short "
                           "in transfer? copy it again") from None
    try:
        infos = [i for i in zf.infolist() if not i.is_dir()]
        if len(infos) > MEMBERS_MAX:
            raise _too_many(path, "zip")
        members = [Member(i.filename, i.file_size, _zip_head(zf, i, path)) for i in infos]
        place = choose_member(str(path), "zip", members, is_text, pair_member)
        chosen, info = members[place], infos[place]
        stream = zf.open(info)
    except BaseException:
        zf.close()
        raise
    return (_inner_stream(_MemberStream(stream, f"{path}: {clean(chosen.name)}", zf), chosen),
            Unpacked(str(path), "zip", clean(chosen.name), _unread(members, pair_member),
                     pair_member is not None))


def _zip_head(zf: Any, info: Any, path: Path) -> bytes:
    if not info.file_size:
        return b""
    if info.flag_bits & 0x1:
        raise CaptureError(f"{path}: {clean(info.filename)} is encrypted in the zip archive: "
                           "unzip it with its password first")
    try:
        with zf.open(info) as f:
            return f.read(MEMBER_PEEK)  # type: ignore[no-any-return]
    except NotImplementedError:   # Deflate64 (Windows, files over 2 GB), PPMd ...
        raise CaptureError(f"{path}: {clean(info.filename)} is compressed with a method Python "
                           "cannot read (Windows uses Deflate64 for large files): unzip it "
                           "first") from None
    except MemoryError:
        raise
    except Exception as e:   # (a corrupt member)
        raise UnpackError(f"{path}: {clean(info.filename)}: {type(e).__name__}: {e}") from None


def open_tar(path: Path, kind: Compression | None, is_text: Callable[[bytes], bool],
             pair_member: int | None = None) -> tuple[BinaryIO, Unpacked]:
    """The capture in a tar archive (plain, or ``kind``-compressed), streamed from it: a
    first pass reads what it holds (as far as it goes: cut short, the files before the cut
    count), a second opens the chosen file. Our own decompression, not tarfile's: it keeps
    the bytes before a cut."""
    import tarfile
    members: list[Member] = []
    tf, raw = _tar_stream(path, kind)
    try:
        for info in tf:
            if info.isfile():
                if len(members) >= MEMBERS_MAX:
                    raise _too_many(path, "tar")
                f = tf.extractfile(info)
                members.append(Member(info.name, info.size, f.read(MEMBER_PEEK) if f else b""))
    except (tarfile.TarError, OSError, EOFError, UnpackError) as e:
        if not members:
            raise UnpackError(f"{path}: the tar archive is corrupt or cut short "
                              f"({e})") from None
    finally:
        tf.close()
        raw.close()
    place = choose_member(str(path), "tar", members, is_text, pair_member)
    chosen = members[place]
    tf, raw = _tar_stream(path, kind)
    try:
        files = (i for i in tf if i.isfile())
        for _ in range(place):
            next(files)
        stream = tf.extractfile(next(files))
    except BaseException:
        tf.close()
        raw.close()
        raise
    return (_inner_stream(_MemberStream(stream, f"{path}: {clean(chosen.name)}", tf, raw),
                          chosen),
            Unpacked(str(path), "tar", clean(chosen.name), _unread(members, pair_member),
                     pair_member is not None))


def _unread(members: Sequence[Member], pair_member: int | None) -> int:
    """The archive's files that no capture of the run is read from."""
    return len(members) - (1 if pair_member is None else 2)


def _too_many(path: Path, kind: str) -> CaptureError:
    return CaptureError(f"{path}: a {kind} archive of more than {MEMBERS_MAX} files: unpack it "
                        "and name the capture")


def _tar_stream(path: Path, kind: Compression | None) -> tuple[Any, Any]:
    """A tar archive read forward only (tarfile's stream mode), and the file under it."""
    import tarfile
    raw: Any = path.open("rb")
    try:
        source: Any = Decompressing(raw, kind) if kind is not None else raw
        return tarfile.open(fileobj=source, mode="r|"), raw
    except BaseException as e:
        raw.close()
        if isinstance(e, (tarfile.TarError, EOFError)):
            raise CaptureError(f"{path}: a tar archive that cannot be read ({e}): cut short "
                               "in transfer? copy it again") from None
        raise


def _inner_stream(stream: _MemberStream, chosen: Member) -> BinaryIO:
    """The member's capture, decompressed when the member is compressed (a.pcap.gz)."""
    kind = compression_of(chosen.head)
    inner: Any = Decompressing(stream, kind) if kind is not None else stream  # type: ignore[arg-type]
    return inner  # type: ignore[no-any-return]


