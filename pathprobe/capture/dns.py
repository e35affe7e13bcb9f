"""DNS queries in a capture and whether they were answered: pure, no I/O.

A name that does not resolve stops a connection before its SYN (a proxy set by name
included), so a capture of a failing FMC may hold no TCP at all: only queries that got
no answer, or answers that say the resolver failed (PPA's nowebaccess1.pcapng: seven
queries for one name to two servers, never answered, "healthy"). ``DnsLog`` keeps the
queries still waiting (bounded) and counts the failures; ``dns_notes`` says what they
show. Plain DNS over UDP port 53 only.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass, field

from pathprobe.capture.finding import ev
from pathprobe.facts.capture import CaptureFact
from pathprobe.model import Evidence
from pathprobe.sanitize import clean, shorten

DNS_PORT = 53
PENDING_MAX = 4096        # queries waiting for an answer remembered
ANSWER_WITHIN_S = 2.0     # a resolver answers within this; later in the capture: none came
NAMES_SHOWN = 3
# the answers that say the resolver failed (RFC 1035 4.1.1), by RCODE
FAILED = {2: "SERVFAIL", 5: "REFUSED"}
_HEAD = struct.Struct("!HHHHHHH")   # UDP ports, length, checksum; DNS id, flags
_BROADCAST = ipaddress.ip_address("255.255.255.255")
UNREADABLE = "?"
NAME_SHOWN = 64           # characters of a name shown (a DNS tunnel's names run to 250)


@dataclass
class Query:
    """One query waiting for its answer (resends with the same id counted, to any server)."""

    frame: int
    ts: float
    name: str
    servers: list[str]
    sends: int = 1


@dataclass
class DnsLog:
    """Queries waiting for an answer, and the resolvers' failures, as the capture goes."""

    pending: dict[tuple[str, int, int], Query] = field(default_factory=dict)
    answered: int = 0
    failed: dict[str, list[str]] = field(default_factory=dict)   # RCODE -> names (bounded)

    def packet(self, frame: int, ts: float, src: str, dst: str, udp: bytes) -> None:
        """A UDP datagram (from its header on): a query, an answer, or nothing to note."""
        if len(udp) < _HEAD.size:
            return
        sport, dport, _length, _sum, txid, flags, qdcount = map(int, _HEAD.unpack_from(udp))
        if flags & 0x8000 and sport == DNS_PORT:            # an answer
            q = self.pending.pop((dst, dport, txid), None)
            if q is None:
                return
            self.answered += 1
            rcode = FAILED.get(flags & 0x0F)
            if rcode is not None:
                names = self.failed.setdefault(rcode, [])
                if len(names) < NAMES_SHOWN and q.name not in names:
                    names.append(q.name)
            return
        if flags & 0x8000 or dport != DNS_PORT or not qdcount or _to_many(dst):
            return
        key = (src, sport, txid)
        q = self.pending.get(key)
        if q is not None:            # the same query again (a resolver library's retry)
            q.sends += 1
            if dst not in q.servers and len(q.servers) < NAMES_SHOWN:
                q.servers.append(dst)
        elif len(self.pending) < PENDING_MAX:
            self.pending[key] = Query(frame, ts, question_name(udp[20:]), [dst])


def _to_many(address: str) -> bool:
    """A broadcast or multicast destination: a discovery query (a wireless controller's
    name asked of 255.255.255.255), which no resolver is bound to answer."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return ip.is_multicast or (ip.version == 4 and ip == _BROADCAST)


def question_name(body: bytes) -> str:
    """The first question's name (labels up to a zero length), control characters removed;
    '?' when the labels run past the datagram or point elsewhere (compression)."""
    labels: list[str] = []
    i = 0
    while i < len(body) and len(labels) < 128:
        n = body[i]
        if n == 0:
            return shorten(clean(".".join(labels)), NAME_SHOWN) or "<root>"
        if n & 0xC0 or i + 1 + n > len(body):
            return UNREADABLE
        labels.append(body[i + 1:i + 1 + n].decode("ascii", "replace"))
        i += 1 + n
    return UNREADABLE


def dns_notes(log: DnsLog, capture_end: float) -> list[Evidence]:
    """Queries the capture shows no answer to (where it ran on long enough after the first
    send for one), and answers that said the resolver failed."""
    out: list[Evidence] = []
    waited = [q for q in log.pending.values() if capture_end - q.ts >= ANSWER_WITHIN_S]
    if waited:
        first = min(waited, key=lambda q: q.frame)
        # (names the labels do not spell, '?', are counted, not listed)
        names = [n for n in dict.fromkeys(q.name for q in waited) if n != UNREADABLE] or \
            ["names the capture cannot read"]
        servers = list(dict.fromkeys(s for q in waited for s in q.servers))
        out.append(ev(CaptureFact.DNS_UNANSWERED, first.frame, count=len(waited),
                      sends=sum(q.sends for q in waited),
                      names=", ".join(names[:NAMES_SHOWN]),
                      more_names=max(0, len(names) - NAMES_SHOWN),
                      servers=", ".join(servers[:NAMES_SHOWN]), answered=log.answered))
    for rcode, names in log.failed.items():
        out.append(ev(CaptureFact.DNS_FAILED, rcode=rcode, names=", ".join(names)))
    return out
