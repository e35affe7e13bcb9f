"""GitHub-flavoured Markdown reports: headings, escaped tables, commands as code.

Every table cell is escaped (``|`` and HTML) and kept on one source line
(line breaks become ``<br>``), so a table always has as many cells per row as
its header; commands are code spans, one per line of the command.
"""

from __future__ import annotations

import re

from pathprobe.model import Report
from pathprobe.render.content import (
    Table,
    connection_notes,
    context_rows,
    evidence_blocks,
    findings_table,
    measurements_table,
    path_text,
    recommendations_table,
)
from pathprobe.render.summary import summarize

# A line starting with one of these could open a block (quote, heading, list, setext
# underline, fence) when it follows a hard line break: its first character is escaped.
_BLOCK_STARTS = frozenset(">#+-=~")


def _line_start(line: str) -> str:
    if line[:1] in _BLOCK_STARTS:
        return "\\" + line
    numbered = re.match(r"(\d{1,9})([.)])", line)
    return f"{numbered.group(1)}\\{line[numbered.end(1):]}" if numbered else line


def text_cell(text: str) -> str:
    """Plain text for a table cell: '&' and '<' as entities (no raw HTML can start), the
    Markdown punctuation escaped, line breaks as <br>; '>' stays as it is ("->")."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace("\\", "\\\\")
    for char in "|*_[]`":
        escaped = escaped.replace(char, "\\" + char)
    return "<br>".join(line.strip() for line in escaped.split("\n"))


def code_span(text: str) -> str:
    """``text`` as one code span, exactly: its fence is longer than any backtick run
    inside (the content can never close it), padded with a space when the content starts
    or ends with a backtick or a space (CommonMark strips one from each side), so leading
    indentation (IOS config) is kept."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text[:1] in ("`", " ") or text[-1:] in ("`", " ") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def code_cell(text: str) -> str:
    """A command for a table cell: each line a code span that keeps its indentation (in a
    GFM table '|' still needs its backslash inside a code span); a line of only spaces
    is left out."""
    if text == "-":
        return "-"
    spans = [code_span(line.rstrip().replace("|", "\\|"))
             for line in text.split("\n") if line.strip()]
    return "<br>".join(spans) or "-"


def fence(text: str, info: str = "text") -> list[str]:
    """A fenced code block that its content cannot close (a longer fence than any
    backtick run inside)."""
    longest = max((len(run) for run in re.findall(r"`{3,}", text)), default=0)
    marker = "`" * max(3, longest + 1)
    return [f"{marker}{info}", *text.split("\n"), marker]


def table_md(table: Table) -> list[str]:
    if not table.rows:
        return ["(none)"]
    out = ["| " + " | ".join(text_cell(h) for h in table.headers) + " |",
           "|" + "|".join("---" for _ in table.headers) + "|"]
    for row in table.rows:
        cells = [code_cell(c) if i in table.code else text_cell(c) for i, c in enumerate(row)]
        out.append("| " + " | ".join(cells) + " |")
    return out


def paragraph_md(text: str) -> str:
    """Text as a paragraph (line breaks kept); no line can open a block."""
    return "  \n".join(_line_start(line) for line in text_cell(text).split("<br>"))


def render_markdown(report: Report, verbose: bool = False) -> str:
    lines = [f"# pathprobe {report.command} report", "", "## Context", ""]
    lines += table_md(Table(("item", "value"), context_rows(report)))
    lines += ["", "## The path at a glance", "", *fence("\n".join(path_text(report))), "",
              "## Summary", "", paragraph_md(summarize(report))]
    for e in report.errors:
        lines += ["", f"- not measured: {paragraph_md(e)}"]
    lines += ["", "## Findings", ""]
    lines += table_md(findings_table(report))
    for block in evidence_blocks(report):
        lines += ["", f"### {paragraph_md(block.title)}", ""]
        lines += [f"- {paragraph_md(line)}" for line in block.lines]
        if block.filter:
            lines += ["", "Wireshark display filter:", "", *fence(block.filter)]
    if report.recommendations:
        lines += ["", "## Recommendations", ""]
        lines += table_md(recommendations_table(report))
    measured = measurements_table(report, verbose)
    if measured.rows:
        lines += ["", "## Measurements", ""]
        lines += table_md(measured)
    explained = connection_notes(report)
    if explained:
        lines += ["", "## Connection notes", ""]
        lines += [f"- {paragraph_md(line)}" for line in explained]
    if report.notes:
        from pathprobe.render.evidence import describe

        lines += ["", "## Notes", ""]
        lines += [f"- {paragraph_md(describe(n))}" for n in report.notes]
    return "\n".join(lines) + "\n"
