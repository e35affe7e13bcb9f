#!/usr/bin/env bash
# Regenerate the example reports in docs/ from a real lab run (root; the lab's own
# namespaces only): the article's scenario diagnosed in every format, and a screenshot of
# the HTML page taken by headless chromium. The README shows them.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${PATHPROBE_VENV:-/opt/pathprobe/venv}"
export PATHPROBE_LAB_PREFIX="${PATHPROBE_LAB_PREFIX:-px-}"
export PYTHONPATH="$REPO"
PY="$VENV/bin/python"
DOCS="$REPO/docs"
mkdir -p "$DOCS"
trap '"$PY" -m pathprobe lab down >/dev/null 2>&1 || true' EXIT
"$PY" -m pathprobe lab up article >/dev/null
run() {
  ip netns exec "${PATHPROBE_LAB_PREFIX}fmc" "$PY" -m pathprobe diagnose \
    --proxy http://198.18.2.2:3128 --target upstream.pathprobe.test:443 -q "$@" || true
}
run --width 100 > "$DOCS/report-article.txt"
run --format github > "$DOCS/report-article.md"
run --format html > "$DOCS/report-article.html"
profile="$(mktemp -d)"
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --hide-scrollbars --user-data-dir="$profile" --window-size=1280,2300 \
  --screenshot="$DOCS/report-article.png" "file://$DOCS/report-article.html" 2>/dev/null
rm -rf "$profile"
echo "make-report-examples: wrote $DOCS/report-article.{txt,md,html,png}"
