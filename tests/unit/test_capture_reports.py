"""Every report format of `analyze` on every capture fixture: byte-for-byte golden files
(PATHPROBE_UPDATE_GOLDEN=1 rewrites them; read the diff before committing) and the
structural checks every format must pass (width, Markdown tables, standalone HTML, TSV)."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import jsonschema
import pytest

from pathprobe.capture import Filters, analyze_capture
from pathprobe.findings import finish
from pathprobe.formats import TableFormat
from pathprobe.model import Context, Report
from pathprobe.render import render
from pathprobe.schema import load_schema
from tests.reports import check_all

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "captures"
GOLDEN = Path(__file__).parent / "golden" / "captures"
UPDATE = os.environ.get("PATHPROBE_UPDATE_GOLDEN") == "1"
CAPTURES = sorted(p.name for p in FIXTURES.glob("*.pcap*"))
FORMATS = [TableFormat.PLAIN, TableFormat.SIMPLE, TableFormat.GRID, TableFormat.GITHUB,
           TableFormat.HTML, TableFormat.TSV]


def report_of(name: str) -> Report:
    """What `pathprobe analyze FIXTURE` reports, with a fixed context and time."""
    a = analyze_capture(FIXTURES / name, Filters())
    report = finish([a.measurement], command="analyze", started="2026-11-29T00:00:00+00:00",
                    duration_s=0.1, recommender=a.recommender)
    return replace(report, context=Context(version="test", host="fmc",
                                           argv=("pathprobe", "analyze", name), target=name))


def test_there_are_fixtures() -> None:
    assert len(CAPTURES) >= 16


@pytest.mark.parametrize("name", CAPTURES)
@pytest.mark.parametrize("fmt", FORMATS, ids=str)
def test_golden(name: str, fmt: TableFormat) -> None:
    text = render(report_of(name), fmt)
    path = GOLDEN / f"{name}.{fmt.value}"
    if UPDATE:
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
    assert text == path.read_text()


@pytest.mark.parametrize("name", CAPTURES)
def test_json_golden_and_schema(name: str) -> None:
    text = render(report_of(name), as_json=True)
    path = GOLDEN / f"{name}.json"
    if UPDATE:
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
    assert text == path.read_text()
    import json

    jsonschema.validate(json.loads(text), load_schema())


@pytest.mark.parametrize("name", CAPTURES)
def test_every_format_is_valid(name: str) -> None:
    check_all(report_of(name))
