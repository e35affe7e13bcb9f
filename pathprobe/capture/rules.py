"""Turn tracked connections into verdicts (design.md vocabulary) and table rows: pure.

Each rule looks at one connection and says what it proves, with frame numbers
as evidence; identical findings across connections are then merged so a
capture of 500 failing retries gives one verdict that says "500 connections".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from pathprobe.capture.tracker import DOWN, LARGE_PAYLOAD, UP, Conn, Exchange
from pathprobe.model import Confidence, Direction, LegReport, Number, Verdict, VerdictCode

FMC_UNSUPPORTED_SCHEMES = frozenset({"ntlm", "negotiate", "kerberos"})
DEFAULT_STALL_S = 3.0
EXAMPLE_PORTS = 8
TLS_GOODBYE_MAX = 128     # bytes after a silence that are only an alert/close, not resumed data


@dataclass
class Finding:
    """A verdict about one connection, before merging across connections."""

    code: VerdictCode
    leg: str
    direction: Direction | None
    numbers: dict[str, Number]
    evidence: list[str]
    confidence: Confidence = Confidence.MEASURED
    # numbers that must match for two connections' findings to merge
    key_numbers: tuple[str, ...] = ()
    conn: Conn | None = field(default=None, repr=False)

    def key(self) -> tuple[object, ...]:
        return (self.code, self.leg, self.direction,
                tuple(self.numbers.get(k) for k in self.key_numbers))


def _dir(d: int) -> Direction:
    return Direction.UP if d == UP else Direction.DOWN


def _who(c: Conn, d: int) -> str:
    return f"{c.client}:{c.cport}" if d == UP else f"{c.server}:{c.sport}"


def conn_filter(c: Conn) -> str:
    """A Wireshark display filter isolating this connection."""
    ipf = "ipv6.addr" if c.family == 6 else "ip.addr"
    return f"{ipf}=={c.client} && tcp.port=={c.cport}"


def is_proxy_conn(c: Conn) -> bool:
    return bool(c.exchanges)


def leg_of(c: Conn, proxied: bool) -> str:
    return "fmc-proxy" if proxied else "fmc-upstream"


def conn_findings(c: Conn, capture_end: float, proxied: bool,
                  stall_s: float = DEFAULT_STALL_S) -> list[Finding]:
    """Everything wrong with one connection (empty if it looks healthy)."""
    leg = leg_of(c, proxied)
    base = conn_filter(c)
    out: list[Finding] = []
    up, down = c.up, c.down

    # --- handshake ---------------------------------------------------------------------
    if up.syn_frame is not None and down.syn_frame is None:
        if c.synack_rst is not None:
            ev = [f"frame {up.syn_frame}: SYN to {c.server}:{c.sport}",
                  f"frame {c.synack_rst}: answered by RST (nothing listens there, or a "
                  "firewall rejects it)"]
        else:
            ev = [f"frame {up.syn_frame}: SYN to {c.server}:{c.sport} sent {up.syn_count} "
                  f"time(s), never answered by a SYN-ACK in this capture"]
        out.append(Finding(VerdictCode.PROXY_UNREACHABLE, leg, None,
                           {"port": c.sport, "syn_sent": up.syn_count,
                            "wireshark_filter": f"{base} && tcp.flags.syn==1"},
                           ev, key_numbers=("port",), conn=c))
        return out

    if up.mss is not None and down.mss is not None and down.mss < up.mss:
        out.append(Finding(
            VerdictCode.MSS_CLAMPED, leg, Direction.BOTH,
            {"mss_sent": up.mss, "mss_received": down.mss,
             "wireshark_filter": f"{base} && tcp.flags.syn==1"},
            [f"frame {up.syn_frame}: SYN from {c.client} carries MSS {up.mss}",
             f"frame {down.syn_frame}: SYN-ACK from {c.server} carries MSS {down.mss}",
             "one capture point cannot tell whether the peer or a middlebox lowered it; "
             "'pathprobe mss' can"],
            key_numbers=("mss_sent", "mss_received"), conn=c))

    # --- the proxy's answer --------------------------------------------------------------
    if c.exchanges:
        out.extend(_proxy_findings(c, leg, base))

    # --- transport on the captured leg -----------------------------------------------------
    transport = _transport_findings(c, leg, base)
    out.extend(transport)

    # --- the tunnel after 200 (or a direct TLS session) ------------------------------------
    if not any(f.code in (VerdictCode.PMTU_BLACKHOLE, VerdictCode.RST_ON_LARGE_SEGMENT)
               for f in transport):
        stall = _stall_finding(c, capture_end, proxied, base, stall_s)
        if stall is not None:
            out.append(stall)
    return out


def _ended(c: Conn, capture_end: float) -> str:
    if c.end is None and c.evicted_at is not None:
        return f"silent for {c.evicted_at - c.last_ts:.0f} s (no FIN or RST seen by then)"
    if c.end is None:
        return f"still open when the capture ended ({capture_end - c.last_ts:.1f} s later)"
    how, frame, _ts = c.end
    return f"{how} at frame {frame}"


def _proxy_findings(c: Conn, leg: str, base: str) -> list[Finding]:
    out: list[Finding] = []
    last = c.exchanges[-1]
    for i, ex in enumerate(c.exchanges):
        status = ex.status
        if status is None or status == 200:
            continue
        # By frame number: Wireshark only dissects HTTP on ports it knows (3128, 8080...)
        http = f"{base} && (frame.number=={ex.frame} || frame.number=={ex.response_frame})"
        later_ok = any(e.status == 200 for e in c.exchanges[i + 1:])
        ev = [f"frame {ex.frame}: CONNECT {ex.target}"
              + (" with Proxy-Authorization" if ex.with_auth else ""),
              f"frame {ex.response_frame}: proxy answered {status} {ex.reason}".rstrip()]
        if status == 407:
            offered = ", ".join(ex.schemes) or "none captured"
            ev.append(f"Proxy-Authenticate schemes offered: {offered}"
                      + ("" if ex.head_complete else
                         " (response head not fully captured; capture with a larger -s)"))
            if ex.schemes and set(ex.schemes) <= FMC_UNSUPPORTED_SCHEMES:
                ev.append("the FMC supports Basic and Digest proxy authentication, not "
                          "NTLM/Negotiate: allow Basic/Digest for the FMC or exempt it")
                # Schemes beyond the snap length may exist: then it is only inferred.
                out.append(Finding(VerdictCode.PROXY_AUTH_UNSUPPORTED, leg, None,
                                   {"status": status, "schemes": offered,
                                    "wireshark_filter": http}, ev,
                                   Confidence.MEASURED if ex.head_complete
                                   else Confidence.INFERRED,
                                   key_numbers=("schemes",), conn=c))
            elif later_ok:
                continue   # the usual 407-then-credentials dance, and it worked
            else:
                ev.append("the proxy rejected the credentials sent" if ex.with_auth else
                          "no credentials were sent: configure the proxy user/password")
                out.append(Finding(VerdictCode.PROXY_AUTH_REQUIRED, leg, None,
                                   {"status": status, "schemes": offered,
                                    "credentials": "rejected" if ex.with_auth else "none sent",
                                    "wireshark_filter": http}, ev,
                                   key_numbers=("status", "schemes", "credentials"), conn=c))
        elif later_ok:
            continue
        elif status >= 500:
            ev.append(f"the proxy could not reach {ex.target} (or is overloaded); "
                      "the fault is beyond the proxy")
            out.append(Finding(VerdictCode.PROXY_UPSTREAM_ERROR, "proxy-upstream", None,
                               {"status": status, "target": ex.target,
                                "wireshark_filter": http}, ev,
                               key_numbers=("status", "target"), conn=c))
        elif status >= 400:
            ev.append(f"the proxy's policy refuses CONNECT to {ex.target}: ask its "
                      "administrator to allow it")
            out.append(Finding(VerdictCode.PROXY_DENIED, leg, None,
                               {"status": status, "target": ex.target,
                                "wireshark_filter": http}, ev,
                               key_numbers=("status", "target"), conn=c))
    if last.status is None:
        ev = [f"frame {last.frame}: CONNECT {last.target}"
              + (f", retransmitted {last.retransmits} time(s)" if last.retransmits else ""),
              f"no HTTP answer from the proxy; connection {_ended(c, c.last_ts)}"]
        if c.up.acked < c.up.next_seq:
            ev.append("the CONNECT was never acknowledged: it did not reach the proxy")
        out.append(Finding(VerdictCode.CONNECT_NO_RESPONSE, leg, Direction.UP,
                           {"target": last.target, "retransmits": last.retransmits,
                            "wireshark_filter": f"{base} && (frame.number=={last.frame} || "
                                                "tcp.analysis.retransmission || "
                                                "tcp.flags.fin==1)"},
                           ev, key_numbers=("target",), conn=c))
    return out


def _transport_findings(c: Conn, leg: str, base: str) -> list[Finding]:
    out: list[Finding] = []
    icmp_dirs: set[int] = set()
    if c.icmp:
        by_dir: dict[int, list[tuple[int, int, int, str, int]]] = {}
        for rec in c.icmp:
            by_dir.setdefault(rec[1], []).append(rec)
        for d, recs in sorted(by_dir.items()):
            icmp_dirs.add(d)
            mtu = min(r[2] for r in recs)
            first = recs[0]
            s = c.side(d)
            ipf = "icmpv6.type==2" if c.family == 6 else "icmp.type==3 && icmp.code==4"
            ev = [f"frame {first[0]}: {first[3]} says the next hop MTU is {first[2]} for a "
                  f"{first[4]}-byte packet from {_who(c, d)}"
                  + (f" ({len(recs)} such messages)" if len(recs) > 1 else "")]
            if s.max_delivered_ip and s.max_delivered_ip <= mtu:
                ev.append(f"afterwards packets of up to {s.max_delivered_ip} bytes were "
                          "acknowledged: PMTUD works")
            out.append(Finding(VerdictCode.PMTU_REDUCED, leg, _dir(d),
                               {"mtu": mtu, "router": first[3],
                                "wireshark_filter": f"{ipf} && tcp.port=={c.cport}"},
                               ev, key_numbers=("mtu",), conn=c))
    if c.rst_on_large is not None:
        d, ip_len, payload, seg_frame, delay, rst_frame = c.rst_on_large
        s = c.side(d)
        ev = [f"frame {seg_frame}: {payload}-byte segment ({ip_len}-byte packet) from "
              f"{_who(c, d)}",
              f"frame {rst_frame}: RST from the other side {delay * 1000:.0f} ms later, "
              "before any ACK of it"]
        if s.max_delivered_ip:
            ev.append(f"smaller packets (up to {s.max_delivered_ip} bytes) were acknowledged: "
                      "packets of that size pass (proven lower bound); the reset threshold "
                      f"lies above it, at most {ip_len}")
        out.append(Finding(VerdictCode.RST_ON_LARGE_SEGMENT, leg, _dir(d),
                           {"size": ip_len, "payload": payload,
                            "pmtu_low": s.max_delivered_ip or None,
                            "wireshark_filter": f"{base} && (tcp.flags.reset==1 || "
                                                f"tcp.len>{max(s.max_delivered_payload, 0)})"},
                           ev, key_numbers=("size",), conn=c))
    for d in (UP, DOWN):
        if d in icmp_dirs:
            continue
        s = c.side(d)
        stuck = [v for v in s.big_retx.values() if v[3] >= 2]
        if stuck and c.rst_on_large is None:
            smallest = min(stuck, key=lambda v: v[1])
            payload, ip_len, first_frame, count = (int(smallest[0]), int(smallest[1]),
                                                   int(smallest[2]), int(smallest[3]))
            if payload <= s.max_delivered_payload:
                continue   # same-size segments got through: loss, not a size limit
            low = s.max_delivered_ip or None
            ev = [f"from frame {first_frame}: a {payload}-byte segment ({ip_len}-byte packet) "
                  f"from {_who(c, d)} retransmitted {count} time(s), never acknowledged, "
                  "no ICMP seen"]
            if low:
                ev.append(f"packets of up to {low} bytes were acknowledged: the path MTU is "
                          f"at least {low} (proven lower bound) and below {ip_len}")
            out.append(Finding(VerdictCode.PMTU_BLACKHOLE, leg, _dir(d),
                               {"pmtu_low": low, "pmtu_high": ip_len - 1,
                                "wireshark_filter": f"{base} && tcp.analysis.retransmission"
                                                    f" && tcp.len>{s.max_delivered_payload}"},
                               ev, key_numbers=("pmtu_low", "pmtu_high"), conn=c))
            continue
        hole = s.hole
        if hole is not None and c.rst_on_large is None:
            start, end, frame, ts = hole
            waited = (c.last_ts if c.end is None else c.end[2]) - ts
            if end - start > LARGE_PAYLOAD and waited >= 0.5:
                low = s.max_ip_len or None
                ev = [f"frame {frame}: data from {_who(c, d)} arrived after a gap of "
                      f"{end - start} bytes that never showed up ({waited:.1f} s)",
                      f"segments of up to {s.max_payload} bytes did arrive: larger ones "
                      "seem to vanish before the capture point"]
                out.append(Finding(VerdictCode.PMTU_BLACKHOLE, leg, _dir(d),
                                   {"pmtu_low": low, "missing_bytes": end - start,
                                    "wireshark_filter": f"{base} && (tcp.analysis.lost_segment"
                                                        " || tcp.analysis.retransmission)"},
                                   ev, Confidence.INFERRED, key_numbers=("pmtu_low",),
                                   conn=c))
    return out


def full_segment(c: Conn) -> int:
    """The payload of a full-size segment from the server: the smaller MSS, minus timestamps."""
    mss = min(c.up.mss or 1460, c.down.mss or 1460)
    return mss - (12 if c.up.timestamps and c.down.timestamps else 0)


def _stall_context(c: Conn, d: int | None, clear: bool) -> list[str]:
    """What the capture on leg 1 says about where the data stopped (honestly: inferred)."""
    out: list[str] = []
    if d == UP and clear:
        out.append("everything the FMC had sent was acknowledged on leg 1 when the data "
                   "stopped, so it is stuck beyond the proxy (leg 2 MTU/black hole, "
                   "inspection, quota or timeout), not on the captured leg")
    elif d == UP:
        out.append("some data the FMC sent was never acknowledged on leg 1")
    full = full_segment(c)
    if d != UP:
        if c.down.max_payload >= full:
            out.append(f"full-size segments ({c.down.max_payload} bytes) did arrive from the "
                       "proxy earlier, so leg 1 carries them downstream: the data stopped at "
                       "or beyond the proxy (leg 2, inspection, quota or timeout)")
        else:
            out.append(f"no segment larger than {c.down.max_payload} bytes ever arrived from "
                       f"the proxy (full size: {full}): either the data stopped at or beyond "
                       "the proxy, or its large segments vanish on leg 1 downstream (a black "
                       "hole leaves no trace at the FMC); 'pathprobe diagnose' tells which")
    return out


def _stall_finding(c: Conn, capture_end: float, proxied: bool, base: str,
                   stall_s: float) -> Finding | None:
    """TUNNEL_STALL: the tunnel (or TLS session) opened but data stopped."""
    if proxied and c.tunnel_start is None:
        return None
    if not proxied and c.first_payload != "tls":
        return None
    leg = "proxy-upstream" if proxied else "fmc-upstream"
    end_ts = (c.end[2] if c.end is not None else
              c.evicted_at if c.evicted_at is not None else capture_end)
    idle = end_ts - c.last_data_ts
    opened = (f"frame {c.tunnel_start[0]}: proxy answered 200 (tunnel open)"
              if c.tunnel_start else "TLS session")
    ev = [opened]
    hello = c.client_hello
    if hello is not None:
        ev.append(f"frame {hello[0]}: TLS ClientHello ({hello[1]} bytes)")
    numbers: dict[str, Number] = {"bytes_up": c.tunnel_up, "bytes_down": c.tunnel_down,
                                  "max_seg_down": c.down.max_payload,
                                  "full_seg": full_segment(c)}
    if hello is not None and c.server_hello is None:
        if not proxied and idle < stall_s:
            return None
        ev.append(f"no ServerHello; connection {_ended(c, capture_end)} after "
                  f"{idle:.1f} s without data")
        if proxied:
            clear = c.up.acked >= hello[1]
            ev.append("the ClientHello reached the proxy (acknowledged on leg 1)" if clear
                      else "the ClientHello was never acknowledged on leg 1")
            ev += _stall_context(c, None, clear)[-1:]
        return Finding(VerdictCode.TUNNEL_STALL, leg, None,
                       {"idle_s": round(idle, 1), **numbers,
                        "wireshark_filter": f"{base} && (tls.handshake || tcp.flags.fin==1 || "
                                            "tcp.flags.reset==1)"},
                       ev, Confidence.INFERRED, key_numbers=(), conn=c)
    gap, gap_from, gap_to = c.max_gap
    if idle >= gap:   # the longest silence is the one at the end
        gap, gap_from, gap_to, after = idle, c.last_data_frame, 0, 0
        d, clear = c.last_big_dir, c.up.acked >= c.up.next_seq
    else:
        after, d, clear = c.after_gap, c.gap_dir, c.gap_leg1_clear
    # A stall: a long silence after which (at most) a TLS alert and a close followed.
    if gap >= stall_s and gap_from and after <= TLS_GOODBYE_MAX and (
            c.tunnel_start is None or gap_from >= c.tunnel_start[0]):
        sh = c.server_hello
        if sh is not None:
            ev.append(f"frame {sh[0]}: TLS ServerHello")
        then = (f"until frame {gap_to}" + (f", then only {after} bytes (a TLS alert?)"
                                            if after else "") if gap_to else "")
        ev.append(f"frame {gap_from}: last data, then "
                  f"{gap:.1f} s without data {then}; connection {_ended(c, capture_end)}")
        ev.append(f"{c.tunnel_up} bytes up and {c.tunnel_down} bytes down crossed the tunnel; "
                  f"the last large segments went {'up' if d == UP else 'down'}")
        if proxied:
            ev += _stall_context(c, d, clear)
        return Finding(VerdictCode.TUNNEL_STALL, leg, _dir(d),
                       {"idle_s": round(gap, 1), **numbers,
                        "wireshark_filter": f"{base} && frame.number>={gap_from}"},
                       ev, Confidence.INFERRED, key_numbers=(), conn=c)
    return None


class Merger:
    """Merges findings into one verdict per (code, leg, direction, key numbers), incrementally.

    Only the first finding of each group and a few example client ports are kept,
    so memory does not grow with the number of connections in the capture.
    """

    def __init__(self) -> None:
        self.groups: dict[tuple[object, ...], tuple[Finding, list[int], list[int]]] = {}

    def add(self, f: Finding) -> None:
        g = self.groups.get(f.key())
        if g is None:
            self.groups[f.key()] = (f, [1, int(f.confidence is Confidence.MEASURED)], [])
            return
        _first, counts, ports = g
        counts[0] += 1
        counts[1] += int(f.confidence is Confidence.MEASURED)
        if len(ports) < EXAMPLE_PORTS and f.conn is not None:
            ports.append(f.conn.cport)

    def verdicts(self) -> list[Verdict]:
        out: list[Verdict] = []
        for first, (count, measured), ports in self.groups.values():
            numbers: dict[str, Number] = dict(first.numbers)
            evidence = list(first.evidence)
            if first.conn is not None:
                evidence.insert(0, f"connection {first.conn.client}:{first.conn.cport} -> "
                                   f"{first.conn.server}:{first.conn.sport}")
            if count > 1:
                more = ", ..." if count - 1 > len(ports) else ""
                evidence.append(f"the same in {count - 1} other connection(s) (client ports "
                                f"{', '.join(map(str, ports))}{more})")
            numbers["connections"] = count
            filt = numbers.pop("wireshark_filter", None)
            if filt is not None:
                numbers["wireshark_filter"] = filt
            confidence = Confidence.MEASURED if measured else Confidence.INFERRED
            out.append(Verdict(first.code, first.leg, first.direction, tuple(evidence),
                               confidence, numbers))
        order = list(VerdictCode)
        out.sort(key=lambda v: order.index(v.code))
        return out


def merge(findings: Iterable[Finding]) -> list[Verdict]:
    """One verdict per (code, leg, direction, key numbers), counting the connections."""
    m = Merger()
    for f in findings:
        m.add(f)
    return m.verdicts()


def conn_row(c: Conn, findings: Sequence[Finding], proxied: bool) -> LegReport:
    """One table row per connection (the legs table of the report)."""
    last: Exchange | None = c.exchanges[-1] if c.exchanges else None
    target = (f"{last.target} via {c.server}:{c.sport}" if last is not None
              else f"{c.server}:{c.sport}")
    if last is not None:
        status: Number = last.status if last.status is not None else "none"
    else:
        status = "-"
    tls = "-"
    if c.client_hello is not None:
        tls = "hello+server" if c.server_hello is not None else "hello, no server"
    how = c.end[0] if c.end is not None else "open"
    measurements: dict[str, Number] = {
        "client_port": c.cport,
        "status": status,
        "mss_sent": c.up.mss,
        "mss_received": c.down.mss,
        "max_seg_up": c.up.max_payload,
        "max_seg_down": c.down.max_payload,
        "tls": tls,
        "ended": how,
    }
    notes = [f.code.value for f in findings] or ["ok"]
    notes.append(f"frames {c.first_frame}-{c.last_frame}")
    if c.up.retransmits or c.down.retransmits:
        notes.append(f"retransmissions {c.up.retransmits} up/{c.down.retransmits} down")
    if c.max_gap[0] >= 1.0:
        notes.append(f"idle {c.max_gap[0]:.1f} s between frames {c.max_gap[1]} and "
                     f"{c.max_gap[2]}")
    if c.up.wscale is not None or c.down.wscale is not None:
        notes.append(f"wscale {c.up.wscale}/{c.down.wscale}")
    if c.up.syn_frame is not None:
        notes.append(f"timestamps {'on' if c.up.timestamps and c.down.timestamps else 'off'}")
        notes.append(f"SACK {'on' if c.up.sack and c.down.sack else 'off'}")
    if not c.saw_syn:
        notes.append("capture started mid-connection (no SYN): MSS and options unknown")
    if c.fragments:
        notes.append(f"{c.fragments} IP fragments")
    biggest_mss = max(c.up.mss or 0, c.down.mss or 0)
    if biggest_mss and max(c.up.max_payload, c.down.max_payload) > biggest_mss:
        notes.append("segments larger than any MSS: captured before segmentation offload "
                     "(TSO/GRO); wire sizes were smaller (ethtool -K IFACE tso off gro off)")
    return LegReport(leg_of(c, proxied), target, None, measurements, tuple(notes))
