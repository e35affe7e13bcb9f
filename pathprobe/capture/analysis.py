"""Read a capture and analyse it: the one place where file reading meets the pure core.

The per-packet loop is the hot path of ``analyze`` (500k+ packets): it finds
the IP header for the link type, filters early on the raw bytes (protocol,
then addresses/ports when the user gave filters) and only then calls the
shared parsers of ``pathprobe.wire.headers``; payload bytes are sliced only
when a connection is waiting for a CONNECT, an HTTP answer or a TLS hello.
"""

from __future__ import annotations

import gc
import socket
import struct
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from pathprobe.capture.advice import recommendations
from pathprobe.capture.collector import Collector, Filters
from pathprobe.capture.conn import Conn, Key, key_parts, pack_key
from pathprobe.capture.correlate import SegmentLog
from pathprobe.capture.dns import DnsLog, dns_notes
from pathprobe.capture.finding import Finding, ev
from pathprobe.capture.icmp import ECHO_REPLY, IcmpLog, icmp_findings, icmp_notes
from pathprobe.capture.inflight import delivered as _delivered
from pathprobe.capture.linklayer import (
    LINKTYPE_ETHERNET,
    LINKTYPE_PPP_ETHER,
    LINKTYPE_TEXT_BREAK,
    inner_ip,
    ip_offset,
    pppoe_ip_limit,
)
from pathprobe.capture.overall import overall_notes
from pathprobe.capture.reader import (
    ReadStats,
    no_ip_error,
    note_not_ip,
    read_batches,
    unsupported_only_error,
)
from pathprobe.capture.reading import Reading
from pathprobe.capture.rules import DEFAULT_STALL_S
from pathprobe.capture.timeline import (
    PAUSES_MAX,
    SWEEP_EVERY,
    batch_pauses,
    next_sweep,
    sweep_aligned,
)
from pathprobe.capture.tracker import MAX_CONNECTIONS, Tracker
from pathprobe.errors import CaptureUnreadable
from pathprobe.facts.capture import CaptureFact
from pathprobe.interrupts import stop_on_interrupt
from pathprobe.model import (
    Confidence,
    Evidence,
    Leg,
    Measurement,
    Recommendation,
    Verdict,
    healthy_unless,
)
from pathprobe.wire.headers import (
    PROTO_ICMP,
    PROTO_ICMP6,
    PROTO_TCP,
    PROTO_UDP,
    TCP_SYN,
    IpHeader,
    parse_icmp_error,
    parse_ip,
    parse_tcp,
    parse_tcp_options,
    tcp_payload_length,
)

SIZES_CROSSED = (CaptureFact.PING_ANSWERED, CaptureFact.PROBE_REACHED)   # ICMP's own health
DNS_PEEK = 300     # bytes of a UDP datagram read for a DNS question (header and one name)


@dataclass(frozen=True)
class Analysis:
    """The outcome: verdicts, one row per connection, and what the reader noticed."""

    measurement: Measurement
    stats: ReadStats
    connections: int
    tcp_connections: int
    # An address per leg as the capture shows it (for the recommendations' commands).
    targets: Mapping[Leg, str] = field(default_factory=dict)

    @property
    def notes(self) -> tuple[Evidence, ...]:
        """What the reader and the analysis noticed besides findings (Report.notes)."""
        return self.measurement.notes

    def recommender(self, verdicts: Sequence[Verdict], targets: Mapping[Leg, str]
                    ) -> tuple[Recommendation, ...]:
        """``recommendations`` with this capture's addresses: pass it as the ``recommender``
        of ``findings.finish`` (the report's rows name the CONNECT target, not an address)."""
        return recommendations(verdicts, {**targets, **self.targets})


# Fast path for the common case (IPv4 without options or fragmentation, IPv6 without
# extension headers, carrying TCP): one struct unpack covers the IP and TCP fixed
# headers, addresses stay packed. The shared parsers of pathprobe.wire.headers build
# two frozen dataclasses and format both addresses per packet, which measured at over
# half of the run time on 500k packets; they still do everything else (SYN options,
# ICMP quotations, IP options, IPv6 extension chains, fragments), and a property test
# checks that both agree on every field used here. Addresses and ports come out as one
# piece, the connection table's key (``conn.Key``).
_V4TCP = struct.Struct("!BxHxxHxBxx12sIIBBH")     # 36 bytes: IPv4 (IHL 5) + TCP to window
_V6TCP = struct.Struct("!4xHBx36sIIBBH")          # 56 bytes: IPv6 + TCP to window
_ETH_V4TCP = struct.Struct("!12xH" + _V4TCP.format[1:])   # 50: Ethernet + _V4TCP

FastTcp = tuple[int, Key, int, int, int, int, int, int, int]


def fast_tcp(data: bytes, off: int) -> FastTcp | None:
    """(family, key, seq, ack, flags, ip_len, payload_off, payload_len, window) for plain
    IPv4/IPv6 TCP at ``off``; None when the slow path must decide.

    The loop in ``track`` inlines this same logic; this function is its reference
    for the tests."""
    n = len(data)
    if n <= off:
        return None
    v = data[off] >> 4
    if v == 4 and n >= off + 40:
        vihl, total, frag, proto, key, seq, ack, doff, flags, win = _V4TCP.unpack_from(data,
                                                                                   off)
        if vihl != 0x45 or proto != PROTO_TCP or frag & 0x3FFF:
            return None
        family, hdr, total = 4, 20, total or n - off    # (0: TSO, as parse_ip reads it)
    elif v == 6 and n >= off + 60:
        plen, nxt, key, seq, ack, doff, flags, win = _V6TCP.unpack_from(data, off)
        if nxt != PROTO_TCP:
            return None
        family, hdr, total = 6, 40, 40 + plen
    else:
        return None
    thl = (doff >> 4) * 4
    if thl < 20:
        return None
    plen = total - hdr - thl
    return family, key, seq, ack, flags, total, off + hdr + thl, plen if plen > 0 else 0, win


# (router address, next-hop MTU, the quoted packet's connection key, its IP length)
FastTooBig = tuple[str, int, Key, int]


def fast_too_big(data: bytes, off: int) -> FastTooBig | None:
    """An ICMP frag-needed / Packet Too Big quoting a TCP packet, read straight from the
    bytes when both IP headers are plain (IPv4 without options or fragmentation, IPv6
    without extension headers, the quotation of the same family); None when ``_slow``'s
    shared parsers must decide. The tracker needs only a table key; the shared parsers
    build five frozen dataclasses for it. A property test checks that both agree."""
    n = len(data)
    if n < off + 40:
        return None
    b0 = data[off]
    if b0 == 0x45:
        icmp = off + 20
        if (data[off + 9] != PROTO_ICMP or data[off + 6] & 0x3F or data[off + 7]
                or data[icmp] != 3 or data[icmp + 1] != 4):
            return None
        mtu = (data[icmp + 6] << 8) | data[icmp + 7]
        q = icmp + 8
        qihl = (data[q] & 0x0F) * 4
        if (data[q] >> 4 != 4 or qihl < 20 or n < q + qihl + 4 or data[q + 9] != PROTO_TCP
                or data[q + 6] & 0x1F or data[q + 7] or not mtu):
            return None
        ports = q + qihl
        return (socket.inet_ntop(socket.AF_INET, data[off + 12:off + 16]), mtu,
                data[q + 12:q + 20] + data[ports:ports + 4],
                (data[q + 2] << 8) | data[q + 3] or n - q)    # (0: as parse_ip reads it)
    if b0 >> 4 == 6:
        icmp = off + 40
        q = icmp + 8
        if (data[off + 6] != PROTO_ICMP6 or n < q + 44 or data[icmp] != 2
                or data[q] >> 4 != 6 or data[q + 6] != PROTO_TCP):
            return None
        mtu = int.from_bytes(data[icmp + 4:icmp + 8], "big")
        if not mtu:
            return None
        ports = q + 40
        return (socket.inet_ntop(socket.AF_INET6, data[off + 8:off + 24]), mtu,
                data[q + 8:q + 40] + data[ports:ports + 4], 40 + ((data[q + 4] << 8) | data[q + 5]))
    return None


def _icmp6_noise(data: bytes, off: int) -> bool:
    """An ICMPv6 informational message other than echo, without extension headers (the
    background of every IPv6 link: neighbour discovery ...): nothing reads them (``IcmpLog``
    keeps errors and echoes), so the shared parsers need not build their dataclasses."""
    return (len(data) >= off + 48 and data[off] >> 4 == 6 and data[off + 6] == PROTO_ICMP6
            and data[off + 40] > ECHO_REPLY[6])


def track(path: Path, filters: Filters, stats: ReadStats,
          on_done: Callable[[Conn], None] | None = None,
          max_connections: int = MAX_CONNECTIONS, tap: SegmentLog | None = None,
          icmp: IcmpLog | None = None, dns: DnsLog | None = None,
          pair_member: int | None = None, reading: Reading | None = None) -> Tracker:
    """Run every frame of the capture (``pair_member``: that one of an archive's two)
    through the tracker (the hot loop); ``tap``, when given, also sees every TCP segment
    (two-capture matching, ``correlate.SegmentLog``); ICMP goes to ``icmp``, DNS to
    ``dns``; frames that hold no IP packet are counted in ``stats.not_ip``; ``reading``
    (the command line's): progress, and Ctrl-C that ends the reading between batches."""
    # hot loop: scripts/bench_analyze.py (500k frames; a call per packet or per frame is
    # measurable, so the fast paths of fast_tcp and Tracker.tcp are inlined and it stays whole)
    tracker = Tracker(on_done, max_connections)
    icmp = icmp if icmp is not None else IcmpLog()
    dns = dns if dns is not None else DnsLog()
    if isinstance(on_done, Collector):
        on_done.tracker = tracker
    hosts = {socket.inet_pton(socket.AF_INET6 if ":" in h else socket.AF_INET, h)
             for h in filters.hosts}
    on_tcp, on_ack, on_data = tracker.tcp, tracker._ack, tracker._data
    table_get = tracker.table.get
    delivered = _delivered
    v4u, v6u, ev4u = _V4TCP.unpack_from, _V6TCP.unpack_from, _ETH_V4TCP.unpack_from
    sweep_at = SWEEP_EVERY + 1
    syn = TCP_SYN
    ts = 0.0
    eth, ipv4 = LINKTYPE_ETHERNET, b"\x08\x00"
    tap_rows = tap.table if tap is not None else {}
    recent = tracker.recent
    if tap is not None:
        tap.recent = recent
    previous: tuple[int, float] | None = None
    batches = sweep_aligned(read_batches(path, stats, pair_member))
    for batch in reading.batches(batches) if reading is not None else batches:
        pauses = batch_pauses(batch, previous)
        if pauses:
            tracker.pauses = (*tracker.pauses, *pauses)[:PAUSES_MAX]
        previous = (batch[-1][0], batch[-1][1])
        recent.push(batch)
        if batch[0][0] >= sweep_at:   # judge idle connections, at a span's first frame
            sweep_at = next_sweep(batch[0][0])
            tracker.capture_end = batch[0][1]
            tracker.evict(batch[0][1])
        for frame, ts, linktype, data, orig in batch:
            # Ethernet, IPv4 without options or fragmentation, TCP: one unpack decides
            if linktype == eth and len(data) >= 54:
                et, vihl, total, frag, proto, key, seq, ack, doff, flags, win = ev4u(data, 0)
                if vihl != 0x45 or et != 0x0800 or proto != PROTO_TCP or frag & 0x3FFF:
                    et = 0
            else:
                et = 0
            if et:
                off, v, hdr = 14, 4, 20
            else:
                if linktype == eth and data[12:14] == ipv4:
                    off = 14
                else:
                    off = ip_offset(linktype, data)
                    if off < 0:
                        if linktype == LINKTYPE_TEXT_BREAK:
                            tracker.end_observation(ts)
                        else:
                            note_not_ip(stats, linktype, data, orig)
                        continue
                # fast_tcp, inlined (a call per packet is measurable here)
                n = len(data)
                if n <= off:   # (nothing of the IP header kept: a snap length)
                    note_not_ip(stats, linktype, data, orig)
                    continue
                v = data[off] >> 4
                if v == 4 and n >= off + 40:
                    vihl, total, frag, proto, key, seq, ack, doff, flags, win = v4u(data, off)
                    if vihl != 0x45 or proto != PROTO_TCP or frag & 0x3FFF:
                        if not _slow(tracker, icmp, dns, frame, ts, data, off, hosts, tap):
                            note_not_ip(stats, linktype, data, orig)
                        continue
                    hdr = 20
                elif v == 6 and n >= off + 60:
                    plen, nxt, key, seq, ack, doff, flags, win = v6u(data, off)
                    if nxt != PROTO_TCP:
                        if not _slow(tracker, icmp, dns, frame, ts, data, off, hosts, tap):
                            note_not_ip(stats, linktype, data, orig)
                        continue
                    hdr, total = 40, 40 + plen
                else:
                    if not _slow(tracker, icmp, dns, frame, ts, data, off, hosts, tap):
                        note_not_ip(stats, linktype, data, orig)
                    continue
                if off > 20 or linktype == LINKTYPE_PPP_ETHER:   # tags, PPPoE: bounded?
                    limit = pppoe_ip_limit(linktype, data, off)
                    if limit is not None and total > limit:
                        total = limit
            if hosts:
                alen = 4 if v == 4 else 16     # the key: source, destination, ports
                if key[:alen] not in hosts and key[alen:2 * alen] not in hosts:
                    tracker.other_hosts += 1
                    continue
            thl = (doff >> 4) * 4
            if thl < 20:
                continue
            start = off + hdr + thl
            plen = total - hdr - thl
            if plen < 0:
                if not total and v == 4:    # sent before segmentation offload (parse_ip)
                    total = len(data) - off
                    plen = max(total - hdr - thl, 0)
                    offloaded = tracker.offloaded
                    offloaded[0] += 1
                    offloaded[1] = offloaded[1] or frame
                else:
                    plen = 0
            if tap is not None:     # SegmentLog's path for in-order plain ACKed segments
                st = tap_rows.get(key)
                if (st is None or flags & 0x17 != 0x10 or st[5] or st[0] is None
                        or (plen and seq != st[3])):
                    if not (plen and tap.copied(key, seq, frame)):   # (not twice)
                        tap(frame, ts, data, off, v, key, seq, ack, flags, plen, start)
                else:   # NEXT, ACK, LAST_SEQ, LAST_FRAME, ACK_FRAME of correlate's row
                    st[4] = ack
                    st[8] = frame
                    if plen:
                        st[3] = (seq + plen) & 0xFFFFFFFF
                        st[6] = seq
                        st[7] = frame
            if not flags & 0x07:     # no SYN, FIN or RST: Tracker.tcp's common case, inlined
                entry = table_get(key)
                if entry is not None:
                    c, d, s, o = entry
                    c.last_frame = frame
                    c.last_ts = ts
                    s.last_seq = seq
                    if not win and s.window != 0:
                        s.zero_since = ts    # its receive window closed
                    s.window = win
                    if flags & 0x10:
                        isn = o.isn
                        if isn is not None:
                            nxt = o.next_seq
                            delta = (ack - isn - nxt) & 0xFFFFFFFF
                            rel = nxt + delta - 0x100000000 if delta >= 0x80000000 \
                                else nxt + delta
                            if o.hole is not None and rel == o.hole[0] \
                                    and not recent.copy_of(o.ack_frame, frame):
                                o.hole_acks += 1   # the receiver says it lacks them
                            if rel > o.acked:
                                o.acked = rel
                                o.ack_frame = frame
                                if o.inflight or o.big_retx:
                                    delivered(o, rel)
                            elif rel == o.acked and o.next_seq > rel \
                                    and not recent.copy_of(o.ack_frame, frame):
                                o.dup_acks += 1   # (not an ACK captured twice)
                                o.ack_frame = frame
                        else:
                            on_ack(c, d, ack, frame)
                    if plen:
                        on_data(c, d, s, frame, ts, seq, plen, total, data, start)
                    continue
            if flags & syn:
                on_tcp(frame, ts, v, key, seq, ack, flags, total, plen, data, start,
                       parse_tcp_options(data[off + hdr + 20:start]), win)
            else:
                on_tcp(frame, ts, v, key, seq, ack, flags, total, plen, data, start, None, win)
    tracker.capture_end = ts
    if tap is not None:
        tap.end_ts = ts
        tap.recent = None    # (the frames read last: not handed over with the log)
    return tracker


@contextmanager
def no_cyclic_gc() -> Iterator[None]:
    """The cyclic garbage collector off for the hot loop: it allocates a tuple or two per
    packet, so collections run constantly and each one walks every live connection (12-20%
    of the run time on 500k packets). Nothing in the loop makes reference cycles (a row of
    ``correlate.SegmentLog`` does, but lives until the end anyway); memory stays bounded
    by reference counting, and the collector is back on when the capture is read."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _tunnelled_tcp(tracker: Tracker, frame: int, ts: float, data: bytes, off: int,
                   hosts: set[bytes], tap: SegmentLog | None) -> bool:
    """Plain TCP inside a tunnel (VXLAN, GRE ...), fed as the fast path feeds it; False when
    the slow path must decide (fragments, options, extension headers, not TCP)."""
    seg = fast_tcp(data, off)
    if seg is None:
        return False
    family, key, seq, ack, flags, total, poff, plen, win = seg
    if hosts and not hosts.intersection(key_parts(key)[:2]):
        tracker.other_hosts += 1
        return True
    options = None
    if flags & TCP_SYN:
        parsed = parse_tcp(memoryview(data)[off + (20 if family == 4 else 40):])
        options = parsed.options if parsed is not None else None
    if tap is not None and not (plen and tap.copied(key, seq, frame)):
        tap(frame, ts, data, off, family, key, seq, ack, flags, plen, poff)
    tracker.tcp(frame, ts, family, key, seq, ack, flags, total, plen, data, poff, options, win)
    return True


def _slow(tracker: Tracker, icmp: IcmpLog, dns: DnsLog, frame: int, ts: float, data: bytes,
          off: int, hosts: set[bytes], tap: SegmentLog | None = None) -> bool:
    """Everything but plain TCP: fragments, ICMP, IPv6 extension headers, tunnels. False
    when the frame holds no IP packet after all."""
    if _icmp6_noise(data, off):
        return True
    too_big = fast_too_big(data, off)
    recent = tracker.recent   # (an ICMP message captured twice counts once: duplicate.py)
    if too_big is not None and (recent.copy_once_seen(frame)
                                or tracker.too_big(frame, ts, *too_big)):
        return True   # claimed by the connection it quotes (else decided below, as ever)
    inner = inner_ip(data, off)
    if inner >= 0:
        off = inner
        if _tunnelled_tcp(tracker, frame, ts, data, off, hosts, tap):
            return True
    mv = memoryview(data)[off:]
    ip = parse_ip(mv)
    if ip is None:
        return False
    if ip.more_fragments or ip.frag_offset:
        tracker.fragment(frame, ip)
        if ip.frag_offset:
            return True
    proto = ip.proto
    af = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
    elsewhere = bool(hosts) and socket.inet_pton(af, ip.src) not in hosts \
        and socket.inet_pton(af, ip.dst) not in hosts     # (--host names neither end)
    if elsewhere and proto == PROTO_TCP:
        tracker.other_hosts += 1
        return True
    if proto == PROTO_TCP:
        tcp = parse_tcp(mv[ip.header_length:])
        if tcp is None and ip.more_fragments:   # (the rest of it is in the next fragment)
            return True
        if tcp is None:   # (a snap length, or a damaged frame)
            cut = tracker.header_cut
            cut[0] += 1
            cut[1] = cut[1] or frame
            return True
        key = pack_key(socket.inet_pton(af, ip.src), socket.inet_pton(af, ip.dst), tcp.sport,
                       tcp.dport)
        start = ip.header_length + tcp.header_length
        length = tcp_payload_length(ip, tcp)
        if tap is not None and not (length and tap.copied(key, tcp.seq, frame)):
            tap(frame, ts, data, off, ip.version, key, tcp.seq, tcp.ack, tcp.flags, length,
                off + start)
        tracker.tcp(frame, ts, ip.version, key, tcp.seq, tcp.ack, tcp.flags, ip.total_length,
                    length, data, off + start, tcp.options, tcp.window)
    elif proto == PROTO_UDP and not elsewhere:
        dns.packet(frame, ts, ip.src, ip.dst, bytes(mv[ip.header_length:][:DNS_PEEK]))
    elif proto in (PROTO_ICMP, PROTO_ICMP6) and not recent.copy_once_seen(frame):
        body = mv[ip.header_length:]
        err = parse_icmp_error(body, ip.version)
        if err is None:
            icmp.echo(frame, ts, ip, body)
        elif (err.frag_needed and err.mtu and err.quoted_ip is not None
                and err.quoted_tcp_ports is not None and err.quoted_ip.proto == PROTO_TCP
                and tracker.too_big(frame, ts, ip.src, err.mtu,
                                    _quoted_key(err.quoted_ip, err.quoted_tcp_ports),
                                    err.quoted_ip.total_length)):
            pass   # claimed by the connection it quotes
        elif not hosts or hosts & _quoted_addrs(err.quoted_ip, ip):
            icmp.error(frame, ip, err)
    return True


def _quoted_key(quoted: IpHeader, ports: tuple[int, int]) -> Key:
    """The table key of a quoted packet, by its own family (a garbled or crafted message
    may quote the other family's packet)."""
    af = socket.AF_INET6 if quoted.version == 6 else socket.AF_INET
    return pack_key(socket.inet_pton(af, quoted.src), socket.inet_pton(af, quoted.dst), *ports)


def _quoted_addrs(quoted: IpHeader | None, ip: IpHeader) -> set[bytes]:
    """The packed addresses an ICMP message concerns (for --host)."""
    af = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
    out = {socket.inet_pton(af, ip.src), socket.inet_pton(af, ip.dst)}
    if quoted is not None:
        qaf = socket.AF_INET6 if quoted.version == 6 else socket.AF_INET
        out |= {socket.inet_pton(qaf, quoted.src), socket.inet_pton(qaf, quoted.dst)}
    return out


def analyze_capture(path: Path, filters: Filters, stall_s: float = DEFAULT_STALL_S,
                    max_rows: int = 200,
                    progress: Callable[[str], None] | None = None,
                    max_connections: int = MAX_CONNECTIONS,
                    tap: SegmentLog | None = None, pair_member: int | None = None,
                    reading_progress: Callable[[str], None] | None = None,
                    stoppable: bool = False) -> Analysis:
    """Read ``path`` (``pair_member``: that one of the two captures in the archive) and say,
    per connection and overall, what went wrong. ``reading_progress``: how far the reading
    got, as it goes; ``stoppable`` (from the command line): Ctrl-C stops the
    reading and what was read is analysed (``stats.stopped``).

    Raises CaptureError (one line, exit status 2) for a file that is no usable capture,
    CaptureUnreadable (exit status 3) when it holds no packets, no IP packet at all, or
    nothing matches the filters: there is then nothing to report."""
    stats = ReadStats()
    t0 = time.monotonic()
    collector = Collector(filters, stall_s, max_rows)
    collector.packets_left_out = lambda: stats.text is not None and stats.text.parse.ambiguous > 0
    icmp, dns = IcmpLog(), DnsLog()
    with no_cyclic_gc(), stop_on_interrupt() if stoppable else nullcontext() as stop:
        reading = Reading(path.name, stats, reading_progress, stop) \
            if reading_progress or stop else None
        tracker = track(path, filters, stats, collector, max_connections, tap, icmp, dns,
                        pair_member, reading)
        tracker.finish()
        collector.close()
    if stats.stopped and not stats.frames:
        raise KeyboardInterrupt   # (stopped before a frame was read: nothing to analyse)
    elapsed = time.monotonic() - t0
    if progress and elapsed >= 2.0:   # only worth saying for big captures
        progress(f"read {stats.frames} frames in {elapsed:.1f} s")
    if stats.frames == 0 and stats.truncated is None:
        raise CaptureUnreadable(f"{path}: the capture holds no packets")
    if not collector.seen and stats.unsupported_frames >= stats.frames > 0:
        raise unsupported_only_error(path, stats)
    if not collector.seen and stats.not_ip and stats.not_ip + stats.unsupported_frames \
            >= stats.frames:
        raise no_ip_error(path, stats)
    icmp_found = icmp_findings(icmp, collector.leg_between)
    if not collector.chosen and not icmp_found and filters.explicit:
        # (without the count of what --host left out, "0 TCP connections" reads as none)
        left_out = (f" ({tracker.other_hosts} TCP packets of other hosts left out)"
                    if tracker.other_hosts else "")
        raise CaptureUnreadable(
            f"{path}: {stats.frames} frames, {collector.seen} TCP connections{left_out}, none "
            "matching --host/--port/--proxy; leave them out to see every connection")
    for f in icmp_found:
        collector.merger.add(f)
        collector.legs.add(f.leg)
    measurement = _measurement(path, stats, collector, tracker, icmp, dns, icmp_found, max_rows)
    analysis = Analysis(measurement, stats, collector.chosen, collector.seen,
                        dict(collector.targets))
    if stats.text is None:
        return analysis
    # A capture read from text is told as such (lines, names, what text cannot prove); the
    # text modules are imported only then (their regexes take a tenth of the start-up).
    from pathprobe.capture.textframes import as_text_analysis
    return as_text_analysis(analysis)


def _measurement(path: Path, stats: ReadStats, collector: Collector, tracker: Tracker,
                 icmp: IcmpLog, dns: DnsLog, icmp_found: list[Finding], max_rows: int
                 ) -> Measurement:
    """The verdicts, the table and the notes of what the reader and analysis noticed."""
    notes = overall_notes(path.name, stats, collector, tracker)
    rows = sorted(collector.problem_rows) + sorted(collector.healthy_rows)
    if max_rows and len(rows) < collector.chosen:
        notes.append(ev(CaptureFact.TABLE_LIMITED, shown=len(rows), chosen=collector.chosen,
                        max_rows=max_rows))
    rows = rows if max_rows else sorted(rows)
    legs = tuple(r for _i, r in rows)
    notes += icmp_notes(icmp, icmp_found)
    notes += dns_notes(dns, tracker.capture_end)
    frags = sum(v[0] for v in tracker.fragments.values())
    if frags:
        notes.append(ev(CaptureFact.FRAGMENTS_SEEN, min(v[1] for v in tracker.fragments.values()),
                        count=frags))
    if tracker.offloaded[0]:
        notes.append(ev(CaptureFact.TSO_LENGTHS, tracker.offloaded[1],
                        count=tracker.offloaded[0]))
    legs_seen = sorted(collector.legs)
    # (what connections said unseen, 'nothing wrong' proves nothing about what they said)
    unseen = [ev(CaptureFact.CONTENT_UNSEEN, tracker.unread_first[0], count=tracker.unread_cut,
                 text=int(stats.text is not None))] if tracker.unread_first else []
    verdicts = healthy_unless(
        collector.merger.verdicts(),
        # no connection at all: no proxy either, so nothing is said about one
        legs_seen[0] if len(legs_seen) == 1 else Leg.FMC_PROXY if legs_seen
        else Leg.FMC_UPSTREAM,
        # (no connection judged, or none with both ends seen (a lone SYN, a one-way
        # capture): nothing wrong seen, but nothing measured either)
        [ev(CaptureFact.NOTHING_WRONG, connections=collector.chosen) if collector.two_way
         else ev(CaptureFact.NOTHING_ANSWERED, connections=collector.chosen)
         if collector.chosen else ev(CaptureFact.NOTHING_JUDGED,   # (pings that crossed?)
                                     icmp=sum(n.fact in SIZES_CROSSED for n in notes)),
         *unseen],
        confidence=Confidence.MEASURED if collector.two_way and not unseen
        else Confidence.INFERRED)
    return Measurement(legs=legs, verdicts=verdicts, notes=tuple(notes))
