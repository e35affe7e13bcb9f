"""The steps' results as typed records: named fields in stated units, no string keys.

Rules decide on these fields; ``serialize`` alone turns them into the JSON names
of ``LegReport.measurements`` and ``Verdict.numbers``. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass

from pathprobe.compat import StrEnum
from pathprobe.model import Hop, IpVersion, LegSizes


@dataclass(frozen=True)
class PmtuResult:
    """What one pmtu run measured on its leg (sizes are IP packet bytes).

    The JSON names of these fields live in ``serialize.pmtu_measurements``.
    """

    mtu: int                    # the largest packet proven to cross
    method: str                 # icmp | udp | tcp | syn
    exact: bool                 # False: ``mtu`` is only the proven lower bound
    probes: int
    rounds: int
    interface: str | None
    interface_mtu: int | None
    route_pmtu: int | None      # the kernel's route MTU now (a cached PMTU or the device's)
    icmp_mtu: int | None = None   # the MTU an ICMP too-big named (a claim, not proof)
    direction_known: bool = False   # up and down were told apart (or tried)
    mtu_up: int | None = None
    mtu_down: int | None = None
    hops_searched: bool = False   # --hops ran
    hop: Hop | None = None        # where the MTU drops, when --hops found it
    duration_s: float = 0.0

    def sizes(self) -> LegSizes:
        """What the leg's row proves it carries, for the rules."""
        if not self.direction_known:
            return LegSizes(pmtu=self.mtu)
        return LegSizes(pmtu=self.mtu, pmtu_up=self.mtu_up, pmtu_down=self.mtu_down)


@dataclass(frozen=True)
class PmtuNumbers:
    """The numbers a pmtu verdict carries (bytes)."""

    interface_mtu: int | None
    route_pmtu: int | None = None        # set when the kernel's cached PMTU explains the limit
    smallest_failing: int | None = None  # the smallest size proven not to cross
    icmp_signalled: bool = False         # an ICMP too-big answered (icmp_mtu is its claim)
    icmp_mtu: int | None = None


@dataclass(frozen=True)
class SegmentResult:
    """The mss segment search (sizes are IP packet bytes, payloads TCP bytes)."""

    beyond_clamp: bool          # sizes above the negotiated MSS were sent (TCP_REPAIR)
    tested_up_to: int           # the largest packet that could be tested
    largest_acked: int | None
    smallest_failed: int | None
    probes: int
    max_payload: int | None = None          # payload of largest_acked
    rst_threshold: int | None = None        # largest_acked, when larger ones were reset
    blackhole_threshold: int | None = None  # largest_acked, when larger ones vanished
    search_s: float = 0.0


@dataclass(frozen=True)
class MssResult:
    """What one mss run measured on its leg (MSS values are TCP payload bytes)."""

    sent: int                   # the MSS our SYN advertised
    received: int               # the MSS the SYN-ACK carried (a lower bound unless exact)
    received_exact: bool
    method: str                 # how ``received`` was read (SYN-ACK capture or TCP_INFO)
    timestamps: bool
    route_pmtu: int             # our route's MTU toward the target (bytes)
    segments: SegmentResult | None = None
    interface_mtu: int | None = None   # set when a cached PMTU below it bounds the sizes
    peer_probed: bool = False
    peer_segment_max: int | None = None   # the peer's largest segment, when conclusive
    hops_probed: bool = False
    hop: Hop | None = None      # the first hop that saw our SYN's MSS rewritten
    duration_s: float = 0.0

    def sizes(self) -> LegSizes:
        """What the leg's row proves it carries, for the rules."""
        return LegSizes(max_payload=self.segments.max_payload
                        if self.segments is not None else None)


class UpSeenBy(StrEnum):
    """How a rewrite of our SYN's MSS (the up direction of a clamp) was seen."""

    PEER_SEGMENTS = "peer-segments"   # the peer's reply segments were smaller
    QUOTATION = "quotation"           # an ICMP quotation of a TTL-limited SYN


@dataclass(frozen=True)
class MssClamp:
    """The numbers an MSS_CLAMPED verdict carries (MSS values in TCP payload bytes)."""

    sent: int
    received: int               # the MSS arriving where the clamp was seen
    ip_version: IpVersion
    up_seen_by: UpSeenBy | None = None
    syn_ack_mss: int | None = None   # the SYN-ACK's own MSS, when the clamp is up only
    at_peer: int | None = None       # the MSS our SYN arrived with
    hop: Hop | None = None
