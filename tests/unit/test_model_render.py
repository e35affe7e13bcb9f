"""Report contracts: exit status, JSON shape, table formats."""

from __future__ import annotations

import json

import pytest

from pathprobe.model import (
    SCHEMA,
    Confidence,
    Direction,
    ExitStatus,
    LegReport,
    Recommendation,
    Report,
    Verdict,
    VerdictCode,
    healthy_unless,
)
from pathprobe.render import TableFormat, render, render_json, render_table

BLACKHOLE = Verdict(VerdictCode.PMTU_BLACKHOLE, "fmc-proxy", Direction.BOTH,
                    ("1372-byte probes answered, 1373 lost 3 times",), Confidence.MEASURED,
                    {"mtu": 1372})
LEG = LegReport("fmc-proxy", "198.18.2.2", measurements={"pmtu": 1372, "pmtu_method": "icmp",
                                                          "probes": 41, "mss_sent": 1460})
REPORT = Report("pmtu", "2026-11-23T09:00:00+00:00", 1.2345, (LEG,), (BLACKHOLE,),
                (Recommendation("FMC", "Linux", "ip link set dev eth0 mtu 1372", "fits"),),
                summary="leg 1 drops packets above 1372 bytes")


def test_exit_status_rules() -> None:
    assert REPORT.exit_status() is ExitStatus.PROBLEM
    healthy = Report("x", "t", 0, verdicts=healthy_unless([], "fmc-proxy", ["all sizes"]))
    assert healthy.exit_status() is ExitStatus.HEALTHY
    assert Report("x", "t", 0).exit_status() is ExitStatus.NOT_MEASURED
    partial = Report("x", "t", 0, verdicts=healthy.verdicts, partial=True)
    assert partial.exit_status() is ExitStatus.NOT_MEASURED


def test_json_shape_matches_design() -> None:
    doc = json.loads(render_json(REPORT))
    assert doc["schema"] == SCHEMA == "pathprobe/1"
    assert doc["duration_s"] == 1.234 or doc["duration_s"] == 1.235
    assert doc["legs"][0] == {"name": "fmc-proxy", "target": "198.18.2.2", "pmtu": 1372,
                              "pmtu_method": "icmp", "probes": 41, "mss_sent": 1460}
    assert doc["verdicts"][0] == {"code": "PMTU_BLACKHOLE", "leg": "fmc-proxy",
                                  "direction": "both", "mtu": 1372,
                                  "evidence": ["1372-byte probes answered, 1373 lost 3 times"],
                                  "confidence": "measured"}
    assert set(doc["recommendations"][0]) == {"where", "platform", "command", "why"}


@pytest.mark.parametrize("fmt", list(TableFormat))
def test_every_table_format_renders_every_section(fmt: TableFormat) -> None:
    text = render_table(REPORT, fmt)
    for needle in ("leg 1 drops packets above 1372 bytes", "PMTU_BLACKHOLE", "1372",
                   "ip link set dev eth0 mtu 1372", "mtu=1372"):
        assert needle in text, (fmt, needle)
    if fmt is TableFormat.HTML:
        assert text.count("<table>") == 3
    if fmt is TableFormat.TSV:
        assert "# Verdicts" in text and "\t" in text
    assert render(REPORT, fmt, as_json=True) == render_json(REPORT)


def test_partial_and_not_measured_are_visible() -> None:
    leg = LegReport("proxy-upstream", "x:443", not_measured=("proxy refused CONNECT",))
    rep = Report("diagnose", "t", 0, (leg,), (BLACKHOLE,), partial=True, errors=("no root",))
    text = render_table(rep)
    assert "PARTIAL" in text and "not measured: no root" in text
    assert "not measured: proxy refused CONNECT" in text
    assert json.loads(render_json(rep))["partial"] is True
