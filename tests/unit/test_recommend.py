"""Recommendations: exact commands from measured limits, never above them."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pathprobe.model import Confidence, Direction, Leg, Verdict, VerdictCode
from pathprobe.recommend import limits_of, max_size_in, recommend

L1, L2, DIRECT = Leg.FMC_PROXY.value, Leg.PROXY_UPSTREAM.value, Leg.FMC_UPSTREAM.value


def commands(recs: tuple[object, ...]) -> list[str]:
    return [r.command for r in recs]  # type: ignore[attr-defined]


def test_limits_prefer_measured_mtu_then_lower_bound_then_payload() -> None:
    assert limits_of(Verdict(VerdictCode.PMTU_BLACKHOLE, L1, numbers={"mtu": 1372})) \
        .mss == 1332  # type: ignore[union-attr]
    low = limits_of(Verdict(VerdictCode.PMTU_BLACKHOLE, L2,
                            numbers={"pmtu_low": 1388, "pmtu_high": 1428, "max_payload": 1348}))
    assert low is not None and (low.mtu, low.mss) == (1388, 1348)
    pay = limits_of(Verdict(VerdictCode.PMTU_BLACKHOLE, L2, numbers={"max_payload": 1348}))
    assert pay is not None and (pay.mtu, pay.mss) == (1388, 1348)
    v6 = limits_of(Verdict(VerdictCode.PMTU_BLACKHOLE, L1, numbers={"mtu": 1400}), ipv6=True)
    assert v6 is not None and v6.mss == 1340
    rst = limits_of(Verdict(VerdictCode.RST_ON_LARGE_SEGMENT, L1, numbers={"rst_threshold": 1301}))
    assert rst is not None and (rst.mtu, rst.mss) == (1300, 1260)
    assert limits_of(Verdict(VerdictCode.TUNNEL_STALL, L2)) is None
    assert limits_of(Verdict(VerdictCode.PMTU_BLACKHOLE, L1, numbers={"mtu": "1400"})) is None


def test_leg1_black_hole_fixes_the_fmc_and_the_path() -> None:
    recs = recommend([Verdict(VerdictCode.PMTU_BLACKHOLE, L1, Direction.BOTH,
                              numbers={"mtu": 1372})])
    cmds = commands(recs)
    assert any("MTU 1372" in c and "Management Interfaces" in c for c in cmds)
    assert "sudo ip link set dev eth0 mtu 1372" in cmds
    assert "sudo sysctl -w net.ipv4.tcp_mtu_probing=1" in cmds
    assert "sysopt connection tcpmss 1332" in cmds
    assert "interface <IFACE>\n ip tcp adjust-mss 1332" in cmds
    assert "interface <IFACE>\n ip mtu 1372" in cmds
    assert all(r.where and r.platform and r.why for r in recs)


def test_leg2_black_hole_is_fixed_on_the_proxy_side_not_the_fmc() -> None:
    recs = recommend([Verdict(VerdictCode.PMTU_BLACKHOLE, L2, Direction.UP,
                              numbers={"max_payload": 1348})])
    cmds = commands(recs)
    assert "sudo ip link set dev <IFACE> mtu 1388" in cmds
    assert "sysopt connection tcpmss 1348" in cmds
    assert "interface <IFACE>\n ip tcp adjust-mss 1348" in cmds
    assert any("ICMP type 3 code 4" in c for c in cmds)
    assert not any("Management Interfaces" in c or "eth0" in c for c in cmds)
    assert all(r.where.startswith(("proxy", "firewall")) for r in recs)


def test_ipv6_uses_60_bytes_of_headers_and_ipv6_keywords() -> None:
    recs = recommend([Verdict(VerdictCode.PMTU_BLACKHOLE, L1, numbers={"mtu": 1400})],
                     {L1: "2001:db8:2::2"})
    cmds = commands(recs)
    assert "sysopt connection tcpmss 1340" in cmds
    assert "interface <IFACE>\n ipv6 tcp adjust-mss 1340" in cmds
    assert "interface <IFACE>\n ipv6 mtu 1400" in cmds


@pytest.mark.parametrize(("target", "mss"), [
    ("198.18.2.2", 1360), ("http://198.18.2.2:3128", 1360), ("198.18.2.2:3128", 1360),
    ("2001:db8:2::2", 1340), ("http://[2001:db8:2::2]:3128", 1340), ("[2001:db8:2::2]:443", 1340),
])
def test_family_follows_the_leg_target_however_it_is_written(target: str, mss: int) -> None:
    recs = recommend([Verdict(VerdictCode.PMTU_BLACKHOLE, L1, numbers={"mtu": 1400})],
                     {L1: target})
    assert f"sysopt connection tcpmss {mss}" in commands(recs)


def test_smallest_limit_on_a_leg_wins() -> None:
    recs = recommend([
        Verdict(VerdictCode.PMTU_BLACKHOLE, L1, Direction.UP, numbers={"mtu": 1400}),
        Verdict(VerdictCode.PMTU_BLACKHOLE, L1, Direction.DOWN, numbers={"mtu": 1372}),
    ])
    assert "sysopt connection tcpmss 1332" in commands(recs)
    assert "sysopt connection tcpmss 1360" not in commands(recs)
    assert max(filter(None, map(max_size_in, recs))) == 1372


def test_an_inferred_lower_bound_does_not_override_a_measured_limit() -> None:
    recs = recommend([
        Verdict(VerdictCode.PMTU_BLACKHOLE, L1, Direction.UP, numbers={"mtu": 1372}),
        Verdict(VerdictCode.PMTU_BLACKHOLE, L1, Direction.UP, confidence=Confidence.INFERRED,
                numbers={"max_payload": 1320, "pmtu_low": 1360}),
    ])
    assert "sysopt connection tcpmss 1332" in commands(recs)
    assert not any("1360" in c or "1320" in c for c in commands(recs))


def test_an_exact_limit_beats_a_lower_bound_on_the_same_leg() -> None:
    """Seen in the lab: pmtu measures 1372 exactly; the tunnel proves 'at least 1360'."""
    recs = recommend([
        Verdict(VerdictCode.PMTU_BLACKHOLE, L1, Direction.UP, numbers={"mtu": 1372}),
        Verdict(VerdictCode.PMTU_BLACKHOLE, L1, Direction.UP,
                numbers={"max_payload": 1320, "pmtu_low": 1360}),
    ])
    assert "sysopt connection tcpmss 1332" in commands(recs)
    assert max(filter(None, map(max_size_in, recs))) == 1372


def test_ios_adjust_mss_only_within_its_documented_range() -> None:
    recs = recommend([Verdict(VerdictCode.PMTU_BLACKHOLE, L1, numbers={"mtu": 520})])
    cmds = commands(recs)
    assert not any("adjust-mss" in c for c in cmds)  # 480 < 500
    assert "sysopt connection tcpmss 480" in cmds


def test_clamp_alone_needs_no_change_but_a_clamp_too_high_for_the_leg_does() -> None:
    clamp = Verdict(VerdictCode.MSS_CLAMPED, L1, numbers={"mss_sent": 1460, "mss_received": 1300})
    assert recommend([clamp]) == ()
    hole = Verdict(VerdictCode.PMTU_BLACKHOLE, L1, numbers={"mtu": 1300})
    cmds = commands(recommend([clamp, hole]))
    assert cmds.count("sysopt connection tcpmss 1260") == 1  # de-duplicated


def test_proxy_verdicts_without_sizes() -> None:
    ntlm = recommend([Verdict(VerdictCode.PROXY_AUTH_UNSUPPORTED, L1,
                              evidence=("407 offers NTLM only",))])
    assert "digest" in ntlm[0].command and "NTLM" in ntlm[0].why
    denied = recommend([Verdict(VerdictCode.PROXY_DENIED, L1,
                                evidence=("CONNECT upstream.pathprobe.test:443 -> 403",))])
    assert denied[0].command == ("acl fmc_targets dstdomain upstream.pathprobe.test\n"
                                 "http_access allow CONNECT fmc_targets")
    assert recommend([Verdict(VerdictCode.HEALTHY, L1)]) == ()
    stall = recommend([Verdict(VerdictCode.TUNNEL_STALL, L2)])
    assert stall and "timeouts" in stall[0].command


SIZE_CODES = st.sampled_from([VerdictCode.PMTU_BLACKHOLE, VerdictCode.RST_ON_LARGE_SEGMENT,
                              VerdictCode.TUNNEL_STALL, VerdictCode.MSS_CLAMPED,
                              VerdictCode.PMTU_REDUCED])
NUMBERS = st.one_of(
    st.builds(lambda m: {"mtu": m}, st.integers(576, 9000)),
    st.builds(lambda m: {"pmtu_low": m, "pmtu_high": m + 40}, st.integers(576, 9000)),
    st.builds(lambda p: {"max_payload": p}, st.integers(100, 8960)),
    st.builds(lambda r: {"rst_threshold": r}, st.integers(600, 9000)),
    st.builds(lambda s, r: {"mss_sent": s, "mss_received": r}, st.integers(536, 8960),
              st.integers(88, 8960)),
)


@given(st.lists(st.tuples(SIZE_CODES, NUMBERS, st.sampled_from(list(Confidence))),
                min_size=1, max_size=5),
       st.sampled_from([L1, L2, DIRECT]), st.booleans())
def test_no_recommended_size_is_above_the_smallest_proven_limit(
        found: list[tuple[VerdictCode, dict[str, int], Confidence]], leg: str,
        v6: bool) -> None:
    verdicts = [Verdict(code, leg, numbers=n, confidence=conf) for code, n, conf in found]
    usable = [(v, lim) for v in verdicts if v.code is not VerdictCode.MSS_CLAMPED
              for lim in (limits_of(v, v6),) if lim is not None]
    exact_measured = [lim for v, lim in usable
                      if lim.exact and v.confidence is Confidence.MEASURED]
    limits = [lim for _, lim in usable]
    recs = recommend(verdicts, {leg: "2001:db8:2::2" if v6 else "198.18.2.2"})
    if not limits:
        assert all(max_size_in(r) is None for r in recs)
        return
    # Never above an exact measured limit; never above every proven size either.
    ceiling = min(lim.mtu for lim in exact_measured) if exact_measured else max(
        lim.mtu for lim in limits)
    overhead = 60 if v6 else 40
    for r in recs:
        size = max_size_in(r)
        assert size is None or size <= ceiling, (r, ceiling)
        for mss in re.findall(r"(?:tcpmss|adjust-mss) (\d+)", r.command):
            assert int(mss) <= ceiling - overhead
