"""diagnose: its steps, each failure contained, Ctrl-C a partial report; the findings of
all steps combined once (pathprobe.findings.finish) into the report and its summary line."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from pathprobe.commands.common import Output
from pathprobe.commands.demo import demo_argv
from pathprobe.diagnosis import DiagnoseConfig, PlannedStep, measure_steps, not_measured, plan
from pathprobe.errors import NotMeasuredError, PermissionNeeded
from pathprobe.facts.diagnose import DiagnoseFact
from pathprobe.facts.tunnel import TunnelFact
from pathprobe.findings import finish
from pathprobe.formats import TableFormat
from pathprobe.model import (
    Basis,
    Confidence,
    Direction,
    Evidence,
    ExitStatus,
    Leg,
    LegReport,
    LegSizes,
    Limit,
    Measurement,
    ProxyConfig,
    Report,
    Severity,
    Step,
    Unmeasured,
    UnmeasuredReason,
    Verdict,
    VerdictCode,
    no_progress,
)
from pathprobe.render.summary import summarize
from pathprobe.runner import measure_report
from pathprobe.wire.hostport import HostPort

L1, L2 = Leg.FMC_PROXY, Leg.PROXY_UPSTREAM
UP, DOWN, BOTH = Direction.UP, Direction.DOWN, Direction.BOTH
PROXY, TARGET = "198.18.2.2", "upstream.pathprobe.test:443"
HOLE = VerdictCode.PMTU_BLACKHOLE

LEG1_OK = LegReport(L1, PROXY, None, {"pmtu": 1500, "pmtu_method": "tcp"},
                    sizes=LegSizes(pmtu=1500))
LEG1_HEALTHY = Verdict(VerdictCode.HEALTHY, L1, BOTH, limit=Limit(mtu=1500),
                       basis=Basis.THIS_LEG_ONLY)
WRITES = Evidence(TunnelFact.WRITES, Step.TUNNEL, {"method": "refused TLS ClientHello",
                                                   "ok": 1348, "bad": 1349, "how": "stalled"})
LEG2_HOLE = Verdict(HOLE, L2, UP, (WRITES,), numbers={"write_failed": 1349},
                    limit=Limit(max_payload=1348, pmtu_low=1388, pmtu_high=1428),
                    basis=Basis.PROXY_ACKED, write_failed=1349)
CLAMP = Verdict(VerdictCode.MSS_CLAMPED, L1, BOTH, numbers={"mss_sent": 1460,
                                                           "mss_received": 1300},
                basis=Basis.THIS_LEG_ONLY, mss_received=1300)


def report(*measurements: Measurement, leg2_target: str | None = None) -> Report:
    return finish(measurements, command="diagnose", started="t", duration_s=1.0,
                  leg2_target=leg2_target)


def facts(v: Verdict) -> list[object]:
    return [e.fact for e in v.evidence]


# --- the summary line of a combined report ----------------------------------------------------

def test_summary_of_the_article_puts_the_leg2_black_hole_first() -> None:
    r = report(Measurement((LEG1_OK,), (CLAMP,)), Measurement(verdicts=(LEG2_HOLE,)))
    assert summarize(r) == ("leg 2 (proxy-upstream) drops segments above 1348 payload bytes "
                            "going up (toward the upstream); leg 1 (fmc-proxy) MSS clamped "
                            "1460->1300 (info)")
    assert [(v.code, v.severity) for v in r.verdicts] == [(HOLE, Severity.CRITICAL), (
        VerdictCode.MSS_CLAMPED, Severity.INFO)]
    assert r.exit_status() is ExitStatus.PROBLEM


def test_summary_healthy_and_not_measured_legs_in_path_order() -> None:
    r = report(Measurement((LEG1_OK,), (LEG2_HOLE, LEG1_HEALTHY)))
    assert summarize(r) == ("leg 2 (proxy-upstream) drops segments above 1348 payload bytes "
                            "going up (toward the upstream); leg 1 (fmc-proxy) healthy")
    r = report(Measurement((LEG1_OK,), (LEG1_HEALTHY,)),
               not_measured(L2, TARGET, "tunnel", "407"))
    assert summarize(r) == ("leg 1 (fmc-proxy) healthy; leg 2 (proxy-upstream) not measured "
                            "(1 step not measured)")
    needs_root = Unmeasured(Step.PMTU, UnmeasuredReason.PERMISSION, cause="pmtu: needs root")
    assert summarize(report(Measurement(unmeasured=(needs_root,)))) == (
        "nothing could be measured: pmtu: needs root")


def test_a_leg2_problem_with_a_healthy_leg1_is_not_blamed_on_leg1() -> None:
    r = report(Measurement((LEG1_OK,), (LEG1_HEALTHY, replace(LEG2_HOLE,
                                                              basis=Basis.NEEDS_LEG1))))
    hole = next(v for v in r.verdicts if v.code is HOLE)
    assert (hole.leg, hole.confidence) == (L2, Confidence.MEASURED)
    assert DiagnoseFact.LEG1_NO_SIZE_LIMIT in facts(hole)
    assert any(v.code is VerdictCode.HEALTHY and v.leg is L1 for v in r.verdicts)


def test_a_stall_at_leg1s_own_limit_is_leg1s_and_leg2_is_only_at_least() -> None:
    """The lab's 'blackhole' scenario: leg 1 drops >1372 (payload 1320 with timestamps)."""
    leg1_hole = Verdict(HOLE, L1, UP, limit=Limit(mtu=1372), basis=Basis.THIS_LEG_ONLY)
    leg2_echo = Verdict(HOLE, L2, UP, (WRITES,), numbers={"write_failed": 1321},
                        limit=Limit(max_payload=1320, pmtu_low=1360, pmtu_high=1372),
                        basis=Basis.NEEDS_LEG1, write_failed=1321)
    legs = (LegReport(L1, PROXY, UP, {"pmtu": 1372}, sizes=LegSizes(pmtu=1372)),
            LegReport(L1, PROXY + ":3128", None, {"max_payload": 1320},
                      sizes=LegSizes(max_payload=1320)),
            LegReport(L2, TARGET, UP, {"max_payload": 1320}, sizes=LegSizes(max_payload=1320)))
    r = report(Measurement(legs, (leg1_hole, leg2_echo)))
    (v,) = r.verdicts
    assert (v.code, v.leg, v.direction, v.severity) == (HOLE, L1, UP, Severity.CRITICAL)
    assert v.limit is not None and v.limit.mtu == 1372
    assert DiagnoseFact.LEG1_LIMIT_BELOW in facts(v)
    row = next(x for x in r.legs if x.name is L2)
    assert row.measurements["max_payload"] is None
    assert row.measurements["max_payload_at_least"] == 1320
    assert [n.fact for n in row.notes] == [DiagnoseFact.LEG2_UNTESTED_ABOVE]
    assert summarize(r) == ("leg 1 (fmc-proxy) silently drops packets above 1372 bytes going "
                            "up (toward the upstream); leg 2 (proxy-upstream) untested above "
                            "leg 1's limit")
    assert all("Internet" not in rec.where and not rec.where.startswith("proxy")
               for rec in r.recommendations)
    assert any("mtu 1372" in rec.command for rec in r.recommendations)


def test_leg1_losing_the_failing_write_size_takes_the_tunnel_finding() -> None:
    leg1_hole = Verdict(HOLE, L1, BOTH, limit=Limit(mtu=1372), basis=Basis.THIS_LEG_ONLY)
    r = report(Measurement(verdicts=(leg1_hole, replace(LEG2_HOLE, basis=Basis.NEEDS_LEG1))))
    (v,) = r.verdicts   # one fault, one finding
    assert (v.leg, v.direction, v.confidence) == (L1, BOTH, Confidence.MEASURED)
    # A leg-2 limit well below leg 1's stays leg 2's.
    wide = replace(leg1_hole, limit=Limit(mtu=1450))
    r = report(Measurement(verdicts=(wide, replace(LEG2_HOLE, basis=Basis.NEEDS_LEG1))))
    hole2 = next(v for v in r.verdicts if v.leg is L2)
    assert hole2.confidence is Confidence.MEASURED
    assert next(e for e in hole2.evidence if e.fact is DiagnoseFact.LEG1_CARRIES).values == {
        "leg1": 1398}
    # A down-only hole on leg 1 does not touch an upward leg-2 search.
    down_only = replace(leg1_hole, direction=DOWN, limit=Limit(mtu=1300))
    r = report(Measurement(verdicts=(down_only, replace(LEG2_HOLE, basis=Basis.NEEDS_LEG1))))
    hole2 = next(v for v in r.verdicts if v.leg is L2)
    assert (hole2.direction, hole2.confidence) == (UP, Confidence.MEASURED)


def test_report_drops_healthy_on_a_sick_leg_and_exits_1() -> None:
    m1 = Measurement((LEG1_OK,), (LEG1_HEALTHY, CLAMP))
    m2 = Measurement((LegReport(L2, TARGET, None, {"max_payload": 1348},
                                sizes=LegSizes(max_payload=1348)),), (LEG2_HOLE,))
    r = finish([m1, m2], command="diagnose", started="2026-01-01T00:00:00+00:00",
               duration_s=1.0)
    assert [v.code for v in r.verdicts] == [HOLE, VerdictCode.MSS_CLAMPED]
    assert r.exit_status() is ExitStatus.PROBLEM
    assert any(rec.command == "sysopt connection tcpmss 1348" for rec in r.recommendations)
    assert all(rec.rollback for rec in r.recommendations)
    assert summarize(r).startswith("leg 2 (proxy-upstream) drops segments above 1348")


# --- running the steps ------------------------------------------------------------------------

StepFn = Callable[[], Measurement]


def run_steps(steps: list[PlannedStep], *, started: str,
              progress: Callable[[str], None] = no_progress) -> Report:
    """diagnose's steps through the runner every measuring command uses."""
    return measure_report("diagnose", lambda p: measure_steps(steps, p), started=started,
                          progress=progress)


def _steps(*fns: StepFn) -> list[PlannedStep]:
    return [PlannedStep(f"step {i}", L1 if i < 2 else L2, PROXY, fn) for i, fn in enumerate(fns)]


def healthy() -> Measurement:
    return Measurement((LEG1_OK,), (LEG1_HEALTHY,))


def test_a_step_that_cannot_run_is_not_measured_with_why_and_exit_3() -> None:
    def needs_root() -> Measurement:
        raise PermissionNeeded("raw probes need root; rerun with sudo")

    r = run_steps(_steps(healthy, needs_root), started="t")
    assert r.errors == ("step 1: raw probes need root; rerun with sudo",)
    assert r.exit_status() is ExitStatus.NOT_MEASURED
    assert not r.partial
    assert "(1 step not measured)" in summarize(r)
    row = next(leg for leg in r.legs if leg.not_measured)
    assert row.not_measured == ("step 1: raw probes need root; rerun with sudo",)


def test_ctrl_c_keeps_what_was_measured_marks_partial_and_stops() -> None:
    ran: list[str] = []
    hole = Verdict(HOLE, L1, BOTH, limit=Limit(mtu=1372), basis=Basis.THIS_LEG_ONLY)

    def found() -> Measurement:
        ran.append("found")
        return Measurement((LEG1_OK,), (hole,))

    def interrupted() -> Measurement:
        raise KeyboardInterrupt

    def never() -> Measurement:
        ran.append("never")
        raise AssertionError("must not run after Ctrl-C")

    r = run_steps(_steps(found, interrupted, never), started="t")
    assert ran == ["found"]
    assert r.partial
    assert r.errors == ("interrupted during: step 1",)
    assert r.exit_status() is ExitStatus.PROBLEM  # the black hole was found before Ctrl-C
    assert summarize(r).endswith("(PARTIAL: interrupted before every step ran)")
    quiet = run_steps(_steps(healthy, interrupted), started="t")
    assert quiet.partial and quiet.exit_status() is ExitStatus.NOT_MEASURED


def test_a_clamp_found_before_ctrl_c_is_info_and_the_run_exits_3() -> None:
    def clamp() -> Measurement:
        return Measurement((LEG1_OK,), (CLAMP,))

    def interrupted() -> Measurement:
        raise KeyboardInterrupt

    r = run_steps(_steps(clamp, interrupted), started="t")
    assert r.exit_status() is ExitStatus.NOT_MEASURED
    assert r.exit_status(Severity.INFO) is ExitStatus.PROBLEM


def test_missing_measuring_module_is_a_step_not_measured() -> None:
    def missing() -> Measurement:
        raise ImportError("No module named 'pathprobe.nothing'")

    def unreachable() -> Measurement:
        raise NotMeasuredError("no answer from 198.18.2.2")

    r = run_steps(_steps(missing, unreachable), started="t")
    assert len(r.errors) == 2
    assert "this build cannot measure it" in r.errors[0]
    assert r.errors[1] == "step 1: no answer from 198.18.2.2"


def test_the_plan_measures_both_legs_through_a_proxy_and_one_leg_without() -> None:
    proxy = ProxyConfig(PROXY, 3128, "--proxy")
    steps = plan(DiagnoseConfig(HostPort("upstream.pathprobe.test", 443), proxy), no_progress)
    assert [(s.leg, s.target) for s in steps] == [
        (L1, PROXY), (L1, PROXY), (L1, PROXY), (L2, TARGET)]
    assert steps[-1].description.startswith(f"CONNECT {TARGET} via ")
    direct = plan(DiagnoseConfig(HostPort("upstream.pathprobe.test", 443)), no_progress)
    assert {s.leg for s in direct} == {Leg.FMC_UPSTREAM}
    assert len(direct) == 3


def test_demo_runs_diagnose_against_the_lab_proxy_and_target() -> None:
    argv = demo_argv(Output(fmt=TableFormat.GITHUB, as_json=True, output=Path("/tmp/x.json"),
                            quiet=True, fail_on=Severity.CRITICAL))
    assert argv[1:4] == ["-m", "pathprobe", "diagnose"]
    assert argv[argv.index("--proxy") + 1] == "http://198.18.2.2:3128"
    assert argv[argv.index("--target") + 1] == TARGET
    assert argv[argv.index("--format") + 1] == "github"
    assert "--json" in argv and argv[-2:] == ["--output", "/tmp/x.json"]
    assert "--quiet" in argv and argv[argv.index("--fail-on") + 1] == "critical"
    assert argv[argv.index("--width") + 1] == "100"


# Seen in the lab without root behind the article's clamp: leg 1 can only be tested up to
# the clamped MSS (no size limit shown), and the tunnel's failing 1329-byte write was not
# known to be acknowledged: leg 1 carries the writes split, so the loss is leg 2's.
UNPRIV_LEG1 = [
    Measurement(legs=(LegReport(L1, PROXY, UP, {"pmtu": 1340, "pmtu_up": 1340,
                                                "pmtu_method": "tcp"},
                                sizes=LegSizes(pmtu=1340, pmtu_up=1340)),),
                verdicts=(Verdict(VerdictCode.HEALTHY, L1, UP, limit=Limit(mtu=1340),
                                  basis=Basis.THIS_LEG_ONLY),)),
    Measurement(legs=(LegReport(L1, PROXY + ":3128", None, {"max_payload": 1288,
                                                            "largest_acked": 1340},
                                sizes=LegSizes(max_payload=1288)),),
                verdicts=(CLAMP,)),
]
TUNNEL_1328 = Measurement(
    legs=(LegReport(L2, TARGET, UP, {"max_payload": 1328}, sizes=LegSizes(max_payload=1328)),),
    verdicts=(Verdict(HOLE, L2, UP, (WRITES,), Confidence.MEASURED, {"write_failed": 1329},
                      Limit(max_payload=1328, pmtu_low=1368, pmtu_high=1400),
                      Basis.NEEDS_LEG1, write_failed=1329),))


def test_tunnel_finding_is_leg2s_when_leg1_showed_no_limit() -> None:
    r = report(*UNPRIV_LEG1, TUNNEL_1328)
    hole = next(v for v in r.verdicts if v.code is HOLE)
    assert (hole.leg, hole.confidence) == (L2, Confidence.MEASURED)
    assert DiagnoseFact.LEG1_NO_SIZE_LIMIT in facts(hole)
    assert DiagnoseFact.LEG1_LIMIT_BELOW not in facts(hole)
    assert summarize(r).startswith("leg 2 (proxy-upstream) drops segments above 1328")
    assert not any(rec.where.startswith("FMC") for rec in r.recommendations)
    leg2 = next(x for x in r.legs if x.name is L2)
    assert leg2.measurements["max_payload"] == 1328   # still exact


def test_tunnel_finding_is_leg1s_when_leg1_has_its_own_smaller_limit() -> None:
    leg1 = Measurement(verdicts=(Verdict(HOLE, L1, BOTH, limit=Limit(mtu=1372),
                                         basis=Basis.THIS_LEG_ONLY),))
    r = report(leg1, TUNNEL_1328)
    (v,) = r.verdicts
    assert (v.leg, v.direction) == (L1, BOTH)
    assert next(e for e in v.evidence if e.fact is DiagnoseFact.LEG1_LIMIT_BELOW).values == {
        "leg1": 1320, "bad": 1329}
    assert summarize(r).startswith("leg 1 (fmc-proxy) silently drops packets above 1372 bytes")
    down_only = Measurement(verdicts=(Verdict(HOLE, L1, DOWN, limit=Limit(mtu=1372),
                                              basis=Basis.THIS_LEG_ONLY),))
    r = report(down_only, TUNNEL_1328)   # a down-only hole does not stop writes going up
    assert {(v.leg, v.direction) for v in r.verdicts} == {(L1, DOWN), (L2, UP)}


def test_proxy_refusal_summary_keeps_leg1_health_and_says_leg2_was_not_measured() -> None:
    denied = Verdict(VerdictCode.PROXY_DENIED, L1, None,
                     (Evidence(TunnelFact.ACL_REFUSED, Step.TUNNEL),),
                     numbers={"status": 403, "target": TARGET}, basis=Basis.PROXY_ANSWER)
    r = report(Measurement((LEG1_OK,), (LEG1_HEALTHY,)), Measurement(verdicts=(denied,)),
               leg2_target=TARGET)
    assert summarize(r) == ("proxy refuses CONNECT (403); leg 1 (fmc-proxy) healthy; "
                            "leg 2 (proxy-upstream) not measured")
    assert r.legs[-1].name is L2
    assert r.legs[-1].not_measured == ("no tunnel to measure through: PROXY_DENIED",)
    assert r.exit_status() is ExitStatus.PROBLEM
    assert r.exit_status(Severity.CRITICAL) is ExitStatus.PROBLEM
    assert r.recommendations[0].command == ("acl fmc_targets dstdomain upstream.pathprobe.test\n"
                                            "http_access allow CONNECT fmc_targets")


def test_reset_phrase_uses_packet_bytes_when_measured() -> None:
    rst = Verdict(VerdictCode.RST_ON_LARGE_SEGMENT, L1, UP,
                  limit=Limit(mtu=1300, max_payload=1248), basis=Basis.THIS_LEG_ONLY)
    assert summarize(report(Measurement((LEG1_OK,), (rst,)))).startswith(
        "leg 1 (fmc-proxy) resets packets above 1300 bytes going up")
    only_payload = replace(rst, limit=Limit(max_payload=1248))
    assert "resets segments above 1248 payload bytes" in summarize(
        report(Measurement(verdicts=(only_payload,))))
    bound = replace(rst, limit=Limit(max_payload=1248, exact=False))
    # a lower bound says what crossed, never a threshold it did not prove
    assert "resets large segments going up (toward the upstream) (1248-byte payloads cross)" \
        in summarize(report(Measurement(verdicts=(bound,))))


def test_ctrl_c_while_printing_progress_still_gives_the_partial_report() -> None:
    def clamp() -> Measurement:
        return Measurement((LEG1_OK,), (CLAMP,))

    lines: list[str] = []

    def progress(line: str) -> None:
        lines.append(line)
        if len(lines) == 2:  # SIGINT lands just after the second step's line is printed
            raise KeyboardInterrupt

    r = run_steps(_steps(clamp, clamp), started="t", progress=progress)
    assert r.partial and r.errors == ("interrupted during: step 1",)
    assert [v.code for v in r.verdicts] == [VerdictCode.MSS_CLAMPED]


def _pmtu_verdict(code: VerdictCode, direction: Direction, mtu: int, exact: bool = True
                  ) -> Verdict:
    return Verdict(code, Leg.FMC_PROXY, direction, (), limit=Limit(mtu=mtu, exact=exact),
                   basis=Basis.THIS_LEG_ONLY)


def test_later_steps_aim_only_with_what_pmtu_proved() -> None:
    from pathprobe.diagnosis import Proven

    hole = Proven()
    hole.learn(Measurement(verdicts=(_pmtu_verdict(VerdictCode.PMTU_BLACKHOLE,
                                                   Direction.BOTH, 1372),)), Leg.FMC_PROXY)
    # IPv6 headers and timestamps assumed: never above what the leg carries either way.
    assert (hole.mtu, hole.up_payload, hole.down_payload) == (1372, 1300, 1300)
    up_only = Proven()
    up_only.learn(Measurement(verdicts=(_pmtu_verdict(VerdictCode.PMTU_BLACKHOLE,
                                                      Direction.UP, 1350),)), Leg.FMC_PROXY)
    assert (up_only.up_payload, up_only.down_payload) == (1278, None)
    # A lower bound is no edge to aim at, but still a size leg 1 carries.
    bound = Proven()
    bound.learn(Measurement(verdicts=(_pmtu_verdict(VerdictCode.PMTU_BLACKHOLE,
                                                    Direction.BOTH, 1372, False),)),
                Leg.FMC_PROXY)
    assert (bound.mtu, bound.up_payload) == (None, 1300)
    # PMTUD that works needs no help; nothing measured aims nothing.
    for m, leg in ((Measurement(verdicts=(_pmtu_verdict(VerdictCode.PMTU_REDUCED,
                                                         Direction.BOTH, 1400),)),
                    Leg.FMC_PROXY),
                   (not_measured(Leg.FMC_PROXY, "198.18.2.2", "step", "no answer"), Leg.FMC_PROXY)):
        p = Proven()
        p.learn(m, leg)
        assert p == Proven(), m


def test_hints_name_the_flags_of_the_command_once_each() -> None:
    from pathprobe.render.unmeasured import hint_sentences

    perm = Unmeasured(Step.MSS, UnmeasuredReason.PERMISSION, cause="segments: needs root")
    silent = Unmeasured(Step.MSS, UnmeasuredReason.SILENT, cause="no answer")
    assert hint_sentences([perm, silent, perm], "mss") == ("run it as root (sudo)",)
    assert hint_sentences([perm], "diagnose") == (
        "some probes need root: run 'sudo pathprobe diagnose ...' to measure every step",)
    assert hint_sentences([perm], "analyze") == ()   # no flag of its own to name
    r = measure_report("mss", lambda p: [Measurement(unmeasured=(perm,))], started="t",
                       hints=True)
    assert r.errors == ("segments: needs root", "run it as root (sudo)")
    assert measure_report("mss", lambda p: [Measurement(unmeasured=(silent,))], started="t",
                          hints=True).errors == ("no answer",)
    # The library's reports (no flags to name) get the finding's own line only.
    assert measure_report("mss", lambda p: [Measurement(unmeasured=(perm,))],
                          started="t").errors == ("segments: needs root",)


def test_typed_unmeasured_decides_the_exit_status_not_the_sentences() -> None:
    """A step that could not measure makes the run exit 3 even beside a HEALTHY verdict,
    from the typed record alone (no error sentence in the Measurement)."""
    from pathprobe.model import ExitStatus

    lower = Unmeasured(Step.PMTU, UnmeasuredReason.LOWER_BOUND, method="udp", mtu=918)
    r = finish([healthy(), Measurement(unmeasured=(lower,))], command="diagnose",
               started="t", duration_s=1.0)
    assert r.unmeasured == (lower,)
    assert r.exit_status() is ExitStatus.NOT_MEASURED
    # the sentence is made for the running command: diagnose has no --method
    assert len(r.errors) == 1 and "918 bytes is only a lower bound" in r.errors[0]
    assert "--method" not in r.errors[0]
    assert finish([healthy()], command="diagnose", started="t",
                  duration_s=1.0).exit_status() is ExitStatus.HEALTHY
