"""Unit tests for the mss classifier, hop location, TCP_INFO decoding and the
segment search plumbing (with a simulated path: sizes -> acked/reset/lost)."""

from __future__ import annotations

import socket
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pathprobe.model import Direction, VerdictCode
from pathprobe.mss import (
    Failure,
    HandshakeView,
    HopView,
    PeerView,
    SegmentView,
    classify,
    locate_rewrite,
    mss_at_peer,
    search_segments,
    segment_view,
)
from pathprobe.probes import tcp as tcpprobe
from pathprobe.search import SearchResult

HS_OK = HandshakeView(4, 1460, 1460, True, "syn-ack capture", True, 1500)
HS_CLAMP = HandshakeView(4, 1460, 1300, True, "syn-ack capture", True, 1500)


def seg(ok: int | None, bad: int | None, failure: Failure | None, *, high: int = 1500,
        beyond: bool = True, exact: bool = True, resets: tuple[int, ...] = ()) -> SegmentView:
    return SegmentView(52, 576, high, beyond, ok, bad, failure, exact, None, 20,
                       "test", resets)


def codes(m: object) -> list[VerdictCode]:
    return [v.code for v in m.verdicts]  # type: ignore[attr-defined]


def test_healthy_no_false_alarm() -> None:
    m = classify("fmc-proxy", "198.18.2.2:3128", HS_OK, seg(1500, None, None), None)
    assert codes(m) == [VerdictCode.HEALTHY]
    leg = m.legs[0].measurements
    assert leg["mss_sent"] == 1460 and leg["mss_received"] == 1460
    assert leg["max_payload"] == 1448 and leg["largest_acked"] == 1500
    assert any("1500-byte packets" in e for e in m.verdicts[0].evidence)


def test_clamp_with_path_carrying_more() -> None:
    m = classify("fmc-proxy", "t", HS_CLAMP, seg(1500, None, None), None)
    assert codes(m) == [VerdictCode.MSS_CLAMPED]
    v = m.verdicts[0]
    assert v.numbers["mss_sent"] == 1460 and v.numbers["mss_received"] == 1300
    assert v.direction is Direction.DOWN
    assert any("not by the path MTU" in e for e in v.evidence)


def test_clamp_unprivileged_segment_bound_noted() -> None:
    hs = HandshakeView(4, 1460, 1300, True, "tcp_info", True, 1500)
    m = classify("fmc-proxy", "t", hs, seg(1352, None, None, high=1352, beyond=False), None)
    assert codes(m) == [VerdictCode.MSS_CLAMPED]
    assert not any("not by the path MTU" in e for e in m.verdicts[0].evidence)
    assert any("negotiated" in n for n in m.legs[0].notes)


def test_lower_bound_mss_is_not_a_clamp() -> None:
    hs = HandshakeView(4, 1460, 1360, False, "tcp_info", True, 1400)
    m = classify("fmc-proxy", "t", hs, seg(1400, None, None, high=1400, beyond=False), None)
    assert codes(m) == [VerdictCode.HEALTHY]
    assert any("at least 1360" in n for n in m.legs[0].notes)


def test_rst_threshold() -> None:
    m = classify("fmc-proxy", "t", HS_OK, seg(1400, 1401, Failure.RESET, resets=(1401, 1500)),
                 None)
    assert codes(m) == [VerdictCode.RST_ON_LARGE_SEGMENT]
    v = m.verdicts[0]
    assert v.numbers["mtu"] == 1400 and v.numbers["max_payload"] == 1348
    assert v.direction is Direction.UP
    assert m.legs[0].measurements["rst_threshold"] == 1400


def test_clamp_and_rst_together() -> None:
    m = classify("fmc-proxy", "t", HS_CLAMP, seg(1400, 1401, Failure.RESET), None)
    assert codes(m) == [VerdictCode.MSS_CLAMPED, VerdictCode.RST_ON_LARGE_SEGMENT]


def test_blackhole() -> None:
    m = classify("fmc-proxy", "t", HS_OK, seg(1372, 1373, Failure.LOST), None)
    assert codes(m) == [VerdictCode.PMTU_BLACKHOLE]
    assert m.verdicts[0].numbers["mtu"] == 1372
    assert "rst_threshold" not in m.legs[0].measurements


def test_open_bracket_is_lower_bound_and_inferred() -> None:
    m = classify("fmc-proxy", "t", HS_OK, seg(1300, 1400, Failure.LOST, exact=False), None)
    v = m.verdicts[0]
    assert v.code is VerdictCode.PMTU_BLACKHOLE and v.numbers["mtu"] == 1300
    assert v.confidence.value == "inferred"


def test_reset_even_at_low() -> None:
    m = classify("fmc-proxy", "t", HS_OK, seg(None, 576, Failure.RESET), None)
    assert codes(m) == [VerdictCode.RST_ON_LARGE_SEGMENT]
    assert m.verdicts[0].numbers["mtu"] is None


def test_icmp_signalled() -> None:
    s = SegmentView(52, 576, 1500, False, 1400, 1401, Failure.ICMP, True, 1400, 30, "x")
    m = classify("fmc-proxy", "t", HS_OK, s, None)
    assert codes(m) == [VerdictCode.PMTU_REDUCED]
    assert m.verdicts[0].numbers["mtu"] == 1400


def test_ipv6_overheads() -> None:
    hs = HandshakeView(6, 1440, 1300, True, "syn-ack capture", True, 1500)
    m = classify("fmc-proxy", "t", hs, None, None)
    assert codes(m) == [VerdictCode.MSS_CLAMPED]
    assert m.legs[0].measurements["mss_sent"] == 1440


def test_locate_rewrite_names_hop() -> None:
    hops = HopView(((1, "198.18.1.1", 1460, False), (2, "198.18.9.1", 1300, False),
                    (3, "198.18.2.2", None, True)))
    f = locate_rewrite(1460, hops)
    assert f.hop == "198.18.9.1" and f.ttl == 2
    assert "between hop 1 (198.18.1.1) and hop 2" in f.evidence[0]
    m = classify("fmc-proxy", "t", HS_CLAMP, None, f)
    assert m.verdicts[0].numbers["hop"] == "198.18.9.1"


def test_locate_rewrite_unchanged_until_target() -> None:
    f = locate_rewrite(1460, HopView(((1, "198.18.1.1", 1460, False),
                                      (2, "198.18.2.2", None, True))))
    assert f.hop is None
    assert "hop 1 (198.18.1.1)" in f.evidence[0]


def test_locate_rewrite_no_quotes() -> None:
    f = locate_rewrite(1460, HopView(((1, None, None, False), (2, None, None, False))))
    assert f.hop is None and "cannot be located" in f.evidence[0]


def test_segment_view_local_after_icmp_is_icmp() -> None:
    res = SearchResult(1400, 1401, True, 1400, False, 20, 2, "x")
    outcomes = {1400: tcpprobe.SegmentOutcome.ACKED,
                1401: tcpprobe.SegmentOutcome.LOCAL_LIMIT,
                1500: tcpprobe.SegmentOutcome.ICMP_TOO_BIG}
    v = segment_view(res, outcomes, overhead=52, low=576, high=1500, beyond_clamp=False)
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
    m = classify("fmc-proxy", "t", HS_OK, v, None)
    code = m.verdicts[0].code
    if not limits:
        assert code is VerdictCode.HEALTHY
    elif drop is not None and (rst is None or drop <= rst):
        assert code is VerdictCode.PMTU_BLACKHOLE and m.verdicts[0].numbers["mtu"] == drop
    else:
        assert code is VerdictCode.RST_ON_LARGE_SEGMENT
        assert m.verdicts[0].numbers["mtu"] == rst
        assert m.verdicts[0].numbers["max_payload"] == rst - 52
    assert v.probes <= 60


@given(st.integers(576, 1500), st.integers(0, 200), st.sampled_from(list(Failure)),
       st.booleans())
def test_never_over_reports(ok: int, gap: int, failure: Failure, exact: bool) -> None:
    s = seg(ok, ok + 1 + gap, failure, exact=exact)
    m = classify("fmc-proxy", "t", HS_OK, s, None)
    for v in m.verdicts:
        mtu = v.numbers.get("mtu")
        assert mtu is None or (isinstance(mtu, int) and mtu <= ok)


def test_icmp_hint_above_proven_size_not_reported() -> None:
    s = SegmentView(52, 576, 1500, False, 1300, 1450, Failure.ICMP, False, 1400, 30, "x")
    m = classify("fmc-proxy", "t", HS_OK, s, None)
    assert m.verdicts[0].numbers["mtu"] == 1300


def test_up_only_clamp_from_peer_segments() -> None:
    peer = PeerView(3623, 1288, True)
    m = classify("fmc-proxy", "t", HS_OK, seg(1500, None, None), None, peer=peer)
    assert codes(m) == [VerdictCode.MSS_CLAMPED]
    v = m.verdicts[0]
    assert v.direction is Direction.UP and v.confidence.value == "inferred"
    assert (v.numbers["mss_sent"], v.numbers["mss_received"]) == (1460, 1300)
    assert v.numbers["syn_ack_mss"] == 1460
    assert "(up)" in m.summary


def test_both_directions_clamp() -> None:
    m = classify("fmc-proxy", "t", HS_CLAMP, None, None, peer=PeerView(3623, 1288, True))
    v = m.verdicts[0]
    assert v.direction is Direction.BOTH and v.numbers["mss_received"] == 1300
    assert v.numbers["mss_at_peer"] == 1300


def test_peer_segments_limited_by_measured_path_are_not_a_clamp() -> None:
    # r1 route MTU 1400 both ways: the peer's segments shrink to 1348 by PMTUD.
    s = SegmentView(52, 576, 1500, False, 1400, 1401, Failure.ICMP, True, 1400, 30, "x")
    m = classify("fmc-proxy", "t", HS_OK, s, None, peer=PeerView(3623, 1348, True))
    assert codes(m) == [VerdictCode.PMTU_REDUCED]
    assert any("not a clamp" in n for n in m.legs[0].notes)


def test_short_reply_is_inconclusive() -> None:
    assert mss_at_peer(PeerView(500, 500, True)) is None
    assert mss_at_peer(PeerView(0, 0, True, timed_out=True)) is None
    m = classify("fmc-proxy", "t", HS_OK, seg(1500, None, None), None,
                 peer=PeerView(500, 500, True))
    assert codes(m) == [VerdictCode.HEALTHY]
    assert any("too short" in n for n in m.legs[0].notes)
    ok = classify("fmc-proxy", "t", HS_OK, seg(1500, None, None), None,
                  peer=PeerView(3623, 1448, True))
    assert codes(ok) == [VerdictCode.HEALTHY]
    assert any("arrived intact" in e for e in ok.verdicts[0].evidence)


def test_service_that_resets_everything_is_not_a_size_verdict() -> None:
    def prober(payloads: Sequence[int]) -> list[tcpprobe.SegmentProbe]:
        return [tcpprobe.SegmentProbe(p, tcpprobe.SegmentOutcome.RESET) for p in payloads]
    v = search_segments(socket.AF_INET, ("198.18.2.2", 3128), _hs(), override=False,
                        ack_timeout=1.0, progress=lambda _: None, prober=prober)
    assert v.service_resets and v.largest_ok is None
    m = classify("fmc-proxy", "t", HS_OK, v, None)
    assert VerdictCode.RST_ON_LARGE_SEGMENT not in codes(m)


def test_reset_above_tiny_size_is_a_size_verdict() -> None:
    def prober(payloads: Sequence[int]) -> list[tcpprobe.SegmentProbe]:
        return [tcpprobe.SegmentProbe(p, tcpprobe.SegmentOutcome.RESET if p > 100
                                      else tcpprobe.SegmentOutcome.ACKED) for p in payloads]
    v = search_segments(socket.AF_INET, ("198.18.2.2", 3128), _hs(), override=False,
                        ack_timeout=1.0, progress=lambda _: None, prober=prober)
    assert not v.service_resets
    m = classify("fmc-proxy", "t", HS_OK, v, None)
    assert codes(m) == [VerdictCode.RST_ON_LARGE_SEGMENT]


def test_up_clamp_proven_by_quotation() -> None:
    hops = HopView(((1, "198.18.1.1", 1460, False), (2, "198.18.2.2", 1300, False),
                    (3, "198.18.4.2", None, True)))
    f = locate_rewrite(1460, hops)
    assert f.quoted_mss == 1300
    m = classify("fmc-upstream", "t", HS_OK, seg(1500, None, None), f,
                 peer=PeerView(0, 0, True, timed_out=True))
    v = m.verdicts[0]
    assert v.code is VerdictCode.MSS_CLAMPED and v.direction is Direction.UP
    assert v.confidence.value == "measured"
    assert (v.numbers["mss_received"], v.numbers["hop"], v.numbers["hop_ttl"]) == (
        1300, "198.18.2.2", 2)
    both = classify("fmc-upstream", "t", HS_CLAMP, None, f)
    assert both.verdicts[0].direction is Direction.BOTH


def test_unchanged_quotations_stay_healthy() -> None:
    f = locate_rewrite(1460, HopView(((1, "198.18.1.1", 1460, False),
                                      (2, "198.18.2.2", None, True))))
    m = classify("fmc-proxy", "t", HS_OK, seg(1500, None, None), f)
    assert codes(m) == [VerdictCode.HEALTHY]
    assert any("unchanged" in e for e in m.verdicts[0].evidence)


def test_cached_pmtu_below_interface_is_reported() -> None:
    hs = HandshakeView(4, 1360, 1460, True, "syn-ack capture", True, 1400, 1500)
    m = classify("fmc-proxy", "t", hs, seg(1400, None, None, high=1400, beyond=False), None)
    v = m.verdicts[0]
    assert v.code is VerdictCode.PMTU_REDUCED and v.numbers["mtu"] == 1400
    assert v.confidence.value == "inferred"
    clean = HandshakeView(4, 1460, 1460, True, "syn-ack capture", True, 1500, 1500)
    assert codes(classify("fmc-proxy", "t", clean, seg(1500, None, None), None)) == [
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
                   "--leg", "RST_ON_LARGE_SEGMENT", "Exit status: 0 healthy", "2 usage error"):
        assert needed in out, needed
    assert out.strip().endswith("NO-SCAPY")


def test_bad_target_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    from pathprobe.cli import main

    for bad in ("198.18.2.2:0", "198.18.2.2:99999", "[2001:db8::1", "a b:80"):
        assert main(["mss", bad]) == 2, bad
        err = capsys.readouterr().err
        assert "Traceback" not in err and err.count("\n") == 1 and "HOST:PORT" in err


def test_leg_pmtu_tells_clamp_from_path_sized_mss() -> None:
    clamp = classify("fmc-proxy", "t", HS_CLAMP, None, None, leg_pmtu=1500)
    assert any("a clamp (or the peer's own setting)" in e for e in clamp.verdicts[0].evidence)
    sized = classify("fmc-proxy", "t", HS_CLAMP, None, None, leg_pmtu=1340)
    assert any("matches the path" in e for e in sized.verdicts[0].evidence)


def test_reset_limit_does_not_explain_small_peer_segments() -> None:
    # clamp 1300 both ways + resets above 1400 up: the peer's 1340-byte packets are the clamp.
    m = classify("fmc-proxy", "t", HS_CLAMP, seg(1400, 1401, Failure.RESET), None,
                 peer=PeerView(3623, 1288, True))
    assert codes(m) == [VerdictCode.MSS_CLAMPED, VerdictCode.RST_ON_LARGE_SEGMENT]
    assert m.verdicts[0].direction is Direction.BOTH
