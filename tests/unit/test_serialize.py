"""The one serializer of the steps' typed records: the JSON names, their order, and which
appear when. The expected mappings are what pmtu/mss wrote before the records existed
(checked byte for byte against the old code on 3000 random rule inputs when they came)."""

from __future__ import annotations

import json

from pathprobe.model import Hop, IpVersion
from pathprobe.records import (
    MssClamp,
    MssResult,
    PmtuNumbers,
    PmtuResult,
    SegmentResult,
    UpSeenBy,
)
from pathprobe.serialize import (
    mss_clamp_numbers,
    mss_icmp_numbers,
    mss_measurements,
    mss_reset_numbers,
    pmtu_measurements,
    pmtu_numbers,
)

PMTU = PmtuResult(mtu=1372, method="icmp", exact=True, probes=21, rounds=3,
                  interface="to-r1", interface_mtu=1500, route_pmtu=1500)


def test_pmtu_measurements_minimal_then_every_optional_name() -> None:
    assert list(pmtu_measurements(PMTU).items()) == [
        ("pmtu", 1372), ("pmtu_method", "icmp"), ("pmtu_exact", True), ("probes", 21),
        ("rounds", 3), ("interface", "to-r1"), ("interface_mtu", 1500), ("route_pmtu", 1500),
        ("duration_s", 0.0)]
    full = PmtuResult(mtu=1372, method="icmp", exact=False, probes=21, rounds=3,
                      interface=None, interface_mtu=None, route_pmtu=None, icmp_mtu=1400,
                      direction_known=True, mtu_up=1372, mtu_down=None, hops_searched=True,
                      hop=Hop("198.18.1.1"), duration_s=0.512)
    assert json.dumps(pmtu_measurements(full)) == (
        '{"pmtu": 1372, "pmtu_method": "icmp", "pmtu_exact": false, "probes": 21, '
        '"rounds": 3, "interface": null, "interface_mtu": null, "route_pmtu": null, '
        '"icmp_mtu": 1400, "pmtu_up": 1372, "pmtu_down": null, "hop": "198.18.1.1", '
        '"duration_s": 0.512}')
    # --hops ran and found nothing: the name is there, with null
    none = PmtuResult(1372, "icmp", True, 1, 1, None, None, None, hops_searched=True)
    assert pmtu_measurements(none)["hop"] is None


def test_pmtu_numbers() -> None:
    assert pmtu_numbers(PmtuNumbers(1500)) == {"interface_mtu": 1500}
    assert list(pmtu_numbers(PmtuNumbers(1500, smallest_failing=1373, icmp_signalled=True,
                                         icmp_mtu=None)).items()) == [
        ("interface_mtu", 1500), ("smallest_failing", 1373), ("icmp_mtu", None)]
    assert pmtu_numbers(PmtuNumbers(9000, route_pmtu=1400)) == {"interface_mtu": 9000,
                                                                "route_pmtu": 1400}


def test_mss_measurements_order_with_segments_peer_and_hops() -> None:
    seg = SegmentResult(beyond_clamp=False, tested_up_to=1500, largest_acked=1372,
                        smallest_failed=1373, probes=14, max_payload=1320,
                        blackhole_threshold=1372, search_s=1.25)
    r = MssResult(1460, 1300, True, "syn-ack capture", True, 1500, segments=seg,
                  interface_mtu=9000, peer_probed=True, peer_segment_max=None,
                  hops_probed=True, hop=Hop("198.18.1.1", 1), duration_s=2.5)
    assert list(mss_measurements(r)) == [
        "mss_sent", "mss_received", "mss_received_exact", "mss_method", "timestamps",
        "route_pmtu", "segment_method", "tested_up_to", "largest_acked", "smallest_failed",
        "probes", "max_payload", "blackhole_threshold", "interface_mtu", "peer_segment_max",
        "hop", "hop_ttl", "duration_s", "search_s"]
    assert mss_measurements(r)["segment_method"] == "negotiated-mss"
    bare = MssResult(1460, 1460, False, "tcp_info", False, 1500)
    assert list(mss_measurements(bare)) == [
        "mss_sent", "mss_received", "mss_received_exact", "mss_method", "timestamps",
        "route_pmtu", "duration_s"]


def test_mss_clamp_numbers_follow_how_the_clamp_was_seen() -> None:
    down = MssClamp(1460, 1300, IpVersion.V4)
    assert json.dumps(mss_clamp_numbers(down)) == (
        '{"mss_sent": 1460, "mss_received": 1300, "ip_version": 4}')
    peer_up = MssClamp(1460, 1288, IpVersion.V6, UpSeenBy.PEER_SEGMENTS, syn_ack_mss=1460,
                       at_peer=1288)
    assert list(mss_clamp_numbers(peer_up)) == ["mss_sent", "mss_received", "ip_version",
                                                "mss_at_peer", "syn_ack_mss"]
    quoted = MssClamp(1460, 1300, IpVersion.V4, UpSeenBy.QUOTATION, syn_ack_mss=1460,
                      at_peer=1300, hop=Hop("198.18.1.1", 2))
    assert list(mss_clamp_numbers(quoted).items()) == [
        ("mss_sent", 1460), ("mss_received", 1300), ("ip_version", 4), ("syn_ack_mss", 1460),
        ("mss_at_peer", 1300), ("hop", "198.18.1.1"), ("hop_ttl", 2)]
    assert type(mss_clamp_numbers(quoted)["ip_version"]) is int


def test_mss_reset_and_icmp_numbers() -> None:
    assert mss_reset_numbers(1373) == {"smallest_reset": 1373}
    assert mss_reset_numbers(None) == {"smallest_reset": None}
    assert mss_icmp_numbers(1400) == {"icmp_mtu": 1400}
    assert mss_icmp_numbers(None) == {}
