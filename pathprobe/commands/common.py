"""Options and output handling shared by every measuring command."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from pathprobe.errors import UsageError
from pathprobe.findings import Recommender, default_recommender, finish
from pathprobe.model import Evidence, Measurement, Progress, Report, Severity, no_progress
from pathprobe.render import TableFormat, render_by_leg, render_json, render_table

JsonOption = Annotated[bool, typer.Option(
    "--json", help="Write one JSON object (schema pathprobe/1) to stdout; logs go to stderr.")]
FormatOption = Annotated[TableFormat, typer.Option(
    "--format", "-f", help="Table format for the text report.", case_sensitive=False)]
OutputOption = Annotated[Path | None, typer.Option(
    "--output", "-o", help="Also write the report to FILE (atomically).",
    dir_okay=False, writable=True)]


FailOnOption = Annotated[Severity, typer.Option(
    "--fail-on", case_sensitive=False, metavar="SEVERITY",
    help="Exit 1 when a finding of this severity or worse exists: critical, warning "
         "(default) or info. Severity: critical = traffic breaks (black hole, reset, stall, "
         "refusal, auth), warning = degraded or fragile, info = observed and harmless "
         "(e.g. MSS lowered while traffic flows).")]
QuietOption = Annotated[bool, typer.Option(
    "--quiet", "-q", help="No progress lines on stderr.")]
VerboseOption = Annotated[bool, typer.Option(
    "--verbose", "-v", help="More progress detail on stderr (each step's wall time).")]


@dataclass(frozen=True)
class Output:
    """How a measuring command reports: the options every one of them shares."""

    fmt: TableFormat = TableFormat.SIMPLE
    as_json: bool = False
    output: Path | None = None
    fail_on: Severity = Severity.WARNING
    quiet: bool = False
    verbose: bool = False

    def progress(self) -> Progress:
        """Progress on stderr unless -q (whether or not stderr is a terminal)."""
        return no_progress if self.quiet else progress_to_stderr


Measure = Callable[[Progress], Sequence[Measurement]]


def run_measuring(command: str, measure: Measure, out: Output, *,
                  leg2_target: str | None = None, notes: Sequence[Evidence] = (),
                  recommender: Recommender | None = None,
                  by_leg: bool = False) -> NoReturn:
    """The one runner of the measuring commands: check the output path, time the
    measurement, turn Ctrl-C into a partial report (exit 3), combine the findings,
    render, write, exit with the status of design.md."""
    if out.output is not None:
        check_output_path(out.output)
    started, t0 = utc_now_iso(), time.monotonic()
    progress = out.progress()
    partial, extra = False, []
    measured: tuple[Measurement, ...] = ()
    try:
        measured = tuple(measure(progress))
    except KeyboardInterrupt:
        partial = True
        extra.append(f"interrupted: '{command}' was stopped before it finished")
    if out.verbose:
        progress(f"{command}: {time.monotonic() - t0:.2f} s")
    report = finish(measured, command=command, started=started,
                    duration_s=time.monotonic() - t0, partial=partial, extra_errors=extra,
                    notes=notes, leg2_target=leg2_target,
                    recommender=recommender or default_recommender)
    emit(report, out, by_leg=by_leg)


def emit(report: Report, out: Output, *, by_leg: bool = False) -> NoReturn:
    """Print the report (and write --output), then exit with the report's status."""
    if out.as_json:
        text = render_json(report)
    else:
        text = render_by_leg(report, out.fmt) if by_leg else render_table(report, out.fmt)
    if out.output is not None:
        write_atomically(out.output, text)
    sys.stdout.write(text)
    sys.stdout.flush()
    raise typer.Exit(int(report.exit_status(out.fail_on)))


def check_output_path(path: Path) -> None:
    """Fail before measuring when the report could not be written to ``path``."""
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise UsageError(f"cannot write {path}: directory {directory} does not exist")
    if path.is_dir():
        raise UsageError(f"cannot write {path}: it is a directory")
    if not os.access(directory, os.W_OK) and not os.access(path, os.W_OK):
        raise UsageError(f"cannot write {path}: permission denied")


def write_atomically(path: Path, text: str) -> None:
    """Write via a temp file in the same directory and rename, so readers never see half."""
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise UsageError(f"cannot write {path}: directory {directory} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def progress_to_stderr(message: str) -> None:
    """Progress lines go to stderr (never stdout, which carries the report or JSON)."""
    sys.stderr.write(f"pathprobe: {message}\n")
    sys.stderr.flush()


def utc_now_iso() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat(timespec="seconds")
