"""Rules read typed fields, never the JSON's string-keyed bags (issue 22 item 1).

``Verdict.numbers``, ``LegReport.measurements`` and ``Evidence.values`` exist for the
JSON and for the sentences ``pathprobe/render/`` makes; a decision anywhere else reads a
typed field (``Verdict.write_failed``, ``Verdict.hello``, ``LegReport.sizes`` ...). This
walks every module outside ``render/`` and fails on a read of one of those bags by a
named key: ``x.numbers["k"]``, ``x.numbers.get("k")``, ``"k" in x.numbers``, a helper
handed ``x.numbers`` and ``"k"`` together, and ``evidence.value("k")``. Building the
bags (stores) and copying them whole are not reads of a fact.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "pathprobe"
BAGS = frozenset({"numbers", "measurements", "values"})


def _is_bag(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr in BAGS


def _is_str(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def _key_names(tree: ast.AST) -> frozenset[str]:
    """Loop variables that run over named keys: ``for key in ("pmtu", "pmtu_up")``."""
    return frozenset(
        node.target.id for node in ast.walk(tree)
        if isinstance(node, ast.For) and isinstance(node.target, ast.Name)
        and isinstance(node.iter, (ast.Tuple, ast.List)) and node.iter.elts
        and all(_is_str(e) for e in node.iter.elts))


def keyed_reads(source: str) -> list[tuple[int, str]]:
    """(line, code) of every read of a report bag by a named key in ``source``."""
    tree = ast.parse(source)
    found: set[tuple[int, str]] = set()
    found.update(_reads(tree, frozenset()))
    for scope in ast.walk(tree):
        if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found.update(_reads(scope, _key_names(scope)))
    return sorted(found)


def _reads(scope: ast.AST, names: frozenset[str]) -> list[tuple[int, str]]:
    """The keyed reads in ``scope``; ``names``: its variables that hold a named key."""
    def _is_key(node: ast.AST) -> bool:
        return _is_str(node) or (isinstance(node, ast.Name) and node.id in names)

    found: list[tuple[int, str]] = []
    for node in ast.walk(scope):
        hit = False
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
            hit = _is_bag(node.value) and _is_key(node.slice)
        elif isinstance(node, ast.Compare):
            hit = _is_key(node.left) and any(
                isinstance(op, (ast.In, ast.NotIn)) and _is_bag(right)
                for op, right in zip(node.ops, node.comparators))
        elif isinstance(node, ast.Call):
            func, args = node.func, [*node.args, *(k.value for k in node.keywords)]
            if isinstance(func, ast.Attribute) and func.attr in ("get", "pop", "setdefault"):
                hit = _is_bag(func.value) and bool(args) and _is_key(args[0])
            elif isinstance(func, ast.Attribute) and func.attr == "value":
                hit = len(args) == 1 and _is_key(args[0])   # Evidence.value("k")
            if not hit:
                hit = any(_is_bag(a) for a in args) and any(_is_key(a) for a in args)
        if hit:
            found.append((getattr(node, "lineno", 0), ast.unparse(node)))
    return found


def decision_modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "render" not in p.relative_to(
        PACKAGE).parts)


def test_the_check_sees_every_form_of_a_keyed_read() -> None:
    """Each form the issue found in the tree (and the helper forms) is caught; stores,
    whole copies and reads by a variable (a generic merge) are not."""
    reads = [
        'x = v.numbers["hop"]',
        'x = v.numbers.get("record_limit")',
        'x = row.measurements.get("max_payload", 0)',
        'ok = "hop" in v.numbers',
        'x = _int(leg.measurements, "max_payload")',
        'x = e.value("dst")',
        'x = e.values["unit"]',
        'def f(leg):\n    for k in ("pmtu", "pmtu_up"):\n        x = _int(leg.measurements, k)',
    ]
    for line in reads:
        assert keyed_reads(line), line
    fine = [
        'numbers["our_mss"] = 536',
        'out = {**row.measurements, "max_payload": None}',
        'x = [row.measurements.get(key) for row in rows]',
        # a loop variable of another function is not this one's key
        'def f():\n    for k in ("a",):\n        pass\n'
        'def g(rows, k):\n    return rows[0].numbers[k]',
        'x = v.write_failed',
        'x = Kind.A.value',
        'host = env.get("PROXY_HOST")',
    ]
    for line in fine:
        assert not keyed_reads(line), line


def test_no_decision_outside_render_reads_a_bag_by_key() -> None:
    modules = decision_modules()
    assert len(modules) > 50   # the walk found the package
    offenders = [f"{path.relative_to(PACKAGE.parent)}:{line}: {code}"
                 for path in modules
                 for line, code in keyed_reads(path.read_text(encoding="utf-8"))]
    assert not offenders, "read a typed field instead:\n" + "\n".join(offenders)
