"""Turn a Report into text: tables in the tabulate formats users paste into
change requests, or the JSON object of design.md. Pure: returns strings."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from enum import StrEnum

from tabulate import tabulate

from pathprobe.model import (
    SCHEMA,
    Evidence,
    LegReport,
    Number,
    Recommendation,
    Report,
    Verdict,
)
from pathprobe.render.evidence import describe
from pathprobe.render.summary import summarize


class TableFormat(StrEnum):
    """The --format choices (names are tabulate's)."""

    PLAIN = "plain"
    SIMPLE = "simple"
    GITHUB = "github"
    GRID = "grid"
    HTML = "html"
    TSV = "tsv"


# Leg columns in the order an engineer reads them; unknown keys follow, sorted.
LEG_COLUMN_ORDER = (
    "pmtu", "pmtu_low", "pmtu_high", "max_payload", "pmtu_method", "mss_sent",
    "mss_received", "rst_threshold", "interface", "interface_mtu", "route_pmtu",
    "probes", "rounds", "duration_s",
)
# Verdict numbers shown in the table's "numbers" column, in this order first.
VERDICT_NUMBER_ORDER = ("mtu", "max_payload", "pmtu_low", "pmtu_high", "mss_sent",
                        "mss_received", "status", "hop")


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
    out: dict[str, object] = {"name": leg.name.value, "target": leg.target}
    if leg.direction is not None:
        out["direction"] = leg.direction.value
    out.update(leg.measurements)
    if leg.notes:
        out["notes"] = [describe(n) for n in leg.notes]
    if leg.not_measured:
        out["not_measured"] = list(leg.not_measured)
    return out


def recommendation_json(r: Recommendation) -> dict[str, object]:
    return {"where": r.where, "platform": r.platform, "command": r.command,
            "rollback": r.rollback, "why": r.why}


def report_json(report: Report) -> dict[str, object]:
    out: dict[str, object] = {
        "schema": SCHEMA,
        "command": report.command,
        "started": report.started,
        "duration_s": round(report.duration_s, 3),
        "summary": summarize(report),
        "partial": report.partial,
        "legs": [leg_json(leg) for leg in report.legs],
        "verdicts": [verdict_json(v) for v in report.verdicts],
        "recommendations": [recommendation_json(r) for r in report.recommendations],
    }
    if report.errors:
        out["errors"] = list(report.errors)
    if report.notes:
        out["notes"] = [describe(n) for n in report.notes]
    return out


def render_json(report: Report) -> str:
    """The one JSON object written to stdout with --json."""
    return json.dumps(report_json(report), indent=2, sort_keys=False) + "\n"


def _fmt(value: Number) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}" if value < 10 else f"{value:.1f}"
    return str(value)


def _ordered(keys: Sequence[str], order: Sequence[str]) -> list[str]:
    known = [k for k in order if k in keys]
    return known + sorted(k for k in keys if k not in order)


def _legs_table(report: Report) -> tuple[list[str], list[list[str]]]:
    keys: list[str] = []
    for leg in report.legs:
        keys.extend(k for k in leg.measurements if k not in keys)
    columns = _ordered(keys, LEG_COLUMN_ORDER)
    headers = ["leg", "direction", "target", *columns, "notes"]
    rows = []
    for leg in report.legs:
        notes = [*map(describe, leg.notes), *(f"not measured: {why}" for why in leg.not_measured)]
        rows.append([
            leg.name.value,
            leg.direction.value if leg.direction else "-",
            leg.target,
            *(_fmt(leg.measurements.get(c)) for c in columns),
            "; ".join(notes) or "-",
        ])
    return headers, rows


def _verdicts_table(report: Report) -> tuple[list[str], list[list[str]]]:
    headers = ["severity", "verdict", "leg", "direction", "numbers", "confidence", "evidence"]
    rows = []
    for v in report.verdicts:
        values = {**(v.limit.fields() if v.limit else {}), **v.numbers}
        numbers = ", ".join(
            f"{k}={_fmt(values[k])}" for k in _ordered(list(values), VERDICT_NUMBER_ORDER))
        if v.limit is not None and not v.limit.exact:
            numbers += " (lower bound)"
        rows.append([
            v.severity.value if v.severity else "-",
            v.code.value,
            v.leg.value,
            v.direction.value if v.direction else "-",
            numbers or "-",
            v.confidence.value,
            "; ".join(map(describe, v.evidence)) or "-",
        ])
    return headers, rows


def _recommendations_table(report: Report) -> tuple[list[str], list[list[str]]]:
    headers = ["where", "platform", "command", "why"]
    return headers, [[r.where, r.platform, r.command, r.why] for r in report.recommendations]


def render_table(report: Report, fmt: TableFormat = TableFormat.SIMPLE) -> str:
    """A summary line, then one table each for legs, verdicts and recommendations."""
    sections: list[tuple[str, tuple[list[str], list[list[str]]]]] = []
    if report.legs:
        sections.append(("Legs", _legs_table(report)))
    sections.append(("Verdicts", _verdicts_table(report)))
    if report.recommendations:
        sections.append(("Recommendations", _recommendations_table(report)))

    return _render_sections(report, sections, fmt)


def render(report: Report, fmt: TableFormat, as_json: bool) -> str:
    return render_json(report) if as_json else render_table(report, fmt)


def _leg_groups(report: Report) -> list[tuple[str, list[LegReport]]]:
    """Leg rows grouped by (leg, direction), in the order they were measured."""
    groups: dict[tuple[str, str], list[LegReport]] = {}
    for leg in report.legs:
        key = (leg.name.value, leg.direction.value if leg.direction else "")
        groups.setdefault(key, []).append(leg)
    return [(f"{name}, {direction}" if direction else name, rows)
            for (name, direction), rows in groups.items()]


def render_by_leg(report: Report, fmt: TableFormat = TableFormat.SIMPLE) -> str:
    """Like render_table, but one small table per leg and direction, what reads well
    pasted into a change request: a row per measurement the leg has (in reading
    order), a column per step that measured it (headed by the target it probed)."""
    sections: list[tuple[str, tuple[list[str], list[list[str]]]]] = []
    for title, rows in _leg_groups(report):
        keys: list[str] = []
        for leg in rows:
            keys.extend(k for k, v in leg.measurements.items() if v is not None and k not in keys)
        body = [[k, *(_fmt(leg.measurements.get(k)) for leg in rows)]
                for k in _ordered(keys, LEG_COLUMN_ORDER)]
        notes = [[*(f"not measured: {why}" for why in leg.not_measured),
                  *map(describe, leg.notes)]
                 for leg in rows]
        if any(notes):
            body.append(["notes", *("; ".join(n) or "-" for n in notes)])
        sections.append((f"Leg {title}", (["measurement", *(leg.target for leg in rows)], body)))
    sections.append(("Verdicts", _verdicts_table(report)))
    if report.recommendations:
        sections.append(("Recommendations", _recommendations_table(report)))
    return _render_sections(report, sections, fmt)


def _render_sections(report: Report, sections: Sequence[tuple[str, tuple[
        list[str], list[list[str]]]]], fmt: TableFormat) -> str:
    summary = summarize(report)
    if fmt is TableFormat.HTML:
        parts = [f"<p><strong>{html.escape(summary)}</strong></p>"]
        parts += [f"<h3>{html.escape(e)}</h3>" for e in report.errors]
        for title, (headers, rows) in sections:
            parts.append(f"<h2>{html.escape(title)}</h2>")
            parts.append(tabulate(rows, headers, tablefmt="html"))
        return "\n".join(parts) + "\n"
    lines = [summary]
    lines += [f"not measured: {e}" for e in report.errors]
    for title, (headers, rows) in sections:
        lines.append("")
        lines.append(f"# {title}" if fmt is TableFormat.TSV else f"{title}:")
        lines.append(tabulate(rows, headers, tablefmt=fmt.value, disable_numparse=True))
    return "\n".join(lines) + "\n"
