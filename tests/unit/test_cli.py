"""The CLI skeleton: help everywhere, version, one error boundary, exit statuses."""

from __future__ import annotations

import json
import platform
import re
import shlex
import subprocess
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

import pytest
import typer

from pathprobe import __version__
from pathprobe.cli import main
from pathprobe.commands import lab as lab_command
from pathprobe.commands.common import Output, run_measuring
from pathprobe.model import (
    Basis,
    Direction,
    ExitStatus,
    Leg,
    LegReport,
    Limit,
    Measurement,
    Progress,
    Severity,
    Verdict,
    VerdictCode,
)
from tests.conftest import REPO, cli_env

COMMANDS = ["pmtu", "mss", "tunnel", "serve", "diagnose", "demo", "analyze", "schema", "lab"]
MEASURING = ["pmtu", "mss", "tunnel", "diagnose"]


def test_version_names_python_and_scapy(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    expected = (f"pathprobe {__version__} ({platform.python_implementation()} "
                f"{platform.python_version()}, scapy {metadata.version('scapy')})")
    assert capsys.readouterr().out.strip() == expected


def test_version_does_not_import_scapy() -> None:
    code = ("import sys; from pathprobe.cli import main; main(['--version']); "
            "print('scapy' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env=cli_env(), timeout=60, check=True)
    assert r.stdout.splitlines()[-1] == "False"


def test_version_is_in_one_place() -> None:
    pyproject = (REPO / "pyproject.toml").read_text()
    assert 'dynamic = ["version"]' in pyproject
    assert 'version = {attr = "pathprobe.__version__"}' in pyproject
    assert not re.search(r'(?m)^version\s*=\s*"', pyproject)
    assert f"## [{__version__}]" in (REPO / "CHANGELOG.md").read_text()


def test_shell_completion_script_is_available() -> None:
    """typer (with shellingham) prints the script of the shell it runs under, found among
    its parent processes: run from bash (not exec'd by it), whatever runs the tests (a
    test runner whose own shell has exited has none, and got "Shell  not supported")."""
    command = f"{shlex.quote(sys.executable)} -m pathprobe --show-completion; exit $?"
    r = subprocess.run(["bash", "-c", command], capture_output=True, text=True, env=cli_env(),
                       timeout=60, check=False)
    assert r.returncode == 0, r.stderr
    assert "_PATHPROBE_COMPLETE" in r.stdout and "complete " in r.stdout


def test_completion_completes_subcommands() -> None:
    env = cli_env({"_PATHPROBE_COMPLETE": "complete_bash", "COMP_WORDS": "pathprobe sch",
                   "COMP_CWORD": "1"})
    r = subprocess.run([sys.executable, "-m", "pathprobe"], capture_output=True, text=True,
                       env=env, timeout=60, check=False)
    assert "schema" in r.stdout.split(), (r.stdout, r.stderr)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert f"Usage: pathprobe {command}" in out
    if command not in ("lab", "schema"):
        assert ("Exit status: 0 nothing at or above the --fail-on severity (default warning) "
                "was found, 1 a finding at or above it, 2 usage error or bad input, 3 could not "
                "measure"
                ) in " ".join(out.split())


@pytest.mark.parametrize("command", MEASURING)
def test_every_measuring_command_has_fail_on_quiet_and_verbose(
        command: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([command, "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    for option in ("--fail-on SEVERITY", "-q, --quiet", "-v, --verbose"):
        assert option in out, option
    assert "critical, warning (default) or info" in out


@pytest.mark.parametrize("command", MEASURING)
def test_an_unknown_severity_is_a_usage_error(command: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main([command, "--fail-on", "fatal", "198.18.0.1"]) == ExitStatus.USAGE
    err = capsys.readouterr().err
    assert "--fail-on" in err and "Traceback" not in err


def test_root_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in COMMANDS:
        assert f"  {command} " in out


@pytest.mark.parametrize("args", [["nosuch"], ["lab", "up", "--leg", "5"],
                                  ["lab", "exec", "--node", "mars", "--", "true"]])
def test_usage_errors_exit_2(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args) == ExitStatus.USAGE
    assert "Traceback" not in capsys.readouterr().err


# --- the one runner of the measuring commands ------------------------------------------------

L1 = Leg.FMC_PROXY
CLAMP = Verdict(VerdictCode.MSS_CLAMPED, L1, Direction.BOTH,
                numbers={"mss_sent": 1460, "mss_received": 1336}, basis=Basis.THIS_LEG_ONLY,
                mss_received=1336)
HOLE = Verdict(VerdictCode.PMTU_BLACKHOLE, L1, Direction.BOTH, limit=Limit(mtu=1372),
               basis=Basis.THIS_LEG_ONLY)
ROW = LegReport(L1, "198.18.2.2", None, {"pmtu": 1500})


def _run(verdicts: Sequence[Verdict], out: Output, *, interrupt: bool = False) -> int:
    def measure(progress: Progress) -> list[Measurement]:
        progress("probing")
        if interrupt:
            raise KeyboardInterrupt
        return [Measurement((ROW,), tuple(verdicts))]

    with pytest.raises(typer.Exit) as info:
        run_measuring("mss", measure, out)
    return info.value.exit_code


@pytest.mark.parametrize(("verdicts", "fail_on", "status", "severities"), [
    # a clamp with traffic flowing is information
    ((CLAMP,), Severity.WARNING, ExitStatus.HEALTHY, ["info"]),
    ((CLAMP,), Severity.INFO, ExitStatus.PROBLEM, ["info"]),
    ((HOLE,), Severity.CRITICAL, ExitStatus.PROBLEM, ["critical"]),
    # 1336 - 12 timestamp bytes > 1320 the leg carries: the clamp is too high, a warning
    ((CLAMP, HOLE), Severity.CRITICAL, ExitStatus.PROBLEM, ["critical", "warning"]),
    ((), Severity.WARNING, ExitStatus.NOT_MEASURED, []),
])
def test_the_runner_exits_with_the_status_of_the_fail_on_threshold(
        verdicts: tuple[Verdict, ...], fail_on: Severity, status: ExitStatus,
        severities: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(verdicts, Output(as_json=True, fail_on=fail_on, quiet=True)) == status
    doc = json.loads(capsys.readouterr().out)
    assert [v["severity"] for v in doc["verdicts"]] == severities


def test_ctrl_c_in_the_runner_gives_the_partial_report_and_exit_3(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert _run([HOLE], Output(as_json=True), interrupt=True) == ExitStatus.NOT_MEASURED
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert doc["partial"] is True
    assert doc["errors"] == ["interrupted: 'mss' was stopped before it finished"]
    assert captured.err == "pathprobe: probing\n"


def test_quiet_silences_progress_and_verbose_adds_the_wall_time(
        capsys: pytest.CaptureFixture[str]) -> None:
    _run([CLAMP], Output(quiet=True))
    assert capsys.readouterr().err == ""
    _run([CLAMP], Output(verbose=True))
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "pathprobe: probing"
    assert err[1].startswith("pathprobe: step 1: ") and err[1].endswith(" s (probing)")
    assert err[2].startswith("pathprobe: mss: ") and err[2].endswith(" s")


def test_the_runner_writes_the_same_report_to_output(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "report.txt"
    assert _run([HOLE], Output(output=target, quiet=True)) == ExitStatus.PROBLEM
    assert capsys.readouterr() == ("", "")   # the file only; -q: not even the one line
    text = target.read_text()
    assert "critical" in text and "PMTU_BLACKHOLE" in text
    assert list(tmp_path.iterdir()) == [target]   # no temp file left behind


def test_internal_error_is_one_line_exit_4_and_traceback_on_request(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def boom() -> str:
        raise RuntimeError("kaboom")
    monkeypatch.setattr(lab_command, "_prefix", boom)
    assert main(["lab", "status"]) == ExitStatus.INTERNAL
    err = capsys.readouterr().err
    assert err == ("pathprobe: error: internal error: RuntimeError: kaboom "
                   "(rerun with --traceback and report it)\n")
    with pytest.raises(RuntimeError):
        main(["--traceback", "lab", "status"])


def test_help_does_not_import_scapy() -> None:
    code = ("import sys; from pathprobe.cli import main; main(['--help']); "
            f"[main([c, '--help']) for c in {COMMANDS!r}]; "
            "sys.stderr.write(str(any(m.startswith('scapy') for m in sys.modules)))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env=cli_env(), check=True)
    assert r.stderr.strip() == "False"


def test_python_dash_m_entry_point() -> None:
    r = subprocess.run([sys.executable, "-m", "pathprobe", "--version"], capture_output=True,
                       text=True, env=cli_env(), cwd=REPO, check=False)
    assert r.returncode == 0 and r.stdout.startswith("pathprobe ")


def test_typer_command_modules_keep_annotations_evaluated() -> None:
    """On Python 3.9 typer (0.23) reads Annotated[...] options from the signature without
    evaluating strings: a command module with `from __future__ import annotations` loses
    every option's name, help and callback there (--version stopped working)."""
    import ast

    for path in [REPO / "pathprobe" / "cli.py", *(REPO / "pathprobe" / "commands").glob("*.py")]:
        tree = ast.parse(path.read_text())
        defines_commands = any(isinstance(node, ast.FunctionDef) and any(
            isinstance(a.annotation, ast.Subscript) and "typer" in ast.unparse(a.annotation)
            for a in node.args.args) for node in ast.walk(tree))
        future = any(isinstance(node, ast.ImportFrom) and node.module == "__future__"
                     for node in tree.body)
        assert not (defines_commands and future), path
