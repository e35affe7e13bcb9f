"""GitHub-flavoured Markdown reports: headings, escaped tables, commands as code.

Every table cell is escaped (``|`` and HTML) and kept on one source line
(line breaks become ``<br>``), so a table always has as many cells per row as
its header; commands are code spans, one per line of the command.
"""

from __future__ import annotations

import html

from pathprobe.model import Report
from pathprobe.render.content import (
    Table,
    context_rows,
    evidence_blocks,
    findings_table,
    measurements_table,
    path_text,
    recommendations_table,
)
from pathprobe.render.summary import summarize


def text_cell(text: str) -> str:
    """Plain text for a table cell: HTML-escaped, '|' escaped, line breaks as <br>."""
    escaped = html.escape(text, quote=False).replace("\\", "\\\\")
    for char in "|*_[]`":
        escaped = escaped.replace(char, "\\" + char)
    return "<br>".join(line.strip() for line in escaped.split("\n"))


def code_cell(text: str) -> str:
    """A command for a table cell: each line a code span (in a GFM table '|' still needs
    its backslash inside a code span)."""
    if text == "-":
        return "-"
    spans = []
    for line in text.split("\n"):
        line = line.strip().replace("|", "\\|")
        fence = "``" if "`" in line else "`"
        spans.append(f"{fence} {line} {fence}" if fence == "``" else f"`{line}`")
    return "<br>".join(spans)


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
    return text_cell(text).replace("<br>", "  \n")


def render_markdown(report: Report, verbose: bool = False) -> str:
    lines = [f"# pathprobe {report.command} report", "", "## Context", ""]
    lines += table_md(Table(("item", "value"), context_rows(report)))
    lines += ["", "## The path at a glance", "", "```text", *path_text(report), "```", "",
              "## Summary", "", paragraph_md(summarize(report))]
    for e in report.errors:
        lines += ["", f"- not measured: {paragraph_md(e)}"]
    lines += ["", "## Findings", ""]
    lines += table_md(findings_table(report))
    for block in evidence_blocks(report):
        lines += ["", f"### {paragraph_md(block.title)}", ""]
        lines += [f"- {paragraph_md(line)}" for line in block.lines]
        if block.filter:
            lines += ["", "Wireshark display filter:", "", "```text", block.filter, "```"]
    if report.recommendations:
        lines += ["", "## Recommendations", ""]
        lines += table_md(recommendations_table(report))
    measured = measurements_table(report, verbose)
    if measured.rows:
        lines += ["", "## Measurements", ""]
        lines += table_md(measured)
    if report.notes:
        from pathprobe.render.evidence import describe

        lines += ["", "## Notes", ""]
        lines += [f"- {paragraph_md(describe(n))}" for n in report.notes]
    return "\n".join(lines) + "\n"
