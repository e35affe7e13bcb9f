"""Just enough X.509 to say who a TLS certificate names and who issued it. Pure.

The interception check needs the leaf certificate's subject, issuer, subject
alternative names and fingerprint. Python's ``ssl`` gives the leaf as DER
bytes (``getpeercert(binary_form=True)``) but decodes it only when it was
verified, and the one-file build must stay pure Python (no ``cryptography``),
so this module reads the DER itself: a small, bounded TLV reader and the few
X.509 fields it needs. Anything malformed raises ``CertParseError`` and
nothing else (hypothesis-tested), whatever the bytes.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass

# Universal tags (X.690) and the context tags X.509 uses.
TAG_BOOLEAN = 0x01
TAG_INTEGER = 0x02
TAG_OCTET_STRING = 0x04
TAG_OID = 0x06
TAG_SEQUENCE = 0x30
TAG_SET = 0x31
TAG_VERSION = 0xA0          # [0] EXPLICIT Version
TAG_EXTENSIONS = 0xA3       # [3] EXPLICIT Extensions
SAN_DNS = 0x82              # GeneralName dNSName [2] IMPLICIT IA5String
SAN_IP = 0x87               # GeneralName iPAddress [7] IMPLICIT OCTET STRING

OID_SAN = "2.5.29.17"
# Attribute types shown by name (RFC 4519 short names), in a name's own order.
ATTRIBUTE_NAMES = {
    "2.5.4.3": "CN", "2.5.4.6": "C", "2.5.4.7": "L", "2.5.4.8": "ST", "2.5.4.10": "O",
    "2.5.4.11": "OU", "2.5.4.5": "serialNumber", "0.9.2342.19200300.100.1.25": "DC",
    "1.2.840.113549.1.9.1": "emailAddress",
}
# String types an attribute value may use, and how to decode each.
_STRING_CODECS = {12: "utf-8", 19: "ascii", 22: "ascii", 20: "latin-1", 26: "ascii",
                  30: "utf-16-be", 28: "utf-32-be"}
MAX_CERT_BYTES = 1 << 16    # a leaf larger than this is not something we need to read
MAX_DEPTH = 8


class CertParseError(ValueError):
    """The bytes are not a certificate this reader understands (one line says why)."""


@dataclass(frozen=True)
class Tlv:
    """One DER element: its tag and where its contents lie in the buffer."""

    tag: int
    start: int   # first content byte
    end: int     # one past the last content byte


def read_tlv(data: bytes, offset: int, limit: int | None = None) -> Tlv:
    """The element at ``offset``, which must end by ``limit`` (default: the buffer's end).

    DER only: single-byte tags (X.509 needs no others), definite lengths in
    the shortest form, at most 4 length bytes.
    """
    end_of = len(data) if limit is None else limit
    if offset + 2 > end_of:
        raise CertParseError(f"truncated element at byte {offset}")
    tag = data[offset]
    if tag & 0x1F == 0x1F:
        raise CertParseError(f"multi-byte tag at byte {offset}")
    first = data[offset + 1]
    pos = offset + 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4:
            raise CertParseError(f"unsupported length form at byte {offset}")
        if pos + count > end_of:
            raise CertParseError(f"truncated length at byte {offset}")
        length = int.from_bytes(data[pos:pos + count], "big")
        if length < 0x80 or data[pos] == 0:
            raise CertParseError(f"length not in DER form at byte {offset}")
        pos += count
    if pos + length > end_of:
        raise CertParseError(f"element at byte {offset} runs past its container")
    return Tlv(tag, pos, pos + length)


def children(data: bytes, parent: Tlv) -> list[Tlv]:
    """The elements inside a constructed element, in order."""
    out: list[Tlv] = []
    pos = parent.start
    while pos < parent.end:
        child = read_tlv(data, pos, parent.end)
        out.append(child)
        pos = child.end
    return out


def _expect(tlv: Tlv, tag: int, what: str) -> Tlv:
    if tlv.tag != tag:
        raise CertParseError(f"{what}: expected tag 0x{tag:02x}, found 0x{tlv.tag:02x}")
    return tlv


def decode_oid(raw: bytes) -> str:
    """Dotted form of an OBJECT IDENTIFIER's contents."""
    if not raw or raw[-1] & 0x80:
        raise CertParseError("malformed object identifier")
    arcs: list[int] = []
    value = 0
    for i, byte in enumerate(raw):
        if value == 0 and byte == 0x80 and (i == 0 or not raw[i - 1] & 0x80):
            raise CertParseError("object identifier arc not in shortest form")
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    first = arcs[0]
    head = [min(first // 40, 2), first - 40 * min(first // 40, 2)]
    return ".".join(str(a) for a in (*head, *arcs[1:]))


def _printable(text: str) -> str:
    """The value with control characters escaped: a certificate is network input."""
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)


def _string(data: bytes, tlv: Tlv) -> str:
    codec = _STRING_CODECS.get(tlv.tag)
    raw = data[tlv.start:tlv.end]
    if codec is None:
        return "#" + raw.hex()   # an unusual type: shown as hex, as RFC 4514 does
    try:
        return _printable(raw.decode(codec))
    except UnicodeDecodeError:
        raise CertParseError(f"attribute value is not valid {codec}") from None


Name = tuple[tuple[str, str], ...]   # (attribute, value) pairs in encoded order


def _name(data: bytes, tlv: Tlv) -> Name:
    """A Name's attributes, e.g. (("O", ...), ("CN", ...)), in the order it is encoded."""
    _expect(tlv, TAG_SEQUENCE, "name")
    parts: list[tuple[str, str]] = []
    for rdn in children(data, tlv):
        _expect(rdn, TAG_SET, "relative distinguished name")
        for atv in children(data, rdn):
            items = children(data, _expect(atv, TAG_SEQUENCE, "attribute"))
            if len(items) != 2:
                raise CertParseError("attribute is not (type, value)")
            oid = decode_oid(data[_expect(items[0], TAG_OID, "attribute type").start:
                                  items[0].end])
            parts.append((ATTRIBUTE_NAMES.get(oid, oid), _string(data, items[1])))
    return tuple(parts)


def name_text(name: Name) -> str:
    """A Name as 'O=..., CN=...' (openssl's order), for people; never parsed back."""
    return ", ".join(f"{attr}={value}" for attr, value in name)


def _alt_names(data: bytes, value: bytes) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(dNSNames, iPAddresses) of a subjectAltName extension's value."""
    dns: list[str] = []
    ips: list[str] = []
    outer = _expect(read_tlv(value, 0), TAG_SEQUENCE, "subjectAltName")
    if outer.end != len(value):
        raise CertParseError("trailing bytes after subjectAltName")
    for general in children(value, outer):
        raw = value[general.start:general.end]
        if general.tag == SAN_DNS:
            try:
                dns.append(_printable(raw.decode("ascii")))
            except UnicodeDecodeError:
                raise CertParseError("dNSName is not ASCII") from None
        elif general.tag == SAN_IP:
            if len(raw) not in (4, 16):
                raise CertParseError("iPAddress is neither 4 nor 16 bytes")
            ips.append(str(ipaddress.ip_address(raw)))
    return tuple(dns), tuple(ips)


@dataclass(frozen=True)
class Certificate:
    """What the interception check needs to know about one certificate."""

    subject_name: Name
    issuer_name: Name
    dns_names: tuple[str, ...]
    ip_addresses: tuple[str, ...]
    sha256: str              # fingerprint, upper-case hex pairs joined by ':'
    self_issued: bool        # issuer == subject, byte for byte (a self-signed certificate)

    @property
    def subject(self) -> str:
        return name_text(self.subject_name)

    @property
    def issuer(self) -> str:
        return name_text(self.issuer_name)

    @property
    def common_name(self) -> str | None:
        """The subject's first CN, from the typed attributes (a value may contain ', CN=')."""
        return next((value for attr, value in self.subject_name if attr == "CN"), None)


def fingerprint(der: bytes) -> str:
    """SHA-256 of the certificate, as browsers and ``openssl x509 -fingerprint`` print it."""
    return ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())


def parse_certificate(der: bytes) -> Certificate:
    """Subject, issuer, SANs and fingerprint of one DER certificate; CertParseError if not."""
    if not isinstance(der, (bytes, bytearray)) or len(der) > MAX_CERT_BYTES:
        raise CertParseError("not a certificate of a readable size")
    data = bytes(der)
    cert = _expect(read_tlv(data, 0), TAG_SEQUENCE, "certificate")
    if cert.end != len(data):
        raise CertParseError("trailing bytes after the certificate")
    parts = children(data, cert)
    if len(parts) != 3:
        raise CertParseError("a certificate has three parts (tbs, algorithm, signature)")
    fields = children(data, _expect(parts[0], TAG_SEQUENCE, "tbsCertificate"))
    if fields and fields[0].tag == TAG_VERSION:
        fields = fields[1:]
    # serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo, [extras]
    if len(fields) < 6:
        raise CertParseError("tbsCertificate has too few fields")
    _expect(fields[0], TAG_INTEGER, "serial number")
    issuer_tlv, subject_tlv = fields[2], fields[4]
    issuer, subject = _name(data, issuer_tlv), _name(data, subject_tlv)
    dns: tuple[str, ...] = ()
    ips: tuple[str, ...] = ()
    for extra in fields[6:]:
        if extra.tag != TAG_EXTENSIONS:
            continue
        inner = children(data, extra)
        if len(inner) != 1:
            raise CertParseError("extensions: expected one sequence")
        for ext in children(data, _expect(inner[0], TAG_SEQUENCE, "extensions")):
            items = children(data, _expect(ext, TAG_SEQUENCE, "extension"))
            if len(items) not in (2, 3):
                raise CertParseError("extension is not (id, [critical], value)")
            oid = decode_oid(data[_expect(items[0], TAG_OID, "extension id").start:
                                  items[0].end])
            value = _expect(items[-1], TAG_OCTET_STRING, "extension value")
            if oid == OID_SAN:
                dns, ips = _alt_names(data, data[value.start:value.end])
    self_issued = data[issuer_tlv.start:issuer_tlv.end] == data[subject_tlv.start:subject_tlv.end]
    return Certificate(subject, issuer, dns, ips, fingerprint(data), self_issued)


def _label_match(pattern: str, host: str) -> bool:
    """RFC 6125 6.4.3: a '*' is only the whole left-most label and matches one label."""
    p_labels = pattern.lower().rstrip(".").split(".")
    h_labels = host.lower().rstrip(".").split(".")
    if len(p_labels) != len(h_labels) or (len(p_labels) < 3 and p_labels[0] == "*"):
        return False
    first_ok = p_labels[0] == "*" or p_labels[0] == h_labels[0]
    return first_ok and p_labels[1:] == h_labels[1:]


def names_host(cert: Certificate, host: str) -> bool:
    """Whether the certificate is for ``host`` (a name or an IP literal), as a client checks:
    the subjectAltName entries, else (no dNSName at all) the subject's CN."""
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        ip = None
    if ip is not None:
        return any(ipaddress.ip_address(a) == ip for a in cert.ip_addresses)
    patterns = cert.dns_names or ((cert.common_name,) if cert.common_name else ())
    return any(_label_match(p, host) for p in patterns)
