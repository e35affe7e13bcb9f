"""ICMP evidence on its own: pure, no I/O.

A capture may hold no TCP at all and still prove a path MTU: a router's
frag-needed / Packet Too Big (it names the next-hop MTU and quotes the packet
that did not fit), DF pings of several sizes answered or not (the sweep an
engineer does by hand), a DF probe the destination's port-unreachable quotes
(tracepath's and traceroute's last hop: that size crossed), and TTL-exceeded
messages (the routers on the way).
``IcmpLog`` keeps a bounded record of these; ``icmp_findings`` turns it into
verdicts in the vocabulary of ``pathprobe.capture.rules``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pathprobe.capture.conn import LINK_MIN_MTU
from pathprobe.capture.finding import Finding, ev
from pathprobe.capture.rules import MIN_MTU, size_limit
from pathprobe.facts.capture import CaptureFact
from pathprobe.model import Confidence, Direction, Evidence, Leg, Limit, VerdictCode
from pathprobe.wire.headers import IcmpError, IpHeader

PROTO_NAMES = {1: "ICMP", 6: "TCP", 17: "UDP", 58: "ICMPv6"}
ECHO_REQUEST = {4: 8, 6: 128}
ECHO_REPLY = {4: 0, 6: 129}
TOO_BIG_MAX = 256          # frag-needed messages remembered
PINGS_MAX = 20000          # echo requests remembered
HOPS_MAX = 64              # TTL-exceeded messages remembered
REACHED_MAX = 256          # (sender, destination) pairs whose largest DF probe is remembered


@dataclass(frozen=True)
class TooBig:
    """One frag-needed / Packet Too Big and the packet it quotes."""

    frame: int
    family: int
    router: str
    mtu: int | None         # None: the message names none (routers before RFC 1191 send 0)
    src: str                # the quoted packet's sender and receiver
    dst: str
    size: int               # the quoted packet's IP length
    proto: int
    ports: tuple[int, int] | None


@dataclass
class Ping:
    """One echo request and whether its reply was seen."""

    frame: int
    ts: float
    size: int               # IP packet length
    df: bool
    reply_frame: int | None = None


@dataclass(frozen=True)
class Reached:
    """The largest DF probe a destination's port-unreachable quoted: it got there whole."""

    frame: int
    size: int               # the quoted packet's IP length
    proto: int


class IcmpLog:
    """ICMP messages of the capture that no analysed TCP connection claimed."""

    def __init__(self) -> None:
        self.too_big: list[TooBig] = []
        # (family, src, dst, ident, seq) -> the request
        self.pings: dict[tuple[int, str, str, int, int], Ping] = {}
        self.hops: list[tuple[int, str, str]] = []    # (frame, router, quoted destination)
        self.reached: dict[tuple[int, str, str], Reached] = {}   # (family, src, dst) ->
        # too-big messages whose quoted packet fits the MTU they name: the first, how many
        self.fitting: TooBig | None = None
        self.fitting_count = 0
        # ... and those naming an MTU below the least link MTU: the first, how many
        self.below_min: TooBig | None = None
        self.below_min_count = 0

    def error(self, frame: int, ip: IpHeader, err: IcmpError) -> None:
        """An ICMP error not matched to a TCP connection of the capture."""
        q = err.quoted_ip
        if q is None:
            return
        if err.frag_needed and err.mtu and err.mtu >= q.total_length:
            self.fitting = self.fitting or TooBig(frame, ip.version, ip.src, err.mtu, q.src,
                                                  q.dst, q.total_length, q.proto, None)
            self.fitting_count += 1
        elif err.frag_needed and err.mtu and err.mtu < LINK_MIN_MTU.get(q.version, 68):
            self.below_min = self.below_min or TooBig(frame, q.version, ip.src, err.mtu,
                                                      q.src, q.dst, q.total_length, q.proto,
                                                      None)
            self.below_min_count += 1
        elif err.frag_needed and len(self.too_big) < TOO_BIG_MAX and (
                err.mtu or q.total_length > MIN_MTU.get(q.version, 576)):
            # (without an MTU, the quoted packet's size is the bound: one every path
            # carries proves nothing)
            self.too_big.append(TooBig(frame, ip.version, ip.src, err.mtu, q.src, q.dst,
                                       q.total_length, q.proto, err.quoted_tcp_ports))
        elif err.time_exceeded and len(self.hops) < HOPS_MAX:
            self.hops.append((frame, ip.src, q.dst))
        elif err.port_unreachable and ip.src == q.dst and q.df and not q.more_fragments \
                and not q.frag_offset:
            self._reached(frame, q)

    def _reached(self, frame: int, q: IpHeader) -> None:
        """The destination itself answered a whole DF packet: that size crossed the path
        (one every path carries, a DNS query say, proves nothing)."""
        if q.total_length <= MIN_MTU.get(q.version, 576):
            return
        key = (q.version, q.src, q.dst)
        best = self.reached.get(key)
        if (best is None and len(self.reached) < REACHED_MAX) or (
                best is not None and q.total_length > best.size):
            self.reached[key] = Reached(frame, q.total_length, q.proto)

    def echo(self, frame: int, ts: float, ip: IpHeader, icmp: bytes | memoryview) -> None:
        """An echo request or reply (``icmp`` starts at the ICMP type byte)."""
        if len(icmp) < 8:
            return
        kind = icmp[0]
        ident, seq = (icmp[4] << 8) | icmp[5], (icmp[6] << 8) | icmp[7]
        if kind == ECHO_REQUEST.get(ip.version):
            key = (ip.version, ip.src, ip.dst, ident, seq)
            if key not in self.pings and len(self.pings) < PINGS_MAX:
                # (a request its sender fragmented crossed as fragments that fit: its
                # size says nothing about the path's MTU)
                self.pings[key] = Ping(frame, ts, ip.total_length,
                                       ip.df and not ip.more_fragments)
        elif kind == ECHO_REPLY.get(ip.version):
            ping = self.pings.get((ip.version, ip.dst, ip.src, ident, seq))
            if ping is not None and ping.reply_frame is None:
                ping.reply_frame = frame

    def empty(self) -> bool:
        return not (self.too_big or self.pings or self.hops or self.fitting or self.reached)


LegOf = Callable[[str, str], Leg]   # (sender, receiver) -> the leg a packet travels


def icmp_findings(log: IcmpLog, leg_of: LegOf) -> list[Finding]:
    """PMTU_REDUCED from routers' messages, PMTU_BLACKHOLE from DF ping sweeps."""
    out: list[Finding] = []
    sweeps = _sweeps(log)
    signalled: set[tuple[str, str]] = set()
    groups: dict[tuple[str, str, int | None], list[TooBig]] = {}
    for tb in log.too_big:
        groups.setdefault((tb.src, tb.dst, tb.mtu), []).append(tb)
    for (src, dst, named), msgs in groups.items():
        signalled.add((src, dst))
        first = msgs[0]
        what = PROTO_NAMES.get(first.proto, f"protocol {first.proto}")
        if named is None:   # no MTU named: less than the smallest packet that did not fit
            mtu = min(tb.size for tb in msgs) - 1
            said = ev(CaptureFact.ICMP_FRAG_NEEDED_NO_MTU, first.frame, router=first.router,
                      size=mtu + 1, sender=src, count=len(msgs))
        else:
            mtu = named
            said = ev(CaptureFact.ICMP_FRAG_NEEDED, first.frame, router=first.router, mtu=mtu,
                      size=first.size, sender=src, count=len(msgs))
        evidence = [said,
                    ev(CaptureFact.ICMP_QUOTES, first.frame, proto=what, src=src, dst=dst,
                       size=first.size,
                       ports=f"{first.ports[0]} > {first.ports[1]}" if first.ports else "-")]
        answered = [p for p in sweeps.get((first.family, src, dst), []) if p.reply_frame]
        passed = max((p.size for p in answered if p.size <= mtu), default=None)
        probe = log.reached.get((first.family, src, dst))
        if probe is not None and probe.size <= mtu and (passed is None or probe.size > passed):
            passed = probe.size
            evidence.append(ev(CaptureFact.PROBE_REACHED, probe.frame, size=probe.size,
                               proto=PROTO_NAMES.get(probe.proto, f"protocol {probe.proto}"),
                               dst=dst))
        elif passed == mtu:
            evidence.append(ev(CaptureFact.PING_AT_MTU_ANSWERED, size=mtu))
        limit = Limit(mtu=mtu) if passed == mtu else Limit(pmtu_low=passed, pmtu_high=mtu,
                                                                exact=False)
        ipf = "icmpv6.type==2" if first.family == 6 else "icmp.type==3 && icmp.code==4"
        out.append(Finding(VerdictCode.PMTU_REDUCED, leg_of(src, dst), Direction.UP,
                           {"router": first.router, "wireshark_filter": ipf},
                           evidence, Confidence.MEASURED, key_values=(mtu, dst), limit=limit))
    for (family, src, dst), pings in sweeps.items():
        if (src, dst) in signalled:
            continue
        f = _sweep_finding(family, src, dst, pings, leg_of)
        if f is not None:
            out.append(f)
    return out


def icmp_notes(log: IcmpLog, findings: list[Finding]) -> list[Evidence]:
    """DF pings that proved no fault: the largest size answered per destination (positive
    evidence: packets of that size cross), and the TTL-exceeded hops."""
    judged = {f.pinged for f in findings if f.pinged is not None}
    out: list[Evidence] = []
    for (_family, _src, dst), pings in _sweeps(log).items():
        answered = [p for p in pings if p.reply_frame is not None]
        if answered and dst not in judged:
            biggest = max(answered, key=lambda p: p.size)
            out.append(ev(CaptureFact.PING_ANSWERED, biggest.frame, size=biggest.size, dst=dst,
                          count=len(answered)))
    cited = {e.frames for f in findings for e in f.evidence if e.fact is CaptureFact.PROBE_REACHED}
    for (_family, _src, dst), probe in log.reached.items():
        if (probe.frame,) not in cited:
            out.append(ev(CaptureFact.PROBE_REACHED, probe.frame, size=probe.size, dst=dst,
                          proto=PROTO_NAMES.get(probe.proto, f"protocol {probe.proto}")))
    for frame, router, dst in log.hops[:8]:
        out.append(ev(CaptureFact.TTL_EXCEEDED, frame, router=router, dst=dst))
    tb = log.fitting
    if tb is not None:
        out.append(ev(CaptureFact.ICMP_TOO_BIG_FITS, tb.frame, router=tb.router, mtu=tb.mtu,
                      size=tb.size, count=log.fitting_count))
    tb = log.below_min
    if tb is not None:
        out.append(ev(CaptureFact.ICMP_MTU_BELOW_LINK_MIN, tb.frame, router=tb.router,
                      mtu=tb.mtu, family=tb.family, minimum=LINK_MIN_MTU[tb.family],
                      count=log.below_min_count))
    return out


def _sweeps(log: IcmpLog) -> dict[tuple[int, str, str], list[Ping]]:
    """DF echo requests per (family, sender, receiver), in capture order."""
    out: dict[tuple[int, str, str], list[Ping]] = {}
    for (family, src, dst, _i, _s), p in log.pings.items():
        if p.df:
            out.setdefault((family, src, dst), []).append(p)
    return out


def _sweep_finding(family: int, src: str, dst: str, pings: list[Ping], leg_of: LegOf
                   ) -> Finding | None:
    """A black hole if DF pings up to a size are answered and every larger one is not,
    with smaller ones still answered after the first large loss (so the host is up)."""
    answered = [p for p in pings if p.reply_frame is not None]
    lost = [p for p in pings if p.reply_frame is None]
    if not answered or not lost:
        return None
    passed = max(p.size for p in answered)
    too_big = [p for p in lost if p.size > passed]
    if not too_big:
        return None      # only some pings of sizes that also passed were lost: loss
    failing = min(p.size for p in too_big)
    if failing <= MIN_MTU.get(family, 576):
        return None      # every path carries that: loss, not a path MTU
    # Small pings lost too: a lossy path, so only inferred.
    confidence = (Confidence.INFERRED if any(p.size <= passed for p in lost)
                  else Confidence.MEASURED)
    first_lost = min(too_big, key=lambda p: p.frame)
    later_ok = any(p.frame > first_lost.frame for p in answered)
    if not later_ok or len(too_big) == 1:
        # the host may simply have gone away; or one lost packet looks the same
        confidence = Confidence.INFERRED
    limit = size_limit(passed, failing)
    biggest = max(answered, key=lambda p: p.size)
    evidence = [ev(CaptureFact.PING_ANSWERED, biggest.frame, size=passed, dst=dst,
                   count=len(answered)),
                ev(CaptureFact.PING_UNANSWERED, first_lost.frame, size=failing, dst=dst,
                   count=len(too_big)),
                ev(CaptureFact.PING_NO_ICMP)]
    if later_ok:
        evidence.append(ev(CaptureFact.PING_SMALL_LATER_OK))
    if len(too_big) == 1:
        evidence.append(ev(CaptureFact.PING_LARGER_ONCE))
    ipf = "ipv6.addr" if family == 6 else "ip.addr"
    echo = "icmpv6.type==128 || icmpv6.type==129" if family == 6 else "icmp.type==8 || " \
        "icmp.type==0"
    return Finding(VerdictCode.PMTU_BLACKHOLE, leg_of(src, dst), None,
                   {"largest_answered": passed, "smallest_unanswered": failing,
                    "wireshark_filter": f"{ipf}=={dst} && ({echo})"},
                   evidence, confidence, key_values=(limit.pmtu_low, limit.pmtu_high, dst),
                   limit=limit, pinged=dst)
