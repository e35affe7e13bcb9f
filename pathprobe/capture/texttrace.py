"""tracepath's output pasted as text (iputils; tracepath6 and older versions too), and the
run model and quotes traceroute's reader (``textroute``) and tcpdump's lines share. Each
hop line becomes the DF UDP probe it answers and the ICMP message that answered it: a
router's TTL exceeded, a frag-needed / Packet Too Big ('pmtu N'), or the destination's
port unreachable ('reached'). The rules of ``pathprobe.capture.icmp`` then judge them
as they judge a capture of the same run (issue 20 items 5 and 6).

Pure, no I/O. tracepath sends one size at a time: the largest the host knows fits (its
interface's MTU, or one a router named), lowered at each 'pmtu N'. So 'reached' proves
that size crossed, 'pmtu N' bounds the path MTU from above, and 'no reply' to the end
says only that nothing answered: a size black hole and silent routers look the same.
The output shows neither the sender's address nor, without a command line or 'reached',
the destination's: stand-ins name them.
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from pathprobe.capture.rules import MIN_MTU
from pathprobe.capture.textpacket import Echo, IcmpKind, TextForm, TextPacket, TextParse, number
from pathprobe.capture.textping import ROUTER_UNSHOWN
from pathprobe.facts.capture import CaptureFact
from pathprobe.facts.text import TextFact
from pathprobe.model import Evidence, Step, Verdict

TRACER = "the tracing host"          # the sender, which tracepath does not show
TRACE_FORMS = frozenset({TextForm.TRACEPATH, TextForm.TRACEROUTE})
DEST_UNSHOWN = "the traced host"     # the destination, when nothing shows it
ETHERNET_MTU = 1500                  # a host's own MTU below this is itself a reduced path MTU
FIRST_PROBE = 0xFFFF                 # tracepath's first size (without -l): any MTU refuses it
HOPS_MAX = 255                       # hop lines read per run
PROBE_SPORT, PROBE_DPORT = 33434, 44444   # stand-in ports (tracepath's base port is 44444)

_COMMAND = re.compile(r"^(?:.*?[$#>]\s*)?(?:sudo\s+)?tracepath(?P<six>6)?(?P<args>(?:\s+\S+)*)"
                      r"\s*$")
_HOP = re.compile(r"^(?P<hop>\d{1,3})(?P<unsure>\?)?:\s+(?P<who>\[LOCALHOST\]|no reply|send "
                  r"failed|(?:\S+ )?\((?P<addr>[^)\s]+)\)|(?P<bare>\S+))(?P<rest>.*)$")
# what may follow the address: asymmetry, the time, the MTU, the end, an error mark
_REST = re.compile(r"^(?:\s+(?:asymm\s+\d+|\d+(?:\.\d+)?ms|pmtu (?P<pmtu>\d+)|(?P<reached>"
                   r"reached)|(?P<error>![HNAP])|\(This broken router returned corrupted "
                   r"payload\)))*\s*$")
_RESUME = re.compile(r"^(?:Resume: pmtu \d+(?: hops \d+)?(?: back \d+)?|Too many hops: pmtu "
                     r"\d+)\s*$")
_OPTION_VALUE = frozenset("lmp")     # options of tracepath that take a value


@dataclass
class Hop:
    """What one hop line showed (``who``: None for no reply, TRACER for [LOCALHOST])."""

    line: int
    hop: int
    who: str | None
    size: int                        # the probe's IP length
    pmtu: int | None
    reached: bool


class Probe(enum.Enum):
    """What a run's probes are, which decides what the destination's answer proves."""

    UDP = "udp"              # answered by a port unreachable that quotes the probe
    ECHO = "echo"            # traceroute -I: pings, answered by echo replies of their size
    OTHER = "other"          # -T (SYNs), -M/-P: routers' answers count, the destination's not


@dataclass
class Run:
    """One run of tracepath or traceroute: what its hop lines showed so far."""

    target: str | None               # the command line's destination
    size: int                        # the size of the next probe
    six: bool
    df: bool | None = True           # tracepath's probes are DF; traceroute's only with -F
    form: TextForm = TextForm.TRACEPATH
    probe: Probe = Probe.UDP
    ident: int = 0                   # the echo identifier of -I's pings (a stand-in)
    hops: list[Hop] = field(default_factory=list)


# (line, hop, probe size, hops, the program) of a run nothing answered from a hop on
Silent = tuple[int, int, int, int, str]


@dataclass
class RunReader:
    """What tracepath's and traceroute's readers share: the run being read, how many
    began, and those nothing answered from some hop on (see ``run_packets``)."""

    runs: int = 0
    run: Run | None = None
    silent: list[Silent] = field(default_factory=list)

    def close(self) -> list[TextPacket]:
        """End the current run: its probes and answers (``run_packets``)."""
        run, self.run = self.run, None
        return run_packets(run, self.silent) if run is not None else []

    def finish(self, parse: TextParse) -> None:
        parse.trace_runs += self.runs
        parse.trace_silent += self.silent


@dataclass
class TraceOutput(RunReader):
    """Reads a text's tracepath output line by line (``feed``), yielding TextPackets."""

    command: tuple[str | None, int | None, bool] | None = None   # (target, -l, -6)

    def feed(self, line: str, lineno: int) -> list[TextPacket] | None:
        """The packets a line shows, or None when it is no tracepath output."""
        text = line.strip()
        m = _COMMAND.match(text)
        if m is not None:
            out = self.close()
            self.command = _arguments(m.group("args").split(), bool(m.group("six")))
            return out
        hop = _HOP.match(text)
        rest = _REST.match(hop.group("rest")) if hop is not None else None
        if hop is None or rest is None:
            return self.close() if _RESUME.match(text) else None
        run = self.run
        local = hop.group("who") == "[LOCALHOST]"
        if run is None:
            if not (local or self.command is not None or rest.group("pmtu")):
                return None           # ('1: lo: <LOOPBACK,UP>' and the like are no hops)
            target, size, six = self.command or (None, None, False)
            self.runs += 1
            run = self.run = Run(target, size or FIRST_PROBE, six)
            self.command = None
        if len(run.hops) >= HOPS_MAX:
            return []
        who = hop.group("who")
        pmtu = number(rest.group("pmtu"), 0x10000)
        # (before [LOCALHOST], tracepath printed the kernel's refusal of its first probe,
        # too big for any MTU, with an address: the host's own, or its gateway's)
        local = local or bool(pmtu and run.size == FIRST_PROBE and not run.hops)
        name = (TRACER if local else None if who in ("no reply", "send failed")
                else hop.group("addr") or hop.group("bare"))
        if who == "send failed" or rest.group("error") or (rest.group("pmtu") and not pmtu):
            return []                 # (unreachable marks say nothing of size)
        run.hops.append(Hop(lineno, number(hop.group("hop")) or 1, name, run.size, pmtu,
                            bool(rest.group("reached"))))
        if pmtu:
            run.size = pmtu
        return []


def run_packets(run: Run, silent: list[Silent]) -> list[TextPacket]:
    """A run's probes and the answers its hop lines show, now that its destination is
    known (the address that answered as the destination, else the command line's, else a
    stand-in); a run that nothing answered from some hop on is added to ``silent``."""
    reached = next((h.who for h in run.hops if h.reached and h.who), None)
    dst = reached or run.target or DEST_UNSHOWN
    family = 6 if run.six or ":" in dst or any(":" in (h.who or "") for h in run.hops) else 4
    out: list[TextPacket] = []
    named: set[int] = set()
    for n, h in enumerate(run.hops):   # (tracepath's ports go up by one a probe)
        probe = _probe(run, h, n, dst, family)
        if h.who == TRACER:       # the host refused it: only a low MTU of its own counts
            if h.pmtu and h.pmtu < ETHERNET_MTU and h.pmtu not in named:
                out += [probe, _answer(probe, TRACER, None, h.pmtu)]
            continue
        out.append(probe)
        if h.who is None:
            continue
        if h.pmtu:
            named.add(h.pmtu)
            out.append(_answer(probe, h.who, None, h.pmtu))
        elif not h.reached:
            out.append(_answer(probe, h.who, IcmpKind.TTL_EXCEEDED, None))
        elif probe.echo is not None:    # -I: an echo reply of the ping's size
            out.append(dataclasses.replace(probe, src=h.who, dst=TRACER, echo=Echo(
                False, probe.echo.ident, probe.echo.seq)))
        elif run.probe is Probe.UDP:    # (a SYN's answer, or another's, is not modelled)
            out.append(_answer(probe, h.who, IcmpKind.PORT_UNREACHABLE, None))
    last = max((i for i, h in enumerate(run.hops) if h.who is not None), default=-1)
    tail = run.hops[last + 1:]    # no reply from there to the end
    if tail and reached is None and (run.df or family == 6) and tail[0].size > MIN_MTU[family]:
        program = "traceroute" if run.form is TextForm.TRACEROUTE else "tracepath"
        silent.append((tail[0].line, tail[0].hop, tail[0].size, len({h.hop for h in tail}),
                       program))
    return out

def _arguments(args: Sequence[str], six: bool) -> tuple[str | None, int | None, bool]:
    """(destination, first probe size from -l, -6) of tracepath's arguments."""
    target: str | None = None
    size: int | None = None
    i = 0
    while i < len(args):
        a = args[i]
        if a.startswith("-") and len(a) > 1:
            flags = a[1:]
            for k, c in enumerate(flags):
                if c in _OPTION_VALUE:     # the value: the rest of the word, or the next one
                    value = flags[k + 1:] or (args[i + 1] if i + 1 < len(args) else "")
                    i += 0 if flags[k + 1:] else 1
                    if c == "l":
                        size = number(value, 0x10000)
                    break
                six = six or c == "6"
        else:
            target = a
        i += 1
    return target, size, six


def _probe(run: Run, h: Hop, n: int, dst: str, family: int) -> TextPacket:
    """The ``n``-th probe of a run: a UDP datagram (or its stand-in), or -I's ping."""
    df = True if family == 6 else run.df
    if run.probe is Probe.ECHO:
        return TextPacket(h.line, run.form, TRACER, 0, dst, 0, 0, family=family,
                          echo=Echo(True, run.ident, n & 0xFFFF), ip_len=h.size, df=df)
    return TextPacket(h.line, run.form, TRACER, PROBE_SPORT, dst, PROBE_DPORT + n, 0,
                      family=family, ip_len=h.size, df=df, udp=True)


def _answer(probe: TextPacket, who: str, kind: IcmpKind | None, mtu: int | None) -> TextPacket:
    """The ICMP message ``who`` sent back for ``probe`` (``mtu``: a frag-needed)."""
    return TextPacket(probe.line, probe.form, who, 0, TRACER, 0, 0, family=probe.family,
                      icmp_mtu=mtu, icmp_kind=kind, icmp_orig=probe.dst, quoted=probe,
                      quoted_len=probe.ip_len)


def quote_probes(packets: list[TextPacket]) -> list[TextPacket]:
    """``packets`` with each port unreachable and TTL exceeded that shows no quote (tcpdump
    without -v, ICMPv6 always) given the probe it answers: the last UDP datagram from the
    prober to the port a port unreachable names (to the destination TTL exceeded names, else
    to anywhere). One nothing can have drawn is left out."""
    last: dict[tuple[str, str, int], TextPacket] = {}   # (sender, receiver, port); port 0: any
    out = []
    for p in packets:
        if p.udp:
            last[(p.src, p.dst, p.dport)] = last[(p.src, p.dst, 0)] = last[(p.src, "", 0)] = p
        elif p.icmp_kind is not None and p.quoted is None:
            p.quoted = last.get((p.dst, p.icmp_orig, p.dport) if p.icmp_orig else (p.dst, "", 0))
            if p.quoted is None or not p.quoted.udp:
                continue
            p.quoted_len = p.quoted.ip_len
        elif p.icmp_kind is not None and p.quoted is not None and p.quoted.tcp:
            continue   # (quoting a TCP SYN: traceroute -T)
        out.append(p)
    return out


# --- what the report adds ----------------------------------------------------------------

def trace_notes(parse: TextParse) -> list[Evidence]:
    """The runs that nothing answered from some hop on, and the probes that reached their
    destination with no DF flag shown: why they prove no size."""
    out = [Evidence(TextFact.TRACE_NO_REPLY, Step.CAPTURE,
                    {"line": line, "hop": hop, "size": size, "count": count, "tool": tool})
           for line, hop, size, count, tool in parse.trace_silent[:4]]
    unshown = [p.line for p in parse.packets if p.icmp_kind is IcmpKind.PORT_UNREACHABLE
               and p.quoted is not None and p.quoted.df is None
               and (p.quoted.ip_len or 0) > MIN_MTU[4]]   # (a DNS query proves nothing anyway)
    if unshown:
        out.append(Evidence(TextFact.PROBE_DF_UNSHOWN, Step.CAPTURE,
                            {"count": len(unshown), "line": unshown[0]}))
    return out


def trace_told(v: Verdict, packets: Sequence[TextPacket]) -> Verdict:
    """Evidence from tracepath's and traceroute's output: the host's own MTU is no router's
    message, traceroute's F= change names no router, and the ports quoted are stand-ins
    (the output shows none)."""
    too_big = {p.line: p for p in packets if p.form in TRACE_FORMS and p.icmp_mtu is not None}
    if not too_big:
        return v
    out = []
    for e in v.evidence:
        p = too_big.get(e.frames[0]) if e.frames else None
        if p is not None and e.fact is CaptureFact.ICMP_FRAG_NEEDED and p.src in _TOLD:
            e = Evidence(_TOLD[p.src], Step.CAPTURE, e.values, e.frames)
        elif p is not None and e.fact is CaptureFact.ICMP_QUOTES:
            if p.src == TRACER:
                continue              # (the refused probe's size is the program's, not the path's)
            e = dataclasses.replace(e, values={**e.values, "ports": "-"})
        out.append(e)
    return dataclasses.replace(v, evidence=tuple(out))


_TOLD = {TRACER: TextFact.TRACE_LOCAL_MTU, ROUTER_UNSHOWN: TextFact.TRACE_MTU_CHANGE}
