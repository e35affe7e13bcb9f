"""The CLI skeleton: help everywhere, version, one error boundary, exit statuses."""

from __future__ import annotations

import platform
import re
import subprocess
import sys
from importlib import metadata

import pytest

from pathprobe import __version__
from pathprobe.cli import main
from pathprobe.commands import lab as lab_command
from pathprobe.model import ExitStatus
from tests.conftest import REPO, cli_env

COMMANDS = ["pmtu", "mss", "tunnel", "serve", "diagnose", "demo", "analyze", "schema", "lab"]


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


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_shell_completion_script_is_available(shell: str) -> None:
    r = subprocess.run([sys.executable, "-m", "pathprobe", "--show-completion", shell],
                       capture_output=True, text=True, env=cli_env(), timeout=60, check=False)
    assert r.returncode == 0, r.stderr
    assert "_PATHPROBE_COMPLETE" in r.stdout


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
        assert "Exit status: 0 nothing at or above the --fail-on severity" in " ".join(out.split())


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
