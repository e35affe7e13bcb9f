"""``tshark -V`` (and Wireshark's "Expand all" copy) detail blocks: one packet per block,
from its "Frame N:" line to the next; what the IP and TCP subtrees show and nothing more.

Pure, no I/O; ``pathprobe.capture.text.parse_text`` decides where a block starts.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from pathprobe.capture.textpacket import (
    HEADER_LINE,
    MONTHS,
    REQUEST_LINE,
    STATUS_LINE,
    Echo,
    IcmpKind,
    TextForm,
    TextPacket,
    bare,
    content_of,
    number,
    parse_time,
    u32,
)

# --- tshark -V detail blocks -----------------------------------------------------------

_MARK = re.compile(r"^\s*(?:[>v<\u25b8\u25be\u25b6\u25bc\u2023+]\s+)?")
_FRAME = re.compile(r"^Frame (\d+): (\d+) bytes on wire")
_IPV = re.compile(r"^Internet Protocol Version ([46]), Src: (.+?), Dst: (.+?)\s*$")
_TCPV = re.compile(r"^Transmission Control Protocol, Src Port: (?:\S+ \()?(\d+)\)?, "
                   r"Dst Port: (?:\S+ \()?(\d+)\)?")
_UDPV = re.compile(r"^User Datagram Protocol, Src Port: (?:\S+ \()?(\d+)\)?, "
                   r"Dst Port: (?:\S+ \()?(\d+)\)?")
# the other errors a probe draws: "Type: 11 (Time-to-live exceeded)", "Type: Time Exceeded
# (3)"; "Code: 3 (Port unreachable)" (ICMPv6: "Code: 4 (Port unreachable)")
_ANSWER = re.compile(r"(?m)^(?:Type: .*(?P<ttl>Time-to-live exceeded|Time Exceeded)|Code: \d+ "
                     r"\(Port unreachable\))")
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
        epoch = float(m.group(1))     # (digits only: a float, at worst inf)
        return epoch if math.isfinite(epoch) else t
    m = _ARRIVAL.search(s)
    day_of_month = number(m.group(2), 32) if m is not None else None
    if m is not None and t is None and m.group(1).lower() in MONTHS and day_of_month:
        return parse_time(f"{m.group(3)}-{MONTHS[m.group(1).lower()]:02d}-{day_of_month:02d}"
                          f" {m.group(4)}")
    return t


_STREAM_TS = re.compile(r"(?m)^\[Time since first frame in this TCP stream: (\d{1,9}(?:\.\d+)?) "
                        r"seconds\]")
_STREAM = re.compile(r"(?m)^\[Stream index: (\d+)\]")


def stream_times(packets: Sequence[TextPacket]) -> None:
    """``tshark -O tcp`` shows no frame times, only each packet's time since its TCP stream's
    first frame: the text's times when it shows one stream alone (several streams' clocks
    start apart, by how much nothing says)."""
    if packets and all(p.ts is None and p.stream_ts is not None for p in packets) \
            and len({p.stream for p in packets}) == 1:
        for p in packets:
            p.ts = p.stream_ts


_IP_LENGTH = re.compile(r"(?m)^(?:Total Length|Payload Length): (\d+)")
_ECHO_TYPE = re.compile(r"(?m)^Type: .*\bEcho \(ping\) (request|reply)\b")
_ECHO_ID = re.compile(r"(?m)^Identifier(?: \(BE\))?: (?:(\d+)|0x([0-9a-fA-F]{1,4}))\b")
_ECHO_SEQ = re.compile(r"(?m)^Sequence(?: [Nn]umber)?(?: \(BE\))?: (\d+)\b")


def _ip_length(family: str, text: str) -> int | None:
    """The IP length a detail subtree shows (IPv6: its payload length and 40)."""
    length = u32(_IP_LENGTH.search(text))
    return length + 40 if length is not None and family == "6" else length


_DF_BIT = re.compile(r"(?m)Don't [Ff]ragment: (Set|Not set)|^Flags: 0x[0-9a-fA-F]+(.*)$")


def _df(ip_text: str) -> bool | None:
    """The DF flag as an IPv4 subtree shows it: its bit line, else the Flags line, which
    names the flags set ("Flags: 0x2, Don't fragment"; "(Don't Fragment)" before 1.12)."""
    m = _DF_BIT.search(ip_text)
    if m is None:
        return None
    if m.group(1) is not None:
        return m.group(1) == "Set"
    return "don't fragment" in m.group(2).lower()


def _detail_echo(src: str, dst: str, family: str, ip_text: str, icmp_text: str,
                 t: float | None, lineno: int) -> TextPacket | None:
    """A ping in a detail block (or quoted in an ICMP error): request or reply, its
    identifier, sequence number, IP length and DF flag (IPv6: never fragmented)."""
    kind, seq = _ECHO_TYPE.search(icmp_text), u32(_ECHO_SEQ.search(icmp_text))
    ident = _ECHO_ID.search(icmp_text)
    ip_len = _ip_length(family, ip_text)
    if kind is None or seq is None or seq > 0xFFFF or ip_len is None:
        return None
    ident_v = None if ident is None else (number(ident.group(1), 65536) if ident.group(1)
                                          else int(ident.group(2), 16))
    df = True if family == "6" else _df(ip_text)
    return TextPacket(lineno, TextForm.DETAIL, src, 0, dst, 0, 0, t, int(family),
                      echo=Echo(kind.group(1) == "request", ident_v or 0, seq), ip_len=ip_len,
                      df=df)


def _detail_icmp(ip: re.Match[str], ip_lines: list[str], lines: list[str], t: float | None,
                 lineno: int) -> TextPacket | None:
    """A tshark -V ping, or ICMP frag-needed / ICMPv6 Packet Too Big and the packet it quotes
    (a TCP segment or a ping)."""
    text = "\n".join(lines)
    src, dst = _addr(ip.group(2)), _addr(ip.group(3))
    answer = _ANSWER.search(text)
    if "Fragmentation needed" not in text and "Packet Too Big" not in text and answer is None:
        return _detail_echo(src, dst, ip.group(1), "\n".join(ip_lines), text, t, lineno)
    mtu = u32(re.search(r"(?m)^(?:MTU of next hop|MTU): (\d+)", text))
    at, qip = next(((i, m) for i, m in enumerate(map(_IPV.match, lines)) if m is not None),
                   (0, None))
    qtcp = next((m for m in map(_TCPV.match, lines) if m is not None), None)
    quoted = "\n".join(lines[at + 1:])
    if answer is not None and qip is not None:   # (TTL exceeded, port unreachable: of a probe)
        probe = _detail_udp(qip, lines[at + 1:], None, lineno) or _detail_echo(
            _addr(qip.group(2)), _addr(qip.group(3)), qip.group(1), quoted, quoted, None,
            lineno)                                  # (a UDP probe, or traceroute -I's ping)
        if probe is not None and probe.echo is not None and not probe.echo.request:
            probe = None
        return None if probe is None else TextPacket(
            lineno, TextForm.DETAIL, src, 0, dst, 0, 0, t, int(ip.group(1)),
            icmp_kind=IcmpKind.TTL_EXCEEDED if answer.group("ttl") else IcmpKind.PORT_UNREACHABLE,
            icmp_orig=probe.dst, quoted=probe, quoted_len=probe.ip_len)
    if mtu is None or mtu > 0xFFFF or qip is None:
        return None
    p = TextPacket(lineno, TextForm.DETAIL, src, 0, dst, 0, 0, t,
                   int(ip.group(1)), icmp_mtu=mtu, icmp_orig=_addr(qip.group(3)))
    qports = (number(qtcp.group(1), 65536), number(qtcp.group(2), 65536)) if qtcp else None
    probe = _detail_udp(qip, lines[at + 1:], None, lineno) if qtcp is None else None
    if probe is not None:
        p.quoted = probe
    elif qports is not None and qports[0] is not None and qports[1] is not None:
        p.quoted = TextPacket(lineno, TextForm.DETAIL, _addr(qip.group(2)), qports[0],
                              _addr(qip.group(3)), qports[1], 0)
    else:
        p.quoted = _detail_echo(_addr(qip.group(2)), _addr(qip.group(3)), qip.group(1),
                                quoted, quoted, None, lineno)
    if p.quoted is not None:
        p.quoted_len = _ip_length(qip.group(1), quoted)
    return p


def _detail_udp(ip: re.Match[str], ip_lines: list[str], t: float | None, lineno: int
                ) -> TextPacket | None:
    """A UDP datagram in a detail block (or quoted in an ICMP error): a probe, with the IP
    length and DF flag its IP subtree shows (IPv6: never fragmented on the way)."""
    text = "\n".join(ip_lines)
    udp = next((m for m in map(_UDPV.match, ip_lines) if m is not None), None)
    ip_len = _ip_length(ip.group(1), text)
    if udp is None or ip_len is None:
        return None
    sport, dport = number(udp.group(1), 65536), number(udp.group(2), 65536)
    if sport is None or dport is None:
        return None
    return TextPacket(lineno, TextForm.DETAIL, _addr(ip.group(2)), sport, _addr(ip.group(3)),
                      dport, 0, t, int(ip.group(1)), ip_len=ip_len,
                      df=True if ip.group(1) == "6" else _df(text), udp=True)


def detail_block(lines: Sequence[str], i: int, lineno: int) -> tuple[int, TextPacket | None]:
    """A ``tshark -V`` frame from line ``i``: (next line, the TCP packet if it is one)."""
    fields: dict[str, str] = {}
    frame = _FRAME.match(_MARK.sub("", lines[i]).strip())
    t: float | None = None
    tcp: re.Match[str] | None = None
    ip: re.Match[str] | None = None
    http: list[str] = []
    opts: list[str] = []
    icmp: list[str] | None = None     # an ICMP message's lines, an error's quotation included
    ip_lines: list[str] = []          # the IP header's (its length, DF flag)
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
            if ip is not None:
                ip_lines.append(s)
        elif _TCP_FLAGS.match(s) and "flags" not in fields:
            fields["flags"] = _TCP_FLAGS.match(s).group(1)  # type: ignore[union-attr]
        elif re.search(r"[Rr]etransmission", s):
            fields["retx"] = "1"
        elif "Handshake Type: Client Hello" in s or "Handshake Type: Server Hello" in s:
            fields.setdefault("tls", s)
        elif not s.startswith("[") and (REQUEST_LINE.match(bare(s)) or STATUS_LINE.match(bare(s))
                                         or (http and HEADER_LINE.match(s))):
            http.append(bare(s))
        else:
            opts.append(s)
    if ip is not None and icmp is not None:
        return j, _detail_icmp(ip, ip_lines, icmp, t, lineno)
    if ip is not None and tcp is None:
        return j, _detail_udp(ip, ip_lines, t, lineno)
    sport = number(tcp.group(1), 65536) if tcp is not None else None
    dport = number(tcp.group(2), 65536) if tcp is not None else None
    if ip is None or tcp is None or sport is None or dport is None:
        return j, None
    p = TextPacket(lineno, TextForm.DETAIL, _addr(ip.group(2)), sport, _addr(ip.group(3)),
                   dport, int(fields.get("flags", "0"), 16) & 0xFF, t, int(ip.group(1)))
    head = tcp.group(0) + tcp.string[tcp.end():]
    p.seq = u32(re.search(r"\bSeq: (\d+)", head))
    p.ack = u32(re.search(r"\bAck: (\d+)", head))
    p.length = u32(re.search(r"\bLen: (\d+)", head))
    joined = "\n".join(opts)
    p.window = u32(re.search(r"^\s*Window(?: size value)?: (\d+)", joined, re.M))
    p.mss = u32(re.search(r"Maximum segment size: (\d+) bytes", joined))
    ws = re.search(r"Window scale: (\d+) \(multiply", joined)
    p.wscale = number(ws.group(1), 256) if ws else None
    p.sack = "SACK permitted" in joined
    p.tsopt = "Timestamps: TSval" in joined
    p.options_shown = "Options:" in joined or p.mss is not None
    p.retx_mark = "retx" in fields
    since = _STREAM_TS.search(joined)
    p.stream_ts = float(since.group(1)) if since else None
    p.stream = u32(_STREAM.search(joined))
    if frame is not None:
        p.number, p.frame_len = u32(frame), u32(frame, 2)
    if http:
        p.content = ("\r\n".join(http) + "\r\n\r\n").encode("latin-1", "replace")
    elif "tls" in fields:
        p.content = content_of(fields["tls"])
    return j, p
