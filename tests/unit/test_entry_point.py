"""The entry point refuses Python < 3.9 in one line, exit status 2, before any import
(issue 21 item 7): with every old interpreter found here, and, everywhere, by running the
entry point's own bytes under a version check that says 3.8 (pyenv may not be installed:
the guard must hold by its bytes, whatever runs them)."""

from __future__ import annotations

import builtins
import io
import os
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO

MAIN = REPO / "pathprobe" / "__main__.py"


def _old_pythons() -> Iterator[str]:
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    for exe in sorted(pyenv.glob("versions/*/bin/python")):
        r = subprocess.run([str(exe), "-c", "import sys; print('%d %d' % sys.version_info[:2])"],
                           capture_output=True, text=True, timeout=20, check=False)
        words = r.stdout.split()
        if r.returncode == 0 and len(words) == 2 and (int(words[0]), int(words[1])) < (3, 9):
            yield str(exe)


OLD = list(_old_pythons())


@pytest.mark.skipif(not OLD, reason="no Python older than 3.9 here")
@pytest.mark.parametrize("python", OLD)
def test_python_dash_m_on_an_old_python(python: str) -> None:
    r = subprocess.run([python, "-m", "pathprobe", "diagnose"], capture_output=True,
                       text=True, timeout=60, check=False, cwd=REPO,
                       env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO),
                            "PYTHONDONTWRITEBYTECODE": "1"})  # 2.7 writes .pyc files
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert len(r.stderr.splitlines()) == 1 and "3.9 or newer" in r.stderr


def test_the_guard_runs_before_any_import(monkeypatch: pytest.MonkeyPatch) -> None:
    """The file's own bytes, compiled and run with a `sys` whose version_info says 3.8 and
    an __import__ that records every import: one line on stderr, SystemExit(2), and no
    import but `sys` (so nothing 3.9-only can fail first)."""
    fake_sys = types.SimpleNamespace(version_info=(3, 8, 18, "final", 0), stderr=io.StringIO(),
                                     exit=sys.exit, argv=["pathprobe.pyz"])
    imported: list[str] = []
    real_import = builtins.__import__

    def recording_import(name: str, *args: Any, **kwargs: Any) -> Any:
        imported.append(name)
        return fake_sys if name == "sys" else real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", recording_import)
    code = compile(MAIN.read_bytes(), str(MAIN), "exec", dont_inherit=True)
    with pytest.raises(SystemExit) as stop:
        exec(code, {"__name__": "__main__"})
    monkeypatch.undo()
    assert stop.value.code == 2
    assert imported == ["sys"]
    message = fake_sys.stderr.getvalue()
    assert message == ("pathprobe: error: Python 3.8 is too old; run pathprobe with Python "
                       "3.9 or newer (e.g. python3.9)\n")


def test_the_guard_lets_a_new_python_through(capsys: pytest.CaptureFixture[str]) -> None:
    r = subprocess.run([sys.executable, "-m", "pathprobe", "-V"], capture_output=True,
                       text=True, timeout=60, check=False, cwd=REPO,
                       env={**os.environ, "PYTHONPATH": str(REPO)})
    assert r.returncode == 0 and r.stdout.startswith("pathprobe "), r.stderr
