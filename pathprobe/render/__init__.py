"""The only place a Report becomes text: text tables that fit a width, Markdown, a
standalone HTML page, TSV, or the JSON object of design.md. Pure: returns strings.

Every format lays out the same content (``render.content``): context, the path
at a glance, summary, findings with their evidence, recommendations (with how
to undo them), measurements."""

from __future__ import annotations

from pathprobe.formats import (
    DEFAULT_WIDTH,
    MARKDOWN_FORMATS,
    TableFormat,
    TsvTable,
)
from pathprobe.model import (
    SCHEMA,
    Context,
    Evidence,
    LegReport,
    Recommendation,
    Report,
    Verdict,
)
from pathprobe.render.evidence import describe
from pathprobe.render.html_page import render_html
from pathprobe.render.markdown import render_markdown
from pathprobe.render.summary import summarize
from pathprobe.render.text import render_text
from pathprobe.render.tsv import render_tsv
from pathprobe.sanitize import scrub
from pathprobe.wire import strict_json


def render(report: Report, fmt: TableFormat = TableFormat.SIMPLE, as_json: bool = False, *,
           width: int = DEFAULT_WIDTH, table: TsvTable = TsvTable.FINDINGS,
           verbose: bool = False, terminal: bool = False, colour: bool = False) -> str:
    """The report in one format: JSON, Markdown, HTML, TSV or a text table layout (for a
    ``terminal``: the summary last as well, and with ``colour`` the severities coloured).

    Every string in it is cleaned first (``sanitize.scrub``): whatever a proxy, a capture
    or a file put in a field, no format carries its escape sequences or control
    characters."""
    report = scrub(report)
    if as_json:
        return render_json(report)
    if fmt in MARKDOWN_FORMATS:
        return render_markdown(report, verbose)
    if fmt is TableFormat.HTML:
        return render_html(report, verbose)
    if fmt is TableFormat.TSV:
        return render_tsv(report, table, verbose)
    return render_text(report, fmt.value, width, verbose, colour=colour,
                       summary_last=terminal)


def fact_json(ev: Evidence) -> dict[str, object]:
    """An evidence item as typed data (JSON ``facts[]``)."""
    out: dict[str, object] = {"fact": ev.fact.value, "step": ev.step.value,
                              "values": dict(ev.values)}
    if ev.frames:
        out["frames"] = list(ev.frames)
    return out


def verdict_json(v: Verdict) -> dict[str, object]:
    out: dict[str, object] = {
        "code": v.code.value,
        "leg": v.leg.value,
        "direction": v.direction.value if v.direction else None,
        "severity": v.severity.value if v.severity else None,
    }
    if v.limit is not None:
        out.update(v.limit.fields())
        out["limit_exact"] = v.limit.exact
    out.update(v.numbers)
    out["evidence"] = [describe(e) for e in v.evidence]
    out["facts"] = [fact_json(e) for e in v.evidence]
    out["confidence"] = v.confidence.value
    if v.basis is not None:
        out["basis"] = v.basis.value
    return out


def leg_json(leg: LegReport) -> dict[str, object]:
    """A leg and direction (``legs[]``), or one step's row of it (``steps[]``, with
    ``step``)."""
    out: dict[str, object] = {"name": leg.name.value, "target": leg.target}
    if leg.direction is not None:
        out["direction"] = leg.direction.value
    out.update(leg.measurements)
    if leg.notes:
        out["notes"] = [describe(n) for n in leg.notes]
    if leg.not_measured:
        out["not_measured"] = list(leg.not_measured)
    return out


def step_json(row: LegReport) -> dict[str, object]:
    return {"step": row.step.value if row.step else None, **leg_json(row)}


def recommendation_json(r: Recommendation) -> dict[str, object]:
    return {"where": r.where, "platform": r.platform, "command": r.command,
            "rollback": r.rollback, "why": r.why}


def context_json(c: Context) -> dict[str, object]:
    return {"tool": c.tool, "version": c.version, "host": c.host, "argv": list(c.argv),
            "proxy": c.proxy, "proxy_source": c.proxy_source, "target": c.target}


def report_json(report: Report) -> dict[str, object]:
    out: dict[str, object] = {
        "schema": SCHEMA,
        "command": report.command,
        "started": report.started,
        "duration_s": round(report.duration_s, 3),
        "context": context_json(report.context),
        "summary": summarize(report),
        "partial": report.partial,
        "legs": [leg_json(leg) for leg in report.legs],
        "verdicts": [verdict_json(v) for v in report.verdicts],
        "recommendations": [recommendation_json(r) for r in report.recommendations],
    }
    if report.steps:
        out["steps"] = [step_json(row) for row in report.steps]
    if report.errors:
        out["errors"] = list(report.errors)
    if report.notes:
        out["notes"] = [describe(n) for n in report.notes]
    return out


def render_json(report: Report) -> str:
    """The one JSON object written to stdout with --json."""
    return strict_json.dumps(report_json(report), indent=2, sort_keys=False) + "\n"


