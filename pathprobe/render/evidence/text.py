"""Sentences for what `analyze` says about capture text (pathprobe.facts.text)."""

from __future__ import annotations

from collections.abc import Mapping

from pathprobe.facts.text import TextFact
from pathprobe.model import Number
from pathprobe.render.evidence.base import Template


def _marks(v: Mapping[str, Number]) -> str:
    marks = v.get("marks")
    return (f" ({marks} marked in the text)" if isinstance(marks, int) and marks
            else " (none marked in the text)")


def _shows_quote(v: Mapping[str, Number]) -> str:
    """Which tool prints the packet an ICMP error quotes: tcpdump never does for ICMPv6."""
    if ":" in str(v.get("dst", "")):
        return "'tshark -V' shows the quote; tcpdump does not print an ICMPv6 error's"
    return "'tcpdump -v' or 'tshark -V' shows the quote"


def _ping_runs(v: Mapping[str, Number]) -> str:
    """How a ping run whose DF flag its output does not show was taken, by system."""
    runs = (f"{v.get('count')} {v.get('system')} ping run(s) show no command line that says "
            f"whether DF was set (first: line {v.get('line')})")
    if v.get("system") == "Windows":
        return (f"{runs}: taken as sent without DF, as Windows' ping sends them unless given "
                "-f, so their sizes prove no path MTU; paste the command line ('ping -f -l "
                "SIZE' sets DF)")
    if v.get("system") == "Linux":
        return (f"{runs}: taken as DF pings, as Linux's ping sets DF on a packet that fits the "
                "MTU it knows; by default (-M want) it fragments a larger one itself, which then "
                "proves nothing; paste the command line ('ping -M do -s SIZE' sets DF)")
    return (f"{runs}: taken as DF pings, as BusyBox's ping on Linux sends them while they fit "
            "the MTU the host knows; macOS and BSD set DF only with -D, so their sizes may "
            "prove nothing; paste the command line ('ping -D -s SIZE' sets DF, on Junos "
            "'do-not-fragment')")


TEXT: dict[TextFact, Template] = {
    TextFact.TEXT_READ:
        "{file}: text ({forms}), {packets:#packet} on {lines:#line}, {chosen} of "
        "{total:#TCP connection} analysed; the numbers cited are line numbers of the text",
    TextFact.NO_PAYLOAD:
        "text holds no payload bytes: what a segment carried (an HTTP head, a TLS hello) is "
        "known only where a line names it, and header sizes only as far as the lines show them",
    TextFact.HEX_PAYLOAD:
        "{count} packet(s) come with a hex dump: what they carried (an HTTP head, a TLS hello) "
        "was read from it",
    TextFact.LOSS_UNKNOWN: lambda v: (
        "retransmissions are known only from sequence numbers the lines repeat and Wireshark's "
        f"retransmission marks{_marks(v)}; a packet left out of the text cannot be told from "
        "a packet lost on the wire"),
    TextFact.SEQ_INFERRED:
        "{count} packet line(s) show no sequence number (first: line {line}): each was taken "
        "as the next bytes in order, so a retransmission among them cannot be seen",
    TextFact.LENGTH_ESTIMATED:
        "{count} row(s) show no TCP length (first: line {line}): it was estimated as the "
        "Length column minus a {overhead}-byte link header (learned from rows that show both) "
        "and the IP and TCP headers",
    TextFact.SIZES_ASSUMED:
        "{count} line(s) with data show no TCP options (first: line {line}): their packet sizes "
        "count 20-byte TCP headers, so they may be up to 40 bytes short",
    TextFact.NO_TIMES:
        "{count} packet line(s) carry no time (first: line {line}): delays, idle times and "
        "stalls involving them are not measured",
    TextFact.OFFLOAD_UNPRINTED:
        "{count} line(s) 'IP bad-len 0' (first: line {line}): IPv4 packets of total length 0, "
        "captured on the sender before segmentation offload (TSO/LSO) filled it in; tcpdump "
        "prints neither their addresses nor their bytes, so what they carried is missing "
        "here: bytes acknowledged but never shown are theirs, not packets the capture dropped "
        "(analyze the capture file itself: it reads them)",
    TextFact.TIME_OUTLIERS:
        "{count} line(s) with a time more than a day from both neighbours', which agree "
        "(first: line {line}): a crafted or garbled time, taken as the line before's, not as "
        "the start of another snippet",
    TextFact.HTTP_STANDALONE:
        "{count} HTTP head(s) stand on lines of their own (first: line {line}): each was taken "
        "as sent on the connection above it, as long as its text",
    TextFact.HTTP_ORPHAN:
        "{count} HTTP answer(s) come before any request or packet line (first: line {line}): "
        "tied to no connection, they were not analysed",
    TextFact.ROWS_AMBIGUOUS:
        "{count} HTTP/TLS row(s) name no ports while several connections between the same "
        "two hosts were active (first: line {line}): each was taken as the last one's to "
        "show ports, a guess, so bytes a connection seems to lack may be in them (the "
        "capture file, or 'tcpdump -n -r FILE' lines, name the ports)",
    TextFact.UNPARSED:
        "{count} line(s) were neither packets nor HTTP heads and were skipped (first: line "
        "{line})",
    TextFact.ICMP_UNQUOTED:
        "{count} ICMP error line(s) show no quoted packet (first: line {line}): each was "
        "taken to answer the last packet its receiver sent there if that one was larger than "
        "the MTU named, else the size it answers is unknown ('tcpdump -v' shows an ICMPv4 "
        "error's quote, 'tshark -V' any)",
    TextFact.ICMP_QUOTE_ASSUMED: lambda v: (
        f"line {v.get('frame')} shows no quoted packet: it was taken to answer the last "
        f"packet {v.get('src')} > {v.get('dst')} sent before it ({v.get('size')} bytes), an "
        f"assumption ({_shows_quote(v)})"),
    TextFact.ICMP_QUOTE_UNKNOWN: lambda v: (
        f"line {v.get('frame')} shows no quoted packet, and the last packet to {v.get('dst')} "
        "the text shows before it cannot have drawn it (there is none, or it fit that MTU): "
        f"which packet did not fit, and its size, are unknown ({_shows_quote(v)})"),
    TextFact.ICMP_MTU_UNSHOWN:
        "line {frame}: {router} says a packet from {sender} did not fit its next hop; the row "
        "shows neither the MTU it names nor that packet ('tshark -V' or the capture file "
        "shows both)",
    TextFact.PING_DF_UNSHOWN:
        "{count} IPv4 ping line(s) do not show whether DF was set (first: line {line}): "
        "they were taken as DF pings, as Linux's ping sends them ('tcpdump -v' shows "
        "flags [DF])",
    TextFact.PING_DF_ASSUMED: lambda v: (
        (f"line {v['frame']} and the other pings cited show no DF flag: taken as DF pings, "
         "their sizes prove no path MTU" if "frame" in v else
         f"pings answered up to {v.get('low')} bytes show no DF flag: they prove no lower "
         "bound") + " (a ping sent without DF is fragmented where it does not fit, and "
        "crosses or is lost as fragments); " + (
            "the ping's command line shows it (Linux 'ping -M do', Windows 'ping -f', Cisco "
            "'df-bit')" if v.get("command") else "'tcpdump -v' shows flags [DF]")),
    TextFact.PING_RUN_DF_UNSHOWN: lambda v: _ping_runs(v),
    TextFact.PING_RUN_NO_DF:
        "{count} {system} ping run(s) were sent without DF (first: line {line}): a ping larger "
        "than a link's MTU is fragmented and crosses, so their sizes prove no path MTU "
        "(Linux 'ping -M do', Windows 'ping -f', Cisco 'df-bit' set DF)",
    TextFact.PING_MTU_UNSHOWN:
        "line {frame}: {router} answered a {size}-byte DF ping from {sender} with 'could not "
        "fragment' (frag-needed): the path MTU is below that size; the ping's output does not "
        "show the MTU the message names (a capture does)",
    TextFact.PING_SWEEP_UNSIZED:
        "line {line}: an IOS ping sweep of {count:#ping} over {sizes:#size} was left out: with "
        "a repeat count above 1 its output does not say which size each mark is (sweep with "
        "repeat count 1)",
    TextFact.PING_RUN_UNREAD:
        "{count:#ping run} with lines not read (first: line {line}; a message in a language "
        "or form not known here, perhaps a router's): pings the statistics count and no line "
        "shows are not taken as lost",
    TextFact.TRACE_LOCAL_MTU:
        "line {frame}: {sender} refused the trace's first probe itself (the first MTU it "
        "printed, {mtu}: tracepath's [LOCALHOST] or traceroute's first F=): its route toward "
        "the destination has MTU {mtu}, set on its interface or learned from an earlier "
        "frag-needed (no router's message is shown)",
    TextFact.TRACE_MTU_CHANGE:
        "line {frame}: traceroute went down to F={mtu} from {size} bytes: a router said "
        "{size} did not fit (frag-needed, next hop MTU {mtu}); the output does not name it "
        "(normally the hop before)",
    TextFact.TRACE_NO_REPLY:
        "line {line}: from hop {hop} on, nothing answered the {size}-byte DF probes of "
        "{tool} ({count:#hop}): a link that drops packets of that size without a "
        "frag-needed, and routers and a destination that do not answer, look the same here; "
        "it sends one size at a time, so a DF ping sweep (ping -M do -s N) tells them apart",
    TextFact.PROBE_DF_UNSHOWN:
        "{count} UDP probe(s) reached their destination (first answered on line {line}) but "
        "the text shows no DF flag: sent without it, a probe may cross in fragments, so "
        "their sizes prove no path MTU ('tcpdump -v' shows flags [DF])",
    TextFact.PING_REFUSED:
        "{count} ping(s) never left the pinging host (first: line {line}): it refused them "
        "itself ('message too long, mtu={mtu}'), having learned that MTU from the router's "
        "frag-needed; they are not counted as lost",
    TextFact.PING_LOCAL_MTU:
        "line {frame}: {sender} refused to send a {size}-byte DF ping itself ('message too "
        "long, mtu={mtu}'): its route toward the destination has MTU {mtu}, learned from an "
        "earlier frag-needed or set on its interface",
    TextFact.PING_LOCAL_REFUSED:
        "line {frame}: {sender} refused to send a {size}-byte DF ping itself (Windows' 'Packet "
        "needs to be fragmented but DF set.' with no 'Reply from' a router): its route toward "
        "the destination has an MTU below that size, set on its interface or learned from an "
        "earlier frag-needed; the packet never left",
    TextFact.PING_SIZE_ESTIMATED:
        "{count} ping row(s) (first: line {line}): the IP length was taken as the Length "
        "column minus a {overhead}-byte link header",
    TextFact.FIREWALL_DROPS:
        "{count} packet line(s) show a drop reason (first: line {line}, {reason}): the ASA/FTD "
        "that took this capture dropped them itself, so their loss is not the path's; look at "
        "that reason ('show asp drop') before any path MTU",
    TextFact.RST_UNTIMED:
        "line {frame}: RST from the other side next, before any ACK of it; the text shows no "
        "time there, so how soon is unknown (a reset long after the segment answers an idle "
        "connection, not its size)",
    TextFact.CITED_DROPPED:
        "line {frame}, cited above, is a packet the ASA/FTD dropped itself ({reason}): the "
        "firewall, not the path, may be the cause",
    TextFact.PROXY_UNSEEN:
        "line {frame}: a connection to {server:host}:{port}, a port explicit proxies listen on, "
        "taken as one to the server itself: no line shows a CONNECT or other request to a "
        "proxy (text holds none unless a line names it); if {server} is the proxy, say so "
        "with --proxy {server:host}:{port}, and the report names the legs",
    TextFact.HEALTHY_UNTIMED:
        "{count} TCP packet line(s) with data carry no time (first: line {line}): data that "
        "stopped for seconds (a stall) looks the same as data that flowed there; print the "
        "times too (tcpdump's lines, tshark -P -x) or give the pcap",
    TextFact.ENDS_UNACKED:
        "line {frame}: {payload} bytes from {sender} are never acknowledged before the text "
        "ends; what followed (an answer, retransmissions, silence) is not in the text",
}
