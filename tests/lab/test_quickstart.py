"""The quick start (issue 21 item 6): after scripts/setup.sh's link step, `pathprobe` and
`man pathprobe` work from a plain PATH, for root and through sudo (whose secure_path never
has the virtualenv); the demo's set-up installs the tool's needs only, the test command the
test tools.

The link step runs for real here (root): it links /usr/local/bin/pathprobe and
/usr/local/share/man/man1/pathprobe.1; what was there before is put back afterwards.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import IN_CI, IS_ROOT, REPO

VENV = Path(sys.executable).parent.parent
BIN = Path("/usr/local/bin/pathprobe")
PAGE = Path("/usr/local/share/man/man1/pathprobe.1")
PLAIN = {"PATH": "/usr/bin:/bin:/usr/local/bin", "HOME": "/root", "LC_ALL": "C.UTF-8"}


def _need(condition: bool, reason: str) -> None:
    if not condition:
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture
def linked() -> Iterator[None]:
    """setup.sh --link-only, for real; afterwards the two paths are as they were."""
    _need(IS_ROOT, "the link step writes to /usr/local (root)")
    _need(shutil.which("man") is not None, "man-db is not installed (scripts/setup.sh)")
    before = {p: os.readlink(p) if p.is_symlink() else None for p in (BIN, PAGE)}
    if any(p.exists() and not p.is_symlink() for p in (BIN, PAGE)):
        pytest.skip("a pathprobe that is not setup.sh's link is installed in /usr/local")
    r = subprocess.run(["bash", str(REPO / "scripts" / "setup.sh"), "--link-only"],
                       capture_output=True, text=True, timeout=120, check=False,
                       env={**os.environ, "PATHPROBE_VENV": str(VENV)})
    try:
        assert r.returncode == 0, r.stderr
        yield
    finally:
        for path, target in before.items():
            if path.is_symlink():
                path.unlink()
            if target is not None:
                path.symlink_to(target)


def test_pathprobe_and_man_from_a_plain_path(linked: None) -> None:
    version = subprocess.run(["env", "-i", *(f"{k}={v}" for k, v in PLAIN.items()),
                              "pathprobe", "--version"], capture_output=True, text=True,
                             timeout=60, check=False, cwd="/")
    assert version.returncode == 0, version.stderr
    assert version.stdout.startswith("pathprobe "), version.stdout
    where = subprocess.run(["env", "-i", *(f"{k}={v}" for k, v in PLAIN.items()),
                            "man", "-w", "pathprobe"], capture_output=True, text=True,
                           timeout=60, check=False, cwd="/")
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).resolve() == (REPO / "man" / "pathprobe.1").resolve()
    page = subprocess.run(["env", "-i", *(f"{k}={v}" for k, v in PLAIN.items()),
                           "MANPAGER=cat", "MANWIDTH=80", "man", "pathprobe"],
                          capture_output=True, text=True, timeout=60, check=False, cwd="/")
    assert page.returncode == 0 and "pathprobe" in page.stdout and "EXIT STATUS" in page.stdout


def test_pathprobe_and_man_through_sudo(linked: None) -> None:
    _need(shutil.which("sudo") is not None, "sudo is not installed (scripts/setup.sh --test)")
    for argv in (["pathprobe", "-V"], ["man", "-w", "pathprobe"]):
        # sudo resets PATH to its secure_path: the virtualenv is not on it
        r = subprocess.run(["sudo", "-n", *argv], capture_output=True, text=True, timeout=60,
                           check=False, cwd="/", env={**PLAIN, "PATH": f"{VENV}/bin:/usr/bin:/bin"})
        assert r.returncode == 0, (argv, r.stderr)
    r = subprocess.run(["sudo", "-n", "sh", "-c", "command -v pathprobe"], capture_output=True,
                       text=True, timeout=60, check=False, cwd="/")
    assert r.stdout.strip() == str(BIN)


def test_the_link_step_leaves_another_installation_alone(tmp_path: Path) -> None:
    _need(IS_ROOT, "setup.sh runs as root")
    bin_dir, man_dir = tmp_path / "bin", tmp_path / "man"
    bin_dir.mkdir()
    (bin_dir / "pathprobe").write_text("#!/bin/sh\necho other\n")
    r = subprocess.run(["bash", str(REPO / "scripts" / "setup.sh"), "--link-only"],
                       capture_output=True, text=True, timeout=120, check=False,
                       env={**os.environ, "PATHPROBE_VENV": str(VENV),
                            "PATHPROBE_BIN_DIR": str(bin_dir), "PATHPROBE_MAN_DIR": str(man_dir)})
    assert r.returncode == 0 and "not a link; left as it is" in r.stderr, r.stderr
    assert (bin_dir / "pathprobe").read_text().endswith("echo other\n")
    assert os.readlink(man_dir / "man1" / "pathprobe.1") == str(REPO / "man" / "pathprobe.1")


def _array(script: str, name: str) -> set[str]:
    """The words of a bash array assignment NAME=(...) in setup.sh."""
    body = re.search(rf"(?ms)^{name}=\((.*?)\)", script)
    assert body, name
    words = re.sub(r"#[^\n]*", "", body.group(1)).split()
    return set(words)


def test_the_demo_installs_its_needs_and_the_tests_theirs() -> None:
    """run-demo.sh: the tool and its lab, no test tools, no dev extra; run-tests.sh: --test."""
    setup = (REPO / "scripts" / "setup.sh").read_text()
    tool, tests = _array(setup, "APT_PACKAGES"), _array(setup, "TEST_PACKAGES")
    assert not tool & {"chromium", "tshark", "scamper", "tcpdump", "openssh-server", "sudo"}
    assert {"squid-openssl", "nftables", "iproute2", "man-db"} <= tool
    assert {"chromium", "tshark", "openssh-server", "sudo"} <= tests
    from pathprobe.lab.manager import REQUIRED_TOOLS  # what the lab checks for
    assert set(REQUIRED_TOOLS.values()) <= tool
    demo = (REPO / "scripts" / "run-demo.sh").read_text()
    assert re.search(r'(?m)^"\$REPO/scripts/setup.sh"\s*(#.*)?$', demo), demo
    run_tests = (REPO / "scripts" / "run-tests.sh").read_text()
    assert '"$REPO/scripts/setup.sh" --test' in run_tests
    # the dev extra (pytest, ...) only with --test
    assert re.search(r'(?s)if \[ "\$mode" = "test" \]; then\s+pip_install "\$VENV/bin/python" '
                     r'-e "\$REPO\[dev\]"', setup)
