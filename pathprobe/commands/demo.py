"""`pathprobe demo`: build the lab with a failing scenario, diagnose it from the fmc, tear down."""

import shutil
import sys
from typing import Annotated

import typer

from pathprobe.commands.common import Output, output_options
from pathprobe.errors import UsageError
from pathprobe.formats import TsvTable
from pathprobe.lab import topology as topo

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

ScenarioOption = Annotated[str, typer.Option(
    "--scenario", "-s", metavar="NAME",
    help=f"Lab scenario: {', '.join(topo.SCENARIOS)}.")]


def demo_argv(out: Output, terminal_width: int = 100) -> list[str]:
    """The diagnose command line run inside the fmc namespace, carrying the demo's output
    options (pure, for tests); without --width the report fits the terminal, at most 100
    columns (so it pastes anywhere)."""
    width = out.width if out.width is not None else min(terminal_width, 100)
    argv = [sys.executable, "-m", "pathprobe", "diagnose", "--proxy", topo.PROXY_URL,
            "--target", f"{topo.UPSTREAM_NAME}:{topo.UPSTREAM_TLS_PORT}",
            "--width", str(width), "--fail-on", out.fail_on.value]
    if out.quiet:
        argv.append("--quiet")
    if out.verbose:
        argv.append("--verbose")
    if out.fmt is not None:
        argv += ["--format", out.fmt.value]
    if out.as_json:
        argv.append("--json")
    if out.table is not TsvTable.FINDINGS:
        argv += ["--table", out.table.value]
    if out.host_name is not None:
        argv += ["--host-name", out.host_name]
    if out.output is not None:  # the child runs elsewhere: the path as the user meant it
        argv += ["--output", str(out.output.resolve())]
    return argv


@output_options()
def demo_command(
    scenario: ScenarioOption = "article",
    *, out: Output,
) -> None:
    from pathprobe.lab.demo import run_demo

    if scenario not in topo.SCENARIOS:
        raise UsageError(f"unknown scenario {scenario!r}; choose one of: "
                         f"{', '.join(topo.SCENARIOS)}")
    try:
        prefix = topo.lab_prefix()
    except ValueError as e:
        raise UsageError(str(e)) from None

    def say(message: str) -> None:
        if not out.quiet:
            sys.stderr.write(f"demo: {message}\n")
            sys.stderr.flush()

    argv = demo_argv(out, shutil.get_terminal_size((100, 24)).columns)
    raise typer.Exit(run_demo(topo.SCENARIOS[scenario], prefix, argv, say))


demo_command.__doc__ = DEMO_HELP
