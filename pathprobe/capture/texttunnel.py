"""Packets inside tunnels on a tcpdump line: GRE, PPP(oE), 6in4 ('IP a > b: GREv0, length
194: IP c.1 > d.2: Flags ...', 'IP a > b: IP6 c > d: ICMP6, packet too big, mtu 1460'). The
innermost packet becomes a line of its own, which the tcpdump reader (``textforms``) reads
again. Pure, no I/O."""

from __future__ import annotations

import re

from pathprobe.capture.textpacket import TIME

# Tunnels inside tunnels a line may show (GRE in GRE ...); deeper ones are not opened.
MAX_TUNNEL_DEPTH = 8

_TD_FLOW = re.compile(r"(?<![\w.:])[0-9A-Za-z][\w.:-]*\.[\w-]+ > [0-9A-Za-z][\w.:-]*\.[\w-]+: "
                      r"Flags \[")
_TD_TIME_AT_START = re.compile(r"^\s*(" + TIME + r")\s")
# An ICMP message after an outer header ("...: IP6 c > d: ICMP6, ..."): a line's own first
# header follows its time, not a colon
_INNER_ICMP = re.compile(r"(?<=: )IP6? [^\s>]+ > [^\s>]+: ICMP")


def inner_tcp(line: str, time_s: str | None, fam: str | None) -> str | None:
    """The innermost TCP packet of a line that shows an outer one first, as a line of its
    own; None if there is none."""
    flows = list(_TD_FLOW.finditer(line))
    last = flows[-1] if flows else None
    if last is None or last.start() == 0:
        return None
    before = line[:last.start()]
    if re.search(r"\bIP6\b|\bIPv6\b|0x86dd|\(0x0057\)", before.rsplit(":", 2)[-1]):
        fam = "IP6"
    elif fam is None:
        fam = "IP"
    return f"{_time_of(before, time_s) or ''} {fam} {line[last.start():]}".strip()


def inner_icmp(line: str, time_s: str | None) -> str | None:
    """The innermost ICMP message of a line that shows an outer packet first (6in4: an
    ICMPv6 Packet Too Big inside IPv4), as a line of its own; None if there is none."""
    found = list(_INNER_ICMP.finditer(line))
    if not found:
        return None
    start = found[-1].start()
    return f"{_time_of(line[:start], time_s) or ''} {line[start:]}".strip()


def _time_of(before: str, time_s: str | None) -> str | None:
    """The time a line starts with (else the one its -v header line gave)."""
    m = _TD_TIME_AT_START.match(before)
    return m.group(1) if m is not None else time_s
