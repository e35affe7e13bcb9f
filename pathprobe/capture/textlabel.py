"""A text's report in its own words: names for the stand-in addresses, lines for frames,
no port where the text showed none.

A text names hosts where a pcap has addresses (tcpdump without -n, a pasted HTTP head
whose client and proxy no line shows): ``textframes`` gives each name a stand-in address
(240.0.0.0/4, 100::/64) so that the tracker and rules run unchanged, and port 0 to the
ends of heads that no packet line shows. The report turns them back here."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping

from pathprobe.model import Evidence, LegReport, Number, Step, Verdict
from pathprobe.wire.hostport import HostPort

# Values that hold a port: 0 there is a port the text did not show (see text.py's
# unnamed ends; TCP has no port 0 on the wire).
_PORTS = frozenset({"cport", "sport", "port", "client_port"})


class Relabel:
    """Evidence, verdicts and rows of a text: stand-in addresses back to the names (a
    name needs no brackets before a port, as an IPv6 stand-in had), 'frame' called
    'line', and a port 0 the text never showed left out."""

    def __init__(self, names: Mapping[str, str]) -> None:
        self.names = names
        keys = "|".join(map(re.escape, sorted(names, key=len, reverse=True)))
        self.pattern = (re.compile(rf"(?<![0-9A-Za-z.:\[])(?:\[({keys})\]|({keys}))"
                                   r"(?![0-9A-Za-z]|\.\d)(:0(?![0-9]))?") if keys else None)

    def _name(self, m: re.Match[str]) -> str:
        return self.names[m.group(1) or m.group(2)]

    def text(self, s: str) -> str:
        if self.pattern is None:
            return s
        return self.pattern.sub(self._name, s)

    def values(self, values: Mapping[str, Number]) -> dict[str, Number]:
        return {k: (self.text(v) if isinstance(v, str)
                    else None if k in _PORTS and v == 0 else v)
                for k, v in values.items()}

    def evidence(self, ev: Evidence) -> Evidence:
        values = self.values(ev.values)
        if ev.step is Step.CAPTURE:
            values["unit"] = "line"
        return dataclasses.replace(ev, values=values)

    def verdict(self, v: Verdict) -> Verdict:
        numbers = {k: n for k, n in self.values(v.numbers).items() if k != "wireshark_filter"}
        ends = v.endpoints   # (the advice to measure names the server: its name, not a stand-in)
        if ends is not None:
            ends = (HostPort(self.names.get(ends[0].host, ends[0].host), ends[0].port),
                    HostPort(self.names.get(ends[1].host, ends[1].host), ends[1].port))
        return dataclasses.replace(v, evidence=tuple(self.evidence(e) for e in v.evidence),
                                   numbers=numbers, endpoints=ends)

    def leg(self, leg: LegReport) -> LegReport:
        return dataclasses.replace(leg, target=self.text(leg.target),
                                   measurements=self.values(leg.measurements),
                                   notes=tuple(self.evidence(e) for e in leg.notes))
