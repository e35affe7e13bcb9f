"""`pathprobe merge REPORT.json...`: many hosts' JSON reports as one fleet report."""

import contextlib
import os
from pathlib import Path
from typing import Annotated

import typer

from pathprobe.commands.common import (
    Output,
    check_output_path,
    option,
    output_options,
)
from pathprobe.errors import UsageError
from pathprobe.fleet import (
    MAX_REPORT_BYTES,
    HostReport,
    HostState,
    merge,
    read_host,
    unreadable,
)
from pathprobe.formats import FleetTable
from pathprobe.infile import NotAFile, read_bounded
from pathprobe.interrupts import report_done
from pathprobe.outfile import deliver
from pathprobe.sanitize import clean

FleetJsonOption = Annotated[bool, typer.Option(
    "--json", help="Write one JSON object (schema pathprobe-fleet/1: $defs/fleet in "
                   "'pathprobe schema') to stdout: every host with its verdicts as read, "
                   "and the recommendations with their hosts.")]
FleetTableOption = Annotated[FleetTable, typer.Option(
    "--table", case_sensitive=False, metavar="TABLE",
    help="The table --format tsv writes: hosts, findings (one row per host and finding) "
         "or recommendations (with the hosts that need each).")]


def load(path: Path) -> HostReport:
    """One file as a host: read at most MAX_REPORT_BYTES + 1 bytes of a regular file."""
    name = clean(str(path))  # a file name is shown as it is: no escape sequences
    try:
        data = read_bounded(path, MAX_REPORT_BYTES)
    except NotAFile:
        return unreadable(name, "not a regular file")
    except OSError as e:
        return unreadable(name, e.strerror or str(e))
    return read_host(name, data)


def refuse_input_as_output(output: Path, reports: list[Path]) -> None:
    """-o must not be one of the reports read (the same file by any name or link)."""
    try:
        target = os.stat(output)
    except OSError:
        return  # not there yet: no input can be it
    for path in reports:
        with contextlib.suppress(OSError):
            st = os.stat(path)
            if (st.st_dev, st.st_ino) == (target.st_dev, target.st_ino):
                raise UsageError(f"-o {clean(str(output))} is one of the reports to merge "
                                 f"({clean(str(path))}); write the fleet report elsewhere")


@output_options(only=("fail_on", "quiet", "as_json", "fmt", "output", "width", "table"),
                replacing=(option("as_json", FleetJsonOption, False),
                           option("table", FleetTableOption, FleetTable.FINDINGS)))
def merge_command(
    reports: Annotated[list[Path], typer.Argument(
        metavar="REPORT.json", show_default=False,
        help="JSON reports of any pathprobe command (--json output), one per host.")],
    *, out: Output,
) -> None:
    """Merge many hosts' JSON reports into one fleet report for one change request.

    For every file: the host (the report's context.host, else the file name),
    how it came out (ok, findings, not measured, or why the file is no report:
    unreadable, not JSON, not a pathprobe/1 report), and its summary; then one
    row per host and finding (severity, leg, direction, verdict, limit); then
    each recommendation once, with the hosts that need it. Every file is
    checked against the schema of `pathprobe schema`; a bad file is listed, never
    fatal.

    \b
    Example (the reports of contrib/ansible/pathprobe.yml):
      pathprobe merge reports/*.json -o reports/fleet.md
      pathprobe merge reports/*.json -o reports/fleet.html
      pathprobe merge reports/*.json --format tsv --table findings

    Exit status: the worst host's: 3 when any host could not be measured at all
    (or its file is no report), else 1 when any host has a finding at or above
    --fail-on (default warning), else 0; 2 usage error.
    """
    if out.output is not None:
        check_output_path(out.output)
        refuse_input_as_output(out.output, reports)
    hosts = [load(p) for p in reports]
    progress = out.progress()
    for skipped in (h for h in hosts if h.state is HostState.FLEET):
        progress(f"skipping {clean(skipped.source)}: {skipped.problem}")
    fleet = merge(hosts)
    chosen, json_out = out.resolved()
    # the renderers load only now
    from pathprobe.render.fleet import fleet_summary, render_fleet

    assert isinstance(out.table, FleetTable)  # merge's own --table
    text = render_fleet(fleet, out.fail_on, chosen, json_out, width=out.columns(),
                        table=out.table)
    report_done()  # complete: a Ctrl-C from here on leaves its exit status alone
    deliver(text, out.output, fleet_summary(fleet, out.fail_on), quiet=out.quiet)
    raise typer.Exit(int(fleet.exit_status(out.fail_on)))

