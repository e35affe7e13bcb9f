"""TSV: one table, one header line, one record per line, no padding, no comments.

Written with the csv module (tab delimiter, no quoting): a tab, line break or
backslash inside a cell is written as ``\\t``, ``\\n`` or ``\\\\``, so every
record stays on one line and splits on tabs exactly.
"""

from __future__ import annotations

import csv
import io

from pathprobe.formats import TsvTable
from pathprobe.model import Report
from pathprobe.render.content import (
    Table,
    findings_table,
    measurements_table,
    recommendations_table,
)


def escape_cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\r", "\\r").replace(
        "\n", "\\n")


def _findings_with_evidence(report: Report) -> Table:
    from pathprobe.render.evidence import describe

    base = findings_table(report)
    rows = tuple((*row, v.confidence.value, "\n".join(describe(e) for e in v.evidence))
                 for row, v in zip(base.rows, report.verdicts))
    return Table((*base.headers, "confidence", "evidence"), rows)


def render_tsv(report: Report, table: TsvTable = TsvTable.FINDINGS,
               verbose: bool = False) -> str:
    chosen = {TsvTable.FINDINGS: lambda: _findings_with_evidence(report),
              TsvTable.RECOMMENDATIONS: lambda: recommendations_table(report),
              TsvTable.MEASUREMENTS: lambda: measurements_table(report, verbose)}[table]()
    return tsv_text(chosen)


def tsv_text(table: Table) -> str:
    """One table as TSV records: a header line, then one escaped line per row."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter="\t", quoting=csv.QUOTE_NONE, escapechar=None,
                        lineterminator="\n", quotechar=None)
    # "#" would read as a comment line to many TSV tools
    writer.writerow([escape_cell("number" if h == "#" else h) for h in table.headers])
    for row in table.rows:
        writer.writerow([escape_cell(c) for c in row])
    return out.getvalue()
