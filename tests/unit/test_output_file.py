"""`-o FILE` writes the file only (issue 21, item 1): the terminal gets one line, the
summary and the path (nothing with -q), as curl and tshark do, for every format, through
the real CLI (analyze of a real capture, merge of real reports)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import cli_env

CAPTURES = Path(__file__).resolve().parents[1] / "fixtures" / "captures"
CAPTURE = str(CAPTURES / "clamp.pcap")


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pathprobe", *args], capture_output=True,
                          text=True, env=cli_env(), check=False, timeout=120)


@pytest.mark.parametrize("name,extra", [
    ("report.txt", ()), ("report.html", ()), ("report.md", ()), ("report.tsv", ()),
    ("report.json", ()), ("report.out", ("--json",)), ("report.out", ("-f", "grid")),
])
def test_analyze_output_file_only(tmp_path: Path, name: str, extra: tuple[str, ...]) -> None:
    path = tmp_path / name
    r = cli("analyze", CAPTURE, "-o", str(path), *extra)
    assert r.returncode in (0, 1), r.stderr
    assert r.stdout == ""                       # the report is in the file, not on stdout
    body = path.read_text()
    assert "MSS_CLAMPED" in body
    lines = r.stderr.splitlines()
    assert len(lines) == 1, lines               # one line: the summary and the path
    assert str(path) in lines[0]
    assert "MSS clamped" in lines[0]
    assert "MSS_CLAMPED" not in r.stderr.replace(lines[0], "")
    if name.endswith(".json") or "--json" in extra:
        assert json.loads(body)["schema"] == "pathprobe/1"


def test_analyze_output_file_quiet_says_nothing(tmp_path: Path) -> None:
    path = tmp_path / "r.html"
    r = cli("analyze", CAPTURE, "-o", str(path), "-q")
    assert r.returncode in (0, 1), r.stderr
    assert (r.stdout, r.stderr) == ("", "")
    assert path.read_text().startswith("<!DOCTYPE html>")


def test_without_output_the_report_goes_to_stdout() -> None:
    r = cli("analyze", CAPTURE)
    assert "MSS_CLAMPED" in r.stdout


def test_merge_output_file_only(tmp_path: Path) -> None:
    reports = []
    for name in ("clamp", "acl"):
        out = tmp_path / f"{name}.json"
        r = cli("analyze", str(CAPTURES / f"{name}.pcap"), "-o", str(out), "-q")
        assert r.returncode in (0, 1), r.stderr
        reports.append(str(out))
    fleet = tmp_path / "fleet.md"
    r = cli("merge", *reports, "-o", str(fleet))
    assert r.returncode in (0, 1), r.stderr
    assert r.stdout == ""
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and str(fleet) in lines[0], lines
    assert fleet.read_text().startswith("# ")
