"""Same flags everywhere (issue 21 item 5): one meaning per letter, the shared options on
every command where they make sense, and one declaration of the output options (issue 22
item 5)."""

from __future__ import annotations

import ast
import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main

from pathprobe.cli import app, main
from tests.conftest import REPO, cli_env


def _commands(group: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every (sub)command with its path (click's objects; typer >= 0.27 vendors click)."""
    yield path, group
    for name, sub in getattr(group, "commands", {}).items():
        yield from _commands(sub, (*path, name))


COMMANDS = dict(_commands(typer.main.get_command(app)))


def _options(command: Any) -> dict[str, str]:
    """Every option string of one command -> the option's long name."""
    found: dict[str, str] = {}
    for param in command.params:
        if param.param_type_name == "option":
            names = [*param.opts, *param.secondary_opts]
            long = next((n for n in names if n.startswith("--")), names[0])
            found.update({n: long for n in names})
    return found


def test_no_letter_has_two_meanings() -> None:
    meaning: dict[str, tuple[str, str]] = {}
    clashes = []
    for path, command in COMMANDS.items():
        for opt, long in _options(command).items():
            if opt.startswith("--"):
                continue
            first = meaning.setdefault(opt, (long, " ".join(path)))
            if first[0] != long:
                clashes.append(f"{opt}: {first[0]} in '{first[1]}', {long} in "
                               f"'{' '.join(path)}'")
    assert not clashes, clashes


# Which shared flags each command takes: everywhere they make sense.
REPORTING = ("-q", "-v", "-o", "-f", "--json", "--fail-on", "--width", "--table",
             "--host-name")
EXPECTED = {
    ("pmtu",): REPORTING,
    ("mss",): REPORTING,
    ("tunnel",): (*REPORTING, "-x", "-t", "-U"),
    ("diagnose",): (*REPORTING, "-x", "-t", "-U"),
    ("analyze",): (*REPORTING, "-x"),
    ("demo",): REPORTING,
    ("merge",): ("-q", "-o", "-f", "--json", "--fail-on", "--width", "--table"),
    ("serve",): ("-q",),
    ("lab", "status"): ("--json",),
    (): ("-V", "--version"),
}


@pytest.mark.parametrize("path", sorted(EXPECTED), ids=lambda p: " ".join(p) or "pathprobe")
def test_each_command_has_the_shared_flags(path: tuple[str, ...]) -> None:
    options = _options(COMMANDS[path])
    missing = [o for o in EXPECTED[path] if o not in options]
    assert not missing, missing
    names = {"-q": "--quiet", "-v": "--verbose", "-o": "--output", "-f": "--format",
             "-x": "--proxy", "-t": "--target", "-U": "--proxy-user", "-V": "--version"}
    for short, long in names.items():
        if short in options:
            assert options[short] == long, (short, options[short])


def test_dash_capital_v_prints_the_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-V"]) == 0
    assert capsys.readouterr().out.startswith("pathprobe ")


OWN_MEANING = {"merge.py": {"--json", "--table"}, "lab.py": {"--json"}}


def test_output_options_are_declared_once() -> None:
    """No command module declares an output option itself or builds Output positionally."""
    flags = {"--json", "--format", "--output", "--width", "--table", "--fail-on", "--quiet",
             "--verbose"}
    for module in sorted((REPO / "pathprobe" / "commands").glob("*.py")):
        if module.name == "common.py":
            continue
        tree = ast.parse(module.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "Option":
                declared = {a.value for a in node.args if isinstance(a, ast.Constant)}
                own = declared & flags
                # merge's --json and --table say what a fleet report holds (replacing=);
                # lab status --json prints the lab's state, no report
                assert own <= OWN_MEANING.get(module.name, set()), (module.name, own)
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Output":
                assert not node.args, f"{module.name}: Output(...) with positional arguments"


def test_host_name_names_the_host_in_the_report(capsys: pytest.CaptureFixture[str]) -> None:
    """Reports carry the name the user gives (Ansible's inventory_hostname), control
    characters removed, and merge names the host so."""
    capture = REPO / "tests" / "fixtures" / "captures" / "healthy.pcap"
    assert main(["analyze", str(capture), "--json", "-q", "--host-name", "fmc-a\x1b[2J"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["context"]["host"] == "fmc-a"  # the escape sequence is gone


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_quiet_says_nothing() -> None:
    """serve -q: no 'listening' or 'stopped' line (without -q both are there)."""
    port = _free_port()
    args = [sys.executable, "-m", "pathprobe", "serve", "--listen", f"127.0.0.1:{port}",
            "--max-time", "0.5"]
    loud = subprocess.run(args, capture_output=True, text=True, env=cli_env(), timeout=30,
                          check=False)
    assert loud.returncode == 0 and "reflector listening" in loud.stderr, loud.stderr
    quiet = subprocess.run([*args, "-q"], capture_output=True, text=True, env=cli_env(),
                           timeout=30, check=False)
    assert (quiet.returncode, quiet.stderr) == (0, "")


def test_merge_quiet_says_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """merge -q: a file that is a fleet report is skipped without a line on stderr."""
    capture = REPO / "tests" / "fixtures" / "captures" / "healthy.pcap"
    report, fleet = tmp_path / "fmc.json", tmp_path / "fleet.json"
    assert main(["analyze", str(capture), "-q", "-o", str(report), "--json"]) == 0
    assert main(["merge", str(report), "--json", "-o", str(fleet)]) == 0
    capsys.readouterr()
    assert main(["merge", str(report), str(fleet)]) == 0
    assert "skipping" in capsys.readouterr().err
    assert main(["merge", str(report), str(fleet), "-q"]) == 0
    assert capsys.readouterr().err == ""


def test_an_unknown_output_option_name_is_refused() -> None:
    from pathprobe.commands.common import output_options

    with pytest.raises(ValueError, match="no such output option: quite"):
        output_options(only=("quite",))
