"""Capture text as people paste it into support cases, parsed into packets: pure, no I/O.

Five forms are recognised line by line, and may be mixed in one text:
``tcpdump``/``tcpdump -n`` lines (names or addresses, ``-v`` continuation
lines, ``-e`` link headers, ``-A`` payload lines, ``-#`` numbers), Wireshark/tshark
packet-list rows (with or without the number column, CSV export too), ``tshark -V``
detail blocks (also as copied from Wireshark's detail pane, with its ``>``/``<``
markers), hex dumps (below any of those, or on their own: ``pathprobe.capture.texthex``)
and decoded HTTP heads, possibly broken over lines. Anything else (prose, prompts,
comments, blank lines) is skipped and counted.

Each packet keeps what the line shows and nothing more: a missing sequence
number or length stays None here and is filled in, said as such, by
``pathprobe.capture.textframes`` which turns packets into the raw IP frames
the reader hands to the one connection tracker.

Here: the whole text, in order (which form a line is, which connection a row or
a head without ports belongs to). The packet and the parsers every form shares are
``pathprobe.capture.textpacket``; each form's line parser is in
``pathprobe.capture.textforms``.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from collections.abc import Callable, Sequence

from pathprobe.capture.textdetail import block_start, detail_block
from pathprobe.capture.textdns import dns_line, dns_row
from pathprobe.capture.textforms import (
    TD_VHEAD,
    NonTcp,
    cisco_link_head,
    filled,
    http_head,
    link_vhead,
    quotation,
    tcpdump_line,
    tunnel_head_time,
    unnumbered,
)
from pathprobe.capture.texthex import dumped_packet, hex_dump, hex_payload, holds_ip
from pathprobe.capture.textjoin import unwrapped
from pathprobe.capture.textpacket import (
    TextForm,
    TextPacket,
    TextParse,
    content_of,
    ignorable,
    number,
    parse_time,
    u32,
)
from pathprobe.capture.textping import PingOutput
from pathprobe.capture.textroute import RouteOutput
from pathprobe.capture.textrows import RETX, ROW, csv_row, packet_list_row, row_without_ip
from pathprobe.capture.texttrace import TraceOutput, quote_probes
from pathprobe.capture.tracker import PAYLOAD_PEEK
from pathprobe.wire.headers import TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, TcpHeader

# --- the whole text --------------------------------------------------------------------

_ICMP_ERROR = re.compile(r"\bICMP6?\b.*\b(?:unreachable|exceeded|too big|parameter problem)")
_NOISE = re.compile(r"^\s*(?:No\.\s+Time\s+Source|tcpdump: |listening on |reading from file |"
                    r"\d+ packets? (?:captured|received by filter|dropped by|shown)|"
                    r"Running as user|Capturing on |"
                    # an ASA/FTD prompt and 'show capture', the list of captures
                    r"\S*[#>]\s*show cap|capture \S+ type |"
                    # -V's Data field; the label over a frame's bytes where tshark -x
                    # shows more than one source of them (_FRAME_LABEL)
                    r"Data: [0-9a-f]+|\[Length: \d+\]\s*$|Frame \(\d+ bytes\):\s*$)")
_FRAME_LABEL = re.compile(r"^Frame \(\d+ bytes\):\s*$")
# ... and the label over bytes that are no frame (below it: "Reassembled TCP (3000 bytes):",
# "Decompressed ...", "Decrypted TLS ...")
_DATA_SOURCE = re.compile(r"^(?!Frame )[A-Z][\w .,/()-]{0,80} \(\d+ bytes\):\s*$")
_STREAM_PROTOCOLS = ("HTTP", "TLS", "SSL", "TCP")
Ends = tuple[str, int, str, int]
OPEN_MAX = 64            # connections between two hosts remembered as active
CHECK_EVERY = 4096       # lines parsed between two asks whether to go on (progress)
ACTIVE_S = 1.0           # a connection whose last row is this recent is active ...
ACTIVE_LINES = 20        # ... or, in a text without times, this many lines back


def _hello_of(content: bytes) -> int:
    """1 for a TLS ClientHello, 2 for a ServerHello (a record's first bytes), else 0."""
    return content[5] if len(content) > 5 and content[0] == 0x16 and content[5] in (1, 2) \
        else 0


class _Conversations:
    """Which ports two addresses last talked on, and who opened each connection (for rows
    and HTTP heads that name no ports)."""

    def __init__(self) -> None:
        self.ports: dict[tuple[str, str], tuple[int, int]] = {}
        self.client: dict[frozenset[tuple[str, int]], tuple[str, int]] = {}
        self.last: Ends | None = None
        self.unnamed: Ends | None = None   # the ends of heads that no packet line shows
        # the connections between two hosts not yet closed, with the line and time of
        # their last row (a row naming no ports belongs to one of them: with several
        # active, which one is a guess)
        self.open: dict[frozenset[str], dict[frozenset[tuple[str, int]],
                                             tuple[int, float | None]]] = {}
        # the TLS hellos each has shown (1 client, 2 server) and the line of the first
        self.hellos: dict[frozenset[tuple[str, int]], tuple[int, int]] = {}

    def add(self, p: TextPacket) -> None:
        self.ports[(p.src, p.dst)] = (p.sport, p.dport)
        self.ports[(p.dst, p.src)] = (p.dport, p.sport)
        key = frozenset(((p.src, p.sport), (p.dst, p.dport)))
        conns = self.open.setdefault(frozenset((p.src, p.dst)), {})
        hello = _hello_of(p.content)
        if hello:
            said, since = self.hellos.get(key, (0, p.line))
            self.hellos[key] = (said | hello, since)
        if p.flags & (TCP_FIN | TCP_RST):
            conns.pop(key, None)
            self.hellos.pop(key, None)
        elif key in conns or len(conns) < OPEN_MAX:
            conns[key] = (p.line, p.ts)
        if p.flags & TCP_SYN and not p.flags & TCP_ACK:
            self.client[key] = (p.src, p.sport)
        elif p.flags & TCP_SYN:
            self.client[key] = (p.dst, p.dport)
        self.last = (p.src, p.sport, p.dst, p.dport)

    def ambiguous(self, src: str, dst: str, line: int, ts: float | None) -> bool:
        """Were several connections between the two hosts active just before ``line``?"""
        active = 0
        for last_line, last_ts in self.open.get(frozenset((src, dst)), {}).values():
            recent = (ts - last_ts <= ACTIVE_S if ts is not None and last_ts is not None
                      else line - last_line <= ACTIVE_LINES)
            active += recent
        return active > 1

    def owing(self, src: str, dst: str, content: bytes) -> tuple[int, int] | None:
        """The ports (from ``src``, to ``dst``) of the open connection between the two hosts
        that owes this hello, a client's before any (of several, the last named or the
        newest: a client sends it as its handshake ends), a server's after the client's (of
        several, the one that has owed it longest: servers answer in turn); None if none."""
        hello = _hello_of(content)
        if not hello:
            return None
        fits = []
        for key, (line, _ts) in self.open.get(frozenset((src, dst)), {}).items():
            client = self.client.get(key)
            said, since = self.hellos.get(key, (0, line))
            if client is None or (client[0] == src) != (hello == 1) or len(key) != 2 \
                    or said != hello - 1:
                continue
            server = next(end for end in key if end != client)
            fits.append((since, (client[1], server[1]) if hello == 1 else (server[1], client[1])))
        if not fits:
            return None
        last = self.ports.get((src, dst))
        if hello == 1:   # sent as soon as its handshake ends: the last named, or the newest
            return last if any(ports == last for _l, ports in fits) else max(fits)[1]
        return min(fits)[1]

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
    connection, its length estimated later from the Length column (or a DNS row)."""
    p, src, dst, info = row
    if p is not None:
        return p
    m = ROW.match(csv_row(line) if line.lstrip().startswith('"') else line)
    if m is not None and m.group("proto").upper() == "DNS":
        return dns_row(src, dst, info, lineno, m.group("time"))
    content = content_of(info)   # (a hello goes to the connection that owes it)
    ports = conv.owing(src, dst, content) or conv.ports.get((src, dst))
    if m is None or ports is None or not m.group("proto").upper().startswith(_STREAM_PROTOCOLS):
        return None
    q = TextPacket(lineno, TextForm.PACKET_LIST, src, ports[0], dst, ports[1], TCP_PSH,
                   parse_time(m.group("time")), frame_len=number(m.group("flen")),
                   number=u32(m, m.re.groupindex["no"]))
    q.content = content
    q.retx_mark = bool(RETX.search(info))
    return q


def _lines_below(out: TextParse, lines: Sequence[str], i: int, td: TextPacket | NonTcp) -> int:
    """What the lines below a tcpdump packet line add to it (from line ``i``): the quoted
    packet of an ICMP error ('-v'), its bytes ('-x', '-X'; of a UDP or ARP packet they are
    only skipped). Returns the next line to read."""
    if isinstance(td, TextPacket) and (td.icmp_mtu is not None or td.icmp_kind is not None):
        quote = quotation(lines, i)
        if quote is not None:
            i, td.quoted, td.quoted_len = quote
    elif td is NonTcp.IP and i < len(lines) and lines[i][:1].isspace() \
            and _ICMP_ERROR.search(lines[i - 1]):
        quote = quotation(lines, i)   # another error's quotation: no packet of the capture
        if quote is not None:
            i = quote[0]
    return _dump_below(out, lines, i, td)


def _bytes_start(lines: Sequence[str], i: int) -> int:
    """Where the bytes below a packet's line start: after a blank line (tshark) and the
    label tshark puts over a frame's bytes when it shows more than one source of them
    ("Frame (487 bytes):")."""
    j = i + 1 if i < len(lines) and not lines[i].strip() else i
    return j + 1 if j < len(lines) and _FRAME_LABEL.match(lines[j]) else j


def _row_bytes(lines: Sequence[str], i: int, row: tuple[TextPacket | None, str, str, str],
               line: str) -> tuple[TextPacket | None, int]:
    """The packet of a packet-list row with the frame's bytes below it (tshark -P -x), as its
    bytes show it (sequence numbers, lengths, options, an ICMP error's MTU and quote; a row
    of a protocol over TCP that names no ports), at the row's time and with Wireshark's
    marks; (None, i) when no bytes of the row's addresses follow (names for addresses: the
    row is read, and its bytes into it)."""
    dump = hex_dump(lines, _bytes_start(lines, i))
    dumped = dumped_packet(dump[1], i) if dump is not None else None
    m = ROW.match(csv_row(line) if line.lstrip().startswith('"') else line)
    if dump is None or dumped is None or m is None or (dumped.src, dumped.dst) != row[1:3]:
        return None, i
    return dataclasses.replace(dumped, form=TextForm.PACKET_LIST, ts=parse_time(m.group("time")),
                               retx_mark=bool(RETX.search(row[3])),
                               number=u32(m, m.re.groupindex["no"])), dump[0]


def _detail_at(out: TextParse, add: Callable[[TextPacket], None], lines: Sequence[str],
               i: int) -> int:
    """A tshark -V detail block at line ``i``, and the bytes -x shows below it; the next
    line to read."""
    i, p = detail_block(lines, i, i + 1)
    if p is not None:
        add(p)
    else:
        out.other_protocols += 1
        out.seen(TextForm.DETAIL)
    return _dump_below(out, lines, i, p)


def _bytes_alone(out: TextParse, add: Callable[[TextPacket], None], lines: Sequence[str],
                 i: int) -> int | None:
    """A hex dump on its own at line ``i`` (tshark -x, Wireshark's 'Copy as Hex Dump'): a
    packet but its time, or one of another protocol; or bytes that are no frame, skipped
    with their label. The next line to read; None when line ``i`` starts neither. (A dump
    below a packet's line was read with it.)"""
    if _DATA_SOURCE.match(lines[i]):
        return _dump_below(out, lines, i + 1, None)
    dump = hex_dump(lines, i)
    if dump is None:
        return None
    p = dumped_packet(dump[1], i + 1)
    if p is not None:
        add(p)
        out.hex_payloads += p.tcp
    else:
        out.other_protocols += 1
        out.not_ip += not holds_ip(dump[1])
        out.seen(TextForm.HEX)
    return dump[0]


def _dump_below(out: TextParse, lines: Sequence[str], i: int,
                p: TextPacket | NonTcp | None) -> int:
    """A hex dump below a packet's line (tcpdump -x; tshark -P -x and -V -x after a blank
    line), read into it; of another packet it is only skipped. Returns the next line to
    read."""
    dump = hex_dump(lines, _bytes_start(lines, i))
    if dump is None:
        return i
    i, raw = dump
    if isinstance(p, TextPacket) and p.tcp:
        tcp = hex_payload(p, raw)
        if tcp is not None:
            _from_dump(p, *tcp)
            out.hex_payloads += 1
    return i


def _from_dump(p: TextPacket, tcp: TcpHeader, payload: bytes) -> None:
    """What a packet's hex dump adds to its line: the payload's first bytes, the TCP
    options (so the header size is known, not assumed) and the sequence number a pure ACK's
    line leaves out (a jump in it shows bytes sent that never arrived; the absolute number
    is told from a relative one as for any line's)."""
    opts = tcp.options
    p.seq = p.seq if p.seq is not None else tcp.seq
    p.content = p.content or payload[:PAYLOAD_PEEK]
    p.options_shown = True
    p.tsopt = opts.timestamps is not None
    p.sack = p.sack or opts.sack_permitted
    p.mss = p.mss if p.mss is not None else opts.mss
    p.wscale = p.wscale if p.wscale is not None else opts.wscale


# 'curl -v' marks what it sends with "> " and what it receives with "< " (a mail quote, too,
# with "> "); its "* Connected to" line names the proxy the heads went to.
_QUOTED = re.compile(r"[<>](?: |$)")
_CURL_CONNECTED = re.compile(r"\*\s+Connected to \S+ \(([0-9A-Fa-f.:]+)\) port (\d{1,5})\b")


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _unquoted(lines: Sequence[str]) -> tuple[Sequence[str], Ends | None]:
    """The lines without curl's (or a mail's) "> "/"< " marks, and the unnamed client's
    connection to the proxy curl says it connected to (the ends of heads without packets).
    Marks are taken off where curl's "< " shows or most lines are quoted, not for one
    prompt ("ciscoasa> show capture")."""
    head = [line for line in lines[:2000] if line.strip()]
    quoted = [line for line in head if _QUOTED.match(line)]
    if not any(line[0] == "<" for line in quoted) and 2 * len(quoted) <= len(head):
        return lines, None
    ends = None   # port 0: the client's port, which curl does not show (textlabel.py)
    for line in lines[:2000]:
        m = _CURL_CONNECTED.match(line)
        if m is not None and 0 < int(m.group(2)) <= 0xFFFF and _is_address(m.group(1)):
            ends = ("client", 0, m.group(1), int(m.group(2)))
            break
    return [line[2:] if _QUOTED.match(line) else line for line in lines], ends


def _tunnelled(lines: Sequence[str], i: int, td: TextPacket | NonTcp
               ) -> tuple[int, TextPacket | NonTcp]:
    """A VXLAN or Geneve packet whose inner frame tcpdump prints on the next line, without a
    time ("... > b.4789: VXLAN, flags [I] (0x08), vni 123" / "IP c > d: ICMP echo ..."): one
    packet, the inner one, at the outer line's time. Else the line's own packet."""
    time_s = tunnel_head_time(lines[i]) if td is NonTcp.IP and i + 1 < len(lines) else None
    if time_s is None:
        return i, td
    j = filled(lines, i + 1)
    inner = tcpdump_line(lines[j], j + 1)
    if inner is None or (isinstance(inner, TextPacket) and inner.ts is not None):
        return i, td
    if isinstance(inner, TextPacket):
        inner.ts = parse_time(time_s)
        return j, inner
    return j, NonTcp.IP     # (an inner ARP frame: still an IP packet on the wire)


def _vhead(lines: Sequence[str], i: int) -> tuple[re.Match[str] | None, int]:
    """tcpdump -v's IP header line at line ``i`` and how many lines it spans: also after
    -e's link header, and when a mail or web page wrapped it after a comma (then the match
    is on both lines joined)."""
    line = lines[i]
    vhead = TD_VHEAD.match(line)
    if vhead is None and line.rstrip().endswith(")"):
        plain = link_vhead(line)     # (tcpdump -e -v: the link header first)
        vhead = TD_VHEAD.match(plain) if plain is not None else None
    if vhead is None and i + 1 < len(lines) and line.rstrip().endswith(","):
        return TD_VHEAD.match(f"{line.rstrip()} {lines[i + 1].strip()}"), 2
    return vhead, 1


def _tcpdump_packet(line: str, lineno: int, pending: tuple[str | None, str | None], head: str
                    ) -> TextPacket | NonTcp | None:
    """``tcpdump_line``, with a DNS query or answer among its other IP packets read as the
    datagram it was (for the DNS notes)."""
    td = tcpdump_line(line, lineno, pending, head=head)
    return (dns_line(line, lineno, pending[0]) or td) if td is NonTcp.IP else td


def _count_other(out: TextParse, td: NonTcp, lineno: int) -> None:
    """A tcpdump line of another protocol, or of TCP whose header it could not print."""
    out.other_protocols += 1
    out.not_ip += td is NonTcp.NOT_IP
    counter = (out.tcp_cut if td is NonTcp.TCP_CUT else out.offloaded
               if td is NonTcp.OFFLOADED else None)
    if counter is not None:
        counter[0] += 1
        counter[1] = counter[1] or lineno
    out.seen(TextForm.TCPDUMP)


class _Packets:
    """Where the parse puts each packet it found (``add``), and the last one whose payload
    lines (an HTTP head below it) may still follow."""

    def __init__(self, out: TextParse, conv: _Conversations) -> None:
        self.out, self.conv = out, conv
        self.attach_to: TextPacket | None = None

    def add(self, p: TextPacket) -> None:
        if p.form is TextForm.DETAIL and _detail_of_listed(self.out.packets, p):
            self.out.seen(p.form)
            return
        self.out.packets.append(p)
        self.out.seen(p.form)
        if p.tcp:
            self.conv.add(p)
            self.attach_to = p if p.length and not p.content else None


class _Asking:
    """``keep_going(line, lines)`` asked every CHECK_EVERY lines (a text of 64 MiB takes
    seconds: progress, and Ctrl-C that keeps what was parsed); ``stop`` once it says no."""

    def __init__(self, keep_going: Callable[[int, int], bool] | None, out: TextParse,
                 lines: int) -> None:
        self.keep_going, self.out, self.lines, self.next = keep_going, out, lines, 0

    def stop(self, i: int) -> bool:
        if self.keep_going is None or i < self.next:
            return False
        self.next = i + CHECK_EVERY
        if self.keep_going(i, self.lines):
            return False
        self.out.stopped_at = i + 1     # (the lines from this one on are not read)
        return True


def parse_text(lines: Sequence[str],
               keep_going: Callable[[int, int], bool] | None = None) -> TextParse:
    """Every packet the text shows, in order, with the line it is on (from 1);
    ``keep_going``: ``_Asking``."""
    out, conv, programs = TextParse(lines=len(lines)), _Conversations(), _Programs()
    lines, conv.unnamed = _unquoted(lines)
    lines, starts = unwrapped(unnumbered(lines))
    packets, asking = _Packets(out, conv), _Asking(keep_going, out, len(lines))
    add = packets.add
    pending: tuple[str | None, str | None] = (None, None)
    ip_head, i = "", 0      # (the -v IP header line pending is from)
    while i < len(lines):
        if asking.stop(i):
            break
        line, lineno = lines[i], i + 1
        if ignorable(line) or line.lstrip().startswith("#") or _NOISE.match(line):
            i += 1
            continue
        after = _bytes_alone(out, add, lines, i)
        if after is not None:
            i = after
            continue
        vhead, span = _vhead(lines, i)
        if vhead is not None:
            pending, ip_head = (vhead.group("time"), vhead.group("fam")), vhead.string
            i += span
            continue
        link_head = cisco_link_head(line)
        if link_head is not None:
            pending, ip_head, i = link_head, "", i + 1
            continue
        td = _tcpdump_packet(line, lineno, pending, ip_head)
        pending, ip_head = (None, None), ""
        if td is not None:
            i, td = _tunnelled(lines, i, td)
            i = _lines_below(out, lines, i + 1, td)
            if isinstance(td, TextPacket):
                add(td)
            else:
                _count_other(out, td, lineno)
            continue
        if block_start(line):
            i = _detail_at(out, add, lines, i)
            continue
        row = packet_list_row(line, lineno)
        if row is not None:
            dumped, after = _row_bytes(lines, i + 1, row, line)   # (tshark -P -x)
            p = dumped if dumped is not None else _listed(out, conv, row, line, lineno)
            if p is not None:
                add(p)
            out.hex_payloads += dumped is not None and dumped.tcp
            i = after if dumped is not None else _dump_below(out, lines, i + 1, p)
            continue
        head = http_head(lines, i)
        if head is not None:
            i, kind, body = head
            if packets.attach_to is not None:
                packets.attach_to.content = body
                packets.attach_to = None
            else:
                _standalone(out, conv, lineno, kind == "request", body)
            continue
        i += 1
        pinged = programs.feed(line, lineno)
        if pinged is None:
            out.unparsed += 1
            out.first_unparsed = out.first_unparsed or lineno
        for p in pinged or ():
            add(p)
    for p in programs.close(len(lines)):
        add(p)
    programs.finish(out)
    return _first_lines(out, starts)


def _first_lines(out: TextParse, starts: dict[int, int]) -> TextParse:
    """A packet whose line was broken over several cites the first of them."""
    for p in out.packets if starts else ():
        p.line = starts.get(p.line, p.line)
        if p.quoted is not None:
            p.quoted.line = starts.get(p.quoted.line, p.quoted.line)
    return out


class _Programs:
    """The output of the programs engineers run by hand and paste with their captures:
    ping's, tracepath's and traceroute's."""

    def __init__(self) -> None:
        self.ping, self.trace, self.route = PingOutput(), TraceOutput(), RouteOutput()

    def feed(self, line: str, lineno: int) -> list[TextPacket] | None:
        got = self.ping.feed(line, lineno)
        got = got if got is not None else self.trace.feed(line, lineno)
        return got if got is not None else self.route.feed(line, lineno)

    def close(self, lineno: int) -> list[TextPacket]:
        return [*self.ping.close(lineno), *self.trace.close(), *self.route.close()]

    def finish(self, out: TextParse) -> None:
        self.ping.finish(out)
        self.trace.finish(out)
        self.route.finish(out)
        shown = len(out.packets)
        out.packets = quote_probes(out.packets)
        out.other_protocols += shown - len(out.packets)   # (answers to nothing shown)


def _listed(out: TextParse, conv: _Conversations, row: tuple[TextPacket | None, str, str, str],
            line: str, lineno: int) -> TextPacket | None:
    """A packet-list row's packet (counting a guess at its ports), or None when it is of
    another protocol (counted)."""
    p = _row_packet(row, line, lineno, conv)
    if p is None:
        out.other_protocols += 1
        out.not_ip += row_without_ip(line)
        out.seen(TextForm.PACKET_LIST)
    elif row[0] is None and conv.ambiguous(p.src, p.dst, lineno, p.ts):
        out.ambiguous += 1
        out.first_ambiguous = out.first_ambiguous or lineno
    return p


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
    unnamed client and proxy when the text shows no packet), with its text's length. An
    answer before any packet or request answers nothing the text shows: only counted."""
    ends = conv.last
    if ends is None and not request:   # an answer to nothing the text shows: no connection
        out.http_orphans += 1
        out.first_orphan = out.first_orphan or lineno
        return
    if ends is None:   # heads only (curl -v): an unnamed client, the proxy curl names or not;
        ends = conv.unnamed or ("client", 0, "proxy", 0)   # port 0: not shown (textlabel)
        conv.client[frozenset(((ends[0], ends[1]), (ends[2], ends[3])))] = ("client", 0)
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
