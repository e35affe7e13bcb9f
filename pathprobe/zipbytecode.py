"""Bytecode stored at build time inside the one-file build, used when it fits this Python.

zipimport compiles every module from source on every run and never writes bytecode, so
the one-file build spent 1.5-2 s of each run compiling (``analyze`` of a small capture:
2.3 s from the archive, 0.6 s with bytecode, system CPython 3.11 on our 2-core VM).
scripts/build-pyz.sh therefore stores, for each CPython it finds, the bytecode of the
modules a run imports, as ``<dir>/__pycache__/<name>.<cache tag>.pyc`` (unchecked hash
pycs: the archive never changes). This finder serves those that match this interpreter's
cache tag and magic number; every other module (another Python, scapy's, which loads
lazily) is left to zipimport, from source, as before.
"""

from __future__ import annotations

import marshal
import sys
import zipimport
from importlib.abc import Loader
from importlib.machinery import ModuleSpec
from importlib.util import MAGIC_NUMBER
from types import CodeType, ModuleType
from typing import Any

PYC_HEADER = 16       # magic, flags, and a hash or mtime and size


class ArchiveBytecodeLoader(Loader):
    """Runs a module from its stored bytecode; anything else is asked of zipimport."""

    def __init__(self, importer: zipimport.zipimporter, fullname: str, code: CodeType) -> None:
        self.importer = importer
        self.archive = importer.archive   # (Python 3.9's importlib.resources reads it)
        self.fullname = fullname
        self.code = code

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return None   # the default module object

    def exec_module(self, module: ModuleType) -> None:
        exec(self.code, module.__dict__)   # (the module's own code, as import runs it)

    def get_code(self, fullname: str) -> CodeType:
        return self.code

    def is_package(self, fullname: str) -> bool:
        return bool(self.importer.is_package(fullname))

    def get_source(self, fullname: str) -> str | None:
        return self.importer.get_source(fullname)   # (tracebacks, inspect)

    def get_filename(self, fullname: str) -> str:
        return str(self.importer.get_filename(fullname))

    def get_data(self, path: str) -> bytes:
        return bytes(self.importer.get_data(path))

    def get_resource_reader(self, fullname: str) -> Any:
        return self.importer.get_resource_reader(fullname)   # importlib.resources


class ArchiveBytecodeFinder:
    """A meta path finder for the modules of ``archive`` with bytecode for this Python."""

    def __init__(self, archive: str) -> None:
        self.path = archive
        self.archive = zipimport.zipimporter(archive)
        self.tag = sys.implementation.cache_tag
        self.importers: dict[str, zipimport.zipimporter] = {"": self.archive}

    def _importer(self, head: str) -> zipimport.zipimporter:
        """The zipimporter zipimport's path hook makes for the directory ``head``: its
        lookups (resources, source) name a module by its last component under a prefix."""
        found = self.importers.get(head)
        if found is None:
            found = self.importers[head] = zipimport.zipimporter(f"{self.path}/{head}")
        return found

    def _bytecode(self, inner: str) -> CodeType | None:
        try:
            data = self.archive.get_data(inner)
        except OSError:
            return None
        if data[:4] != MAGIC_NUMBER or len(data) <= PYC_HEADER:
            return None   # (another build of the same minor version: zipimport compiles)
        code = marshal.loads(memoryview(data)[PYC_HEADER:])
        return code if isinstance(code, CodeType) else None

    def find_spec(self, fullname: str, path: object = None,
                  target: object = None) -> ModuleSpec | None:
        if self.tag is None:
            return None
        rel = fullname.replace(".", "/")
        head, _, name = rel.rpartition("/")
        where = f"{head}/" if head else ""
        for inner, is_package in ((f"{rel}/__pycache__/__init__.{self.tag}.pyc", True),
                                  (f"{where}__pycache__/{name}.{self.tag}.pyc", False)):
            code = self._bytecode(inner)
            if code is None:
                continue
            source = f"{rel}/__init__.py" if is_package else f"{rel}.py"
            loader = ArchiveBytecodeLoader(self._importer(head), fullname, code)
            spec = ModuleSpec(fullname, loader,
                              origin=f"{self.path}/{source}", is_package=is_package)
            spec.has_location = True
            if is_package:
                spec.submodule_search_locations = [f"{self.path}/{rel}"]
            return spec
        return None


def use_archive_bytecode(archive: str) -> None:
    """Serve this archive's stored bytecode first (once; the entry point calls it)."""
    if not any(isinstance(f, ArchiveBytecodeFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, ArchiveBytecodeFinder(archive))
