"""Why a text shows no packet to analyse: the one-line error for each kind of text that
gets here (exit 2), with what to paste instead.

Pure: the text's lines and its parse in, a sentence out. Only texts that yielded no packet
are asked, so recognising a tool's output here cannot change what a readable text says.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pathprobe.capture.textforms import quiet_line
from pathprobe.capture.textpacket import TextParse
from pathprobe.capture.textroute import CISCO_HEAD

# Windows tracert (and pathping): "Tracing route to NAME [ADDR]", "  1    <1 ms    <1 ms
# <1 ms  10.0.2.4" (the three times before the address; Linux traceroute prints it first)
_TRACERT = re.compile(r"^\s*(?:\S*>\s*)?(?:tracert|pathping)(?:\.exe)?"
                      r"(?:\s+[-/]\w\b(?:\s+\d+)?)*\s+\S+\s*$|^\s*Tracing route to\s", re.I)
_TRACERT_HOP = re.compile(r"^\s*\d{1,3}\s+(?:(?:<?\d+\s?ms|\*)\s+){3}\S")
# Cisco IOS, ASA and FTD traceroute: "Tracing the route to ADDR", "  1 10.0.1.1 1 msec 1 msec *"
_CISCO_HOP = re.compile(r"^\s*\d{1,3}\s+\S+.*\d+ msec\b")
# Linux traceroute's hops without its first line: "  1  gw (10.0.0.1)  0.512 ms  0.430 ms *"
_LINUX_HOP = re.compile(r"^\s*\d{1,3}\s+\S+(?: \([^)\s]+\))?\s+(?:\d+(?:\.\d+)? ms\s+|\*\s+)*"
                        r"\d+(?:\.\d+)? ms\b")
# mtr: its command, its report's header "HOST: fmc  Loss%  Snt ...", a hop "  1.|-- 10.0.0.1"
_MTR = re.compile(r"^(?:.*?[$#>]\s*(?:sudo\s+)?mtr\s|\s*(?:sudo\s+)?mtr\s+-)"
                  r"|^\s*HOST:\s+\S+\s+Loss%|^\s*\d{1,3}\.\|--\s")


def no_packet_error(name: str, lines: Sequence[str], parsed: TextParse) -> str | None:
    """The error for a text that shows no packet (None when it shows one)."""
    if parsed.packets:
        return None
    if any(quiet_line(ln) for ln in lines[:1000]):
        return (f"{name}: 'tcpdump -q' lines show no TCP flags, sequence numbers or options, "
                "which the analysis needs: print the capture without -q ('tcpdump -n -r FILE') "
                "or give the pcap")
    if parsed.other_protocols:
        return None
    if parsed.http_orphans:
        return (f"{name}: HTTP answers only (first: line {parsed.first_orphan}), no request "
                "or packet line they answer: paste the request (CONNECT ...) or the packet "
                "lines with them")
    if parsed.ping_unsized:
        line, count, sizes = parsed.ping_unsized[0]
        return (f"{name}: line {line}: an IOS ping sweep of {count} pings over {sizes} "
                "sizes: with a repeat count above 1 the output does not say which size each "
                "mark is; sweep with repeat count 1")
    if parsed.ping_runs:
        return (f"{name}: ping output without a reply, error or statistics line: nothing "
                "says how its pings fared; paste the whole output")
    if parsed.trace_runs:
        return (f"{name}: tracepath or traceroute output without a hop that says how its "
                "probes fared; paste the whole output")
    return _sizeless_trace(name, lines) or _not_a_capture(name, lines)


def _sizeless_trace(name: str, lines: Sequence[str]) -> str | None:
    """tracert's, Cisco's traceroute's and mtr's output: read, they would say nothing of
    sizes (their probes are not DF, or of one small size), so the error names what does."""
    head = lines[:1000]
    if any(_TRACERT.match(ln) or _TRACERT_HOP.match(ln) for ln in head):
        return (f"{name}: Windows tracert (or pathping) output: its probes are small pings "
                "of one fixed size, so it shows which hops answer, not which sizes pass; "
                "paste a DF ping "
                "sweep instead ('ping -f -l 1472 HOST', then smaller sizes until one is "
                "answered) or a capture")
    if any(CISCO_HEAD.match(ln) or _CISCO_HOP.match(ln) for ln in head):
        return (f"{name}: Cisco traceroute output: its probes are small packets of one "
                "size, so it shows which hops answer, not which sizes pass; paste an "
                "extended ping with the DF bit set and a sweep of sizes (repeat count 1) "
                "instead, or a capture")
    if sum(1 for ln in head if _LINUX_HOP.match(ln)) >= 2:
        return (f"{name}: traceroute hop lines without the first line, which says the size "
                "of the probes ('traceroute to HOST (ADDR), 30 hops max, 60 byte packets'): "
                "they show which hops answer, not which sizes pass; paste the whole output "
                "of a DF traceroute ('traceroute -F -n HOST 1500', then smaller sizes) or a "
                "capture")
    if any(_MTR.match(ln) for ln in head):
        return (f"{name}: mtr output: it shows loss and delay per hop, not which sizes pass "
                "(its probes are not DF: a large one is fragmented, not refused); paste "
                "'tracepath -n HOST' or a DF ping sweep ('ping -M do -s 1472 HOST') instead, "
                "or a capture")
    return None


def _not_a_capture(name: str, lines: Sequence[str]) -> str:
    first = next((ln.strip() for ln in lines if ln.strip()), "")
    shown = re.sub(r"[^\x20-\x7e]", "?", first[:60])
    count = len(lines)
    return (f"{name}: not a capture: no pcap/pcapng header and no tcpdump, Wireshark, "
            f"tshark, hex dump, HTTP, ping, tracepath or traceroute lines in {count} "
            f"line{'' if count == 1 else 's'} of text (first: {shown!r}); give a capture file "
            "or paste the packet lines")
