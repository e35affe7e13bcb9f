"""`diagnose`, the plan: every step on every leg, run in order.

(The command is pathprobe.commands.diagnose, the library call pathprobe.api.diagnose;
this module is not named ``diagnose`` so that ``from pathprobe import diagnose`` is
the function.)

Each step may fail on its own: a step that cannot run is reported as not
measured, with why, never guessed; Ctrl-C stops the run and what was measured
so far is kept, marked partial (``pathprobe.runner``). Attribution, merging,
severity and recommendations are decided once, from the facts of all steps, in
``pathprobe.findings.finish``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pathprobe.errors import PathprobeError
from pathprobe.findings import SIZE_CODES, leg1_size_limit
from pathprobe.model import (
    Direction,
    Leg,
    LegReport,
    Measurement,
    Progress,
    Step,
    Unmeasured,
    UnmeasuredReason,
    no_progress,
)
from pathprobe.proxyconf import config_findings
from pathprobe.runner import InterruptedDuring
from pathprobe.wire.hostport import HostPort

if TYPE_CHECKING:
    from pathprobe.model import Credentials, ProxyConfig

# --------------------------------------------------------------------------- orchestration

@dataclass(frozen=True)
class DiagnoseConfig:
    """What to diagnose: the proxy (None: direct), the target, optional credentials/reflector."""

    target: HostPort
    proxy: ProxyConfig | None = None
    credentials: Credentials | None = field(default=None, repr=False)
    reflector: HostPort | None = None
    max_probes: int = 100
    ca_file: str | None = None    # PEM CAs trusted besides the system store (TLS check)

    def measure(self, progress: Progress) -> Iterator[Measurement]:
        """The whole run: the proxy setting's own finding first (one the FMC cannot use;
        the steps go on), then every step of the plan in order."""
        if self.proxy is not None:
            progress(f"proxy {self.proxy.display} (from {self.proxy.source}), "
                     f"target {self.target}")
        yield config_findings(self.proxy)
        yield from measure_steps(plan(self, progress), progress)


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
        from pathprobe.probes.kernel import resolve, route_to

        target = resolve(host)
        route = route_to(target)
        return Measurement(legs=(LegReport(leg, target.address, measurements={
            "interface": route.interface, "interface_mtu": route.interface_mtu,
            "route_pmtu": route.route_mtu}, step=Step.LOCAL),))
    return step


@dataclass
class Proven:
    """What pmtu (and then mss) proved about the first leg, for later steps to aim with.

    Only aiming: the mss step probes the proven MTU first (and still confirms it
    itself) and keeps its peer probe's reply within a proven limit on the way
    back; the tunnel keeps its segments within leg 1's proven payload, so leg 1's
    loss timeouts are not waited for twice and leg 2 is measured beyond leg 1's
    limit. Nothing proven: every step searches on its own.
    """

    mtu: int | None = None          # the leg's exact path MTU below its interface's
    up_payload: int | None = None   # TCP payload per segment leg 1 carries up
    down_payload: int | None = None  # ... and down

    def learn(self, m: Measurement, leg: Leg) -> None:
        """Add what one step proved (the least of each limit stays)."""
        exact = [v.limit.mtu for v in m.verdicts if v.leg is leg and v.code in SIZE_CODES
                 and v.limit is not None and v.limit.exact and v.limit.mtu is not None]
        self.mtu = _least(self.mtu, min(exact) if exact else None)
        if leg is Leg.FMC_PROXY:
            # IPv6 headers assumed: 20 bytes under an IPv4 leg's limit, never above either.
            self.up_payload = _least(self.up_payload,
                                     leg1_size_limit(m.verdicts, Direction.UP, 6))
            self.down_payload = _least(self.down_payload,
                                       leg1_size_limit(m.verdicts, Direction.DOWN, 6))


def _least(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else min(a, b)


def plan(cfg: DiagnoseConfig, progress: Progress) -> list[PlannedStep]:
    """The steps in order. Imports are lazy so a missing module is one step not
    measured, not a crash. Later steps aim with what earlier steps proved (``Proven``) but
    measure on their own; the findings of all of them are combined afterwards."""
    steps: list[PlannedStep] = []
    proven = Proven()
    if cfg.proxy is None:
        leg, host, port = Leg.FMC_UPSTREAM, cfg.target.host, cfg.target.port
    else:
        leg, host, port = Leg.FMC_PROXY, cfg.proxy.host, cfg.proxy.port

    steps.append(PlannedStep(f"local interface and route toward {host}", leg, host,
                             _local_step(leg, host)))

    def pmtu_step() -> Measurement:
        from pathprobe.pmtu import measure_pmtu

        m = measure_pmtu(host, leg=leg, port=port, max_probes=cfg.max_probes,
                         progress=progress)
        proven.learn(m, leg)
        return m

    def mss_step() -> Measurement:
        from pathprobe.mss import measure_mss

        m = measure_mss(host, port, leg=leg, progress=progress, expected_mtu=proven.mtu,
                        down_payload=proven.down_payload)
        proven.learn(m, leg)
        return m

    steps.append(PlannedStep(f"{leg} path MTU to {host}", leg, host, pmtu_step))
    steps.append(PlannedStep(f"{leg} handshake MSS and large segments to "
                             f"{HostPort(host, port)}", leg, host, mss_step))
    if cfg.proxy is not None:
        proxy = cfg.proxy
        target = cfg.target

        def tunnel_step() -> Measurement:
            from pathprobe.tunnel import measure_tunnel

            return measure_tunnel(proxy, target, credentials=cfg.credentials,
                                  reflector=cfg.reflector, progress=progress,
                                  leg1_payload=proven.up_payload,
                                  ca_file=cfg.ca_file)

        steps.append(PlannedStep(f"CONNECT {target} via {proxy.display} and leg 2 inside the "
                                 "tunnel", Leg.PROXY_UPSTREAM, str(target), tunnel_step))
    return steps


def not_measured(leg: Leg, target: str, description: str, why: str) -> Measurement:
    """A step that could not run: the leg row says so and the report lists why (typed:
    it decides the exit status)."""
    from pathprobe.render.unmeasured import unmeasured_sentence

    u = Unmeasured(Step.DIAGNOSE, UnmeasuredReason.STEP_FAILED, target, method=description,
                   cause=why)
    return Measurement(legs=(LegReport(leg, target, not_measured=(
        unmeasured_sentence(u, "diagnose"),)),), unmeasured=(u,))


def measure_steps(steps: Iterable[PlannedStep], progress: Progress = no_progress
                  ) -> Iterator[Measurement]:
    """Each step's Measurement in order, each failure contained.

    A PathprobeError (or a measuring module this build lacks) makes that step
    "not measured, because ..."; Ctrl-C ends the run, naming the step it stopped
    (``runner.measure_report`` keeps what was measured so far, marked partial).
    """
    for step in steps:
        try:
            # progress inside the try: Ctrl-C right after the line is printed still
            # names the step.
            progress(f"{step.description} ...")
            m = step.run()
        except KeyboardInterrupt:
            raise InterruptedDuring(step.description) from None
        except PathprobeError as e:
            progress(f"{step.description}: not measured: {e}")
            m = not_measured(step.leg, step.target, step.description, str(e))
        except ImportError as e:
            m = not_measured(step.leg, step.target, step.description,
                             f"this build cannot measure it ({e})")
        yield m
