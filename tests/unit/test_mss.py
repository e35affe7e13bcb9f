"""Unit tests for the mss classifier, hop location, TCP_INFO decoding and the
segment search plumbing (with a simulated path: sizes -> acked/reset/lost)."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pathprobe.errors import UsageError
from pathprobe.facts.diagnose import DiagnoseFact
from pathprobe.facts.mss import MssFact
from pathprobe.model import (
    Basis,
    Direction,
    Evidence,
    Leg,
    Limit,
    Measurement,
    Step,
    UnmeasuredReason,
    VerdictCode,
)
from pathprobe.mss import handshake_view, measure_mss, search_segments, segment_view
from pathprobe.mss_rules import (
    Failure,
    HandshakeView,
    HopView,
    PeerView,
    ReceivedBound,
    SegmentView,
    classify,
    locate_rewrite,
    mss_at_peer,
)
from pathprobe.probes import kernel
from pathprobe.probes import tcp as tcpprobe
from pathprobe.probes.kernel import TcpInfo
from pathprobe.render.evidence import describe
from pathprobe.render.unmeasured import unmeasured_sentence
from pathprobe.search import FailedHow, SearchResult, StopReason

LEG = Leg.FMC_PROXY

HS_OK = HandshakeView(4, 1460, 1460, True, "syn-ack capture", True, 1500)
HS_CLAMP = HandshakeView(4, 1460, 1300, True, "syn-ack capture", True, 1500)


def result(ok: int | None, bad: int | None, *, high: int = 1500, exact: bool = True,
           icmp: int | None = None) -> SearchResult:
    stop = (StopReason.HIGH_DELIVERED if ok is not None and ok >= high else
            StopReason.CLOSED if exact else StopReason.PROBE_BUDGET)
    return SearchResult(largest_ok=ok, smallest_bad=bad, exact=exact, icmp_mtu=icmp,
                        signalled=icmp is not None, probes=20, rounds=2, stop=stop,
                        failed_how=FailedHow.LOST if bad is not None else None,
                        low=576, high=high)


def seg(ok: int | None, bad: int | None, failure: Failure | None, *, high: int = 1500,
        beyond: bool = True, exact: bool = True, resets: tuple[int, ...] = (),
        icmp: int | None = None) -> SegmentView:
    return SegmentView(52, beyond, result(ok, bad, high=high, exact=exact, icmp=icmp),
                       failure, resets)


def codes(m: Measurement) -> list[VerdictCode]:
    return [v.code for v in m.verdicts]


def texts(evidence: tuple[Evidence, ...] | list[Evidence]) -> list[str]:
    """Every sentence, checked for unfilled '?' placeholders."""
    out = [describe(e) for e in evidence]
    for line in out:
        assert "?" not in line, line
    return out


def facts(evidence: tuple[Evidence, ...]) -> list[object]:
    return [e.fact for e in evidence]


def test_healthy_no_false_alarm() -> None:
    m = classify(LEG, "198.18.2.2:3128", HS_OK, seg(1500, None, None), None)
    assert codes(m) == [VerdictCode.HEALTHY]
    leg = m.legs[0].measurements
    assert leg["mss_sent"] == 1460 and leg["mss_received"] == 1460
    assert leg["max_payload"] == 1448 and leg["largest_acked"] == 1500
    v = m.verdicts[0]
    assert (v.leg, v.basis, v.limit) == (LEG, Basis.THIS_LEG_ONLY,
                                         Limit(mtu=1500, max_payload=1448))
    assert facts(v.evidence) == [MssFact.HANDSHAKE, MssFact.SEGMENTS_ACKED]
    assert texts(v.evidence) == [
        "SYN advertised MSS 1460; SYN-ACK carried MSS 1460 (syn-ack capture)",
        "segments up to 1500-byte packets (payload 1448) acknowledged"]


def test_clamp_with_path_carrying_more() -> None:
    m = classify(LEG, "t", HS_CLAMP, seg(1500, None, None), None)
    assert codes(m) == [VerdictCode.MSS_CLAMPED]
    v = m.verdicts[0]
    assert dict(v.numbers) == {"mss_sent": 1460, "mss_received": 1300, "ip_version": 4}
    assert v.direction is Direction.DOWN and v.basis is Basis.THIS_LEG_ONLY
    assert MssFact.PATH_CARRIED_MORE in facts(v.evidence)
    assert any("not by the path MTU" in e for e in texts(v.evidence))


def test_clamp_unprivileged_segment_bound_noted() -> None:
    hs = HandshakeView(4, 1460, 1300, True, "tcp_info", True, 1500)
    m = classify(LEG, "t", hs, seg(1352, None, None, high=1352, beyond=False), None)
    assert codes(m) == [VerdictCode.MSS_CLAMPED]
    assert MssFact.PATH_CARRIED_MORE not in facts(m.verdicts[0].evidence)
    assert facts(m.legs[0].notes) == [MssFact.NEGOTIATED_BOUND]
    assert "negotiated" in texts(m.legs[0].notes)[0]


def test_sizes_our_stack_refused_are_not_a_path_limit() -> None:
    """1500 refused by our own stack (its send MSS), 1499 acked: the path was tested only up
    to 1499, which the leg's notes say (a lower bound), never a failure of the path."""
    m = classify(LEG, "t", HS_CLAMP, seg(1499, 1500, Failure.LOCAL), None)
    assert codes(m) == [VerdictCode.MSS_CLAMPED]
    assert facts(m.legs[0].notes) == [MssFact.LOCAL_BOUND]
    assert texts(m.legs[0].notes) == [
        "1500-byte packets and up were not sent: our own stack refused them (its send MSS or "
        "cached PMTU), so the path is proven to carry 1499-byte packets, and may carry more"]


def test_lower_bound_mss_is_not_a_clamp() -> None:
    hs = HandshakeView(4, 1460, 1360, False, "tcp_info", True, 1400)
    m = classify(LEG, "t", hs, seg(1400, None, None, high=1400, beyond=False), None)
    assert codes(m) == [VerdictCode.HEALTHY]
    assert m.legs[0].notes[0].fact is MssFact.RECEIVED_ROUTE_BOUND
    assert any("at least 1360" in n for n in texts(m.legs[0].notes))
    assert "at least 1360" in texts(m.verdicts[0].evidence)[0]


def test_rst_threshold() -> None:
    m = classify(LEG, "t", HS_OK, seg(1400, 1401, Failure.RESET, resets=(1401, 1500)),
                 None)
    assert codes(m) == [VerdictCode.RST_ON_LARGE_SEGMENT]
    v = m.verdicts[0]
    assert v.limit == Limit(mtu=1400, max_payload=1348)
    assert v.direction is Direction.UP and v.numbers["smallest_reset"] == 1401
    assert m.legs[0].measurements["rst_threshold"] == 1400
    assert facts(v.evidence) == [MssFact.RESET_ABOVE, MssFact.RESET_NOT_MTU]
    assert texts(v.evidence)[0] == ("1400-byte packets (payload 1348) acknowledged; "
                                    "1401-byte packets answered by a TCP reset")


def test_clamp_and_rst_together() -> None:
    m = classify(LEG, "t", HS_CLAMP, seg(1400, 1401, Failure.RESET), None)
    assert codes(m) == [VerdictCode.MSS_CLAMPED, VerdictCode.RST_ON_LARGE_SEGMENT]


def test_blackhole() -> None:
    m = classify(LEG, "t", HS_OK, seg(1372, 1373, Failure.LOST), None)
    assert codes(m) == [VerdictCode.PMTU_BLACKHOLE]
    assert m.verdicts[0].limit == Limit(mtu=1372, max_payload=1320)
    texts(m.verdicts[0].evidence)
    assert "rst_threshold" not in m.legs[0].measurements


def test_open_bracket_is_lower_bound_and_inferred() -> None:
    m = classify(LEG, "t", HS_OK, seg(1300, 1400, Failure.LOST, exact=False), None)
    v = m.verdicts[0]
    assert v.code is VerdictCode.PMTU_BLACKHOLE
    assert v.limit == Limit(mtu=1300, max_payload=1248, exact=False)
    assert v.confidence.value == "inferred"


def test_reset_even_at_low() -> None:
    m = classify(LEG, "t", HS_OK, seg(None, 576, Failure.RESET), None)
    assert codes(m) == [VerdictCode.RST_ON_LARGE_SEGMENT]
    assert m.verdicts[0].limit is None and m.verdicts[0].numbers["smallest_reset"] == 576
    assert texts(m.verdicts[0].evidence)[0] == ("even 576-byte packets (payload 524) were "
                                                "answered by a TCP reset")


def test_icmp_signalled() -> None:
    s = seg(1400, 1401, Failure.ICMP, beyond=False, icmp=1400)
    m = classify(LEG, "t", HS_OK, s, None)
    assert codes(m) == [VerdictCode.PMTU_REDUCED]
    v = m.verdicts[0]
    assert (v.limit, v.numbers["icmp_mtu"]) == (Limit(mtu=1400, max_payload=1348), 1400)
    assert texts(v.evidence)[0].startswith("an ICMP too-big (next-hop MTU 1400) answered")


def test_ipv6_overheads() -> None:
    hs = HandshakeView(6, 1440, 1300, True, "syn-ack capture", True, 1500)
    m = classify(LEG, "t", hs, None, None)
    assert codes(m) == [VerdictCode.MSS_CLAMPED]
    assert m.legs[0].measurements["mss_sent"] == 1440
    assert m.verdicts[0].numbers["ip_version"] == 6
    assert "implies 1360-byte packets" in texts(m.verdicts[0].evidence)[1]


def test_locate_rewrite_names_hop() -> None:
    hops = HopView(((1, "198.18.1.1", 1460, False), (2, "198.18.9.1", 1300, False),
                    (3, "198.18.2.2", None, True)))
    f = locate_rewrite(1460, hops)
    assert f.hop == "198.18.9.1" and f.ttl == 2
    assert f.evidence[0].fact is MssFact.HOP_REWRITE
    assert texts(f.evidence)[0] == ("hop 2 (198.18.9.1) quotes our SYN with MSS 1300 instead "
                                    "of 1460: rewritten between hop 1 (198.18.1.1) and hop 2")
    m = classify(LEG, "t", HS_CLAMP, None, f)
    assert m.verdicts[0].numbers["hop"] == "198.18.9.1"


def test_locate_rewrite_unchanged_until_target() -> None:
    f = locate_rewrite(1460, HopView(((1, "198.18.1.1", 1460, False),
                                      (2, "198.18.2.2", None, True))))
    assert f.hop is None and facts(f.evidence) == [MssFact.HOPS_REACHED, MssFact.HOPS_AFTER]
    assert "up to hop 1 (198.18.1.1) show our MSS 1460 unchanged" in texts(f.evidence)[0]


def test_locate_rewrite_no_quotes() -> None:
    f = locate_rewrite(1460, HopView(((1, None, None, False), (2, None, None, False))))
    assert f.hop is None and f.evidence[0].fact is MssFact.HOPS_NO_QUOTES
    assert "cannot be located" in texts(f.evidence)[0]


def test_segment_view_local_after_icmp_is_icmp() -> None:
    outcomes = {1400: tcpprobe.SegmentOutcome.ACKED,
                1401: tcpprobe.SegmentOutcome.LOCAL_LIMIT,
                1500: tcpprobe.SegmentOutcome.ICMP_TOO_BIG}
    v = segment_view(result(1400, 1401, icmp=1400), outcomes, overhead=52, beyond_clamp=False)
    assert v.failure is Failure.ICMP


# -- the search plumbing against a simulated path -------------------------------------

def _hs(snd_mss: int = 1448) -> tcpprobe.Handshake:
    return tcpprobe.Handshake(socket.AF_INET, 1460, 1460, True, "x", True, snd_mss, 1500, 0.001)


def _path(rst_above: int | None, drop_above: int | None, overhead: int = 52):
    def prober(payloads: Sequence[int]) -> list[tcpprobe.SegmentProbe]:
        out = []
        for p in payloads:
            size = p + overhead
            if drop_above is not None and size > drop_above:
                o = tcpprobe.SegmentOutcome.LOST
            elif rst_above is not None and size > rst_above:
                o = tcpprobe.SegmentOutcome.RESET
            else:
                o = tcpprobe.SegmentOutcome.ACKED
            out.append(tcpprobe.SegmentProbe(p, o))
        return out
    return prober


@settings(max_examples=60, deadline=None)
@given(st.one_of(st.none(), st.integers(54, 1499)), st.one_of(st.none(), st.integers(54, 1499)))
def test_search_finds_thresholds_exactly(rst: int | None, drop: int | None) -> None:
    v = search_segments(socket.AF_INET, ("198.18.2.2", 3128), _hs(), override=False,
                        ack_timeout=1.0, progress=lambda _: None, prober=_path(rst, drop))
    limits = [x for x in (rst, drop) if x is not None]
    expected = min(limits) if limits else 1500
    assert v.largest_ok == expected            # exact, and never above the truth
    m = classify(LEG, "t", HS_OK, v, None)
    code = m.verdicts[0].code
    if not limits:
        assert code is VerdictCode.HEALTHY
    elif drop is not None and (rst is None or drop <= rst):
        assert code is VerdictCode.PMTU_BLACKHOLE
        assert m.verdicts[0].limit == Limit(mtu=drop, max_payload=drop - 52)
    else:
        assert code is VerdictCode.RST_ON_LARGE_SEGMENT
        assert m.verdicts[0].limit == Limit(mtu=rst, max_payload=rst - 52)
    assert v.result.probes <= 60
    for verdict in m.verdicts:
        texts(verdict.evidence)


@given(st.integers(576, 1500), st.integers(0, 200), st.sampled_from(list(Failure)),
       st.booleans())
def test_never_over_reports(ok: int, gap: int, failure: Failure, exact: bool) -> None:
    s = seg(ok, ok + 1 + gap, failure, exact=exact)
    m = classify(LEG, "t", HS_OK, s, None)
    for v in m.verdicts:
        assert v.limit is not None and v.limit.mtu is not None and v.limit.mtu <= ok
        assert v.limit.exact is exact


def test_icmp_hint_above_proven_size_not_reported() -> None:
    s = seg(1300, 1450, Failure.ICMP, beyond=False, exact=False, icmp=1400)
    m = classify(LEG, "t", HS_OK, s, None)
    assert m.verdicts[0].limit == Limit(mtu=1300, max_payload=1248, exact=False)


def test_up_only_clamp_from_peer_segments() -> None:
    peer = PeerView(3623, 1288, True)
    m = classify(LEG, "t", HS_OK, seg(1500, None, None), None, peer=peer)
    assert codes(m) == [VerdictCode.MSS_CLAMPED]
    v = m.verdicts[0]
    assert v.direction is Direction.UP and v.confidence.value == "inferred"
    assert (v.numbers["mss_sent"], v.numbers["mss_received"]) == (1460, 1300)
    assert v.numbers["syn_ack_mss"] == 1460 and "hop" not in v.numbers
    assert facts(v.evidence) == [MssFact.HANDSHAKE, MssFact.PEER_SEGMENTS_SMALL,
                                 MssFact.SYN_LOWERED]
    assert texts(v.evidence)[1] == ("the peer's segments to us carry at most 1288 payload "
                                    "bytes (MSS 1300 with options) although we advertised 1460")


def test_both_directions_clamp() -> None:
    m = classify(LEG, "t", HS_CLAMP, None, None, peer=PeerView(3623, 1288, True))
    v = m.verdicts[0]
    assert v.direction is Direction.BOTH and v.numbers["mss_received"] == 1300
    assert v.numbers["mss_at_peer"] == 1300


def test_peer_segments_limited_by_measured_path_are_not_a_clamp() -> None:
    # r1 route MTU 1400 both ways: the peer's segments shrink to 1348 by PMTUD.
    s = seg(1400, 1401, Failure.ICMP, beyond=False, icmp=1400)
    m = classify(LEG, "t", HS_OK, s, None, peer=PeerView(3623, 1348, True))
    assert codes(m) == [VerdictCode.PMTU_REDUCED]
    assert MssFact.PEER_SEGMENTS_PATH in facts(m.legs[0].notes)
    assert any("not a clamp" in n for n in texts(m.legs[0].notes))


def test_short_reply_is_inconclusive() -> None:
    assert mss_at_peer(PeerView(500, 500, True)) is None
    assert mss_at_peer(PeerView(0, 0, True, timed_out=True)) is None
    m = classify(LEG, "t", HS_OK, seg(1500, None, None), None,
                 peer=PeerView(500, 500, True))
    assert codes(m) == [VerdictCode.HEALTHY]
    assert any("too short" in n for n in texts(m.legs[0].notes))
    ok = classify(LEG, "t", HS_OK, seg(1500, None, None), None,
                  peer=PeerView(3623, 1448, True))
    assert codes(ok) == [VerdictCode.HEALTHY]
    assert MssFact.PEER_INTACT in facts(ok.verdicts[0].evidence)
    assert any("arrived intact" in e for e in texts(ok.verdicts[0].evidence))


def test_service_that_resets_everything_is_not_a_size_verdict() -> None:
    def prober(payloads: Sequence[int]) -> list[tcpprobe.SegmentProbe]:
        return [tcpprobe.SegmentProbe(p, tcpprobe.SegmentOutcome.RESET) for p in payloads]
    v = search_segments(socket.AF_INET, ("198.18.2.2", 3128), _hs(), override=False,
                        ack_timeout=1.0, progress=lambda _: None, prober=prober)
    assert v.service_resets and v.largest_ok is None
    m = classify(LEG, "t", HS_OK, v, None)
    assert VerdictCode.RST_ON_LARGE_SEGMENT not in codes(m)


def test_reset_above_tiny_size_is_a_size_verdict() -> None:
    def prober(payloads: Sequence[int]) -> list[tcpprobe.SegmentProbe]:
        return [tcpprobe.SegmentProbe(p, tcpprobe.SegmentOutcome.RESET if p > 100
                                      else tcpprobe.SegmentOutcome.ACKED) for p in payloads]
    v = search_segments(socket.AF_INET, ("198.18.2.2", 3128), _hs(), override=False,
                        ack_timeout=1.0, progress=lambda _: None, prober=prober)
    assert not v.service_resets
    m = classify(LEG, "t", HS_OK, v, None)
    assert codes(m) == [VerdictCode.RST_ON_LARGE_SEGMENT]


def test_up_clamp_proven_by_quotation() -> None:
    hops = HopView(((1, "198.18.1.1", 1460, False), (2, "198.18.2.2", 1300, False),
                    (3, "198.18.4.2", None, True)))
    f = locate_rewrite(1460, hops)
    assert f.quoted_mss == 1300
    m = classify(Leg.FMC_UPSTREAM, "t", HS_OK, seg(1500, None, None), f,
                 peer=PeerView(0, 0, True, timed_out=True))
    v = m.verdicts[0]
    assert v.code is VerdictCode.MSS_CLAMPED and v.direction is Direction.UP
    assert v.confidence.value == "measured"
    assert (v.numbers["mss_received"], v.numbers["hop"], v.numbers["hop_ttl"]) == (
        1300, "198.18.2.2", 2)
    both = classify(Leg.FMC_UPSTREAM, "t", HS_CLAMP, None, f)
    assert both.verdicts[0].direction is Direction.BOTH


def test_unchanged_quotations_stay_healthy() -> None:
    f = locate_rewrite(1460, HopView(((1, "198.18.1.1", 1460, False),
                                      (2, "198.18.2.2", None, True))))
    m = classify(LEG, "t", HS_OK, seg(1500, None, None), f)
    assert codes(m) == [VerdictCode.HEALTHY]
    assert any("unchanged" in e for e in texts(m.verdicts[0].evidence))


def test_cached_pmtu_below_interface_is_reported() -> None:
    hs = HandshakeView(4, 1360, 1460, True, "syn-ack capture", True, 1400, 1500)
    m = classify(LEG, "t", hs, seg(1400, None, None, high=1400, beyond=False), None)
    v = m.verdicts[0]
    assert v.code is VerdictCode.PMTU_REDUCED and v.limit == Limit(mtu=1400)
    assert v.confidence.value == "inferred"
    assert facts(v.evidence) == [MssFact.CACHED_PMTU, MssFact.CACHED_PMTU_BOUNDS]
    texts(v.evidence)
    clean = HandshakeView(4, 1460, 1460, True, "syn-ack capture", True, 1500, 1500)
    assert codes(classify(LEG, "t", clean, seg(1500, None, None), None)) == [
        VerdictCode.HEALTHY]


def test_help_teaches_and_does_not_load_scapy() -> None:
    import subprocess
    import sys

    from tests.conftest import REPO, cli_env

    code = ("import sys\nfrom pathprobe.cli import main\n"
            "try:\n    main(['mss', '--help'])\nexcept SystemExit:\n    pass\n"
            "print('SCAPY' if 'scapy' in sys.modules else 'NO-SCAPY')")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env=cli_env(), cwd=REPO, check=False)
    out = r.stdout
    for needed in ("HOST:PORT", "Example", "198.18.2.2:3128", "--ack-timeout", "--no-hops",
                   "--leg", "RST_ON_LARGE_SEGMENT", "Exit status: 0", "2 usage error"):
        assert needed in out, needed
    assert out.strip().endswith("NO-SCAPY")


def test_bad_target_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    from pathprobe.cli import main

    for bad in ("198.18.2.2:0", "198.18.2.2:99999", "[2001:db8::1", "a b:80"):
        assert main(["mss", bad]) == 2, bad
        err = capsys.readouterr().err
        assert "Traceback" not in err and err.count("\n") == 1 and "HOST:PORT" in err


def test_leg_pmtu_tells_clamp_from_path_sized_mss() -> None:
    clamp = classify(LEG, "t", HS_CLAMP, None, None, leg_pmtu=1500)
    assert MssFact.LEG_PMTU_ABOVE in facts(clamp.verdicts[0].evidence)
    assert any("a clamp (or the peer's own setting)" in e
               for e in texts(clamp.verdicts[0].evidence))
    below = classify(LEG, "t", HS_CLAMP, None, None, leg_pmtu=1320)
    assert MssFact.LEG_PMTU_BELOW in facts(below.verdicts[0].evidence)


def test_reset_limit_does_not_explain_small_peer_segments() -> None:
    # clamp 1300 both ways + resets above 1400 up: the peer's 1340-byte packets are the clamp.
    m = classify(LEG, "t", HS_CLAMP, seg(1400, 1401, Failure.RESET), None,
                 peer=PeerView(3623, 1288, True))
    assert codes(m) == [VerdictCode.MSS_CLAMPED, VerdictCode.RST_ON_LARGE_SEGMENT]
    assert m.verdicts[0].direction is Direction.BOTH


# -- clamp or the peer's own MTU (issue 10) --------------------------------------------

HS_1396 = HandshakeView(4, 1460, 1396, True, "syn-ack capture", True, 1500)


def test_mss_matching_the_leg_pmtu_is_not_a_clamp() -> None:
    m = classify(LEG, "t", HS_1396, seg(1436, 1437, Failure.LOST), None, leg_pmtu=1436)
    assert codes(m) == [VerdictCode.PMTU_BLACKHOLE]
    v = m.verdicts[0]
    match = v.evidence[-1]
    assert match.fact is DiagnoseFact.MSS_MATCHES_PMTU
    assert dict(match.values) == {"mss": 1396, "mtu": 1436, "overhead": 40}
    assert describe(match).startswith("MSS 1396 matches path MTU 1436 (1436 - 40)")
    healthy = classify(LEG, "t", HS_1396, seg(1500, None, None), None, leg_pmtu=1436)
    assert codes(healthy) == [VerdictCode.HEALTHY]
    assert healthy.verdicts[0].evidence[-1].fact is DiagnoseFact.MSS_MATCHES_PMTU
    texts(healthy.verdicts[0].evidence)
    v6 = classify(LEG, "t", HandshakeView(6, 1440, 1376, True, "syn-ack capture", True, 1500),
                  None, None, leg_pmtu=1436)
    assert codes(v6) == [VerdictCode.HEALTHY]
    assert v6.verdicts[0].evidence[-1].values["overhead"] == 60


def test_mss_matching_the_pmtu_is_still_a_clamp_when_a_rewrite_is_shown() -> None:
    m = classify(LEG, "t", HS_1396, None, None, leg_pmtu=1436, peer=PeerView(5000, 1384, True))
    (v,) = m.verdicts
    assert (v.code, v.direction) == (VerdictCode.MSS_CLAMPED, Direction.BOTH)
    assert MssFact.LEG_PMTU_MATCHES in facts(v.evidence)
    # Without leg_pmtu, or with another one, the handshake alone says down.
    for pmtu in (None, 1500):
        (d,) = classify(LEG, "t", HS_1396, None, None, leg_pmtu=pmtu).verdicts
        assert (d.code, d.direction, d.confidence.value) == (
            VerdictCode.MSS_CLAMPED, Direction.DOWN, "measured")
        assert "hop" not in d.numbers and "mss_at_peer" not in d.numbers


@settings(max_examples=80, deadline=None)
@given(st.integers(536, 1460), st.integers(536, 1460), st.booleans(), st.booleans(),
       st.sampled_from([4, 6]))
def test_clamp_direction_rules(sent: int, received: int, exact: bool, peer_shows: bool,
                               family: int) -> None:
    """down only from the SYN-ACK; up/both only when the peer's segments show our SYN
    lowered; an inexact MSS never makes a clamp on its own."""
    hs = HandshakeView(family, sent, received, exact, "tcp_info", True, 1500)
    peer = PeerView(10_000, sent - 12 - 100, True) if peer_shows else None
    m = classify(LEG, "t", hs, None, None, peer=peer)
    clamps = [v for v in m.verdicts if v.code is VerdictCode.MSS_CLAMPED]
    down = exact and received < sent
    if not down and not peer_shows:
        assert not clamps
        return
    (v,) = clamps
    want = (Direction.BOTH if down and peer_shows else Direction.DOWN if down
            else Direction.UP)
    assert v.direction is want and v.basis is Basis.THIS_LEG_ONLY
    assert v.numbers["ip_version"] == family and v.numbers["mss_sent"] == sent
    texts(v.evidence)


def _handshake(method: str, received_exact: bool, snd_mss: int, received: int,
               family: int = socket.AF_INET) -> tcpprobe.Handshake:
    return tcpprobe.Handshake(family, 65495, received, received_exact, method, True, snd_mss,
                              65535, 0.0001)


def test_tcp_info_mss_capped_by_half_the_window_is_a_lower_bound() -> None:
    """Issue 15 item 8: as nobody on loopback TCP_INFO reads 32753 (half lo's 65483-byte
    window + 12), which is no clamp of 65495."""
    view = handshake_view(_handshake("tcp_info", True, 32741, 32753), 65536)
    assert (view.received_exact, view.bound) == (False, ReceivedBound.HALF_WINDOW)
    m = classify(LEG, "127.0.0.1:3128", view, None, None)
    assert codes(m) == [VerdictCode.HEALTHY]
    assert m.legs[0].notes[0].fact is MssFact.RECEIVED_WINDOW_BOUND
    assert "at least 32753" in texts(m.legs[0].notes)[0]
    # A captured SYN-ACK is exact whatever its size; a small TCP_INFO value is exact too.
    assert handshake_view(_handshake("syn-ack capture", True, 32741, 65495), None).bound is None
    small = handshake_view(_handshake("tcp_info", True, 1288, 1300), 1500)
    assert (small.received_exact, small.bound, small.family) == (True, None, 4)
    route = handshake_view(_handshake("tcp_info", False, 1448, 1460, socket.AF_INET6), None)
    assert (route.bound, route.family) == (ReceivedBound.ROUTE_MTU, 6)


def test_loopback_interface_mtu_is_capped_at_65535() -> None:
    hs = HandshakeView(4, 65495, 65495, True, "syn-ack capture", True, 65535, 65536)
    m = classify(LEG, "127.0.0.1:1", hs, seg(65535, None, None, high=65535), None)
    assert codes(m) == [VerdictCode.HEALTHY]
    reduced = HandshakeView(4, 1460, 1460, True, "syn-ack capture", True, 1400, 65536)
    assert codes(classify(LEG, "t", reduced, None, None)) == [VerdictCode.PMTU_REDUCED]


@pytest.fixture
def sink() -> Iterator[int]:
    """A loopback TCP listener that reads and discards (the proxy port, on lo)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    srv.settimeout(0.1)
    stop = threading.Event()

    def drain(c: socket.socket) -> None:
        with contextlib.suppress(OSError), c:
            c.settimeout(2)
            while c.recv(1 << 16):
                pass

    def serve() -> None:
        while not stop.is_set():
            try:
                c, _ = srv.accept()
            except (TimeoutError, OSError):
                continue
            threading.Thread(target=drain, args=(c,), daemon=True).start()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        yield int(srv.getsockname()[1])
    finally:
        stop.set()
        t.join(2)
        srv.close()


def test_measure_over_loopback_no_clamp_no_reduction(sink: int) -> None:
    """Issue 15 item 8 with a real listener (as whoever runs the tests)."""
    m = measure_mss("127.0.0.1", sink, leg=LEG, peer_probe=False)
    assert codes(m) == [VerdictCode.HEALTHY], [(v.code, v.numbers) for v in m.verdicts]
    assert m.verdicts[0].basis is Basis.THIS_LEG_ONLY
    texts(m.verdicts[0].evidence)
    texts(m.legs[0].notes)


def test_measure_without_a_listener_is_a_result() -> None:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    m = measure_mss("127.0.0.1", port, leg=LEG)
    (u,) = m.unmeasured
    assert not m.verdicts and not m.legs and (u.step, u.reason) == (Step.MSS,
                                                                    UnmeasuredReason.ERROR)
    assert "127.0.0.1 port" in unmeasured_sentence(u, "mss")
    with pytest.raises(UsageError):
        measure_mss("127.0.0.1", 0, leg=LEG)


def test_search_segments_time_budget_with_injected_clock() -> None:
    ticks = iter(range(0, 10_000, 15))
    v = search_segments(socket.AF_INET, ("198.18.2.2", 3128), _hs(), override=False,
                        ack_timeout=1.0, progress=lambda _: None, prober=_path(None, 1372),
                        clock=lambda: float(ticks.__next__()))
    assert v.result.stop is StopReason.TIME_BUDGET and not v.exact
    assert v.result.rounds == 1


def test_peer_probe_under_our_lowered_mss() -> None:
    # diagnose lowered the probe's SYN to 1308 (below a proven black hole on the way back):
    # segments of exactly that size are intact, not a clamp ...
    intact = classify(LEG, "t", HS_OK, seg(1500, None, None), None,
                      peer=PeerView(3623, 1296, True, advertised=1308))
    assert codes(intact) == [VerdictCode.HEALTHY]
    ev = next(e for e in intact.verdicts[0].evidence if e.fact is MssFact.PEER_INTACT)
    assert ev.values["mss_sent"] == 1308
    # ... and a clamp below what we advertised still shows.
    clamped = classify(LEG, "t", HS_OK, seg(1500, None, None), None,
                       peer=PeerView(3623, 1188, True, advertised=1308))
    assert codes(clamped) == [VerdictCode.MSS_CLAMPED]
    v = clamped.verdicts[0]
    assert (v.numbers["mss_sent"], v.numbers["mss_received"]) == (1460, 1200)
    assert "although we advertised 1308" in texts(v.evidence)[1]


def test_a_service_that_resets_any_data_is_not_measured_and_never_healthy() -> None:
    """A real handshake over loopback, then segments on a simulated path where every data
    segment is reset: the typed Unmeasured keeps HEALTHY out (no error sentence is read)
    and its sentence, made in render, names the target."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    try:
        m = measure_mss("127.0.0.1", srv.getsockname()[1], leg=LEG, peer_probe=False,
                        segment_prober=lambda payloads: [tcpprobe.SegmentProbe(
                            p, tcpprobe.SegmentOutcome.RESET) for p in payloads])
    finally:
        srv.close()
    assert [u.reason for u in m.unmeasured] == [UnmeasuredReason.SERVICE_RESETS_DATA]
    assert m.legs and all(v.code is not VerdictCode.HEALTHY for v in m.verdicts)
    (line,) = [unmeasured_sentence(u, "mss") for u in m.unmeasured]
    assert line.startswith("127.0.0.1:") and "resets connections that send data" in line


def test_nothing_acknowledged_is_not_measured() -> None:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    try:
        m = measure_mss("127.0.0.1", srv.getsockname()[1], leg=LEG, peer_probe=False,
                        segment_prober=lambda payloads: [tcpprobe.SegmentProbe(
                            p, tcpprobe.SegmentOutcome.LOST) for p in payloads],
                        clock=iter(range(0, 10_000)).__next__)
    finally:
        srv.close()
    assert [u.reason for u in m.unmeasured] == [UnmeasuredReason.NOTHING_ACKED]
    assert all(v.code is not VerdictCode.HEALTHY for v in m.verdicts)


def _info(snd_mss: int, pmtu: int = 1500, state: int = kernel.TCP_ESTABLISHED) -> TcpInfo:
    """TCP_INFO of a connection with timestamps after a TCP_REPAIR override to MSS 1460."""
    return TcpInfo(state=state, retransmits=0, options=kernel.TCPI_OPT_TIMESTAMPS,
                   snd_mss=snd_mss, rcv_mss=536, unacked=0, pmtu=pmtu, rtt_us=50,
                   advmss=1448, total_retrans=0)


@pytest.mark.parametrize(("info", "payload", "pending"), [
    (_info(1288), 1448, True),     # still the clamp's MSS: the peer's answer is on its way
    (_info(1288), 1288, False),    # fits already
    (_info(1448), 1448, False),    # the raised MSS is in force
    (_info(1288), 1449, False),    # above the MSS we set (1460 - 12): it never will fit
    (_info(1288, pmtu=1400), 1400, False),   # above the cached PMTU's 1348: never
    (_info(1288, pmtu=1400), 1348, True),
    (_info(1288, state=kernel.TCP_CLOSE), 1448, False),   # reset: nothing to wait for
])
def test_override_pending(info: TcpInfo, payload: int, pending: bool) -> None:
    """A size above the old clamp is our stack's limit only once the raised MSS is in force
    (or can never be): before that, probe_segment waits (CI flake: 1499 for 1500)."""
    assert tcpprobe.override_pending(info, payload, 1460, socket.AF_INET) is pending


@given(st.integers(48, 9000), st.integers(1, 9000), st.integers(536, 9000),
       st.integers(576, 9000))
def test_override_pending_only_when_it_can_still_fit(snd_mss: int, payload: int, mss: int,
                                                      pmtu: int) -> None:
    pending = tcpprobe.override_pending(_info(snd_mss, pmtu=pmtu), payload, mss,
                                        socket.AF_INET)
    fits_later = payload + 12 <= mss and payload + 52 <= pmtu
    assert pending is (payload > snd_mss and fits_later)
