#!/usr/bin/env bash
# Can the oldest supported Python run this checkout? Compiles every pathprobe source file,
# imports every module and asks every command for --help (typer evaluates the annotations of
# command functions then) under that interpreter, with exactly the one-file build's
# dependencies, and lists each failure on one line. Exit 0 when there is none.
#
#   scripts/check-py39.sh [PYTHON]   # default: the newest pyenv 3.9.x, else python3.9
#
# The dependencies come from scripts/build-pyz.sh (cached under dist/; the first run needs
# PyPI); this checkout's pathprobe/ is imported directly, not the archive's copy.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OLD="${1:-}"
if [ -z "$OLD" ]; then
  OLD="$(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.9.*/bin/python3 2>/dev/null | sort -V | tail -1)"
  OLD="${OLD:-$(command -v python3.9 || true)}"
fi
[ -n "$OLD" ] && [ -x "$OLD" ] || { echo "check-py39.sh: no Python 3.9 found; pass one" >&2; exit 2; }

pyz="$(mktemp -d)/pathprobe.pyz"
trap 'rm -rf "$(dirname "$pyz")"' EXIT
PATHPROBE_PYZ="$pyz" "$REPO/scripts/build-pyz.sh" 2>/dev/null || PATHPROBE_PYZ="$pyz" "$REPO/scripts/build-pyz.sh"

cd "$REPO"
env -i PATH="/usr/bin:/bin" HOME="${HOME:-/tmp}" LC_ALL=C.UTF-8 \
  "$OLD" -I - "$REPO" "$pyz" <<'PY'
"""Compile, import and --help everything; one line per cause, with what it breaks."""
import importlib
import re
import subprocess
import sys
import traceback
from pathlib import Path

repo, pyz = sys.argv[1], sys.argv[2]
# The archive supplies the dependencies; the checkout (first on the path) supplies pathprobe.
sys.path[:0] = [repo, pyz]
causes = {}   # "file:line: error" -> what it breaks


def fail(cause, what):
    causes.setdefault(cause, []).append(what)


def where(exc):
    """The innermost frame in this checkout: the line to change."""
    tb = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in tb if f.filename.startswith(repo)]
    f = ours[-1] if ours else tb[-1]
    name = Path(f.filename).relative_to(repo) if f.filename.startswith(repo) else f.filename
    return f"{name}:{f.lineno}: {type(exc).__name__}: {exc}"


for path in sorted(Path(repo, "pathprobe").rglob("*.py")):
    try:
        compile(path.read_bytes(), str(path), "exec", dont_inherit=True)
    except SyntaxError as e:
        fail(f"{path.relative_to(repo)}:{e.lineno}: SyntaxError: {e.msg}", "compile")

import pathprobe  # noqa: E402
assert Path(pathprobe.__file__).parent == Path(repo, "pathprobe"), pathprobe.__file__
names = sorted(".".join(p.relative_to(repo).with_suffix("").parts).replace(".__init__", "")
               for p in Path(repo, "pathprobe").rglob("*.py"))
for name in names:
    if name == "pathprobe.__main__":
        continue   # runs the CLI; covered by the --help runs below
    try:
        importlib.import_module(name)
    except Exception as e:
        fail(where(e), f"import {name}")

# Every command's --help, each in a fresh interpreter: typer evaluates the annotations of
# command functions only then (an `X | None` there fails on 3.9 despite __future__).
RUN = ("import sys; sys.path[:0] = sys.argv[1:3]; del sys.argv[1:3]; "
       "from pathprobe.cli import main; sys.exit(main(sys.argv[1:]))")
def callbacks(typer_app):
    """Every function typer will inspect: the app's callback, its commands, its groups'."""
    if typer_app.registered_callback is not None:
        yield typer_app.registered_callback.callback
    for info in typer_app.registered_commands:
        yield info.callback
    for group in typer_app.registered_groups:
        yield from callbacks(group.typer_instance)


commands = [[]]
try:
    import typing

    import typer.main
    from pathprobe.cli import app
    for fn in callbacks(app):
        try:
            typing.get_type_hints(fn, include_extras=True)
        except Exception as e:
            code = fn.__code__
            fail(f"{Path(code.co_filename).relative_to(repo)}:{code.co_firstlineno}: "
                 f"{type(e).__name__}: {e} (annotations of {fn.__name__}(); "
                 "use Optional[X], not X | None)", f"command function {fn.__name__}")
    for name, cmd in typer.main.get_command(app).commands.items():
        commands.append([name])
        commands += [[name, sub] for sub in getattr(cmd, "commands", {})]
except Exception as e:
    fail(where(e), "list the commands")
for args in commands:
    r = subprocess.run([sys.executable, "-I", "-c", RUN, repo, pyz, "--traceback", *args, "--help"],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        lines = [ln for ln in r.stderr.strip().splitlines() if ln.strip()]
        at = [m.groups() for m in (re.match(r'\s*File "' + re.escape(repo) + r'/(.+)", line (\d+)',
                                             ln) for ln in lines) if m]
        fail((f"{at[-1][0]}:{at[-1][1]}: " if at else "")
             + (lines[-1] if lines else f"exit {r.returncode}"),
             f"pathprobe {' '.join(args)} --help".replace("  ", " "))

broken = sum(len(v) for v in causes.values())
print(f"check-py39: Python {sys.version.split()[0]}: {len(names)} modules, "
      f"{len(commands)} --help pages, {len(causes)} cause(s), {broken} failure(s)")
for cause, what in sorted(causes.items(), key=lambda kv: -len(kv[1])):
    print(f"  {cause}\n      breaks: {', '.join(what)}")
sys.exit(1 if causes else 0)
PY
