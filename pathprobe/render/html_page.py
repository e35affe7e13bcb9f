"""A standalone HTML page: doctype, UTF-8, title, embedded CSS, inline SVG, no scripts.

Printable and self-contained (no external resources), so it can be attached
to a ticket as it is. Findings are coloured by severity; commands are in
``<pre>`` so multi-line configuration keeps its lines.
"""

from __future__ import annotations

from html import escape

from pathprobe.model import Leg, Report
from pathprobe.render.content import (
    Table,
    context_rows,
    evidence_blocks,
    findings_table,
    measurements_table,
    path_segments,
    recommendations_table,
)
from pathprobe.render.summary import summarize

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:24px;
color:#1b1f23;max-width:1180px}
h1{font-size:1.5em;margin:0 0 .5em}h2{font-size:1.2em;margin:1.4em 0 .4em;
border-bottom:1px solid #d0d7de}h3{font-size:1em;margin:1em 0 .3em}
table{border-collapse:collapse;margin:.4em 0;width:100%;table-layout:auto}
th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top;
overflow-wrap:break-word}
th{background:#f6f8fa}pre{margin:0;white-space:pre-wrap;overflow-wrap:normal;font-size:.9em;
font-family:ui-monospace,Menlo,Consolas,monospace}
.sev-critical{background:#ffebe9}.sev-warning{background:#fff8c5}.sev-info{background:#ddf4ff}
.badge{font-weight:600;padding:1px 6px;border-radius:8px}
.badge.critical{background:#cf222e;color:#fff}.badge.warning{background:#bf8700;color:#fff}
.badge.info{background:#0969da;color:#fff}
.summary{font-size:1.05em;font-weight:600;padding:8px;border-left:4px solid #57606a;
background:#f6f8fa}
svg{max-width:100%;height:auto}
@media print{body{margin:0}.summary{border-left-color:#000}}
"""

COLOURS = {"fault": "#cf222e", "warning": "#bf8700", "info": "#0969da", "ok": "#1a7f37",
           "not measured": "#8c959f"}


def table_html(table: Table, classes: list[str] | None = None) -> str:
    if not table.rows:
        return "<p>(none)</p>"
    head = "".join(f"<th>{escape(h)}</th>" for h in table.headers)
    body = []
    for n, row in enumerate(table.rows):
        cells = []
        for i, cell in enumerate(row):
            text = f"<pre>{escape(cell)}</pre>" if i in table.code else escape(cell).replace(
                "\n", "<br>")
            cells.append(f"<td>{text}</td>")
        cls = f' class="{classes[n]}"' if classes and classes[n] else ""
        body.append(f"<tr{cls}>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _label(x: int, y: int, text: str, colour: str, weight: str = "normal") -> str:
    if len(text) > 44:
        text = text[:43] + "…"
    return (f'<text x="{x}" y="{y}" text-anchor="middle" font-size="12" '
            f'font-weight="{weight}" fill="{colour}">{escape(text)}</text>')


def path_svg(report: Report) -> str:
    """FMC -> proxy -> upstream as boxes and lines; each line coloured by its worst state,
    the up direction written above it and the down direction below."""
    segs = path_segments(report)
    direct = bool(segs) and segs[0].leg is Leg.FMC_UPSTREAM
    nodes = ["FMC", "upstream"] if direct else ["FMC", "proxy", "upstream"]
    legs = [Leg.FMC_UPSTREAM] if direct else [Leg.FMC_PROXY, Leg.PROXY_UPSTREAM]
    width, height, box_w, box_h = 1000, 180, 110, 44
    gap = (width - box_w * len(nodes)) // (len(nodes) - 1)
    xs = [i * (box_w + gap) for i in range(len(nodes))]
    y = 92
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" role="img" aria-label="path diagram">',
             "<title>The path at a glance</title>"]
    order = ["fault", "warning", "info", "not measured", "ok"]
    for i, leg in enumerate(legs):
        mine = [s for s in segs if s.leg is leg]
        worst = min((s.state for s in mine), key=order.index, default="not measured")
        x1, x2 = xs[i] + box_w, xs[i + 1]
        colour = COLOURS[worst]
        dash = ' stroke-dasharray="6 4"' if worst == "not measured" else ""
        parts.append(f'<line x1="{x1 + 4}" y1="{y}" x2="{x2 - 4}" y2="{y}" stroke="{colour}" '
                     f'stroke-width="{6 if worst == "fault" else 3}"{dash}/>')
        mid = (x1 + x2) // 2
        name = {Leg.FMC_PROXY: "leg 1: fmc-proxy", Leg.PROXY_UPSTREAM: "leg 2: proxy-upstream",
                Leg.FMC_UPSTREAM: "fmc-upstream"}[leg]
        parts.append(_label(mid, 18, name + (" \u2716 fault" if worst == "fault" else ""),
                            "#1b1f23", "600"))
        for seg, top in ((next((s for s in mine if s.direction.value == "up"), None), 42),
                         (next((s for s in mine if s.direction.value == "down"), None), 122)):
            if seg is None:
                continue
            code, _, limit = seg.text.partition(": ")
            arrow = "\u2192 up" if seg.direction.value == "up" else "\u2190 down"
            parts.append(_label(mid, top, f"{arrow}: {code}", COLOURS[seg.state], "600"))
            if limit:
                parts.append(_label(mid, top + 16, limit, COLOURS[seg.state]))
    for x, name in zip(xs, nodes):
        parts.append(f'<rect x="{x}" y="{y - box_h // 2}" width="{box_w}" height="{box_h}" '
                     'rx="8" fill="#f6f8fa" stroke="#57606a" stroke-width="1.5"/>')
        parts.append(f'<text x="{x + box_w // 2}" y="{y + 5}" text-anchor="middle" '
                     f'font-size="15" font-weight="600">{escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def render_html(report: Report, verbose: bool = False) -> str:
    title = f"pathprobe {report.command} report"
    ctx = table_html(Table(("item", "value"), context_rows(report)))
    findings = findings_table(report)
    classes = [f"sev-{v.severity.value}" if v.severity else "" for v in report.verdicts]
    evidence = []
    for block in evidence_blocks(report):
        sev = block.severity.value if block.severity else "info"
        items = "".join(f"<li>{escape(line)}</li>" for line in block.lines)
        filt = (f"<p>Wireshark display filter:</p><pre>{escape(block.filter)}</pre>"
                if block.filter else "")
        evidence.append(f'<h3><span class="badge {sev}">{escape(sev)}</span> '
                        f"{escape(block.title)}</h3><ul>{items}</ul>{filt}")
    errors = "".join(f"<li>not measured: {escape(e)}</li>" for e in report.errors)
    body = [f"<h1>{escape(title)}</h1>", "<h2>Context</h2>", ctx,
            "<h2>The path at a glance</h2>", path_svg(report),
            "<h2>Summary</h2>", f'<p class="summary">{escape(summarize(report))}</p>',
            f"<ul>{errors}</ul>" if errors else "",
            "<h2>Findings</h2>", table_html(findings, classes), *evidence]
    if report.recommendations:
        body += ["<h2>Recommendations</h2>", table_html(recommendations_table(report))]
    measured = measurements_table(report, verbose)
    if measured.rows:
        body += ["<h2>Measurements</h2>", table_html(measured)]
    if report.notes:
        from pathprobe.render.evidence import describe

        body += ["<h2>Notes</h2>",
                 "<ul>" + "".join(f"<li>{escape(describe(n))}</li>" for n in report.notes)
                 + "</ul>"]
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
            + "\n".join(b for b in body if b) + "\n</body>\n</html>\n")
