"""Strict JSON (issue 23 item 7): NaN and Infinity are refused when a report is read
(`merge`, the schema check, the reflector's lines) and never written."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pathprobe.schema.check import schema_problem
from pathprobe.wire import strict_json
from pathprobe.wire.reflector_protocol import parse_answer
from tests.conftest import cli_env

GOLDEN = Path(__file__).resolve().parent / "golden" / "captures" / "acl.pcap.json"


def strict(text: str) -> Any:
    """What any RFC 8259 reader does with our output."""
    def refuse(word: str) -> None:
        raise AssertionError(f"{word} written")
    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize("bad", ["NaN", "Infinity", "-Infinity", "1e999", "-1e400"])
def test_merge_refuses_non_finite_numbers_and_never_writes_them(tmp_path: Path,
                                                                bad: str) -> None:
    good = json.loads(GOLDEN.read_text())
    text = json.dumps({**good, "duration_s": 0.25}).replace('"duration_s": 0.25',
                                                            f'"duration_s": {bad}')
    (tmp_path / "fmc-bad.json").write_text(text)
    (tmp_path / "fmc-good.json").write_text(json.dumps(good))
    for fmt in (["--json"], ["--format", "tsv", "--table", "hosts"]):
        r = subprocess.run([sys.executable, "-m", "pathprobe", "merge",
                            str(tmp_path / "fmc-bad.json"), str(tmp_path / "fmc-good.json"),
                            *fmt], capture_output=True, text=True, env=cli_env(),
                           timeout=60, check=False)
        assert r.returncode == 3, r.stderr       # one host is no report: could not measure
        if fmt == ["--json"]:
            hosts = {h["file"].rsplit("/", 1)[-1]: h for h in strict(r.stdout)["hosts"]}
            assert hosts["fmc-bad.json"]["state"] == "invalid-json", hosts
            assert "not a JSON number" in hosts["fmc-bad.json"]["problem"] or \
                "too large" in hosts["fmc-bad.json"]["problem"]
        else:
            assert "not JSON" in r.stdout


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_schema_check_refuses_non_finite_numbers(value: float) -> None:
    doc = json.loads(GOLDEN.read_text())
    assert schema_problem(doc) is None
    doc["duration_s"] = value
    assert schema_problem(doc) is not None


def test_reflector_lines_with_non_finite_numbers_are_not_the_protocol() -> None:
    assert parse_answer(b'{"received": NaN}\n') is None
    assert parse_answer(b'{"received": 1e999}\n') is None


@given(st.recursive(st.none() | st.booleans() | st.floats() | st.integers() | st.text(),
                    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner)))
def test_dumps_writes_only_strict_json_or_refuses(value: object) -> None:
    try:
        text = strict_json.dumps(value)
    except ValueError:
        return
    strict(text)
    assert strict_json.loads(text) == json.loads(text)
