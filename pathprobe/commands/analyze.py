"""`pathprobe analyze CAPTURE`: diagnose a pcap/pcapng taken on the FMC, offline."""

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from pathprobe.commands.common import (
    Output,
    make_context,
    output_options,
    progress_to_stderr,
    run_measuring,
)

ANALYZE_HELP = """Diagnose a packet capture offline, in the live verdict vocabulary.

Reads pcap/pcapng (Ethernet with 802.1Q/QinQ, VN-Tag, LLC/SNAP, PPPoE or
MPLS, PPP, Cisco HDLC, Frame Relay, Linux cooked SLL/SLL2, Linux NFLOG, 802.11 data frames,
raw IP; GRE, VXLAN and GENEVE tunnels opened; IPv4 and IPv6; .gz accepted)
as a stream, or capture text recognised by its content (tcpdump/tcpdump -n
lines, ASA/FTD 'show capture' and classic tcpdump, Wireshark/tshark packet
lists, tshark -V detail, hex dumps (tshark -x, -P -x; Wireshark's 'Copy as Hex
Dump'), decoded HTTP heads, curl -v, pings and ICMP errors,
the ping program's own output (Linux, Windows in 7 languages, Cisco IOS/ASA),
tracepath's and Linux traceroute's; lines a mail client or terminal broke
are joined again; evidence
then cites line numbers and says what text cannot prove, such as an IPv4
ping's DF flag without tcpdump -v or ping's command line), and analyses every TCP
connection, inferring the roles from what it sees: a connection that sends
CONNECT or an absolute-form request (GET http://host/...) goes to a proxy
(leg 1); in a capture taken on the proxy,
the proxy's own connection to the requested host (by time, SNI or Host,
and port) is leg 2; anything else is a client talking
straight to a server. Connections whose start was not captured are
analysed from where the capture starts. --host/--port/--proxy only narrow
the view. Per connection it reports the MSS in SYN vs SYN-ACK, the request
and the proxy's answer (403, 407 and offered schemes, 5xx, none), TLS
ClientHello/ServerHello, the largest segment each way, retransmitted large
segments never acknowledged (black hole), resets right after a large
segment, large ClientHellos dropped while full-size segments cross
(TLS_HELLO_DROPPED), ICMP frag-needed / Packet Too Big, fragments, idle
stalls, and how it ended. ICMP alone is evidence too: frag-needed /
Packet Too Big (router, MTU, the quoted packet), DF pings of each size
answered or not, a DF probe the destination's port unreachable quotes
(tracepath's 'reached': that size crossed), TTL-exceeded hops. DNS queries
never answered, and SERVFAIL/REFUSED answers, are notes. Data resent for
seconds and never acknowledged is a stall (warning) even in a one-way
capture: the resends prove no ACK came. A packet captured twice (tcpdump -i
any over a bridge or VLAN, a SPAN of both ways: the same bytes within 1 ms,
with the same IPv4 ID or through another interface) is one packet, not a
resend. Bytes the peer acknowledged but the
capture lacks are capture loss (a note), never a black hole; no path MTU
below 576 (IPv4) / 1280 (IPv6) without ICMP saying so; one refused SYN
among successful connections is a warning, and so are unanswered SYNs from
several clients in a capture where no connection shows both ends (one
direction captured, or a SYN flood). Every verdict cites frame
numbers and a Wireshark display filter. A capture on the FMC sees leg 1
only: trouble beyond the proxy shows as TUNNEL_STALL (inferred), never as
a leg-1 MTU.

Two captures of the same connections, taken at two points of the path
(the FMC and the proxy, or both sides of a firewall), are matched
connection by connection (by addresses and ports; behind NAT by the
SYN's initial sequence number or the first payload bytes), and each lost
segment is localised: lost between the two capture points, lost after
the farther one, its acknowledgement lost on the way back, or missed by
one capture only (capture loss). The sender's TTL tells which capture is
nearer; with equal TTLs the first capture is taken as nearest the client.
A zip or tar archive given alone that holds two captures (or, with none,
two capture texts), as a case attaches fmc.pcap and proxy.pcap, is read as
these two, in the archive's order.

\b
Examples:
  tcpdump -i eth0 -s 0 -w /var/tmp/fmc.pcap host 10.10.10.1 and port 80
  pathprobe analyze /var/tmp/fmc.pcap
  pathprobe analyze proxy-any.pcap --proxy 10.10.10.1:3128   # taken on the proxy
  pathprobe analyze pings.pcap                                 # ICMP only
  pathprobe analyze fmc.pcapng.gz --port 8080 --json
  pathprobe analyze case-1234-tcpdump.txt
  pathprobe analyze - < ping-sweep-as-pasted.txt               # tcpdump lines of pings
  ping -M do -s 1472 -c 3 PROXY 2>&1 | pathprobe analyze -     # ping's own output
  tracepath -n PROXY | pathprobe analyze -                     # tracepath's output
  pathprobe analyze fmc.pcap proxy.pcap
  pathprobe analyze case-1234.zip              # fmc.pcap and proxy.pcap in it

A missing file, or one that is neither a capture nor capture text, or a
capture corrupt from its first frame, is bad input: one error line, exit
status 2. A file the system cannot read, or one with no packets, no IP
packet, or no connection or ICMP matching the filters, is exit status 3
(the line names what the frames carry and how to re-capture). A capture
cut short or corrupt after some frames is analysed up to there, as tcpdump
and tshark read it, and a note says where it ends.

A long read (a capture of gigabytes, or one still being written to a pipe
or FIFO) says how far it got on stderr (after 1 s, then every 3 s). Ctrl-C
stops the reading: the frames read so far are analysed and reported,
marked partial (a note says after which frame), with the exit status of
what they show: 1 for a finding, else 3. Frames from a pipe are analysed
as they arrive. With two captures, each reading stops where it got (a note
for each); the matching takes where each one stopped as its end, as for
two captures that ended at different times. A capture text is parsed whole
before its packets are analysed: the parse says how far it got, and Ctrl-C
ends it at that line (the lines before are analysed).
"""


@output_options()
def analyze_command(
    captures: Annotated[list[Path], typer.Argument(
        metavar="CAPTURE [CAPTURE2]", help="pcap or pcapng file (may be compressed: gzip, "
        "bzip2, xz; or the one capture in a zip or tar archive, as cases attach them, or "
        "its two captures of the same connections), e.g. "
        "from 'tcpdump -i eth0 -s 0 -w fmc.pcap host PROXY', or capture text as pasted "
        "into a case (tcpdump lines, ASA/FTD 'show capture', a Wireshark/tshark packet list, "
        "tshark -V, hex dumps, HTTP heads, ping's or tracepath's output); "
        "'-' reads standard input, and pipes and FIFOs are read as streams. A second capture "
        "of the same connections taken elsewhere on the path (the proxy, the far side of a "
        "firewall; NAT allowed) says where each lost segment vanished; give the one nearest "
        "the FMC first.")],
    host: Annotated[Optional[list[str]], typer.Option(
        "--host", metavar="ADDR",
        help="Only connections (and ICMP) to/from this IP address (repeatable).")] = None,
    port: Annotated[Optional[list[int]], typer.Option(
        "--port", "-p", metavar="PORT",
        help="Only connections with this TCP port on either side (repeatable).",
        min=1, max=65535)] = None,
    proxy: Annotated[Optional[str], typer.Option(
        "--proxy", "-x", metavar="ADDR[:PORT]",
        help="The proxy's address: its connections are leg 1 even without a request "
             "seen (e.g. SYNs left unanswered), and the view narrows to the proxy's "
             "connections on both legs.")] = None,
    stall: Annotated[float, typer.Option(
        "--stall-after", metavar="SECONDS", min=0.1,
        help="Idle time after the last data that counts as a tunnel stall (with data "
             "owed: a TLS record cut short, bytes resent, an upload unanswered; an idle "
             "session is none).")] = 3.0,
    max_rows: Annotated[int, typer.Option(
        "--max-rows", min=0, help="Connections shown in the table (problems first); "
        "0 shows all.")] = 200,
    max_connections: Annotated[int, typer.Option(
        "--max-connections", metavar="N", min=1,
        help="Connections followed at once; beyond this, idle SYN-only ones (then "
        "finished, then the least recently active) are judged early as they stand, and the "
        "report's notes say how many. Bounds memory (~2 KB per connection).")] = 50_000,
    *, out: Output,
) -> None:
    from pathprobe.capture.run import CaptureRun, check_captures, make_filters
    from pathprobe.terminal import is_terminal

    check_captures(captures)
    run = CaptureRun(captures, make_filters(host or (), port or (), proxy), stall, max_rows,
                     max_connections, interactive=True)
    # '-' on a terminal: the user pastes the text there. Say how to end it, and keep the
    # progress line still (redrawn, it would run through what they paste).
    typing = any(str(c) == "-" for c in captures) and is_terminal(sys.stdin)
    if typing and not out.quiet:
        progress_to_stderr("reading the capture text pasted here (tcpdump lines, a "
                           "Wireshark list ...); end it with Ctrl-D on a line of its own")
    run_measuring("analyze", run.measure, out,
                  context=make_context(target=" + ".join(map(str, captures))),
                  recommender=run.recommender, live=not typing)


analyze_command.__doc__ = ANALYZE_HELP
