"""The one-file build's stored bytecode (pathprobe.zipbytecode): used when it fits this
Python, the source otherwise; package data still read through importlib.resources."""

from __future__ import annotations

import importlib.util
import py_compile
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

TAG = sys.implementation.cache_tag
PROBE = """
import sys
sys.path.insert(0, sys.argv[1])
if sys.argv[2] == "finder":
    from pathprobe.zipbytecode import use_archive_bytecode
    use_archive_bytecode(sys.argv[1])
import demo.sub.mod
from importlib import resources
print(demo.sub.mod.X, type(demo.sub.mod.__loader__).__name__, type(demo.sub.__loader__).__name__,
      resources.files("demo.sub").joinpath("data.txt").read_text().strip(),
      demo.sub.mod.__file__)
"""


def archive(tmp_path: Path, magic: bytes | None = None) -> Path:
    """demo/sub/mod.py says X = 'source'; its stored bytecode was compiled from
    X = 'bytecode' (a package inside a package: resources are looked up by directory)."""
    other = tmp_path / "other"
    other.mkdir(exist_ok=True)
    (other / "mod.py").write_text("X = 'bytecode'\n")
    (other / "__init__.py").write_text("")
    pycs = {}
    for name in ("mod", "__init__"):
        out = other / f"{name}.pyc"
        py_compile.compile(str(other / f"{name}.py"), cfile=str(out), doraise=True,
                           invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
        data = out.read_bytes()
        pycs[name] = (magic + data[4:]) if magic is not None else data
    path = tmp_path / "demo.pyz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("demo/__init__.py", "")
        z.writestr("demo/sub/__init__.py", "")
        z.writestr("demo/sub/mod.py", "X = 'source'\n")
        z.writestr("demo/sub/data.txt", "data\n")
        for name, data in pycs.items():
            z.writestr(f"demo/sub/__pycache__/{name}.{TAG}.pyc", data)
    return path


def probe(path: Path, mode: str) -> list[str]:
    root = Path(__file__).resolve().parents[2]
    r = subprocess.run([sys.executable, "-I", "-c", PROBE, str(path), mode],
                       capture_output=True, text=True, timeout=60, check=False,
                       env={"PYTHONPATH": str(root)}, cwd=str(root))
    assert r.returncode == 0, r.stderr
    return r.stdout.split()


def test_stored_bytecode_is_used_and_resources_still_read(tmp_path: Path) -> None:
    x, loader, package_loader, data, file = probe(archive(tmp_path), "finder")
    assert (x, loader, package_loader, data) == (
        "bytecode", "ArchiveBytecodeLoader", "ArchiveBytecodeLoader", "data")
    assert file == f"{tmp_path / 'demo.pyz'}/demo/sub/mod.py"


@pytest.mark.parametrize("mode", ["finder", "plain"])
def test_bytecode_of_another_python_is_left_to_zipimport(tmp_path: Path, mode: str) -> None:
    bad = bytes([importlib.util.MAGIC_NUMBER[0] ^ 0xFF]) + importlib.util.MAGIC_NUMBER[1:]
    path = archive(tmp_path, magic=bad if mode == "finder" else None)
    x, loader, _package, data, _file = probe(path, mode)
    assert (x, loader, data) == ("source", "zipimporter", "data")
