"""The line parsers of each form of capture text: ``tcpdump`` lines (``-v`` quotations,
``-e`` link headers, tunnels), Wireshark/tshark packet-list rows (CSV too) and HTTP heads
broken over lines (``tshark -V`` detail blocks: ``pathprobe.capture.textdetail``). Each
turns a line into a ``TextPacket`` showing what the text shows and nothing more.

Pure, no I/O; ``pathprobe.capture.text.parse_text`` decides which form a line is.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import Enum

from pathprobe.capture.textpacket import (
    HEADER_LINE,
    REQUEST_LINE,
    STATUS_LINE,
    TIME,
    Echo,
    IcmpKind,
    TextForm,
    TextPacket,
    bare,
    content_of,
    ignorable,
    number,
    parse_port,
    parse_time,
    u32,
)
from pathprobe.capture.textrows import ROW
from pathprobe.capture.texttunnel import MAX_TUNNEL_DEPTH, inner_icmp, inner_tcp
from pathprobe.wire.headers import (
    TCP_ACK,
    TCP_FIN,
    TCP_PSH,
    TCP_RST,
    TCP_SYN,
)

TCP_URG, TCP_ECE, TCP_CWR = 0x20, 0x40, 0x80
STATUS_LOOKAHEAD = 6        # lines searched for the parts of an HTTP status broken over lines
MAX_HEADERS = 64


# --- HTTP heads ------------------------------------------------------------------------

def _reason(s: str) -> bool:
    """Could this line be the reason phrase of a status broken over lines?"""
    return (len(s) < 80 and not HEADER_LINE.match(s) and not REQUEST_LINE.match(s)
            and tcpdump_line(s, 0) is None and not ROW.match(s))


def http_head(lines: Sequence[str], i: int) -> tuple[int, str, bytes] | None:
    """An HTTP request or response head starting at line ``i``: (next line, kind, bytes).

    The status line may be broken over lines ('HTTP/1.1' / '200' / 'Connection
    established', blank lines and code fences between); header lines follow."""
    first = bare(lines[i])
    j = i + 1
    request, status = REQUEST_LINE.match(first), STATUS_LINE.match(first)
    if request is not None:
        kind, start = "request", request.group(1)
    elif status is not None:
        kind, start = "response", status.group(1).strip()
    elif first in ("HTTP/1.1", "HTTP/1.0"):
        parts: list[str] = []
        while j < len(lines) and j <= i + STATUS_LOOKAHEAD and len(parts) < 2:
            s = bare(lines[j])
            if ignorable(lines[j]):
                j += 1
                continue
            code = not parts and re.fullmatch(r"\d{3}", s) is not None
            if not (code or (parts and _reason(s))):
                break
            parts.append(s)
            j += 1
        if not parts:
            return None
        kind, start = "response", " ".join([first, *parts])
    else:
        return None
    headers = [start]
    while j < len(lines) and len(headers) < MAX_HEADERS and HEADER_LINE.match(bare(lines[j])):
        headers.append(bare(lines[j]))
        j += 1
    return j, kind, ("\r\n".join(headers) + "\r\n\r\n").encode("latin-1", "replace")


# --- tcpdump ---------------------------------------------------------------------------

BLANKS_LEFT = 8     # blank lines a broken line may leave before the line it is (textjoin)

# How a tcpdump packet line starts: the time, and with '-i any' the interface and direction
TD_START = r"^\s*(?:(?P<time>" + TIME + r")\s+)?(?:(?P<iface>[\w.:-]+)\s+(?:In|Out|B|M|P)\s+)?"
# ... then, for a packet without ports (ICMP), its family and addresses
_TD_HOSTS = r"(?:(?P<fam>IP6?\b)\s*)?(?P<src>[^\s>]+) > (?P<dst>[^\s>]+): "
_TD = re.compile(
    TD_START + r"(?:PPPoE\s+\[[^\]]*\]\s+)?(?:(?P<fam>IP6?\b)\s*)?"
    r"(?P<src>[^\s>]+)\.(?P<sport>[\w-]+)\s+>\s+(?P<dst>[^\s>]+)\.(?P<dport>[\w-]+):\s*(?P<rest>.*)$")
TD_VHEAD = re.compile(TD_START + r"(?P<fam>IP6?) \((?:tos|flowlabel|hlim|class).*\)\s*$")
# -e: the link header first: Ethernet ("MAC > MAC, ethertype X (0x..)", perhaps with 802.1Q
# tags, "vlan 100, p 0, ethertype IPv4 ...": the last ethertype names what follows; or
# "802.3" with LLC) or Linux cooked, as '-i any' gives ("[interface] In [ifindex N] [MAC] ...")
_TD_ETHER = re.compile(r"^\s*(?:(?P<time>" + TIME + r")\s+)?(?:\S+ > \S+, (?:.*\b)?"
                       r"|(?:[\w.:-]+\s+)?(?:In|Out|B|M|P)\s+(?:ifindex \d+ )?"
                       r"(?:[0-9a-f]{2}(?::[0-9a-f]{2})+ )?)"
                       r"(?:ethertype (?P<et>IPv[46]|[\w.]+(?: \w+)?) \(0x[0-9a-f]+\)"
                       r"|(?P<llc>802\.[23])),(?: length \d+:)? (?P<rest>.*)$")
_TD_ICMP = re.compile(
    TD_START + _TD_HOSTS + r"(?:ICMP (?P<orig>\S+) "
    r"unreachable - need to frag(?: \(mtu (?P<mtu>\d+)\))?"
    r"|ICMP6, packet too big, mtu (?P<mtu6>\d+))")
# The probes of tracepath and traceroute, and what answers them: a UDP datagram tcpdump does
# not decode, a port unreachable (it names the probe's destination and port), TTL exceeded
_TD_UDP = re.compile(TD_START + r"(?:(?P<fam>IP6?\b)\s*)?(?P<src>[^\s>]+)\.(?P<sport>\d+) > "
                     r"(?P<dst>[^\s>]+)\.(?P<dport>\d+): (?:\[[^\]]*\] )?UDP, length "
                     r"(?P<len>\d+)\s*$")
_TD_ICMP_OTHER = re.compile(
    TD_START + _TD_HOSTS + r"(?:ICMP (?P<orig>\S+) udp port (?P<port>\d+) unreachable|ICMP6, "
    r"destination unreachable, unreachable port, (?P<orig6>\S+) udp port (?P<port6>\d+)"
    r"|(?P<ttl>ICMP6?,? time exceeded in-transit)(?: for (?P<for>[^\s,]+))?)")
_QUOTE_HEAD = re.compile(r"^\s*(?:(?P<fam>IP6?) )?\((?:tos|flowlabel|hlim|class).*\)\s*$")
_TD_VLEN = re.compile(r"\b(?:payload )?length:? (\d+)\)\s*$")
# A ping: "ICMP echo request, id 9, seq 1, length 1480" ("ICMP6, echo request, ..."; the
# length is the ICMP message's, without the IP header; older tcpdump shows no id)
_TD_ECHO = re.compile(
    TD_START + _TD_HOSTS + r"ICMP(?P<six>6,)? echo "
    r"(?P<kind>request|reply), (?:id (?P<id>\d+), )?seq (?P<seq>\d+)(?:, length (?P<len>\d+))?")
# tcpdump -v prints an IPv6 header on the packet's own line: "IP6 (hlim 64, next-header
# ICMPv6 (58) payload length: 1460) a > b: [icmp6 sum ok] ICMP6, ..."
_TD_V6_INLINE = re.compile(
    r"(?P<pre>" + TD_START + r"IP6) "
    r"\((?P<head>[^()]*(?:\([^()]*\)[^()]*)*)\) (?P<flow>[^\s>]+ > [^\s>]+: )"
    r"(?:\[(?:icmp6 sum ok|bad icmp6 cksum [^\]]*)\] )?")
# 802.11 with a radio header (radiotap): "TIME 1448501729us tsft -74dBm signal ... 5540 MHz
# 11n ... IP a.1 > b.2: ..." (the header holds no '>'; what follows is as without it)
_TD_RADIO = re.compile(r"^\s*(?P<time>" + TIME + r")\s+(?=[^>]*?(?:\d+us tsft|\d{4} MHz|"
                       r"\d+(?:\.\d+)? Mb/s) )[^>]*? (?P<rest>IP6? [^\s>]+ > .*)$")
_TD_DF = re.compile(r"\bflags \[([^\]]*)\]")
_TD_FLAGS = re.compile(r"Flags \[([^\]]*)\]")
_TD_SEQ = re.compile(r"\bseq (\d+)(?::(\d+))?")
_TD_ACK = re.compile(r"\back (\d+)")
_TD_WIN = re.compile(r"\bwin (\d+)")
_TD_LEN = re.compile(r"\blength (\d+)(?::?\s*(.*))?")
_TD_FLAG_BITS = {"S": TCP_SYN, "F": TCP_FIN, "P": TCP_PSH, "R": TCP_RST, ".": TCP_ACK,
                 "U": TCP_URG, "E": TCP_ECE, "W": TCP_CWR}


def _td_options_span(rest: str) -> tuple[int, int] | None:
    """Where the text of 'options [...]' lies: up to the first ']' (an option may hold
    brackets of its own: "mptcp capable flags [H]", "scps[bad opt]", "[|tcp]"). Found
    with two finds: a pattern tried at every 'options [' of a long line is quadratic."""
    start = rest.find("options [")
    end = rest.find("]", start + 9) if start >= 0 else -1
    return (start + 9, end) if end >= 0 else None


def _td_options(p: TextPacket, opts: str) -> None:
    p.options_shown = True
    m = re.search(r"\bmss (\d+)", opts)
    p.mss = number(m.group(1), 65536) if m else None
    m = re.search(r"\bwscale (\d+)", opts)
    p.wscale = number(m.group(1), 256) if m else None
    p.sack = "sackOK" in opts
    p.tsopt = "TS val" in opts or "timestamp " in opts    # (the classic form's name)


# --- Cisco ASA / FTD 'show capture', classic tcpdump ---------------------------------------
# "   1: 11:30:12.517129 198.18.1.2.48716 > 198.18.2.2.3128: S 3735928559:3735928559(0) win
# 64240 <mss 1460,sackOK,timestamp 2101234 0,nop,wscale 7>": the flags as letters ('.' for
# none but ACK), first:end(length) when the segment has a sequence number worth showing,
# 'ack N' when the ACK bit is set, the options in <...>. 'show capture NAME detail' puts the
# link header on a line of its own first ("1: TIME MAC MAC 0x0800 Length: 74").
_CISCO_NUMBER = re.compile(r"^\s*(\d{1,10}):\s+(?=\d)")
# a capture on a VLAN subinterface: "1: TIME 802.1Q vlan#10 P0 a.1 > b.2: S ..."
_CISCO_VLAN = re.compile(r"(?<=\s)802\.1Q vlan#\d{1,4} P\d\s+")
_CLASSIC_FLAGS = re.compile(r"([SFPRWEU]{1,7}|\.)(?:\s|$)")
_CLASSIC_SEQ = re.compile(r"(?<![\w:])(\d+):(\d+)\((\d+)\)")
_CLASSIC_OPTS = re.compile(r"<([^<>]*)>")
_CISCO_DROP = re.compile(r"\bDrop-reason: *\((?P<code>[\w-]{1,64})\) *(?P<why>[^\r\n]{0,160})")
_CISCO_LINK_HEAD = re.compile(r"^\s*(?:\d{1,10}:\s+)?(?P<time>" + TIME + r")\s+\S+\s+\S+\s+"
                              r"(?:\S+\s+)*?0x(?P<et>[0-9a-fA-F]{4})\s+Length:\s*\d+\s*$")
_CLASSIC_ICMP = re.compile(
    r"^\s*(?:(?P<time>" + TIME + r")\s+)?(?P<src>[^\s>]+) > (?P<dst>[^\s>:]+):? "
    r"(?:icmp: (?P<orig>\S+) unreachable - need to frag(?: \(mtu (?P<mtu>\d+)\))?"
    r"|icmp6: (?:packet )?too big,? (?:mtu )?(?P<mtu6>\d+))")
_CLASSIC_OTHER = re.compile(r"^\s*(?:" + TIME + r")\s+[^\s>]+ > [^\s>:]+:? (?:icmp6?|udp|igmp)\b")


# A packet without ports (ICMP, ICMPv6 neighbour discovery, ARP ...): not TCP, but a packet


class NonTcp(Enum):
    """What tcpdump_line says of a recognised line that holds no TCP segment."""

    IP = "ip"              # UDP, ICMP ...: an IP packet all the same
    NOT_IP = "not-ip"      # ARP ...: no IP packet at all
    TCP_CUT = "tcp-cut"    # TCP whose header tcpdump could not print ("[|tcp]": snap length)
    OFFLOADED = "offloaded"   # "IP bad-len 0": IPv4 length 0, captured before TSO (unprinted)

_TD_NO_PORTS = re.compile(TD_START + r"(?:IP6? [^\s>]+ > [^\s>]+: \S|ARP, )")
# 802.11: a radio header (radiotap: rate, channel), or a management or control frame
_WIFI = (r"\d+us tsft |\d+(?:\.\d+)? Mb/s |\d{4} MHz |Beacon \(|Probe (?:Request|Response) "
         r"|(?:Re)?Assoc(?:iation)? (?:Request|Response) |(?:De)?Authentication |Disassociation"
         r"|Acknowledgment |Clear-To-Send |Request-To-Send ")
_TD_MAC = r"(?:[0-9a-f]{2}:){5}[0-9a-f]{2}"     # as tcpdump prints one
# How tcpdump starts the line of a frame that holds no IP packet (switch and link protocols,
# as a capture on an access port is full of): after a time, so other text is not taken.
_LAYER2_BODY = (r"(?:RARP, |STP 802\.1|CDPv\d|LLDP, |LACPv\d|MARKERv\d|IS-IS, |ES-IS, "
                r"|DTPv\d|VTPv\d|UDLDv\d|AoE |EAPOL |EAP packet|Loopback, |CFMv\d|IPX |SLARP "
                r"|PTPv2, |PPPoE PAD[IORST] |" + _WIFI
                # without -e, tcpdump names the MAC addresses only of a frame it decodes no
                # network layer of: 802.2 LLC ("Null Unnumbered, xid", "SNAP, oui ...", "LLC, ...")
                + r"|" + _TD_MAC + r" > " + _TD_MAC + r" (?:Null |SNAP[ ,]|LLC[ ,])" + ")")
# (after the time, 'tcpdump -i any' names the interface and the direction)
_TD_LAYER2 = re.compile(r"^\s*(?:" + TIME + r")\s+(?:[\w.:-]+\s+(?:In|Out|B|M|P)\s+)?"
                        + _LAYER2_BODY)
_TD_LAYER2_AFTER_LINK = re.compile(r"\s*" + _LAYER2_BODY)
# -e: link headers whose ethertype announces no IP (PPPoE discovery is known by its body)
_NOT_IP_ETHERTYPES = frozenset({"ARP", "Reverse", "Unknown", "LLDP", "EAPOL", "Slow", "CFM",
                                "Loopback", "PTP"})
# An IP header tcpdump could not read: "IP bad-len 0" (alone: an IPv4 length of 0, from
# before segmentation offload: NonTcp.OFFLOADED), "IP  [|ip]", "IP  [remaining caplen(20)
# < header length(60)]", "IP6 version error: 5 != 6", or a frame cut before it: "TIME  [|ether]"
# (no IP packet to analyse, as in a pcap); or a packet cut short after its IP header: "IP
# truncated-ip - 82 bytes missing! a > b: ip-proto-17", "IP truncated-sctp - 8 bytes missing!"
# (an IP packet; a TCP one is read all the same)
_TD_BAD_IP = re.compile(TD_START + r"IP6?\s+(?:(?P<tso>bad-len 0\s*$)|bad-len \d|\[\|ip6?\]"
                        r"|\[remaining caplen|version error"
                        r"|(?P<cut>truncated-[\w-]+ - \d+ bytes missing!))"
                        r"|^\s*(?:" + TIME + r")\s+\[\|[\w-]+\]\s*$")


def _bad_ip_kind(bad: re.Match[str]) -> NonTcp:
    """A line of _TD_BAD_IP: a segment from before offload, an IP packet cut short after its
    header, or no IP packet to analyse."""
    return (NonTcp.OFFLOADED if bad.group("tso") else NonTcp.IP if bad.group("cut")
            else NonTcp.NOT_IP)


_TD_QUIET = re.compile(TD_START + r"(?:IP6?\s+)?[^\s>]+\.[\w-]+ > [^\s>]+\.[\w-]+: tcp \d+\s*$")


def quiet_line(line: str) -> bool:
    """A 'tcpdump -q' line ("IP a.1 > b.2: tcp 0"): no flags, sequence numbers or options."""
    return _TD_QUIET.match(line) is not None


def vhead_ip(head: str) -> tuple[bool | None, int | None]:
    """(DF set, IP length) as a tcpdump -v IP header shows them ("flags [DF]", "length
    1500)"; an IPv6 header: "payload length: 1460)", never fragmented on the way)."""
    if head.lstrip().startswith("IP6") or "hlim " in head:
        length = u32(re.search(r"payload length: (\d+)", head))
        return True, length + 40 if length is not None else None
    flags = _TD_DF.search(head)
    df = None if flags is None else "DF" in flags.group(1) and "+" not in flags.group(1)
    return df, u32(_TD_VLEN.search(head))


def _echo_line(m: re.Match[str], lineno: int, time_s: str | None, fam: str | None,
               head: str) -> TextPacket | NonTcp:
    """A tcpdump ping line; ``head`` is the IP header tcpdump -v printed for it (its DF
    flag and IP length), if any. Without a size a ping tests nothing: another protocol."""
    family = 6 if m.group("six") or (m.group("fam") or fam) == "IP6" else 4
    df, ip_len = vhead_ip(head) if head else (True if family == 6 else None, None)
    icmp_len = u32(m, m.re.groupindex["len"])
    if ip_len is None and icmp_len is not None:
        ip_len = icmp_len + (40 if family == 6 else 20)
    ident, seq = u32(m, m.re.groupindex["id"]) or 0, u32(m, m.re.groupindex["seq"])
    if ip_len is None or ip_len > 0xFFFF + 40 or seq is None or ident > 0xFFFF or seq > 0xFFFF:
        return NonTcp.IP
    time_s = m.group("time") or time_s
    return TextPacket(lineno, TextForm.TCPDUMP, m.group("src"), 0, m.group("dst"), 0, 0,
                      parse_time(time_s) if time_s else None, family,
                      echo=Echo(m.group("kind") == "request", ident, seq), ip_len=ip_len, df=df)


def _probe_line(m: re.Match[str], lineno: int, time_s: str | None, fam: str | None, head: str
                ) -> TextPacket | NonTcp:
    """A UDP datagram tcpdump did not decode (a probe): its size and, with -v, DF."""
    family = 6 if (m.group("fam") or fam) == "IP6" else 4
    df, ip_len = vhead_ip(head) if head else (True if family == 6 else None, None)
    udp_len = u32(m, m.re.groupindex["len"])
    sport, dport = number(m.group("sport"), 0x10000), number(m.group("dport"), 0x10000)
    if ip_len is None and udp_len is not None:
        ip_len = udp_len + 8 + (40 if family == 6 else 20)
    if ip_len is None or ip_len > 0xFFFF + 40 or sport is None or dport is None:
        return NonTcp.IP
    time_s = m.group("time") or time_s
    return TextPacket(lineno, TextForm.TCPDUMP, m.group("src"), sport, m.group("dst"), dport, 0,
                      parse_time(time_s) if time_s else None, family, ip_len=ip_len, df=df,
                      udp=True)


def cisco_link_head(line: str) -> tuple[str, str] | None:
    """(time, "IP" or "IP6") of a 'show capture detail' link-header line; the packet
    follows on the next line."""
    m = _CISCO_LINK_HEAD.match(line) if "Length:" in line else None
    if m is None:
        return None
    return m.group("time"), "IP6" if m.group("et") == "86dd" else "IP"


def _classic_packet(m: re.Match[str], flags_m: re.Match[str], lineno: int,
                    time_s: str | None, fam: str | None, frame: int | None) -> TextPacket | None:
    sport, dport = parse_port(m.group("sport")), parse_port(m.group("dport"))
    if sport is None or dport is None:
        return None
    rest = m.group("rest")[flags_m.end():]
    opts = _CLASSIC_OPTS.search(rest)
    head = rest[:opts.start()] if opts is not None else rest
    flags = 0
    for ch in flags_m.group(1):
        flags |= _TD_FLAG_BITS.get(ch, 0) if ch != "." else 0
    ack = _TD_ACK.search(head)
    if ack is not None:
        flags |= TCP_ACK
    p = TextPacket(lineno, TextForm.CLASSIC, m.group("src"), sport, m.group("dst"), dport,
                   flags, parse_time(time_s) if time_s else None,
                   6 if fam == "IP6" else 4 if fam == "IP" else 0, number=frame)
    seq = _CLASSIC_SEQ.search(head)
    if seq is not None:
        p.seq, p.length = number(seq.group(1)), number(seq.group(3))
    p.ack, p.window = u32(ack), u32(_TD_WIN.search(head))
    if opts is not None:
        _td_options(p, opts.group(1))
    p.content = content_of(rest)
    drop = _CISCO_DROP.search(rest)
    if drop is not None:
        why = drop.group("why").strip()
        p.drop_reason = f"{drop.group('code')}: {why}" if why else drop.group("code")
    return p


def _icmp_line(m: re.Match[str], lineno: int, time_s: str | None, fam: str | None,
               form: TextForm = TextForm.TCPDUMP) -> TextPacket | None:
    """ICMP 'need to frag (mtu N)' / ICMP6 'packet too big, mtu N', from router to sender
    ('need to frag' alone: the router named no MTU, 0, as before RFC 1191)."""
    if m.group("mtu") is None and m.group("mtu6") is None:
        mtu: int | None = 0
    else:
        mtu = u32(m, m.re.groupindex["mtu" if m.group("mtu") is not None else "mtu6"])
    if mtu is None or mtu > 0xFFFF:
        return None
    time_s = m.group("time") or time_s
    family = 6 if m.group("mtu6") is not None or (m.groupdict().get("fam") or fam) == "IP6" \
        else 4
    return TextPacket(lineno, form, m.group("src"), 0, m.group("dst"), 0, 0,
                      parse_time(time_s) if time_s else None, family, icmp_mtu=mtu,
                      icmp_orig=m.group("orig") or "")


def filled(lines: Sequence[str], i: int) -> int:
    """Line ``i``, or past the blank lines there that a broken line left (textjoin)."""
    for j in range(i, min(i + BLANKS_LEFT, len(lines))):
        if lines[j].strip():
            return j
    return i


def quotation(lines: Sequence[str], i: int) -> tuple[int, TextPacket, int | None] | None:
    """tcpdump -v's quotation of the packet an ICMP error answers, at line ``i``: the IP
    header line (with -e, without its 'IP'), then the packet's line. (next line, the quoted
    packet, its IP length)."""
    i = filled(lines, i)
    if i + 1 >= len(lines):
        return None
    head = _QUOTE_HEAD.match(lines[i])
    if head is None:
        return None
    fam = head.group("fam") or ("IP6" if "hlim " in lines[i] else "IP")
    j = filled(lines, i + 1)
    q = tcpdump_line(lines[j], j + 1, (None, fam), head=lines[i])
    if not isinstance(q, TextPacket) or q.icmp_mtu is not None:
        return None
    length = _TD_VLEN.search(lines[i])
    return j + 1, q, u32(length)


def _icmp_any(line: str, lineno: int, time_s: str | None, fam: str | None, head: str
              ) -> TextPacket | NonTcp | None:
    """An ICMP error line (frag-needed, Packet Too Big; classic tcpdump's too), a ping, or
    a probe (UDP) and the port unreachable or TTL exceeded that answered it."""
    icmp = _TD_ICMP.match(line)
    if icmp is not None:
        return _icmp_line(icmp, lineno, time_s, fam)
    probe = _TD_UDP.match(line) if "UDP, length" in line else None
    if probe is not None:
        return _probe_line(probe, lineno, time_s, fam, head)
    other = _TD_ICMP_OTHER.match(line) if "ICMP" in line else None
    if other is not None:
        time_s = other.group("time") or time_s
        six = (other.group("fam") or fam) == "IP6" or "ICMP6" in other.group(0)
        g = other.group
        return TextPacket(lineno, TextForm.TCPDUMP, g("src"), 0, g("dst"),
                          number(g("port") or g("port6"), 0x10000) or 0, 0,
                          parse_time(time_s) if time_s else None, 6 if six else 4,
                          icmp_kind=IcmpKind.TTL_EXCEEDED if g("ttl") else
                          IcmpKind.PORT_UNREACHABLE, icmp_orig=g("orig") or g("orig6")
                          or g("for") or "")
    echo = _TD_ECHO.match(line) if " echo " in line else None
    if echo is not None:
        return _echo_line(echo, lineno, time_s, fam, head)
    icmp = _CLASSIC_ICMP.match(line) if " icmp" in line else None
    return _icmp_line(icmp, lineno, time_s, fam, TextForm.CLASSIC) if icmp is not None else None


def _v6_inline(line: str, head: str) -> tuple[str, str]:
    """(the line, the -v IP header) without an IPv6 header tcpdump -v printed on the
    packet's own line."""
    inline = _TD_V6_INLINE.match(line) if "IP6 (" in line else None
    if inline is None:
        return line, head
    return f"{inline.group('pre')} {inline.group('flow')}{line[inline.end():]}", \
        inline.group("head")


# A VXLAN or Geneve header whose inner frame tcpdump prints on the next line
_TUNNEL_HEAD = re.compile(TD_START + r"IP6? \S+ > \S+: (?:\[[^\]]*\] )?(?:VXLAN(?:-GPE)?|Geneve), "
                          r"[Ff]lags \[[^\]]*\][^:]*?\bvni \w+(?:, options \[[^\]]*\])?\s*$")


# tcpdump -#: the packet's number in the capture (right-aligned, two spaces) before the
# time, or before the packet itself with -t; not a packet-list row's number ("1 0.000 a → b")
_TD_NUMBERED = re.compile(r"^\s*\d{1,10}  (?=(?:(?:" + TIME + r") )?(?:IP6? |ARP, |PPPoE |"
                          r"(?:[0-9a-f]{2}:){5}[0-9a-f]{2} > |[\w.:-]+\s+(?:In|Out|B|M|P)\s))")


def unnumbered(lines: Sequence[str]) -> list[str]:
    """The lines without tcpdump -#'s packet numbers: everything else reads them as tcpdump
    prints a packet without them (a number before the time lost the time, and ICMP lines)."""
    return [line[m.end():] if (m := _TD_NUMBERED.match(line)) is not None else line
            for line in lines]


def tunnel_head_time(line: str) -> str | None:
    """The time of a VXLAN/Geneve line that shows no inner packet (it is on the next line)."""
    m = _TUNNEL_HEAD.match(line) if "vni " in line else None
    return m.group("time") if m is not None else None


def link_vhead(line: str) -> str | None:
    """tcpdump -e -v's IP header after the link header ("TIME MAC > MAC, ethertype IPv4
    (0x0800), length 614: (tos 0x0, ..., length 600)"), as the -v header line tcpdump
    prints without -e; None for any other line."""
    m_eth = _TD_ETHER.match(line) if "ethertype IPv" in line else None
    if m_eth is None or m_eth.group("et") not in ("IPv4", "IPv6"):
        return None
    fam = "IP6" if m_eth.group("et") == "IPv6" else "IP"
    plain = f"{m_eth.group('time') or ''} {fam} {m_eth.group('rest')}".strip()
    return plain if TD_VHEAD.match(plain) else None


def _plain(line: str, head: str) -> tuple[str, str, int | None]:
    """(the line as tcpdump prints a packet on its own, the -v IP header, the frame number
    'show capture' gave it): without an IPv6 header printed on the line (-v), the number
    and VLAN of ASA/FTD 'show capture', an 802.11 radio header."""
    line, head = _v6_inline(line, head)
    frame = None
    cisco = _CISCO_NUMBER.match(line)
    if cisco is not None:          # "   1: " before the time
        frame, line = number(cisco.group(1)), _CISCO_VLAN.sub("", line[cisco.end():], count=1)
    if "MHz " in line or "us tsft " in line or "Mb/s " in line:
        radio = _TD_RADIO.match(line)
        if radio is not None:      # (-i on a monitor interface)
            line = f"{radio.group('time')} {radio.group('rest')}"
    return line, head, frame


def tcpdump_line(line: str, lineno: int, pending: tuple[str | None, str | None] = (None, None),
                 depth: int = 0, head: str = "") -> TextPacket | NonTcp | None:
    """A tcpdump line: a packet, NonTcp (a recognised line of another protocol), or None.

    ``pending`` is (time, family) from a ``-v`` IP header line just above, ``head`` that
    line; ``depth`` counts the tunnels opened so far (a line whose inner packet is itself
    is not opened again)."""
    time_s, fam = pending
    line, head, frame = _plain(line, head)
    m_eth = _TD_ETHER.match(line)
    if m_eth is not None:
        if (m_eth.group("et") in _NOT_IP_ETHERTYPES
                or _TD_LAYER2_AFTER_LINK.match(m_eth.group("rest"))
                or (m_eth.group("llc") and "ethertype IPv" not in m_eth.group("rest"))):
            return NonTcp.NOT_IP
        time_s = m_eth.group("time") or time_s
        fam = "IP6" if m_eth.group("et") == "IPv6" else "IP"
        line = m_eth.group("rest")
        if m_eth.group("et") in ("IPv4", "IPv6"):   # as tcpdump prints it without -e
            line, head = _v6_inline(f"{fam} {line}", head)
    icmp = _icmp_any(line, lineno, time_s, fam, head)
    if icmp is not None:
        return icmp
    nested = inner_icmp(line, time_s) if depth < MAX_TUNNEL_DEPTH else None
    if nested is not None:   # (6in4: an ICMPv6 message inside IPv4)
        return tcpdump_line(nested, lineno, depth=depth + 1)
    m = _TD.match(line)
    flags_m = _TD_FLAGS.match(m.group("rest")) if m is not None else None
    if m is not None and flags_m is None:
        classic = _CLASSIC_FLAGS.match(m.group("rest"))
        if classic is not None:
            return _classic_packet(m, classic, lineno, m.group("time") or time_s,
                                   m.group("fam") or fam, frame)
    if m is None or flags_m is None:
        if _CLASSIC_OTHER.match(line):
            return NonTcp.IP
        inner = inner_tcp(line, time_s, fam)   # a packet inside a tunnel (GRE) or PPP(oE)
        if inner is not None and inner != line.strip() and depth < MAX_TUNNEL_DEPTH:
            return tcpdump_line(inner, lineno, depth=depth + 1)
        if m is None:
            known = _TD_NO_PORTS.match(line)
            bad = _TD_BAD_IP.match(line) if known is None else None
            if bad is not None:   # (one whose addresses tcpdump read is an IP packet)
                return _bad_ip_kind(bad)
            if known is None:
                return NonTcp.NOT_IP if _TD_LAYER2.match(line) else None
            return NonTcp.NOT_IP if "ARP, " in known.group(0) else NonTcp.IP
        rest = m.group("rest").lstrip()   # (TCP whose flags cannot be read, or cut short)
        if rest.startswith(("Flags", "[|tcp]")):
            return NonTcp.TCP_CUT if rest[0] == "[" else None
        return NonTcp.IP if (m.group("time") or time_s or m.group("fam") or fam) else None
    time_s = m.group("time") or time_s
    fam = m.group("fam") or fam
    rest = m.group("rest")
    sport, dport = parse_port(m.group("sport")), parse_port(m.group("dport"))
    if sport is None or dport is None:
        return None
    flags = 0
    for ch in flags_m.group(1):
        flags |= _TD_FLAG_BITS.get(ch, 0)
    p = TextPacket(lineno, TextForm.TCPDUMP, m.group("src"), sport, m.group("dst"), dport,
                   flags, parse_time(time_s) if time_s else None,
                   6 if fam == "IP6" else 4 if fam == "IP" else 0, iface=m.group("iface") or "")
    p.seq = u32(seq_m := _TD_SEQ.search(rest))
    p.ack, p.window = u32(_TD_ACK.search(rest)), u32(_TD_WIN.search(rest))
    opts = _td_options_span(rest)
    if opts is not None:
        _td_options(p, rest[opts[0]:opts[1]])
    tail = rest[opts[1] + 1:] if opts is not None else rest
    len_m = _TD_LEN.search(tail)
    if len_m is not None:
        p.length = u32(len_m)
        p.content = content_of(len_m.group(2) or "")
    elif seq_m is not None and p.seq is not None:
        end = number(seq_m.group(2))
        if end is not None:
            p.length = max(0, end - p.seq)
    if not p.content:
        p.content = content_of(rest[rest.rfind("(") + 1:rest.rfind(")")]) if ")" in rest else b""
    return p
