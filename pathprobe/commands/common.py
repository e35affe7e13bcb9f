"""Options and output handling shared by every measuring command."""

from __future__ import annotations

import functools
import inspect
import shutil
import socket
import sys
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, Optional, Union

import typer

from pathprobe import __version__
from pathprobe.formats import (
    DEFAULT_WIDTH,
    EXTENSION_FORMATS,
    FleetTable,
    TableFormat,
    TsvTable,
)
from pathprobe.interrupts import first_interrupt, report_done
from pathprobe.model import (
    Context,
    Evidence,
    Progress,
    Report,
    Severity,
    no_progress,
)
from pathprobe.outfile import check_output_path as check_output_path
from pathprobe.outfile import deliver
from pathprobe.sanitize import Redactor, clean, mask_userinfo, shorten

if TYPE_CHECKING:
    from pathprobe.findings import Recommender
    from pathprobe.model import Credentials, ProxyConfig
    from pathprobe.runner import Measure

JsonOption = Annotated[bool, typer.Option(
    "--json", help="Write one JSON object (schema pathprobe/1) to stdout; logs go to stderr.")]
FormatOption = Annotated[Optional[TableFormat], typer.Option(
    "--format", "-f", case_sensitive=False, show_default=False, metavar="FORMAT",
    help="Report format: simple (default), plain, grid (text tables that fit --width), "
         "github/markdown/md (GitHub Markdown), html (a standalone page), tsv (one table, "
         "see --table). With -o and no --format: from the file's extension (.md, .html, "
         ".json, .tsv; anything else simple).")]
OutputOption = Annotated[Optional[Path], typer.Option(
    "--output", "-o", metavar="FILE",
    help="Write the report to FILE only (checked before measuring); the terminal gets "
         "one line, the summary and the path (nothing with -q).", dir_okay=False)]
WidthOption = Annotated[Optional[int], typer.Option(
    "--width", metavar="COLUMNS", min=40, max=1000, show_default=False,
    help="Longest line of a text report (default: the terminal's width, or 100 when stdout "
         "is not a terminal); long cells wrap at spaces, commands are never split.")]
HostNameOption = Annotated[Optional[str], typer.Option(
    "--host-name", metavar="NAME", show_default=False,
    help="This host's name in the report (JSON context.host; default: the system's host "
         "name), e.g. its Ansible inventory name, so that 'pathprobe merge' names it so.")]
TableOption = Annotated[TsvTable, typer.Option(
    "--table", case_sensitive=False, metavar="TABLE",
    help="The table --format tsv writes: findings, recommendations or measurements.")]


FailOnOption = Annotated[Severity, typer.Option(
    "--fail-on", case_sensitive=False, metavar="SEVERITY",
    help="Exit 1 when a finding of this severity or worse exists: critical, warning "
         "(default) or info. Severity: critical = traffic breaks (black hole, reset, stall, "
         "refusal, auth), warning = degraded or fragile, info = observed and harmless "
         "(e.g. MSS lowered while traffic flows).")]
QuietOption = Annotated[bool, typer.Option(
    "--quiet", "-q", help="No progress lines on stderr (errors only).")]
VerboseOption = Annotated[bool, typer.Option(
    "--verbose", "-v", help="More progress detail on stderr (each step's wall time).")]


def option(name: str, annotation: Any, default: Any) -> inspect.Parameter:
    """One command-line option as typer reads it: a keyword parameter with its annotation."""
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default,
                             annotation=annotation)


# The one declaration of the output options: every command that reports takes these (or
# the subset that makes sense for it) through @output_options, and receives them as one
# ``out: Output``. The names are Output's field names.
OUTPUT_OPTIONS: tuple[inspect.Parameter, ...] = (
    option("fail_on", FailOnOption, Severity.WARNING),
    option("quiet", QuietOption, False),
    option("verbose", VerboseOption, False),
    option("as_json", JsonOption, False),
    option("fmt", FormatOption, None),
    option("output", OutputOption, None),
    option("width", WidthOption, None),
    option("table", TableOption, TsvTable.FINDINGS),
    option("host_name", HostNameOption, None),
)


def output_options(*, only: Collection[str] | None = None,
                   replacing: Sequence[inspect.Parameter] = ()
                   ) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Give a command the shared output options (``only`` those named, some ``replacing``
    the shared one of the same name, e.g. merge's --table); the command function declares
    its own arguments and ``out: Output``, and receives the options as that one value."""
    replaced = {p.name: p for p in replacing}
    unknown = {*(only or ()), *replaced} - {p.name for p in OUTPUT_OPTIONS}
    if unknown:  # a typo would silently drop an option
        raise ValueError(f"no such output option: {', '.join(sorted(unknown))}")
    chosen = [replaced.get(p.name, p) for p in OUTPUT_OPTIONS if only is None or p.name in only]

    def decorate(command: Callable[..., None]) -> Callable[..., None]:
        own = [p for p in inspect.signature(command).parameters.values() if p.name != "out"]

        @functools.wraps(command)
        def run(*args: Any, **kwargs: Any) -> None:
            out = Output(**{p.name: kwargs.pop(p.name) for p in chosen})
            command(*args, out=out, **kwargs)

        # typer reads the parameters from the signature and their types from the annotations.
        params = [*own, *chosen]
        run.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        run.__annotations__ = {p.name: p.annotation for p in params}
        return run

    return decorate


@dataclass(frozen=True)
class Output:
    """How a measuring command reports: the options every one of them shares."""

    fmt: TableFormat | None = None
    as_json: bool = False
    output: Path | None = None
    fail_on: Severity = Severity.WARNING
    quiet: bool = False
    verbose: bool = False
    width: int | None = None
    table: Union[TsvTable, FleetTable] = TsvTable.FINDINGS  # FleetTable for `merge`
    host_name: str | None = None
    # Masks the proxy password (and user:password, the reflector token) in every form,
    # in whatever the report and progress lines carry (a proxy may echo them back).
    redactor: Redactor = field(default_factory=Redactor)

    def resolved(self) -> tuple[TableFormat, bool]:
        """(format, json): --format/--json win; else -o's extension; else simple."""
        if self.as_json or self.fmt is not None:
            return self.fmt or TableFormat.SIMPLE, self.as_json
        suffix = self.output.suffix.lower() if self.output is not None else ""
        if suffix == ".json":
            return TableFormat.SIMPLE, True
        return EXTENSION_FORMATS.get(suffix, TableFormat.SIMPLE), False

    def columns(self) -> int:
        if self.width is not None:
            return self.width
        if sys.stdout.isatty():
            return max(40, shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns)
        return DEFAULT_WIDTH

    def progress(self) -> Progress:
        """Progress on stderr unless -q (whether or not stderr is a terminal)."""
        if self.quiet:
            return no_progress
        if not self.redactor:
            return progress_to_stderr
        redact = self.redactor.redact
        return lambda message: progress_to_stderr(redact(message))

    def hiding(self, credentials: Credentials | None, *secrets: str | None) -> Output:
        """This Output, also masking a proxy login and other secrets (e.g. a token)."""
        found = [f"{credentials.user}:{credentials.password}", credentials.password] \
            if credentials is not None else []
        found += [s for s in secrets if s]
        return replace(self, redactor=Redactor(found)) if found else self


def run_measuring(command: str, measure: Measure, out: Output, *,
                  context: Context | None = None, leg2_target: str | None = None,
                  notes: Sequence[Evidence] = (),
                  recommender: Recommender | None = None, live: bool = True) -> NoReturn:
    """The one runner of the measuring commands: check the output path, measure
    (``runner.measure_report``: timing, Ctrl-C as a partial report, the findings, the
    hints naming this command's flags), render, write, exit with the status of
    design.md."""
    from pathprobe.findings import default_recommender
    from pathprobe.runner import measure_report, utc_now_iso
    from pathprobe.terminal import display_for

    if out.output is not None:
        check_output_path(out.output)
    # one updating line on a terminal, plain lines elsewhere, nothing with -q
    display = display_for(quiet=out.quiet, verbose=out.verbose, json_out=out.resolved()[1],
                          redact=out.redactor.redact, live=live)
    first_interrupt()  # a second Ctrl-C cannot cut the partial report short
    try:
        report = measure_report(command, measure, started=utc_now_iso(),
                                progress=display or no_progress, hints=True,
                                leg2_target=leg2_target, notes=notes,
                                recommender=recommender or default_recommender,
                                on_step=display.step_done if display is not None else None)
    finally:
        if display is not None:
            display.close()
    if display is not None and out.verbose:
        display.write_line(f"{command}: {report.duration_s:.2f} s")
    context = context or make_context()
    if out.host_name:  # the name the user gives this host (an inventory name) wins
        context = replace(context, host=clean(out.host_name).strip() or context.host)
    emit(replace(report, context=context), out)


def make_context(proxy: ProxyConfig | None = None, target: str | None = None) -> Context:
    """Tool, version, host and the command line (secrets removed) for the report."""
    return Context(version=__version__, host=socket.gethostname(),
                   argv=tuple(["pathprobe", *redact_argv(sys.argv[1:])]),
                   proxy=proxy.display if proxy is not None else None,
                   proxy_source=proxy.source if proxy is not None else None, target=target)


SECRET_OPTIONS = ("--token", "--password", "--proxy-password")


def redact_argv(argv: Sequence[str]) -> list[str]:
    """The command line without secrets: option values that are secrets, and the password
    of any URL with credentials."""
    out: list[str] = []
    hide_next = False
    for arg in argv:
        if hide_next:
            out.append("***")
            hide_next = False
            continue
        name, eq, _value = arg.partition("=")
        if name in SECRET_OPTIONS:
            if eq:
                out.append(f"{name}=***")
            else:
                out.append(arg)
                hide_next = True
            continue
        out.append(mask_userinfo(arg, whole=True, mask="***"))
    return out


def emit(report: Report, out: Output) -> NoReturn:
    """Print the report (and write --output), then exit with the report's status."""
    from pathprobe.formats import TEXT_FORMATS
    from pathprobe.render import render  # the renderers load only when a report is made
    from pathprobe.render.summary import summarize
    from pathprobe.terminal import is_terminal, styled

    fmt, as_json = out.resolved()
    assert isinstance(out.table, TsvTable)  # a FleetTable only with `merge`'s own declaration
    # a text report on a terminal: the summary last as well, colour unless NO_COLOR
    terminal = out.output is None and not as_json and fmt in TEXT_FORMATS \
        and is_terminal(sys.stdout)
    text = out.redactor.redact(render(report, fmt, as_json=as_json, width=out.columns(),
                                      table=out.table, verbose=out.verbose,
                                      terminal=terminal, colour=terminal and styled(sys.stdout)))
    report_done()  # complete: a Ctrl-C from here on leaves its exit status alone
    deliver(text, out.output, out.redactor.redact(summarize(report)), quiet=out.quiet)
    raise typer.Exit(int(report.exit_status(out.fail_on)))


def progress_to_stderr(message: str) -> None:
    """Progress lines go to stderr (never stdout, which carries the report or JSON)."""
    sys.stderr.write(f"pathprobe: {shorten(clean(message))}\n")
    sys.stderr.flush()



