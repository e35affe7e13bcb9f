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
from pathprobe.capture.rules import (
    DEFAULT_STALL_S,
    Finding,
    conn_findings,
    conn_row,
    merge,
)
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


def track(path: Path, filters: Filters, stats: ReadStats) -> Tracker:
    """Run every frame of the capture through the tracker (the hot loop)."""
    tracker = Tracker()
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
    tracker = track(path, filters, stats)
    if progress:
        progress(f"read {stats.frames} frames in {time.monotonic() - t0:.1f} s")
    if stats.frames == 0 and stats.truncated is None:
        raise CaptureError(f"{path}: the capture holds no packets")
    conns = tracker.finish()
    chosen = [c for c in conns if filters.wants(c)]
    notes: list[str] = []
    if stats.truncated:
        notes.append(f"capture truncated: {stats.truncated}")
    if stats.unsupported_frames:
        notes.append(f"{stats.unsupported_frames} frames on interfaces of unsupported link "
                     "types were skipped")
    if not chosen:
        what = ("matching --host/--port" if filters.explicit else
                "that looks like a proxy CONNECT" + (" or goes to --proxy"
                                                      if filters.proxy_host else ""))
        raise CaptureError(
            f"{path}: {stats.frames} frames, {len(conns)} TCP connections, none {what}; "
            "use --host/--port/--proxy to choose connections"
            + (f" ({notes[0]})" if notes else ""))
    findings: list[Finding] = []
    rows: list[tuple[bool, LegReport]] = []
    for c in chosen:
        proxied = bool(c.exchanges) or filters.is_proxy(c)
        fs = conn_findings(c, tracker.capture_end, proxied, stall_s)
        for key, frag in tracker.fragments.items():
            if key in ((c.client, c.server), (c.server, c.client)):
                c.fragments += frag[0]
        findings.extend(fs)
        rows.append((bool(fs), conn_row(c, fs, proxied)))
    if max_rows and len(rows) > max_rows:
        problems = [r for bad, r in rows if bad]
        healthy = [r for bad, r in rows if not bad]
        kept = (problems + healthy)[:max_rows]
        notes.append(f"table shows {len(kept)} of {len(rows)} connections "
                     "(problem connections first; --max-rows 0 shows all)")
        legs = tuple(kept)
    else:
        legs = tuple(r for _bad, r in rows)
    for frame, mtu, router, quoted in tracker.icmp_unmatched[:5]:
        notes.append(f"frame {frame}: ICMP from {router} says MTU {mtu} for {quoted} "
                     "(not a connection analysed here)")
    frags = sum(v[0] for v in tracker.fragments.values())
    if frags:
        notes.append(f"{frags} IP fragments in the capture (first at frame "
                     f"{min(v[1] for v in tracker.fragments.values())})")
    verdicts: tuple[Verdict, ...] = tuple(merge(findings))
    proxy_legs = sorted({r.name for _b, r in rows})
    verdicts = healthy_unless(verdicts, proxy_legs[0] if len(proxy_legs) == 1 else "fmc-proxy",
                              [f"{len(chosen)} connection(s): no refusal, stall, reset, "
                               "black hole or MSS change seen"])
    summary = _summary(path, stats, len(chosen), len(conns), verdicts, notes)
    return Analysis(Measurement(legs=legs, verdicts=verdicts, summary=summary), stats,
                    len(chosen), len(conns), notes)


def _summary(path: Path, stats: ReadStats, chosen: int, total: int,
             verdicts: tuple[Verdict, ...], notes: list[str]) -> str:
    problems = [v.code.value for v in verdicts if v.code is not VerdictCode.HEALTHY]
    head = (f"{path.name}: {stats.frames} frames, {chosen} of {total} TCP connections analysed: "
            + (", ".join(dict.fromkeys(problems)) if problems else "healthy"))
    return "\n".join([head, *notes])
