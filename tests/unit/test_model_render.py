"""Report contracts: exit status, JSON shape (typed facts beside their sentences), table
formats with the severity column."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from pathprobe.facts.diagnose import DiagnoseFact
from pathprobe.facts.search import SearchFact
from pathprobe.formats import TableFormat
from pathprobe.model import (
    SCHEMA,
    Basis,
    Confidence,
    Direction,
    Evidence,
    ExitStatus,
    Leg,
    LegReport,
    Limit,
    Recommendation,
    Report,
    Severity,
    Step,
    Verdict,
    VerdictCode,
    healthy_unless,
)
from pathprobe.render import render, render_json
from pathprobe.render.evidence import describe

L1 = Leg.FMC_PROXY
SEARCH = Evidence(SearchFact.SEARCH, Step.PMTU, {
    "method": "tcp", "stop": "closed", "ok": 1372, "bad": 1373, "how": "lost", "losses": 3,
    "hinted": False, "low": 576, "high": 1500, "probes": 41, "rounds": 4})
BLACKHOLE = Verdict(VerdictCode.PMTU_BLACKHOLE, L1, Direction.BOTH, (SEARCH,),
                    Confidence.MEASURED, limit=Limit(mtu=1372), basis=Basis.THIS_LEG_ONLY,
                    severity=Severity.CRITICAL)
NOTE = Evidence(DiagnoseFact.LEG2_UNTESTED_ABOVE, Step.DIAGNOSE, {"payload": 1320, "leg1": 1320})
LEG = LegReport(L1, "198.18.2.2", None, {"pmtu": 1372, "pmtu_method": "icmp", "probes": 41,
                                         "mss_sent": 1460}, (NOTE,))
REPORT = Report("pmtu", "2026-11-23T09:00:00+00:00", 1.2345, (LEG,), (BLACKHOLE,),
                (Recommendation("FMC", "Linux", "ip link set dev eth0 mtu 1372", "fits",
                                "ip link set dev eth0 mtu 1500"),))


def test_exit_status_rules() -> None:
    assert REPORT.exit_status() is ExitStatus.PROBLEM
    healthy = Report("x", "t", 0, verdicts=tuple(
        replace(v, severity=Severity.INFO) for v in healthy_unless([], L1, [SEARCH])))
    assert healthy.verdicts[0].code is VerdictCode.HEALTHY
    assert healthy.exit_status() is ExitStatus.HEALTHY
    assert healthy.exit_status(Severity.INFO) is ExitStatus.HEALTHY  # healthy never fails
    assert Report("x", "t", 0).exit_status() is ExitStatus.NOT_MEASURED
    partial = Report("x", "t", 0, verdicts=healthy.verdicts, partial=True)
    assert partial.exit_status() is ExitStatus.NOT_MEASURED
    warning = Report("x", "t", 0, verdicts=(replace(BLACKHOLE, severity=Severity.WARNING),))
    assert [warning.exit_status(s) for s in Severity] == [
        ExitStatus.PROBLEM, ExitStatus.PROBLEM, ExitStatus.HEALTHY]
    assert healthy_unless([BLACKHOLE], L1, [SEARCH]) == (BLACKHOLE,)


def test_severity_ranks() -> None:
    assert [s.rank for s in (Severity.INFO, Severity.WARNING, Severity.CRITICAL)] == [0, 1, 2]


def test_json_shape_matches_design() -> None:
    doc = json.loads(render_json(REPORT))
    assert doc["schema"] == SCHEMA == "pathprobe/1"
    assert doc["duration_s"] == 1.234 or doc["duration_s"] == 1.235
    assert doc["summary"] == ("leg 1 (fmc-proxy) silently drops packets above 1372 bytes; "
                              "leg 2 (proxy-upstream) untested above leg 1's limit")
    assert doc["legs"][0] == {
        "name": "fmc-proxy", "target": "198.18.2.2", "pmtu": 1372, "pmtu_method": "icmp",
        "probes": 41, "mss_sent": 1460, "notes": [describe(NOTE)]}
    assert doc["verdicts"][0] == {
        "code": "PMTU_BLACKHOLE", "leg": "fmc-proxy", "direction": "both",
        "severity": "critical", "mtu": 1372, "limit_exact": True,
        "evidence": ["tcp: 1372 delivered, 1373 fails (lost 3 times, no ICMP) (41 probes in "
                     "4 rounds)"],
        "facts": [{"fact": "search", "step": "pmtu", "values": dict(SEARCH.values)}],
        "confidence": "measured", "basis": "this-leg-only"}
    assert doc["recommendations"][0] == {
        "where": "FMC", "platform": "Linux", "command": "ip link set dev eth0 mtu 1372",
        "rollback": "ip link set dev eth0 mtu 1500", "why": "fits"}


def test_json_facts_carry_frames_and_a_lower_bound_says_so() -> None:
    framed = Evidence(DiagnoseFact.MSS_MATCHES_PMTU, Step.CAPTURE,
                      {"mss": 1396, "mtu": 1436, "overhead": 40}, frames=(3, 4))
    bound = Verdict(VerdictCode.PMTU_BLACKHOLE, L1, Direction.UP, (framed,),
                    Confidence.INFERRED, {"write_failed": 1321},
                    Limit(max_payload=1320, pmtu_low=1360, exact=False), write_failed=1321)
    doc = json.loads(render_json(Report("tunnel", "t", 0, verdicts=(bound,))))
    (v,) = doc["verdicts"]
    assert v["facts"] == [{"fact": "mss-matches-pmtu", "step": "capture",
                           "values": {"mss": 1396, "mtu": 1436, "overhead": 40},
                           "frames": [3, 4]}]
    assert (v["max_payload"], v["pmtu_low"], v["limit_exact"], v["write_failed"]) == (
        1320, 1360, False, 1321)
    assert v["severity"] is None and "basis" not in v and "mtu" not in v


@pytest.mark.parametrize("fmt", list(TableFormat))
def test_every_table_format_renders_every_section(fmt: TableFormat) -> None:
    text = render(REPORT, fmt)
    if fmt is TableFormat.TSV:  # one table: the findings, with their evidence
        for needle in ("PMTU_BLACKHOLE", "critical", "MTU 1372",
                       "1373 fails (lost 3 times, no ICMP)"):
            assert needle in text, (fmt, needle)
        assert text.splitlines()[0].startswith("number\tseverity\tleg")
        return
    for needle in ("leg 1 (fmc-proxy) silently drops packets above 1372 bytes",
                   "PMTU_BLACKHOLE", "critical", "ip link set dev eth0 mtu 1372", "MTU 1372",
                   "1373 fails (lost 3 times, no ICMP)", "carries at least 1320 payload bytes"):
        assert needle in " ".join(text.split()), (fmt, needle)
    if fmt is TableFormat.HTML:
        # context, findings, recommendations, measurements (the path is an SVG)
        assert text.count("<table>") == 3 + bool(REPORT.recommendations)
    assert render(REPORT, fmt, as_json=True) == render_json(REPORT)


def test_a_lower_bound_is_marked_in_the_table() -> None:
    bound = Verdict(VerdictCode.PMTU_BLACKHOLE, L1, Direction.UP,
                    limit=Limit(max_payload=1320, pmtu_low=1360, exact=False),
                    severity=Severity.CRITICAL)
    text = render(Report("tunnel", "t", 0, verdicts=(bound,)), TableFormat.PLAIN)
    assert "max payload at least 1320 B, MTU at least 1360 (not exact)" in text
    assert "silently drops large packets going up (toward the upstream) (1360-byte packets" \
        " cross)" in " ".join(text.split())


def test_a_write_that_crossed_is_not_called_a_segment() -> None:
    """Every size up to a full segment crossed leg 2 (no reflector): a write of 1460 bytes
    came through, but leg 1 may have carried it in two segments and the proxy relayed
    them as they came; the row says what is proven."""
    leg = LegReport(Leg.PROXY_UPSTREAM, "x:443", Direction.UP,
                    {"max_payload_at_least": 1460, "pmtu_method": "tunnel"})
    text = render(Report("tunnel", "t", 0, (leg,)), TableFormat.PLAIN)
    row = next(line for line in text.splitlines()
               if line.startswith("proxy-upstream") and "1460 B" in line)
    assert "largest write that crossed, at least" in row and "segment" not in row, row
    assert "payload at least 1460 B" in text      # (the path's line: no segment either)


def test_partial_and_not_measured_are_visible() -> None:
    leg = LegReport(Leg.PROXY_UPSTREAM, "x:443", not_measured=("proxy refused CONNECT",))
    rep = Report("diagnose", "t", 0, (leg,), (BLACKHOLE,), partial=True, errors=("no root",))
    text = render(rep)
    assert "PARTIAL" in text and "not measured: no root" in text
    assert "not measured  proxy refused CONNECT" in text
    assert json.loads(render_json(rep))["partial"] is True
