"""Size limits of the package (issue 22 item 8): a function of at most 80 lines, a module
of at most 600.

A longer function is allowed only as a measured hot loop: a ``# hot loop:`` comment inside
it names the benchmark script (``scripts/bench_*.py``, which must exist) that shows why it
stays whole. Checked on the source, so a new long function or module fails here.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "pathprobe"
SCRIPTS = ROOT / "scripts"
MAX_FUNCTION_LINES = 80
MAX_MODULE_LINES = 600
HOT_LOOP = re.compile(r"#\s*hot loop:.*?\b(?:scripts/)?(bench_\w+)(?:\.py)?\b")

MODULES = sorted(PACKAGE.rglob("*.py"))


def long_functions(source: str, limit: int = MAX_FUNCTION_LINES) -> list[tuple[str, int]]:
    """(name, lines) of every function (methods and nested ones too) longer than ``limit``
    lines, counted from ``def`` to its last line, that is not a hot loop naming an existing
    benchmark script."""
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        end = node.end_lineno or node.lineno
        length = end - node.lineno + 1
        if length <= limit:
            continue
        benches = [m.group(1) for line in lines[node.lineno - 1:end]
                   for m in [HOT_LOOP.search(line)] if m is not None]
        if not any((SCRIPTS / f"{b}.py").is_file() for b in benches):
            found.append((node.name, length))
    return found


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_functions_are_at_most_80_lines_unless_a_measured_hot_loop(path: Path) -> None:
    found = long_functions(path.read_text())
    assert not found, (f"{path.relative_to(ROOT)}: " + ", ".join(
        f"{name} has {n} lines" for name, n in found)
        + f" (at most {MAX_FUNCTION_LINES}; a measured hot loop says '# hot loop: "
          "scripts/bench_NAME.py ...' inside)")


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_are_at_most_600_lines(path: Path) -> None:
    n = len(path.read_text().splitlines())
    assert n <= MAX_MODULE_LINES, (f"{path.relative_to(ROOT)} has {n} lines (at most "
                                   f"{MAX_MODULE_LINES}): split it along its responsibilities")


def _function(body_lines: int, comment: str = "") -> str:
    body = "".join(f"    x{i} = {i}\n" for i in range(body_lines - 1))
    return f"def f():\n{comment}{body}"


def test_the_check_counts_lines_and_honours_only_a_real_benchmark() -> None:
    assert long_functions(_function(80)) == []
    assert long_functions(_function(81)) == [("f", 81)]
    nested = "class C:\n    def m(self):\n" + "".join(f"        y{i} = {i}\n" for i in range(90))
    assert long_functions(nested) == [("m", 91)]
    assert long_functions(_function(81, "    # hot loop: scripts/bench_analyze.py, 1.0x\n")) == []
    assert long_functions(_function(81, "    # hot loop: bench_analyze (per packet)\n")) == []
    # a comment without a benchmark, or naming one that does not exist, allows nothing
    assert long_functions(_function(81, "    # hot loop: trust me\n")) == [("f", 82)]
    assert long_functions(_function(81, "    # hot loop: scripts/bench_nothing.py\n")) == [
        ("f", 82)]
    # the comment must be inside the function, not above it
    assert long_functions("# hot loop: scripts/bench_analyze.py\n" + _function(81)) == [
        ("f", 81)]
