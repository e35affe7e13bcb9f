"""TLS records, sans-IO: a ClientHello of an exact byte size and record parsing.

The tunnel's up-direction probe is one TLS record written in one piece, whose
total size (5-byte record header included, i.e. the TCP payload) is exactly
the size under test. RFC 7685's padding extension fills it. The "refused"
variant offers only ``TLS_EMPTY_RENEGOTIATION_INFO_SCSV`` (0x00ff), so any
server answers with a 7-byte handshake_failure alert: proof that the whole
ClientHello arrived, without a large reply that could itself be lost.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

RECORD_HEADER = 5
MAX_FRAGMENT = 1 << 14  # RFC 8446 5.1: a record's plaintext is at most 2^14 bytes

CONTENT_ALERT = 21
CONTENT_HANDSHAKE = 22
CONTENT_APPLICATION_DATA = 23
TLS13 = 0x0304
HANDSHAKE_CLIENT_HELLO = 1
HANDSHAKE_SERVER_HELLO = 2
ALERT_HANDSHAKE_FAILURE = 40

EXT_SERVER_NAME = 0x0000
EXT_SUPPORTED_GROUPS = 0x000A
EXT_EC_POINT_FORMATS = 0x000B
EXT_SIGNATURE_ALGORITHMS = 0x000D
EXT_PADDING = 0x0015

SCSV_ONLY = (0x00FF,)
# ECDHE AEAD suites every current server (and the lab's OpenSSL) accepts in TLS 1.2.
COMMON_SUITES = (0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8, 0x009C, 0x009D, 0x00FF)
_GROUPS = (0x001D, 0x0017, 0x0018)
_SIGALGS = (0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601)


def _u8(b: bytes) -> bytes:
    return struct.pack("!B", len(b)) + b


def _u16(b: bytes) -> bytes:
    return struct.pack("!H", len(b)) + b


def _u24(b: bytes) -> bytes:
    return struct.pack("!I", len(b))[1:] + b


def _ext(kind: int, data: bytes) -> bytes:
    return struct.pack("!H", kind) + _u16(data)


def _extensions(server_name: str | None, accept: bool) -> bytes:
    exts = b""
    if server_name:
        name = server_name.encode("idna")
        exts += _ext(EXT_SERVER_NAME, _u16(b"\x00" + _u16(name)))
    if accept:
        exts += _ext(EXT_SUPPORTED_GROUPS, _u16(b"".join(struct.pack("!H", g) for g in _GROUPS)))
        exts += _ext(EXT_EC_POINT_FORMATS, _u8(b"\x00"))
        exts += _ext(EXT_SIGNATURE_ALGORITHMS,
                     _u16(b"".join(struct.pack("!H", a) for a in _SIGALGS)))
    return exts


def _record(suites: Sequence[int], session_id: bytes, exts: bytes, random: bytes) -> bytes:
    body = (b"\x03\x03" + random + _u8(session_id)
            + _u16(b"".join(struct.pack("!H", s) for s in suites))
            + b"\x01\x00" + _u16(exts))
    handshake = struct.pack("!B", HANDSHAKE_CLIENT_HELLO) + _u24(body)
    return struct.pack("!BH", CONTENT_HANDSHAKE, 0x0301) + _u16(handshake)


def min_client_hello_size(server_name: str | None = None, accept: bool = False) -> int:
    """The smallest size ``client_hello`` can build with these options."""
    return len(_record(COMMON_SUITES if accept else SCSV_ONLY, b"",
                       _extensions(server_name, accept), bytes(32)))


MAX_CLIENT_HELLO_SIZE = RECORD_HEADER + MAX_FRAGMENT


def client_hello(size: int, server_name: str | None = None, *, accept: bool = False,
                 random: bytes | None = None) -> bytes:
    """A ClientHello record of exactly ``size`` bytes (record header included).

    ``accept=False`` offers only 0x00ff, so the server must refuse with a
    handshake_failure alert. Sizes the padding extension cannot reach (fewer
    than 4 spare bytes) are made up with the session id instead.
    """
    rnd = os.urandom(32) if random is None else random
    if len(rnd) != 32:
        raise ValueError("random must be 32 bytes")
    suites = COMMON_SUITES if accept else SCSV_ONLY
    exts = _extensions(server_name, accept)
    base = len(_record(suites, b"", exts, rnd))
    if not base <= size <= MAX_CLIENT_HELLO_SIZE:
        raise ValueError(f"a ClientHello must be {base}..{MAX_CLIENT_HELLO_SIZE} bytes, "
                         f"not {size}")
    spare = size - base
    if spare < 4:
        session_id = bytes(spare)
    else:
        session_id = b""
        exts += _ext(EXT_PADDING, bytes(spare - 4))
    out = _record(suites, session_id, exts, rnd)
    assert len(out) == size
    return out


# --- other shapes of the same ClientHello (size vs content, issue 19) ---------------------

def fragmented(size: int, server_name: str | None = None, *, max_fragment: int = 256,
               random: bytes | None = None) -> bytes:
    """``size`` bytes carrying one refused ClientHello whose handshake message is
    fragmented over several records of at most ``max_fragment`` bytes each (RFC 8446 5.1
    allows it): the same byte count as ``client_hello(size)``, but no record announces a
    large ClientHello, and only the first one starts with the ClientHello type."""
    if max_fragment < 1:
        raise ValueError("max_fragment must be positive")
    # n records: 5n header bytes, and a message of size - 5n bytes in n non-empty pieces.
    n = 1
    while -(-(size - RECORD_HEADER * n) // n) > max_fragment:
        n += 1
    message = client_hello(size - RECORD_HEADER * (n - 1), server_name,
                           random=random)[RECORD_HEADER:]
    step = -(-len(message) // n)
    pieces = [message[i:i + step] for i in range(0, len(message), step)]
    out = b"".join(struct.pack("!BH", CONTENT_HANDSHAKE, 0x0301) + _u16(p) for p in pieces)
    if len(out) != size:   # fewer pieces than records planned (tiny sizes only)
        raise ValueError(f"cannot fragment a {size}-byte ClientHello into "
                         f"{max_fragment}-byte records")
    return out


def split_writes(record: bytes, first: int) -> tuple[bytes, bytes]:
    """One record cut in two TCP writes after ``first`` bytes (a record may span segments):
    the first write still starts the record and announces its full length."""
    if not 0 < first < len(record):
        raise ValueError(f"cut at 1..{len(record) - 1}, not {first}")
    return record[:first], record[first:]


# --- realistic hellos: what a post-quantum client and a classic one send ------------------

GROUP_X25519 = 0x001D
GROUP_SECP256R1 = 0x0017
GROUP_SECP384R1 = 0x0018
GROUP_X25519MLKEM768 = 0x11EC
MLKEM768_SHARE = 1184 + 32    # ML-KEM-768 encapsulation key + X25519 public key
X25519_SHARE = 32
CLASSIC_HELLO_SIZE = 517      # OpenSSL/curl's padded hello, as in the article's captures

EXT_STATUS_REQUEST = 0x0005
EXT_ALPN = 0x0010
EXT_SCT = 0x0012
EXT_EXTENDED_MASTER_SECRET = 0x0017
EXT_COMPRESS_CERTIFICATE = 0x001B
EXT_SESSION_TICKET = 0x0023
EXT_SUPPORTED_VERSIONS = 0x002B
EXT_PSK_MODES = 0x002D
EXT_KEY_SHARE = 0x0033
EXT_RENEGOTIATION_INFO = 0xFF01
EXT_APPLICATION_SETTINGS = 0x44CD
EXT_ECH = 0xFE0D
GREASE = 0x0A0A                # RFC 8701: values a server must ignore (browsers send them)
ECH_GREASE_PAYLOAD = 208       # Chrome's GREASE ECH payload is 144..240 bytes

# TLS 1.3 suites, then the TLS 1.2 ECDHE AEAD ones (as browsers and OpenSSL 3.5 offer them).
MODERN_SUITES = (0x1301, 0x1302, 0x1303, 0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8,
                 0xC013, 0xC014, 0x009C, 0x009D, 0x002F, 0x0035)
_MODERN_SIGALGS = (0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601)


def _u16s(values: Sequence[int]) -> bytes:
    return b"".join(struct.pack("!H", v) for v in values)


def _modern_extensions(server_name: str | None, shares: Sequence[tuple[int, int]],
                       groups: Sequence[int], browser: bool) -> bytes:
    """The extensions of a current hello, with key shares of the given (group, length) made
    of random bytes; ``browser`` adds what Chrome adds (GREASE, ALPS, a GREASE ECH)."""
    grease: tuple[int, ...] = (GREASE,) if browser else ()
    entries = [(GREASE, b"\x00")] if browser else []
    entries += [(g, os.urandom(n)) for g, n in shares]
    key_shares = b"".join(struct.pack("!H", g) + _u16(data) for g, data in entries)
    exts = b""
    if server_name:
        name = server_name.encode("idna")
        exts += _ext(EXT_SERVER_NAME, _u16(b"\x00" + _u16(name)))
    exts += _ext(EXT_EXTENDED_MASTER_SECRET, b"")
    exts += _ext(EXT_RENEGOTIATION_INFO, b"\x00")
    exts += _ext(EXT_SUPPORTED_GROUPS, _u16(_u16s((*grease, *groups))))
    exts += _ext(EXT_EC_POINT_FORMATS, _u8(b"\x00"))
    exts += _ext(EXT_SESSION_TICKET, b"")
    exts += _ext(EXT_ALPN, _u16(_u8(b"h2") + _u8(b"http/1.1")))
    exts += _ext(EXT_STATUS_REQUEST, b"\x01\x00\x00\x00\x00")
    exts += _ext(EXT_SIGNATURE_ALGORITHMS, _u16(_u16s(_MODERN_SIGALGS)))
    exts += _ext(EXT_SCT, b"")
    exts += _ext(EXT_KEY_SHARE, _u16(key_shares))
    exts += _ext(EXT_PSK_MODES, _u8(b"\x01"))
    exts += _ext(EXT_SUPPORTED_VERSIONS, _u8(_u16s((*grease, 0x0304, 0x0303))))
    if not browser:
        return exts
    exts += _ext(EXT_COMPRESS_CERTIFICATE, _u8(_u16s((0x0002,))))
    exts += _ext(EXT_APPLICATION_SETTINGS, _u16(_u8(b"h2")))
    # A GREASE encrypted_client_hello (outer, HPKE X25519/HKDF-SHA256/AES-128-GCM).
    exts += _ext(EXT_ECH, b"\x00" + _u16s((0x0001, 0x0001)) + os.urandom(1)
                 + _u16(os.urandom(32)) + _u16(os.urandom(ECH_GREASE_PAYLOAD)))
    return _ext(GREASE, b"") + exts + _ext(GREASE + 0x1010, b"\x00")


def pq_client_hello(server_name: str | None = None, *, random: bytes | None = None) -> bytes:
    """A post-quantum ClientHello as Chrome, OpenSSL 3.5 and Go send it by default: an
    X25519MLKEM768 key share (0x11EC, 1216 bytes) beside an X25519 one, real-world
    extensions, a 32-byte legacy session id; about 1.8 KB, two TCP segments. Any server
    answers it (a server without ML-KEM picks X25519)."""
    rnd = os.urandom(32) if random is None else random
    shares = ((GROUP_X25519MLKEM768, MLKEM768_SHARE), (GROUP_X25519, X25519_SHARE))
    exts = _modern_extensions(server_name, shares,
                              (GROUP_X25519MLKEM768, GROUP_X25519, GROUP_SECP256R1,
                               GROUP_SECP384R1), browser=True)
    return _record((GREASE, *MODERN_SUITES), os.urandom(32), exts, rnd)


def classic_client_hello(server_name: str | None = None, *,
                         random: bytes | None = None) -> bytes:
    """A classic ClientHello (X25519 key share only) padded to 517 bytes, as OpenSSL and
    curl send it (RFC 7685 padding of the handshake to 512 bytes)."""
    rnd = os.urandom(32) if random is None else random
    exts = _modern_extensions(server_name, ((GROUP_X25519, X25519_SHARE),),
                              (GROUP_X25519, GROUP_SECP256R1, GROUP_SECP384R1),
                              browser=False)
    spare = CLASSIC_HELLO_SIZE - len(_record(MODERN_SUITES, bytes(32), exts, rnd)) - 4
    if spare >= 0:
        exts += _ext(EXT_PADDING, bytes(spare))
    return _record(MODERN_SUITES, os.urandom(32), exts, rnd)


def key_share_groups(record: bytes) -> tuple[int, ...]:
    """The groups of the key shares a one-record ClientHello offers (for tests and the
    evidence); () when it has no key_share extension."""
    info = parse_client_hello(record)
    data = info.raw_extensions.get(EXT_KEY_SHARE)
    if data is None:
        return ()
    groups: list[int] = []
    pos = 2
    while pos + 4 <= len(data):
        group, length = struct.unpack_from("!HH", data, pos)
        groups.append(group)
        pos += 4 + length
    return tuple(groups)


# --- parsing ------------------------------------------------------------------------------

class TlsParseError(ValueError):
    """Bytes that cannot be TLS records."""


@dataclass(frozen=True)
class Record:
    content_type: int
    version: int
    payload: bytes

    @property
    def is_handshake_failure(self) -> bool:
        return (self.content_type == CONTENT_ALERT and len(self.payload) == 2
                and self.payload[1] == ALERT_HANDSHAKE_FAILURE)

    def describe(self) -> str:
        if self.content_type == CONTENT_ALERT and len(self.payload) == 2:
            level = "fatal" if self.payload[0] == 2 else "warning"
            return f"TLS alert {self.payload[1]} ({level})"
        if self.content_type == CONTENT_HANDSHAKE and self.payload:
            kinds = {HANDSHAKE_SERVER_HELLO: "ServerHello", HANDSHAKE_CLIENT_HELLO: "ClientHello"}
            return f"TLS handshake {kinds.get(self.payload[0], self.payload[0])}"
        return f"TLS record type {self.content_type}"


def parse_records(data: bytes) -> tuple[list[Record], bytes]:
    """Complete records at the start of ``data`` and the incomplete rest.

    Raises TlsParseError when the bytes are not TLS (so a proxy's HTML error
    page or garbage inside the tunnel is recognised as such).
    """
    records: list[Record] = []
    pos = 0
    while len(data) - pos >= RECORD_HEADER:
        ctype, version, length = struct.unpack_from("!BHH", data, pos)
        if ctype not in (20, 21, 22, 23) or version >> 8 != 3 or length > MAX_FRAGMENT + 2048:
            raise TlsParseError(f"not a TLS record: {data[pos:pos + 8].hex()}")
        if len(data) - pos - RECORD_HEADER < length:
            break
        records.append(Record(ctype, version,
                              data[pos + RECORD_HEADER:pos + RECORD_HEADER + length]))
        pos += RECORD_HEADER + length
    if len(data) - pos and data[pos] not in (20, 21, 22, 23):
        raise TlsParseError(f"not a TLS record: {data[pos:pos + 8].hex()}")
    return records, data[pos:]


@dataclass(frozen=True)
class ClientHelloInfo:
    """What a parsed ClientHello contains (used by tests and the reflector)."""

    size: int
    cipher_suites: tuple[int, ...]
    extensions: tuple[int, ...]
    server_name: str | None
    padding_len: int | None
    raw_extensions: dict[int, bytes] = field(default_factory=dict)


def parse_client_hello(data: bytes) -> ClientHelloInfo:
    """Parse one ClientHello record strictly (every length must add up)."""
    records, rest = parse_records(data)
    if len(records) != 1 or rest or records[0].content_type != CONTENT_HANDSHAKE:
        raise TlsParseError("expected exactly one handshake record")
    hs = records[0].payload
    if hs[0] != HANDSHAKE_CLIENT_HELLO or int.from_bytes(hs[1:4], "big") != len(hs) - 4:
        raise TlsParseError("bad ClientHello handshake header")
    body = memoryview(hs)[4:]
    pos = 2 + 32
    sid_len = body[pos]
    pos += 1 + sid_len
    (cs_len,) = struct.unpack_from("!H", body, pos)
    pos += 2
    suites = struct.unpack_from(f"!{cs_len // 2}H", body, pos)
    pos += cs_len
    comp_len = body[pos]
    pos += 1 + comp_len
    (ext_total,) = struct.unpack_from("!H", body, pos)
    pos += 2
    if pos + ext_total != len(body):
        raise TlsParseError("extensions length does not match the ClientHello length")
    kinds: list[int] = []
    raw: dict[int, bytes] = {}
    sni: str | None = None
    padding: int | None = None
    while pos < len(body):
        kind, elen = struct.unpack_from("!HH", body, pos)
        pos += 4
        edata = bytes(body[pos:pos + elen])
        if len(edata) != elen:
            raise TlsParseError("truncated extension")
        pos += elen
        kinds.append(kind)
        raw[kind] = edata
        if kind == EXT_SERVER_NAME:
            sni = edata[5:].decode("ascii", "replace")
        elif kind == EXT_PADDING:
            if any(edata):
                raise TlsParseError("padding extension must be zeros (RFC 7685)")
            padding = elen
    return ClientHelloInfo(len(data), tuple(suites), tuple(kinds), sni, padding, raw)


def sniff_client_hello(data: bytes, name: bool = True) -> tuple[int, str | None] | None:
    """(declared record length including its 5-byte header, SNI or None) of the ClientHello
    a TCP payload starts with; None when it starts no ClientHello.

    Lenient where ``parse_client_hello`` is strict: a capture holds only the first
    segment of a large hello, often cut by the snap length, so the name is read only
    if it is within the bytes present (and only if ``name``: it costs a walk of the
    extensions).
    """
    if len(data) < 6 or data[0] != CONTENT_HANDSHAKE or data[1] != 3 \
            or data[5] != HANDSHAKE_CLIENT_HELLO:
        return None
    record = int.from_bytes(data[3:5], "big") + 5
    return record, _sniff_sni(memoryview(data)[9:]) if name else None


def sniff_server_version(data: bytes) -> int | None:
    """The version a ServerHello that a TCP payload starts with selects: TLS 1.3's
    supported_versions extension, else its legacy version field (which says 1.2 in 1.3
    too). None when the bytes end before that is known (a snap length, a hello split over
    segments)."""
    if len(data) < 11 or data[0] != CONTENT_HANDSHAKE or data[5] != HANDSHAKE_SERVER_HELLO:
        return None
    declared = int.from_bytes(data[6:9], "big")
    body = memoryview(data)[9:9 + declared]
    have = len(body)
    legacy = int.from_bytes(body[:2], "big")
    pos = 2 + 32
    if pos >= have:
        return None
    pos += 1 + body[pos] + 3              # session id, then cipher suite and compression
    if pos == declared:                   # no extensions at all: before TLS 1.3
        return legacy if have == declared else None
    if pos + 2 > have:
        return None
    end = pos + 2 + int.from_bytes(body[pos:pos + 2], "big")
    pos += 2
    while pos + 4 <= min(end, have):
        kind = int.from_bytes(body[pos:pos + 2], "big")
        elen = int.from_bytes(body[pos + 2:pos + 4], "big")
        if kind == EXT_SUPPORTED_VERSIONS:
            return int.from_bytes(body[pos + 4:pos + 6], "big") if pos + 6 <= have else None
        pos += 4 + elen
    return legacy if pos == end <= have else None


def _sniff_sni(body: memoryview) -> str | None:
    """The server_name in a (possibly truncated) ClientHello body, or None."""
    try:
        pos = 2 + 32
        pos += 1 + body[pos]
        pos += 2 + int.from_bytes(body[pos:pos + 2], "big")
        pos += 1 + body[pos]
        end = min(len(body), pos + 2 + int.from_bytes(body[pos:pos + 2], "big"))
        pos += 2
        while pos + 4 <= end:
            kind = int.from_bytes(body[pos:pos + 2], "big")
            elen = int.from_bytes(body[pos + 2:pos + 4], "big")
            pos += 4
            if kind == EXT_SERVER_NAME:
                raw = bytes(body[pos + 5:pos + elen])
                if pos + elen > len(body) or not raw:
                    return None
                name = raw.decode("ascii", "replace")
                return name if all(c.isalnum() or c in ".-_" for c in name) else None
            pos += elen
    except IndexError:
        return None
    return None
