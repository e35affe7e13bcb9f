"""One TCP segment as capture text shows it (``TextPacket``), and the small parsers every
text form shares: times, ports, the HTTP first lines and what a decoded summary names.

Pure, no I/O. The forms' line parsers are ``pathprobe.capture.textforms``; the whole
text, in order, is ``pathprobe.capture.text.parse_text``.
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Container, Sequence
from dataclasses import dataclass, field

from pathprobe.capture.httpsniff import PROXY_PORTS
from pathprobe.compat import StrEnum
from pathprobe.wire.headers import TCP_ACK, TCP_SYN

# TLS record starts the tracker recognises (content type 22, handshake type 1 or 2).
CLIENT_HELLO = b"\x16\x03\x01\x02\x00\x01"
SERVER_HELLO = b"\x16\x03\x03\x00\x5a\x02"


class TextForm(StrEnum):
    """The forms of capture text we read (stable values: JSON facts)."""

    TCPDUMP = "tcpdump"
    # tcpdump's format before 4.0, which Cisco ASA and FTD (LINA) 'show capture' keep
    CLASSIC = "ASA/FTD show capture or classic tcpdump"
    PACKET_LIST = "Wireshark/tshark packet list"
    DETAIL = "tshark -V detail"
    HEX = "hex dump"
    HTTP = "decoded HTTP"
    PING = "ping output"
    TRACEPATH = "tracepath output"
    TRACEROUTE = "traceroute output"


class PingSystem(StrEnum):
    """Whose ping printed a run of ping output (stable values: JSON facts)."""

    LINUX = "Linux"
    BSD = "macOS/BSD/BusyBox"        # 'PING host (addr): 56 data bytes'
    WINDOWS = "Windows"
    CISCO = "Cisco IOS/ASA"


class IcmpKind(StrEnum):
    """An ICMP error other than frag-needed that answers a probe (tracepath, traceroute)."""

    TTL_EXCEEDED = "TTL exceeded"
    PORT_UNREACHABLE = "port unreachable"


@dataclass
class TextPacket:
    """One TCP segment as a line (or a detail block) shows it, or an ICMP error or ping
    (``icmp_mtu``, ``echo``); None: not shown."""

    line: int
    form: TextForm
    src: str
    sport: int
    dst: str
    dport: int
    flags: int
    ts: float | None = None
    family: int = 0                 # 4 or 6 when the text says; 0: from the addresses
    iface: str = ""                 # the interface 'tcpdump -i any' names
    seq: int | None = None
    ack: int | None = None
    length: int | None = None       # TCP payload bytes
    frame_len: int | None = None    # Wireshark's Length column (link header included)
    mss: int | None = None
    wscale: int | None = None
    window: int | None = None       # the receive window shown (a zero one: not reading)
    sack: bool = False
    tsopt: bool = False
    options_shown: bool = False
    retx_mark: bool = False
    content: bytes = b""            # payload bytes the text spells out (HTTP head, TLS hello)
    # An ASA/FTD asp-drop capture's "Drop-reason: (code) text" as "code: text": the
    # firewall dropped it
    drop_reason: str = ""
    number: int | None = None       # the frame number the text gives (No. column, 'Frame N')
    # tshark -O tcp: no frame time, but the time since the first frame of the TCP stream
    # and that stream's index ('[Stream index: N]')
    stream_ts: float | None = None
    stream: int | None = None
    # An ICMP frag-needed / Packet Too Big line: the MTU it names (0: none, or a packet-list
    # row, which does not show it), the destination of the packet it answers, and that
    # packet when tcpdump -v quoted it (on the next lines).
    icmp_mtu: int | None = None
    icmp_orig: str = ""
    quoted: TextPacket | None = None
    quoted_len: int | None = None
    # An ICMP/ICMPv6 echo line (a ping): request or reply, its identifier and sequence
    # number, the IP length, and whether DF was set where the text shows it (None: not
    # shown; an IPv6 ping is never fragmented on the way, so always True). Ports are 0.
    echo: Echo | None = None
    ip_len: int | None = None
    df: bool | None = None
    # a UDP datagram (tracepath's and traceroute's probes: ports, ``ip_len``, ``df``) and
    # the other ICMP errors that answer one (``quoted``: the probe)
    udp: bool = False
    icmp_kind: IcmpKind | None = None

    @property
    def tcp(self) -> bool:
        return (self.icmp_mtu is None and self.echo is None and not self.udp
                and self.icmp_kind is None)


@dataclass(frozen=True)
class Echo:
    """What a ping line shows of its ICMP echo header (request or reply)."""

    request: bool
    ident: int
    seq: int


@dataclass
class TextParse:
    """The packets of a text and what the parser noticed on the way."""

    packets: list[TextPacket] = field(default_factory=list)
    forms: dict[TextForm, int] = field(default_factory=dict)
    lines: int = 0
    unparsed: int = 0
    first_unparsed: int = 0
    other_protocols: int = 0        # recognised lines of UDP, ICMP, ARP ...
    not_ip: int = 0                 # ... of them, ARP and others that hold no IP packet
    tcp_cut: list[int] = field(default_factory=lambda: [0, 0])   # '[|tcp]': [count, first line]
    offloaded: list[int] = field(default_factory=lambda: [0, 0])   # 'IP bad-len 0': the same
    ambiguous: int = 0              # rows without ports that fit several (a guess)
    first_ambiguous: int = 0
    hex_payloads: int = 0           # packets whose payload a hex dump (-x, -X) spells
    http_standalone: int = 0        # HTTP heads on lines of their own
    first_standalone: int = 0
    http_orphans: int = 0           # ... answers with nothing before them they could answer
    first_orphan: int = 0
    # runs of the ping program's output that do not show DF, or show it was not set
    ping_df_unshown: list[tuple[int, PingSystem]] = field(default_factory=list)  # (line, system)
    ping_no_df: list[tuple[int, PingSystem]] = field(default_factory=list)
    ping_refused: tuple[int, int, int] | None = None   # (count, first line, MTU)
    ping_runs: int = 0
    ping_unsized: list[tuple[int, int, int]] = field(default_factory=list)  # (line, count, sizes)
    ping_unread: list[int] = field(default_factory=list)   # first unread line of such runs
    trace_runs: int = 0             # runs of tracepath's and traceroute's output
    # ... those that nothing answered from a hop on: (line, hop, probe size,
    # hops, which program)
    trace_silent: list[tuple[int, int, int, int, str]] = field(default_factory=list)
    stopped_at: int | None = None   # Ctrl-C ended the parse before this line (none after read)

    def seen(self, form: TextForm) -> None:
        self.forms[form] = self.forms.get(form, 0) + 1


DELTAS_BACK = 10          # times go back at least once in this many steps: they are deltas


def deltas_to_times(packets: Sequence[TextPacket]) -> None:
    """tcpdump -ttt prints the time since the previous packet ("00:00:00.000046", the first
    one 00:00:00.000000), as Wireshark's delta column does: when the times start at zero and
    go backwards often (one step in ten or more), add them up. Times since the first packet
    go back rarely: where a capture pasted or saved twice starts over (PPA's ftp-crack)."""
    times = [p.ts for p in packets if p.ts is not None]
    if not times or times[0] != 0.0 or max(times) >= 3600.0:
        return
    backwards = sum(b < a for a, b in zip(times, times[1:]))
    if not backwards or backwards * DELTAS_BACK < len(times) - 1:
        return
    total = 0.0
    for p in packets:
        if p.ts is not None:
            total += p.ts
            p.ts = total


# --- small parsers ---------------------------------------------------------------------

TIME = (r"(?:\d{4}-\d\d-\d\d[ T]|[A-Z][a-z]{2} {1,2}\d{1,2}, \d{4} )?"
         r"\d{1,2}:\d\d:\d\d(?:[.,]\d+)?|\d{9,10}\.\d+|\d{1,6}\.\d+")
_TIME_RE = re.compile(r"(?:(\d{4})-(\d\d)-(\d\d)[ T]|([A-Z][a-z]{2}) {1,2}(\d{1,2}), (\d{4}) )?"
                      r"(\d{1,2}):(\d\d):(\d\d(?:[.,]\d+)?)$")
MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
SERVICES = {"http": 80, "www": 80, "https": 443, "http-alt": 8080, "webcache": 8080,
            "squid": 3128, "ndl-aas": 3128, "socks": 1080, "ssh": 22, "domain": 53,
            "https-alt": 8443, "pcsync-https": 8443, "tproxy": 8081, "sunproxyadmin": 8081,
            "ftp": 21, "smtp": 25, "ldap": 389, "ldaps": 636, "imaps": 993, "submission": 587}




def proxy_port_syn(packets: Sequence[TextPacket], names: Container[str]) -> TextPacket | None:
    """The first SYN to a port proxies usually listen on, sent to an address (not a name:
    ``--proxy`` takes an address): text shows no CONNECT unless a line names it, so such
    a proxy passes for the server itself."""
    for p in packets:
        if (p.dport in PROXY_PORTS and p.flags & (TCP_SYN | TCP_ACK) == TCP_SYN
                and p.dst not in names):
            return p
    return None


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
        if month.lower() not in MONTHS:
            return None
        y, mo, d = year, str(MONTHS[month.lower()]), day
    if y is not None:
        try:
            secs += datetime.date(int(y), int(mo), int(d)).toordinal() * 86400.0
        except ValueError:
            return None
    return secs


def number(text: str | None, below: int = 1 << 32) -> int | None:
    """A number as a paste writes it: ASCII digits, below ``below``; None for anything else.

    The patterns' ``\\d+`` matches any run of digits, of any script: ``int()`` refuses more
    than 4300 of them (an internal error on a pasted line) and reads Arabic-Indic ones, and
    Latin-1 superscripts pass ``isdigit()`` but not ``int()``."""
    if text is None or len(text) > 20 or not (text.isascii() and text.isdigit()):
        return None
    v = int(text)
    return v if v < below else None


def parse_port(text: str) -> int | None:
    v = number(text, 65536)
    return v if v is not None else SERVICES.get(text.lower())


def u32(m: re.Match[str] | None, group: int = 1) -> int | None:
    return number(m.group(group)) if m is not None else None


# --- HTTP first lines ---------------------------------------------------------------------------

# (" / " before the version: a CONNECT some clients send, which capture.tracker takes too;
# tcpdump -A prints the IP and TCP headers before it, as dots and any letter or digit)
REQUEST_LINE = re.compile(r"^[\x21-\x7e]*?((?:CONNECT|GET|POST|PUT|HEAD|DELETE|OPTIONS|PATCH) "
                          r"\S+(?: /)? HTTP/1\.[01])\s*$")
STATUS_LINE = re.compile(r"^[\x21-\x7e]*?(HTTP/1\.[01] \d{3}(?: [^\r\n]*)?)$")
# The same, anywhere in a packet line's decoded summary ("length 122: HTTP: CONNECT ...").
_REQ_IN = re.compile(r"\b((?:CONNECT|GET|POST|PUT|HEAD|DELETE|OPTIONS|PATCH) \S+(?: /)? "
                     r"HTTP/1\.[01])")
_STATUS_IN = re.compile(r"(?<![\w/])(HTTP/1\.[01] \d{3}(?: [^\r\n(]*)?)")
HEADER_LINE = re.compile(r"^[A-Za-z][A-Za-z0-9-]*:[ \t]*\S")
_CRLF = re.compile(r"(?:\\r\\n|\\n)+$")


def bare(line: str) -> str:
    """A line without Wireshark's literal '\\r\\n' and surrounding space."""
    return _CRLF.sub("", line.strip()).strip()


def ignorable(line: str) -> bool:
    s = line.strip()
    return not s or s.startswith("```") or s == "<#root>"


def sized_hello(content: bytes, length: int) -> bytes:
    """A hello a line names (``content_of``: its record header only), its record made to
    end where the segment of ``length`` bytes ends: the text shows no larger record, and a
    made-up length (512) had the framing wait for bytes never sent, a 'pending' stall, and
    a hello 'spanning segments' that was 122 bytes (cuckoo's mixed-traffic as tshark -V)."""
    if content not in (CLIENT_HELLO, SERVER_HELLO) or length < len(content):
        return content
    return content[:3] + min(length - 5, 0xFFFF).to_bytes(2, "big") + content[5:]


def content_of(text: str) -> bytes:
    """Payload bytes named by a line's decoded summary (an HTTP first line, a TLS hello)."""
    s = bare(text)
    m = _REQ_IN.search(s) or _STATUS_IN.search(s)
    if m is not None:
        return (m.group(1).strip() + "\r\n\r\n").encode("latin-1", "replace")
    if "Client Hello" in s:
        return CLIENT_HELLO
    if "Server Hello" in s:
        return SERVER_HELLO
    return b""
