#!/usr/bin/env bash
# Build dist/pathprobe.pyz: pathprobe and every runtime dependency in one zipapp that runs
# with a bare system Python (CPython 3.9 to 3.13), nothing installed, no compiler, no pip:
#
#   scripts/build-pyz.sh            # then: python3 dist/pathprobe.pyz diagnose ...
#
# The dependencies (scripts/pyz-requirements.txt, pinned) are pure-Python wheels from PyPI,
# installed for the oldest supported Python; the build fails if any compiled file (.so, .pyd,
# .dylib) would end up in the archive. The installed dependencies are cached in
# $PATHPROBE_PYZ_CACHE (default dist/pyz-deps/), keyed by the requirements file's hash, so
# only the first build needs PyPI. Environment: PYTHON (a python3 with pip; default python3),
# PATHPROBE_PYZ (output path; default dist/pathprobe.pyz).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
OUT="${PATHPROBE_PYZ:-$REPO/dist/pathprobe.pyz}"
CACHE="${PATHPROBE_PYZ_CACHE:-$REPO/dist/pyz-deps}"
REQS="$REPO/scripts/pyz-requirements.txt"
OLDEST_PYTHON=3.9

die() { echo "build-pyz.sh: $*" >&2; exit 1; }
"$PYTHON" -m pip --version >/dev/null 2>&1 || die "$PYTHON has no pip; set PYTHON to a python3 with pip"

key="$("$PYTHON" -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest()[:16])' "$REQS")"
deps="$CACHE/$key"
if [ ! -d "$deps" ]; then
  echo "build-pyz.sh: installing dependencies from PyPI into $deps" >&2
  mkdir -p "$CACHE"
  tmp="$(mktemp -d "$CACHE/.tmp.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  log="$tmp.log"
  # --only-binary: wheels only (nothing is compiled here); --python-version: choose what the
  # oldest supported interpreter can run; pure wheels run unchanged on every newer one.
  if ! "$PYTHON" -m pip install --disable-pip-version-check --quiet --no-compile \
       --only-binary=:all: --python-version "$OLDEST_PYTHON" --implementation cp \
       --target "$tmp/site" -r "$REQS" >"$log" 2>&1; then
    cat "$log" >&2; rm -f "$log"
    die "pip could not install the dependencies (output above); PyPI is needed for the first build"
  fi
  rm -f "$log"
  rm -rf "$tmp/site/bin"          # console scripts: the pyz has its own entry point
  mv "$tmp/site" "$deps"
  rm -rf "$tmp"
  trap - EXIT
fi

stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
cp -a "$deps/." "$stage/"
mkdir -p "$stage/pathprobe"
(cd "$REPO" && find pathprobe -type f \( -name '*.py' -o -name '*.json' -o -name 'py.typed' \) \
   -not -path '*/__pycache__/*' -exec cp --parents {} "$stage/" \;)
cp "$REPO/LICENSE" "$stage/pathprobe/LICENSE"
# The entry point: pathprobe/__main__.py, which refuses Python < 3.9 in one line (exit 2)
# before importing anything, then makes an early Ctrl-C quiet (exit 130).
cp "$REPO/pathprobe/__main__.py" "$stage/__main__.py"
find "$stage" -name '__pycache__' -type d -prune -exec rm -rf {} +

compiled="$(find "$stage" -type f \( -name '*.so' -o -name '*.so.*' -o -name '*.pyd' \
             -o -name '*.dylib' -o -name '*.dll' \) -printf '%P\n' | sort)"
if [ -n "$compiled" ]; then
  die "compiled code would be in the archive (it must run on any CPython without it):
$compiled"
fi

# Bytecode of what every run imports, for each CPython 3.9-3.13 found here (zipimport would
# compile it from source on every run: 1.5-2 s each; pathprobe/zipbytecode.py serves it).
pythons=("$PYTHON")
for minor in 9 10 11 12 13; do
  # (real interpreters, not pyenv's shims, which fail for a version that is not selected)
  for exe in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3."$minor".*/bin/python3 \
             /usr/bin/python3."$minor" /usr/local/bin/python3."$minor"; do
    [ -x "$exe" ] && pythons+=("$exe") && break
  done
done
tags=()
for exe in "${pythons[@]}"; do
  tag="$("$exe" -I -c 'import sys; print(sys.implementation.cache_tag if (3, 9) <= sys.version_info[:2] <= (3, 13) else "")' 2>/dev/null || true)"
  [ -n "$tag" ] || continue
  [[ " ${tags[*]:-} " == *" $tag "* ]] && continue
  "$exe" -I "$REPO/scripts/pyz_bytecode.py" "$stage" >/dev/null \
    || die "$exe could not import the staged build to write its bytecode"
  tags+=("$tag")
done

mkdir -p "$(dirname "$OUT")"
"$PYTHON" -m zipapp "$stage" --output "$OUT.tmp" --python "/usr/bin/env python3" --compress
mv "$OUT.tmp" "$OUT"
chmod 0755 "$OUT"
"$PYTHON" "$OUT" --version >/dev/null || die "the built $OUT does not start"
size="$(stat -c %s "$OUT")"
echo "build-pyz.sh: built $OUT ($((size / 1024)) KiB; bytecode for ${tags[*]:-no Python}): $(
  cd "$stage" && ls -d -- *.dist-info | sed 's/\.dist-info$//' | tr '\n' ' ')" >&2
