"""`pathprobe demo`: build the lab with a failing scenario, diagnose it from the fmc, tear down."""

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from typing import Annotated, Callable, Optional

import typer

from pathprobe.commands.common import FormatOption, JsonOption, OutputOption
from pathprobe.errors import UsageError
from pathprobe.formats import TableFormat
from pathprobe.interrupts import FirstInterrupt, first_interrupt, masked
from pathprobe.lab import topology as topo
from pathprobe.model import ExitStatus

DEMO_HELP = f"""Show the main job on a fresh machine (Linux, root): build the built-in lab
with a realistic failing scenario, run 'pathprobe diagnose' from the lab's fmc
namespace through its squid proxy ({topo.PROXY_URL}) to
{topo.UPSTREAM_NAME}:{topo.UPSTREAM_TLS_PORT}, print the report, and tear the
lab down again (also on error or Ctrl-C). Takes a few seconds.

The default scenario, 'article', is the source article's failure: the MSS
clamped to 1300 on leg 1 and a 1400-byte black hole on leg 2 (up). Any
scenario of 'pathprobe lab list' can be chosen with --scenario.

Namespaces are named with the prefix from ${topo.PREFIX_ENV}
(default '{topo.DEFAULT_PREFIX}'); all traffic stays inside 198.18.0.0/15.

The exit status is the diagnosis's (1 for a failing scenario, 0 for 'healthy').

Example:

\b
  sudo pathprobe demo
  sudo pathprobe demo --scenario mtu-noicmp --format github
"""

DIAGNOSE_TIMEOUT_S = 120
GRACE_S = 10  # for an interrupted diagnose to print its partial report

DIAGNOSE_TIMEOUT_S = 120
GRACE_S = 10  # for an interrupted diagnose to print its partial report

ScenarioOption = Annotated[str, typer.Option(
    "--scenario", "-s", metavar="NAME",
    help=f"Lab scenario: {', '.join(topo.SCENARIOS)}.")]


def demo_argv(fmt: Optional[TableFormat], as_json: bool, output: Optional[str],
              width: int = 100) -> list[str]:
    """The diagnose command line run inside the fmc namespace (pure, for tests); the
    report fits ``width`` columns (100 at most, so it pastes anywhere)."""
    argv = [sys.executable, "-m", "pathprobe", "diagnose", "--proxy", topo.PROXY_URL,
            "--target", f"{topo.UPSTREAM_NAME}:{topo.UPSTREAM_TLS_PORT}",
            "--width", str(min(width, 100))]
    if fmt is not None:
        argv += ["--format", fmt.value]
    if as_json:
        argv.append("--json")
    if output is not None:
        argv += ["--output", output]
    return argv


def demo_command(
    scenario: ScenarioOption = "article",
    as_json: JsonOption = False,
    fmt: FormatOption = None,
    output: OutputOption = None,
) -> None:
    from pathprobe.lab.manager import lab_environment, up

    if scenario not in topo.SCENARIOS:
        raise UsageError(f"unknown scenario {scenario!r}; choose one of: "
                         f"{', '.join(topo.SCENARIOS)}")
    try:
        prefix = topo.lab_prefix()
    except ValueError as e:
        raise UsageError(str(e)) from None

    def say(message: str) -> None:
        sys.stderr.write(f"demo: {message}\n")
        sys.stderr.flush()

    chosen = topo.SCENARIOS[scenario]
    say(f"building the lab: {chosen.name}: {chosen.description}")
    # Only the first Ctrl-C interrupts (the build, or diagnose: it prints its partial
    # report); once diagnose is done, or the teardown began, Ctrl-C changes nothing.
    guard = first_interrupt()
    status: int | None = None
    try:
        state = up(chosen, prefix, say)
        say(f"lab ready in {state.ready_s:.1f} s; running diagnose in {prefix}fmc")
        argv = ["ip", "netns", "exec", topo.namespace(prefix, "fmc"),
                *demo_argv(fmt, as_json, str(output.resolve()) if output else None,
                           shutil.get_terminal_size((100, 24)).columns)]
        status = _diagnose(argv, lab_environment(prefix), say)
        guard.disarm()
    except KeyboardInterrupt:
        pass
    finally:
        _teardown(prefix, guard, say)
    if status is None:
        say("interrupted")
        status = int(ExitStatus.NOT_MEASURED)
    raise typer.Exit(status)


def _diagnose(argv: list[str], env: dict[str, str], say: Callable[[str], None]) -> int:
    """Run diagnose (its report streams to our stdout) and return its status. It runs in
    its own session, so Ctrl-C reaches it exactly once, from us: then it gets
    GRACE_S to print its partial report (exit 3)."""
    for name in ("HTTPS_PROXY", "https_proxy"):  # the demo passes --proxy explicitly
        env.pop(name, None)
    proc = subprocess.Popen(argv, env=env, start_new_session=True)
    try:
        try:
            return proc.wait(timeout=DIAGNOSE_TIMEOUT_S)
        except KeyboardInterrupt:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGINT)
            return proc.wait(timeout=GRACE_S)
    except subprocess.TimeoutExpired:
        say("diagnose did not finish in time; stopped it")
        return int(ExitStatus.NOT_MEASURED)
    finally:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _teardown(prefix: str, guard: FirstInterrupt, say: Callable[[str], None]) -> None:
    """Remove the lab; no Ctrl-C can cut this short (SIGINT is blocked meanwhile, also
    for the programs it runs). Retried once should the first Ctrl-C land on its way in."""
    from pathprobe.lab.manager import down

    for _ in range(2):
        try:
            guard.disarm()
            with masked():
                removed = down(prefix)
            say(f"lab torn down ({len(removed)} resources removed)")
            return
        except KeyboardInterrupt:
            continue


demo_command.__doc__ = DEMO_HELP
