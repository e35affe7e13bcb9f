"""The layering the code relies on: pure rules never import the probe (I/O) layer.

Checked on the source (every import statement, top level or inside functions), so a
late ``from pathprobe.probes import ...`` in a rule module fails here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "pathprobe"
PURE = ["tunnel_rules.py", "interception.py", "findings.py", "model.py", "search.py", "timeouts.py",
        "recommend.py", "facts", "render", "wire"]
# (socket is allowed: wire modules take address-family constants from it.)
IO_MODULES = ("pathprobe.probes", "pathprobe.lab", "pathprobe.commands", "subprocess",
              "pathprobe.tunnel", "pathprobe.diagnose", "pathprobe.mss", "pathprobe.pmtu")


def _modules(entry: str) -> list[Path]:
    path = PACKAGE / entry
    return sorted(path.rglob("*.py")) if path.is_dir() else [path]


def imported_names(source: str) -> set[str]:
    """Every module name an import statement in ``source`` names."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def _is_io(name: str) -> bool:
    return any(name == m or name.startswith(m + ".") for m in IO_MODULES)


@pytest.mark.parametrize("path", [p for e in PURE for p in _modules(e)],
                         ids=lambda p: str(p.relative_to(PACKAGE)))
def test_pure_modules_do_not_import_the_io_layer(path: Path) -> None:
    bad = sorted(n for n in imported_names(path.read_text()) if _is_io(n))
    assert not bad, f"{path.name} imports {bad}"


def test_the_check_sees_late_imports() -> None:
    src = "def f():\n    from pathprobe.probes import tunnel as io\n    return io\n"
    assert any(_is_io(n) for n in imported_names(src))
    assert not any(_is_io(n) for n in imported_names("from pathprobe.tunnel_rules import x\n"))
