"""Linux traceroute's output pasted as text (Dmitry Butskoy's, which most distributions
ship; traceroute6 too; BusyBox's prints the same). Each probe a hop line shows becomes the
UDP probe and the ICMP message that answered it, as tracepath's do
(``pathprobe.capture.texttrace``): a router's TTL exceeded, the destination's port
unreachable, a frag-needed ('!F-1400').

Pure, no I/O. Sizes: the header's 'N byte packets', and with --mtu each 'F=N', the size
the hop needed (the first one is the host's own MTU; each later one means a router, which
the output does not name, said the previous size was too big). DF: set with -F and
--mtu (and IPv6 is never fragmented on the way); without them an IPv4 probe proves no
size. -I's probes are pings, answered by the destination's echo replies of their size;
other probes (-T's SYNs, -M, -P) count only for the routers' answers. Without a command
line the output does not show which, and UDP is assumed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from pathprobe.capture.textpacket import TextForm, TextPacket, number
from pathprobe.capture.textping import ROUTER_UNSHOWN
from pathprobe.capture.texttrace import (
    HOPS_MAX,
    TRACER,
    Hop,
    Probe,
    Run,
    RunReader,
)

_COMMAND = re.compile(r"^(?:.*?[$#>]\s*)?(?:sudo\s+)?traceroute(?P<six>6)?(?P<args>(?:\s+\S+)*)"
                      r"\s*$")
_HEAD = re.compile(r"^traceroute6? to (?P<name>\S+) \((?P<addr>[^)\s]+)\), \d+ hops max, "
                   r"(?P<size>\d+) byte packets")
_HOP = re.compile(r"^(?P<hop>\d{1,3})\s+(?P<rest>\S.*)$")
# Cisco IOS/ASA/FTD traceroute's header: the 'traceroute' command before it is not Linux's
CISCO_HEAD = re.compile(r"^\s*Tracing the route to\s")
# one probe: a star, or (who answered, if not the last one named) its time and marks; -A
# adds '[AS...]', -e "'-5'" and the like
_PROBE = re.compile(r"\s*(?:(?P<star>\*)|(?:(?P<who>[^\s()*\[]+)(?: \((?P<addr>[^)\s]+)\))?"
                    r"(?: \[[^\]]*\])?(?: '[^']*')?\s+)?(?P<ms>\d+(?:\.\d+)?) ms"
                    r"(?P<marks>(?:\s+(?:F=\d+|![A-Z]?(?:-?\d+)?))*))")
_MARK = re.compile(r"F=(?P<f>\d+)|!F-?(?P<mtu>\d+)?|!(?P<error>[A-Z]?\d*)")
_OPTION_VALUE = frozenset("fgimNptlwqszMOP")   # options of traceroute that take a value


@dataclass
class RouteOutput(RunReader):
    """Reads a text's traceroute output line by line (``feed``), yielding TextPackets."""

    dst: str = ""                     # the header's address (who answers it: the end)
    command: _Command | None = None   # the last command line's arguments
    mtu_seen: bool = False            # an F= came before in this run (the first: the host's)

    def feed(self, line: str, lineno: int) -> list[TextPacket] | None:
        """The packets a line shows, or None when it is no traceroute output."""
        text = line.strip()
        head = _HEAD.match(text)
        if head is not None:
            out = self.close()
            self._start(head.group("name"), head.group("addr"), number(head.group("size"), 0x10000))
            return out
        m = _COMMAND.match(text)
        if m is not None:
            out = self.close()
            self.command = _arguments(m.group("args").split(), bool(m.group("six")))
            return out
        if CISCO_HEAD.match(text) and self.run is None:
            self.command = None           # (its probes are Cisco's: textrefuse says so)
            return None
        hop = _HOP.match(text) if self.run is not None or self.command is not None else None
        probes = _probes(hop.group("rest")) if hop is not None else None
        if hop is None or probes is None:
            return None
        # (no run yet: the header went to stderr, the command line says what it would)
        run = self.run if self.run is not None else self._start(None, None, None)
        n = number(hop.group("hop")) or 1
        for star, who, marks in probes:
            if len(run.hops) < HOPS_MAX:
                self._probe(run, lineno, n, None if star else who, marks)
        return []

    def _start(self, name: str | None, addr: str | None, size: int | None) -> Run:
        """A run, from its header, else from the command line before it."""
        c = self.command or _Command(None, None, None, False)
        name, addr = name or c.target, addr or c.target
        six = c.six or ":" in (addr or "")
        default = 65000 if c.mtu else 80 if six else 60
        self.dst, self.mtu_seen, self.command = addr or "", False, None
        self.runs += 1
        # (the header's size is the one sent: -T sends 60 bytes whatever the command said)
        self.run = Run(name, size or c.size or default, six, c.df, TextForm.TRACEROUTE,
                       c.probe, self.runs & 0xFFFF)
        return self.run

    def _probe(self, run: Run, lineno: int, hop: int, who: str | None, marks: str) -> None:
        """One probe's answer (``who`` None: none came), after the size its F= says."""
        found = list(_MARK.finditer(marks))
        for mark in found:
            f = number(mark.group("f"), 0x10000)
            if f and not self.mtu_seen:   # the host's own MTU (it refused 65000 bytes)
                run.hops.append(Hop(lineno, hop, TRACER, run.size, f, False))
                run.size, self.mtu_seen = f, True
            elif f and f < run.size:      # a router said the last size did not fit
                run.hops.append(Hop(lineno, hop, ROUTER_UNSHOWN, run.size, f, False))
                run.size = f
        too_big = next((m for m in found if m.group(0).startswith("!F")), None)
        if too_big is not None and who is not None:
            mtu = number(too_big.group("mtu"), 0x10000)
            if mtu:   # (a bare '!F' names no MTU: it says nothing this reading can use)
                run.hops.append(Hop(lineno, hop, who, run.size, mtu, False))
            return
        if any(m.group("error") is not None for m in found):
            return                        # (unreachable marks say nothing of size)
        run.hops.append(Hop(lineno, hop, who, run.size, None, who == self.dst))


def _probes(rest: str) -> list[tuple[bool, str | None, str]] | None:
    """(no answer?, who answered, marks) of each probe of a hop line; None when the line is
    something else. A probe that names nobody was answered by the last one named."""
    out: list[tuple[bool, str | None, str]] = []
    who: str | None = None
    pos = 0
    while pos < len(rest) and rest[pos:].strip():
        m = _PROBE.match(rest, pos)
        if m is None or m.end() == pos:
            return None
        if m.group("who"):
            who = m.group("addr") or m.group("who")
        if not m.group("star") and who is None:
            return None
        out.append((bool(m.group("star")), who, m.group("marks") or ""))
        pos = m.end()
    return out or None


@dataclass(frozen=True)
class _Command:
    """What a traceroute command line says of the run it starts."""

    target: str | None
    size: int | None                  # the packet length after the host
    df: bool | None                   # -F or --mtu (None: no command line shown)
    six: bool
    mtu: bool = False                 # --mtu: sizes from 65000 down, F= at each change
    probe: Probe = Probe.UDP          # -I: pings; -T, -M, -P: others


_LONG_VALUE = frozenset({"port", "sport", "fwmark", "sim-queries", "first", "max-hops",
                         "queries", "wait", "tos", "interface", "gateway", "source",
                         "sendwait", "module", "protocol"})
_SHORT_PROBE = {"I": Probe.ECHO, "T": Probe.OTHER, "U": Probe.UDP}
_LONG_PROBE = {"icmp": Probe.ECHO, "tcp": Probe.OTHER, "udp": Probe.UDP}
# -M's (--module's) methods: 'default' and 'udp' send UDP, 'icmp' pings
_MODULE = {"default": Probe.UDP, "udp": Probe.UDP, "icmp": Probe.ECHO}


def _arguments(args: Sequence[str], six: bool) -> _Command:
    """traceroute's arguments: DF with -F or --mtu; the length is the argument after the
    host; the kind of probe from -I, -T, -U, -M and -P."""
    df = mtu = False
    probe = Probe.UDP
    positional: list[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        if a in ("--mtu", "--dont-fragment"):
            df, mtu = True, mtu or a == "--mtu"
        elif a.startswith("--"):
            name, _eq, value = a[2:].partition("=")
            probe = _LONG_PROBE.get(name, probe)
            if name in _LONG_VALUE and not _eq:
                value = args[i + 1] if i + 1 < len(args) else ""
                i += 1                    # (its value is the next word)
            if name == "module":
                probe = _MODULE.get(value, Probe.OTHER)
            elif name == "protocol":
                probe = Probe.OTHER
        elif a.startswith("-") and len(a) > 1:
            for k, c in enumerate(a[1:]):
                if c in _OPTION_VALUE:    # the value: the rest of the word, or the next one
                    value = a[k + 2:] or (args[i + 1] if i + 1 < len(args) else "")
                    i += 0 if a[k + 2:] else 1
                    if c in "MP":
                        probe = _MODULE.get(value, Probe.OTHER) if c == "M" else Probe.OTHER
                    break
                df = df or c == "F"
                six = six or c == "6"
                probe = _SHORT_PROBE.get(c, probe)
        else:
            positional.append(a)
        i += 1
    size = number(positional[1], 0x10000) if len(positional) > 1 else None
    return _Command(positional[0] if positional else None, size, df, six, mtu, probe)
