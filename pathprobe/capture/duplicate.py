"""One packet captured twice: pure.

``tcpdump -i any`` on a host whose interface sits in a bridge or carries VLAN
sub-interfaces (the management bridge of an FTD, a proxy with containers), or a SPAN
session that mirrors both directions of a link, captures each packet twice, microseconds
apart. Counted as a retransmission, the copy inflates resend counts and can turn a healthy
connection into a black hole. Alike bytes alone prove no copy: some senders repeat a
segment within a millisecond, dup ACKs read alike, and text shows no identification. A
copy is the same IP packet within a millisecond that also carries the same IPv4
identification, or comes through another capture point (``_seen_twice``).

The tracker asks only where it would otherwise count a resend (data seen before, a SYN
or SYN-ACK again, an ACK that repeats), and the reading loop where the two-capture log
would count one: nothing per in-order packet. A copy is the frame's twin right where it
is expected (the connection's last data frame, last ACK ...); failing that, one of the
frames of the millisecond before (``copy_nearby``: a SPAN session's copies trail their
packets, other packets of the connection between). For data that search waits until a
first copy was found: a resend of data seen within the millisecond is common (PMTUD
resends at once), and searching behind each one cost 9% of a capture without copies;
a SYN or SYN-ACK again (a trailing copy's first sign) is always searched. ICMP messages
are searched for once a first copy was found too (``copy_once_seen``): before, a copy
of one counted twice in its evidence ("22 such messages" for 11); comparing each with the
frame before in every capture cost 1% of the reading loop.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from pathprobe.capture.linklayer import LINKTYPE_ETHERNET, Frame, ip_offset

DUPLICATE_S = 0.001   # a copy follows the first within this (a resend: a round trip later)
# How far back (in frames) a copy's first is looked for: a millisecond of a busy link, and
# a fixed number, so that whatever batches the reader made (a file's chunks, a pipe's
# pieces as they came) the same copies are found.
WINDOW = 8192
NEARBY = 512  # frames looked back at (within DUPLICATE_S) for a copy's first, at most
HEAD = 96     # bytes of a frame's head that hold its IP header's start, whatever the link


class RecentFrames:
    """The frames of the reading loop's last batches, at least WINDOW of them, found by
    frame number, and the count of copies found among them."""

    __slots__ = ("batches", "count", "first", "held", "last")

    def __init__(self) -> None:
        self.batches: deque[Sequence[Frame]] = deque()   # the newest first
        self.held = 0     # frames in them
        self.count = 0    # packets found to be copies of an earlier frame
        self.first = 0    # ... the first of them
        self.last = 0     # ... the last (asked again for its ACK and for its data)

    def push(self, batch: Sequence[Frame]) -> None:
        """The next batch: those before it stay findable as long as the others hold fewer
        than WINDOW frames before it (a copy may straddle batches; a pipe's are small)."""
        batches = self.batches
        batches.appendleft(batch)
        self.held += len(batch)
        while self.held - len(batches[-1]) - len(batch) >= WINDOW:
            self.held -= len(batches.pop())

    def frame(self, number: int) -> Frame | None:
        for batch in self.batches:
            if batch and batch[0][0] <= number <= batch[-1][0]:
                at = number - batch[0][0]    # (pcap frames are numbered without gaps)
                if at < len(batch) and batch[at][0] == number:
                    return batch[at]
                return next((f for f in batch if f[0] == number), None)   # (text lines)
        return None

    def copy_nearby(self, number: int) -> bool:
        """Whether frame ``number`` is a copy of any of the NEARBY frames before it within
        DUPLICATE_S: a SPAN session's copies trail their packets by a fixed delay, so in a
        burst a copy follows other packets of the same connection, not its own first."""
        b = self.frame(number)
        ob = _ip_at(b[2], b[3]) if b is not None else -1
        if b is None or ob < 0:
            return False
        # (what a copy repeats where its link header ends: IPv4 length and identification,
        # the first six bytes of IPv6; found in a frame's head before the full comparison)
        key = b[3][ob + 2:ob + 6] if b[3][ob] >> 4 == 4 else b[3][ob:ob + 6]
        looked = 0
        for batch in self.batches:    # (the newest first; each one's frames backwards)
            if not batch or batch[0][0] >= number:
                continue
            at = min(number - batch[0][0], len(batch))   # (pcap: number's own place)
            while at > 0 and batch[at - 1][0] >= number:  # (text lines: numbered with gaps)
                at -= 1
            for i in range(at - 1, -1, -1):
                a = batch[i]
                looked += 1
                if looked > NEARBY or b[1] - a[1] > DUPLICATE_S:
                    return False
                if a[3].find(key, 0, HEAD) >= 0 and b[1] >= a[1] \
                        and same_packet(a[2], a[3], b[2], b[3]) and _seen_twice(a, b):
                    self._found(number)
                    return True
        return False

    def copy_once_seen(self, number: int) -> bool:
        """``copy_nearby`` in a capture that already showed a copy (data, ICMP: searching
        behind each quick resend of a capture without copies cost 9% of its time)."""
        return self.count > 0 and self.copy_nearby(number)

    def copy_of(self, earlier: int, number: int) -> bool:
        """Whether frame ``number`` carries the packet of frame ``earlier`` again, within
        DUPLICATE_S, and something shows it was not sent twice (``_seen_twice``); counted
        when it does."""
        if number == self.last:
            return True
        if number - earlier > WINDOW:
            return False
        a, b = self.frame(earlier), self.frame(number)
        if a is None or b is None or earlier == number or not 0 <= b[1] - a[1] <= DUPLICATE_S \
                or not same_packet(a[2], a[3], b[2], b[3]) or not _seen_twice(a, b):
            return False
        self._found(number)
        return True

    def _found(self, number: int) -> None:
        self.count += 1
        self.first = self.first or number
        self.last = number


def _ip_at(link: int, data: bytes) -> int:
    """``ip_offset``, with Ethernet's common case first."""
    if link == LINKTYPE_ETHERNET and data[12:14] in (b"\x08\x00", b"\x86\xdd"):
        return 14
    return ip_offset(link, data)


def _seen_twice(a: Frame, b: Frame) -> bool:
    """What tells one packet seen twice from a packet sent twice alike (some senders repeat
    a segment within a millisecond; dup ACKs read alike): the same IPv4 identification
    (not 0), which a second send changes, or two capture points (another link type or
    link header: an interface index, a VLAN tag, other MAC addresses). tcpdump text shows
    neither, but for the interface 'tcpdump -i any' names."""
    oa, ob = _ip_at(a[2], a[3]), _ip_at(b[2], b[3])
    if a[2] != b[2] or a[3][:oa] != b[3][:ob]:
        return True
    ip = b[3][ob:ob + 6]
    return len(ip) == 6 and ip[0] >> 4 == 4 and ip[4:6] != b"\0\0"


def same_packet(link_a: int, a: bytes, link_b: int, b: bytes) -> bool:
    """Whether two frames carry the same IP packet, byte for byte but for the hop count and
    the IPv4 header checksum (a router between two capture points changes both); link
    headers, VLAN tags and Ethernet padding aside."""
    oa, ob = _ip_at(link_a, a), _ip_at(link_b, b)
    if oa < 0 or ob < 0 or len(a) <= oa or len(b) <= ob or a[oa] >> 4 != b[ob] >> 4:
        return False
    if a[oa] >> 4 == 4:   # (length and identification first: they tell most apart)
        end = int.from_bytes(a[oa + 2:oa + 4], "big") or len(a) - oa   # (0: before TSO)
        return (a[oa + 2:oa + 6] == b[ob + 2:ob + 6] and a[oa:oa + 2] == b[ob:ob + 2]
                and a[oa + 6:oa + 8] == b[ob + 6:ob + 8] and a[oa + 9:oa + 10] == b[ob + 9:ob + 10]
                and a[oa + 12:oa + end] == b[ob + 12:ob + end])
    if a[oa] >> 4 == 6:
        end = 40 + int.from_bytes(a[oa + 4:oa + 6], "big")
        return a[oa:oa + 7] == b[ob:ob + 7] and a[oa + 8:oa + end] == b[ob + 8:ob + end]
    return False
