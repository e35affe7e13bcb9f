"""What a report says, independent of the format: the six sections as plain cells.

Pure. Every format (text tables, Markdown, HTML, TSV) lays out the same
content from here, so they never disagree: context, the path at a glance,
summary, findings (with their evidence), recommendations, measurements.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pathprobe.facts.capture import CaptureFact
from pathprobe.findings import PROXY_CODES
from pathprobe.model import (
    Direction,
    Leg,
    LegReport,
    Number,
    Report,
    Severity,
    Step,
    Verdict,
    VerdictCode,
)
from pathprobe.render.evidence import describe

LEG_NAME = {Leg.FMC_PROXY: "leg 1 (FMC to proxy)", Leg.PROXY_UPSTREAM: "leg 2 (proxy to upstream)",
            Leg.FMC_UPSTREAM: "FMC to upstream"}


@dataclass(frozen=True)
class Table:
    """A table's cells; ``code`` names the columns that hold commands (never re-worded)."""

    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    code: frozenset[int] = frozenset()


@dataclass(frozen=True)
class EvidenceBlock:
    """One finding's evidence: a title, the lines, and a Wireshark filter (captures)."""

    title: str
    severity: Severity | None
    lines: tuple[str, ...]
    filter: str | None = None


def _num(numbers: Mapping[str, Number], key: str) -> int | None:
    value = numbers.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _hello_text(v: Verdict) -> str:
    """'ClientHello records > 1200 B dropped; 1246-byte packets cross' from the numbers."""
    record, packet = _num(v.numbers, "record_limit"), _num(v.numbers, "packet_crossed")
    crossed = _num(v.numbers, "segment_crossed")
    how = "reset" if v.numbers.get("how") == "reset" else "dropped"
    exact = v.numbers.get("threshold_exact") is True
    answered = _num(v.numbers, "hello_max")   # unknown from a capture without a smaller one
    head = (f"ClientHello records > {record} B {how}" if exact
            else f"ClientHellos of {_num(v.numbers, 'hello_dropped_from')} B {how}"
                 + (f", {answered} B answered" if answered is not None else ""))
    if packet is not None:
        return f"{head}; {packet}-byte packets cross"
    return f"{head}; {crossed}-byte segments cross" if crossed is not None else head


def limit_text(v: Verdict) -> str:
    """The limit a finding proves, in words a change request can quote."""
    lim = v.limit
    if v.code is VerdictCode.MSS_CLAMPED:
        sent, got = _num(v.numbers, "mss_sent"), _num(v.numbers, "mss_received")
        return f"MSS {sent if sent is not None else '?'} -> {got if got is not None else '?'}"
    if v.code is VerdictCode.TLS_HELLO_DROPPED:
        return _hello_text(v)
    if lim is None:
        status = _num(v.numbers, "status")
        return f"HTTP {status}" if status is not None else "-"
    parts = []
    if lim.max_payload is not None:
        parts.append(f"max payload {lim.max_payload} B" if lim.exact
                     else f"max payload at least {lim.max_payload} B")
    if lim.mtu is not None:
        parts.append(f"MTU {lim.mtu}" if lim.exact else f"MTU at least {lim.mtu}")
    elif lim.pmtu_low is not None and lim.pmtu_high is not None:
        # exact: the headers of the leg are unknown; a lower bound: the MTU lies in between
        parts.append(f"MTU {lim.pmtu_low}..{lim.pmtu_high}" if lim.exact
                     else f"MTU between {lim.pmtu_low} and {lim.pmtu_high}")
    elif lim.pmtu_low is not None:
        parts.append(f"MTU {lim.pmtu_low}" if lim.exact else f"MTU at least {lim.pmtu_low}")
    elif lim.pmtu_high is not None:   # (a router's ICMP named it; nothing smaller was seen)
        parts.append(f"MTU at most {lim.pmtu_high}")
    text = ", ".join(parts) or "-"
    return text if lim.exact else f"{text} (not exact)"


def context_rows(report: Report) -> tuple[tuple[str, str], ...]:
    c = report.context
    rows = [("tool", f"{c.tool} {c.version}".strip()), ("host", c.host or "-"),
            ("started (UTC)", report.started), ("duration", f"{report.duration_s:.1f} s")]
    if c.argv:
        rows.append(("command line", " ".join(c.argv)))
    if c.proxy:
        rows.append(("proxy", f"{c.proxy} (from {c.proxy_source or '?'})"))
    if c.target:
        rows.append(("capture" if report.command == "analyze" else "target", c.target))
    if report.partial:
        rows.append(("partial", f"yes: {partial_words(report)}"))
    return tuple(rows)


def partial_words(report: Report) -> str:
    """What a partial report lacks: steps, or (analyze) the rest of the capture."""
    if report.command == "analyze":
        return "interrupted before the whole capture was read"
    return "interrupted before every step ran"


def findings_table(report: Report) -> Table:
    rows = []
    for i, v in enumerate(report.verdicts, 1):
        rows.append((str(i), v.severity.value if v.severity else "-", v.leg.value,
                     v.direction.value if v.direction else "-", v.code.value, limit_text(v)))
    return Table(("#", "severity", "leg", "direction", "verdict", "limit"), tuple(rows))


def evidence_blocks(report: Report) -> tuple[EvidenceBlock, ...]:
    out = []
    for i, v in enumerate(report.verdicts, 1):
        where = f" {v.direction.value}" if v.direction else ""
        title = f"{i}. {v.code.value} on {v.leg.value}{where} ({v.confidence.value})"
        filt = v.numbers.get("wireshark_filter")
        out.append(EvidenceBlock(title, v.severity, tuple(describe(e) for e in v.evidence),
                                 filt if isinstance(filt, str) else None))
    return tuple(out)


def recommendations_table(report: Report, details: bool = True) -> Table:
    """Where, platform, command (and, with ``details``, how to undo it and why)."""
    if not details:
        return Table(("#", "where", "platform", "command"), tuple(
            (str(i), r.where, r.platform, r.command)
            for i, r in enumerate(report.recommendations, 1)), code=frozenset({3}))
    rows = tuple((str(i), r.where, r.platform, r.command, r.rollback or "-", r.why)
                 for i, r in enumerate(report.recommendations, 1))
    # command and undo keep their lines and indentation (IOS configuration)
    return Table(("#", "where", "platform", "command", "undo", "why"), rows,
                 code=frozenset({3, 4}))


# Measured quantities with human names and units; anything else is internal (-v, JSON).
QUANTITIES: tuple[tuple[str, str, str], ...] = (
    ("pmtu", "path MTU", "B"),
    ("pmtu_up", "path MTU up", "B"),
    ("pmtu_down", "path MTU down", "B"),
    ("pmtu_low", "path MTU at least", "B"),
    ("pmtu_high", "path MTU at most", "B"),
    ("max_payload", "largest payload per segment", "B"),
    # (a write proven to cross, perhaps in pieces: the proxy may relay what leg 1 carried
    # in two segments as two; only max_payload and max_segment speak of one segment)
    ("max_payload_at_least", "largest write that crossed, at least", "B"),
    ("max_segment", "largest segment seen by the reflector", "B"),
    ("mss_sent", "MSS sent", "B"),
    ("mss_received", "MSS received", "B"),
    ("mss_at_peer", "MSS as it reached the peer", "B"),
    ("peer_segment_max", "largest segment from the peer", "B"),
    ("rst_threshold", "reset above", "B"),
    ("blackhole_threshold", "lost above", "B"),
    ("interface", "interface", ""),
    ("interface_mtu", "interface MTU", "B"),
    ("route_pmtu", "cached route PMTU", "B"),
    ("icmp_mtu", "next-hop MTU in ICMP", "B"),
    ("hop", "hop", ""),
    ("connect_status", "CONNECT answer", ""),
    ("auth", "proxy authentication", ""),
    ("downloaded", "downloaded", "B"),
    ("expected", "expected", "B"),
    ("ip_version", "IP version", ""),
    ("tls_check", "TLS certificate check", ""),
    ("tls_issuer", "certificate issuer shown", ""),
    ("post_ok", "largest POST body answered", "B"),
    ("post_failed", "POST body that stalled", "B"),
    ("hello_max", "largest ClientHello answered", "B"),
    ("pq_hello", "post-quantum ClientHello", ""),
    ("pq_hello_bytes", "post-quantum ClientHello size", "B"),
    ("classic_hello", "classic ClientHello", ""),
    ("classic_hello_bytes", "classic ClientHello size", "B"),
)
INTERNAL_ORDER = ("pmtu_method", "method", "probes", "rounds", "duration_s", "search_s",
                  "step_s", "connect_ms", "established_ms", "tunnel_bytes", "download_s")


def _value(value: Number, unit: str) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        value = round(value, 3)
    return f"{value} {unit}".strip() if unit and isinstance(value, (int, float)) else str(value)


def _leg_label(leg: LegReport) -> tuple[str, str]:
    return leg.name.value, leg.direction.value if leg.direction else "-"


def _by_step(report: Report, leg: LegReport, key: str) -> list[tuple[str, Number]]:
    """Each step's own value of ``key`` on this leg and direction, when the steps disagree
    (empty when they agree: the leg's one value says it)."""
    found = [(row.step.value if row.step else "-", row.measurements[key])
             for row in report.steps if row.name is leg.name
             and row.direction is leg.direction and row.measurements.get(key) is not None]
    return found if len({value for _, value in found}) > 1 else []


def _rows_for(report: Report, leg: LegReport, key: str, label: str, unit: str
              ) -> list[tuple[str, ...]]:
    name, direction = _leg_label(leg)
    way = leg.direction.value if leg.direction is not None else None
    if way is not None and key in ("pmtu_up", "pmtu_down") and (
            way in ("both", key[5:])) and leg.measurements.get(key) == leg.measurements.get(
            "pmtu"):
        return []   # "path MTU" of this direction already says it
    steps = _by_step(report, leg, key)
    if steps:  # two steps measured it differently: each named, none silently winning
        return [(name, direction, f"{label} ({step} step)", _value(value, unit))
                for step, value in steps]
    value = leg.measurements.get(key)
    return [] if value is None else [(name, direction, label, _value(value, unit))]


def measurements_table(report: Report, verbose: bool = False) -> Table:
    """Per leg and direction, the measured quantities, once each (per step where steps
    disagree); with ``verbose`` the internal ones."""
    if report.command == "analyze":
        return connections_table(report)
    rows: list[tuple[str, ...]] = []
    for leg in report.legs:
        name, direction = _leg_label(leg)
        for key, label, unit in QUANTITIES:
            rows += _rows_for(report, leg, key, label, unit)
        if verbose:
            known = {k for k, _, _ in QUANTITIES}
            extra = [k for k in leg.measurements if k not in known]
            extra.sort(key=lambda k: (INTERNAL_ORDER.index(k) if k in INTERNAL_ORDER
                                      else len(INTERNAL_ORDER), k))
            for key in extra:
                rows += _rows_for(report, leg, key, key, "")
        for why in leg.not_measured:
            rows.append((name, direction, "not measured", why))
        for note in leg.notes:  # what the attribution concluded always; the rest with -v
            if verbose or note.step is Step.DIAGNOSE:
                rows.append((name, direction, "note", describe(note)))
    return Table(("leg", "direction", "quantity", "value"), tuple(dict.fromkeys(rows)))


# Row notes that explain a cell of the connections table (an answer "unseen", a hello
# "closed", a segment larger than the MSS, bytes the capture lacks): shown under the table.
# The rest (frames, options, resends, idle time) stay in the JSON rows.
EXPLAINS_A_CELL = frozenset({
    CaptureFact.ROW_ANSWER_HEAD_UNSEEN, CaptureFact.ROW_HELLO_ANSWERED,
    CaptureFact.ROW_HELLO_CLOSED, CaptureFact.ROW_HELLO_LEFT, CaptureFact.ROW_OFFLOAD,
    CaptureFact.ROW_CAPTURE_LOSS, CaptureFact.ROW_GAP_UNPROVEN})
CONNECTION_NOTES_MAX = 20


def connection_notes(report: Report) -> list[str]:
    """analyze: what explains a cell of the connections table, one line per note
    ("client port N: ..."), at most CONNECTION_NOTES_MAX (then how many more the JSON has)."""
    if report.command != "analyze":
        return []
    out = [f"client port {leg.measurements.get('client_port', '-')}: {describe(note)}"
           for leg in report.legs for note in leg.notes if note.fact in EXPLAINS_A_CELL]
    if len(out) > CONNECTION_NOTES_MAX:
        more = len(out) - CONNECTION_NOTES_MAX
        out = [*out[:CONNECTION_NOTES_MAX], f"... and {more} more (the JSON report's rows)"]
    return out


def connections_table(report: Report) -> Table:
    """analyze: one row per connection; with a "leg" column when the capture shows more
    than one leg (taken on the proxy, or proxied and direct connections mixed)."""
    several = len({leg.name for leg in report.legs}) > 1
    rows = []
    for leg in report.legs:
        def get(key: str, m: Mapping[str, Number] = leg.measurements) -> str:
            value = m.get(key)
            return "-" if value is None else str(value)

        row = (get("client_port"), leg.target, get("status"),
               f"{get('mss_sent')} -> {get('mss_received')}",
               f"{get('max_seg_up')} / {get('max_seg_down')}", get("tls"), get("ended"))
        rows.append((leg.name.value, *row) if several else row)
    head = ("client port", "target", "answer", "MSS sent -> received",
            "largest segment up / down", "TLS", "ended")
    return Table(("leg", *head) if several else head, tuple(rows))


# ----------------------------------------------------------------------------- the path

@dataclass(frozen=True)
class Segment:
    """One leg and direction of the path diagram."""

    leg: Leg
    direction: Direction
    state: str           # "fault", "warning", "info", "ok", "not measured"
    text: str


def _dir_matches(v: Verdict, d: Direction) -> bool:
    return v.direction in (d, Direction.BOTH) or (v.direction is None)


def _measured_text(legs: tuple[LegReport, ...], leg: Leg, d: Direction) -> str | None:
    for x in legs:
        if x.name is not leg or x.direction not in (d, None):
            continue
        m = x.measurements
        for key in (f"pmtu_{d.value}", "pmtu"):
            value = _num(m, key)
            if value is not None and (x.direction is d or key != "pmtu"
                                      or x.direction is None):
                return f"MTU {value}"
        payload = _num(m, "max_payload")
        if payload is not None and x.direction is d:
            return f"max payload {payload} B"
        at_least = _num(m, "max_payload_at_least")
        if at_least is not None and x.direction is d:
            return f"payload at least {at_least} B"
    return None


def _state(v: Verdict) -> str:
    return {Severity.CRITICAL: "fault", Severity.WARNING: "warning"}.get(
        v.severity or Severity.INFO, "info")


def _finding_text(v: Verdict) -> str:
    limit = limit_text(v)
    return v.code.value if limit == "-" else f"{v.code.value}: {limit}"


def path_legs(report: Report) -> tuple[Leg, ...]:
    """The legs the path has: fmc-upstream alone without a proxy, else leg 1 and leg 2."""
    if any(x.name is Leg.FMC_UPSTREAM for x in report.legs) or any(
            v.leg is Leg.FMC_UPSTREAM for v in report.verdicts):
        return (Leg.FMC_UPSTREAM,)
    return (Leg.FMC_PROXY, Leg.PROXY_UPSTREAM)


def proxy_marks(report: Report) -> tuple[Segment, ...]:
    """The findings about the proxy itself (a refusal, no answer, interception, a setting),
    worst first: drawn on the proxy, never on a leg whose probes crossed (without a proxy,
    on the one direct leg)."""
    if path_legs(report) == (Leg.FMC_UPSTREAM,):
        return ()
    return tuple(Segment(v.leg, v.direction or Direction.BOTH, _state(v), _finding_text(v))
                 for v in report.verdicts if v.code in PROXY_CODES)


def path_segments(report: Report) -> tuple[Segment, ...]:
    """Each leg and direction: its worst path finding, else what was measured, else why
    not. The one source of the drawing and of the summary's words for each leg."""
    out = []
    for leg in path_legs(report):
        for d in (Direction.UP, Direction.DOWN):
            found = [v for v in report.verdicts if v.leg is leg and _dir_matches(v, d)
                     and v.code is not VerdictCode.HEALTHY
                     and (v.code not in PROXY_CODES or leg is Leg.FMC_UPSTREAM)]
            measured = _measured_text(report.legs, leg, d)
            if found:
                worst = found[0]  # verdicts come most severe first
                state, text = _state(worst), _finding_text(worst)
                if state == "info" and measured is not None:
                    text = f"{measured}; {text} (info)"
                out.append(Segment(leg, d, state, text))
                continue
            healthy_verdicts = [v for v in report.verdicts if v.leg is leg and _dir_matches(v, d)
                                and v.code is VerdictCode.HEALTHY]
            if measured is None and any(e.fact is CaptureFact.NOTHING_JUDGED
                                        and not e.values.get("icmp")
                                        for v in healthy_verdicts for e in v.evidence):
                # no TCP connection, and no ping or probe that crossed: nothing was judged,
                # so not "healthy"
                out.append(Segment(leg, d, "not measured", "no TCP connection to judge"))
                continue
            healthy = bool(healthy_verdicts)
            # A step measured this way and found nothing wrong (e.g. a large answer came).
            clean = any(x.name is leg and x.direction in (d, None) and not x.not_measured
                        and any(x.measurements.get(k) is not None for k in SIZE_KEYS)
                        for x in report.legs)
            if measured is not None or healthy or clean:
                out.append(Segment(leg, d, "ok", measured or (
                    "healthy" if healthy else "no fault found")))
            else:
                out.append(Segment(leg, d, "not measured", "not measured"))
    return tuple(out)


# Measurements that show what sizes a leg carried (a CONNECT answer alone says nothing).
SIZE_KEYS = ("pmtu", "pmtu_up", "pmtu_down", "max_payload", "max_payload_at_least",
             "downloaded", "largest_acked", "max_seg_up", "max_seg_down")

MARK = {"fault": "XX", "warning": "!!", "info": "ok", "ok": "ok", "not measured": "??"}


def path_lines(report: Report) -> tuple[tuple[str | None, str], ...]:
    """The path as text art with each line's state: the nodes on one line, then one line
    per leg and direction, the proxy's own findings between its legs."""
    segs = path_segments(report)
    if segs and segs[0].leg is Leg.FMC_UPSTREAM:
        head = "FMC ==[ fmc-upstream ]==> upstream"
    else:
        head = "FMC ==[ leg 1: fmc-proxy ]==> proxy ==[ leg 2: proxy-upstream ]==> upstream"
    lines: list[tuple[str | None, str]] = [(None, head)]
    marks = proxy_marks(report)
    for s in segs:
        if s.leg is Leg.PROXY_UPSTREAM and marks:
            lines += [(m.state, f"{MARK[m.state]} proxy       {m.text}") for m in marks]
            marks = ()
        leg = {Leg.FMC_PROXY: "leg 1", Leg.PROXY_UPSTREAM: "leg 2",
               Leg.FMC_UPSTREAM: "direct"}[s.leg]
        lines.append((s.state, f"{MARK[s.state]} {leg} {s.direction.value:<4}  {s.text}"))
    lines += [(m.state, f"{MARK[m.state]} proxy       {m.text}") for m in marks]
    return tuple(lines)


def path_text(report: Report) -> tuple[str, ...]:
    """The path as text art (``path_lines`` without the states)."""
    return tuple(line for _, line in path_lines(report))
