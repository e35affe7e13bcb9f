"""Markdown that no content can break out of (issue 23, item 2; issue 21, item 8).

A code span's fence is longer than any backtick run inside it, so a command holding
"``" cannot close it early and let raw HTML (``<img onerror=...>``) through to `-f github`
output; every other cell escapes '<' and '&'. Checked with a real Markdown parser
(markdown-it-py, CommonMark with GFM tables, raw HTML enabled as GitHub's renderer reads
it) on adversarial strings, and through the real CLI (analyze of a hostile capture,
merge of a hostile report).
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from markdown_it.token import Token

from pathprobe.fleet import merge as merge_fleet
from pathprobe.fleet import read_host
from pathprobe.formats import TableFormat
from pathprobe.model import Context, Recommendation, Severity
from pathprobe.render import render, render_json
from pathprobe.render.fleet import render_fleet
from pathprobe.render.markdown import code_cell, code_span
from tests.conftest import cli_env
from tests.unit.test_capture_analysis import Flow, write_pcap
from tests.unit.test_report_formats import article

MD = MarkdownIt("commonmark").enable("table")
ATTACKS = ["``<img src=x onerror=alert(1)>``", "`", "``", "` `", "<script>alert(1)</script>",
           "a ``` b", " `x` ", "x`` <b>bold</b> ``y", "|`|`|", "\\`<i>x</i>\\`",
           "<!-- c -->", "&lt;img&gt;", "interface Gi0/1\n ip tcp adjust-mss 1300"]
HOSTILE = st.one_of(st.sampled_from(ATTACKS), st.text(
    alphabet=st.sampled_from(list("`<>&|\\ \n/=\"'!-*_[]#a1")), max_size=40))


def walk(tokens: list[Token]) -> list[Token]:
    out = []
    for t in tokens:
        out.append(t)
        out += walk(t.children or [])
    return out


def raw_html(text: str) -> list[str]:
    """Raw HTML the parser would pass through, other than the line breaks we write."""
    return [t.content for t in walk(MD.parse(text))
            if t.type in ("html_inline", "html_block") and t.content != "<br>"]


def code_spans(text: str) -> list[str]:
    return [t.content for t in walk(MD.parse(text)) if t.type == "code_inline"]


@given(HOSTILE)
@settings(max_examples=300, deadline=None)
def test_a_code_span_holds_exactly_its_content(text: str) -> None:
    line = text.replace("\n", " ")
    if not line.strip():
        return
    assert MD.parse(code_span(line))[1].children is not None
    assert code_spans(code_span(line)) == [line]


@given(HOSTILE, HOSTILE, HOSTILE)
@settings(max_examples=150, deadline=None)
def test_no_content_reaches_the_markdown_as_raw_html(command: str, why: str, where: str
                                                      ) -> None:
    rec = Recommendation(where or "-", "IOS", command or "-", why or "-", command or "-")
    report = replace(article(), recommendations=(rec,), errors=(why,),
                     context=Context(host=where, target=command, argv=("pathprobe", why)))
    text = render(report, TableFormat.GITHUB)
    assert raw_html(text) == []
    spans = code_spans(text)
    if command.strip() not in ("", "-"):
        for line in command.split("\n"):  # every command line whole, indentation kept
            if line.strip():
                assert line.rstrip() in spans, (line, spans)
    fleet = merge_fleet([read_host("h.json", render_json(report).encode())])
    fleet_md = render_fleet(fleet, Severity.WARNING, TableFormat.GITHUB)
    assert raw_html(fleet_md) == []


def test_arrows_and_ios_indentation_survive() -> None:
    text = render(article(), TableFormat.GITHUB)
    assert "-&gt;" not in text and "MSS 1460 -> 1300" in text
    assert "MSS clamped 1460->1300" in text
    assert code_cell("interface <IFACE>\n ip tcp adjust-mss 1348") == (
        "`interface <IFACE>`<br>`  ip tcp adjust-mss 1348 `")
    assert " ip tcp adjust-mss 1348" in code_spans(text)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pathprobe", *args], capture_output=True,
                          text=True, env=cli_env(), check=False, timeout=120)


# no spaces in a CONNECT target: a bare tag (a tag with attributes needs a space)
HOSTILE_TARGET = "x``<b>bold</b>``.example:443"


def test_analyze_github_of_a_hostile_capture_has_no_raw_html(tmp_path: Path) -> None:
    f = Flow()
    f.handshake(0.0)
    f.send(0.01, True, f"CONNECT {HOSTILE_TARGET} HTTP/1.1\r\nHost: {HOSTILE_TARGET}\r\n\r\n"
           .encode())
    f.ack(0.011, False)
    f.send(0.02, False, b"HTTP/1.1 403 ``<img src=x onerror=alert(2)>``\r\n\r\n")
    f.ack(0.021, True)
    f.close(0.1)
    cap = write_pcap(tmp_path / "hostile.pcap", f.frames)
    r = cli("analyze", str(cap), "-f", "github")
    assert r.returncode in (0, 1), r.stderr
    assert "PROXY_DENIED" in r.stdout
    assert "onerror" in r.stdout and "bold" in r.stdout    # the text is shown ...
    assert raw_html(r.stdout) == []    # ... never as HTML


def test_merge_github_of_a_hostile_report_has_no_raw_html(tmp_path: Path) -> None:
    source = tmp_path / "a.json"
    r = cli("analyze", str(Path(__file__).parents[1] / "fixtures" / "captures" / "acl.pcap"),
            "--json", "-o", str(source), "-q")
    assert r.returncode in (0, 1), r.stderr
    doc = json.loads(source.read_text())
    assert doc["recommendations"]
    doc["recommendations"][0]["command"] = "acl x ``<img src=x onerror=alert(1)>`` y"
    doc["recommendations"][0]["rollback"] = "`` <script>alert(2)</script>"
    source.write_text(json.dumps(doc))
    r = cli("merge", str(source), "-f", "github")
    assert r.returncode in (0, 1), r.stderr
    assert "onerror" in r.stdout and raw_html(r.stdout) == []
    assert "acl x ``<img src=x onerror=alert(1)>`` y" in code_spans(r.stdout)
