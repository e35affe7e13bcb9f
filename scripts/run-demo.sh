#!/usr/bin/env bash
# The main job on the built-in lab (README): set up the machine, then reproduce
# the article's failure in the lab and diagnose it. Extra arguments go to
# `pathprobe demo` (e.g. --scenario blackhole).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${PATHPROBE_VENV:-/opt/pathprobe/venv}"
if [ "$(id -u)" -ne 0 ]; then exec sudo -E "$0" "$@"; fi
"$REPO/scripts/setup.sh"          # the tool and its lab only; then `pathprobe` is on PATH
exec "$VENV/bin/pathprobe" demo "$@"
