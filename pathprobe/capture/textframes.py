"""Capture text -> the raw IP frames the reader yields, and the report's words about text.

Why frames and not a second tracker: the packets of a text go through the same
reader loop, tracker and rules as a pcap's, so a verdict means the same from
either (issue 20 item 6). Each packet becomes an IPv4/IPv6 + TCP header with the
options the line shows and, as its captured payload, only the bytes the text
spells out (an HTTP head, a TLS hello); the IP length says how long it was.

What the text does not show is filled in and said: a missing sequence number is
the next byte in order, a missing length comes from Wireshark's Length column,
names get stand-in addresses (240.0.0.0/4, 100::/64) that the report turns back
into the names.
"""

from __future__ import annotations

import dataclasses
import socket
import struct
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pathprobe.capture.conn import LARGE_PAYLOAD
from pathprobe.capture.linklayer import LINKTYPE_RAW, LINKTYPE_TEXT_BREAK, Frame, on_interface
from pathprobe.capture.text import parse_text
from pathprobe.capture.textdecode import decode_text
from pathprobe.capture.textdetail import stream_times
from pathprobe.capture.texticmp import (
    Sent,
    df_unshown,
    echo_bytes,
    error_bytes,
    marked_df_unshown,
    ping_ip_len,
    pings_df_unshown,
    too_big_bytes,
    udp_bytes,
    unquoted,
)
from pathprobe.capture.textlabel import Relabel
from pathprobe.capture.textpacket import (
    Echo,
    TextForm,
    TextPacket,
    TextParse,
    deltas_to_times,
    proxy_port_syn,
    sized_hello,
)
from pathprobe.capture.textping import ping_notes, ping_told
from pathprobe.capture.textrefuse import no_packet_error
from pathprobe.capture.texttrace import TRACE_FORMS, trace_notes, trace_told
from pathprobe.capture.textverdict import firewall_dropped, rst_untimed, untimed_healthy
from pathprobe.errors import CaptureError
from pathprobe.facts.capture import CaptureFact
from pathprobe.facts.text import TextFact
from pathprobe.model import Evidence, Leg, Number, Step, Verdict
from pathprobe.wire.headers import TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN
from pathprobe.wire.hostport import host_port

if TYPE_CHECKING:
    from pathprobe.capture.analysis import Analysis

MASK = 0xFFFFFFFF
HALF = 1 << 31
SMALL_BASE = 1 << 16      # sequence bases below this: the first number decides relative or not
DEFAULT_LINK_HEADER = 14  # Ethernet, when no row tells otherwise
TEXT_MAX = 64 << 20       # bytes of text read; more is no paste
ENDS_UNACKED_MAX = 3
# Out-of-order lines within a snippet (capture points, copy order) move back this little.
SNIPPET_SLACK = 1.0
DAY = 86400.0


@dataclass
class _Side:
    """One direction of a connection in the text: its sequence base and progress."""

    base: int | None = None
    next: int | None = None
    acked: int | None = None
    last_seg: tuple[int, int] | None = None          # (seq, length) of the last data
    last_data: tuple[int, int, str] | None = None    # (line, length, sender)
    end_line: int = 0                                # last FIN or RST either way
    relative: bool | None = None    # (a small base) are numbers shown relative to it?


@dataclass
class TextInfo:
    """What reading a text taught, for the report (``ReadStats.text``)."""

    file: str
    parse: TextParse
    names: dict[str, str] = field(default_factory=dict)   # stand-in address -> name
    link_header: int = DEFAULT_LINK_HEADER
    seq_inferred: list[int] = field(default_factory=list)       # [count, first line]
    length_estimated: list[int] = field(default_factory=list)
    sizes_assumed: list[int] = field(default_factory=list)
    no_time: list[int] = field(default_factory=list)
    time_outliers: list[int] = field(default_factory=list)
    unacked: list[tuple[int, int, str]] = field(default_factory=list)
    icmp_unquoted: list[int] = field(default_factory=list)
    # ICMP error lines without their quote -> whether a packet that could have drawn it
    # (larger than the MTU named) was taken as the one it answers, or none was known
    icmp_assumed: dict[int, bool] = field(default_factory=dict)
    icmp_quoted_dst: dict[int, str] = field(default_factory=dict)  # error line -> quote to
    ping_size_estimated: list[int] = field(default_factory=list)


def _lines_of(packets: Sequence[TextPacket]) -> list[int]:
    """[count, first line] of some packets, as the counters of ``TextInfo`` hold them."""
    return [len(packets), packets[0].line] if packets else []


def _count(counter: list[int], line: int) -> None:
    if counter:
        counter[0] += 1
    else:
        counter.extend((1, line))


class _Addresses:
    """Addresses as packed bytes; names get stand-in addresses remembered for the report."""

    def __init__(self, names: dict[str, str]) -> None:
        self.names = names
        self.packed: dict[tuple[str, int], tuple[int, bytes]] = {}

    @staticmethod
    def literal(text: str) -> tuple[int, bytes] | None:
        for family, af in ((6, socket.AF_INET6), (4, socket.AF_INET)):
            try:
                return family, socket.inet_pton(af, text.strip("[]"))
            except (OSError, ValueError):
                continue
        return None

    def get(self, text: str, family: int) -> tuple[int, bytes]:
        known = self.packed.get((text, family))
        if known is not None:
            return known
        found = self.literal(text)
        if found is None:
            n = len(self.names) + 1
            if family == 6:
                stand_in = f"100::{n:x}"
                found = 6, socket.inet_pton(socket.AF_INET6, stand_in)
            else:
                stand_in = f"240.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"
                found = 4, socket.inet_pton(socket.AF_INET, stand_in)
            self.names[stand_in] = text
        self.packed[(text, family)] = found
        return found

    def pair(self, p: TextPacket) -> tuple[int, bytes, bytes]:
        family = p.family
        if not family:
            lit = self.literal(p.src) or self.literal(p.dst)
            family = lit[0] if lit is not None else 4
        fs, src = self.get(p.src, family)
        fd, dst = self.get(p.dst, family)
        if fs != fd:   # one literal of the other family: the name follows the literal
            fs, src = self.get(p.src, fd) if self.literal(p.src) is None else (fs, src)
            fd, dst = self.get(p.dst, fs) if self.literal(p.dst) is None else (fd, dst)
        return fs, src, dst


def _dist(a: int, b: int) -> int:
    d = (a - b) & MASK
    return min(d, (1 << 32) - d)


def _resolve(side: _Side, value: int) -> int:
    """A shown sequence number as an absolute one: tcpdump prints the first packet of a
    connection absolute and later ones relative to it (unless -S); take whichever reading
    lies nearer to where the connection is. A small base (an ISN below 65536: Wireshark's
    relative 0, a crafted trace's) puts both readings close together, where one lost
    segment can tip the choice: the first number after it decides for the whole side."""
    base = side.base
    if base is None or base == 0:
        return value
    expected = side.next if side.next is not None else base
    rel = (base + value) & MASK
    if base < SMALL_BASE:
        if side.relative is None:
            side.relative = _dist(rel, expected) < _dist(value, expected)
        return rel if side.relative else value
    return rel if _dist(rel, expected) < _dist(value, expected) else value


def _seq(s: _Side, p: TextPacket, length: int, info: TextInfo) -> int:
    syn_fin = (1 if p.flags & TCP_SYN else 0) + (1 if p.flags & TCP_FIN else 0)
    if p.seq is not None and p.flags & TCP_SYN:
        s.base = seq = p.seq
    elif p.seq is not None:
        if s.base is None:
            s.base = p.seq
        seq = _resolve(s, p.seq)
    else:
        if p.retx_mark and s.last_seg is not None:
            seq = s.last_seg[0]
        elif s.next is not None:
            seq = s.next
        else:
            s.base, seq = 0, 0 if p.flags & TCP_SYN else 1
        if length or syn_fin:
            _count(info.seq_inferred, p.line)
    end = (seq + length + syn_fin) & MASK
    if s.next is None or (end - s.next) & MASK < HALF:
        s.next = end
    if length:
        s.last_seg = (seq, length)
        s.last_data = (p.line, length, host_port(p.src, p.sport))
    return seq


def _ack(o: _Side, value: int) -> int:
    if o.base is None:
        o.base, o.next = (value - 1) & MASK, value
        return value
    return _resolve(o, value)


def link_header(packets: Sequence[TextPacket]) -> int:
    """Link-header bytes in Wireshark's Length column, learned from rows that show both it
    and the TCP length (most common value; Ethernet when none does). A row of no payload
    counts when its frame is longer than Ethernet's 60-byte minimum (else it is padded)."""
    seen: Counter[int] = Counter()
    for p in packets:
        if p.frame_len is not None and p.length is not None and p.options_shown \
                and (p.length or p.frame_len > 60) and not p.flags & TCP_SYN:
            ip = 40 if ":" in p.src else 20
            v = p.frame_len - p.length - ip - 20 - (12 if p.tsopt else 0)
            if 0 <= v <= 64:
                seen[v] += 1
    return seen.most_common(1)[0][0] if seen else DEFAULT_LINK_HEADER


def _options(p: TextPacket) -> bytes:
    out = b""
    if p.mss is not None:
        out += struct.pack("!BBH", 2, 4, p.mss & 0xFFFF)
    if p.sack:
        out += b"\x04\x02"
    if p.tsopt:
        out += b"\x08\x0a" + bytes(8)
    if p.wscale is not None:
        out += bytes((3, 3, p.wscale & 0xFF))
    return b"\x01" * (-len(out) % 4) + out


def packet_bytes(family: int, src: bytes, dst: bytes, p: TextPacket, seq: int, ack: int,
                 flags: int, length: int) -> tuple[bytes, int]:
    """(IP + TCP headers + the payload bytes the text spells out, IP total length)."""
    opts = _options(p)
    thl = 20 + len(opts)
    total = min((20 if family == 4 else 40) + thl + length, 0xFFFF)
    window = 0xFFFF if p.window is None else min(p.window, 0xFFFF)   # (scaled in rows)
    tcp = struct.pack("!HHIIBBHHH", p.sport, p.dport, seq, ack, (thl // 4) << 4, flags,
                      window, 0, 0) + opts
    if family == 4:
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, 0, 0x4000, 64, 6, 0, src, dst)
    else:
        ip = struct.pack("!IHBB16s16s", 6 << 28, total - 40, 6, 64, src, dst)
    return ip + tcp + p.content[:length], total


def _length(p: TextPacket, info: TextInfo, ts_conns: set[frozenset[tuple[str, int]]]) -> int:
    if p.length is not None:
        return p.length
    if p.frame_len is not None:
        ip = 40 if ":" in p.src else 20
        _count(info.length_estimated, p.line)
        return max(0, p.frame_len - info.link_header - ip - 20 - (12 if p.tsopt else 0))
    return len(p.content)


def text_frames(info: TextInfo) -> Iterator[Frame]:
    """Each packet of the text as a raw IP frame numbered by its line."""
    packets = info.parse.packets
    info.link_header = link_header(packets)
    deltas_to_times(packets)
    stream_times(packets)
    _settle_outliers(packets, info)
    addresses = _Addresses(info.names)
    sides: dict[tuple[str, int, str, int], _Side] = {}
    ts_conns: set[frozenset[tuple[str, int]]] = set()
    clock = _Clock()
    syn_ts: dict[frozenset[tuple[str, int]], int] = {}
    sent: dict[str, Sent] = {}    # by sender, and by "sender>receiver"
    ifaces: dict[str, int] = {}
    for p in packets:
        ts = clock.at(p, info)
        if clock.broke:     # what was open in the last snippet was seen until its end
            yield p.line, ts, LINKTYPE_TEXT_BREAK, b"", 0
        if p.icmp_mtu is not None:
            family, router, to = addresses.pair(p)
            data = too_big_bytes(p, family, router, to, addresses.get, sent, info.icmp_unquoted,
                                 info.icmp_assumed, info.icmp_quoted_dst)
            yield p.line, ts, LINKTYPE_RAW, data, len(data)
            continue
        if p.udp or p.icmp_kind is not None:     # probes and the answers to them
            family, src, dst = addresses.pair(p)
            data = (udp_bytes(p, family, src, dst) + p.content if p.icmp_kind is None
                    else error_bytes(p, p.icmp_kind, family, src, dst, addresses.get))
            if p.udp:
                sent[p.src] = sent[f"{p.src}>{p.dst}"] = Sent(p.dst, p.sport, p.dport,
                                                              p.ip_len or 0, udp=True)
            yield p.line, ts, LINKTYPE_RAW, data, max(len(data), p.ip_len or 0)
            continue
        if p.echo is not None:
            frame = _ping_frame(p, p.echo, addresses, info, sent)
            if frame is not None:
                yield p.line, ts, LINKTYPE_RAW, frame[0], frame[1]
            continue
        conn = frozenset(((p.src, p.sport), (p.dst, p.dport)))
        if p.flags & TCP_SYN:
            syn_ts[conn] = syn_ts.get(conn, 0) | (1 << bool(p.flags & TCP_ACK)) * p.tsopt
            if syn_ts[conn] == 3:
                ts_conns.add(conn)
        elif not p.options_shown and conn in ts_conns:
            # Both SYNs carried timestamps: then every segment does (RFC 7323), whether
            # or not the line shows them.
            p.tsopt = p.options_shown = True
        if p.flags & TCP_SYN and not p.flags & TCP_ACK:   # a new connection on these ports
            sides[(p.src, p.sport, p.dst, p.dport)] = _Side()
            sides[(p.dst, p.dport, p.src, p.sport)] = _Side()
        s = sides.setdefault((p.src, p.sport, p.dst, p.dport), _Side())
        o = sides.setdefault((p.dst, p.dport, p.src, p.sport), _Side())
        length = _length(p, info, ts_conns)
        if length and not p.options_shown:
            _count(info.sizes_assumed, p.line)
        seq = _seq(s, p, length, info)
        flags, ack = p.flags, 0
        if p.ack is not None and flags & TCP_ACK:
            ack = _ack(o, p.ack)
            if o.acked is None or (ack - o.acked) & MASK < HALF:
                o.acked = ack
        elif flags & TCP_ACK and flags & TCP_SYN:
            ack = o.next or 0          # a SYN-ACK whose ack the text left out
        else:
            flags &= ~TCP_ACK          # an ACK flag without a number proves nothing
        if flags & (TCP_FIN | TCP_RST):
            s.end_line = o.end_line = p.line
        family, src, dst = addresses.pair(p)
        p.content = sized_hello(p.content, length)
        data, total = packet_bytes(family, src, dst, p, seq, ack, flags, length)
        sent[p.src] = sent[f"{p.src}>{p.dst}"] = Sent(p.dst, p.sport, p.dport, total)
        # (the interface 'tcpdump -i any' names: a packet on two is one seen twice)
        link, data = (LINKTYPE_RAW, data) if not p.iface else on_interface(
            ifaces.setdefault(p.iface, len(ifaces) + 1), family, data)
        yield p.line, ts, link, data, total
    info.unacked = _ends_unacked(sides)


def _ping_frame(p: TextPacket, echo: Echo, addresses: _Addresses, info: TextInfo,
                sent: dict[str, Sent]) -> tuple[bytes, int] | None:
    """A ping line as an IP frame (bytes, IP length), noted where its size came from a row's
    Length; None when its size is unknown."""
    ip_len = ping_ip_len(p, info.link_header)
    if ip_len is None:
        return None
    if p.ip_len is None:
        _count(info.ping_size_estimated, p.line)
    family, src, dst = addresses.pair(p)
    if echo.request:
        sent[p.src] = sent[f"{p.src}>{p.dst}"] = Sent(p.dst, 0, 0, ip_len, echo)
    data = echo_bytes(p, echo, family, src, dst, ip_len)
    return data, max(ip_len, len(data))


def _settle_outliers(packets: Sequence[TextPacket], info: TextInfo) -> None:
    """A line whose time is more than a day from both neighbours' while they agree (test
    captures hold such crafted times) takes the time of the line before: it starts no
    snippet of its own, which would cut its connection in two."""
    timed = [(p, p.ts) for p in packets if p.ts is not None]
    for (_b, before), (p, ts), (_a, after) in zip(timed, timed[1:], timed[2:]):
        if abs(ts - before) > DAY and abs(after - before) <= SNIPPET_SLACK:
            p.ts = before
            _count(info.time_outliers, p.line)


class _Clock:
    """Capture time from the lines' times: days added past midnight, the last time kept
    for lines without one (and counted).

    A paste often joins snippets printed with different clocks (relative seconds, time of
    day, full dates): a time that jumps back, or more than a day ahead, starts a new
    snippet, whose times continue from the last one, so capture time never runs backwards;
    ``broke`` tells the frame maker, which ends the last snippet's connections there (a
    snippet that stops is no connection that stalls)."""

    def __init__(self) -> None:
        self.ts = 0.0
        self.offset = 0.0
        self.started = False
        self.broke = False

    def at(self, p: TextPacket, info: TextInfo) -> float:
        if p.ts is None:
            if p.form is not TextForm.PING and p.form not in TRACE_FORMS:  # (they show none)
                _count(info.no_time, p.line)
            return self.ts
        self.broke = False
        t = p.ts + self.offset
        if self.started and t < self.ts - DAY / 2 and p.ts < DAY:   # past midnight
            self.offset += DAY
            t += DAY
        if self.started and (t < self.ts - SNIPPET_SLACK or t > self.ts + DAY):
            self.offset += self.ts - t      # another snippet, another clock
            t = self.ts
            self.broke = True
        self.ts, self.started = t, True
        return self.ts


def _ends_unacked(sides: Mapping[tuple[str, int, str, int], _Side]) -> list[tuple[int, int, str]]:
    """The last data of each connection, when large and nothing acknowledged, reset or
    closed it before the text ends (then the text cannot say what followed)."""
    out = []
    for (a, ap, b, bp), s in sides.items():
        o = sides.get((b, bp, a, ap))
        last = s.last_data
        if last is None or last[1] <= LARGE_PAYLOAD or s.next is None or s.end_line > last[0]:
            continue
        if o is not None and o.last_data is not None and o.last_data[0] > last[0]:
            continue   # the other side spoke last
        if s.acked is None or 0 < (s.next - s.acked) & MASK < HALF:
            out.append(last)
    return sorted(out)[:ENDS_UNACKED_MAX]


def open_text(path_name: str, data: bytes,
              keep_going: Callable[[int, int], bool] | None = None) -> TextInfo:
    """Parse a capture text; CaptureError (bad input, exit 2) when it shows no packet
    (but where ``keep_going`` ended the parse: ``parse_text``)."""
    if len(data) > TEXT_MAX:
        raise CaptureError(f"{path_name}: a text of over {TEXT_MAX >> 20} MiB is no pasted "
                         "capture; save the capture as pcap ('tcpdump -w FILE')")
    lines = decode_text(data)
    parsed = parse_text(lines, keep_going)
    error = no_packet_error(path_name, lines, parsed) if parsed.stopped_at is None else None
    if error is not None:
        raise CaptureError(error)
    return TextInfo(path_name, parsed)


# --- the report ------------------------------------------------------------------------

def _ev(fact: TextFact, frame: int | None = None, /, **values: Number) -> Evidence:
    if frame is None:
        return Evidence(fact, Step.CAPTURE, values)
    return Evidence(fact, Step.CAPTURE, {"frame": frame, **values}, (frame,))


def text_notes(info: TextInfo, chosen: int, total: int) -> list[Evidence]:
    """What the text showed and what it could not prove, as typed notes."""
    parse = info.parse
    forms = ", ".join(f.value for f in TextForm if f in parse.forms)
    notes = [_ev(TextFact.TEXT_READ, file=info.file, forms=forms,
                 packets=len(parse.packets) + parse.other_protocols,
                 lines=parse.lines, chosen=chosen, total=total),
             _ev(TextFact.HEX_PAYLOAD, count=parse.hex_payloads) if parse.hex_payloads
             else _ev(TextFact.NO_PAYLOAD),
             _ev(TextFact.LOSS_UNKNOWN, marks=sum(p.retx_mark for p in parse.packets))]
    if not any(p.tcp for p in parse.packets):
        del notes[1:]     # (what text cannot show of TCP: no news for pings and probes)
    for fact, counter in ((TextFact.SEQ_INFERRED, info.seq_inferred),
                          (TextFact.LENGTH_ESTIMATED, info.length_estimated),
                          (TextFact.SIZES_ASSUMED, info.sizes_assumed),
                          (TextFact.NO_TIMES, info.no_time),
                          (TextFact.TIME_OUTLIERS, info.time_outliers),
                          (TextFact.ICMP_UNQUOTED, info.icmp_unquoted),
                          (TextFact.OFFLOAD_UNPRINTED, parse.offloaded),
                          (TextFact.PING_DF_UNSHOWN, _lines_of([
                              p for p in pings_df_unshown(parse.packets, info.link_header)
                              if p.form is not TextForm.PING])),
                          (TextFact.PING_SIZE_ESTIMATED, info.ping_size_estimated)):
        if counter and counter[0]:   # (empty, or [0, 0] for the parser's own counters)
            extra: dict[str, Number] = ({"overhead": info.link_header} if fact in (
                TextFact.LENGTH_ESTIMATED, TextFact.PING_SIZE_ESTIMATED) else {})
            notes.append(_ev(fact, count=counter[0], line=counter[1], **extra))
    notes += ping_notes(parse) + trace_notes(parse)
    if parse.http_standalone:
        notes.append(_ev(TextFact.HTTP_STANDALONE, count=parse.http_standalone,
                         line=parse.first_standalone))
    if parse.http_orphans:
        notes.append(_ev(TextFact.HTTP_ORPHAN, count=parse.http_orphans, line=parse.first_orphan))
    if parse.ambiguous:
        notes.append(_ev(TextFact.ROWS_AMBIGUOUS, count=parse.ambiguous,
                         line=parse.first_ambiguous))
    if parse.unparsed:
        notes.append(_ev(TextFact.UNPARSED, count=parse.unparsed, line=parse.first_unparsed))
    dropped = [p for p in parse.packets if p.drop_reason]
    if dropped:
        notes.append(_ev(TextFact.FIREWALL_DROPS, count=len(dropped), line=dropped[0].line,
                         reason=dropped[0].drop_reason))
    for line, payload, sender in info.unacked:
        notes.append(_ev(TextFact.ENDS_UNACKED, line, payload=payload, sender=sender))
    return notes


def _icmp_told(v: Verdict, info: TextInfo, pings: Sequence[TextPacket]) -> Verdict:
    """What the text hid of the ICMP a verdict rests on: quotes, pings' DF flags (``pings``:
    those whose DF it does not show)."""
    packets = info.parse.packets
    rows = {p.line for p in packets if p.form is TextForm.PACKET_LIST and p.icmp_mtu == 0}
    v = unquoted(v, info.icmp_assumed, rows)
    lines = {p.line for p in pings}
    v = df_unshown(v, lines, {p.dst for p in pings}, info.icmp_quoted_dst,
                   any(p.form is TextForm.PING for p in pings))
    v = dataclasses.replace(v, evidence=tuple(marked_df_unshown(e, lines) for e in v.evidence))
    return trace_told(ping_told(v, packets), packets)


def as_text_analysis(analysis: Analysis) -> Analysis:
    """The analysis of a text, told as such: the notes of ``text_notes`` instead of the
    capture-read line, names instead of stand-in addresses, 'line' instead of 'frame', and
    no Wireshark filters (they would cite line numbers as frame numbers)."""
    info = analysis.stats.text
    if info is None:
        return analysis
    relabel = Relabel(info.names)
    m = analysis.measurement
    pings = pings_df_unshown(info.parse.packets, info.link_header)
    unshown = {p.line for p in pings}
    # (bytes in 'IP bad-len 0' lines were sent before offload, not lost: OFFLOAD_UNPRINTED)
    unsaid = {CaptureFact.CAPTURE_READ} | ({CaptureFact.CAPTURE_LOSS} if info.parse.offloaded[0]
                                           else set())
    kept = [relabel.evidence(marked_df_unshown(n, unshown)) for n in m.notes
            if n.fact not in unsaid]
    notes = [relabel.evidence(n) for n in text_notes(info, analysis.connections,
                                                     analysis.tcp_connections)]
    proxy = proxy_port_syn(info.parse.packets, info.names)
    if proxy is not None and {r.name for r in m.legs} | {v.leg for v in m.verdicts} \
            == {Leg.FMC_UPSTREAM}:   # (no CONNECT line and no --proxy: all of it 'direct')
        notes.append(_ev(TextFact.PROXY_UNSEEN, proxy.line, server=proxy.dst, port=proxy.dport))
    dropped = {p.line: p.drop_reason for p in info.parse.packets if p.drop_reason}
    untimed = {p.line for p in info.parse.packets if p.ts is None}
    untimed_tcp = [p.line for p in info.parse.packets if p.ts is None and p.tcp and p.length]
    measurement = dataclasses.replace(
        m, legs=tuple(relabel.leg(leg) for leg in m.legs),
        verdicts=tuple(untimed_healthy(_icmp_told(rst_untimed(firewall_dropped(
            relabel.verdict(v), dropped), untimed), info, pings), untimed_tcp)
            for v in m.verdicts),
        notes=(*notes, *kept))
    targets = {leg: relabel.text(t) for leg, t in analysis.targets.items()}
    return dataclasses.replace(analysis, measurement=measurement, targets=targets)
