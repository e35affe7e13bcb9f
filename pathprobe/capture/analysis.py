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
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from pathprobe.capture.correlate import SegmentLog
from pathprobe.capture.reader import (
    LINKTYPE_ETHERNET,
    ReadStats,
    inner_ip,
    ip_offset,
    no_ip_error,
    note_not_ip,
    read_batches,
)
from pathprobe.capture.rules import (
    DEFAULT_STALL_S,
    Merger,
    conn_findings,
    conn_row,
    ev,
    leg_of,
)
from pathprobe.capture.textframes import as_text_analysis
from pathprobe.capture.tracker import MAX_CONNECTIONS, Conn, Tracker
from pathprobe.errors import CaptureUnreadable
from pathprobe.facts.capture import CaptureFact
from pathprobe.model import (
    Direction,
    Evidence,
    Leg,
    LegReport,
    Measurement,
    Recommendation,
    Verdict,
    VerdictCode,
    healthy_unless,
)
from pathprobe.recommend import recommend
from pathprobe.wire.headers import (
    PROTO_TCP,
    TCP_SYN,
    parse_icmp_error,
    parse_ip,
    parse_tcp,
    parse_tcp_options,
    tcp_payload_length,
)

PROTO_ICMP, PROTO_ICMP6 = 1, 58


@dataclass(frozen=True)
class Filters:
    """Which connections to analyse (design: CONNECTs plus everything to/from --proxy)."""

    hosts: frozenset[str] = frozenset()
    ports: frozenset[int] = frozenset()
    proxy_host: str | None = None
    proxy_port: int | None = None

    @property
    def explicit(self) -> bool:
        return bool(self.hosts or self.ports)

    def wants(self, c: Conn) -> bool:
        if self.explicit:
            host_ok = not self.hosts or c.client in self.hosts or c.server in self.hosts
            port_ok = not self.ports or c.cport in self.ports or c.sport in self.ports
            return host_ok and port_ok
        return bool(c.exchanges) or self.is_proxy(c)

    def is_proxy(self, c: Conn) -> bool:
        if self.proxy_host is None or c.server != self.proxy_host:
            return False
        return self.proxy_port is None or c.sport == self.proxy_port


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


class Collector:
    """Receives each finished connection: filter, judge, merge, keep a bounded table.

    Connections are judged as soon as they end, so memory holds the open
    connections, one finding per verdict group and at most ``max_rows`` rows of
    each kind (problem, healthy), whatever the size of the capture.
    """

    def __init__(self, filters: Filters, stall_s: float, max_rows: int) -> None:
        self.filters = filters
        self.stall_s = stall_s
        self.max_rows = max_rows
        self.merger = Merger()
        self.problem_rows: list[tuple[int, LegReport]] = []
        self.healthy_rows: list[tuple[int, LegReport]] = []
        self.seen = 0
        self.chosen = 0
        self.legs: set[Leg] = set()
        self.targets: dict[Leg, str] = {}   # leg -> an address on it (IPv4/IPv6 overheads)
        self.tracker: Tracker | None = None

    def __call__(self, c: Conn) -> None:
        self.seen += 1
        if not self.filters.wants(c):
            return
        self.chosen += 1
        tracker = self.tracker
        capture_end = tracker.capture_end if tracker is not None else c.last_ts
        if tracker is not None and tracker.fragments:
            for key in ((c.client, c.server), (c.server, c.client)):
                frag = tracker.fragments.get(key)
                if frag is not None:
                    c.fragments += frag[0]
        proxied = bool(c.exchanges) or self.filters.is_proxy(c)
        findings = conn_findings(c, capture_end, proxied, self.stall_s)
        self.targets.setdefault(leg_of(proxied), f"[{c.server}]:{c.sport}" if c.family == 6
                                else f"{c.server}:{c.sport}")
        if c.exchanges:
            self.targets.setdefault(Leg.PROXY_UPSTREAM, c.exchanges[-1].target)
        for f in findings:
            self.merger.add(f)
        rows = self.problem_rows if findings else self.healthy_rows
        if not self.max_rows or len(rows) < self.max_rows:
            row = conn_row(c, findings, proxied)
            rows.append((c.index, row))
            self.legs.add(row.name)


# Fast path for the common case (IPv4 without options or fragmentation, IPv6 without
# extension headers, carrying TCP): one struct unpack covers the IP and TCP fixed
# headers, addresses stay packed. The shared parsers of pathprobe.wire.headers build
# two frozen dataclasses and format both addresses per packet, which measured at over
# half of the run time on 500k packets; they still do everything else (SYN options,
# ICMP quotations, IP options, IPv6 extension chains, fragments), and a property test
# checks that both agree on every field used here.
_V4TCP = struct.Struct("!BxHxxHxBxx4s4sHHIIBB")   # 40 bytes: IPv4 (IHL 5) + TCP
_V6TCP = struct.Struct("!4xHBx16s16sHHIIBB")      # 60 bytes: IPv6 + TCP
WIDE_BRACKET = 64        # bytes between proven-good and proven-bad sizes worth measuring first
EVICT_EVERY = 16384                               # frames between sweeps of idle connections

FastTcp = tuple[int, bytes, bytes, int, int, int, int, int, int, int, int]


def fast_tcp(data: bytes, off: int) -> FastTcp | None:
    """(family, src, dst, sport, dport, seq, ack, flags, ip_len, payload_off, payload_len)
    for plain IPv4/IPv6 TCP at ``off``; None when the slow path must decide.

    The loop in ``track`` inlines this same logic; this function is its reference
    for the tests."""
    n = len(data)
    if n <= off:
        return None
    v = data[off] >> 4
    if v == 4 and n >= off + 40:
        vihl, total, frag, proto, src, dst, sport, dport, seq, ack, doff, flags = \
            _V4TCP.unpack_from(data, off)
        if vihl != 0x45 or proto != PROTO_TCP or frag & 0x3FFF:
            return None
        family, hdr = 4, 20
    elif v == 6 and n >= off + 60:
        plen, nxt, src, dst, sport, dport, seq, ack, doff, flags = _V6TCP.unpack_from(data, off)
        if nxt != PROTO_TCP:
            return None
        family, hdr, total = 6, 40, 40 + plen
    else:
        return None
    thl = (doff >> 4) * 4
    if thl < 20:
        return None
    plen = total - hdr - thl
    return (family, src, dst, sport, dport, seq, ack, flags, total, off + hdr + thl,
            plen if plen > 0 else 0)


def track(path: Path, filters: Filters, stats: ReadStats,
          on_done: Callable[[Conn], None] | None = None,
          max_connections: int = MAX_CONNECTIONS, tap: SegmentLog | None = None) -> Tracker:
    """Run every frame of the capture through the tracker (the hot loop); ``tap``, when
    given, also sees every TCP segment (two-capture matching, ``correlate.SegmentLog``)."""
    tracker = Tracker(on_done, max_connections)
    if isinstance(on_done, Collector):
        on_done.tracker = tracker
    hosts = {socket.inet_pton(socket.AF_INET6 if ":" in h else socket.AF_INET, h)
             for h in filters.hosts}
    on_tcp = tracker.tcp
    v4u, v6u = _V4TCP.unpack_from, _V6TCP.unpack_from
    next_sweep = EVICT_EVERY
    syn = TCP_SYN
    ts = 0.0
    eth, ipv4 = LINKTYPE_ETHERNET, b"\x08\x00"
    tap_rows = tap.table if tap is not None else {}
    for batch in read_batches(path, stats):
        if batch[-1][0] >= next_sweep:    # judge idle connections, once per batch at most
            next_sweep = batch[-1][0] + EVICT_EVERY
            tracker.capture_end = batch[0][1]
            tracker.evict(batch[0][1])
        for frame, ts, linktype, data, _orig in batch:
            if linktype == eth and data[12:14] == ipv4:
                off = 14
            else:
                off = ip_offset(linktype, data)
                if off < 0:
                    note_not_ip(stats, linktype, data)
                    continue
            # fast_tcp, inlined (a call per packet is measurable here)
            n = len(data)
            if n <= off:
                continue
            v = data[off] >> 4
            if v == 4 and n >= off + 40:
                vihl, total, frag, proto, src, dst, sport, dport, seq, ack, doff, flags = \
                    v4u(data, off)
                if vihl != 0x45 or proto != PROTO_TCP or frag & 0x3FFF:
                    _slow(tracker, frame, ts, data, off, hosts, tap)
                    continue
                hdr = 20
            elif v == 6 and n >= off + 60:
                plen, nxt, src, dst, sport, dport, seq, ack, doff, flags = v6u(data, off)
                if nxt != PROTO_TCP:
                    _slow(tracker, frame, ts, data, off, hosts, tap)
                    continue
                hdr, total = 40, 40 + plen
            else:
                _slow(tracker, frame, ts, data, off, hosts, tap)
                continue
            if hosts and src not in hosts and dst not in hosts:
                continue
            thl = (doff >> 4) * 4
            if thl < 20:
                continue
            start = off + hdr + thl
            plen = total - hdr - thl
            if plen < 0:
                plen = 0
            if tap is not None:     # SegmentLog's path for in-order plain ACKed segments
                st = tap_rows.get((src, sport, dst, dport))
                if (st is None or flags & 0x17 != 0x10 or st[5] or st[0] is None
                        or (plen and seq != st[3])):
                    tap(frame, ts, data, off, v, src, dst, sport, dport, seq, ack, flags, plen,
                        start)
                else:   # NEXT, ACK, LAST_SEQ, LAST_FRAME, ACK_FRAME of correlate's row
                    st[4] = ack
                    st[8] = frame
                    if plen:
                        st[3] = (seq + plen) & 0xFFFFFFFF
                        st[6] = seq
                        st[7] = frame
            if flags & syn:
                on_tcp(frame, ts, v, src, dst, sport, dport, seq, ack, flags, total, plen,
                       data, start, parse_tcp_options(data[off + hdr + 20:start]))
            else:
                on_tcp(frame, ts, v, src, dst, sport, dport, seq, ack, flags, total, plen,
                       data, start)
    tracker.capture_end = ts
    if tap is not None:
        tap.end_ts = ts
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
    family, src, dst, sport, dport, seq, ack, flags, total, poff, plen = seg
    if hosts and src not in hosts and dst not in hosts:
        return True
    options = None
    if flags & TCP_SYN:
        parsed = parse_tcp(memoryview(data)[off + (20 if family == 4 else 40):])
        options = parsed.options if parsed is not None else None
    if tap is not None:
        tap(frame, ts, data, off, family, src, dst, sport, dport, seq, ack, flags, plen, poff)
    tracker.tcp(frame, ts, family, src, dst, sport, dport, seq, ack, flags, total, plen, data,
                poff, options)
    return True


def _slow(tracker: Tracker, frame: int, ts: float, data: bytes, off: int,
          hosts: set[bytes], tap: SegmentLog | None = None) -> None:
    """Everything but plain TCP: fragments, ICMP errors, IPv6 extension headers, tunnels."""
    inner = inner_ip(data, off)
    if inner >= 0:
        off = inner
        if _tunnelled_tcp(tracker, frame, ts, data, off, hosts, tap):
            return
    mv = memoryview(data)[off:]
    ip = parse_ip(mv)
    if ip is None:
        return
    if ip.more_fragments or ip.frag_offset:
        tracker.fragment(frame, ip)
        if ip.frag_offset:
            return
    proto = ip.proto
    if proto == PROTO_TCP:
        af = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
        src, dst = socket.inet_pton(af, ip.src), socket.inet_pton(af, ip.dst)
        if hosts and src not in hosts and dst not in hosts:
            return
        tcp = parse_tcp(mv[ip.header_length:])
        if tcp is None:
            return
        start = ip.header_length + tcp.header_length
        if tap is not None:
            tap(frame, ts, data, off, ip.version, src, dst, tcp.sport, tcp.dport, tcp.seq,
                tcp.ack, tcp.flags, tcp_payload_length(ip, tcp), off + start)
        tracker.tcp(frame, ts, ip.version, src, dst, tcp.sport, tcp.dport, tcp.seq, tcp.ack,
                    tcp.flags, ip.total_length, tcp_payload_length(ip, tcp), data, off + start,
                    tcp.options)
    elif proto in (PROTO_ICMP, PROTO_ICMP6):
        err = parse_icmp_error(mv[ip.header_length:], ip.version)
        if (err is not None and err.frag_needed and err.mtu and err.quoted_ip is not None
                and err.quoted_tcp_ports is not None and err.quoted_ip.proto == PROTO_TCP):
            tracker.icmp(frame, ts, ip.src, ip.version, err.mtu, err.quoted_ip,
                         err.quoted_tcp_ports)


def analyze_capture(path: Path, filters: Filters, stall_s: float = DEFAULT_STALL_S,
                    max_rows: int = 200,
                    progress: Callable[[str], None] | None = None,
                    max_connections: int = MAX_CONNECTIONS,
                    tap: SegmentLog | None = None) -> Analysis:
    """Read ``path`` and say, per connection and overall, what went wrong.

    Raises CaptureError (one line, exit status 2) for a file that is no usable capture,
    CaptureUnreadable (exit status 3) when it holds no packets or no connection matches
    the filters: there is then nothing to report."""
    stats = ReadStats()
    t0 = time.monotonic()
    collector = Collector(filters, stall_s, max_rows)
    with no_cyclic_gc():
        tracker = track(path, filters, stats, collector, max_connections, tap)
        tracker.finish()
    elapsed = time.monotonic() - t0
    if progress and elapsed >= 2.0:   # only worth saying for big captures
        progress(f"read {stats.frames} frames in {elapsed:.1f} s")
    if stats.frames == 0 and stats.truncated is None:
        raise CaptureUnreadable(f"{path}: the capture holds no packets")
    if not collector.seen and stats.not_ip and stats.not_ip >= stats.frames:
        raise no_ip_error(path, stats)
    if not collector.chosen:
        what = ("matching --host/--port" if filters.explicit else
                "that looks like a proxy CONNECT" + (" or goes to --proxy"
                                                      if filters.proxy_host else ""))
        raise CaptureUnreadable(
            f"{path}: {stats.frames} frames, {collector.seen} TCP connections, none {what}; "
            "use --host/--port/--proxy to choose connections"
            + (f" (capture truncated: {stats.truncated})" if stats.truncated else
               f" ({stats.unsupported_frames} frames on interfaces of unsupported link types "
               "were skipped)" if stats.unsupported_frames else ""))
    notes = [ev(CaptureFact.CAPTURE_READ, file=path.name, frames=stats.frames,
                chosen=collector.chosen, total=collector.seen)]
    if stats.truncated:
        notes.append(ev(CaptureFact.CAPTURE_TRUNCATED, detail=stats.truncated))
    if stats.unsupported_frames:
        notes.append(ev(CaptureFact.UNSUPPORTED_FRAMES, count=stats.unsupported_frames))
    if tracker.shed_total:
        notes.append(ev(CaptureFact.CONNECTIONS_SHED, count=tracker.shed_total,
                        syn_only=tracker.shed_syn_only, max_connections=max_connections))
    rows = sorted(collector.problem_rows) + sorted(collector.healthy_rows)
    if max_rows and len(rows) < collector.chosen:
        notes.append(ev(CaptureFact.TABLE_LIMITED, shown=len(rows), chosen=collector.chosen,
                        max_rows=max_rows))
    rows = rows if max_rows else sorted(rows)
    legs = tuple(r for _i, r in rows)
    for frame, mtu, router, quoted in tracker.icmp_unmatched[:5]:
        notes.append(ev(CaptureFact.ICMP_UNMATCHED, frame, router=router, mtu=mtu,
                        quoted=quoted))
    frags = sum(v[0] for v in tracker.fragments.values())
    if frags:
        notes.append(ev(CaptureFact.FRAGMENTS_SEEN, min(v[1] for v in tracker.fragments.values()),
                        count=frags))
    legs_seen = sorted(collector.legs)
    verdicts = healthy_unless(
        collector.merger.verdicts(), legs_seen[0] if len(legs_seen) == 1 else Leg.FMC_PROXY,
        [ev(CaptureFact.NOTHING_WRONG, connections=collector.chosen)])
    # A capture read from text is told as such (lines, names, what text cannot prove).
    return as_text_analysis(Analysis(Measurement(legs=legs, verdicts=verdicts,
                                                 notes=tuple(notes)), stats,
                                     collector.chosen, collector.seen, dict(collector.targets)))


def _bracket(v: Verdict) -> tuple[int, int] | None:
    """(largest size proven to pass, smallest size proven to fail) of a size verdict."""
    lim = v.limit
    if lim is None or lim.pmtu_low is None or lim.pmtu_high is None:
        return None
    return lim.pmtu_low, lim.pmtu_high + 1


def measure_first(verdicts: Sequence[Verdict], targets: Mapping[Leg, str]
                  ) -> tuple[tuple[Recommendation, ...], tuple[Verdict, ...]]:
    """The capture's own advice, and the verdicts left for the live commands' rules.

    A capture only shows the sizes the FMC happened to send (say 569 passed, 1500
    vanished); an MTU fix computed from such a lower bound is safe but needlessly
    small, so for a wide bracket the advice is to measure the exact size first (and
    the verdict gets no fix). A download stall without a full-size segment from the
    proxy may be leg 1's black hole: measure before blaming leg 2.
    """
    rest: list[Verdict] = []
    out: list[Recommendation] = []
    for v in verdicts:
        bracket = _bracket(v)
        if (v.code in (VerdictCode.PMTU_BLACKHOLE, VerdictCode.RST_ON_LARGE_SEGMENT)
                and bracket is not None and bracket[1] - bracket[0] > WIDE_BRACKET):
            where = targets.get(v.leg, "PROXY:PORT")
            out.append(Recommendation(
                "the FMC (expert shell)", "pathprobe",
                f"pathprobe diagnose --proxy http://{where}" if v.leg is Leg.FMC_PROXY
                else f"pathprobe pmtu {where.rpartition(':')[0].strip('[]') or where}",
                f"the capture proves only {bracket[0]} <= limit < {bracket[1]} bytes on "
                f"{v.leg.value} (the FMC sent no sizes in between); measure the exact limit "
                "before lowering an MTU or MSS to the proven lower bound"))
        else:
            rest.append(v)
        seg, full = v.numbers.get("max_seg_down"), v.numbers.get("full_seg")
        if (v.code is VerdictCode.TUNNEL_STALL and v.direction is not Direction.UP
                and isinstance(seg, int) and isinstance(full, int) and seg < full):
            where = targets.get(Leg.FMC_PROXY, "PROXY:PORT")
            out.append(Recommendation(
                "the FMC (expert shell)", "pathprobe",
                f"pathprobe diagnose --proxy http://{where}",
                f"no full-size segment ({full} bytes) ever arrived from the proxy: measure "
                "whether leg 1 drops large packets downstream before blaming leg 2"))
    return tuple(out), tuple(rest)


def recommendations(verdicts: Sequence[Verdict], targets: Mapping[Leg, str]
                    ) -> tuple[Recommendation, ...]:
    """The live commands' recommendations, except where the capture's bracket is wide
    (``measure_first``). Signature of ``findings.Recommender``."""
    advice, rest = measure_first(verdicts, targets)
    return (*advice, *recommend(rest, targets))
