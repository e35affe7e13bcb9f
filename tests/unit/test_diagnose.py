"""diagnose's pure half: merging legs, leg attribution, the summary line, step containment."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pathprobe.commands.demo import demo_argv
from pathprobe.diagnose import (
    attribute,
    build_report,
    leg1_max_payload,
    leg1_size_limit,
    merge_legs,
    reattribute_tunnel,
    run_steps,
    summarize,
    tunnel_leg1_payload,
)
from pathprobe.errors import NotMeasuredError, PermissionNeeded
from pathprobe.model import (
    Confidence,
    Direction,
    ExitStatus,
    Leg,
    LegReport,
    Measurement,
    Verdict,
    VerdictCode,
)
from pathprobe.render import TableFormat
from pathprobe.wire.http_connect import parse_authority

L1, L2 = Leg.FMC_PROXY.value, Leg.PROXY_UPSTREAM.value
PROXY, TARGET = "198.18.2.2", "upstream.pathprobe.test:443"

LEG1_OK = LegReport(L1, PROXY, measurements={"pmtu": 1500, "pmtu_method": "tcp"})
LEG1_HEALTHY = Verdict(VerdictCode.HEALTHY, L1, Direction.BOTH, ("pmtu 1500",))
LEG2_HOLE = Verdict(VerdictCode.PMTU_BLACKHOLE, L2, Direction.UP, ("1349 stalls",),
                    numbers={"max_payload": 1348, "pmtu_low": 1388, "pmtu_high": 1428})
CLAMP = Verdict(VerdictCode.MSS_CLAMPED, L1, Direction.BOTH, ("SYN-ACK MSS 1300",),
                numbers={"mss_sent": 1460, "mss_received": 1300})


def test_summary_of_the_article_puts_the_leg2_black_hole_first() -> None:
    line = summarize([CLAMP, LEG2_HOLE], [LEG1_OK])
    assert line == ("leg 2 (proxy-upstream) drops segments above 1348 payload bytes going up "
                    "(toward the upstream); leg 1 (fmc-proxy) MSS clamped 1460->1300")


def test_summary_healthy_and_not_measured_legs_in_path_order() -> None:
    assert summarize([LEG2_HOLE, LEG1_HEALTHY], [LEG1_OK]) == (
        "leg 2 (proxy-upstream) drops segments above 1348 payload bytes going up (toward the "
        "upstream); leg 1 (fmc-proxy) healthy")
    legs = [LEG1_OK, LegReport(L2, TARGET, not_measured=("tunnel: 407",))]
    assert summarize([LEG1_HEALTHY], legs, ["tunnel: 407"]) == (
        "leg 1 (fmc-proxy) healthy; leg 2 (proxy-upstream) not measured (1 step(s) not measured)")
    assert summarize([], [], ["pmtu: needs root"]) == "nothing could be measured: pmtu: needs root"


def test_leg2_problem_with_a_healthy_leg1_is_not_blamed_on_leg1() -> None:
    out, _ = attribute([LEG1_HEALTHY, LEG2_HOLE], [LEG1_OK])
    hole = next(v for v in out if v.code is VerdictCode.PMTU_BLACKHOLE)
    assert hole.leg == L2 and hole.confidence is Confidence.MEASURED
    assert any("1448 payload bytes" in e and "leg 2" in e for e in hole.evidence)


def test_a_stall_at_leg1s_own_limit_is_leg1s_and_leg2_is_only_at_least() -> None:
    """The lab's 'blackhole' scenario: leg 1 drops >1372 (payload 1320 with timestamps)."""
    leg1_hole = Verdict(VerdictCode.PMTU_BLACKHOLE, L1, Direction.UP,
                        numbers={"mtu": 1372, "max_payload": 1320})
    leg2_echo = Verdict(VerdictCode.PMTU_BLACKHOLE, L2, Direction.UP,
                        numbers={"max_payload": 1320, "pmtu_low": 1360})
    legs = [LegReport(L1, PROXY, Direction.UP, measurements={"pmtu": 1372}),
            LegReport(L1, PROXY + ":3128", measurements={"max_payload": 1320}),
            LegReport(L2, TARGET, Direction.UP, measurements={"max_payload": 1320})]
    out, new_legs = attribute([leg1_hole, leg2_echo], legs)
    assert [v.leg for v in out] == [L1]
    assert new_legs[2].notes[0].startswith("carries at least 1320 payload bytes")
    report = build_report([Measurement(legs=tuple(legs), verdicts=(leg1_hole, leg2_echo))],
                          started="t", duration_s=1)
    assert report.summary == ("leg 1 (fmc-proxy) silently drops packets above 1372 bytes going "
                              "up (toward the upstream); leg 2 (proxy-upstream) untested above "
                              "leg 1's limit")
    assert not any(">" in r.where and "proxy" in r.where for r in report.recommendations)
    assert all("Internet" not in r.where for r in report.recommendations)


def test_leg2_finding_becomes_inferred_when_leg1_loses_packets_the_same_way() -> None:
    leg1_hole = Verdict(VerdictCode.PMTU_BLACKHOLE, L1, Direction.BOTH, numbers={"mtu": 1372})
    out, _ = attribute([leg1_hole, replace(LEG2_HOLE, numbers={})], [])
    hole2 = next(v for v in out if v.leg == L2)
    assert hole2.confidence is Confidence.INFERRED
    # A leg-2 limit well below leg 1's stays leg 2's.
    leg1_hole = replace(leg1_hole, numbers={"mtu": 1450})
    out, _ = attribute([leg1_hole, LEG2_HOLE], [LegReport(L1, PROXY, measurements={
        "pmtu": 1450, "max_payload": 1398})])
    assert next(v for v in out if v.leg == L2).confidence is Confidence.MEASURED
    # A down-only hole on leg 1 does not touch an upward leg-2 search.
    down_only = Verdict(VerdictCode.PMTU_BLACKHOLE, L1, Direction.DOWN, numbers={"mtu": 1300})
    out, _ = attribute([down_only, LEG2_HOLE], [LegReport(L1, PROXY, measurements={
        "pmtu_up": 1500})])
    assert next(v for v in out if v.leg == L2).confidence is Confidence.MEASURED


def test_merge_legs_joins_steps_but_keeps_clashing_numbers_apart() -> None:
    local = LegReport(L1, PROXY, measurements={"interface": "eth0", "interface_mtu": 1500})
    mss = LegReport(L1, PROXY, measurements={"mss_sent": 1460, "probes": 3})
    pmtu = LegReport(L1, PROXY, measurements={"pmtu": 1500, "probes": 12})
    merged = merge_legs([local, mss, pmtu])
    assert len(merged) == 2
    assert dict(merged[0].measurements) == {"interface": "eth0", "interface_mtu": 1500,
                                            "mss_sent": 1460, "probes": 3}
    assert merged[1].measurements["probes"] == 12
    up = LegReport(L1, PROXY, Direction.UP, measurements={"pmtu": 1400})
    assert len(merge_legs([pmtu, up])) == 2


def test_leg1_max_payload_uses_the_smallest_direction() -> None:
    legs = [LegReport(L1, PROXY, Direction.UP, measurements={"pmtu_up": 1500}),
            LegReport(L1, PROXY, Direction.DOWN, measurements={"pmtu_down": 1372}),
            LegReport(L2, TARGET, measurements={"pmtu": 1000})]
    assert leg1_max_payload(legs) == 1320  # timestamps assumed from a PMTU alone
    assert leg1_max_payload(legs, ipv6=True) == 1300
    assert leg1_max_payload([*legs, LegReport(L1, PROXY, measurements={"max_payload": 1200})]
                            ) == 1200
    assert leg1_max_payload([LegReport(L1, PROXY)]) is None


def test_report_drops_healthy_on_a_sick_leg_and_exits_1() -> None:
    m1 = Measurement(legs=(LEG1_OK,), verdicts=(LEG1_HEALTHY, CLAMP))
    m2 = Measurement(legs=(LegReport(L2, TARGET, measurements={"max_payload": 1348}),),
                     verdicts=(LEG2_HOLE,))
    report = build_report([m1, m2], started="2026-01-01T00:00:00+00:00", duration_s=1.0)
    assert [v.code for v in report.verdicts] == [VerdictCode.MSS_CLAMPED,
                                                 VerdictCode.PMTU_BLACKHOLE]
    assert report.exit_status() is ExitStatus.PROBLEM
    assert any(r.command == "sysopt connection tcpmss 1348" for r in report.recommendations)
    assert report.summary.startswith("leg 2 (proxy-upstream) drops segments above 1348")


def _steps(*fns):  # type: ignore[no-untyped-def]
    return [(f"step {i}", L1 if i < 2 else L2, PROXY, fn) for i, fn in enumerate(fns)]


def test_a_step_that_cannot_run_is_not_measured_with_why_and_exit_3() -> None:
    def healthy() -> Measurement:
        return Measurement(legs=(LEG1_OK,), verdicts=(LEG1_HEALTHY,))

    def needs_root() -> Measurement:
        raise PermissionNeeded("raw probes need root; rerun with sudo")

    report = run_steps(_steps(healthy, needs_root), started="t")
    assert report.errors == ("step 1: raw probes need root; rerun with sudo",)
    assert report.exit_status() is ExitStatus.NOT_MEASURED
    assert not report.partial
    assert "(1 step(s) not measured)" in report.summary
    row = next(leg for leg in report.legs if leg.not_measured)
    assert row.not_measured == ("step 1: raw probes need root; rerun with sudo",)


def test_ctrl_c_keeps_what_was_measured_marks_partial_and_stops() -> None:
    ran: list[str] = []

    def clamp() -> Measurement:
        ran.append("clamp")
        return Measurement(legs=(LEG1_OK,), verdicts=(CLAMP,))

    def interrupted() -> Measurement:
        raise KeyboardInterrupt

    def never() -> Measurement:
        ran.append("never")
        raise AssertionError("must not run after Ctrl-C")

    report = run_steps(_steps(clamp, interrupted, never), started="t")
    assert ran == ["clamp"]
    assert report.partial
    assert report.errors == ("interrupted during: step 1",)
    assert report.exit_status() is ExitStatus.PROBLEM  # the clamp was found before Ctrl-C
    quiet = run_steps(_steps(lambda: Measurement(legs=(LEG1_OK,), verdicts=(LEG1_HEALTHY,)),
                             interrupted), started="t")
    assert quiet.partial and quiet.exit_status() is ExitStatus.NOT_MEASURED


def test_missing_measuring_module_is_a_step_not_measured() -> None:
    def missing() -> Measurement:
        raise ImportError("No module named 'pathprobe.nothing'")

    def unreachable() -> Measurement:
        raise NotMeasuredError("no answer from 198.18.2.2")

    report = run_steps(_steps(missing, unreachable), started="t")
    assert len(report.errors) == 2
    assert "this build cannot measure it" in report.errors[0]


@pytest.mark.parametrize(("text", "expected"), [
    ("upstream.pathprobe.test:443", ("upstream.pathprobe.test", 443)),
    ("tools.cisco.com", ("tools.cisco.com", 443)),
    ("[2001:db8:4::2]:8443", ("2001:db8:4::2", 8443)),
    ("2001:db8:4::2", ("2001:db8:4::2", 443)),
])
def test_parse_target(text: str, expected: tuple[str, int]) -> None:
    assert parse_authority(text, default_port=443) == expected


@pytest.mark.parametrize("bad", ["", "host:0", "host:99999", "host:x", "http://h/", "a b:1",
                                 "[2001:db8::1]:", "host:", "[2001:db8::1"])
def test_parse_target_rejects(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_authority(bad, default_port=443)


@given(st.from_regex(r"[a-z][a-z0-9-]{0,20}(\.[a-z0-9-]{1,20}){0,3}\.?", fullmatch=True),
       st.integers(1, 65535))
def test_parse_target_round_trip(host: str, port: int) -> None:
    assert parse_authority(f"{host}:{port}") == (host, port)


def test_demo_runs_diagnose_against_the_lab_proxy_and_target() -> None:
    argv = demo_argv(TableFormat.GITHUB, True, "/tmp/x.json")
    assert argv[1:4] == ["-m", "pathprobe", "diagnose"]
    assert argv[argv.index("--proxy") + 1] == "http://198.18.2.2:3128"
    assert argv[argv.index("--target") + 1] == TARGET
    assert argv[argv.index("--format") + 1] == "github"
    assert "--json" in argv and argv[-2:] == ["--output", "/tmp/x.json"]


# Seen in the lab without root behind the article's clamp: leg 1 can only be tested up to
# the clamped MSS, and the tunnel step, told "leg 1 carries 1288", blamed leg 1.
UNPRIV_LEG1 = [
    Measurement(legs=(LegReport(L1, PROXY, Direction.UP, measurements={
        "pmtu": 1340, "pmtu_up": 1340, "pmtu_method": "tcp"}),), verdicts=(
        Verdict(VerdictCode.HEALTHY, L1, Direction.UP, numbers={"mtu": 1340}),)),
    Measurement(legs=(LegReport(L1, PROXY + ":3128", measurements={
        "max_payload": 1288, "largest_acked": 1340}),), verdicts=(CLAMP,)),
]
TUNNEL_BLAMING_LEG1 = Measurement(
    legs=(LegReport(L2, TARGET, Direction.UP, measurements={"max_payload": 1328}),),
    verdicts=(Verdict(VerdictCode.PMTU_BLACKHOLE, L1, Direction.UP, (
        "1328 bytes in one write answered, 1329 stalled",
        "leg 1 carries only 1288-byte payloads, so this limit may be leg 1's; not blamed on "
        "leg 2"), Confidence.INFERRED,
        {"max_payload": 1328, "pmtu_low": 1368, "pmtu_high": 1400}),))


def test_tunnel_finding_goes_back_to_leg2_when_leg1_showed_no_limit() -> None:
    assert leg1_size_limit(UNPRIV_LEG1) is None
    assert tunnel_leg1_payload(UNPRIV_LEG1) == 1288
    fixed = reattribute_tunnel(TUNNEL_BLAMING_LEG1, UNPRIV_LEG1)
    (v,) = fixed.verdicts
    assert (v.leg, v.confidence) == (L2, Confidence.MEASURED)
    assert not any("not blamed on leg 2" in e for e in v.evidence)
    report = build_report([*UNPRIV_LEG1, fixed], started="t", duration_s=1)
    assert report.summary.startswith("leg 2 (proxy-upstream) drops segments above 1328")
    assert not any(r.where.startswith("FMC") for r in report.recommendations)


def test_tunnel_finding_stays_on_leg1_when_leg1_has_its_own_limit() -> None:
    leg1 = [Measurement(verdicts=(Verdict(VerdictCode.PMTU_BLACKHOLE, L1, Direction.BOTH,
                                          numbers={"mtu": 1372}),))]
    assert leg1_size_limit(leg1) == 1320
    assert tunnel_leg1_payload(leg1) == 1320
    assert reattribute_tunnel(TUNNEL_BLAMING_LEG1, leg1) == TUNNEL_BLAMING_LEG1
    down_only = [Measurement(verdicts=(Verdict(VerdictCode.PMTU_BLACKHOLE, L1, Direction.DOWN,
                                               numbers={"mtu": 1372}),))]
    assert leg1_size_limit(down_only) is None  # a down-only hole does not stop writes going up


def test_proxy_refusal_summary_keeps_leg1_health_and_says_leg2_was_not_measured() -> None:
    denied = Verdict(VerdictCode.PROXY_DENIED, L1, None, ("CONNECT -> 403",),
                     numbers={"status": 403})
    report = build_report([Measurement(legs=(LEG1_OK,), verdicts=(LEG1_HEALTHY,)),
                           Measurement(verdicts=(denied,))], started="t", duration_s=1,
                          leg2_target=TARGET)
    assert report.summary == ("proxy refuses CONNECT (403); leg 1 (fmc-proxy) healthy; "
                              "leg 2 (proxy-upstream) not measured")
    assert report.legs[-1].not_measured == ("no tunnel to measure through: PROXY_DENIED",)
    assert report.exit_status() is ExitStatus.PROBLEM


def test_reset_phrase_uses_packet_bytes_when_measured() -> None:
    rst = Verdict(VerdictCode.RST_ON_LARGE_SEGMENT, L1, Direction.UP,
                  numbers={"mtu": 1300, "max_payload": 1248, "smallest_reset": 1301})
    assert summarize([rst], [LEG1_OK]).startswith(
        "leg 1 (fmc-proxy) resets packets above 1300 bytes going up")
    only_payload = replace(rst, numbers={"max_payload": 1248})
    assert "resets segments above 1248 payload bytes" in summarize([only_payload], [])


def test_ctrl_c_while_printing_progress_still_gives_the_partial_report() -> None:
    def clamp() -> Measurement:
        return Measurement(legs=(LEG1_OK,), verdicts=(CLAMP,))

    lines: list[str] = []

    def progress(line: str) -> None:
        lines.append(line)
        if len(lines) == 2:  # SIGINT lands just after the second step's line is printed
            raise KeyboardInterrupt

    report = run_steps(_steps(clamp, clamp), started="t", progress=progress)
    assert report.partial and report.errors == ("interrupted during: step 1",)
    assert [v.code for v in report.verdicts] == [VerdictCode.MSS_CLAMPED]
