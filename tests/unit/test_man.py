"""man/pathprobe.1 is generated from --help and must name every command and option."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from pathprobe import __version__
from pathprobe.model import EXIT_STATUS_HELP, VERDICT_MEANINGS, ExitStatus
from pathprobe.schema import SCHEMA_ID
from tests.conftest import REPO

sys.path.insert(0, str(REPO / "scripts"))
import gen_man

MAN = (REPO / "man" / "pathprobe.1").read_text()


def test_man_page_is_up_to_date() -> None:
    r = subprocess.run([sys.executable, str(REPO / "scripts" / "gen_man.py"), "--check"],
                       capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr


def test_every_command_and_option_of_help_is_in_the_man_page() -> None:
    pages = gen_man.walk()
    assert len(pages) >= 14  # root, 8 commands, lab and its 5 subcommands
    for args, text in pages:
        assert ".SS " + gen_man.esc(" ".join(["pathprobe", *args])) in MAN
        for option in set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", text)):
            assert gen_man.esc(option) in MAN, (args, option)


def test_man_page_has_exit_status_and_environment() -> None:
    for section in (".SH EXIT STATUS", ".SH ENVIRONMENT", "PATHPROBE_PROXY_PASSWORD",
                    ".SH NETWORK SAFETY"):
        assert section in MAN


def test_escaping() -> None:
    assert gen_man.esc(".x\n'y\na-b\\c") == "\\&.x\n\\&'y\na\\-b\\ec"
    assert Path(gen_man.__file__).name == "gen_man.py"


def test_man_page_has_verdicts_json_and_exit_status_sections() -> None:
    for section in (".SH VERDICTS", ".SH JSON", ".SH EXIT STATUS", ".SH EXAMPLES"):
        assert section in MAN
    verdicts = MAN.split(".SH VERDICTS", 1)[1].split(".SH ", 1)[0]
    for code, meaning in VERDICT_MEANINGS.items():
        assert f".B {gen_man.esc(code.value)}\n{gen_man.esc(meaning)}" in verdicts
    json_section = MAN.split(".SH JSON", 1)[1].split(".SH ", 1)[0]
    assert "pathprobe schema" in json_section and SCHEMA_ID in json_section
    exit_section = MAN.split(".SH EXIT STATUS", 1)[1].split(".SH ", 1)[0]
    for status in ExitStatus:
        assert f".B {int(status)}\n" in exit_section


def test_exit_statuses_come_from_the_model() -> None:
    statuses = gen_man.exit_statuses()
    assert [n for n, _ in statuses] == [int(s) for s in ExitStatus]
    assert all(f"{n} {text}" in EXIT_STATUS_HELP for n, text in statuses)


def example_commands() -> list[list[str]]:
    """Each pathprobe invocation in EXAMPLES, continuation lines joined, sudo dropped."""
    out = []
    for _text, block in gen_man.EXAMPLES:
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line)
            if words[:1] == ["sudo"]:
                words = words[1:]
            if words[:1] == ["pathprobe"]:
                out.append(words[1:])
    return out


def test_examples_show_diagnose_and_analyze_with_real_options() -> None:
    commands = example_commands()
    assert {"diagnose", "analyze"} <= {c[0] for c in commands}
    for words in commands:
        path = [w for w in words[:2] if not w.startswith("-")][:2 if words[0] == "lab" else 1]
        help_out = gen_man.help_text(path)
        ours = words[:words.index("--")] if "--" in words else words   # not lab exec's command
        for option in (w for w in ours if w.startswith("-")):
            assert re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", help_out), (words, option)


def test_pip_install_puts_the_man_page_under_share_man(tmp_path: Path) -> None:
    """The wheel's data files: `pip install .` into a fresh venv installs share/man/man1."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    src = tmp_path / "src"   # a copy, so the build leaves no build/ or *.egg-info in the checkout
    shutil.copytree(REPO, src, ignore=shutil.ignore_patterns(
        ".git", "dist", "build", "*.egg-info", "__pycache__", ".venv", ".mypy_cache"))
    r = subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"),
                        "install", "--no-deps", "--disable-pip-version-check", "-q", str(src)],
                       capture_output=True, text=True, timeout=600, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    installed = venv / "share" / "man" / "man1" / "pathprobe.1"
    assert installed.read_text() == MAN
    site = next(venv.glob("lib/python3*/site-packages"))
    assert (site / "pathprobe" / "schema" / "pathprobe-1.schema.json").is_file()
    dist_info = next(site.glob("pathprobe-*.dist-info"))
    assert dist_info.name == f"pathprobe-{__version__}.dist-info"
    license_text = next(dist_info.rglob("LICENSE")).read_text()
    assert "Copyright (c) 2026 the pathprobe authors" in license_text
    metadata_text = (dist_info / "METADATA").read_text()
    assert "Requires-Python: >=3.9" in metadata_text and "License-Expression: MIT" in metadata_text
