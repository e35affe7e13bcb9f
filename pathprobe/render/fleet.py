"""The fleet report of ``pathprobe merge`` in every format: text tables that fit a width,
Markdown, a standalone HTML page, TSV, and JSON.

Same layout in each: a summary line, one row per host (its own summary), one
row per host x finding, then the recommendations with the hosts that need
them. Cells come from ``fleet_tables`` once, so the formats never disagree;
the table helpers of the one-report renderers lay them out.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from pathprobe.fleet import FLEET_SCHEMA, Fleet, HostReport, HostState
from pathprobe.formats import DEFAULT_WIDTH, MARKDOWN_FORMATS, FleetTable, TableFormat
from pathprobe.model import ExitStatus, Severity
from pathprobe.render import recommendation_json
from pathprobe.render.content import Table, limit_text
from pathprobe.render.html_page import CSS, table_html
from pathprobe.render.markdown import paragraph_md, table_md
from pathprobe.render.text import command_lines, indent_wrap, table_text
from pathprobe.render.tsv import tsv_text
from pathprobe.sanitize import scrub
from pathprobe.wire import strict_json

TITLE = "pathprobe fleet report"
# Seven columns of recommendations: at a narrow window a long token may wrap inside (the
# text copied from the page is unchanged).
FLEET_CSS = CSS


def outcome(host: HostReport, fail_on: Severity) -> str:
    """One word for how a host came out (what the hosts table shows)."""
    if host.state is HostState.UNREADABLE:
        return "unreadable"
    if host.state is HostState.INVALID_JSON:
        return "not JSON"
    if host.state is HostState.NOT_A_REPORT:
        return "not a report"
    return {ExitStatus.HEALTHY: "ok", ExitStatus.PROBLEM: "findings",
            ExitStatus.NOT_MEASURED: "not measured"}[host.exit_status(fail_on)]


def fleet_summary(fleet: Fleet, fail_on: Severity) -> str:
    """e.g. '3 hosts: 1 ok, 1 with findings (warning or worse), 1 not measured'."""
    if not fleet.hosts:
        return "no reports given"
    counts: dict[str, int] = {}
    for host in fleet.hosts:
        word = outcome(host, fail_on)
        counts[word] = counts.get(word, 0) + 1
    order = ("ok", "findings", "not measured", "not a report", "not JSON", "unreadable")
    parts = []
    for word in order:
        if word in counts:
            text = f"with findings ({fail_on.value} or worse)" if word == "findings" else word
            parts.append(f"{counts[word]} {text}")
    n = len(fleet.hosts)
    return f"{n} host{'s' if n != 1 else ''}: " + ", ".join(parts)


@dataclass(frozen=True)
class FleetTables:
    hosts: Table
    findings: Table
    findings_severity: tuple[str, ...]      # per findings row: the severity (HTML colour)
    recommendations: Table


def fleet_tables(fleet: Fleet, fail_on: Severity, details: bool = True) -> FleetTables:
    """The three tables every format lays out."""
    def summary(h: HostReport) -> str:
        return h.summary if h.state is HostState.REPORT else f"{h.source}: {h.problem}"

    if details:
        hosts = Table(("host", "outcome", "command", "started (UTC)", "summary"), tuple(
            (fleet.label(h), outcome(h, fail_on), h.command or "-", h.started or "-",
             summary(h)) for h in fleet.hosts))
    else:  # text: the summary gets the width; host names and outcomes are never wrapped
        hosts = Table(("host", "outcome", "summary"), tuple(
            (fleet.label(h), outcome(h, fail_on), summary(h)) for h in fleet.hosts),
            code=frozenset({0, 1}))
    rows, sevs = [], []
    for h in fleet.hosts:
        for v in h.verdicts:
            sev = v.severity.value if v.severity else "-"
            rows.append((fleet.label(h), sev, v.leg.value,
                         v.direction.value if v.direction else "-", v.code.value,
                         limit_text(v)))
            sevs.append(sev)
    findings = Table(("host", "severity", "leg", "direction", "verdict", "limit"),
                     tuple(rows))
    groups = fleet.recommendation_groups()
    if details:
        recs = Table(("#", "where", "platform", "command", "undo", "why", "hosts"), tuple(
            (str(i), g.recommendation.where, g.recommendation.platform,
             g.recommendation.command, g.recommendation.rollback or "-",
             g.recommendation.why, ", ".join(g.hosts))
            for i, g in enumerate(groups, 1)), code=frozenset({3, 4}))
    else:
        recs = Table(("#", "where", "platform", "hosts"), tuple(
            (str(i), g.recommendation.where, g.recommendation.platform, ", ".join(g.hosts))
            for i, g in enumerate(groups, 1)))
    return FleetTables(hosts, findings, tuple(sevs), recs)


def render_fleet_text(fleet: Fleet, fail_on: Severity, fmt: str, width: int) -> str:
    tables = fleet_tables(fleet, fail_on, details=False)
    lines = [TITLE, "=" * len(TITLE), ""]
    lines += ["Summary", *indent_wrap(fleet_summary(fleet, fail_on), width, "  ", "  "), ""]
    lines += ["Hosts", table_text(tables.hosts, fmt, width), ""]
    lines += ["Findings", table_text(tables.findings, fmt, width), ""]
    groups = fleet.recommendation_groups()
    if groups:
        recs = [table_text(tables.recommendations, fmt, width)]
        for i, g in enumerate(groups, 1):
            r = g.recommendation
            recs.append("")
            recs += indent_wrap(f"{i}. {r.where} ({r.platform})", width, "", "   ")
            recs += indent_wrap(", ".join(g.hosts), width, "   for:  ", " " * 9)
            recs += command_lines(r.command, width)
            for n, line in enumerate((r.rollback or "-").split("\n")):
                recs += indent_wrap(line, width, "   undo: " if n == 0 else " " * 9,
                                     " " * 11, whole_tokens=True)
            recs += indent_wrap(r.why, width, "   why:  ", " " * 9)
        lines += ["Recommendations", *recs, ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def render_fleet_markdown(fleet: Fleet, fail_on: Severity) -> str:
    tables = fleet_tables(fleet, fail_on)
    lines = [f"# {TITLE}", "", "## Summary", "", paragraph_md(fleet_summary(fleet, fail_on)), "",
             "## Hosts", "", *table_md(tables.hosts), "", "## Findings", "",
             *table_md(tables.findings)]
    if tables.recommendations.rows:
        lines += ["", "## Recommendations", "", *table_md(tables.recommendations)]
    return "\n".join(lines) + "\n"


def _host_class(host: HostReport, fail_on: Severity) -> str:
    """A host's row colour: its worst finding's, or warning-yellow when not measured."""
    word = outcome(host, fail_on)
    if word == "ok":
        return ""
    if word == "findings":
        worst = max((v.severity for v in host.verdicts if v.severity is not None),
                    key=lambda s: s.rank, default=Severity.WARNING)
        return f"sev-{worst.value}"
    return "sev-warning"


def render_fleet_html(fleet: Fleet, fail_on: Severity) -> str:
    tables = fleet_tables(fleet, fail_on)
    host_classes = [_host_class(h, fail_on) for h in fleet.hosts]
    body = [f"<h1>{escape(TITLE)}</h1>", "<h2>Summary</h2>",
            f'<p class="summary">{escape(fleet_summary(fleet, fail_on))}</p>',
            "<h2>Hosts</h2>", table_html(tables.hosts, host_classes),
            "<h2>Findings</h2>",
            table_html(tables.findings, [f"sev-{s}" if s != "-" else ""
                                         for s in tables.findings_severity])]
    if tables.recommendations.rows:
        body += ["<h2>Recommendations</h2>", table_html(tables.recommendations)]
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{escape(TITLE)}</title>\n<style>{FLEET_CSS}</style>\n</head>\n<body>\n"
            + "\n".join(body) + "\n</body>\n</html>\n")


def render_fleet_tsv(fleet: Fleet, fail_on: Severity,
                     table: FleetTable = FleetTable.FINDINGS) -> str:
    tables = fleet_tables(fleet, fail_on)
    chosen = {FleetTable.HOSTS: tables.hosts, FleetTable.FINDINGS: tables.findings,
              FleetTable.RECOMMENDATIONS: tables.recommendations}[table]
    return tsv_text(chosen)


def host_json(fleet: Fleet, host: HostReport, fail_on: Severity) -> dict[str, object]:
    out: dict[str, object] = {"host": fleet.label(host), "file": host.source,
                              "state": host.state.value,
                              "exit_status": int(host.exit_status(fail_on))}
    if host.state is HostState.REPORT:
        out.update({"command": host.command, "started": host.started,
                    "summary": host.summary, "partial": host.partial,
                    "verdicts": [dict(v) for v in host.raw_verdicts]})
        if host.errors:
            out["errors"] = list(host.errors)
    else:
        out["problem"] = host.problem
    return out


def fleet_json(fleet: Fleet, fail_on: Severity) -> dict[str, object]:
    """The fleet as one object ($defs/fleet of the packaged schema)."""
    return {
        "schema": FLEET_SCHEMA,
        "command": "merge",
        "summary": fleet_summary(fleet, fail_on),
        "fail_on": fail_on.value,
        "exit_status": int(fleet.exit_status(fail_on)),
        "hosts": [host_json(fleet, h, fail_on) for h in fleet.hosts],
        "recommendations": [{**recommendation_json(g.recommendation), "hosts": list(g.hosts)}
                            for g in fleet.recommendation_groups()],
    }


def render_fleet(fleet: Fleet, fail_on: Severity, fmt: TableFormat = TableFormat.SIMPLE,
                 as_json: bool = False, *, width: int = DEFAULT_WIDTH,
                 table: FleetTable = FleetTable.FINDINGS) -> str:
    """The fleet report in one format (the --format/--json choices of every command); every
    string cleaned first (``sanitize.scrub``), as in ``render``."""
    fleet = scrub(fleet)
    if as_json:
        return strict_json.dumps(fleet_json(fleet, fail_on), indent=2) + "\n"
    if fmt in MARKDOWN_FORMATS:
        return render_fleet_markdown(fleet, fail_on)
    if fmt is TableFormat.HTML:
        return render_fleet_html(fleet, fail_on)
    if fmt is TableFormat.TSV:
        return render_fleet_tsv(fleet, fail_on, table)
    return render_fleet_text(fleet, fail_on, fmt.value, width)
