"""`diagnose`: run every step on every leg; ``pathprobe.findings`` decides the rest.

Each step may fail on its own: a step that cannot run is reported as not
measured, with why, never guessed; Ctrl-C stops the run and what was measured
so far is returned marked partial. Attribution, merging, severity and
recommendations are decided once, from the facts of all steps, in
``pathprobe.findings.finish``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pathprobe.errors import PathprobeError
from pathprobe.findings import finish
from pathprobe.model import Leg, LegReport, Measurement, Progress, Report, no_progress

if TYPE_CHECKING:
    from pathprobe.proxyconf import Credentials, ProxyConfig

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
    ca_file: str | None = None    # PEM CAs trusted besides the system store (TLS check)


StepFn = Callable[[], Measurement]


@dataclass(frozen=True)
class PlannedStep:
    """One step of a diagnose run: what it measures (for progress), where, and how."""

    description: str
    leg: Leg
    target: str
    run: StepFn


def _local_step(leg: Leg, host: str) -> StepFn:
    """The interface and MTU the kernel uses toward ``host`` and its cached PMTU (no packets)."""
    def step() -> Measurement:
        from pathprobe.sysinfo import resolve, route_to

        target = resolve(host)
        route = route_to(target)
        return Measurement(legs=(LegReport(leg, target.address, measurements={
            "interface": route.interface, "interface_mtu": route.interface_mtu,
            "route_pmtu": route.route_mtu}),))
    return step


def plan(cfg: DiagnoseConfig, progress: Progress) -> list[PlannedStep]:
    """The steps in order. Imports are lazy so a missing module is one step not
    measured, not a crash. No step needs another's result: the findings of all
    of them are combined afterwards."""
    steps: list[PlannedStep] = []
    if cfg.proxy is None:
        leg, host, port = Leg.FMC_UPSTREAM, cfg.target_host, cfg.target_port
    else:
        leg, host, port = Leg.FMC_PROXY, cfg.proxy.host, cfg.proxy.port

    steps.append(PlannedStep(f"local interface and route toward {host}", leg, host,
                             _local_step(leg, host)))

    def pmtu_step() -> Measurement:
        from pathprobe.pmtu import measure_pmtu

        return measure_pmtu(host, leg=leg, port=port, max_probes=cfg.max_probes,
                            progress=progress)

    def mss_step() -> Measurement:
        from pathprobe.mss import measure_mss

        return measure_mss(host, port, leg=leg, progress=progress)

    steps.append(PlannedStep(f"{leg} path MTU to {host}", leg, host, pmtu_step))
    steps.append(PlannedStep(f"{leg} handshake MSS and large segments to {host}:{port}", leg,
                             host, mss_step))
    if cfg.proxy is not None:
        proxy = cfg.proxy
        target = f"{cfg.target_host}:{cfg.target_port}"

        def tunnel_step() -> Measurement:
            from pathprobe.tunnel import measure_tunnel

            return measure_tunnel(proxy, target, credentials=cfg.credentials,
                                  reflector=cfg.reflector, progress=progress,
                                  ca_file=cfg.ca_file)

        steps.append(PlannedStep(f"CONNECT {target} via {proxy.display} and leg 2 inside the "
                                 "tunnel", Leg.PROXY_UPSTREAM, target, tunnel_step))
    return steps


def not_measured(leg: Leg, target: str, description: str, why: str) -> Measurement:
    """A step that could not run: the leg row says so and the report lists why."""
    line = f"{description}: {why}"
    return Measurement(legs=(LegReport(leg, target, not_measured=(line,)),), errors=(line,))


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
    for step in steps:
        try:
            # progress inside the try: Ctrl-C right after the line is printed still
            # yields the partial report, not a bare "interrupted".
            progress(f"{step.description} ...")
            done.append(step.run())
        except KeyboardInterrupt:
            partial = True
            extra.append(f"interrupted during: {step.description}")
            break
        except PathprobeError as e:
            progress(f"{step.description}: not measured: {e}")
            done.append(not_measured(step.leg, step.target, step.description, str(e)))
        except ImportError as e:
            done.append(not_measured(step.leg, step.target, step.description,
                                     f"this build cannot measure it ({e})"))
    return finish(done, command="diagnose", started=started, duration_s=clock() - t0,
                  partial=partial, extra_errors=extra, leg2_target=leg2_target)


def run_diagnose(cfg: DiagnoseConfig, *, started: str, progress: Progress = no_progress
                 ) -> Report:
    """Plan the steps for ``cfg`` and run them (after the static checks of the proxy setting,
    whose findings never stop the measurement)."""
    from pathprobe.proxyconf import config_findings

    return run_steps(plan(cfg, progress), started=started, progress=progress,
                     done=[config_findings(cfg.proxy)],
                     leg2_target=f"{cfg.target_host}:{cfg.target_port}" if cfg.proxy else None)
