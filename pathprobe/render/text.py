"""Text reports (tabulate's plain, simple, grid) that fit a given width.

Cells are wrapped here, at spaces only, before tabulate lays them out: a
command is never broken inside a token, and its column is at least as wide
as its longest line when the width allows it at all.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence

from wcwidth import wcswidth

from pathprobe.model import Report, VerdictCode
from pathprobe.render.content import (
    Table,
    connection_notes,
    context_rows,
    evidence_blocks,
    findings_table,
    measurements_table,
    path_lines,
    recommendations_table,
)
from pathprobe.render.summary import summarize

MIN_COLUMN = 6
READABLE_COLUMN = 20   # narrower, a sentence beside a whole command reads a word a line
SHORT_VALUE = 16   # a cell line this short is not wrapped while the headers can be


def _width(text: str) -> int:
    return max((_line_width(line) for line in text.split("\n")), default=0)


def _plain(text: str) -> bool:
    """Printable ASCII on every line: its width is its length (wcwidth walks each
    character in Python; a 200-row table is 60k of them)."""
    return text.isascii() and text.replace("\n", "").isprintable()


def _line_width(line: str) -> int:
    """Terminal columns of one line."""
    return len(line) if _plain(line) else max(wcswidth(line), 0)


def _fits_as_is(line: str) -> bool:
    """A line textwrap leaves alone when it fits: plain (no tab to expand), not blank,
    no trailing space to drop."""
    return _plain(line) and line.strip() != "" and not line.endswith(" ")


def _wrap(text: str, width: int) -> str:
    """Wrap at spaces only (long tokens stay whole), keeping explicit line breaks."""
    out: list[str] = []
    for line in text.split("\n"):
        if len(line) <= width and _fits_as_is(line):   # what textwrap would return
            out.append(line)
            continue
        indent = line[: len(line) - len(line.lstrip(" "))]
        pieces = textwrap.wrap(line, width=max(width, 1), break_long_words=False,
                               break_on_hyphens=False, subsequent_indent=indent,
                               drop_whitespace=True)
        out.extend(pieces or [""])
    return "\n".join(out)


def _overhead(fmt: str, ncols: int) -> int:
    """Characters a table adds to its cells' widths: separators ("  "; grid: "| ", " | ",
    " |"). tabulate's own padding of 2 per column (MIN_PADDING) is turned off: at 80
    columns a six-column table would give 12 characters to blanks."""
    if fmt == "grid":
        return 3 * ncols + 1
    return 2 * (ncols - 1)


def column_widths(table: Table, width: int, fmt: str) -> list[int]:
    """Widths that fit ``width`` where possible: short columns keep their natural width,
    command columns keep their longest line, short values ("1460 -> 1360") stay on one
    line while their headers wrap, the rest share what is left."""
    ncols = len(table.headers)
    natural = [max([_width(h) for h in table.headers[i].split()] + [_width(table.headers[i])]
                   + [_width(r[i]) for r in table.rows]) for i in range(ncols)]
    longest_token = [max([_width(tok) for r in table.rows for tok in r[i].split()]
                         + [_width(tok) for tok in table.headers[i].split()] + [1])
                     for i in range(ncols)]
    floor = [natural[i] if i in table.code else max(min(natural[i], MIN_COLUMN),
                                                     longest_token[i]) for i in range(ncols)]
    avail = width - _overhead(fmt, ncols)
    if sum(natural) <= avail:
        return natural
    widths = list(floor)
    whole = [max([floor[i]] + [w for r in table.rows
                               for w in map(_line_width, r[i].split("\n")) if w <= SHORT_VALUE])
             for i in range(ncols)]
    for i in sorted(range(ncols), key=lambda i: whole[i] - floor[i]):   # cheapest first
        if sum(widths) + whole[i] - widths[i] <= avail:
            widths[i] = whole[i]
    spare = avail - sum(widths)
    if spare <= 0:
        return widths
    wants = [natural[i] - widths[i] for i in range(ncols)]
    total = sum(wants)
    for i in range(ncols):
        if total:
            widths[i] += min(wants[i], spare * wants[i] // total)
    return widths


def _readable_beside_code(table: Table, width: int, fmt: str) -> bool:
    """Whole commands leave the other columns readable: none is cut narrower than
    READABLE_COLUMN (or its longest line), which would set it a word a line."""
    widths = column_widths(table, width, fmt)
    for i in range(len(table.headers)):
        longest = max(_width(row[i]) for row in table.rows)
        if i not in table.code and widths[i] < min(longest, READABLE_COLUMN):
            return False
    return True


def table_text(table: Table, fmt: str, width: int, fallback: bool = True) -> str:
    """The table laid out to fit ``width``; when even that cannot fit (a very narrow
    width), one record per block, "header: value" per line."""
    if not table.rows:
        return "(none)"
    widths = column_widths(table, width, fmt)
    headers = [_wrap(h, widths[i]) for i, h in enumerate(table.headers)]
    rows = [[_wrap(cell, widths[i]) for i, cell in enumerate(row)] for row in table.rows]
    # imported here: 25 ms (wcwidth, importlib.metadata) that JSON output never needs
    import tabulate
    # tabulate measures every cell with wcwidth when it is installed; a table of plain
    # ASCII (the usual one) is measured by length, as fast and the same.
    wide, padding = tabulate.WIDE_CHARS_MODE, tabulate.MIN_PADDING
    plain = all(_plain(h) for h in headers) and all(_plain(c) for row in rows for c in row)
    tabulate.WIDE_CHARS_MODE = wide and not plain
    tabulate.MIN_PADDING = 0
    try:
        text = str(tabulate.tabulate(rows, headers, tablefmt=fmt, disable_numparse=True))
    finally:
        tabulate.WIDE_CHARS_MODE, tabulate.MIN_PADDING = wide, padding
    if _width(text) <= width or not fallback:
        return text
    return records_text(table, width)


def records_text(table: Table, width: int) -> str:
    label = max(_width(h) for h in table.headers)
    out: list[str] = []
    for row in table.rows:
        if out:
            out.append("")
        for i, (header, cell) in enumerate(zip(table.headers, row)):
            lead = f"{header:<{label}}  "
            for n, line in enumerate(cell.split("\n")):
                out += indent_wrap(line, width, lead if n == 0 else " " * len(lead),
                                   " " * len(lead), whole_tokens=i in table.code)
    return "\n".join(out)


def command_lines(command: str, width: int) -> list[str]:
    """A command below its recommendation: after "do:" when it fits, else on lines of its
    own, indented under "do:" (less only where that keeps a line whole); only a line
    longer than the whole width is broken, between tokens, its rest indented further."""
    lines = command.split("\n")
    if all(9 + _width(line) <= width for line in lines):
        return [("   do:   " if n == 0 else " " * 9) + line for n, line in enumerate(lines)]
    out = ["   do:"]
    for line in lines:
        if _width(line) <= width:
            indent = min(5, width - _width(line))
            out.append(" " * indent + line)
        else:
            out += indent_wrap(line, width, " " * 5, " " * 7, whole_tokens=True)
    return out


def _without_command(table: Table) -> Table:
    keep = [i for i, h in enumerate(table.headers) if h != "command"]
    return Table(tuple(table.headers[i] for i in keep),
                 tuple(tuple(row[i] for i in keep) for row in table.rows))


def _block(title: str, body: Sequence[str]) -> list[str]:
    return [title, *body, ""]


def indent_wrap(text: str, width: int, first: str, rest: str, *,
                whole_tokens: bool = False) -> list[str]:
    """``text`` wrapped at spaces to ``width``; a token longer than a whole line is cut
    (prose only: with ``whole_tokens``, e.g. commands, it stays whole and overflows)."""
    return textwrap.wrap(text, width=max(width, 20), initial_indent=first,
                         subsequent_indent=rest, break_long_words=not whole_tokens,
                         break_on_hyphens=False) or [first.rstrip()]


# ANSI SGR colours for a terminal (a state of the path, or a severity)
SGR = {"fault": "31;1", "critical": "31;1", "warning": "33;1", "info": "36", "ok": "32",
       "not measured": "2"}
SEVERITY_WORD = re.compile(r"(?<![\w-])(critical|warning|info)(?![\w-])")


def paint(text: str, state: str | None) -> str:
    """``text`` in the colour of ``state`` (its visible width unchanged)."""
    code = SGR.get(state or "")
    return f"\x1b[{code}m{text}\x1b[0m" if code and text else text


def _paint_severities(table: str) -> str:
    return SEVERITY_WORD.sub(lambda m: paint(m.group(1), m.group(1)), table)


def render_text(report: Report, fmt: str, width: int, verbose: bool = False,
                colour: bool = False, summary_last: bool = False) -> str:
    """Context, path, summary, findings with evidence, recommendations, measurements;
    for a terminal, with ``colour`` the path and the severities coloured, and with
    ``summary_last`` the summary repeated at the end, where the eye is when a run ends."""
    lit = paint if colour else (lambda text, _state: text)
    title = f"pathprobe {report.command} report"
    lines = [title, "=" * len(title), ""]
    label_w = max(len(k) for k, _ in context_rows(report))
    ctx = []
    for key, value in context_rows(report):
        ctx += indent_wrap(value, width, f"  {key:<{label_w}}  ", " " * (label_w + 4))
    lines += _block("Context", ctx)
    path: list[str] = []
    for state, line in path_lines(report):
        path += [lit(piece, state) for piece in indent_wrap(line, width, "  ", "      ")]
    lines += _block("Path", path)
    worst = report.verdicts[0].severity.value if report.verdicts and \
        report.verdicts[0].severity and report.verdicts[0].code is not VerdictCode.HEALTHY \
        else "ok"
    summary = [lit(piece, worst) for piece in indent_wrap(summarize(report), width, "  ",
                                                           "  ")]
    for error in report.errors:
        summary += indent_wrap(error, width, "  not measured: ", "    ")
    lines += _block("Summary", summary)
    table = table_text(findings_table(report), fmt, width)
    findings = [_paint_severities(table) if colour else table]
    for block in evidence_blocks(report):
        findings.append("")
        severity = block.severity.value if block.severity else None
        findings += [lit(piece, severity) for piece in indent_wrap(block.title, width, "",
                                                                    "   ")]
        for line in block.lines:
            findings += indent_wrap(line, width, "   - ", "     ")
        if block.filter:
            findings += indent_wrap(block.filter, width, "   Wireshark filter: ",
                                     "     ", whole_tokens=True)
    lines += _block("Findings", findings)
    if report.recommendations:
        inline = recommendations_table(report, details=False)
        table = table_text(inline, fmt, width, fallback=False)
        commands_inline = _width(table) <= width and _readable_beside_code(inline, width, fmt)
        if not commands_inline:  # too narrow for whole commands: they go below, one a line
            table = table_text(_without_command(inline), fmt, width)
        recs = [table]
        for i, r in enumerate(report.recommendations, 1):
            recs.append("")
            recs += indent_wrap(f"{i}. {r.where} ({r.platform})", width, "", "   ")
            if not commands_inline:
                recs += command_lines(r.command, width)
            for n, line in enumerate((r.rollback or "-").split("\n")):
                recs += indent_wrap(line, width, "   undo: " if n == 0 else " " * 9,
                                     " " * 11, whole_tokens=True)
            recs += indent_wrap(r.why, width, "   why:  ", "         ")
        lines += _block("Recommendations", recs)
    measured = measurements_table(report, verbose)
    if measured.rows:
        lines += _block("Measurements", [table_text(measured, fmt, width)])
    explained = connection_notes(report)
    if explained:
        lines += _block("Connection notes", [wrapped for line in explained
                                             for wrapped in indent_wrap(line, width, "  - ",
                                                                        "    ")])
    if report.notes:
        from pathprobe.render.evidence import describe

        notes: list[str] = []
        for note in report.notes:
            notes += indent_wrap(describe(note), width, "  - ", "    ")
        lines += _block("Notes", notes)
    if summary_last:  # the verdict does not scroll away: the summary once more, last
        lines += _block("Summary", summary)
    return "\n".join(lines).rstrip("\n") + "\n"
