"""The typer app: registers the subcommands and owns the one error boundary.

Everything expected (``PathprobeError``) becomes one line on stderr and the
exit status of design.md; anything unexpected is an internal error (4) with
a hint to rerun with ``--traceback``. Keep imports here light: ``pathprobe
--help`` must not load scapy.
"""

import platform
import sys
from typing import Annotated, Optional

import typer

from pathprobe import __version__
from pathprobe.commands.analyze import analyze_command
from pathprobe.commands.demo import demo_command
from pathprobe.commands.diagnose import diagnose_command
from pathprobe.commands.lab import lab_app
from pathprobe.commands.merge import merge_command
from pathprobe.commands.mss import mss_command
from pathprobe.commands.pmtu import pmtu_command
from pathprobe.commands.schema import schema_command
from pathprobe.commands.serve import serve_command
from pathprobe.commands.tunnel import tunnel_command
from pathprobe.errors import PathprobeError
from pathprobe.interrupts import release, report_done
from pathprobe.model import EXIT_STATUS_HELP, ExitStatus
from pathprobe.outfile import GuardedStdout, guard_stdout, release_stdout
from pathprobe.sanitize import clean, shorten

try:  # typer >= 0.27 vendors click: its usage errors derive from TyperException
    from typer import TyperException as CommandLineError
except ImportError:  # typer 0.23 (the newest for Python 3.9, the one-file build) uses click
    from click import ClickException as CommandLineError  # type: ignore[assignment,no-redef,import-not-found,unused-ignore]

APP_HELP = f"""Find the effective MTU/MSS on each leg of a proxied path (FMC -> proxy -> upstream)
and say exactly what breaks it: PMTU black holes, MSS clamping, resets on large
segments, proxy refusals.

{EXIT_STATUS_HELP}"""

app = typer.Typer(
    name="pathprobe",
    help=APP_HELP,
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def version_line() -> str:
    """What --version prints: ours, the interpreter's and scapy's (what a bug report needs)."""
    from importlib import metadata  # only here: it costs --help 15 ms

    try:  # from the installed metadata: importing scapy costs about a second
        scapy = f"scapy {metadata.version('scapy')}"
    except metadata.PackageNotFoundError:
        scapy = "scapy not installed"
    return (f"pathprobe {__version__} "
            f"({platform.python_implementation()} {platform.python_version()}, {scapy})")


def _version(value: bool) -> None:
    if value:
        typer.echo(version_line())
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[bool, typer.Option(
        "--version", "-V", callback=_version, is_eager=True,
        help="Print the version and exit.")] = False,
    traceback: Annotated[bool, typer.Option(
        "--traceback", help="On an internal error, show the Python traceback.")] = False,
) -> None:
    """Global options (read by the error boundary in main())."""


app.command("pmtu", epilog=EXIT_STATUS_HELP)(pmtu_command)
app.command("mss", epilog=EXIT_STATUS_HELP)(mss_command)
app.command("tunnel", epilog=EXIT_STATUS_HELP)(tunnel_command)
app.command("serve", epilog=EXIT_STATUS_HELP)(serve_command)
app.command("diagnose", epilog=EXIT_STATUS_HELP)(diagnose_command)
app.command("demo", epilog=EXIT_STATUS_HELP)(demo_command)
app.command("analyze", epilog=EXIT_STATUS_HELP)(analyze_command)
app.command("merge")(merge_command)
app.command("schema")(schema_command)
app.add_typer(lab_app, name="lab")


def usage_line(error: Exception, args: list[str]) -> str:
    """A usage error of the CLI layer as one line that names the help to read: click's four
    lines (usage, try, blank, error) and pydantic's "Value error," prefix go."""
    format_message = getattr(error, "format_message", None)
    message = format_message() if callable(format_message) else str(error)
    message = " ".join(str(message).replace("Value error, ", "").split()).rstrip(".")
    return f"{message[:1].lower()}{message[1:]} (see '{_command_path(args)} --help')"


def _command_path(args: list[str]) -> str:
    """'pathprobe lab up' for ``lab up --leg 5``: the deepest command the arguments name."""
    path, group = ["pathprobe"], typer.main.get_command(app)
    for arg in args:
        sub = getattr(group, "commands", {}).get(arg)
        if sub is None:
            if arg.startswith("-"):
                continue  # a root option (--traceback) before the command
            break
        path.append(arg)
        group = sub
    return " ".join(path)


def interrupted_inside(error: BaseException) -> bool:
    """True when a Ctrl-C is what this error wraps: Python before 3.12 turns an exception
    raised while a class is made (a dataclass field's ``__set_name__``) into a RuntimeError
    whose cause is the KeyboardInterrupt; that is the user's interrupt, not our bug."""
    seen: set[int] = set()
    current: Optional[BaseException] = error
    while current is not None and id(current) not in seen:
        if isinstance(current, KeyboardInterrupt):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def _error(message: str) -> None:
    """One line: whatever input it echoes is cleaned and cut (``sanitize.shorten``)."""
    sys.stderr.write(f"pathprobe: error: {shorten(clean(message))}\n")


def main(argv: Optional[list[str]] = None) -> int:
    """Run the CLI and return the exit status; the only place exceptions become statuses.

    Once the status is decided a Ctrl-C no longer changes it (``interrupts.report_done``);
    a caller that passes ``argv`` (runs the CLI inside its own process) gets its Ctrl-C back.
    """
    stdout = guard_stdout()  # a closed or full stdout is exit 3 with one line
    try:
        status = _main(argv)
    except KeyboardInterrupt:  # on the way out of a command that had handled its own
        status = int(ExitStatus.NOT_MEASURED)
    report_done()
    try:
        return _finish(stdout, status)
    finally:
        if argv is not None:
            release()


def _finish(stdout: GuardedStdout, status: int) -> int:
    problem = release_stdout(stdout)
    if problem is not None:
        _error(problem)
        if status in (ExitStatus.HEALTHY, ExitStatus.PROBLEM):
            return int(ExitStatus.NOT_MEASURED)
    return status


def _main(argv: Optional[list[str]]) -> int:
    args = sys.argv[1:] if argv is None else argv
    show_traceback = "--traceback" in args
    try:
        result = app(args=args, prog_name="pathprobe", standalone_mode=False)
    except typer.Exit as e:
        return int(e.exit_code)
    except (KeyboardInterrupt, typer.Abort):
        _error("interrupted")
        return int(ExitStatus.NOT_MEASURED)
    except CommandLineError as e:  # typer's (or click's) usage errors
        show = getattr(e, "show", None)
        if type(e).__name__ == "NoArgsIsHelpError" and callable(show):  # `pathprobe` alone
            show()  # the help
        else:
            _error(usage_line(e, args))
        return int(ExitStatus.USAGE)
    except PathprobeError as e:
        _error(str(e))
        return int(e.exit_status)
    except BrokenPipeError:
        return int(ExitStatus.HEALTHY)
    except Exception as e:
        if interrupted_inside(e):  # Ctrl-C while Python wrapped it (``__set_name__`` before 3.12)
            _error("interrupted")
            return int(ExitStatus.NOT_MEASURED)
        if show_traceback:
            raise
        _error(f"internal error: {type(e).__name__}: {e} (rerun with --traceback and report it)")
        return int(ExitStatus.INTERNAL)
    return result if isinstance(result, int) else int(ExitStatus.HEALTHY)
