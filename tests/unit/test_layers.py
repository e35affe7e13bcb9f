"""The layering the code relies on, as an allowlist: every module of the package is
placed in a layer, and each pure module may import only what its layer allows.

Checked on the source (every import statement, top level or inside functions), so a
late ``from pathprobe.probes import ...`` in a rule module fails here, and so does a
new module nobody placed in a layer.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "pathprobe"

# The pure core: vocabulary, rules, parsers, rendering. No sockets, files, processes or
# environment; what each may import is listed below.
PURE = ("model", "facts", "errors", "compat", "formats", "sanitize", "search", "timeouts",
        "findings", "recommend", "tunnel_rules", "hello_rules", "range_rules", "pmtu_rules",
        "mss_rules", "records", "serialize", "interception", "runner", "fleet", "render", "wire",
        "schema", "capture.tracker", "capture.rules", "capture.text", "capture.textpacket",
        "capture.textforms", "capture.textrows", "capture.texticmp", "capture.textping",
        "capture.texttrace", "capture.textroute", "capture.textrefuse",
        "capture.textdetail", "capture.textdns", "capture.texttunnel", "capture.correlate",
        "capture.matching",
        "capture.linklayer",
        "capture.conn", "capture.collector", "capture.report", "capture.finding", "capture.stall",
        "capture.framing", "capture.httpsniff", "capture.timeline", "capture.inflight",
        "capture.advice", "capture.dns", "capture.duplicate", "capture.textverdict",
        "capture.texthex", "capture.icmp", "capture.textjoin", "capture.textdecode")
# The edges: sockets, scapy, files, processes, the environment, the terminal.
EDGE = ("api", "probes", "lab", "reflector", "proxyconf", "outfile", "infile", "interrupts",
        "terminal", "pmtu", "mss", "tunnel", "tunnel_session", "tunnel_down", "hellos",
        "diagnosis", "capture.reader", "zipbytecode",
        "capture.analysis", "capture")
# The command line on top: argument handling and the one error boundary.
TOP = ("__init__", "__main__", "cli", "commands")

# What any pure module may import from the standard library and dependencies.
PURE_STDLIB = frozenset({
    "__future__", "collections", "collections.abc", "dataclasses", "enum", "typing", "re",
    "struct", "ipaddress", "functools", "itertools", "string", "textwrap", "unicodedata",
    "html", "json", "csv", "io", "base64", "binascii", "hashlib", "hmac", "math",
    "urllib.parse", "datetime", "errno", "heapq", "bisect", "array", "operator",
})
# A pure module's few further imports, each with why.
PURE_EXTRA: dict[str, frozenset[str]] = {
    # address-family and protocol constants only (no socket is opened)
    "wire": frozenset({"socket"}),
    "capture.tracker": frozenset({"socket"}),
    # address formatting, and a checksum of the first payload bytes to match connections
    "capture.correlate": frozenset({"socket", "zlib"}),
    "compat": frozenset({"socket", "sys"}),
    # the padding and random fields of a ClientHello
    "wire.tls": frozenset({"os"}),
    # the Digest client nonce by default (injectable), and the lock that keeps nc increasing
    # when parallel probes share one challenge
    "wire.proxy_auth": frozenset({"os", "threading"}),
    # the search and the runner time what they are given
    "search": frozenset({"time"}),
    "runner": frozenset({"time"}),
    # the text renderer's table and width libraries
    "render": frozenset({"tabulate", "wcwidth"}),
    # the shipped schema file, read as package data
    "schema": frozenset({"importlib", "importlib.resources"}),
}


def module_name(path: Path) -> str:
    """``pathprobe/capture/tracker.py`` -> ``capture.tracker`` (a package is its name)."""
    rel = path.relative_to(PACKAGE).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" and len(rel.parts) > 1 else rel.parts
    return ".".join(parts)


def _within(name: str, entries: Iterable[str]) -> str | None:
    """The most specific entry that ``name`` is or lies within."""
    hits = [e for e in entries if name == e or name.startswith(e + ".")]
    return max(hits, key=len) if hits else None


def layer_of(name: str) -> str | None:
    # The most specific placement wins (capture.tracker is pure, capture.analysis an edge).
    placed = [(e, layer) for layer, entries in (("pure", PURE), ("edge", EDGE), ("top", TOP))
              for e in entries if name == e or name.startswith(e + ".")]
    return max(placed, key=lambda p: len(p[0]))[1] if placed else None


def imported_names(source: str) -> set[str]:
    """Every absolute module name an import statement in ``source`` names."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def disallowed(name: str, imports: Iterable[str]) -> list[str]:
    """The imports a pure module ``name`` may not make."""
    extra: set[str] = set()
    for entry, allowed in PURE_EXTRA.items():
        if name == entry or name.startswith(entry + "."):
            extra |= allowed
    bad = []
    for imp in imports:
        if imp == "pathprobe" or imp.startswith("pathprobe."):
            inner = imp[len("pathprobe."):]
            if layer_of(inner) != "pure":
                bad.append(imp)
        elif imp not in PURE_STDLIB and imp not in extra:
            bad.append(imp)
    return sorted(bad)


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_every_module_is_placed_in_a_layer(path: Path) -> None:
    assert layer_of(module_name(path)) is not None, (
        f"{module_name(path)} is in no layer: add it to PURE, EDGE or TOP in {__file__}")


@pytest.mark.parametrize("path", [p for p in MODULES if layer_of(module_name(p)) == "pure"],
                         ids=lambda p: str(p.relative_to(PACKAGE)))
def test_pure_modules_import_only_what_they_are_allowed(path: Path) -> None:
    name = module_name(path)
    bad = disallowed(name, imported_names(path.read_text()))
    assert not bad, f"{name} (pure) imports {bad}"


@pytest.mark.parametrize("path", [p for p in MODULES if layer_of(module_name(p)) == "edge"],
                         ids=lambda p: str(p.relative_to(PACKAGE)))
def test_edges_never_import_the_command_line(path: Path) -> None:
    bad = sorted(n for n in imported_names(path.read_text())
                 if n.split(".")[0] in ("typer", "click")
                 or _within(n, ("pathprobe.cli", "pathprobe.commands")))
    assert not bad, f"{module_name(path)} imports {bad}"


def test_the_check_sees_late_imports_and_unplaced_modules() -> None:
    src = "def f():\n    from pathprobe.probes import tunnel as io\n    return io\n"
    assert disallowed("findings", imported_names(src)) == ["pathprobe.probes"]
    assert disallowed("findings", imported_names("import subprocess\n")) == ["subprocess"]
    assert disallowed("wire.tls", imported_names("import os\n")) == []
    assert disallowed("findings", imported_names("import os\n")) == ["os"]
    assert disallowed("findings", imported_names("from pathprobe.tunnel_rules import x\n")) == []
    assert layer_of("capture.tracker") == "pure" and layer_of("capture.analysis") == "edge"
    assert layer_of("brand_new_module") is None
