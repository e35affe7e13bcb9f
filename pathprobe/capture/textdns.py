"""tcpdump's lines of DNS queries and answers, as the UDP datagrams they were: pure.

``12345+ A? fmc.example.com. (33)`` is a query, ``12345 ServFail 0/0/0 (33)`` an answer
that says the resolver failed (tcpdump's print-domain.c). The datagram is rebuilt with
the DNS header and question the line shows, so the one reader of DNS (``capture.dns``)
reads pasted text as it reads a capture file.
"""

from __future__ import annotations

import re
import struct

from pathprobe.capture.textforms import TD_START
from pathprobe.capture.textpacket import TextForm, TextPacket, number, parse_time

_PORT = r"(?P<{0}>\d+|domain)"
_DNS = re.compile(TD_START + r"(?:(?P<fam>IP6?)\s+)?(?P<src>[^\s>]+)\." + _PORT.format("sport")
                  + r" > (?P<dst>[^\s>]+)\." + _PORT.format("dport") + r": (?P<id>\d+)"
                  r"(?P<rest>.*)$")
# a query: flags (RD '+', CD '%'), bracketed counts, then the question and the length
_QUERY = re.compile(r"[+%]*(?: \[[^\]]*\])* (?P<qtype>[\w-]+)\? (?P<name>\S+) \(\d+\)")
# an answer: its RCODE unless NoError, flags, counts, '-vv's question, answer/ns/ar counts
_ANSWER = re.compile(r"(?: (?P<rcode>[A-Z][A-Za-z]+|Resp\d+))?[*\-|$]*(?: \[[^\]]*\])*"
                     r"(?: q: \S+\? \S+)? \d+/\d+/\d+")
RCODES = {"FormErr": 1, "ServFail": 2, "NXDomain": 3, "NotImp": 4, "Refused": 5}


def dns_line(line: str, lineno: int, time_s: str | None) -> TextPacket | None:
    """A tcpdump line of a DNS query or answer on port 53 (``time_s``: the time of the
    ``-v`` IP header line above it, if any), else None."""
    m = _DNS.match(line)
    if m is None:
        return None
    sport, dport = _port(m.group("sport")), _port(m.group("dport"))
    txid = number(m.group("id"), 0x10000)
    if sport is None or dport is None or txid is None or 53 not in (sport, dport):
        return None
    query = _QUERY.match(m.group("rest")) if dport == 53 else None
    answer = _ANSWER.match(m.group("rest")) if sport == 53 and query is None else None
    if query is not None:
        content = _query(txid, query.group("name"))
    elif answer is not None and (answer.group("rcode") is None
                                 or answer.group("rcode") in RCODES):
        content = _answer(txid, RCODES.get(answer.group("rcode") or "", 0))
    else:
        return None
    time_s = m.group("time") or time_s
    return _datagram(TextPacket(lineno, TextForm.TCPDUMP, m.group("src"), sport, m.group("dst"),
                                dport, 0, parse_time(time_s) if time_s else None,
                                6 if m.group("fam") == "IP6" else 0), content)


def _port(text: str) -> int | None:
    return 53 if text == "domain" else number(text, 0x10000)


def _query(txid: int, name: str) -> bytes:
    """A query's DNS header and question; a label too long or not ASCII is cut (the name
    is only shown)."""
    labels = b""
    for label in name.rstrip(".").split(".") if name.rstrip(".") else ():
        raw = label.encode("ascii", "replace")[:63]
        labels += bytes([len(raw)]) + raw
    return struct.pack("!HHHHHH", txid, 0x0100, 1, 0, 0, 0) + labels + b"\x00\x00\x01\x00\x01"


def _answer(txid: int, rcode: int) -> bytes:
    """An answer's DNS header (what the DNS notes read of it: its id and RCODE)."""
    return struct.pack("!HHHHHH", txid, 0x8180 | rcode, 0, 0, 0, 0)


def _datagram(p: TextPacket, content: bytes) -> TextPacket:
    """``p`` as the UDP datagram that carries ``content`` (family from the text or the
    addresses)."""
    p.family = p.family or (6 if ":" in p.src else 4)
    p.ip_len, p.udp, p.content = (20 if p.family == 4 else 40) + 8 + len(content), True, content
    return p


# Wireshark's Info column of a DNS row (epan/dissectors/packet-dns.c): the query's id and
# first question, and an answer's RCODE (as Wireshark names it) unless No error
_ROW_QUERY = re.compile(r"Standard query 0x(?P<id>[0-9a-fA-F]{4}) (?P<qtype>\S+) (?P<name>\S+)")
_ROW_ANSWER = re.compile(r"Standard query response 0x(?P<id>[0-9a-fA-F]{4}) "
                         r"(?P<rcode>Format error|Server failure|No such name|Not implemented"
                         r"|Refused)?")
ROW_RCODES = {"Format error": 1, "Server failure": 2, "No such name": 3, "Not implemented": 4,
              "Refused": 5}


def dns_row(src: str, dst: str, info: str, lineno: int, time_s: str) -> TextPacket | None:
    """A packet-list row of a DNS query or answer (which names no ports: the client's is
    taken as 0 on both, which keeps a query and its answer together), else None."""
    query, answer = _ROW_QUERY.match(info), _ROW_ANSWER.match(info)
    if query is not None:
        content, sport, dport = _query(int(query.group("id"), 16), query.group("name")), 0, 53
    elif answer is not None:
        rcode = ROW_RCODES.get(answer.group("rcode") or "", 0)
        content, sport, dport = _answer(int(answer.group("id"), 16), rcode), 53, 0
    else:
        return None
    return _datagram(TextPacket(lineno, TextForm.PACKET_LIST, src, sport, dst, dport, 0,
                                parse_time(time_s)), content)
