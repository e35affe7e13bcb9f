"""Checks every report format must pass, shared by the unit and lab tests.

Markdown is parsed by a real Markdown parser (markdown-it-py with GFM tables);
HTML by the standard library's parser and, in test_html_browser.py, by a real
browser; TSV by the csv module.
"""

from __future__ import annotations

import csv
import io
from html.parser import HTMLParser

from markdown_it import MarkdownIt

from pathprobe.formats import TableFormat
from pathprobe.model import Report
from pathprobe.render import render

TEXT_FORMATS = (TableFormat.PLAIN, TableFormat.SIMPLE, TableFormat.GRID)
SECTIONS = ("Context", "The path at a glance", "Summary", "Findings")


def check_text(report: Report, width: int) -> str:
    """Every text layout fits ``width``; every command line that fits the width stays
    whole, and a longer one is only ever broken between tokens, never inside one."""
    out = ""
    for fmt in TEXT_FORMATS:
        out = render(report, fmt, width=width)
        too_wide = [line for line in out.splitlines() if len(line) > width]
        assert not too_wide, f"{fmt} at {width}: {too_wide[:3]}"
        words = out.split()
        for rec in report.recommendations:
            for line in rec.command.split("\n"):
                if len(line.strip()) <= width:   # what fits the width stays whole
                    assert line.strip() in out, f"{fmt} at {width} split {line!r}"
                for token in line.split():
                    assert token in words, f"{fmt} at {width} broke the token {token!r}"
    return out


def check_markdown(report: Report) -> str:
    """Valid GitHub Markdown: the section headings, and tables whose rows all have as many
    cells as their header."""
    return check_markdown_text(render(report, TableFormat.GITHUB),
                               bool(report.recommendations))


def check_markdown_text(text: str, recommendations: bool | None = None) -> str:
    """``check_markdown`` on a rendering (e.g. what the CLI printed)."""
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    headings = [tokens[i + 1].content for i, t in enumerate(tokens)
                if t.type == "heading_open" and t.tag == "h2"]
    for name in SECTIONS:
        assert name in headings, (name, headings)
    if recommendations is not None:
        assert ("Recommendations" in headings) == recommendations
    tables = 0
    cells = 0
    header = None
    for t in tokens:
        if t.type == "table_open":
            tables += 1
            header = None
        elif t.type == "tr_open":
            cells = 0
        elif t.type in ("th_open", "td_open"):
            cells += 1
        elif t.type == "tr_close":
            if header is None:
                header = cells
            assert cells == header, f"a row with {cells} cells under a {header}-cell header"
    assert tables >= 2  # context and findings at least
    # Every table row of the source became a table row (a '|' in a cell did not split it).
    rows_in_source = sum(1 for line in text.splitlines() if line.startswith("| "))
    rows_parsed = sum(1 for t in tokens if t.type == "tr_open")
    assert rows_in_source == rows_parsed
    return text


class _Html(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs.extend(attrs)
        self._in_title = tag == "title"

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data

    def handle_endtag(self, tag: str) -> None:
        self._in_title = False


def check_html(report: Report) -> str:
    """A standalone page: doctype, UTF-8, title, styles, the SVG; nothing external, no script."""
    page = check_html_text(render(report, TableFormat.HTML))
    if report.recommendations:
        assert "<pre>" in page
    return page


def check_html_text(page: str) -> str:
    """``check_html`` on a rendering."""
    assert page.startswith("<!DOCTYPE html>")
    parser = _Html()
    parser.feed(page)
    assert ("charset", "utf-8") in parser.attrs
    assert parser.title.startswith("pathprobe ")
    assert "style" in parser.tags and "svg" in parser.tags and "table" in parser.tags
    assert "script" not in parser.tags and "link" not in parser.tags
    assert "img" not in parser.tags and "iframe" not in parser.tags
    for name, value in parser.attrs:
        if name in ("src", "href") and value:
            raise AssertionError(f"external resource {name}={value!r}")
    return page


def check_tsv(report: Report) -> None:
    """One header line, one record per line, the same number of fields, no padding."""
    from pathprobe.formats import TsvTable

    for table in TsvTable:
        check_tsv_text(render(report, TableFormat.TSV, table=table))


def check_tsv_text(text: str) -> None:
    """``check_tsv`` on one rendering."""
    lines = text.split("\n")
    assert lines[-1] == "" and all(lines[:-1])
    rows = list(csv.reader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE))
    assert len(rows) == len(lines) - 1
    width = len(rows[0])
    for row in rows:
        assert len(row) == width, row
        for cell in row:
            assert cell == cell.strip(), f"padded cell {cell!r}"
    assert not any(line.startswith("#") for line in lines)


def check_width(text: str, width: int) -> None:
    too_wide = [line for line in text.splitlines() if len(line) > width]
    assert not too_wide, too_wide[:3]


def check_all(report: Report) -> None:
    for width in (60, 80, 100, 140):
        check_text(report, width)
    check_markdown(report)
    check_html(report)
    check_tsv(report)
