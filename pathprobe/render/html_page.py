"""A standalone HTML page: doctype, UTF-8, title, embedded CSS, inline SVG, no scripts.

Printable and self-contained (no external resources), so it can be attached
to a ticket as it is. Findings are coloured by severity; commands are in
``<pre>`` so multi-line configuration keeps its lines.
"""

from __future__ import annotations

from html import escape

from pathprobe.model import Leg, Report
from pathprobe.render.content import (
    Segment,
    Table,
    connection_notes,
    context_rows,
    evidence_blocks,
    findings_table,
    measurements_table,
    path_segments,
    proxy_marks,
    recommendations_table,
)
from pathprobe.render.summary import summarize

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:24px;
color:#1b1f23;max-width:1180px}
h1{font-size:1.5em;margin:0 0 .5em}h2{font-size:1.2em;margin:1.4em 0 .4em;
border-bottom:1px solid #d0d7de}h3{font-size:1em;margin:1em 0 .3em;overflow-wrap:anywhere}
.scroll{overflow-x:auto;max-width:100%;-webkit-overflow-scrolling:touch}
table{border-collapse:collapse;margin:.4em 0;width:100%;table-layout:auto}
th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top;
overflow-wrap:break-word}
th{background:#f6f8fa}pre{margin:0;white-space:pre-wrap;overflow-wrap:normal;font-size:.9em;
font-family:ui-monospace,Menlo,Consolas,monospace}
td pre{white-space:pre}
li{overflow-wrap:anywhere}
.sev-critical{background:#ffebe9}.sev-warning{background:#fff8c5}.sev-info{background:#ddf4ff}
.badge{font-weight:600;padding:1px 6px;border-radius:8px}
.badge.critical{background:#cf222e;color:#fff}.badge.warning{background:#bf8700;color:#fff}
.badge.info{background:#0969da;color:#fff}
.summary{font-size:1.05em;font-weight:600;padding:8px;border-left:4px solid #57606a;
background:#f6f8fa;overflow-wrap:anywhere}
svg{max-width:100%;height:auto}
.path-narrow{display:none}
@media screen and (max-width:700px){body{margin:10px}th,td{padding:3px 5px}}
@media screen and (max-width:900px){.path-wide{display:none}
.path-narrow{display:block;width:100%;max-width:420px}}
@media print{body{margin:0;max-width:none}.summary{border-left-color:#000}
.scroll{overflow:visible}tr,li,pre,svg,h3{break-inside:avoid;page-break-inside:avoid}
h2,h3{break-after:avoid;page-break-after:avoid}thead{display:table-header-group}
td pre{font-size:.85em;white-space:pre-wrap}th,td{padding:3px 5px}
.cards table,.cards tbody,.cards tr,.cards td{display:block;width:auto}.cards thead{display:none}
.cards tr{border:1px solid #8c959f;margin:0 0 6px;padding:2px 0}.cards td{border:0;padding:1px 6px}
.cards td::before{content:attr(data-label) ":";font-weight:600;display:inline-block;
min-width:6.5em;vertical-align:top}.cards td pre{display:inline-block;max-width:calc(100% - 7em);
vertical-align:top}}
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
            cells.append(f'<td data-label="{escape(table.headers[i])}">{text}</td>')
        cls = f' class="{classes[n]}"' if classes and classes[n] else ""
        body.append(f"<tr{cls}>{''.join(cells)}</tr>")
    # The box scrolls sideways on a narrow screen, the page does not; a table of commands
    # prints as one card per row (full-width commands, a row never split across pages).
    box = "scroll cards" if table.code else "scroll"
    return (f'<div class="{box}"><table><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table></div>")


def _label(x: int, y: int, text: str, colour: str, weight: str = "normal",
           anchor: str = "middle", limit: int = 44) -> str:
    if len(text) > limit:
        text = text[:limit - 1] + "…"
    return (f'<text x="{x}" y="{y}" text-anchor="{anchor}" font-size="12" '
            f'font-weight="{weight}" fill="{colour}">{escape(text)}</text>')


LEG_TITLE = {Leg.FMC_PROXY: "leg 1: fmc-proxy", Leg.PROXY_UPSTREAM: "leg 2: proxy-upstream",
             Leg.FMC_UPSTREAM: "fmc-upstream"}
ORDER = ["fault", "warning", "info", "not measured", "ok"]


def _legs(report: Report) -> tuple[list[str], list[tuple[Leg, str, list[Segment]]]]:
    """The boxes, and per leg its worst state and its segments (from the findings)."""
    segs = path_segments(report)
    direct = bool(segs) and segs[0].leg is Leg.FMC_UPSTREAM
    nodes = ["FMC", "upstream"] if direct else ["FMC", "proxy", "upstream"]
    legs = [Leg.FMC_UPSTREAM] if direct else [Leg.FMC_PROXY, Leg.PROXY_UPSTREAM]
    out = []
    for leg in legs:
        mine = [s for s in segs if s.leg is leg]
        out.append((leg, min((s.state for s in mine), key=ORDER.index,
                             default="not measured"), mine))
    return nodes, out


def _direction_labels(mine: list[Segment], x: int, ys: tuple[int, int], anchor: str,
                      limit: int) -> list[str]:
    parts = []
    for seg, top in ((next((s for s in mine if s.direction.value == "up"), None), ys[0]),
                     (next((s for s in mine if s.direction.value == "down"), None), ys[1])):
        if seg is None:
            continue
        code, _, what = seg.text.partition(": ")
        arrow = "\u2192 up" if seg.direction.value == "up" else "\u2190 down"
        parts.append(_label(x, top, f"{arrow}: {code}", COLOURS[seg.state], "600", anchor,
                            limit))
        if what:
            parts.append(_label(x, top + 16, what, COLOURS[seg.state], "normal", anchor,
                                limit))
    return parts


def _box(x: int, y: int, w: int, h: int, name: str, state: str | None = None) -> str:
    fill, stroke, line = ("#f6f8fa", "#57606a", 1.5) if state is None else (
        "#ffebe9" if state == "fault" else "#fff8c5", COLOURS[state], 3)
    return (f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="8" fill="{fill}" '
            f'stroke="{stroke}" stroke-width="{line}"/><text x="{x + w // 2}" y="{y + h // 2 + 5}" '
            f'text-anchor="middle" font-size="15" font-weight="600">{escape(name)}</text>')


def _line(x1: int, y1: int, x2: int, y2: int, state: str) -> str:
    dash = ' stroke-dasharray="6 4"' if state == "not measured" else ""
    return (f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="{COLOURS[state]}" '
            f'stroke-width="{6 if state == "fault" else 3}"{dash}/>')


def _svg(kind: str, width: int, height: int, parts: list[str]) -> str:
    return (f'<svg class="path-{kind}" xmlns="http://www.w3.org/2000/svg" '
            f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
            'aria-label="path diagram"><title>The path at a glance</title>'
            + "".join(parts) + "</svg>")


def path_svg(report: Report) -> str:
    """FMC -> proxy -> upstream as boxes and lines; each line coloured by its worst state,
    the up direction written above it and the down direction below. A wide drawing for
    screens and print, and a tall one that phones show instead (its text stays ~12 px)."""
    nodes, legs = _legs(report)
    marks = proxy_marks(report) if "proxy" in nodes else ()
    # the proxy's own findings (a refusal ...) are drawn on the proxy, not on a leg
    mark_state = marks[0].state if marks else None
    mark = (f"\u2716 {marks[0].text}" + (f" (+{len(marks) - 1} more)" if len(marks) > 1
                                          else "")) if marks else ""
    width, height, box_w, box_h = 1000, 190, 110, 44
    gap = (width - box_w * len(nodes)) // (len(nodes) - 1)
    xs = [i * (box_w + gap) for i in range(len(nodes))]
    y = 92
    wide: list[str] = []
    for i, (leg, worst, mine) in enumerate(legs):
        x1, x2 = xs[i] + box_w, xs[i + 1]
        wide.append(_line(x1 + 4, y, x2 - 4, y, worst))
        mid = (x1 + x2) // 2
        wide.append(_label(mid, 18, LEG_TITLE[leg] + (" \u2716 fault" if worst == "fault"
                                                      else ""), "#1b1f23", "600"))
        wide += _direction_labels(mine, mid, (42, 122), "middle", 44)
    wide += [_box(x, y - box_h // 2, box_w, box_h, name, mark_state if name == "proxy"
                  else None) for x, name in zip(xs, nodes)]
    if marks:
        wide.append(_label(xs[1] + box_w // 2, 174, mark, COLOURS[marks[0].state], "600"))
    # tall: boxes stacked, each leg a vertical line with its labels beside it
    t_width, t_box_w, leg_h = 360, 120, 120
    tall: list[str] = []
    ys = [i * (box_h + leg_h) for i in range(len(nodes))]
    for i, (leg, worst, mine) in enumerate(legs):
        top, bottom = ys[i] + box_h, ys[i + 1]
        tall.append(_line(t_box_w // 2, top + 4, t_box_w // 2, bottom - 4, worst))
        tall.append(_label(t_box_w // 2 + 16, top + 20, LEG_TITLE[leg] + (
            " \u2716 fault" if worst == "fault" else ""), "#1b1f23", "600", "start", 38))
        tall += _direction_labels(mine, t_box_w // 2 + 16, (top + 44, top + 84), "start", 38)
    tall += [_box(0, y0, t_box_w, box_h, name, mark_state if name == "proxy" else None)
             for y0, name in zip(ys, nodes)]
    if marks:
        tall.append(_label(t_box_w + 12, ys[1] + box_h // 2 + 5, mark,
                           COLOURS[marks[0].state], "600", "start", 30))
    return (_svg("wide", width, height, wide)
            + _svg("narrow", t_width, ys[-1] + box_h + 2, tall))


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
    explained = connection_notes(report)
    if explained:
        body += ["<h2>Connection notes</h2>",
                 "<ul>" + "".join(f"<li>{escape(line)}</li>" for line in explained) + "</ul>"]
    if report.notes:
        from pathprobe.render.evidence import describe

        body += ["<h2>Notes</h2>",
                 "<ul>" + "".join(f"<li>{escape(describe(n))}</li>" for n in report.notes)
                 + "</ul>"]
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
            + "\n".join(b for b in body if b) + "\n</body>\n</html>\n")
