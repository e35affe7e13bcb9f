#!/usr/bin/env bash
# The test command (README): set up the machine, then run the whole suite as
# root, lab tests included, plus ruff and mypy. Extra arguments go to pytest.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${PATHPROBE_VENV:-/opt/pathprobe/venv}"
if [ "$(id -u)" -ne 0 ]; then exec sudo -E "$0" "$@"; fi
"$REPO/scripts/setup.sh" --test   # the tool, the lab, and the test tools

# The unprivileged tests run this checkout as user 'nobody': if nobody cannot
# read it where it is (e.g. under /root), test a readable copy instead.
ROOT="$REPO"
if ! setpriv --reuid nobody --regid nogroup --clear-groups test -r "$REPO/pathprobe/cli.py"; then
  ROOT="$(dirname "$VENV")/src"
  echo "run-tests.sh: user nobody cannot read $REPO; testing a copy in $ROOT" >&2
  rm -rf "$ROOT" && mkdir -p "$ROOT"
  (cd "$REPO" && tar --exclude=.git --exclude=.venv -cf - .) | tar -C "$ROOT" -xf -
  chmod -R a+rX "$ROOT"
fi
cd "$ROOT"
"$VENV/bin/ruff" check pathprobe tests scripts
"$VENV/bin/mypy" pathprobe
"$VENV/bin/python" scripts/gen_man.py --check
exec "$VENV/bin/python" -m pytest -q "$@"
