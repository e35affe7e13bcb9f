"""`diagnose`: run every step on every leg, then attribute, summarise and recommend.

Two halves. The pure half (``merge_legs``, ``attribute``, ``summarize``,
``build_report``) decides; it is unit-tested with fixed Measurements. The
orchestration half (``run_diagnose``) calls the measuring steps, each of which
may fail on its own: a step that cannot run is reported as not measured, with
why, never guessed; Ctrl-C stops the run and what was measured so far is
returned marked partial.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from pathprobe.errors import PathprobeError
from pathprobe.model import (
    Confidence,
    Direction,
    Leg,
    LegReport,
    Measurement,
    Number,
    Progress,
    Report,
    Verdict,
    VerdictCode,
    no_progress,
)
from pathprobe.recommend import IPV4_OVERHEAD, IPV6_OVERHEAD, recommend

if TYPE_CHECKING:
    from pathprobe.proxyconf import Credentials, ProxyConfig

LEG_LABEL = {
    Leg.FMC_PROXY.value: "leg 1 (fmc-proxy)",
    Leg.PROXY_UPSTREAM.value: "leg 2 (proxy-upstream)",
    Leg.FMC_UPSTREAM.value: "fmc-upstream",
}

# Most important first: the summary line leads with what breaks the transfer.
SEVERITY = (
    VerdictCode.PROXY_UNREACHABLE, VerdictCode.PROXY_DENIED, VerdictCode.PROXY_AUTH_UNSUPPORTED,
    VerdictCode.PROXY_AUTH_REQUIRED, VerdictCode.PROXY_UPSTREAM_ERROR,
    VerdictCode.CONNECT_NO_RESPONSE, VerdictCode.PMTU_BLACKHOLE,
    VerdictCode.RST_ON_LARGE_SEGMENT, VerdictCode.TUNNEL_STALL, VerdictCode.PMTU_REDUCED,
    VerdictCode.MSS_CLAMPED, VerdictCode.HEALTHY,
)


# --------------------------------------------------------------------------- pure rules

def _num(numbers: Mapping[str, Number], *keys: str) -> int | None:
    for key in keys:
        value = numbers.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def merge_legs(legs: Iterable[LegReport]) -> tuple[LegReport, ...]:
    """One row per (leg, direction) where steps agree; a row of its own on a clash.

    Steps report the same leg separately (pmtu, mss, the local interface);
    merging them gives the table an engineer reads. A number two steps both
    report differently is kept in two rows rather than one silently winning.
    """
    rows: list[LegReport] = []
    for leg in legs:
        for i, row in enumerate(rows):
            if (row.name, row.direction, row.target) != (leg.name, leg.direction, leg.target):
                continue
            clash = any(k in row.measurements and row.measurements[k] != v
                        for k, v in leg.measurements.items())
            if clash:
                continue
            rows[i] = replace(
                row, measurements={**row.measurements, **leg.measurements},
                notes=tuple(dict.fromkeys((*row.notes, *leg.notes))),
                not_measured=tuple(dict.fromkeys((*row.not_measured, *leg.not_measured))))
            break
        else:
            rows.append(leg)
    return tuple(rows)


TCP_TIMESTAMPS = 12  # bytes of TCP options in every segment when timestamps are on (Linux default)


def leg1_max_payload(legs: Iterable[LegReport], ipv6: bool = False) -> int | None:
    """Largest TCP payload per segment leg 1 is proven to carry, if known.

    A measured ``max_payload`` (sized segments) is exact; from a PMTU alone
    the timestamps option is assumed, so the figure is never above the truth.
    """
    overhead = (IPV6_OVERHEAD if ipv6 else IPV4_OVERHEAD) + TCP_TIMESTAMPS
    sizes: list[int] = []
    for leg in legs:
        if leg.name != Leg.FMC_PROXY.value:
            continue
        payload = _num(leg.measurements, "max_payload")
        if payload is not None:
            sizes.append(payload)
        for key in ("pmtu", "pmtu_up", "pmtu_down", "pmtu_low"):
            mtu = _num(leg.measurements, key)
            if mtu is not None:
                sizes.append(mtu - overhead)
    return min(sizes) if sizes else None


def _same_way(leg1: Verdict, leg2: Verdict) -> bool:
    """Whether a leg-1 problem lies on the way a leg-2 finding's packets travelled."""
    both = (None, Direction.BOTH)
    return leg1.direction in both or leg2.direction in both or leg1.direction is leg2.direction


SIZE_CODES = (VerdictCode.PMTU_BLACKHOLE, VerdictCode.RST_ON_LARGE_SEGMENT,
              VerdictCode.TUNNEL_STALL)
# Findings about the proxy itself rather than a leg's path.
PROXY_CODES = (VerdictCode.PROXY_DENIED, VerdictCode.PROXY_AUTH_REQUIRED,
               VerdictCode.PROXY_AUTH_UNSUPPORTED, VerdictCode.PROXY_UPSTREAM_ERROR,
               VerdictCode.PROXY_UNREACHABLE, VerdictCode.CONNECT_NO_RESPONSE)
# Those that leave no tunnel to measure leg 2 through.
NO_TUNNEL = tuple(c for c in PROXY_CODES if c is not VerdictCode.PROXY_UPSTREAM_ERROR)


def attribute(verdicts: Sequence[Verdict], legs: Sequence[LegReport]
              ) -> tuple[tuple[Verdict, ...], tuple[LegReport, ...]]:
    """Put each size problem on the leg the numbers prove, never on the other one.

    Tunnel probes cross leg 1 before leg 2. When leg 1 itself stops segments
    the same way at or below the size where the tunnel stalled, the stall is
    leg 1's: the leg-2 verdict is dropped and leg 2 is noted as carrying *at
    least* that much (all that is proven). When leg 1's limit is unknown the
    leg-2 verdict stays but becomes inferred. A leg-2 problem below what leg 1
    carries stays measured, with that as evidence, so nobody lowers the FMC's
    MTU for a proxy-side fault.
    """
    leg1_limit = leg1_max_payload(legs)
    leg1_size_problem = [v for v in verdicts if v.leg == Leg.FMC_PROXY.value
                         and v.code in SIZE_CODES]
    leg1_healthy = any(v.leg == Leg.FMC_PROXY.value and v.code is VerdictCode.HEALTHY
                       for v in verdicts)
    out: list[Verdict] = []
    leg2_notes: list[tuple[Direction | None, str]] = []
    for v in verdicts:
        if v.leg != Leg.PROXY_UPSTREAM.value or v.code not in SIZE_CODES:
            out.append(v)
            continue
        payload = _num(v.numbers, "max_payload")
        evidence = list(v.evidence)
        confidence = v.confidence
        leg1_in_the_way = any(_same_way(p, v) for p in leg1_size_problem)
        if leg1_in_the_way and leg1_limit is not None and payload is not None \
                and payload >= leg1_limit:
            leg2_notes.append((v.direction, (
                f"carries at least {payload} payload bytes per segment; larger ones could not "
                f"be tested: leg 1 stops segments above {leg1_limit} (fix leg 1, then rerun)")))
            continue
        below_leg1 = leg1_limit is not None and payload is not None and payload < leg1_limit
        if leg1_in_the_way and not below_leg1:
            confidence = Confidence.INFERRED
            evidence.append("leg 1 also loses or resets large packets; this leg-2 finding may "
                            "be leg 1's: fix leg 1 first and rerun")
        elif any(e.startswith("leg 1 ") or ", leg 1 " in e or "; leg 1 " in e
                 or "on leg 2" in e for e in evidence):
            pass  # the step already says why this is leg 2's
        elif below_leg1:
            evidence.append(f"leg 1 carries {leg1_limit} payload bytes per segment, so "
                            "segments are lost after the proxy, on leg 2")
        elif leg1_healthy:
            evidence.append("leg 1 measured healthy, so the loss is after the proxy, on leg 2")
        out.append(replace(v, evidence=tuple(evidence), confidence=confidence))
    new_legs = []
    for leg in legs:
        notes = [n for d, n in leg2_notes if leg.name == Leg.PROXY_UPSTREAM.value
                 and (d is None or leg.direction in (None, d))]
        new_legs.append(replace(leg, notes=(*leg.notes, *notes)) if notes else leg)
    return tuple(out), tuple(new_legs)


def leg1_size_limit(measurements: Iterable[Measurement], ipv6: bool = False) -> int | None:
    """The payload per segment above which leg 1 itself loses or resets segments going up.

    None when the leg-1 steps proved no such limit: then leg 1 carries every
    segment the FMC's TCP sends, and writes of any size cross it (split into
    segments of at most the negotiated MSS).
    """
    overhead = (IPV6_OVERHEAD if ipv6 else IPV4_OVERHEAD) + TCP_TIMESTAMPS
    limits: list[int] = []
    for m in measurements:
        for v in m.verdicts:
            if v.leg != Leg.FMC_PROXY.value or v.code not in SIZE_CODES \
                    or v.direction is Direction.DOWN:
                continue
            payload = _num(v.numbers, "max_payload")
            mtu = _num(v.numbers, "mtu", "pmtu", "pmtu_low")
            if payload is not None:
                limits.append(payload)
            elif mtu is not None:
                limits.append(mtu - overhead)
    return min(limits) if limits else None


def tunnel_leg1_payload(measurements: Sequence[Measurement], ipv6: bool = False) -> int | None:
    """What to tell the tunnel step about leg 1: its proven size limit, else what it carries."""
    limit = leg1_size_limit(measurements, ipv6)
    if limit is not None:
        return limit
    return leg1_max_payload((leg for m in measurements for leg in m.legs), ipv6)


def reattribute_tunnel(tunnel: Measurement, leg1: Sequence[Measurement]) -> Measurement:
    """Give back to leg 2 a tunnel finding the tunnel step put on leg 1 without cause.

    The tunnel step blames leg 1 when a write larger than what leg 1 is known
    to carry per segment fails. But when the leg-1 steps found no size limit,
    leg 1 carries every segment the FMC's TCP sends (at most its negotiated
    MSS), and larger writes cross it split into such segments: the loss is on
    leg 2. (Seen without root behind an MSS clamp, where leg 1 can only be
    tested up to the clamp.)
    """
    if leg1_size_limit(leg1) is not None:
        return tunnel
    measured_leg1 = any(v.leg == Leg.FMC_PROXY.value and v.confidence is Confidence.MEASURED
                        for m in leg1 for v in m.verdicts)
    out = []
    for v in tunnel.verdicts:
        if v.leg == Leg.FMC_PROXY.value and v.code in SIZE_CODES and \
                v.direction is not Direction.DOWN:
            evidence = [e for e in v.evidence if "not blamed on leg 2" not in e]
            evidence.append("leg 1 showed no size limit for the segments the FMC sends (they "
                            "are bounded by the negotiated MSS); larger writes cross leg 1 "
                            "split into such segments, so the loss is on leg 2")
            v = replace(v, leg=Leg.PROXY_UPSTREAM.value, evidence=tuple(evidence),
                        confidence=Confidence.MEASURED if measured_leg1
                        else Confidence.INFERRED)
        out.append(v)
    return replace(tunnel, verdicts=tuple(out))


def _dir_words(v: Verdict) -> str:
    if v.direction is Direction.UP:
        return " going up (toward the upstream)"
    if v.direction is Direction.DOWN:
        return " coming down (toward the FMC)"
    return ""


def phrase(v: Verdict) -> str:
    """A few words for one verdict, for the summary line."""
    n = v.numbers
    measured_mtu = _num(n, "mtu", "pmtu")
    mtu = _num(n, "mtu", "pmtu", "pmtu_low")
    payload = _num(n, "max_payload")
    code = v.code
    if code is VerdictCode.PMTU_BLACKHOLE:
        if payload is not None and measured_mtu is None:
            return f"drops segments above {payload} payload bytes{_dir_words(v)}"
        size = f"above {mtu} bytes" if mtu is not None else "above some size"
        return f"silently drops packets {size}{_dir_words(v)}"
    if code is VerdictCode.PMTU_REDUCED:
        return f"path MTU {mtu if mtu is not None else '?'} (ICMP signalled; PMTUD works)"
    if code is VerdictCode.MSS_CLAMPED:
        sent, got = _num(n, "mss_sent"), _num(n, "mss_received")
        return f"MSS clamped {sent if sent is not None else '?'}->{got if got is not None else '?'}"
    if code is VerdictCode.RST_ON_LARGE_SEGMENT:
        if measured_mtu is not None:
            return f"resets packets above {measured_mtu} bytes{_dir_words(v)}"
        if payload is not None:
            return f"resets segments above {payload} payload bytes{_dir_words(v)}"
        return f"resets large segments{_dir_words(v)}"
    if code is VerdictCode.TUNNEL_STALL:
        return "tunnel stalls" + (f" above {payload} payload bytes" if payload else "") + (
            _dir_words(v))
    if code is VerdictCode.PROXY_DENIED:
        status = _num(n, "status")
        return f"proxy refuses CONNECT ({status or 403})"
    if code is VerdictCode.PROXY_AUTH_REQUIRED:
        return "proxy wants authentication (407)"
    if code is VerdictCode.PROXY_AUTH_UNSUPPORTED:
        return "proxy offers only authentication the FMC cannot use (NTLM/Negotiate)"
    if code is VerdictCode.PROXY_UPSTREAM_ERROR:
        status = _num(n, "status")
        return f"proxy cannot reach the target ({status or 'error'})"
    if code is VerdictCode.PROXY_UNREACHABLE:
        return "no TCP connection to the proxy"
    if code is VerdictCode.CONNECT_NO_RESPONSE:
        return "CONNECT sent, no HTTP answer"
    return "healthy"


def _rank(v: Verdict) -> int:
    return SEVERITY.index(v.code) if v.code in SEVERITY else len(SEVERITY)


def summarize(verdicts: Sequence[Verdict], legs: Sequence[LegReport],
              errors: Sequence[str] = ()) -> str:
    """The one line an engineer reads first, most serious finding first.

    e.g. "leg 2 (proxy-upstream) drops segments above 1348 payload bytes going
    up; leg 1 (fmc-proxy) MSS clamped 1460->1300".
    """
    order = [Leg.FMC_PROXY.value, Leg.PROXY_UPSTREAM.value, Leg.FMC_UPSTREAM.value]
    names = [n for n in order if any(x.name == n for x in legs) or
             any(v.leg == n for v in verdicts)]
    if any(v.code in NO_TUNNEL for v in verdicts) and Leg.PROXY_UPSTREAM.value not in names:
        names.append(Leg.PROXY_UPSTREAM.value)
    names += sorted({v.leg for v in verdicts} - set(names))
    by_leg: dict[str, list[Verdict]] = {n: [] for n in names}
    for v in verdicts:
        by_leg[v.leg].append(v)
    problems = sorted((v for v in verdicts if v.code is not VerdictCode.HEALTHY), key=_rank)
    parts: list[str] = []
    said: set[str] = set()
    phrased: set[tuple[str, VerdictCode, Direction | None]] = set()
    for v in problems:
        if (v.leg, v.code, v.direction) in phrased:
            continue  # two steps found the same thing: say it once
        phrased.add((v.leg, v.code, v.direction))
        label = LEG_LABEL.get(v.leg, v.leg)
        text = phrase(v)
        if v.confidence is Confidence.INFERRED:
            text += " (inferred)"
        if v.code in PROXY_CODES:
            parts.append(text)  # about the proxy, not the path: no leg label
        elif v.leg in said:
            parts.append(text)
        else:
            parts.append(f"{label} {text}")
            said.add(v.leg)
    for name in names:
        if name in said:
            continue
        label = LEG_LABEL.get(name, name)
        if any(v.code is VerdictCode.HEALTHY for v in by_leg.get(name, [])):
            parts.append(f"{label} healthy")
        elif any(x.not_measured for x in legs if x.name == name):
            parts.append(f"{label} not measured")
        elif name == Leg.PROXY_UPSTREAM.value and any(v.code in NO_TUNNEL for v in verdicts):
            parts.append(f"{label} not measured (no tunnel)")
        elif name == Leg.PROXY_UPSTREAM.value and (
                any(n.startswith("carries at least") for x in legs if x.name == name
                    for n in x.notes)
                or any(v.leg == Leg.FMC_PROXY.value and v.code in SIZE_CODES
                       for v in verdicts)):
            parts.append(f"{label} untested above leg 1's limit")
    if not parts:
        return "nothing could be measured" + (f": {errors[0]}" if errors else "")
    line = "; ".join(parts)
    if errors and not problems:
        line += f" ({len(errors)} step(s) not measured)"
    return line


def build_report(measurements: Sequence[Measurement], *, started: str, duration_s: float,
                 partial: bool = False, extra_errors: Sequence[str] = (),
                 command: str = "diagnose", leg2_target: str | None = None) -> Report:
    """Combine the steps' Measurements into the final Report (pure)."""
    legs = merge_legs(leg for m in measurements for leg in m.legs)
    verdicts, legs = attribute(tuple(v for m in measurements for v in m.verdicts), legs)
    refused = [v for v in verdicts if v.code in NO_TUNNEL]
    if refused and leg2_target and not any(x.name == Leg.PROXY_UPSTREAM.value for x in legs):
        # Say so in the leg rows too, not only in the summary: JSON readers look there.
        legs = (*legs, LegReport(Leg.PROXY_UPSTREAM.value, leg2_target, not_measured=(
            f"no tunnel to measure through: {refused[0].code.value}",)))
    # A HEALTHY verdict on a leg whose path has a problem says less than nothing
    # (a proxy refusal is not a path problem: leg 1 can still be healthy).
    sick = {v.leg for v in verdicts if v.code not in (VerdictCode.HEALTHY, *PROXY_CODES)}
    verdicts = tuple(v for v in verdicts if not (v.code is VerdictCode.HEALTHY and v.leg in sick))
    verdicts = tuple({json.dumps(v.to_json(), sort_keys=True): v for v in verdicts}.values())
    errors = tuple(dict.fromkeys((*(e for m in measurements for e in m.errors), *extra_errors)))
    targets = {leg.name: leg.target for leg in legs}
    return Report(command=command, started=started, duration_s=duration_s, legs=legs,
                  verdicts=verdicts, recommendations=recommend(verdicts, targets),
                  summary=summarize(verdicts, legs, errors), partial=partial, errors=errors)


# --------------------------------------------------------------------------- orchestration

@dataclass(frozen=True)
class DiagnoseConfig:
    """What to diagnose: the proxy (None: direct), the target, optional credentials/reflector."""

    target_host: str
    target_port: int = 443
    proxy: ProxyConfig | None = None
    credentials: Credentials | None = field(default=None, repr=False)
    reflector: str | None = None
    max_probes: int = 100


Step = Callable[[], Measurement]
PlannedStep = tuple[str, str, str, Step]  # (description, leg, target, step)


def _local_step(leg: str, host: str) -> Step:
    """The interface and MTU the kernel uses toward ``host`` and its cached PMTU (no packets)."""
    def step() -> Measurement:
        from pathprobe.sysinfo import resolve, route_to

        target = resolve(host)
        route = route_to(target)
        return Measurement(legs=(LegReport(leg, target.address, measurements={
            "interface": route.interface, "interface_mtu": route.interface_mtu,
            "route_pmtu": route.route_mtu}),))
    return step


def _is_ip_v6(host: str) -> bool:
    return host.count(":") > 1


def plan(cfg: DiagnoseConfig, progress: Progress,
         done_so_far: Callable[[], Sequence[Measurement]] = list) -> list[PlannedStep]:
    """The steps in order: (description, leg, target, step). Imports are lazy so a
    missing module is one step not measured, not a crash."""
    steps: list[PlannedStep] = []
    if cfg.proxy is None:
        leg, host, port = Leg.FMC_UPSTREAM.value, cfg.target_host, cfg.target_port
    else:
        leg, host, port = Leg.FMC_PROXY.value, cfg.proxy.host, cfg.proxy.port

    steps.append((f"local interface and route toward {host}", leg, host, _local_step(leg, host)))

    def pmtu_step() -> Measurement:
        from pathprobe.pmtu import measure_pmtu

        return measure_pmtu(host, leg=leg, port=port, max_probes=cfg.max_probes,
                            progress=progress)

    def mss_step() -> Measurement:
        from pathprobe.mss import measure_mss

        return measure_mss(host, port, leg=leg, progress=progress)

    steps.append((f"{leg} path MTU to {host}", leg, host, pmtu_step))
    steps.append((f"{leg} handshake MSS and large segments to {host}:{port}", leg, host,
                  mss_step))
    if cfg.proxy is not None:
        proxy = cfg.proxy
        target = f"{cfg.target_host}:{cfg.target_port}"

        def tunnel_step() -> Measurement:
            from pathprobe.tunnel import measure_tunnel

            leg1 = done_so_far()
            measured = measure_tunnel(
                proxy, target, credentials=cfg.credentials, reflector=cfg.reflector,
                leg1_max_payload=tunnel_leg1_payload(leg1, _is_ip_v6(proxy.host)),
                progress=progress)
            return reattribute_tunnel(measured, leg1)

        steps.append((f"CONNECT {target} via {proxy.display} and leg 2 inside the tunnel",
                      Leg.PROXY_UPSTREAM.value, target, tunnel_step))
    return steps


def not_measured(leg: str, target: str, description: str, why: str) -> Measurement:
    """A step that could not run: the leg row says so and the report lists why."""
    line = f"{description}: {why}"
    return Measurement(legs=(LegReport(leg, target, not_measured=(line,)),), errors=(line,))


def timed(m: Measurement, seconds: float) -> Measurement:
    """The step's wall time on its leg rows that carry no duration of their own
    (steps that only read local state and conclude nothing are left alone)."""
    if not m.verdicts:
        return m
    legs = tuple(leg if "duration_s" in leg.measurements else replace(
        leg, measurements={**leg.measurements, "step_s": round(seconds, 3)}) for leg in m.legs)
    return replace(m, legs=legs)


def run_steps(steps: Iterable[PlannedStep], *, started: str, progress: Progress = no_progress,
              clock: Callable[[], float] = time.monotonic,
              done: list[Measurement] | None = None, leg2_target: str | None = None) -> Report:
    """Run (description, leg, target, step) in order, each failure contained.

    A PathprobeError (or a measuring module this build lacks) makes that step
    "not measured, because ..."; Ctrl-C stops the run and returns what was
    measured so far, marked partial.
    """
    t0 = clock()
    done = [] if done is None else done
    extra: list[str] = []
    partial = False
    for description, leg, target, step in steps:
        try:
            # progress inside the try: Ctrl-C right after the line is printed still
            # yields the partial report, not a bare "interrupted".
            progress(f"{description} ...")
            t_step = clock()
            done.append(timed(step(), clock() - t_step))
        except KeyboardInterrupt:
            partial = True
            extra.append(f"interrupted during: {description}")
            break
        except PathprobeError as e:
            progress(f"{description}: not measured: {e}")
            done.append(not_measured(leg, target, description, str(e)))
        except ImportError as e:
            done.append(not_measured(leg, target, description,
                                     f"this build cannot measure it ({e})"))
    return build_report(done, started=started, duration_s=clock() - t0, partial=partial,
                        extra_errors=extra, leg2_target=leg2_target)


def run_diagnose(cfg: DiagnoseConfig, *, started: str, progress: Progress = no_progress
                 ) -> Report:
    """Plan the steps for ``cfg`` and run them; leg 1's result feeds the tunnel step."""
    done: list[Measurement] = []
    return run_steps(plan(cfg, progress, lambda: tuple(done)), started=started,
                     progress=progress, done=done,
                     leg2_target=f"{cfg.target_host}:{cfg.target_port}" if cfg.proxy else None)
