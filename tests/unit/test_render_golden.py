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

from pathprobe.diagnose import build_report
from pathprobe.model import (
    Confidence,
    Direction,
    Leg,
    LegReport,
    Measurement,
    Report,
    Verdict,
    VerdictCode,
)
from pathprobe.render import TableFormat, render, render_by_leg
from pathprobe.schema import load_schema

HERE = Path(__file__).parent
GOLDEN = HERE / "golden"
SCHEMA = load_schema()
UPDATE = os.environ.get("PATHPROBE_UPDATE_GOLDEN") == "1"

L1, L2 = Leg.FMC_PROXY.value, Leg.PROXY_UPSTREAM.value


def article_report(partial: bool = False) -> Report:
    """The article's failure as diagnose reports it: clamp on leg 1, black hole on leg 2 up."""
    local = Measurement(legs=(LegReport(L1, "198.18.2.2", measurements={
        "interface": "to-r1", "interface_mtu": 1500, "route_pmtu": None}),))
    pmtu = Measurement(legs=(
        LegReport(L1, "198.18.2.2", Direction.UP, measurements={
            "pmtu": 1500, "pmtu_method": "tcp", "probes": 14}),
        LegReport(L1, "198.18.2.2", Direction.DOWN, measurements={
            "pmtu": 1500, "pmtu_method": "tcp", "probes": 9}),
    ))
    mss = Measurement(legs=(LegReport(L1, "198.18.2.2", measurements={
        "mss_sent": 1460, "mss_received": 1300}),), verdicts=(
        Verdict(VerdictCode.MSS_CLAMPED, L1, Direction.BOTH,
                ("SYN sent with MSS 1460; SYN-ACK from the proxy carries MSS 1300",),
                numbers={"mss_sent": 1460, "mss_received": 1300}),))
    tunnel = Measurement(legs=(LegReport(
        L2, "upstream.pathprobe.test:443", Direction.UP, measurements={
            "max_payload": 1348, "pmtu_low": 1388, "pmtu_high": 1428, "pmtu_method": "tunnel",
            "probes": 17}),), verdicts=(
        Verdict(VerdictCode.PMTU_BLACKHOLE, L2, Direction.UP,
                ("ClientHello of 1348 bytes answered; 1349 bytes stalled (3 tries)",),
                Confidence.MEASURED,
                {"max_payload": 1348, "pmtu_low": 1388, "pmtu_high": 1428}),))
    return build_report([local, pmtu, mss, tunnel], started="2026-11-23T09:00:00+00:00",
                        duration_s=2.345, partial=partial,
                        extra_errors=("interrupted during: leg 2 down",) if partial else ())


@pytest.mark.parametrize("fmt", list(TableFormat))
def test_every_format_matches_its_golden_file(fmt: TableFormat) -> None:
    text = render_by_leg(article_report(), fmt)  # what `diagnose --format FMT` prints
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
    assert doc["verdicts"][1]["code"] == "PMTU_BLACKHOLE"
    assert doc["verdicts"][1]["max_payload"] == 1348


def test_partial_report_is_marked_in_text_and_json() -> None:
    report = article_report(partial=True)
    assert "(PARTIAL: interrupted before every step ran)" in render_by_leg(report,
                                                                          TableFormat.PLAIN)
    doc = json.loads(render(report, TableFormat.PLAIN, True))
    jsonschema.validate(doc, SCHEMA)
    assert doc["partial"] is True and doc["errors"] == ["interrupted during: leg 2 down"]


def test_one_table_per_leg_and_direction_with_only_its_columns() -> None:
    text = render_by_leg(article_report(), TableFormat.SIMPLE)
    titles = [line for line in text.splitlines() if line.endswith(":")]
    assert titles == ["Leg fmc-proxy:", "Leg fmc-proxy, up:", "Leg fmc-proxy, down:",
                      "Leg proxy-upstream, up:", "Verdicts:", "Recommendations:"]
    up2 = text.split("Leg proxy-upstream, up:")[1].split("Verdicts:")[0]
    assert "max_payload" in up2 and "mss_sent" not in up2 and "interface" not in up2


def test_schema_rejects_what_the_contract_forbids() -> None:
    doc = json.loads(render(article_report(), TableFormat.SIMPLE, True))
    for breakage in (
        lambda d: d.update(schema="pathprobe/2"),
        lambda d: d["verdicts"][0].update(code="MTU_BAD"),
        lambda d: d["verdicts"][0].update(leg="fmc"),
        lambda d: d["legs"][0].update(pmtu="1500"),
        lambda d: d["recommendations"][0].pop("why"),
        lambda d: d.pop("partial"),
    ):
        broken = json.loads(json.dumps(doc))
        breakage(broken)
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, SCHEMA)
