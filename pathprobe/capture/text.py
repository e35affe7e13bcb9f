"""Capture text as people paste it into support cases, parsed into packets: pure, no I/O.

Four forms are recognised line by line, and may be mixed in one text:
``tcpdump``/``tcpdump -n`` lines (names or addresses, ``-v`` continuation
lines, ``-e`` link headers, ``-A`` payload lines), Wireshark/tshark packet-list
rows (with or without the number column, CSV export too), ``tshark -V``
detail blocks (also as copied from Wireshark's detail pane, with its ``>``/``<``
markers) and decoded HTTP heads, possibly broken over lines. Anything else
(prose, prompts, comments, blank lines) is skipped and counted.

Each packet keeps what the line shows and nothing more: a missing sequence
number or length stays None here and is filled in, said as such, by
``pathprobe.capture.textframes`` which turns packets into the raw IP frames
the reader hands to the one connection tracker.
"""

from __future__ import annotations

import csv
import datetime
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from pathprobe.compat import StrEnum
from pathprobe.wire.headers import TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN

TCP_URG, TCP_ECE, TCP_CWR = 0x20, 0x40, 0x80
STATUS_LOOKAHEAD = 6        # lines searched for the parts of an HTTP status broken over lines
MAX_HEADERS = 64

# TLS record starts the tracker recognises (content type 22, handshake type 1 or 2).
CLIENT_HELLO = b"\x16\x03\x01\x02\x00\x01"
SERVER_HELLO = b"\x16\x03\x03\x00\x5a\x02"


class TextForm(StrEnum):
    """The forms of capture text we read (stable values: JSON facts)."""

    TCPDUMP = "tcpdump"
    PACKET_LIST = "Wireshark/tshark packet list"
    DETAIL = "tshark -V detail"
    HTTP = "decoded HTTP"


@dataclass
class TextPacket:
    """One TCP segment as a line (or a detail block) shows it; None: not shown."""

    line: int
    form: TextForm
    src: str
    sport: int
    dst: str
    dport: int
    flags: int
    ts: float | None = None
    family: int = 0                 # 4 or 6 when the text says; 0: from the addresses
    seq: int | None = None
    ack: int | None = None
    length: int | None = None       # TCP payload bytes
    frame_len: int | None = None    # Wireshark's Length column (link header included)
    mss: int | None = None
    wscale: int | None = None
    sack: bool = False
    tsopt: bool = False
    options_shown: bool = False
    retx_mark: bool = False
    content: bytes = b""            # payload bytes the text spells out (HTTP head, TLS hello)
    number: int | None = None       # the frame number the text gives (No. column, 'Frame N')
    # An ICMP frag-needed / Packet Too Big line: the MTU it names, the destination of the
    # packet it answers, and that packet when tcpdump -v quoted it (on the next lines).
    icmp_mtu: int | None = None
    icmp_orig: str = ""
    quoted: TextPacket | None = None
    quoted_len: int | None = None


@dataclass
class TextParse:
    """The packets of a text and what the parser noticed on the way."""

    packets: list[TextPacket] = field(default_factory=list)
    forms: dict[TextForm, int] = field(default_factory=dict)
    lines: int = 0
    unparsed: int = 0
    first_unparsed: int = 0
    other_protocols: int = 0        # recognised lines of UDP, ICMP, ARP ...
    http_standalone: int = 0        # HTTP heads on lines of their own
    first_standalone: int = 0

    def seen(self, form: TextForm) -> None:
        self.forms[form] = self.forms.get(form, 0) + 1


# --- small parsers ---------------------------------------------------------------------

_TIME = (r"(?:\d{4}-\d\d-\d\d[ T]|[A-Z][a-z]{2} {1,2}\d{1,2}, \d{4} )?"
         r"\d{1,2}:\d\d:\d\d(?:[.,]\d+)?|\d{9,10}\.\d+|\d{1,6}\.\d+")
_TIME_RE = re.compile(r"(?:(\d{4})-(\d\d)-(\d\d)[ T]|([A-Z][a-z]{2}) {1,2}(\d{1,2}), (\d{4}) )?"
                      r"(\d{1,2}):(\d\d):(\d\d(?:[.,]\d+)?)$")
_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
SERVICES = {"http": 80, "www": 80, "https": 443, "http-alt": 8080, "webcache": 8080,
            "squid": 3128, "ndl-aas": 3128, "socks": 1080, "ssh": 22, "domain": 53,
            "https-alt": 8443, "pcsync-https": 8443, "tproxy": 8081, "sunproxyadmin": 8081,
            "ftp": 21, "smtp": 25, "ldap": 389, "ldaps": 636, "imaps": 993, "submission": 587}


def parse_time(text: str) -> float | None:
    """Seconds from a time as tcpdump or Wireshark print it (time of day: since midnight)."""
    m = _TIME_RE.match(text)
    if m is None:
        try:
            v = float(text)
        except ValueError:
            return None
        return v if math.isfinite(v) else None
    y, mo, d, month, day, year, hh, mm, ss = m.groups()
    secs = int(hh) * 3600 + int(mm) * 60 + float(ss.replace(",", "."))
    if month is not None:   # Wireshark's "Mar 14, 2025 11:30:12.517129"
        if month.lower() not in _MONTHS:
            return None
        y, mo, d = year, str(_MONTHS[month.lower()]), day
    if y is not None:
        try:
            secs += datetime.date(int(y), int(mo), int(d)).toordinal() * 86400.0
        except ValueError:
            return None
    return secs


def parse_port(text: str) -> int | None:
    if text.isdigit():
        v = int(text)
        return v if v < 65536 else None
    return SERVICES.get(text.lower())


def _int(m: re.Match[str] | None, group: int = 1) -> int | None:
    if m is None or m.group(group) is None:
        return None
    v = int(m.group(group))
    return v if v < 1 << 32 else None


# --- HTTP heads ------------------------------------------------------------------------

_REQ = re.compile(r"^[\x21-\x7e]*?\b((?:CONNECT|GET|POST|PUT|HEAD|DELETE|OPTIONS|PATCH) "
                  r"\S+ HTTP/1\.[01])\s*$")
_STATUS = re.compile(r"^[\x21-\x7e]*?(HTTP/1\.[01] \d{3}(?: [^\r\n]*)?)$")
# The same, anywhere in a packet line's decoded summary ("length 122: HTTP: CONNECT ...").
_REQ_IN = re.compile(r"\b((?:CONNECT|GET|POST|PUT|HEAD|DELETE|OPTIONS|PATCH) \S+ HTTP/1\.[01])")
_STATUS_IN = re.compile(r"(?<![\w/])(HTTP/1\.[01] \d{3}(?: [^\r\n(]*)?)")
_HEADER = re.compile(r"^[A-Za-z][A-Za-z0-9-]*:[ \t]*\S")
_CRLF = re.compile(r"(?:\\r\\n|\\n)+$")


def _bare(line: str) -> str:
    """A line without Wireshark's literal '\\r\\n' and surrounding space."""
    return _CRLF.sub("", line.strip()).strip()


def _ignorable(line: str) -> bool:
    s = line.strip()
    return not s or s.startswith("```") or s == "<#root>"


def _reason(s: str) -> bool:
    """Could this line be the reason phrase of a status broken over lines?"""
    return (len(s) < 80 and not _HEADER.match(s) and not _REQ.match(s)
            and tcpdump_line(s, 0) is None and not _ROW.match(s))


def http_head(lines: Sequence[str], i: int) -> tuple[int, str, bytes] | None:
    """An HTTP request or response head starting at line ``i``: (next line, kind, bytes).

    The status line may be broken over lines ('HTTP/1.1' / '200' / 'Connection
    established', blank lines and code fences between); header lines follow."""
    first = _bare(lines[i])
    j = i + 1
    if _REQ.match(first):
        kind, start = "request", _REQ.match(first).group(1)  # type: ignore[union-attr]
    elif _STATUS.match(first):
        kind, start = "response", _STATUS.match(first).group(1).strip()  # type: ignore[union-attr]
    elif first in ("HTTP/1.1", "HTTP/1.0"):
        parts: list[str] = []
        while j < len(lines) and j <= i + STATUS_LOOKAHEAD and len(parts) < 2:
            s = _bare(lines[j])
            if _ignorable(lines[j]):
                j += 1
                continue
            code = not parts and re.fullmatch(r"\d{3}", s) is not None
            if not (code or (parts and _reason(s))):
                break
            parts.append(s)
            j += 1
        if not parts:
            return None
        kind, start = "response", " ".join([first, *parts])
    else:
        return None
    headers = [start]
    while j < len(lines) and len(headers) < MAX_HEADERS and _HEADER.match(_bare(lines[j])):
        headers.append(_bare(lines[j]))
        j += 1
    return j, kind, ("\r\n".join(headers) + "\r\n\r\n").encode("latin-1", "replace")


def content_of(text: str) -> bytes:
    """Payload bytes named by a line's decoded summary (an HTTP first line, a TLS hello)."""
    s = _bare(text)
    m = _REQ_IN.search(s) or _STATUS_IN.search(s)
    if m is not None:
        return (m.group(1).strip() + "\r\n\r\n").encode("latin-1", "replace")
    if "Client Hello" in s:
        return CLIENT_HELLO
    if "Server Hello" in s:
        return SERVER_HELLO
    return b""


# --- tcpdump ---------------------------------------------------------------------------

_TD = re.compile(
    r"^\s*(?:(?P<time>" + _TIME + r")\s+)?(?:[\w.:-]+\s+(?:In|Out|B|M|P)\s+)?"
    r"(?:PPPoE\s+\[[^\]]*\]\s+)?(?P<fam>IP6?\b)?\s*(?P<src>[^\s>]+)\.(?P<sport>[\w-]+)\s+>\s+"
    r"(?P<dst>[^\s>]+)\.(?P<dport>[\w-]+):\s*(?P<rest>.*)$")
_TD_VHEAD = re.compile(r"^\s*(?:(?P<time>" + _TIME + r")\s+)?(?P<fam>IP6?) \((?:tos|flowlabel|"
                       r"hlim|class).*\)\s*$")
# -e: the link header first, perhaps with 802.1Q tags ("vlan 100, p 0, ethertype IPv4 ..."):
# the last ethertype names what follows.
_TD_ETHER = re.compile(r"^\s*(?:(?P<time>" + _TIME + r")\s+)?\S+ > \S+, .*\bethertype "
                       r"(?P<et>IPv[46]|\w+) \(0x[0-9a-f]+\),(?: length \d+:)? (?P<rest>.*)$")
_TD_ICMP = re.compile(
    r"^\s*(?:(?P<time>" + _TIME + r")\s+)?(?:[\w.:-]+\s+(?:In|Out|B|M|P)\s+)?"
    r"(?P<fam>IP6?\b)?\s*(?P<src>[^\s>]+) > (?P<dst>[^\s>]+): (?:ICMP (?P<orig>\S+) "
    r"unreachable - need to frag \(mtu (?P<mtu>\d+)\)|ICMP6, packet too big, mtu (?P<mtu6>\d+))")
_TD_VLEN = re.compile(r"\blength (\d+)\)\s*$")
_TD_FLAGS = re.compile(r"Flags \[([^\]]*)\]")
_TD_SEQ = re.compile(r"\bseq (\d+)(?::(\d+))?")
_TD_ACK = re.compile(r"\back (\d+)")
_TD_OPTS = re.compile(r"options \[([^\]]*)\]")
_TD_LEN = re.compile(r"\blength (\d+)(?::?\s*(.*))?")
_TD_FLAG_BITS = {"S": TCP_SYN, "F": TCP_FIN, "P": TCP_PSH, "R": TCP_RST, ".": TCP_ACK,
                 "U": TCP_URG, "E": TCP_ECE, "W": TCP_CWR}


def _td_options(p: TextPacket, opts: str) -> None:
    p.options_shown = True
    m = re.search(r"\bmss (\d+)", opts)
    p.mss = int(m.group(1)) if m and int(m.group(1)) < 65536 else None
    m = re.search(r"\bwscale (\d+)", opts)
    p.wscale = int(m.group(1)) if m and int(m.group(1)) < 256 else None
    p.sack = "sackOK" in opts
    p.tsopt = "TS val" in opts


_TD_FLOW = re.compile(r"(?<![\w.:])[0-9A-Za-z][\w.:-]*\.[\w-]+ > [0-9A-Za-z][\w.:-]*\.[\w-]+: "
                      r"Flags \[")
_TD_TIME_AT_START = re.compile(r"^\s*(" + _TIME + r")\s")


# Tunnels inside tunnels a line may show (GRE in GRE ...); deeper ones are not opened.
MAX_TUNNEL_DEPTH = 8


def _inner(line: str, time_s: str | None, fam: str | None) -> str | None:
    """The innermost TCP packet of a line that shows an outer one first ('IP a > b: GREv0,
    length 194: IP c.1 > d.2: Flags ...'), as a line of its own; None if there is none."""
    flows = list(_TD_FLOW.finditer(line))
    last = flows[-1] if flows else None
    if last is None or last.start() == 0:
        return None
    before = line[:last.start()]
    if re.search(r"\bIP6\b|\bIPv6\b|0x86dd|\(0x0057\)", before.rsplit(":", 2)[-1]):
        fam = "IP6"
    elif fam is None:
        fam = "IP"
    start = _TD_TIME_AT_START.match(before)
    time_s = start.group(1) if start is not None else time_s
    return f"{time_s or ''} {fam} {line[last.start():]}".strip()


def _icmp_line(m: re.Match[str], lineno: int, time_s: str | None, fam: str | None
               ) -> TextPacket | None:
    """ICMP 'need to frag (mtu N)' / ICMP6 'packet too big, mtu N', from router to sender."""
    mtu = _int(m, m.re.groupindex["mtu"]) or _int(m, m.re.groupindex["mtu6"])
    if mtu is None or mtu > 0xFFFF:
        return None
    time_s = m.group("time") or time_s
    family = 6 if m.group("mtu6") is not None or (m.group("fam") or fam) == "IP6" else 4
    return TextPacket(lineno, TextForm.TCPDUMP, m.group("src"), 0, m.group("dst"), 0, 0,
                      parse_time(time_s) if time_s else None, family, icmp_mtu=mtu,
                      icmp_orig=m.group("orig") or "")


def quotation(lines: Sequence[str], i: int) -> tuple[int, TextPacket, int | None] | None:
    """tcpdump -v's quotation of the packet an ICMP error answers, at line ``i``: the IP
    header line, then the TCP line. (next line, the quoted packet, its IP length)."""
    if i + 1 >= len(lines):
        return None
    head = _TD_VHEAD.match(lines[i])
    if head is None:
        return None
    q = tcpdump_line(lines[i + 1], i + 2, (None, head.group("fam")))
    if not isinstance(q, TextPacket) or q.icmp_mtu is not None:
        return None
    length = _TD_VLEN.search(lines[i])
    return i + 2, q, _int(length)


def tcpdump_line(line: str, lineno: int, pending: tuple[str | None, str | None] = (None, None),
                 depth: int = 0) -> TextPacket | str | None:
    """A tcpdump line: a packet, "other" (a recognised non-TCP line), or None.

    ``pending`` is (time, family) from a ``-v`` IP header line just above; ``depth`` counts
    the tunnels opened so far (a line whose inner packet is itself is not opened again)."""
    time_s, fam = pending
    m_eth = _TD_ETHER.match(line)
    if m_eth is not None:
        time_s = m_eth.group("time") or time_s
        fam = "IP6" if m_eth.group("et") == "IPv6" else "IP"
        line = m_eth.group("rest")
    icmp = _TD_ICMP.match(line)
    if icmp is not None:
        return _icmp_line(icmp, lineno, time_s, fam)
    m = _TD.match(line)
    flags_m = _TD_FLAGS.match(m.group("rest")) if m is not None else None
    if m is None or flags_m is None:
        inner = _inner(line, time_s, fam)   # a packet inside a tunnel (GRE) or PPP(oE)
        if inner is not None and inner != line.strip() and depth < MAX_TUNNEL_DEPTH:
            return tcpdump_line(inner, lineno, depth=depth + 1)
        if m is None:
            return None
        return "other" if (m.group("time") or time_s or m.group("fam") or fam) else None
    time_s = m.group("time") or time_s
    fam = m.group("fam") or fam
    rest = m.group("rest")
    sport, dport = parse_port(m.group("sport")), parse_port(m.group("dport"))
    if sport is None or dport is None:
        return None
    flags = 0
    for ch in flags_m.group(1):
        flags |= _TD_FLAG_BITS.get(ch, 0)
    p = TextPacket(lineno, TextForm.TCPDUMP, m.group("src"), sport, m.group("dst"), dport,
                   flags, parse_time(time_s) if time_s else None,
                   6 if fam == "IP6" else 4 if fam == "IP" else 0)
    seq_m = _TD_SEQ.search(rest)
    p.seq = _int(seq_m)
    p.ack = _int(_TD_ACK.search(rest))
    opts = _TD_OPTS.search(rest)
    if opts is not None:
        _td_options(p, opts.group(1))
    tail = rest[opts.end():] if opts is not None else rest
    len_m = _TD_LEN.search(tail)
    if len_m is not None:
        p.length = _int(len_m)
        p.content = content_of(len_m.group(2) or "")
    elif seq_m is not None and seq_m.group(2) is not None and p.seq is not None:
        p.length = max(0, int(seq_m.group(2)) - p.seq)
    if not p.content:
        p.content = content_of(rest[rest.rfind("(") + 1:rest.rfind(")")]) if ")" in rest else b""
    return p


# --- Wireshark / tshark packet list ----------------------------------------------------

_ROW = re.compile(
    r"^\s*(?:(?P<no>\d+)\s+)?(?P<time>" + _TIME + r")\s+(?P<src>[^\s\u2192]+)\s+"
    r"(?:(?:\u2192|->|>)\s+)?(?P<dst>[^\s\u2192]+)\s+(?P<proto>[A-Za-z][A-Za-z0-9./_-]*)\s+"
    r"(?P<flen>\d+)\s+(?P<info>.*)$")
_INFO_TCP = re.compile(r"(?P<sport>\d+)\s*(?:\u2192|->|>|\?|\u00e2\S*)\s*(?P<dport>\d+)\s+"
                       r"\[(?P<flags>[A-Z]{2,3}(?:, ?[A-Z]{2,3})*)\]")
_WS_FLAG_BITS = {"SYN": TCP_SYN, "FIN": TCP_FIN, "PSH": TCP_PSH, "RST": TCP_RST,
                 "ACK": TCP_ACK, "URG": TCP_URG, "ECE": TCP_ECE, "ECN": TCP_ECE,
                 "CWR": TCP_CWR}
_RETX = re.compile(r"(?:Fast |Spurious )?[Rr]etransmission")


def _csv_row(line: str) -> str:
    """A packet-list row exported as CSV ("1","0.000","10.0.0.1",...) as a plain row."""
    try:
        cells = next(csv.reader([line]))
    except (csv.Error, StopIteration):
        return line
    return " ".join(c.strip() for c in cells)


def packet_list_row(line: str, lineno: int) -> tuple[TextPacket | None, str, str, str] | None:
    """A packet-list row: (packet or None when the row names no ports, src, dst, info)."""
    if line.lstrip().startswith('"'):
        line = _csv_row(line)
    m = _ROW.match(line)
    if m is None:
        return None
    info = m.group("info")
    src, dst = m.group("src"), m.group("dst")
    t = parse_time(m.group("time"))
    tcp = _INFO_TCP.search(info)
    if tcp is None:
        return None, src, dst, info
    flags = 0
    for word in re.split(r",\s*", tcp.group("flags")):
        flags |= _WS_FLAG_BITS.get(word, 0)
    p = TextPacket(lineno, TextForm.PACKET_LIST, src, int(tcp.group("sport")), dst,
                   int(tcp.group("dport")), flags, t, frame_len=int(m.group("flen")),
                   number=_int(m, m.re.groupindex["no"]))
    if p.sport > 65535 or p.dport > 65535:
        return None
    p.seq = _int(re.search(r"\bSeq=(\d+)", info))
    p.ack = _int(re.search(r"\bAck=(\d+)", info))
    p.length = _int(re.search(r"\bLen=(\d+)", info))
    p.mss = _int(re.search(r"\bMSS=(\d+)", info))
    ws = _int(re.search(r"\bWS=(\d+)", info))
    p.wscale = ws.bit_length() - 1 if ws else None
    p.sack = "SACK_PERM" in info
    p.tsopt = "TSval=" in info
    p.options_shown = True
    p.retx_mark = bool(_RETX.search(info[:tcp.start()]))
    return p, src, dst, info


# --- tshark -V detail blocks -----------------------------------------------------------

_MARK = re.compile(r"^\s*(?:[>v<\u25b8\u25be\u25b6\u25bc\u2023+]\s+)?")
_FRAME = re.compile(r"^Frame (\d+): (\d+) bytes on wire")
_IPV = re.compile(r"^Internet Protocol Version ([46]), Src: (.+?), Dst: (.+?)\s*$")
_TCPV = re.compile(r"^Transmission Control Protocol, Src Port: (?:\S+ \()?(\d+)\)?, "
                   r"Dst Port: (?:\S+ \()?(\d+)\)?")
_ARRIVAL = re.compile(r"Arrival Time: (\w{3})\w* +(\d+), (\d{4}) (\d\d:\d\d:\d\d(?:\.\d+)?)")
_EPOCH = re.compile(r"Epoch (?:Arrival )?Time: (\d+(?:\.\d+)?)")
_TCP_FLAGS = re.compile(r"^Flags: 0x([0-9a-fA-F]{1,4})\b")


def _addr(text: str) -> str:
    """'fmc.example.com (10.40.40.1)' -> the address; else the text as it is."""
    m = re.search(r"\(([0-9a-fA-F:.]+)\)\s*$", text)
    return m.group(1) if m else text.strip()


def block_start(line: str) -> bool:
    s = _MARK.sub("", line)
    return bool(_FRAME.match(s) or _IPV.match(s) or _TCPV.match(s))


def _detail_time(s: str, t: float | None) -> float | None:
    m = _EPOCH.search(s)
    if m is not None:
        return float(m.group(1))
    m = _ARRIVAL.search(s)
    if m is not None and t is None and m.group(1).lower() in _MONTHS:
        day = parse_time(f"{m.group(3)}-{_MONTHS[m.group(1).lower()]:02d}-{int(m.group(2)):02d}"
                         f" {m.group(4)}")
        return day
    return t


def _detail_icmp(ip: re.Match[str], lines: list[str], t: float | None, lineno: int
                 ) -> TextPacket | None:
    """A tshark -V ICMP frag-needed / ICMPv6 Packet Too Big and the packet it quotes."""
    text = "\n".join(lines)
    if "Fragmentation needed" not in text and "Packet Too Big" not in text:
        return None
    mtu = _int(re.search(r"(?m)^(?:MTU of next hop|MTU): (\d+)", text))
    qip = next((m for m in map(_IPV.match, lines) if m is not None), None)
    qtcp = next((m for m in map(_TCPV.match, lines) if m is not None), None)
    if mtu is None or mtu > 0xFFFF or qip is None:
        return None
    p = TextPacket(lineno, TextForm.DETAIL, _addr(ip.group(2)), 0, _addr(ip.group(3)), 0, 0, t,
                   int(ip.group(1)), icmp_mtu=mtu, icmp_orig=_addr(qip.group(3)))
    if qtcp is not None:
        p.quoted = TextPacket(lineno, TextForm.DETAIL, _addr(qip.group(2)), int(qtcp.group(1)),
                              _addr(qip.group(3)), int(qtcp.group(2)), 0)
        length = _int(re.search(r"(?m)^(?:Total Length|Payload Length): (\d+)", text))
        p.quoted_len = length + 40 if length is not None and qip.group(1) == "6" else length
    return p


def detail_block(lines: Sequence[str], i: int, lineno: int) -> tuple[int, TextPacket | None]:
    """A ``tshark -V`` frame from line ``i``: (next line, the TCP packet if it is one)."""
    fields: dict[str, str] = {}
    frame = _FRAME.match(_MARK.sub("", lines[i]).strip())
    t: float | None = None
    tcp: re.Match[str] | None = None
    ip: re.Match[str] | None = None
    http: list[str] = []
    opts: list[str] = []
    icmp: list[str] | None = None     # an ICMP error's lines, its quotation included
    j = i
    while j < len(lines):
        raw = lines[j]
        s = _MARK.sub("", raw).strip()
        if j > i and (not s or _FRAME.match(s)
                      or (ip is not None and icmp is None and _IPV.match(s))):
            break
        j += 1
        if not s:
            continue
        if icmp is not None:
            icmp.append(s)
        elif ip is not None and tcp is None and s.startswith("Internet Control Message"):
            icmp = [s]
        elif ip is None and _IPV.match(s):
            ip = _IPV.match(s)
        elif tcp is None and _TCPV.match(s):
            tcp = _TCPV.match(s)
        elif tcp is None:
            t = _detail_time(s, t)
        elif _TCP_FLAGS.match(s) and "flags" not in fields:
            fields["flags"] = _TCP_FLAGS.match(s).group(1)  # type: ignore[union-attr]
        elif re.search(r"[Rr]etransmission", s):
            fields["retx"] = "1"
        elif "Handshake Type: Client Hello" in s or "Handshake Type: Server Hello" in s:
            fields.setdefault("tls", s)
        elif not s.startswith("[") and (_REQ.match(_bare(s)) or _STATUS.match(_bare(s))
                                         or (http and _HEADER.match(s))):
            http.append(_bare(s))
        else:
            opts.append(s)
    if ip is not None and icmp is not None:
        return j, _detail_icmp(ip, icmp, t, lineno)
    if ip is None or tcp is None:
        return j, None
    p = TextPacket(lineno, TextForm.DETAIL, _addr(ip.group(2)), int(tcp.group(1)),
                   _addr(ip.group(3)), int(tcp.group(2)), int(fields.get("flags", "0"), 16) & 0xFF,
                   t, int(ip.group(1)))
    head = tcp.group(0) + tcp.string[tcp.end():]
    p.seq = _int(re.search(r"\bSeq: (\d+)", head))
    p.ack = _int(re.search(r"\bAck: (\d+)", head))
    p.length = _int(re.search(r"\bLen: (\d+)", head))
    joined = "\n".join(opts)
    p.mss = _int(re.search(r"Maximum segment size: (\d+) bytes", joined))
    ws = re.search(r"Window scale: (\d+) \(multiply", joined)
    p.wscale = int(ws.group(1)) if ws and int(ws.group(1)) < 256 else None
    p.sack = "SACK permitted" in joined
    p.tsopt = "Timestamps: TSval" in joined
    p.options_shown = "Options:" in joined or p.mss is not None
    p.retx_mark = "retx" in fields
    if frame is not None:
        p.number, p.frame_len = _int(frame), _int(frame, 2)
    if http:
        p.content = ("\r\n".join(http) + "\r\n\r\n").encode("latin-1", "replace")
    elif "tls" in fields:
        p.content = content_of(fields["tls"])
    return j, p


# --- the whole text --------------------------------------------------------------------

_NOISE = re.compile(r"^\s*(?:No\.\s+Time\s+Source|tcpdump: |listening on |reading from file |"
                    r"\d+ packets? (?:captured|received by filter|dropped by)|Running as user|"
                    r"Capturing on )")
_STREAM_PROTOCOLS = ("HTTP", "TLS", "SSL", "TCP")
Ends = tuple[str, int, str, int]


class _Conversations:
    """Which ports two addresses last talked on, and who opened each connection (for rows
    and HTTP heads that name no ports)."""

    def __init__(self) -> None:
        self.ports: dict[tuple[str, str], tuple[int, int]] = {}
        self.client: dict[frozenset[tuple[str, int]], tuple[str, int]] = {}
        self.last: Ends | None = None

    def add(self, p: TextPacket) -> None:
        self.ports[(p.src, p.dst)] = (p.sport, p.dport)
        self.ports[(p.dst, p.src)] = (p.dport, p.sport)
        key = frozenset(((p.src, p.sport), (p.dst, p.dport)))
        if p.flags & TCP_SYN and not p.flags & TCP_ACK:
            self.client[key] = (p.src, p.sport)
        elif p.flags & TCP_SYN:
            self.client[key] = (p.dst, p.dport)
        self.last = (p.src, p.sport, p.dst, p.dport)

    def toward_server(self, ends: Ends, request: bool) -> Ends:
        """The ends of the last conversation oriented client->server for a request."""
        src, sport, dst, dport = ends
        client = self.client.get(frozenset(((src, sport), (dst, dport))))
        src_is_client = client == (src, sport) if client is not None else sport > dport
        if src_is_client != request:
            return dst, dport, src, sport
        return ends


def _row_packet(row: tuple[TextPacket | None, str, str, str], line: str, lineno: int,
                conv: _Conversations) -> TextPacket | None:
    """A packet-list row of HTTP or TLS, which names no ports: on the addresses' last
    connection, its length estimated later from the Length column."""
    p, src, dst, info = row
    if p is not None:
        return p
    m = _ROW.match(_csv_row(line) if line.lstrip().startswith('"') else line)
    ports = conv.ports.get((src, dst))
    if m is None or ports is None or not m.group("proto").upper().startswith(_STREAM_PROTOCOLS):
        return None
    q = TextPacket(lineno, TextForm.PACKET_LIST, src, ports[0], dst, ports[1], TCP_PSH,
                   parse_time(m.group("time")), frame_len=int(m.group("flen")),
                   number=_int(m, m.re.groupindex["no"]))
    q.content = content_of(info)
    q.retx_mark = bool(_RETX.search(info))
    return q


def parse_text(lines: Sequence[str]) -> TextParse:
    """Every packet the text shows, in order, with the line it is on (from 1)."""
    out = TextParse(lines=len(lines))
    conv = _Conversations()
    attach_to: TextPacket | None = None     # a packet whose payload lines may follow
    pending: tuple[str | None, str | None] = (None, None)
    i = 0

    def add(p: TextPacket) -> None:
        nonlocal attach_to
        if p.form is TextForm.DETAIL and _detail_of_listed(out.packets, p):
            out.seen(p.form)
            return
        out.packets.append(p)
        out.seen(p.form)
        if p.icmp_mtu is None:
            conv.add(p)
            attach_to = p if p.length and not p.content else None

    while i < len(lines):
        line, lineno = lines[i], i + 1
        if _ignorable(line) or line.lstrip().startswith("#") or _NOISE.match(line):
            i += 1
            continue
        vhead = _TD_VHEAD.match(line)
        if vhead is not None:
            pending = (vhead.group("time"), vhead.group("fam"))
            i += 1
            continue
        td = tcpdump_line(line, lineno, pending)
        pending = (None, None)
        if td is not None:
            i += 1
            if isinstance(td, TextPacket):
                quote = quotation(lines, i) if td.icmp_mtu is not None else None
                if quote is not None:
                    i, td.quoted, td.quoted_len = quote
                add(td)
            else:
                out.other_protocols += 1
            continue
        if block_start(line):
            i, p = detail_block(lines, i, lineno)
            if p is not None:
                add(p)
            else:
                out.other_protocols += 1
            continue
        row = packet_list_row(line, lineno)
        if row is not None:
            p = _row_packet(row, line, lineno, conv)
            if p is not None:
                add(p)
            else:
                out.other_protocols += 1
            i += 1
            continue
        head = http_head(lines, i)
        if head is not None:
            i, kind, body = head
            if attach_to is not None:
                attach_to.content = body
                attach_to = None
            else:
                _standalone(out, conv, lineno, kind == "request", body)
            continue
        out.unparsed += 1
        out.first_unparsed = out.first_unparsed or lineno
        i += 1
    return out


DETAIL_MATCH_BACK = 500   # packets looked back at for the row a detail block expands


def _detail_of_listed(packets: list[TextPacket], d: TextPacket) -> bool:
    """Is this detail block the expansion of a packet-list row above it (as pasted from
    Wireshark: the list, then the details of one frame)? Then it adds to that row."""
    for p in reversed(packets[-DETAIL_MATCH_BACK:]):
        if p.form is not TextForm.PACKET_LIST or (p.src, p.sport, p.dst, p.dport) != (
                d.src, d.sport, d.dst, d.dport):
            continue
        same = (p.number == d.number if p.number is not None and d.number is not None
                else p.frame_len == d.frame_len and p.seq in (None, d.seq))
        if same:
            p.seq = d.seq if p.seq is None else p.seq
            if p.ack is None and d.ack is not None:
                p.ack, p.flags = d.ack, p.flags | d.flags
            p.length = d.length if p.length is None else p.length
            p.content = p.content if p.content.count(b"\r\n") > 2 else d.content or p.content
            return True
    return False


def _standalone(out: TextParse, conv: _Conversations, lineno: int, request: bool,
                body: bytes) -> None:
    """An HTTP head on lines of its own: sent on the connection above it (or between an
    unnamed client and proxy when the text shows no packet), with its text's length."""
    ends = conv.last or ("client", 0, "proxy", 0)
    src, sport, dst, dport = conv.toward_server(ends, request)
    before = out.packets[-1] if out.packets else None
    p = TextPacket(lineno, TextForm.HTTP, src, sport, dst, dport, TCP_PSH,
                   before.ts if before is not None else None,
                   before.family if before is not None else 0, length=len(body), content=body)
    out.packets.append(p)
    out.seen(TextForm.HTTP)
    out.http_standalone += 1
    out.first_standalone = out.first_standalone or lineno
    if conv.last is None:
        conv.add(p)
