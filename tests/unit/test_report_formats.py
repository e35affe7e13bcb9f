"""Every report format, on reports built from typed findings: width, Markdown validity,
standalone HTML, TSV records, commands kept whole, the six sections in order."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pathprobe.facts.tunnel import TunnelFact
from pathprobe.findings import finish
from pathprobe.formats import TableFormat, TsvTable
from pathprobe.model import (
    Basis,
    Context,
    Direction,
    Evidence,
    IpVersion,
    Leg,
    LegReport,
    Limit,
    Measurement,
    Recommendation,
    Report,
    Step,
    Verdict,
    VerdictCode,
)
from pathprobe.render import render
from pathprobe.render.markdown import code_cell, text_cell
from pathprobe.render.tsv import escape_cell
from pathprobe.search import FailedHow, SearchResult, StopReason, search_evidence
from tests.reports import check_all, check_markdown, check_text

CONTEXT = Context(version="0.1.0", host="fmc1",
                  argv=("pathprobe", "diagnose", "--proxy", "http://198.18.2.2:3128"),
                  proxy="http://198.18.2.2:3128", proxy_source="--proxy",
                  target="upstream.pathprobe.test:443")


def article() -> Report:
    """The source article: MSS lowered 1460 -> 1300 on leg 1, a leg-2 black hole at 1348."""
    r = SearchResult(1348, 1349, True, None, False, 17, 4, StopReason.CLOSED, FailedHow.LOST,
                     3, 536, 1460)
    hole = Verdict(VerdictCode.PMTU_BLACKHOLE, Leg.PROXY_UPSTREAM, Direction.UP, (
        Evidence(TunnelFact.WRITES, Step.TUNNEL, {"method": "refused TLS ClientHello",
                                                   "ok": 1348, "bad": 1349, "how": "stalled"}),
        search_evidence(r, Step.TUNNEL)),
        numbers={"write_failed": 1349}, limit=Limit(max_payload=1348, pmtu_low=1388,
                                                     pmtu_high=1428),
        basis=Basis.NEEDS_LEG1, write_failed=1349)
    clamp = Verdict(VerdictCode.MSS_CLAMPED, Leg.FMC_PROXY, Direction.DOWN, (),
                    numbers={"mss_sent": 1460, "mss_received": 1300, "ip_version": 4},
                    basis=Basis.THIS_LEG_ONLY, mss_received=1300, ip_version=IpVersion.V4)
    healthy = Verdict(VerdictCode.HEALTHY, Leg.FMC_PROXY, Direction.BOTH,
                      basis=Basis.THIS_LEG_ONLY)
    legs = (LegReport(Leg.FMC_PROXY, "198.18.2.2", None, {"mss_sent": 1460, "mss_received": 1300,
                                                         "interface_mtu": 1500}),
            LegReport(Leg.FMC_PROXY, "198.18.2.2", Direction.UP, {"pmtu": 1500}),
            LegReport(Leg.PROXY_UPSTREAM, "upstream.pathprobe.test:443", Direction.UP,
                      {"max_payload": 1348, "pmtu_low": 1388, "pmtu_high": 1428}))
    report = finish([Measurement(legs, (clamp, healthy, hole))], command="diagnose",
                    started="2026-11-29T22:00:00+00:00", duration_s=2.5,
                    leg2_target="upstream.pathprobe.test:443")
    return replace(report, context=CONTEXT)


def denied() -> Report:
    refusal = Verdict(VerdictCode.PROXY_DENIED, Leg.FMC_PROXY, None, (
        Evidence(TunnelFact.ACL_REFUSED, Step.TUNNEL),),
        numbers={"status": 403, "target": "blocked.example:443"}, basis=Basis.PROXY_ANSWER)
    report = finish([Measurement((), (refusal,))], command="tunnel",
                    started="2026-11-29T22:00:00+00:00", duration_s=0.2,
                    leg2_target="blocked.example:443")
    return replace(report, context=CONTEXT)


def test_article_sections_in_order() -> None:
    text = render(article(), TableFormat.SIMPLE)
    titles = [line for line in text.splitlines() if line and not line.startswith(" ")
              and line[0].isupper() and " " not in line.strip()]
    assert titles == ["Context", "Path", "Summary", "Findings", "Recommendations",
                      "Measurements"]
    # One finding per fault, worst first, with its limit in words.
    assert "critical  proxy-upstream  up" in text
    assert "max payload 1348 B, MTU 1388..1428" in text
    assert "MSS 1460 -> 1300" in text
    # Internal numbers stay out of the default report.
    assert "probes" not in text.split("Measurements")[1]


@pytest.mark.parametrize("make", [article, denied])
def test_every_format_is_valid(make: object) -> None:
    assert callable(make)
    check_all(make())


def test_markdown_escapes_pipes_and_keeps_multiline_commands_in_one_row() -> None:
    rec = Recommendation("edge | core", "IOS/IOS-XE", "interface Gi0/1\n ip tcp adjust-mss 1300",
                         "x || y", "interface Gi0/1\n no ip tcp adjust-mss 1300")
    report = replace(article(), recommendations=(rec,))
    text = check_markdown(report)
    assert "`interface Gi0/1`<br>`  ip tcp adjust-mss 1300 `" in text   # indentation kept
    assert "edge \\| core" in text and "x \\|\\| y" in text


def test_text_never_splits_a_command_even_when_narrow() -> None:
    long = Recommendation("proxy", "Linux", "echo 'net.ipv4.tcp_mtu_probing=1' | sudo tee "
                          "/etc/sysctl.d/90-pathprobe.conf", "why " * 40, "undo")
    report = replace(article(), recommendations=(long,))
    for width in (60, 80, 100):
        out = check_text(report, width)
        assert "/etc/sysctl.d/90-pathprobe.conf" in out


@given(st.text(min_size=0, max_size=60))
@settings(max_examples=200)
def test_markdown_cells_never_break_a_table(text: str) -> None:
    for cell in (text_cell(text), code_cell(text or "-")):
        assert "\n" not in cell
        # every '|' is escaped, so GFM sees it as cell content
        assert "|" not in cell.replace("\\|", "")


@given(st.text(max_size=60))
def test_tsv_cells_stay_on_one_line(text: str) -> None:
    cell = escape_cell(text)
    assert "\t" not in cell and "\n" not in cell and "\r" not in cell
    assert cell.replace("\\n", "\n").replace("\\t", "\t").replace("\\r", "\r").replace(
        "\\\\", "\\") == text or "\\" in text


def test_output_extension_picks_the_format(tmp_path: object) -> None:
    from pathlib import Path

    from pathprobe.commands.common import Output

    for suffix, want in ((".md", (TableFormat.GITHUB, False)),
                         (".html", (TableFormat.HTML, False)),
                         (".json", (TableFormat.SIMPLE, True)),
                         (".tsv", (TableFormat.TSV, False)),
                         (".txt", (TableFormat.SIMPLE, False))):
        assert Output(output=Path(f"r{suffix}")).resolved() == want
    # --format wins over the extension
    assert Output(fmt=TableFormat.GRID, output=Path("r.md")).resolved() == (
        TableFormat.GRID, False)


def test_long_not_measured_lines_and_prose_commands_fit_and_are_indented() -> None:
    """Issue 21: "not measured" lines of 457 characters; "do:" prose at column 0."""
    why = ("198.18.2.9 answered no probe (icmp: the smallest size (576) was never answered: "
           "target silent or filtered (26 probes in 2 rounds); tcp: TCP port 3128 on "
           "198.18.2.9 is not open (no answer); udp: the smallest size (576) was never "
           "answered: target silent or filtered (8 probes in 2 rounds)) " + "x" * 130)
    prose = Recommendation("proxy", "any proxy", "set the MTU of the proxy's interface "
                           "toward the Internet to 1368, or have the device in front of it "
                           "clamp the MSS of the proxy's upstream connections to 1328",
                           "because", "undo it")
    report = replace(denied(), errors=(why,), recommendations=(prose,))
    for width in (60, 80, 100):
        text = check_text(report, width)
        recs = text.split("\nRecommendations\n")[1].split("\nMeasurements\n")[0]
        block = recs.split("\n\n")[-1].splitlines()
        assert all(line.startswith("   ") for line in block[1:]), block
    check_all(report)


def test_two_steps_measuring_one_quantity_differently_are_each_named() -> None:
    """One row per quantity where the steps agree; where they disagree, one per step, named
    (none silently winning); JSON legs one per leg and direction, each step in ``steps``."""
    from pathprobe.model import Step
    from pathprobe.render import report_json

    rows = (LegReport(Leg.FMC_PROXY, "198.18.2.2", None, {"interface_mtu": 1500,
                                                         "route_pmtu": 1500}, step=Step.LOCAL),
            LegReport(Leg.FMC_PROXY, "198.18.2.2", Direction.UP, {
                "pmtu": 1400, "pmtu_up": 1400, "interface_mtu": 1500, "route_pmtu": 1400},
                step=Step.PMTU),
            LegReport(Leg.FMC_PROXY, "198.18.2.2:3128", None, {"mss_received": 1460,
                                                              "route_pmtu": 1400},
                      step=Step.MSS))
    report = finish([Measurement(rows)], command="diagnose", started="t", duration_s=1.0)
    table = render(report, TableFormat.TSV, table=TsvTable.MEASUREMENTS)
    lines = table.splitlines()
    assert sum("interface MTU" in line for line in lines) == 1
    assert "fmc-proxy\t-\tcached route PMTU (local step)\t1500 B" in lines
    assert "fmc-proxy\t-\tcached route PMTU (mss step)\t1400 B" in lines
    assert not any("path MTU up" in line for line in lines)   # the up row's pmtu says it
    doc = report_json(report)
    legs = doc["legs"]
    assert isinstance(legs, list)
    assert [(x["name"], x.get("direction")) for x in legs] == [("fmc-proxy", None),
                                                              ("fmc-proxy", "up")]
    assert legs[0]["route_pmtu"] == 1500       # the step made to measure it
    assert [s["step"] for s in doc["steps"]] == ["local", "pmtu", "mss"]  # type: ignore[union-attr,index]


# --- the text layout's shortcuts for plain ASCII ----------------------------------------

_CELL_TEXT = st.text(st.sampled_from([*"ab xyz-:./0\t\n", "\u4e2d", "\u00e9", "\x1b"]),
                     max_size=60)


@settings(max_examples=400, deadline=None)
@given(text=_CELL_TEXT, width=st.integers(1, 40))
def test_wrapping_leaves_a_line_alone_only_where_textwrap_would(text: str, width: int) -> None:
    """A line that fits is kept as it is without textwrap: only where textwrap keeps it."""
    import textwrap

    from pathprobe.render.text import _wrap

    expected = []
    for line in text.split("\n"):
        indent = line[: len(line) - len(line.lstrip(" "))]
        expected += textwrap.wrap(line, width=width, break_long_words=False,
                                  break_on_hyphens=False, subsequent_indent=indent,
                                  drop_whitespace=True) or [""]
    assert _wrap(text, width) == "\n".join(expected)


@settings(max_examples=400, deadline=None)
@given(text=_CELL_TEXT)
def test_a_lines_width_is_wcwidths(text: str) -> None:
    from wcwidth import wcswidth

    from pathprobe.render.text import _line_width

    line = text.replace("\n", " ")
    assert _line_width(line) == max(wcswidth(line), 0)


@settings(max_examples=150, deadline=None)
@given(cells=st.lists(st.lists(_CELL_TEXT, min_size=3, max_size=3), min_size=1, max_size=6),
       fmt=st.sampled_from(["simple", "plain", "grid"]), width=st.integers(30, 120))
def test_tables_are_laid_out_as_wcwidth_measures_them(cells: list[list[str]], fmt: str,
                                                      width: int) -> None:
    """An ASCII table is measured by length, not wcwidth: the same layout either way; a
    table with wide or control characters is still measured by wcwidth."""
    from pathprobe.render import text as text_module
    from pathprobe.render.content import Table

    table = Table(("one", "two words", "three"), tuple(tuple(row) for row in cells))
    fast = text_module.table_text(table, fmt, width)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(text_module, "_plain", lambda _text: False)   # wcwidth for every cell
        assert text_module.table_text(table, fmt, width) == fast


def test_short_values_stay_on_one_line_while_headers_wrap() -> None:
    """'1460 -> 1360' split over two lines cannot be read at a glance; a header can."""
    from pathprobe.render.content import Table
    from pathprobe.render.text import table_text

    table = Table(("client port", "target", "MSS sent -> received", "largest segment up / down"),
                  (("54723", "ts01-b.cloudsink.net:443 via 10.9.8.7:8080 " * 2, "1460 -> 1360",
                    "289 / 1360"),))
    for width in (70, 80, 100):
        lines = table_text(table, "simple", width).splitlines()
        assert max(len(line) for line in lines) <= width
        assert any("1460 -> 1360" in line and "289 / 1360" in line for line in lines), lines


def test_a_sentence_beside_a_whole_command_is_not_set_a_word_a_line() -> None:
    """Where a whole command leaves the 'where' column a few characters, commands go
    below the table ("do:") and the table keeps its sentences readable."""
    prose = Recommendation("network between the FMC and the server", "any",
                           "check the server's address and port, the route and any ACL on "
                           "the way", "no TCP connection to the server could be opened",
                           "nothing to undo (a check)")
    report = replace(denied(), recommendations=(prose,))
    check_text(report, 100)
    for fmt in (TableFormat.PLAIN, TableFormat.SIMPLE, TableFormat.GRID):
        for width in (80, 100):
            out = render(report, fmt, width=width)
            recs = out.split("\nRecommendations\n")[1].split("\n\n")
            assert "network between the FMC and the server" in recs[0], recs[0]
            assert "   do:" in recs[1] and "any ACL" in recs[1], recs[1]
        wide = render(report, fmt, width=160).split("\nRecommendations\n")[1].split("\n\n")
        assert "any ACL on the way" in wide[0]    # room for both: the command stays inline
