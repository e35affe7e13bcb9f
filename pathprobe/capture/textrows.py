"""Wireshark/tshark packet-list rows (CSV export too) as ``TextPacket``s: TCP segments,
pings and frag-needed rows, and the rows of frames that hold no IP packet.

Pure, no I/O; ``pathprobe.capture.text.parse_text`` decides which form a line is.
"""

from __future__ import annotations

import csv
import re

from pathprobe.capture.textpacket import (
    TIME,
    Echo,
    IcmpKind,
    TextForm,
    TextPacket,
    number,
    parse_time,
    u32,
)
from pathprobe.wire.headers import TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN

TCP_URG, TCP_ECE, TCP_CWR = 0x20, 0x40, 0x80

# The Protocol column may name the protocol inside a tunnel ("GTP <TCP>"), be the bare
# ethertype Wireshark does not know ("0x0c0d"), a PPP control protocol ("PPP LCP": a PPPoE
# link's echo) or Wi-Fi ("802.11"); a Linux cooked capture may show no destination after
# the arrow (without an arrow, a destination is needed to be a row).
ROW = re.compile(
    r"^\s*(?:(?P<no>\d+)\s+)?(?P<time>" + TIME + r")\s+(?P<src>[^\s\u2192]+)\s+"
    r"(?:(?:\u2192|->|>)\s+(?:(?P<dst>[^\s\u2192]+)\s+)?|(?P<dst_plain>[^\s\u2192]+)\s+)"
    r"(?P<proto>[A-Za-z][A-Za-z0-9./_-]*(?: <[A-Za-z0-9./_-]+>)?|PPP [A-Z0-9]{2,6}|802\.11"
    r"|0x[0-9a-fA-F]{4})\s+"
    r"(?P<flen>\d+)\s+(?P<info>.*)$")
_INFO_TCP = re.compile(r"(?<!\d)(?P<sport>\d+)\s*(?:\u2192|->|>|\?|\u00e2\S*)\s*(?P<dport>\d+)\s+"
                       r"\[(?P<flags>[A-Z]{2,3}(?:, ?[A-Z]{2,3})*)\]")
_WS_FLAG_BITS = {"SYN": TCP_SYN, "FIN": TCP_FIN, "PSH": TCP_PSH, "RST": TCP_RST,
                 "ACK": TCP_ACK, "URG": TCP_URG, "ECE": TCP_ECE, "ECN": TCP_ECE,
                 "CWR": TCP_CWR}
RETX = re.compile(r"(?:Fast |Spurious )?[Rr]etransmission")


# Wireshark's Protocol column of frames that hold no IP packet, and a source that is a MAC
# address (raw, or with the vendor's name: "Cisco_ea:b8:85"): a switch port's background.
_LAYER2_PROTOCOLS = frozenset({
    "ARP", "RARP", "STP", "RSTP", "MSTP", "CDP", "LLDP", "LACP", "LOOP", "DTP", "VTP", "PAGP",
    "UDLD", "EAPOL", "EAP", "PPPOED", "IPX", "LLC", "ISIS", "IS-IS", "ESIS", "CFM", "SLOW",
    "AOE", "ECTP", "802.11"})
_MAC = re.compile(r"^(?:[0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$"
                  r"|^[\w.-]+_[0-9a-f]{2}(?::[0-9a-f]{2}){2}$")


def row_without_ip(line: str) -> bool:
    """A packet-list row of a frame that holds no IP packet (STP, CDP, ARP ...)."""
    m = ROW.match(csv_row(line) if line.lstrip().startswith('"') else line)
    return m is not None and (m.group("proto").upper() in _LAYER2_PROTOCOLS
                              or m.group("proto").startswith("PPP ")
                              or _MAC.match(m.group("src")) is not None)


def csv_row(line: str) -> str:
    """A packet-list row exported as CSV ("1","0.000","10.0.0.1",...) as a plain row."""
    try:
        cells = next(csv.reader([line]))
    except (csv.Error, StopIteration):
        return line
    return " ".join(c.strip() for c in cells)


# "Echo (ping) request  id=0x0009, seq=1/256, ttl=64" (ICMPv6: "seq=1, hop limit=64")
_INFO_ECHO = re.compile(r"^Echo \(ping\) (request|reply)\s+id=0x([0-9a-fA-F]{1,4}), "
                        r"seq=(\d{1,5})\b")


_INFO_TOO_BIG = re.compile(r"^(?:Destination unreachable \(Fragmentation needed\)|Packet Too "
                           r"Big)(?!\S)")


# The probes of tracepath and traceroute ("34162 → 44444 Len=1472", the UDP payload), and
# what answers them
_INFO_UDP = re.compile(r"^(?P<sport>\d+)\s*(?:\u2192|->|>)\s*(?P<dport>\d+)\s+Len=(?P<len>\d+)\s*$")
_INFO_ANSWER = re.compile(r"^(?:(?P<ttl>Time-to-live exceeded|Time Exceeded)|Destination "
                          r"[Uu]nreachable \(Port unreachable\))")


_INFO_NEXT_HOP = re.compile(r"\bMTU(?: of next hop)?[:=] ?(\d{1,10})\b")


def _icmp_row(m: re.Match[str], lineno: int, src: str, dst: str, info: str, t: float | None
              ) -> TextPacket | None:
    """A ping row: its IP length is the Length column less the link header (known later,
    ``textframes``); whether DF was set, a row does not say (IPv6: never fragmented). Or a
    frag-needed / Packet Too Big row, which shows no quoted packet and mostly no MTU
    (icmp_mtu 0: not shown)."""
    six = m.group("proto").upper() == "ICMPV6"
    if _INFO_TOO_BIG.match(info):
        mtu = u32(_INFO_NEXT_HOP.search(info))   # (some versions show it: "[MTU of next hop: N]")
        return TextPacket(lineno, TextForm.PACKET_LIST, src, 0, dst, 0, 0, t, 6 if six else 4,
                          number=u32(m, m.re.groupindex["no"]),
                          icmp_mtu=mtu if mtu is not None and mtu <= 0xFFFF else 0)
    answer = _INFO_ANSWER.match(info)
    if answer is not None:   # (a port unreachable comes from the probe's destination)
        ttl = answer.group("ttl") is not None
        return TextPacket(lineno, TextForm.PACKET_LIST, src, 0, dst, 0, 0, t, 6 if six else 4,
                          number=u32(m, m.re.groupindex["no"]), icmp_orig="" if ttl else src,
                          icmp_kind=IcmpKind.TTL_EXCEEDED if ttl else IcmpKind.PORT_UNREACHABLE)
    echo = _INFO_ECHO.match(info)
    seq = number(echo.group(3), 65536) if echo is not None else None
    if echo is None or seq is None:
        return None
    return TextPacket(lineno, TextForm.PACKET_LIST, src, 0, dst, 0, 0, t, 6 if six else 4,
                      frame_len=number(m.group("flen")), number=u32(m, m.re.groupindex["no"]),
                      echo=Echo(echo.group(1) == "request", int(echo.group(2), 16), seq),
                      df=True if six else None)


def _udp_row(m: re.Match[str], udp: re.Match[str], lineno: int, src: str, dst: str,
             t: float | None) -> TextPacket | None:
    """A UDP row Wireshark decoded no further (a probe): its size from the UDP length;
    whether DF was set, a row does not say (IPv6: never fragmented on the way)."""
    six = ":" in src
    sport, dport = number(udp.group("sport"), 65536), number(udp.group("dport"), 65536)
    length = number(udp.group("len"), 0x10000)
    if sport is None or dport is None or length is None:
        return None
    return TextPacket(lineno, TextForm.PACKET_LIST, src, sport, dst, dport, 0, t, 6 if six else 4,
                      number=u32(m, m.re.groupindex["no"]), ip_len=length + (48 if six else 28),
                      df=True if six else None, udp=True)


def packet_list_row(line: str, lineno: int) -> tuple[TextPacket | None, str, str, str] | None:
    """A packet-list row: (packet or None when the row names no ports, src, dst, info)."""
    if line.lstrip().startswith('"'):
        line = csv_row(line)
    m = ROW.match(line)
    if m is None:
        return None
    info = m.group("info")
    src, dst = m.group("src"), m.group("dst") or m.group("dst_plain") or ""
    t = parse_time(m.group("time"))
    tcp = _INFO_TCP.search(info)
    if "," in src or "," in dst:   # tshark -e ip.src: every IP header's, the outer first
        src, dst = (src.split(",")[-1], dst.split(",")[-1]) if tcp else (src.split(",")[0],
                                                                          dst.split(",")[0])
    if tcp is None and dst and m.group("proto").upper() in ("ICMP", "ICMPV6"):
        return _icmp_row(m, lineno, src, dst, info, t), src, dst, info
    udp = _INFO_UDP.match(info) if tcp is None and m.group("proto") == "UDP" else None
    if udp is not None and dst:
        return _udp_row(m, udp, lineno, src, dst, t), src, dst, info
    if tcp is None or not dst:
        return None, src, dst, info
    flags = 0
    for word in re.split(r",\s*", tcp.group("flags")):
        flags |= _WS_FLAG_BITS.get(word, 0)
    sport, dport = number(tcp.group("sport"), 65536), number(tcp.group("dport"), 65536)
    if sport is None or dport is None:
        return None
    p = TextPacket(lineno, TextForm.PACKET_LIST, src, sport, dst, dport, flags, t,
                   frame_len=number(m.group("flen")), number=u32(m, m.re.groupindex["no"]))
    p.seq = u32(re.search(r"\bSeq=(\d+)", info))
    p.ack = u32(re.search(r"\bAck=(\d+)", info))
    p.window = u32(re.search(r"\bWin=(\d+)", info))
    p.length = u32(re.search(r"\bLen=(\d+)", info))
    p.mss = u32(re.search(r"\bMSS=(\d+)", info))
    ws = u32(re.search(r"\bWS=(\d+)", info))
    p.wscale = ws.bit_length() - 1 if ws else None
    p.sack = "SACK_PERM" in info
    p.tsopt = "TSval=" in info
    p.options_shown = True
    p.retx_mark = bool(RETX.search(info[:tcp.start()]))
    return p, src, dst, info
