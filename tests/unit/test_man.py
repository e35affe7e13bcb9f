"""man/pathprobe.1 is generated from --help and must name every command and option."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

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
    assert len(pages) >= 13  # root, 7 commands, lab and its 5 subcommands
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
