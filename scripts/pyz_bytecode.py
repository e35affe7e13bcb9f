#!/usr/bin/env python3
"""Write into a staged one-file build the bytecode of the modules every run imports, for
the Python running this script (scripts/build-pyz.sh runs it under each CPython 3.9-3.13
it finds; pathprobe.zipbytecode serves it at run time).

    python3.X -I scripts/pyz_bytecode.py STAGE_DIR

Unchecked-hash pycs (the archive never changes) beside the sources, which stay: any other
Python, and the modules a run imports later (scapy's), compile from source as before.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import py_compile
import sys


def main() -> int:
    stage = os.path.realpath(sys.argv[1])
    sys.dont_write_bytecode = True      # (the import below must not write its own)
    sys.path.insert(0, stage)
    import pkgutil

    import pathprobe
    # every module of pathprobe and what they import when loaded: the commands, typer,
    # click, tabulate, wcwidth (scapy, imported lazily by the probes, is left out: large)
    for info in pkgutil.walk_packages(pathprobe.__path__, "pathprobe."):
        importlib.import_module(info.name)
    written = 0
    for module in list(sys.modules.values()):
        source = getattr(module, "__file__", None)
        if not source or not source.endswith(".py"):
            continue
        source = os.path.realpath(source)
        if not source.startswith(stage + os.sep):
            continue                    # the standard library: the interpreter has its own
        py_compile.compile(source, cfile=importlib.util.cache_from_source(source),
                           dfile=os.path.relpath(source, stage), doraise=True,
                           invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
        written += 1
    print(f"{sys.implementation.cache_tag}: {written} modules")
    return 0


if __name__ == "__main__":
    sys.exit(main())
