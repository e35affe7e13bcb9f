"""Truly pure (issue 21 item 7): a plain `pip install .` into a fresh virtualenv brings no
compiled file on any CPython 3.9-3.13 found here, and the installed CLI starts.

Every interpreter found runs (pyenv's 3.9-3.13, else the system's python3); pip's cache in
dist/pip-cache makes runs after the first one fast (PyPI is needed the first time).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO

COMPILED = (".so", ".pyd", ".dylib", ".dll")


def interpreters() -> dict[str, Path]:
    """'3.X' -> the newest interpreter of that minor version, from pyenv and the PATH."""
    found: dict[str, Path] = {}
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    for minor in ("3.9", "3.10", "3.11", "3.12", "3.13"):
        # 3.X.Y directories only (not 3.X-dev or 3.Xt), the newest patch release last
        candidates = sorted((p for p in pyenv.glob(f"{minor}.*/bin/python3")
                             if p.parts[-3].split(".")[2].isdigit()),
                            key=lambda p: int(p.parts[-3].split(".")[2]))
        system = shutil.which(f"python{minor}")
        if candidates:
            found[minor] = candidates[-1]
        elif system:
            found[minor] = Path(system)
    return found


PYTHONS = interpreters()


def test_some_interpreter_is_checked() -> None:
    assert PYTHONS, "no CPython 3.9-3.13 found"


@pytest.mark.parametrize("minor", sorted(PYTHONS, key=lambda m: int(m.split(".")[1])))
def test_plain_pip_install_brings_no_compiled_file(minor: str, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([str(PYTHONS[minor]), "-m", "venv", str(venv)], check=True, timeout=120)
    # A copy of the checkout, so the build leaves nothing (build/, *.egg-info) behind.
    src = tmp_path / "src"
    shutil.copytree(REPO, src, ignore=shutil.ignore_patterns(
        ".git", "dist", "build", "*.egg-info", "__pycache__", ".mypy_cache", ".ruff_cache",
        ".pytest_cache", ".hypothesis"))
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
           "PIP_CACHE_DIR": str(REPO / "dist" / "pip-cache"),
           "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    r = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "."],
                       cwd=src, env=env, capture_output=True, text=True, timeout=600,
                       check=False)
    assert r.returncode == 0, r.stderr[-2000:]
    site = venv / "lib"
    compiled = sorted(str(p.relative_to(site)) for p in site.rglob("*")
                      if p.is_file() and (p.suffix in COMPILED or ".so." in p.name))
    assert not compiled, f"Python {minor}: compiled files installed: {compiled}"
    frozen = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "freeze"], env=env,
                            capture_output=True, text=True, timeout=120, check=True).stdout
    assert "pydantic" not in frozen.lower(), frozen
    # The installed CLI starts and builds every command's options (typer 0.23 on 3.9,
    # the newest pure typer elsewhere).
    version = subprocess.run([str(venv / "bin" / "pathprobe"), "-V"], env=env, cwd=tmp_path,
                             capture_output=True, text=True, timeout=60, check=False)
    assert version.returncode == 0 and version.stdout.startswith("pathprobe "), version.stderr
    for command in ("diagnose", "merge", "serve", "demo"):
        helped = subprocess.run([str(venv / "bin" / "pathprobe"), command, "--help"], env=env,
                                cwd=tmp_path, capture_output=True, text=True, timeout=60,
                                check=False)
        assert helped.returncode == 0 and "-q, --quiet" in helped.stdout, helped.stderr
    bad = subprocess.run([str(venv / "bin" / "pathprobe"), "pmtu", "--max-probes", "x", "h"],
                         env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60,
                         check=False)
    assert bad.returncode == 2 and len(bad.stderr.splitlines()) == 1, bad.stderr
