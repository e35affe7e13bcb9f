"""Options and output handling shared by every measuring command."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from pathprobe.errors import PathprobeError
from pathprobe.model import ExitStatus, Report
from pathprobe.outfile import write_output
from pathprobe.render import TableFormat, render

JsonOption = Annotated[bool, typer.Option(
    "--json", help="Write one JSON object (schema pathprobe/1) to stdout; logs go to stderr.")]
FormatOption = Annotated[TableFormat, typer.Option(
    "--format", "-f", help="Table format for the text report.", case_sensitive=False)]
OutputOption = Annotated[Path | None, typer.Option(
    "--output", "-o", help="Also write the report to FILE (atomically).",
    dir_okay=False, writable=True)]


class NotImplementedYet(PathprobeError):
    """A command whose issue has not landed; exit 3 so no script mistakes it for a result."""


def not_implemented(command: str, issue: int) -> NoReturn:
    raise NotImplementedYet(f"'pathprobe {command}' is not implemented yet (issue {issue})")


def write_atomically(path: Path, text: str) -> None:
    """Write the report to --output without harming what is there (see pathprobe.outfile)."""
    write_output(path, text)


def emit(report: Report, fmt: TableFormat, as_json: bool, output: Path | None = None) -> NoReturn:
    """Print the report (and write --output), then exit with the report's status."""
    text = render(report, fmt, as_json)
    if output is not None:
        write_atomically(output, text)
    sys.stdout.write(text)
    sys.stdout.flush()
    raise typer.Exit(int(report.exit_status()))


def exit_with(status: ExitStatus) -> NoReturn:
    raise typer.Exit(int(status))


def progress_to_stderr(message: str) -> None:
    """Progress lines go to stderr (never stdout, which carries the report or JSON)."""
    sys.stderr.write(f"pathprobe: {message}\n")
    sys.stderr.flush()


def utc_now_iso() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat(timespec="seconds")
