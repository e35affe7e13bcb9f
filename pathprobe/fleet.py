"""Many reports, one fleet: the pure part of ``pathprobe merge``.

Each input file becomes a ``HostReport``: either a report (checked against
the packaged schema, its verdicts and recommendations read back into the
typed model so the renderers reuse the one-report wording) or a typed reason
why it is not one. Nothing here reads a file: ``read_host`` takes bytes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pathprobe.compat import StrEnum
from pathprobe.model import (
    Confidence,
    Direction,
    ExitStatus,
    Leg,
    Limit,
    Number,
    Recommendation,
    Report,
    Severity,
    Verdict,
    VerdictCode,
)
from pathprobe.sanitize import clean, clean_lines
from pathprobe.wire import strict_json

FLEET_SCHEMA = "pathprobe-fleet/1"
# A report is a few kB, a capture's a few MB at most; anything far larger is not one.
MAX_REPORT_BYTES = 64 * 1024 * 1024


class HostState(StrEnum):
    """What a file turned out to be; only REPORT carries findings."""

    REPORT = "report"
    UNREADABLE = "unreadable"
    INVALID_JSON = "invalid-json"
    NOT_A_REPORT = "not-a-report"
    FLEET = "fleet"  # a merge's own --json output: skipped, not a host


@dataclass(frozen=True)
class HostReport:
    """One input file: the host it speaks for and, when it is a report, what it found."""

    source: str                      # the file name as given
    host: str
    state: HostState
    problem: str = ""                # why it is not a report (state != REPORT)
    command: str = ""
    started: str = ""
    summary: str = ""
    partial: bool = False
    errors: tuple[str, ...] = ()
    verdicts: tuple[Verdict, ...] = ()
    recommendations: tuple[Recommendation, ...] = ()
    # The report's verdict objects exactly as read (the fleet JSON passes them on).
    raw_verdicts: tuple[Mapping[str, Any], ...] = ()

    def exit_status(self, fail_on: Severity = Severity.WARNING) -> ExitStatus:
        """The report's own status (Report.exit_status's rule); 3 for a file that is none."""
        if self.state is not HostState.REPORT:
            return ExitStatus.NOT_MEASURED
        # A report read back has no typed records: its "errors" list is the JSON's word that
        # something was not measured (a run writes one exactly when it has an Unmeasured).
        report = Report(self.command, self.started, 0.0, verdicts=self.verdicts,
                        partial=self.partial or bool(self.errors))
        return report.exit_status(fail_on)


@dataclass(frozen=True)
class RecommendationGroup:
    """One recommendation and every host that needs it."""

    recommendation: Recommendation
    hosts: tuple[str, ...]


@dataclass(frozen=True)
class Fleet:
    """Every host of a merge, sorted by host name (then file)."""

    hosts: tuple[HostReport, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)  # source -> unique host label

    def label(self, host: HostReport) -> str:
        return self.labels.get(host.source, host.host)

    def exit_status(self, fail_on: Severity = Severity.WARNING) -> ExitStatus:
        """The worst host: 3 when any host could not be measured at all, else 1 when any
        has a finding at or above ``fail_on``, else 0 (also 3 for no hosts)."""
        if not self.hosts:
            return ExitStatus.NOT_MEASURED
        return max((h.exit_status(fail_on) for h in self.hosts),
                   key=lambda s: (ExitStatus.HEALTHY, ExitStatus.PROBLEM,
                                  ExitStatus.NOT_MEASURED).index(s))

    def recommendation_groups(self) -> tuple[RecommendationGroup, ...]:
        """Identical recommendations said once, with the hosts that need them, grouped by
        where they apply (places in the order first seen; hosts in fleet order)."""
        groups: dict[Recommendation, list[str]] = {}
        for host in self.hosts:
            for r in host.recommendations:
                names = groups.setdefault(r, [])
                if self.label(host) not in names:
                    names.append(self.label(host))
        places = list(dict.fromkeys(r.where for r in groups))
        ordered = sorted(groups.items(), key=lambda item: places.index(item[0].where))
        return tuple(RecommendationGroup(r, tuple(h)) for r, h in ordered)


def host_from_name(source: str) -> str:
    """The host a file name stands for when the report does not say: 'fmc2.json' -> 'fmc2'."""
    base = source.replace("\\", "/").rsplit("/", 1)[-1]
    stem = base[:-5] if base.lower().endswith(".json") else base
    return clean(stem) or clean(base) or "?"


def _limit(obj: Mapping[str, Any]) -> Limit | None:
    sizes = {k: obj.get(k) for k in ("mtu", "max_payload", "pmtu_low", "pmtu_high")}
    known = {k: v for k, v in sizes.items() if isinstance(v, int) and not isinstance(v, bool)}
    if not known:
        return None
    return Limit(exact=obj.get("limit_exact") is not False, **known)


VERDICT_KEYS = frozenset({"code", "leg", "direction", "severity", "mtu", "max_payload",
                          "pmtu_low", "pmtu_high", "limit_exact", "evidence", "facts",
                          "confidence", "basis"})


def verdict_from_json(obj: Mapping[str, Any]) -> Verdict:
    """A schema-valid verdict object back as a Verdict (its evidence stays text: the
    fleet report shows the limit and the code, not the sentences)."""
    numbers: dict[str, Number] = {
        k: v for k, v in obj.items() if k not in VERDICT_KEYS
        and isinstance(v, (int, float, str)) and not isinstance(v, bool)}
    direction = obj.get("direction")
    severity = obj.get("severity")
    return Verdict(VerdictCode(obj["code"]), Leg(obj["leg"]),
                   Direction(direction) if direction else None,
                   confidence=Confidence(obj.get("confidence", "measured")),
                   numbers=numbers, limit=_limit(obj),
                   severity=Severity(severity) if severity else None)


def recommendation_from_json(obj: Mapping[str, Any]) -> Recommendation:
    return Recommendation(where=clean(obj["where"]), platform=clean(obj["platform"]),
                          command=clean_lines(obj["command"]), why=clean_lines(obj["why"]),
                          rollback=clean_lines(obj.get("rollback", "")))


def read_host(source: str, data: bytes) -> HostReport:
    """What the bytes of file ``source`` are: a report (schema-checked) or why not."""
    from pathprobe.schema.check import schema_problem

    fallback = host_from_name(source)
    if len(data) > MAX_REPORT_BYTES:
        return HostReport(source, fallback, HostState.NOT_A_REPORT,
                          f"larger than {MAX_REPORT_BYTES // (1024 * 1024)} MiB")
    try:
        doc = strict_json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        return HostReport(source, fallback, HostState.INVALID_JSON, "not UTF-8 text")
    except RecursionError:
        return HostReport(source, fallback, HostState.INVALID_JSON, "nested too deeply")
    except strict_json.NonFiniteNumber as e:
        return HostReport(source, fallback, HostState.INVALID_JSON, f"not JSON: {e}")
    except ValueError as e:
        where = f" (line {e.lineno}, column {e.colno})" if isinstance(
            e, json.JSONDecodeError) else ""
        return HostReport(source, fallback, HostState.INVALID_JSON, f"not JSON{where}")
    if isinstance(doc, dict) and doc.get("schema") == FLEET_SCHEMA:
        return HostReport(source, fallback, HostState.FLEET,
                          "a fleet report (merge the hosts' own reports instead)")
    try:
        problem = schema_problem(doc)
    except RecursionError:
        problem = "nested too deeply"
    if problem is not None:
        return HostReport(source, fallback, HostState.NOT_A_REPORT,
                          clean(f"not a pathprobe/1 report: {problem}")[:300])
    context = doc["context"]
    host = clean(context.get("host") or "").strip() or fallback
    return HostReport(
        source, host, HostState.REPORT, command=clean(doc["command"]),
        started=clean(doc["started"]), summary=clean(doc["summary"]),
        partial=doc["partial"], errors=tuple(clean(e) for e in doc.get("errors", ())),
        verdicts=tuple(verdict_from_json(v) for v in doc["verdicts"]),
        recommendations=tuple(recommendation_from_json(r) for r in doc["recommendations"]),
        raw_verdicts=tuple(doc["verdicts"]))


def unreadable(source: str, why: str) -> HostReport:
    """A file that could not be read at all (missing, a directory, no permission ...)."""
    return HostReport(source, host_from_name(source), HostState.UNREADABLE, clean(why))


def merge(hosts: Sequence[HostReport]) -> Fleet:
    """The fleet, hosts sorted by name; two files naming the same host are told apart by
    their file names."""
    # the same file given twice counts once; a fleet report is no host
    unique = {h.source: h for h in hosts if h.state is not HostState.FLEET}
    ordered = tuple(sorted(unique.values(), key=lambda h: (h.host, h.source)))
    count: dict[str, int] = {}
    for h in ordered:
        count[h.host] = count.get(h.host, 0) + 1
    labels = {h.source: h.host if count[h.host] == 1 else f"{h.host} ({h.source})"
              for h in ordered}
    return Fleet(ordered, labels)
