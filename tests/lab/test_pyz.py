"""The one-file build: dist/pathprobe.pyz runs on the oldest and the newest CPython here.

Builds the archive once per session (scripts/build-pyz.sh; its dependencies are cached
under dist/pyz-deps/, so only the first build on a machine needs PyPI), then runs it with
`python -I` (no PYTHONPATH, no user site, nothing installed) under each interpreter:
--version, --help, `schema`, `analyze` on a fixture, and in the lab (root) `diagnose` and
SYN probes built by scapy from inside the archive.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from pathprobe import __version__
from pathprobe.schema import load_schema, schema_text
from tests.conftest import REPO, Lab

PROXY = "http://198.18.2.2:3128"
TARGET = "upstream.pathprobe.test:443"
CAPTURE = REPO / "tests" / "fixtures" / "captures" / "clamp.pcap"
MIN_PYTHON = (3, 9)
MAX_PYTHON = (3, 13)


@cache
def interpreters() -> dict[tuple[int, int, int], str]:
    """Every CPython 3.9..3.13 found here (pyenv, /usr/bin, /usr/local/bin, this one)."""
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates = {sys.executable, *map(str, pyenv.glob("versions/*/bin/python3"))}
    for d in ("/usr/bin", "/usr/local/bin"):
        candidates |= {str(p) for p in Path(d).glob("python3.*") if re.fullmatch(
            r"python3\.\d+", p.name)}
    found: dict[tuple[int, int, int], str] = {}
    for exe in sorted(candidates):
        try:
            r = subprocess.run([exe, "-I", "-c", "import sys, platform; print(platform."
                                "python_implementation(), *sys.version_info[:3])"],
                               capture_output=True, text=True, timeout=20, check=False)
        except (OSError, subprocess.TimeoutExpired):
            continue
        words = r.stdout.split()
        if r.returncode == 0 and len(words) == 4 and words[0] == "CPython":
            version = (int(words[1]), int(words[2]), int(words[3]))
            if MIN_PYTHON <= version[:2] <= MAX_PYTHON:
                found.setdefault(version, exe)
    return found


def chosen() -> list[tuple[int, int, int]]:
    """The oldest and the newest interpreter, and 3.11 (what the suite's venv runs) if present."""
    versions = sorted(interpreters())
    if not versions:
        return []
    picks = {versions[0], versions[-1], *(v for v in versions if v[:2] == (3, 11))}
    return sorted(picks)


PYTHONS = [pytest.param(v, id="py" + ".".join(map(str, v))) for v in chosen()]


def run(python: str, pyz: Path, *args: str,
        timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`python -I pathprobe.pyz ARGS` from /, with no proxy or Python variables around."""
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/tmp", "LC_ALL": "C.UTF-8"}
    return subprocess.run([python, "-I", str(pyz), *args], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd="/", check=False)


def test_interpreters_were_found() -> None:
    assert chosen(), "no CPython 3.9..3.13 found"
    assert sys.version_info[:2] >= MIN_PYTHON


def test_archive_is_pure_python_and_complete(pyz: Path) -> None:
    names = zipfile.ZipFile(pyz).namelist()
    assert not [n for n in names if re.search(r"\.(so|pyd|dylib|dll)(\.|$)", n)]
    for required in ("__main__.py", "pathprobe/cli.py", "pathprobe/schema/pathprobe-1.schema.json",
                     "scapy/__init__.py", "typer/__init__.py", "tabulate/__init__.py",
                     "wcwidth/__init__.py"):
        assert required in names, required
    tops = {n.split("/", 1)[0].lower() for n in names}
    assert not tops & {"psutil", "netifaces", "pydantic", "pydantic_core"}
    # bytecode only beside its source (tagged for CPython 3.9-3.13), never instead of it
    pycs = [n for n in names if n.endswith(".pyc")]
    assert pycs and all(re.fullmatch(r"(.+/)?__pycache__/\w+\.cpython-3(9|1[0-3])\.pyc", n)
                        for n in pycs), pycs[:5]
    sources = set(names)
    assert all(re.sub(r"__pycache__/(\w+)\.cpython-3\d+\.pyc$", r"\1.py", n) in sources
               for n in pycs)
    assert not [n for n in pycs if n.startswith("scapy/")]   # (loaded lazily: left out)


def old_pythons() -> list[str]:
    """Interpreters older than 3.9 found here (pyenv's 2.7, 3.6-3.8, ...), for the guard."""
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    found = []
    for exe in sorted(map(str, pyenv.glob("versions/*/bin/python"))):
        r = subprocess.run([exe, "-c", "import sys; print('%d %d' % sys.version_info[:2])"],
                           capture_output=True, text=True, timeout=20, check=False)
        words = r.stdout.split()
        if r.returncode == 0 and len(words) == 2 and (int(words[0]), int(words[1])) < MIN_PYTHON:
            found.append(exe)
    return found


OLD = old_pythons()


@pytest.mark.skipif(not OLD, reason="no Python older than 3.9 here (the unit test "
                                    "tests/unit/test_entry_point.py checks the guard)")
@pytest.mark.parametrize("python", OLD)
def test_too_old_python_is_one_line_exit_2(pyz: Path, python: str) -> None:
    """Python 3.8 (and older) would die with an ImportError traceback and exit 1, which
    the Ansible playbook would count as findings."""
    # -E -s rather than -I, which Python 2.7 does not know
    r = subprocess.run([python, "-E", "-s", str(pyz), "diagnose", "--json"],
                       capture_output=True, text=True, timeout=60, cwd="/", check=False,
                       env={"PATH": "/usr/bin:/bin", "HOME": "/tmp", "LC_ALL": "C.UTF-8"})
    assert r.returncode == 2 and r.stdout == "", (r.returncode, r.stderr)
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("pathprobe: error: Python "), r.stderr
    assert "3.9 or newer" in lines[0]


def test_the_archive_starts_with_the_guard(pyz: Path) -> None:
    main = zipfile.ZipFile(pyz).read("__main__.py")
    assert main == (REPO / "pathprobe" / "__main__.py").read_bytes()


@pytest.mark.parametrize("version", PYTHONS)
def test_version_and_help(pyz: Path, version: tuple[int, int, int]) -> None:
    python = interpreters()[version]
    r = run(python, pyz, "--version")
    assert r.returncode == 0, r.stderr
    py = ".".join(map(str, version))
    assert re.fullmatch(rf"pathprobe {re.escape(__version__)} \(CPython {re.escape(py)}, "
                        r"scapy \d+\.\d+[\w.]*\)\n", r.stdout), r.stdout
    r = run(python, pyz, "--help")
    assert r.returncode == 0, r.stderr
    for command in ("pmtu", "mss", "tunnel", "serve", "diagnose", "demo", "analyze", "schema",
                    "lab"):
        assert f"  {command} " in r.stdout
    r = run(python, pyz, "schema")
    assert r.returncode == 0 and r.stdout == schema_text(), r.stderr


BYTECODE_PROBE = """
import sys
sys.path.insert(0, sys.argv[1])
from pathprobe.zipbytecode import use_archive_bytecode
use_archive_bytecode(sys.argv[1])
import pathprobe.cli, pathprobe.schema, typer, wcwidth
print(*(type(m.__loader__).__name__ for m in (pathprobe.cli, typer, wcwidth)),
      pathprobe.schema.schema_text() == open(sys.argv[2]).read())
"""


@pytest.mark.parametrize("version", PYTHONS)
def test_modules_load_from_the_stored_bytecode(pyz: Path, version: tuple[int, int, int]
                                               ) -> None:
    """zipimport compiles from source on every run (2.3 s of an analyze of a small capture
    on our VM, 0.7-1.1 s with the bytecode): each interpreter here has its own, and the
    package data (the JSON schema) still reads through it."""
    schema = REPO / "pathprobe" / "schema" / "pathprobe-1.schema.json"
    r = subprocess.run([interpreters()[version], "-I", "-c", BYTECODE_PROBE, str(pyz),
                        str(schema)], capture_output=True, text=True, timeout=60, cwd="/",
                       check=False)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["ArchiveBytecodeLoader"] * 3 + ["True"], r.stdout


@pytest.mark.parametrize("version", PYTHONS)
def test_analyze_a_fixture(pyz: Path, version: tuple[int, int, int]) -> None:
    r = run(interpreters()[version], pyz, "analyze", str(CAPTURE), "--json")
    # the capture's clamp lets traffic flow: information (exit 0) unless --fail-on info
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    doc: dict[str, Any] = json.loads(r.stdout)
    jsonschema.validate(doc, load_schema())
    clamp = [v for v in doc["verdicts"] if v["code"] == "MSS_CLAMPED"]
    assert clamp and clamp[0]["mss_sent"] == 1460 and clamp[0]["mss_received"] == 1300
    assert clamp[0]["severity"] == "info"
    r = run(interpreters()[version], pyz, "analyze", str(CAPTURE), "--fail-on", "info")
    assert r.returncode == 1 and "## Findings" not in r.stdout and "Findings" in r.stdout


@pytest.mark.parametrize("version", PYTHONS)
def test_bad_input_is_a_usage_error(pyz: Path, version: tuple[int, int, int]) -> None:
    r = run(interpreters()[version], pyz, "pmtu", "--max-probes", "0", "198.18.2.2")
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr


def in_fmc(lab: Lab, python: str, pyz: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The archive run inside the lab's fmc namespace, isolated from this checkout."""
    return lab.run([python, "-I", str(pyz), *args], timeout=90)


@pytest.mark.parametrize("version", PYTHONS)
def test_lab_diagnose_and_scapy_probes(lab: Lab, pyz: Path, version: tuple[int, int, int]) -> None:
    python = interpreters()[version]
    if lab.state is None or lab.state.scenario != "article":
        lab.up("article")   # clamp 1300 on leg 1, a 1400-byte black hole on leg 2 going up
    r = in_fmc(lab, python, pyz, "diagnose", "--proxy", PROXY, "--target", TARGET, "--json")
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    doc: dict[str, Any] = json.loads(r.stdout)
    jsonschema.validate(doc, load_schema())
    found = {(v["code"], v["leg"]) for v in doc["verdicts"]}
    assert {("MSS_CLAMPED", "fmc-proxy"), ("PMTU_BLACKHOLE", "proxy-upstream")} <= found, found
    # SYN probes are the packets scapy builds: scapy loads from inside the archive.
    r = in_fmc(lab, python, pyz, "pmtu", "198.18.2.2", "--method", "syn", "--port", "3128",
               "--leg", "fmc-proxy", "--json", "-q")
    assert r.returncode in (0, 1) and "Traceback" not in r.stderr, r.stderr
    leg = json.loads(r.stdout)["legs"][0]
    assert leg["pmtu_method"] == "syn" and leg["pmtu"] == 1500, leg


@pytest.mark.parametrize("version", PYTHONS)
def test_compat_fallbacks(version: tuple[int, int, int]) -> None:
    """pathprobe.compat's stand-ins (StrEnum, pairwise, ...) under each interpreter."""
    r = subprocess.run([interpreters()[version], "-I", str(REPO / "tests" / "compat_checks.py")],
                       capture_output=True, text=True, timeout=60, check=False)
    assert r.returncode == 0 and r.stdout.startswith("compat ok"), r.stdout + r.stderr


@pytest.mark.parametrize("version", PYTHONS)
def test_check_py39_finds_nothing(version: tuple[int, int, int]) -> None:
    """scripts/check-py39.sh: every module imports and every --help works (the lead's check)."""
    r = subprocess.run(["bash", str(REPO / "scripts" / "check-py39.sh"), interpreters()[version]],
                       capture_output=True, text=True, timeout=300, check=False,
                       env={**os.environ, "PYTHON": sys.executable})
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-1000:]
    assert " 0 cause(s)" in r.stdout
