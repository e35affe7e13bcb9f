"""Recommendations: exact commands from measured limits, never above them."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pathprobe.model import (
    Confidence,
    Direction,
    IpVersion,
    Leg,
    Limit,
    Recommendation,
    Verdict,
    VerdictCode,
)
from pathprobe.recommend import limits_of, max_size_in, recommend

L1, L2, DIRECT = Leg.FMC_PROXY, Leg.PROXY_UPSTREAM, Leg.FMC_UPSTREAM
HOLE = VerdictCode.PMTU_BLACKHOLE


def commands(recs: tuple[Recommendation, ...]) -> list[str]:
    return [r.command for r in recs]


def test_limits_prefer_measured_mtu_then_lower_bound_then_payload() -> None:
    exact = limits_of(Verdict(HOLE, L1, limit=Limit(mtu=1372)))
    assert exact is not None and (exact.mtu, exact.mss, exact.exact) == (1372, 1332, True)
    assert exact.basis == "MTU 1372 (measured)"
    bound = limits_of(Verdict(HOLE, L1, limit=Limit(mtu=1372, exact=False)))
    assert bound is not None and not bound.exact and bound.basis == "MTU 1372 (lower bound)"
    low = limits_of(Verdict(HOLE, L2, limit=Limit(pmtu_low=1388, pmtu_high=1428,
                                                  max_payload=1348)))
    assert low is not None and (low.mtu, low.mss) == (1388, 1348)
    pay = limits_of(Verdict(HOLE, L2, limit=Limit(max_payload=1348)))
    assert pay is not None and (pay.mtu, pay.mss) == (1388, 1348)
    v6 = limits_of(Verdict(HOLE, L1, limit=Limit(mtu=1400)), ipv6=True)
    assert v6 is not None and v6.mss == 1340
    rst = limits_of(Verdict(VerdictCode.RST_ON_LARGE_SEGMENT, L1,
                            limit=Limit(mtu=1300, max_payload=1248)))
    assert rst is not None and (rst.mtu, rst.mss) == (1300, 1260)
    assert limits_of(Verdict(VerdictCode.TUNNEL_STALL, L2)) is None
    assert limits_of(Verdict(HOLE, L1, limit=Limit())) is None
    # Numbers outside the limit (counts, statuses) are never taken for sizes.
    assert limits_of(Verdict(HOLE, L1, numbers={"mtu": 1400, "write_failed": 1349})) is None


def test_leg1_black_hole_fixes_the_fmc_and_the_path() -> None:
    recs = recommend([Verdict(VerdictCode.PMTU_BLACKHOLE, L1, Direction.BOTH,
                              limit=Limit(mtu=1372))])
    cmds = commands(recs)
    assert any("MTU 1372" in c and "Management Interfaces" in c for c in cmds)
    assert "sudo ip link set dev eth0 mtu 1372" in cmds
    probing = ("sudo sysctl -w net.ipv4.tcp_mtu_probing=1\n"
               "echo 'net.ipv4.tcp_mtu_probing=1' | sudo tee /etc/sysctl.d/90-pathprobe.conf")
    assert probing in cmds     # the persistent line is a command, never inside "why"
    assert not any("tee" in r.why for r in recs)
    assert "sysopt connection tcpmss 1332" in cmds
    assert "interface <IFACE>\n ip tcp adjust-mss 1332" in cmds
    assert "interface <IFACE>\n ip mtu 1372" in cmds
    assert all(r.where and r.platform and r.why and r.rollback for r in recs)
    rollback = dict(zip(cmds, (r.rollback for r in recs), strict=True))
    assert rollback[probing] == (
        "sudo sysctl -w net.ipv4.tcp_mtu_probing=0\nsudo rm /etc/sysctl.d/90-pathprobe.conf")
    assert rollback["sysopt connection tcpmss 1332"].startswith("no sysopt connection tcpmss")
    assert rollback["interface <IFACE>\n ip tcp adjust-mss 1332"] == (
        "interface <IFACE>\n no ip tcp adjust-mss 1332")
    assert "ip link show eth0" in rollback["sudo ip link set dev eth0 mtu 1372"]


def test_leg2_black_hole_is_fixed_on_the_proxy_side_not_the_fmc() -> None:
    recs = recommend([Verdict(VerdictCode.PMTU_BLACKHOLE, L2, Direction.UP,
                              limit=Limit(max_payload=1348))])
    cmds = commands(recs)
    assert "sudo ip link set dev <IFACE> mtu 1388" in cmds
    assert "sysopt connection tcpmss 1348" in cmds
    assert "interface <IFACE>\n ip tcp adjust-mss 1348" in cmds
    assert any("ICMP type 3 code 4" in c for c in cmds)
    assert not any("Management Interfaces" in c or "eth0" in c for c in cmds)
    assert all(r.where.startswith(("proxy", "firewall")) for r in recs)
    assert all(r.rollback for r in recs)


def test_ipv6_uses_60_bytes_of_headers_and_ipv6_keywords() -> None:
    recs = recommend([Verdict(VerdictCode.PMTU_BLACKHOLE, L1, limit=Limit(mtu=1400),
                              ip_version=IpVersion.V6)], {L1: "2001:db8:2::2"})
    cmds = commands(recs)
    assert "sysopt connection tcpmss 1340" in cmds
    assert "interface <IFACE>\n ipv6 tcp adjust-mss 1340" in cmds
    assert "interface <IFACE>\n ipv6 mtu 1400" in cmds


@pytest.mark.parametrize(("target", "version", "mss"), [
    ("http://198.18.2.2:3128", IpVersion.V4, 1360), ("proxy.example:3128", None, 1360),
    # The typed version decides, never the way the target is written.
    ("http://[2001:db8:2::2]:3128", IpVersion.V6, 1340), ("proxy.example:3128", IpVersion.V6, 1340),
    ("[2001:db8:2::2]:443", IpVersion.V4, 1360),
])
def test_family_follows_the_verdicts_ip_version(target: str, version: IpVersion | None,
                                                 mss: int) -> None:
    recs = recommend([Verdict(VerdictCode.PMTU_BLACKHOLE, L1, limit=Limit(mtu=1400),
                              ip_version=version)], {L1: target})
    assert f"sysopt connection tcpmss {mss}" in commands(recs)


def test_finish_gives_each_verdict_its_legs_ip_version() -> None:
    from pathprobe.findings import finish
    from pathprobe.model import LegReport, Measurement

    v = Verdict(VerdictCode.PMTU_BLACKHOLE, L1, limit=Limit(mtu=1400))
    legs = (LegReport(L1, "2001:db8:2::2", ip_version=IpVersion.V6),)
    rep = finish([Measurement(legs, (v,))], command="pmtu", started="t", duration_s=0)
    assert rep.verdicts[0].ip_version is IpVersion.V6
    assert "sysopt connection tcpmss 1340" in commands(rep.recommendations)


def test_smallest_limit_on_a_leg_wins() -> None:
    recs = recommend([
        Verdict(VerdictCode.PMTU_BLACKHOLE, L1, Direction.UP, limit=Limit(mtu=1400)),
        Verdict(VerdictCode.PMTU_BLACKHOLE, L1, Direction.DOWN, limit=Limit(mtu=1372)),
    ])
    assert "sysopt connection tcpmss 1332" in commands(recs)
    assert "sysopt connection tcpmss 1360" not in commands(recs)
    assert max(filter(None, map(max_size_in, recs))) == 1372


def test_an_inferred_lower_bound_does_not_override_a_measured_limit() -> None:
    recs = recommend([
        Verdict(VerdictCode.PMTU_BLACKHOLE, L1, Direction.UP, limit=Limit(mtu=1372)),
        Verdict(VerdictCode.PMTU_BLACKHOLE, L1, Direction.UP, confidence=Confidence.INFERRED,
                limit=Limit(max_payload=1320, pmtu_low=1360, exact=False)),
    ])
    assert "sysopt connection tcpmss 1332" in commands(recs)
    assert not any("1360" in c or "1320" in c for c in commands(recs))


def test_an_exact_limit_beats_a_lower_bound_on_the_same_leg() -> None:
    """Seen in the lab: pmtu measures 1372 exactly; the tunnel proves 'at least 1360'."""
    recs = recommend([
        Verdict(VerdictCode.PMTU_BLACKHOLE, L1, Direction.UP, limit=Limit(mtu=1372)),
        Verdict(VerdictCode.PMTU_BLACKHOLE, L1, Direction.UP,
                limit=Limit(max_payload=1320, pmtu_low=1360, exact=False)),
    ])
    assert "sysopt connection tcpmss 1332" in commands(recs)
    assert max(filter(None, map(max_size_in, recs))) == 1372


def test_ios_adjust_mss_only_within_its_documented_range() -> None:
    recs = recommend([Verdict(VerdictCode.PMTU_BLACKHOLE, L1, limit=Limit(mtu=520))])
    cmds = commands(recs)
    assert not any("adjust-mss" in c for c in cmds)  # 480 < 500
    assert "sysopt connection tcpmss 480" in cmds


def test_clamp_alone_needs_no_change_but_a_clamp_too_high_for_the_leg_does() -> None:
    clamp = Verdict(VerdictCode.MSS_CLAMPED, L1, numbers={"mss_sent": 1460, "mss_received": 1300},
                    mss_received=1300)
    assert recommend([clamp]) == ()
    fits = Verdict(VerdictCode.PMTU_BLACKHOLE, L1, limit=Limit(mtu=1372))
    assert "sysopt connection tcpmss 1332" in commands(recommend([clamp, fits]))
    hole = Verdict(VerdictCode.PMTU_BLACKHOLE, L1, limit=Limit(mtu=1300))
    recs = recommend([clamp, hole])
    cmds = commands(recs)
    assert cmds.count("sysopt connection tcpmss 1260") == 1  # de-duplicated
    clamp_fix = next(r for r in recs if r.where.startswith("the device that rewrites"))
    assert "lets through MSS 1300" in clamp_fix.why and clamp_fix.rollback


def test_proxy_verdicts_without_sizes() -> None:
    ntlm = recommend([Verdict(VerdictCode.PROXY_AUTH_UNSUPPORTED, L1,
                              numbers={"status": 407, "offered": "ntlm"})])
    assert "digest" in ntlm[0].command and "NTLM" in ntlm[0].why
    denied = recommend([Verdict(VerdictCode.PROXY_DENIED, L1, numbers={"status": 403},
                                target_text="upstream.pathprobe.test:443")])
    assert denied[0].command == ("acl fmc_targets dstdomain upstream.pathprobe.test\n"
                                 "http_access allow CONNECT fmc_targets")
    # Without a target in the verdict, leg 2's target names it (never evidence text).
    by_leg = recommend([Verdict(VerdictCode.PROXY_DENIED, L1)], {L2: "tools.cisco.com:443"})
    assert "dstdomain tools.cisco.com\n" in by_leg[0].command
    upstream = recommend([Verdict(VerdictCode.PROXY_UPSTREAM_ERROR, L2, numbers={"status": 502},
                                  target_text="tools.cisco.com:443")])
    assert upstream[0].command == "from the proxy: curl -v https://tools.cisco.com/"
    assert recommend([Verdict(VerdictCode.HEALTHY, L1)]) == ()
    stall = recommend([Verdict(VerdictCode.TUNNEL_STALL, L2)])
    assert stall and "timeouts" in stall[0].command
    for code in (VerdictCode.PROXY_AUTH_REQUIRED, VerdictCode.PROXY_UNREACHABLE,
                 VerdictCode.PROXY_AUTH_UNSUPPORTED, VerdictCode.PROXY_DENIED,
                 VerdictCode.PROXY_UPSTREAM_ERROR, VerdictCode.TUNNEL_STALL):
        recs = recommend([Verdict(code, L1 if code is not VerdictCode.TUNNEL_STALL else L2)])
        assert recs and all(r.rollback for r in recs), code


SIZE_CODES = st.sampled_from([VerdictCode.PMTU_BLACKHOLE, VerdictCode.RST_ON_LARGE_SEGMENT,
                              VerdictCode.TUNNEL_STALL, VerdictCode.MSS_CLAMPED,
                              VerdictCode.PMTU_REDUCED])
FOUND: st.SearchStrategy[tuple[Limit | None, dict[str, int]]] = st.one_of(
    st.builds(lambda m, e: (Limit(mtu=m, exact=e), {}), st.integers(576, 9000), st.booleans()),
    st.builds(lambda m, e: (Limit(pmtu_low=m, pmtu_high=m + 40, exact=e), {}),
              st.integers(576, 9000), st.booleans()),
    st.builds(lambda p, e: (Limit(max_payload=p, exact=e), {}), st.integers(100, 8960),
              st.booleans()),
    st.builds(lambda s, r: (None, {"mss_sent": s, "mss_received": r}), st.integers(536, 8960),
              st.integers(88, 8960)),
)


@given(st.lists(st.tuples(SIZE_CODES, FOUND, st.sampled_from(list(Confidence))),
                min_size=1, max_size=5),
       st.sampled_from([L1, L2, DIRECT]), st.booleans())
def test_no_recommended_size_is_above_the_smallest_proven_limit(
        found: list[tuple[VerdictCode, tuple[Limit | None, dict[str, int]], Confidence]],
        leg: Leg, v6: bool) -> None:
    verdicts = [Verdict(code, leg, numbers=n, confidence=conf, limit=lim,
                        ip_version=IpVersion.V6 if v6 else IpVersion.V4,
                        mss_received=n.get("mss_received"))
                for code, (lim, n), conf in found]
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


def test_interception_is_exempted_on_squid_the_appliance_and_any_proxy() -> None:
    v = Verdict(VerdictCode.PROXY_TLS_INTERCEPTED, L1, target_text="tools.cisco.com:443")
    recs = recommend([v])
    by_platform = {r.platform: r for r in recs}
    assert set(by_platform) == {"squid", "AsyncOS", "any proxy"}
    assert by_platform["squid"].command == (
        "acl fmc_no_decrypt ssl::server_name tools.cisco.com\n"
        "ssl_bump splice fmc_no_decrypt")
    assert "Pass Through" in by_platform["AsyncOS"].command
    assert "tools.cisco.com" in by_platform["AsyncOS"].command
    assert all(r.rollback and r.why for r in recs)


def test_leg2_hole_gets_the_generic_proxy_form_within_the_limit() -> None:
    recs = recommend([Verdict(HOLE, L2, Direction.UP, limit=Limit(max_payload=1024,
                                                                   exact=False))])
    generic = [r for r in recs if r.platform == "any proxy"]
    assert len(generic) == 1 and "MTU" in generic[0].command
    assert "1064" in generic[0].command and "1024" in generic[0].command
    assert all((max_size_in(r) or 0) <= 1064 for r in recs)


def test_unusable_proxy_setting_points_at_the_fmc_proxy_page() -> None:
    recs = recommend([Verdict(VerdictCode.PROXY_CONFIG_UNSUPPORTED, L1)])
    assert len(recs) == 1 and "64 characters" in recs[0].command


def test_refusal_fixes_name_the_typed_target() -> None:
    from pathprobe.wire.hostport import HostPort

    denied = Verdict(VerdictCode.PROXY_DENIED, L1, target=HostPort("2001:db8:4::2", 8443))
    cmds = commands(recommend([denied]))
    assert "acl fmc_targets dstdomain 2001:db8:4::2\nhttp_access allow CONNECT fmc_targets" in cmds
    upstream = Verdict(VerdictCode.PROXY_UPSTREAM_ERROR, L2, target=HostPort.parse("例え.jp:443"))
    assert "from the proxy: curl -v https://xn--r8jz45g.jp/" in commands(recommend([upstream]))
    # A target known only as text (a capture's CONNECT line) goes through the same parser.
    texted = Verdict(VerdictCode.PROXY_UPSTREAM_ERROR, L2, target_text="[2001:db8::9]:444")
    assert "from the proxy: curl -v https://[2001:db8::9]:444/" in commands(recommend([texted]))
    assert "from the proxy: curl -v https://<TARGET>/" in commands(
        recommend([replace(texted, target_text=None)]))
    # The JSON's numbers are never read back: a target only there names nothing.
    numbered = Verdict(VerdictCode.PROXY_UPSTREAM_ERROR, L2, numbers={"target": "a.test:443"})
    assert "from the proxy: curl -v https://<TARGET>/" in commands(recommend([numbered]))
