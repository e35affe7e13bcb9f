"""Read a capture and analyse it: the one place where file reading meets the pure core.

The per-packet loop is the hot path of ``analyze`` (500k+ packets): it finds
the IP header for the link type, filters early on the raw bytes (protocol,
then addresses/ports when the user gave filters) and only then calls the
shared parsers of ``pathprobe.wire.headers``; payload bytes are sliced only
when a connection is waiting for a CONNECT, an HTTP answer or a TLS hello.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pathprobe.capture.reader import LINKTYPE_ETHERNET, ReadStats, ip_offset, read_frames
from pathprobe.capture.rules import DEFAULT_STALL_S, Merger, conn_findings, conn_row
from pathprobe.capture.tracker import Conn, Tracker
from pathprobe.errors import CaptureError
from pathprobe.model import LegReport, Measurement, Verdict, VerdictCode, healthy_unless
from pathprobe.wire.headers import PROTO_TCP, parse_icmp_error, parse_ip, parse_tcp

PROTO_ICMP, PROTO_ICMP6 = 1, 58
SNIFF_STATES = ("start", "request", "response")


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


@dataclass
class Analysis:
    """The outcome: verdicts, one row per connection, and what the reader noticed."""

    measurement: Measurement
    stats: ReadStats
    connections: int
    tcp_connections: int
    notes: list[str] = field(default_factory=list)


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
        self.legs: set[str] = set()
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
        for f in findings:
            self.merger.add(f)
        rows = self.problem_rows if findings else self.healthy_rows
        if not self.max_rows or len(rows) < self.max_rows:
            row = conn_row(c, findings, proxied)
            rows.append((c.index, row))
            self.legs.add(row.name)


def track(path: Path, filters: Filters, stats: ReadStats,
          on_done: Callable[[Conn], None] | None = None) -> Tracker:
    """Run every frame of the capture through the tracker (the hot loop)."""
    tracker = Tracker(on_done)
    if isinstance(on_done, Collector):
        on_done.tracker = tracker
    hosts = filters.hosts
    host_filter = bool(hosts)
    on_tcp = tracker.tcp
    table = tracker.table
    for frame, ts, linktype, data, _orig in read_frames(path, stats):
        if linktype == LINKTYPE_ETHERNET and len(data) > 14 and data[12] == 8 and data[13] == 0:
            off = 14
        else:
            off = ip_offset(linktype, data)
            if off < 0:
                continue
        # Early filter on raw bytes: only TCP, ICMP and fragments matter.
        v = data[off] >> 4 if len(data) > off else 0
        if v == 4:
            if len(data) < off + 20:
                continue
            proto = data[off + 9]
            if proto != PROTO_TCP and proto != PROTO_ICMP and not (
                    data[off + 6] & 0x3F or data[off + 7]):
                continue
        elif v != 6:
            continue
        mv = memoryview(data)[off:]
        ip = parse_ip(mv)
        if ip is None:
            continue
        if ip.more_fragments or ip.frag_offset:
            tracker.fragment(frame, ip)
            if ip.frag_offset:
                continue
        proto = ip.proto
        if proto == PROTO_TCP:
            if host_filter and ip.src not in hosts and ip.dst not in hosts:
                continue
            hl = ip.header_length
            tcp = parse_tcp(mv[hl:])
            if tcp is None:
                continue
            plen = ip.total_length - hl - tcp.header_length
            if plen < 0:
                plen = 0
            payload = b""
            if plen:
                entry = table.get((ip.src, tcp.sport, ip.dst, tcp.dport))
                if entry is None or entry[0].phase in SNIFF_STATES or (
                        entry[0].phase == "tunnel" and (entry[0].client_hello is None
                                                        or entry[0].server_hello is None)):
                    start = off + hl + tcp.header_length
                    payload = data[start:start + 1024]
            on_tcp(frame, ts, ip, tcp, plen, payload)
        elif proto in (PROTO_ICMP, PROTO_ICMP6):
            err = parse_icmp_error(mv[ip.header_length:], ip.version)
            if (err is not None and err.frag_needed and err.mtu and err.quoted_ip is not None
                    and err.quoted_tcp_ports is not None and err.quoted_ip.proto == PROTO_TCP):
                tracker.icmp(frame, ts, ip.src, ip.version, err.mtu, err.quoted_ip,
                             err.quoted_tcp_ports)
    return tracker


def analyze_capture(path: Path, filters: Filters, stall_s: float = DEFAULT_STALL_S,
                    max_rows: int = 200,
                    progress: Callable[[str], None] | None = None) -> Analysis:
    """Read ``path`` and say, per connection and overall, what went wrong."""
    stats = ReadStats()
    t0 = time.monotonic()
    collector = Collector(filters, stall_s, max_rows)
    tracker = track(path, filters, stats, collector)
    tracker.finish()
    if progress:
        progress(f"read {stats.frames} frames in {time.monotonic() - t0:.1f} s")
    if stats.frames == 0 and stats.truncated is None:
        raise CaptureError(f"{path}: the capture holds no packets")
    notes: list[str] = []
    if stats.truncated:
        notes.append(f"capture truncated: {stats.truncated}")
    if stats.unsupported_frames:
        notes.append(f"{stats.unsupported_frames} frames on interfaces of unsupported link "
                     "types were skipped")
    if not collector.chosen:
        what = ("matching --host/--port" if filters.explicit else
                "that looks like a proxy CONNECT" + (" or goes to --proxy"
                                                      if filters.proxy_host else ""))
        raise CaptureError(
            f"{path}: {stats.frames} frames, {collector.seen} TCP connections, none {what}; "
            "use --host/--port/--proxy to choose connections"
            + (f" ({notes[0]})" if notes else ""))
    rows = sorted(collector.problem_rows) + sorted(collector.healthy_rows)
    if max_rows and len(rows) < collector.chosen:
        notes.append(f"table shows {len(rows)} of {collector.chosen} connections "
                     f"(up to {max_rows} with problems and {max_rows} healthy; "
                     "--max-rows 0 shows all)")
    rows = rows if max_rows else sorted(rows)
    legs = tuple(r for _i, r in rows)
    for frame, mtu, router, quoted in tracker.icmp_unmatched[:5]:
        notes.append(f"frame {frame}: ICMP from {router} says MTU {mtu} for {quoted} "
                     "(not a connection analysed here)")
    frags = sum(v[0] for v in tracker.fragments.values())
    if frags:
        notes.append(f"{frags} IP fragments in the capture (first at frame "
                     f"{min(v[1] for v in tracker.fragments.values())})")
    legs_seen = sorted(collector.legs)
    verdicts = healthy_unless(
        collector.merger.verdicts(), legs_seen[0] if len(legs_seen) == 1 else "fmc-proxy",
        [f"{collector.chosen} connection(s): no refusal, stall, reset, black hole or MSS "
         "change seen"])
    summary = _summary(path, stats, collector.chosen, collector.seen, verdicts, notes)
    return Analysis(Measurement(legs=legs, verdicts=verdicts, summary=summary), stats,
                    collector.chosen, collector.seen, notes)


def _summary(path: Path, stats: ReadStats, chosen: int, total: int,
             verdicts: tuple[Verdict, ...], notes: list[str]) -> str:
    problems = [v.code.value for v in verdicts if v.code is not VerdictCode.HEALTHY]
    head = (f"{path.name}: {stats.frames} frames, {chosen} of {total} TCP connections analysed: "
            + (", ".join(dict.fromkeys(problems)) if problems else "healthy"))
    return "\n".join([head, *notes])
