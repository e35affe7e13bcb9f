"""From the facts of every step to the findings a report states: decided once, here.

Pure. The measuring steps (pmtu, mss, tunnel, capture) report verdicts with
typed limits, evidence and an attribution ``Basis``; this module

1. **attributes** each tunnel finding to the leg its facts prove (``attribute``),
2. **merges** what several steps saw of the same fault into one verdict per
   (code, leg, direction) (``merge``; a ``both`` verdict absorbs ``up``/``down``),
3. tells an MSS sized to the path MTU from a clamp (``peer_mtu_is_not_a_clamp``),
4. decides each verdict's **severity** by rule (``severity_of``):

   - critical: traffic breaks - black hole, reset on large segments, stall,
     proxy refusal, authentication failures, unreachable, no CONNECT answer,
     upstream errors, TLS interception;
   - warning: degraded or fragile - a path MTU reduction that is only
     inferred (ICMP seen in part, or only a cached route), an MSS clamp that
     still lets through segments larger than the leg carries, a proxy setting
     the FMC cannot use, one refused connection while others to the same server
     succeeded (``others_connected``, from a capture), a capture's stall where
     nothing was seen pending (``unproven``: an idle session remains possible), a
     capture's black hole whose smaller later segments vanished too, or a reset of the
     first data seen, nothing smaller delivered before it (``unproven``);
   - info: observed and harmless - an MSS lowered while traffic flows, a
     reduced path MTU with working PMTUD (ICMP answered and the size below it
     delivered), healthy legs;

5. and builds the ``Report`` (``finish``). No decision reads a sentence.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace

from pathprobe.facts.diagnose import DiagnoseFact
from pathprobe.model import (
    Basis,
    Confidence,
    Direction,
    Evidence,
    Interrupted,
    IpVersion,
    Leg,
    LegReport,
    LegSizes,
    Limit,
    Measurement,
    Number,
    Recommendation,
    Report,
    Severity,
    Step,
    Verdict,
    VerdictCode,
)
from pathprobe.wire.overhead import (
    ip_tcp_overhead,
    mtu_for_payload,
    payload_for_mss,
    payload_for_mtu,
)

SIZE_CODES = frozenset({VerdictCode.PMTU_BLACKHOLE, VerdictCode.RST_ON_LARGE_SEGMENT,
                        VerdictCode.TUNNEL_STALL})
# Findings about the proxy itself rather than a leg's path.
PROXY_CODES = frozenset({VerdictCode.PROXY_DENIED, VerdictCode.PROXY_AUTH_REQUIRED,
                         VerdictCode.PROXY_AUTH_UNSUPPORTED, VerdictCode.PROXY_UPSTREAM_ERROR,
                         VerdictCode.PROXY_UNREACHABLE, VerdictCode.CONNECT_NO_RESPONSE,
                         VerdictCode.PROXY_TLS_INTERCEPTED,
                         VerdictCode.PROXY_CONFIG_UNSUPPORTED})
# Those that leave no tunnel to measure leg 2 through.
NO_TUNNEL = frozenset({VerdictCode.PROXY_DENIED, VerdictCode.PROXY_AUTH_REQUIRED,
                       VerdictCode.PROXY_AUTH_UNSUPPORTED, VerdictCode.PROXY_UNREACHABLE,
                       VerdictCode.CONNECT_NO_RESPONSE})
CRITICAL_CODES = frozenset({*SIZE_CODES, *NO_TUNNEL, VerdictCode.PROXY_UPSTREAM_ERROR,
                            VerdictCode.PROXY_TLS_INTERCEPTED, VerdictCode.TLS_HELLO_DROPPED})
# The order findings of equal severity are listed in: what breaks the transfer first.
CODE_ORDER = (
    VerdictCode.PROXY_UNREACHABLE, VerdictCode.PROXY_DENIED, VerdictCode.PROXY_AUTH_UNSUPPORTED,
    VerdictCode.PROXY_AUTH_REQUIRED, VerdictCode.PROXY_UPSTREAM_ERROR,
    VerdictCode.CONNECT_NO_RESPONSE, VerdictCode.PROXY_TLS_INTERCEPTED,
    VerdictCode.TLS_HELLO_DROPPED, VerdictCode.PMTU_BLACKHOLE, VerdictCode.RST_ON_LARGE_SEGMENT,
    VerdictCode.TUNNEL_STALL, VerdictCode.PROXY_CONFIG_UNSUPPORTED, VerdictCode.PMTU_REDUCED,
    VerdictCode.MSS_CLAMPED,
    VerdictCode.HEALTHY,
)
# Tunnel findings whose leg the attribution decides (a hello drop is found by the same probes).
ATTRIBUTED_CODES = frozenset({*SIZE_CODES, VerdictCode.TLS_HELLO_DROPPED})
# The tunnel's bases: its probes cross leg 1 before leg 2, so the leg is decided here.
TUNNEL_BASES = frozenset({Basis.PROXY_ACKED, Basis.PROXY_NEVER_ACKED, Basis.RESET_ON_OUR_SOCKET,
                          Basis.SMALL_MSS_ON_LEG1, Basis.NEEDS_LEG1})



def _leg1_legs(legs: Iterable[LegReport]) -> list[LegReport]:
    return [x for x in legs if x.name is Leg.FMC_PROXY]


def _same_way(a: Direction | None, b: Direction | None) -> bool:
    both = (None, Direction.BOTH)
    return a in both or b in both or a is b


def payload_limit(limit: Limit, ip_version: int = 4) -> int | None:
    """The largest TCP payload per segment a limit proves (never above the truth: from an
    MTU the timestamps option is assumed)."""
    if limit.max_payload is not None:
        return limit.max_payload
    mtu = limit.mtu if limit.mtu is not None else limit.pmtu_low
    return None if mtu is None else payload_for_mtu(mtu, ip_version, timestamps=True)


def leg1_size_limit(verdicts: Iterable[Verdict], direction: Direction | None,
                    ip_version: int = 4) -> int | None:
    """The payload per segment above which leg 1 itself loses or resets segments that way
    (from probes that cross leg 1 only); None when none was proven."""
    limits = [payload_limit(v.limit, ip_version) for v in verdicts
              if v.leg is Leg.FMC_PROXY and v.code in SIZE_CODES and v.limit is not None
              and v.basis is Basis.THIS_LEG_ONLY and _same_way(v.direction, direction)]
    known = [x for x in limits if x is not None]
    return min(known) if known else None


def leg1_carries(legs: Iterable[LegReport], ip_version: int = 4) -> int | None:
    """The largest TCP payload per segment leg 1 is proven to carry, if known."""
    sizes: list[int] = []
    for leg in _leg1_legs(legs):
        if leg.sizes.max_payload is not None:
            sizes.append(leg.sizes.max_payload)
        sizes.extend(payload_for_mtu(mtu, ip_version, timestamps=True)
                     for mtu in leg.sizes.mtus())
    return min(sizes) if sizes else None


def _leg1_measured(verdicts: Iterable[Verdict]) -> bool:
    return any(v.leg is Leg.FMC_PROXY and v.basis is Basis.THIS_LEG_ONLY
               and v.confidence is Confidence.MEASURED for v in verdicts)


def _on_leg1(v: Verdict, why: Evidence, confidence: Confidence) -> Verdict:
    """A tunnel finding moved to leg 1: its limit in leg 1's terms (the write sizes)."""
    ok = v.limit.max_payload if v.limit is not None else None
    version = v.leg1_ip_version or IpVersion.V4
    limit = None
    if ok is not None and v.limit is not None:
        low = mtu_for_payload(ok, version, timestamps=False)
        limit = Limit(max_payload=ok, pmtu_low=low,
                      pmtu_high=mtu_for_payload(ok, version, timestamps=True),
                      exact=v.limit.exact)
    return replace(v, leg=Leg.FMC_PROXY, limit=limit, confidence=confidence,
                   evidence=(*v.evidence, why))


def _leg2_untested(legs: list[LegReport], v: Verdict, leg1: int | None) -> list[LegReport]:
    """Leg 2's rows of the direction a moved finding came from: only a lower bound is left."""
    ok = v.limit.max_payload if v.limit is not None else None
    out = []
    for leg in legs:
        if leg.name is Leg.PROXY_UPSTREAM and leg.direction is v.direction \
                and ok is not None and leg.sizes.max_payload == ok:
            m = {**leg.measurements, "max_payload": None, "max_payload_at_least": ok,
                 "pmtu_high": None}
            note = Evidence(DiagnoseFact.LEG2_UNTESTED_ABOVE, Step.DIAGNOSE,
                            {"payload": ok, "leg1": leg1})
            leg = replace(leg, measurements=m, notes=(*leg.notes, note),
                          sizes=replace(leg.sizes, max_payload=None, payload_at_least=ok))
        out.append(leg)
    return out


def attribute(verdicts: Sequence[Verdict], legs: Sequence[LegReport]
              ) -> tuple[tuple[Verdict, ...], tuple[LegReport, ...]]:
    """Put each tunnel finding on the leg its facts prove, never on the other one.

    Tunnel probes cross leg 1 before leg 2. What the tunnel saw (the proxy's
    acknowledgement, a reset on our own socket, our small advertised MSS)
    decides where it can; otherwise leg 1's own measurements do: a failing
    write above what leg 1 carries is leg 1's (inferred), below it leg 2's.
    """
    out: list[Verdict] = []
    new_legs = list(legs)
    steps_ev = Step.DIAGNOSE
    leg1_measured = _leg1_measured(verdicts)
    for v in verdicts:
        if v.basis not in TUNNEL_BASES or v.code not in ATTRIBUTED_CODES:
            out.append(v)
            continue
        bad = v.write_failed
        values: dict[str, Number] = {"bad": bad}
        if v.basis is Basis.RESET_ON_OUR_SOCKET:
            out.append(_on_leg1(v, Evidence(DiagnoseFact.RESET_ON_OUR_SOCKET, steps_ev, values),
                                Confidence.INFERRED))
            new_legs = _leg2_untested(new_legs, v, None)
            continue
        if v.basis is Basis.PROXY_NEVER_ACKED:
            out.append(_on_leg1(v, Evidence(DiagnoseFact.PROXY_NEVER_ACKED, steps_ev, values),
                                v.confidence))
            new_legs = _leg2_untested(new_legs, v, None)
            continue
        if v.basis is Basis.PROXY_ACKED:
            out.append(replace(v, evidence=(*v.evidence, Evidence(
                DiagnoseFact.PROXY_ACKED, steps_ev, values))))
            continue
        if v.basis is Basis.SMALL_MSS_ON_LEG1:
            out.append(replace(v, evidence=(*v.evidence, Evidence(
                DiagnoseFact.SMALL_MSS_ON_LEG1, steps_ev, {"mss": v.our_mss}))))
            continue
        # NEEDS_LEG1: leg 1's own measurements decide (a proven limit first; then a leg 1
        # measured without one: writes cross it split into segments of at most the MSS;
        # then what leg 1 is said to carry; else nothing is known of leg 1).
        version = v.leg1_ip_version or IpVersion.V4
        limit1 = leg1_size_limit(verdicts, v.direction, version)
        if limit1 is None and not leg1_measured:
            limit1 = leg1_carries(legs, version)
        if limit1 is not None and bad is not None and limit1 < bad:
            out.append(_on_leg1(v, Evidence(DiagnoseFact.LEG1_LIMIT_BELOW, steps_ev,
                                             {"leg1": limit1, "bad": bad}), Confidence.INFERRED))
            new_legs = _leg2_untested(new_legs, v, limit1)
        elif limit1 is not None:
            why = Evidence(DiagnoseFact.LEG1_CARRIES, steps_ev, {"leg1": limit1})
            out.append(replace(v, evidence=(*v.evidence, why)))
        elif leg1_measured:
            why = Evidence(DiagnoseFact.LEG1_NO_SIZE_LIMIT, steps_ev)
            out.append(replace(v, evidence=(*v.evidence, why), confidence=Confidence.MEASURED))
        else:
            why = Evidence(DiagnoseFact.LEG1_NOT_MEASURED, steps_ev)
            out.append(replace(v, evidence=(*v.evidence, why), confidence=Confidence.INFERRED))
    return tuple(out), tuple(new_legs)


def _best_limit(group: Sequence[Verdict]) -> Limit | None:
    """The limit one fault proves when several steps measured it: each number the smallest
    of the exact ones (never above anything proven), else the smallest lower bound."""
    limits = [v.limit for v in group if v.limit is not None]
    if not limits:
        return None
    exact = [lim for lim in limits if lim.exact]
    chosen = exact or limits

    def least(name: str) -> int | None:
        values = [lim.fields()[name] for lim in chosen if name in lim.fields()]
        return min(values) if values else None

    return Limit(mtu=least("mtu"), max_payload=least("max_payload"),
                 pmtu_low=least("pmtu_low"), pmtu_high=least("pmtu_high"), exact=bool(exact))


def _fold(group: Sequence[Verdict]) -> Verdict:
    first = group[0]
    directions = {v.direction for v in group}
    direction = Direction.BOTH if Direction.BOTH in directions else first.direction
    # A member measured with nothing else connected is what makes a refusal critical on its
    # own: its evidence leads, then a measured member's (what makes the whole measured).
    # Without one, a fold is no stronger than its members (a refusal among successes, a
    # lone SYN unproven): "others connected" only if every member says so, and measured
    # then only if one is.
    decisive = {id(v) for v in group
                if v.confidence is Confidence.MEASURED and not v.others_connected}
    ordered = sorted(group, key=lambda v: (id(v) not in decisive,
                                           v.confidence is not Confidence.MEASURED))
    evidence = tuple(dict.fromkeys(e for v in ordered for e in v.evidence))
    numbers: dict[str, Number] = {}
    for v in reversed(group):
        numbers.update(v.numbers)
    # (a capture's groups of one fault, e.g. refused and unanswered connections: all counted)
    counts = [v.connections for v in group if v.connections is not None]
    connections = sum(counts) if len(counts) == len(group) and len(directions) == 1 \
        else first.connections
    if connections is not None:
        numbers["connections"] = connections
    others = None if decisive else min((v.others_connected or 0 for v in group),
                                       default=0) or None
    if others is None:
        numbers.pop("others_connected", None)
    else:
        numbers["others_connected"] = others
    measured = any(v.confidence is Confidence.MEASURED for v in group)
    confidence = (Confidence.MEASURED if decisive or (measured and others is not None)
                  else Confidence.INFERRED)
    basis = next((v.basis for v in group if v.basis is not None), None)
    return replace(first, direction=direction, evidence=evidence, numbers=numbers,
                   confidence=confidence, limit=_best_limit(group), basis=basis,
                   unproven=all(v.unproven for v in group), others_connected=others,
                   connections=connections)


def merge(verdicts: Iterable[Verdict]) -> tuple[Verdict, ...]:
    """One verdict per (code, leg, direction): every step that saw the same fault adds its
    evidence to it. A ``both`` verdict takes in the ``up`` and ``down`` ones, whatever the
    order the steps reported them in."""
    by_fault: dict[tuple[VerdictCode, Leg], list[Verdict]] = {}
    for v in verdicts:
        by_fault.setdefault((v.code, v.leg), []).append(v)
    out: list[Verdict] = []
    for group in by_fault.values():
        directions = {v.direction for v in group}
        parts: dict[Direction | None, list[Verdict]] = {}
        for v in group:
            key = (Direction.BOTH if Direction.BOTH in directions and v.direction is not None
                   else v.direction)
            parts.setdefault(key, []).append(v)
        out.extend(_fold(part) for part in parts.values())
    return tuple(out)


def _overhead(v: Verdict) -> int:
    return ip_tcp_overhead(v.ip_version or IpVersion.V4)


def peer_mtu_is_not_a_clamp(verdicts: Sequence[Verdict]) -> tuple[Verdict, ...]:
    """An MSS_CLAMPED seen only in the handshake whose MSS equals the leg's measured path MTU
    minus the headers is the peer sizing its MSS to the path, not a clamp: it becomes
    evidence on the path finding (or the leg's HEALTHY verdict)."""
    out = list(verdicts)
    for v in verdicts:
        if v.code is not VerdictCode.MSS_CLAMPED or v.direction is not Direction.DOWN \
                or v.hop is not None:
            continue
        mss = v.mss_received
        for i, w in enumerate(out):
            if w is v or w.leg is not v.leg or w.limit is None or not w.limit.exact \
                    or w.limit.mtu is None or w.code not in (VerdictCode.PMTU_REDUCED,
                                                             VerdictCode.PMTU_BLACKHOLE,
                                                             VerdictCode.HEALTHY):
                continue
            if mss is not None and mss + _overhead(v) == w.limit.mtu:
                note = Evidence(DiagnoseFact.MSS_MATCHES_PMTU, Step.DIAGNOSE,
                                {"mss": mss, "mtu": w.limit.mtu, "overhead": _overhead(v)})
                out[i] = replace(w, evidence=(*w.evidence, *v.evidence, note))
                out.remove(v)
                break
    return tuple(out)


def severity_of(v: Verdict, verdicts: Sequence[Verdict]) -> Severity:
    """The severity rules of the module docstring, from typed facts only."""
    if v.code is VerdictCode.HEALTHY:
        return Severity.INFO
    if v.code is VerdictCode.PROXY_UNREACHABLE and (
            v.others_connected or v.confidence is Confidence.INFERRED):
        # one refusal while other connections to it succeeded, or a lone SYN the capture
        # cannot tell from a capture gap: not proven to break traffic
        return Severity.WARNING
    if v.code in (VerdictCode.TUNNEL_STALL, VerdictCode.PMTU_BLACKHOLE,
                  VerdictCode.RST_ON_LARGE_SEGMENT) and v.unproven:
        # nothing was seen pending when the data stopped (an idle session remains
        # possible), smaller data vanished as well (a silent receiver or path remains), or
        # a reset answered the first data seen (a socket closed before the capture)
        return Severity.WARNING
    if v.code in CRITICAL_CODES:
        return Severity.CRITICAL
    if v.code is VerdictCode.PROXY_CONFIG_UNSUPPORTED:
        return Severity.WARNING
    if v.code is VerdictCode.PMTU_REDUCED:
        return Severity.INFO if v.confidence is Confidence.MEASURED else Severity.WARNING
    if v.code is VerdictCode.MSS_CLAMPED:
        received = v.mss_received
        for w in verdicts:
            if w.leg is v.leg and w.code in SIZE_CODES and w.limit is not None \
                    and _same_way(w.direction, v.direction):
                carried = payload_limit(w.limit)
                if received is not None and carried is not None \
                        and payload_for_mss(received, timestamps=True) > carried:
                    return Severity.WARNING   # the clamp does not keep segments small enough
        return Severity.INFO
    return Severity.WARNING


def assess(verdicts: Sequence[Verdict]) -> tuple[Verdict, ...]:
    """Each verdict with its severity decided, most severe first."""
    rated = [replace(v, severity=severity_of(v, verdicts)) for v in verdicts]
    order = {c: i for i, c in enumerate(CODE_ORDER)}
    rated.sort(key=lambda v: (-(v.severity or Severity.INFO).rank, order.get(v.code, 99)))
    return tuple(rated)


def merge_legs(legs: Iterable[LegReport]) -> tuple[LegReport, ...]:
    """One row per (leg, direction, target, step) where a step's rows agree; a row of its own
    on a clash (a number reported differently is kept twice rather than one silently
    winning)."""
    rows: list[LegReport] = []
    # Rows by key: a capture has one row per connection, thousands.
    same: dict[tuple[Leg, Direction | None, str, Step | None], list[int]] = {}
    for leg in legs:
        key = (leg.name, leg.direction, leg.target, leg.step)
        measured = leg.measurements.items()
        for i in same.get(key, ()):
            row = rows[i]
            get = row.measurements.get
            for k, v in measured:   # (a loop, not any(): this runs for every pair of rows)
                if get(k, v) != v:
                    break
            else:
                rows[i] = replace(
                    row, measurements={**row.measurements, **leg.measurements},
                    notes=tuple(dict.fromkeys((*row.notes, *leg.notes))),
                    not_measured=tuple(dict.fromkeys((*row.not_measured, *leg.not_measured))),
                    ip_version=row.ip_version or leg.ip_version,
                    sizes=row.sizes.merged(leg.sizes))
                break
        else:
            same.setdefault(key, []).append(len(rows))
            rows.append(leg)
    return tuple(rows)


# Which step's number a leg shows when two steps measured the same quantity differently
# (the report lists each step's own beside it): the step made to measure it comes first.
STEP_AUTHORITY = (Step.LOCAL, Step.PMTU, Step.MSS, Step.TUNNEL, Step.CAPTURE, Step.DIAGNOSE,
                  None)


def _authority(row: LegReport) -> int:
    return STEP_AUTHORITY.index(row.step)


def combine_leg(rows: Sequence[LegReport]) -> LegReport:
    """One leg and direction from what every step measured there: a number the steps agree
    on once, a number they disagree on from the step with the authority for it."""
    ranked = sorted(rows, key=_authority)
    values: dict[str, Number] = {}
    for key in dict.fromkeys(k for row in rows for k in row.measurements):
        found = (row.measurements.get(key) for row in ranked)
        values[key] = next((x for x in found if x is not None), None)
    sizes = LegSizes()
    for row in ranked:
        sizes = sizes.merged(row.sizes)
    return LegReport(rows[0].name, ranked[0].target, rows[0].direction, values,
                     tuple(dict.fromkeys(n for row in rows for n in row.notes)),
                     tuple(dict.fromkeys(w for row in rows for w in row.not_measured)),
                     sizes=sizes)


def combine_legs(steps: Sequence[LegReport]) -> tuple[LegReport, ...]:
    """The report's legs: one row per leg and direction (a capture keeps one per connection).
    A number a leg's direction-less row already holds is not repeated in its directed
    rows."""
    groups: dict[tuple[Leg, Direction | None], list[LegReport]] = {}
    passed: list[LegReport] = []
    for row in steps:
        if row.step is Step.CAPTURE:
            passed.append(row)
        else:
            groups.setdefault((row.name, row.direction), []).append(row)
    combined = {key: combine_leg(rows) for key, rows in groups.items()}
    out: list[LegReport] = []
    for (name, direction), leg in combined.items():
        whole = combined.get((name, None))
        m = dict(leg.measurements)
        if direction is not None:
            for key, value in (whole.measurements.items() if whole is not None else ()):
                if key in m and m[key] == value:
                    del m[key]
        out.append(replace(leg, measurements=m))
    return (*out, *passed)


Recommender = Callable[[Sequence[Verdict], Mapping[Leg, str]], tuple[Recommendation, ...]]


def default_recommender(verdicts: Sequence[Verdict], targets: Mapping[Leg, str]
                         ) -> tuple[Recommendation, ...]:
    from pathprobe.recommend import recommend

    return recommend(verdicts, targets)


def combine(measurements: Sequence[Measurement], leg2_target: str | None = None
            ) -> tuple[tuple[Verdict, ...], tuple[LegReport, ...]]:
    """Attribute, merge and rate the verdicts of all steps; merge their leg rows."""
    legs = merge_legs(leg for m in measurements for leg in m.legs)
    verdicts, legs = attribute(tuple(v for m in measurements for v in m.verdicts), legs)
    verdicts = peer_mtu_is_not_a_clamp(merge(verdicts))
    refused = [v for v in verdicts if v.code in NO_TUNNEL]
    if refused and leg2_target and not any(x.name is Leg.PROXY_UPSTREAM for x in legs):
        legs = (*legs, LegReport(Leg.PROXY_UPSTREAM, leg2_target, not_measured=(
            f"no tunnel to measure through: {refused[0].code.value}",)))
    # A HEALTHY verdict on a leg whose path has a problem says less than nothing
    # (a proxy refusal is not a path problem: leg 1 can still be healthy).
    sick = {v.leg for v in verdicts if v.code not in (VerdictCode.HEALTHY, *PROXY_CODES)}
    verdicts = tuple(v for v in verdicts if not (v.code is VerdictCode.HEALTHY and v.leg in sick))
    return assess(verdicts), legs


def with_leg_versions(verdicts: Sequence[Verdict], legs: Iterable[LegReport]
                      ) -> tuple[Verdict, ...]:
    """Each verdict that does not know its IP version takes its leg's (the recommendations'
    header sizes follow it)."""
    versions: dict[Leg, IpVersion] = {}
    for leg in legs:
        if leg.ip_version is not None:
            versions.setdefault(leg.name, leg.ip_version)
    return tuple(v if v.ip_version is not None or v.leg not in versions
                 else replace(v, ip_version=versions[v.leg]) for v in verdicts)


def finish(measurements: Sequence[Measurement], *, command: str, started: str,
           duration_s: float, partial: bool = False, interrupted: Interrupted | None = None,
           hints: bool = False, notes: Sequence[Evidence] = (),
           leg2_target: str | None = None,
           recommender: Recommender = default_recommender) -> Report:
    """The Report of one command run from its steps' Measurements (pure). ``interrupted``:
    Ctrl-C cut it short (the report is partial); ``hints``: add the lines that name the
    command's own flags (the CLI's reports)."""
    verdicts, steps = combine(measurements, leg2_target)
    verdicts = with_leg_versions(verdicts, steps)
    legs = combine_legs(steps)
    from pathprobe.render.unmeasured import (
        hint_sentences,
        interrupted_sentence,
        unmeasured_sentence,
    )

    unmeasured = tuple(u for m in measurements for u in m.unmeasured)
    errors = tuple(dict.fromkeys((
        *(unmeasured_sentence(u, command) for u in unmeasured),
        *((interrupted_sentence(interrupted, command),) if interrupted is not None else ()),
        *(hint_sentences(unmeasured, command) if hints else ()))))
    targets = {leg.name: leg.target for leg in legs}
    return Report(command=command, started=started, duration_s=duration_s, legs=legs,
                  verdicts=verdicts, recommendations=recommender(verdicts, targets),
                  partial=partial or interrupted is not None, errors=errors,
                  unmeasured=unmeasured,
                  notes=tuple(dict.fromkeys((*notes, *(n for m in measurements for n in m.notes)))),
                  steps=tuple(row for row in steps if row.step is not Step.CAPTURE))
