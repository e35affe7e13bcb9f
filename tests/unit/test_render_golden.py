"""Golden tests: a fixed diagnose Report in every --format, and its JSON against the schema.

Regenerate the golden files after an intended change with
``PATHPROBE_UPDATE_GOLDEN=1 python -m pytest tests/unit/test_render_golden.py`` and
review the diff like code.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import jsonschema
import pytest

from pathprobe.facts.tunnel import TunnelFact
from pathprobe.findings import finish
from pathprobe.formats import TableFormat
from pathprobe.model import (
    Basis,
    Confidence,
    Direction,
    Evidence,
    Interrupted,
    IpVersion,
    Leg,
    LegReport,
    Limit,
    Measurement,
    Report,
    Severity,
    Step,
    Verdict,
    VerdictCode,
)
from pathprobe.render import render
from pathprobe.schema import load_schema
from pathprobe.search import FailedHow, SearchResult, StopReason, search_evidence

HERE = Path(__file__).parent
GOLDEN = HERE / "golden"
SCHEMA = load_schema()
UPDATE = os.environ.get("PATHPROBE_UPDATE_GOLDEN") == "1"

L1, L2 = Leg.FMC_PROXY, Leg.PROXY_UPSTREAM
PROXY, TARGET = "198.18.2.2", "upstream.pathprobe.test:443"


def _search(step: Step, ok: int, bad: int | None, probes: int, rounds: int,
            method: str, low: int = 576, high: int = 1500) -> Evidence:
    closed = bad is not None
    r = SearchResult(largest_ok=ok, smallest_bad=bad, exact=True, icmp_mtu=None,
                     signalled=False, probes=probes, rounds=rounds,
                     stop=StopReason.CLOSED if closed else StopReason.HIGH_DELIVERED,
                     failed_how=FailedHow.LOST if closed else None, losses=int(closed),
                     low=low, high=high)
    return search_evidence(r, step, method)


def article_report(partial: bool = False) -> Report:
    """The article's failure as diagnose reports it: clamp on leg 1, black hole on leg 2 up."""
    local = Measurement(legs=(LegReport(L1, PROXY, None, {
        "interface": "to-r1", "interface_mtu": 1500, "route_pmtu": None}),))
    up = _search(Step.PMTU, 1500, None, 14, 1, "tcp up")
    down = _search(Step.PMTU, 1500, None, 9, 1, "tcp down")
    pmtu = Measurement(
        legs=(LegReport(L1, PROXY, Direction.UP, {"pmtu": 1500, "pmtu_method": "tcp",
                                                  "probes": 14}),
              LegReport(L1, PROXY, Direction.DOWN, {"pmtu": 1500, "pmtu_method": "tcp",
                                                    "probes": 9})),
        verdicts=(Verdict(VerdictCode.HEALTHY, L1, Direction.BOTH, (up, down),
                          limit=Limit(mtu=1500), basis=Basis.THIS_LEG_ONLY),))
    # The mss step's handshake facts (MssFact) are being converted on another branch; the
    # clamp is stated by its numbers here.
    mss = Measurement(legs=(LegReport(L1, PROXY, None, {
        "mss_sent": 1460, "mss_received": 1300}),), verdicts=(
        Verdict(VerdictCode.MSS_CLAMPED, L1, Direction.BOTH,
                numbers={"mss_sent": 1460, "mss_received": 1300},
                basis=Basis.THIS_LEG_ONLY, mss_received=1300),))
    method = "refused TLS ClientHello"
    found = _search(Step.TUNNEL, 1348, 1349, 17, 3, method, low=536, high=1460)
    tunnel = Measurement(legs=(LegReport(L2, TARGET, Direction.UP, {
        "max_payload": 1348, "pmtu_low": 1388, "pmtu_high": 1420, "pmtu_method": "tunnel",
        "probes": 17, "rounds": 3}, (found,)),), verdicts=(
        Verdict(VerdictCode.PMTU_BLACKHOLE, L2, Direction.UP, (
            Evidence(TunnelFact.WRITES, Step.TUNNEL, {"method": method, "ok": 1348,
                                                      "bad": 1349, "how": "stalled"}),
            Evidence(TunnelFact.PAYLOAD_CROSSES, Step.TUNNEL, {
                "direction": "up", "ok": 1348, "low": 1388, "high": 1420, "family": None,
                "timestamps": None})),
            Confidence.MEASURED, {"write_failed": 1349, "leg1_ip_version": 4},
            Limit(max_payload=1348, pmtu_low=1388, pmtu_high=1420),
            Basis.PROXY_ACKED, write_failed=1349, leg1_ip_version=IpVersion.V4),))
    return finish([local, pmtu, mss, tunnel], command="diagnose",
                  started="2026-11-23T09:00:00+00:00", duration_s=2.345, partial=partial,
                  interrupted=Interrupted("leg 2 down") if partial else None)


@pytest.mark.parametrize("fmt", list(TableFormat))
def test_every_format_matches_its_golden_file(fmt: TableFormat) -> None:
    text = render(article_report(), fmt)  # what `diagnose --format FMT` prints
    path = GOLDEN / f"article.{fmt.value}"
    if UPDATE:
        path.write_text(text)
    assert text == path.read_text()


def test_json_matches_golden_and_schema() -> None:
    text = render(article_report(), TableFormat.SIMPLE, as_json=True)
    path = GOLDEN / "article.json"
    if UPDATE:
        path.write_text(text)
    assert text == path.read_text()
    doc = json.loads(text)
    jsonschema.validate(doc, SCHEMA)
    hole, clamp = doc["verdicts"]   # one verdict per fault, worst first
    assert (hole["code"], hole["leg"], hole["severity"], hole["max_payload"]) == (
        "PMTU_BLACKHOLE", "proxy-upstream", "critical", 1348)
    assert [f["fact"] for f in hole["facts"]] == ["writes", "payload-crosses", "proxy-acked"]
    assert (clamp["code"], clamp["severity"]) == ("MSS_CLAMPED", "info")
    assert all(r["rollback"] for r in doc["recommendations"])


def test_partial_report_is_marked_in_text_and_json() -> None:
    report = article_report(partial=True)
    text = render(report, TableFormat.PLAIN)
    assert "(PARTIAL: interrupted before every step ran)" in text
    assert "partial        yes: interrupted before every step ran" in text
    doc = json.loads(render(report, TableFormat.PLAIN, True))
    jsonschema.validate(doc, SCHEMA)
    assert doc["partial"] is True and doc["errors"] == ["interrupted during: leg 2 down"]


def test_the_six_sections_in_order_and_only_measured_quantities() -> None:
    text = render(article_report(), TableFormat.SIMPLE)
    titles = [line for line in text.splitlines() if line in (
        "Context", "Path", "Summary", "Findings", "Recommendations", "Measurements")]
    assert titles == ["Context", "Path", "Summary", "Findings", "Recommendations",
                      "Measurements"]
    measured = text.split("\nMeasurements\n")[1]
    assert "largest payload per segment" in measured and "1348 B" in measured
    for internal in ("probes", "pmtu_method", "step_s", "search_s", "mss_received_exact"):
        assert internal not in measured
    assert all(len(line) <= 100 for line in text.splitlines())


def test_schema_rejects_what_the_contract_forbids() -> None:
    doc = json.loads(render(article_report(), TableFormat.SIMPLE, True))
    for breakage in (
        lambda d: d.update(schema="pathprobe/2"),
        lambda d: d["verdicts"][0].update(code="MTU_BAD"),
        lambda d: d["verdicts"][0].update(leg="fmc"),
        lambda d: d["legs"][0].update(pmtu="1500"),
        lambda d: d["recommendations"][0].pop("why"),
        lambda d: d.pop("partial"),
        lambda d: d["verdicts"][0].update(severity="fatal"),
        lambda d: d["verdicts"][0].update(basis="guessed"),
        lambda d: d["verdicts"][0]["facts"][0].pop("values"),
        lambda d: d["verdicts"][0]["facts"][0].update(step="somewhere"),
        lambda d: d["recommendations"][0].update(rollback=None),
    ):
        broken = json.loads(json.dumps(doc))
        breakage(broken)
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, SCHEMA)


def test_the_schema_knows_every_code_severity_basis_and_step() -> None:
    verdict = SCHEMA["$defs"]["verdict"]["properties"]
    assert set(verdict["code"]["enum"]) == {c.value for c in VerdictCode}
    # every verdict of a report is rated (findings.assess): no null severity in JSON
    assert set(verdict["severity"]["enum"]) == {s.value for s in Severity}
    assert set(verdict["basis"]["enum"]) == {b.value for b in Basis}
    assert set(SCHEMA["$defs"]["fact"]["properties"]["step"]["enum"]) == {s.value for s in Step}
