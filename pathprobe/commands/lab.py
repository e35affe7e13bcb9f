"""`pathprobe lab`: the built-in network-namespace lab (Linux, root)."""

import json
import sys
from dataclasses import replace
from typing import Annotated, Optional

import typer

from pathprobe.errors import Interrupted, UsageError
from pathprobe.interrupts import first_interrupt
from pathprobe.lab import topology as topo
from pathprobe.model import Direction, ExitStatus

LAB_HELP = f"""Build the lab fmc -- r1 -- proxy -- r2 -- upstream in network namespaces,
with a real squid on {topo.PROXY_URL}, a TLS upstream {topo.UPSTREAM_NAME} ({topo.UPSTREAM_V4}),
and faults on leg 1 (fmc-proxy, router r1) or leg 2 (proxy-upstream, router r2).
With --fmcs N, fmc2..fmcN join r1 on links of their own (fmcK at 198.18.(10+K).2),
each with its own leg-1 faults (--fault ...@fmcK); with --ssh each FMC runs an
sshd on its lab address (root by key, keys made for this lab), e.g. for Ansible.

Addresses come only from 198.18.0.0/15 and 2001:db8::/32; no namespace has a
default route, so nothing leaves the lab. Namespaces are named with the prefix
from ${topo.PREFIX_ENV} (default '{topo.DEFAULT_PREFIX}'). Needs root."""

lab_app = typer.Typer(help=LAB_HELP, no_args_is_help=True, add_completion=False,
                      rich_markup_mode=None)


def _say(message: str) -> None:
    sys.stderr.write(f"lab: {message}\n")


def _prefix() -> str:
    try:
        return topo.lab_prefix()
    except ValueError as e:
        raise UsageError(str(e)) from None


@lab_app.command("list")
def lab_list() -> None:
    """List the scenarios, one a line, and the fault kinds usable with --fault."""
    width = max(len(n) for n in topo.SCENARIOS)
    for scenario in topo.SCENARIOS.values():
        typer.echo(f"{scenario.name:<{width}}  {scenario.description}")
    typer.echo("\nfault kinds for --fault KIND:LEG:DIRECTION:N[@FMC]:")
    for kind, text in topo.FAULT_HELP.items():
        typer.echo(f"  {kind.value:<11} {text}")


@lab_app.command("up")
def lab_up(
    scenario: Annotated[str, typer.Argument(help="Scenario name (see 'pathprobe lab list').")
                        ] = "healthy",
    param: Annotated[Optional[int], typer.Option(
        "--param", metavar="N",
        help="Size N of the scenario's main fault (bytes; for clamp, the MSS).")
    ] = None,
    leg: Annotated[Optional[int], typer.Option(
        "--leg", min=1, max=2, help="Put the main fault on leg 1 (fmc-proxy) or 2 "
        "(proxy-upstream).")] = None,
    direction: Annotated[Optional[Direction], typer.Option(
        "--direction", "-d", help="Direction of the main fault: up (towards the upstream), "
        "down, or both.")] = None,
    fmcs: Annotated[int, typer.Option(
        "--fmcs", min=1, max=topo.MAX_FMCS, metavar="N",
        help="FMC nodes: fmc, fmc2 ... fmcN, each on its own link to r1 and subnet "
             "(fmcK: 198.18.(10+K).2). A leg-1 --fault with @FMC is on that FMC's link "
             "only (e.g. blackhole:1:both:1372@fmc2); with N > 1 one without @FMC is on "
             "fmc's link.")] = 1,
    ssh: Annotated[bool, typer.Option(
        "--ssh", help="Run an sshd in every FMC on its lab address (root, key only); the "
                      "keys and an ssh_config are made for this lab and removed with it "
                      "('lab status' shows where).")] = False,
    fault: Annotated[Optional[list[str]], typer.Option(
        "--fault", help="Add a fault KIND:LEG:DIRECTION:N (repeatable), e.g. rst:1:up:1300.")
    ] = None,
    intercept: Annotated[bool, typer.Option(
        "--intercept", help="The proxy also decrypts TLS to port 443 (squid ssl-bump with a "
        f"lab CA, {topo.PROXY_CA_CERT} in the lab's work directory); the 'intercept' "
        "scenario is 'healthy' with this.")] = False,
) -> None:
    """Build (or replace) the lab for SCENARIO and wait until proxy and upstream accept.

    \b
    Examples:
      pathprobe lab up blackhole
      pathprobe lab up auth-basic --fmcs 3 --fault blackhole:1:both:1372@fmc2 \\
          --fault clamp:1:both:1300@fmc3 --ssh
      pathprobe lab exec --node fmc2 -- pathprobe diagnose
    """
    from pathprobe.lab.manager import up

    if scenario not in topo.SCENARIOS:
        raise UsageError(f"unknown scenario {scenario!r}; choose one of: "
                         f"{', '.join(topo.SCENARIOS)}")
    try:
        extra = [topo.Fault.parse(spec) for spec in fault or []]
        chosen = topo.SCENARIOS[scenario].with_overrides(param, leg, direction, extra)
        if intercept:
            chosen = replace(chosen, intercept=True)
    except ValueError as e:
        raise UsageError(str(e)) from None
    first_interrupt()  # after the one that removes the lab, Ctrl-C cannot cut its message
    try:
        state = up(chosen, _prefix(), _say, fmcs=fmcs, ssh=ssh)
    except KeyboardInterrupt:
        raise Interrupted("interrupted: the lab was removed") from None
    _say(f"'{state.scenario}' ready in {state.ready_s:.2f} s")
    for spec in state.faults:
        _say(f"fault: {topo.Fault.parse(spec).describe()}")
    if state.intercept:
        _say(f"the proxy decrypts TLS; its CA: {state.workdir}/{topo.PROXY_CA_CERT}")
    _say(f"proxy {topo.PROXY_URL}, target {topo.UPSTREAM_NAME}:{topo.UPSTREAM_TLS_PORT}; "
         "run commands with 'pathprobe lab exec -- CMD'")
    if state.fmcs > 1:
        _say("FMCs: " + ", ".join(f"{n} {topo.fmc_link(n).v4(n)}"
                                  for n in topo.fmc_names(state.fmcs))
             + "; 'pathprobe lab exec --node fmc2 -- CMD'")
    if state.ssh_dir:
        _say(f"ssh: ssh -F {state.ssh_dir}/ssh_config fmc (from a lab node, e.g. "
             "'lab exec --node r1')")


@lab_app.command("status")
def lab_status(
    as_json: Annotated[bool, typer.Option("--json", help="Print the state as JSON.")] = False,
) -> None:
    """Show the running lab: scenario, faults, addresses, and whether each part is alive.

    Exit status 0 when the lab is up and whole, 3 when it is down or damaged."""
    from pathprobe.lab.manager import health, load_state, require_root

    require_root()
    state = load_state(_prefix())
    if state is None:
        typer.echo("no lab is up", err=True)
        raise typer.Exit(int(ExitStatus.NOT_MEASURED))
    parts = health(state)
    if as_json:
        typer.echo(json.dumps({"scenario": state.scenario, "description": state.description,
                               "proxy_mode": state.proxy_mode, "faults": state.faults,
                               "intercept": state.intercept,
                               "prefix": state.prefix, "workdir": state.workdir,
                               "ready_s": state.ready_s, "health": parts,
                               "fmcs": {n: topo.fmc_link(n).v4(n)
                                        for n in topo.fmc_names(state.fmcs)},
                               "ssh_dir": state.ssh_dir,
                               "proxy": topo.PROXY_URL,
                               "target": f"{topo.UPSTREAM_NAME}:{topo.UPSTREAM_TLS_PORT}"},
                              indent=2))
    else:
        typer.echo(f"scenario: {state.scenario} ({state.description})")
        typer.echo(f"proxy:    {topo.PROXY_URL} (mode {state.proxy_mode}"
                   f"{', decrypts TLS' if state.intercept else ''})")
        typer.echo(f"target:   {topo.UPSTREAM_NAME}:{topo.UPSTREAM_TLS_PORT} "
                   f"({topo.UPSTREAM_V4}, {topo.UPSTREAM_V6})")
        for spec in state.faults:
            typer.echo(f"fault:    {topo.Fault.parse(spec).describe()}")
        if state.fmcs > 1:
            typer.echo("fmcs:     " + ", ".join(f"{n} {topo.fmc_link(n).v4(n)}"
                                                for n in topo.fmc_names(state.fmcs)))
        if state.ssh_dir:
            typer.echo(f"ssh:      ssh -F {state.ssh_dir}/ssh_config FMC")
        rows = [[name, "up" if ok else "MISSING"] for name, ok in parts.items()]
        from tabulate import tabulate  # (25 ms at import: only this command needs it here)
        typer.echo(tabulate(rows, ["part", "state"], tablefmt="simple"))
    raise typer.Exit(int(ExitStatus.HEALTHY if all(parts.values()) else ExitStatus.NOT_MEASURED))


@lab_app.command("exec", context_settings={"allow_interspersed_args": False})
def lab_exec(
    command: Annotated[list[str], typer.Argument(help="Command and arguments (after --).")],
    node: Annotated[str, typer.Option(
        "--node", "-n", help="Namespace to run in: fmc, r1, proxy, r2, upstream, or fmc2.. "
        "with --fmcs.")] = "fmc",
) -> None:
    """Run a command inside a lab namespace (default fmc) with HTTPS_PROXY set to the lab proxy.

    Exits with the command's own exit status."""
    from pathprobe.lab.execute import exec_in

    if node not in topo.ALL_NODES:
        raise UsageError(f"unknown node {node!r}; choose one of: {', '.join(topo.ALL_NODES)}")
    raise typer.Exit(exec_in(_prefix(), node, command))


@lab_app.command("down")
def lab_down() -> None:
    """Remove the lab: processes, namespaces (and their veths), files. Safe to repeat."""
    from pathprobe.lab.manager import down_shielded, require_root_and_tools

    require_root_and_tools()
    first_interrupt()  # one Ctrl-C during the removal is reported; later ones change nothing
    removed = down_shielded(_prefix())
    _say(f"removed {len(removed)} resources" if removed else "nothing to remove")
