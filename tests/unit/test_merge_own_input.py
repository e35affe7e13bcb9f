"""`merge -o` refuses to write over one of the reports it reads (issue 23 item 11): exit 2,
one line, the input untouched; by the same name, another spelling or a hard link."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import cli_env

GOLDEN = Path(__file__).resolve().parent / "golden" / "captures"


def merge(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pathprobe", "merge", *args],
                          capture_output=True, text=True, env=cli_env(), cwd=cwd, timeout=60,
                          check=False)


@pytest.mark.parametrize("output", ["fmc-a.json", "./fmc-a.json", "../reports/fmc-b.json",
                                    "link.json", "{abs}/fmc-b.json"])
def test_merge_output_onto_an_input_is_refused(tmp_path: Path, output: str) -> None:
    reports = tmp_path / "reports"
    reports.mkdir()
    for host, name in (("fmc-a", "acl"), ("fmc-b", "clamp")):
        (reports / f"{host}.json").write_bytes((GOLDEN / f"{name}.pcap.json").read_bytes())
    os.link(reports / "fmc-a.json", reports / "link.json")
    before = {p.name: p.read_bytes() for p in reports.iterdir()}
    r = merge(reports, "fmc-a.json", "fmc-b.json", "-o", output.format(abs=reports))
    assert r.returncode == 2, r.stderr
    assert r.stderr.count("\n") == 1 and "is one of the reports to merge" in r.stderr
    assert r.stdout == ""
    assert {p.name: p.read_bytes() for p in reports.iterdir()} == before


def test_merge_output_elsewhere_still_works(tmp_path: Path) -> None:
    (tmp_path / "fmc-a.json").write_bytes((GOLDEN / "acl.pcap.json").read_bytes())
    r = merge(tmp_path, "fmc-a.json", "-o", "fleet.json")
    assert r.returncode == 1, r.stderr
    assert (tmp_path / "fleet.json").read_text().startswith("{")
