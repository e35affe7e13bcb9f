#!/usr/bin/env bash
# Set up a fresh Debian machine for pathprobe (idempotent; run as root).
#
#   scripts/setup.sh              # what the tool and its lab (`pathprobe demo`) need
#   scripts/setup.sh --test       # plus the test tools (scripts/run-tests.sh runs this)
#   scripts/setup.sh --link-only  # only make `pathprobe` and `man pathprobe` reachable
#
# The tool: the Debian packages the lab uses, a virtualenv at $PATHPROBE_VENV (default
# /opt/pathprobe/venv, readable by the unprivileged user the tests switch to) with
# pathprobe installed from this checkout, and the link step: $PATHPROBE_BIN_DIR/pathprobe
# (default /usr/local/bin, on root's PATH and on sudo's secure_path) and the man page in
# $PATHPROBE_MAN_DIR/man1 (default /usr/local/share/man, where man-db looks for
# /usr/local/bin's pages). With --test also the test tools, the dev extra and a separate
# virtualenv with ansible-lint ($PATHPROBE_VENV-lint).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${PATHPROBE_VENV:-/opt/pathprobe/venv}"
BIN_DIR="${PATHPROBE_BIN_DIR:-/usr/local/bin}"
MAN_DIR="${PATHPROBE_MAN_DIR:-/usr/local/share/man}"
ANSIBLE_LINT="ansible-lint==26.10.1"  # contrib/ansible: clean under --profile production

# The lab (namespaces, squid with ssl-bump, nftables faults, offloads off, the TLS upstream's
# certificates), the virtualenv, and man-db for `man pathprobe`.
APT_PACKAGES=(squid-openssl nftables iproute2 ethtool openssl kmod util-linux python3
              python3-venv man-db)
# squid-openssl: Debian's squid built with ssl-bump (the lab's 'intercept'); it conflicts with
# the 'squid' package and replaces it (same /usr/sbin/squid).
# What only the tests use: captures and their cross-check, ping/tracepath/scamper as peers
# (and traceroute, whose output analyze reads), curl through the lab proxy, a real browser
# for the HTML report, an sshd per lab FMC (the Ansible playbook's test), sudo (the quick
# start's `sudo pathprobe`).
TEST_PACKAGES=(tcpdump tshark iputils-ping iputils-tracepath traceroute scamper curl chromium
               fonts-dejavu-core openssh-server openssh-client sudo)

TEST_PACKAGES+=(poppler-utils)  # pdftotext, pdftoppm: the HTML report printed to PDF is checked

usage() { echo "usage: $0 [--test | --link-only]" >&2; exit 2; }
mode="tool"
case "${1:-}" in
  "") ;;
  --test) mode="test" ;;
  --link-only) mode="link" ;;
  *) usage ;;
esac
[ "$#" -le 1 ] || usage
if [ "$(id -u)" -ne 0 ]; then
  echo "setup.sh: run as root (sudo $0): it installs packages and builds namespaces" >&2
  exit 3
fi

link_step() {
  # `pathprobe` and `man pathprobe` from a plain PATH, for root and for sudo (whose
  # secure_path has /usr/local/bin but never the virtualenv). An existing file that is not
  # a link (another installation) is left alone.
  local bin="$BIN_DIR/pathprobe" page="$MAN_DIR/man1/pathprobe.1"
  [ -x "$VENV/bin/pathprobe" ] || { echo "setup.sh: $VENV/bin/pathprobe is missing" >&2; exit 3; }
  mkdir -p "$BIN_DIR" "$MAN_DIR/man1"
  if [ -e "$bin" ] && [ ! -L "$bin" ]; then
    echo "setup.sh: $bin exists and is not a link; left as it is" >&2
  else
    ln -sfn "$VENV/bin/pathprobe" "$bin"
  fi
  if [ -e "$page" ] && [ ! -L "$page" ]; then
    echo "setup.sh: $page exists and is not a link; left as it is" >&2
  else
    ln -sfn "$REPO/man/pathprobe.1" "$page"
  fi
  if command -v mandb >/dev/null 2>&1; then mandb -q "$MAN_DIR" >/dev/null 2>&1 || true; fi
}

if [ "$mode" = "link" ]; then
  link_step
  exit 0
fi

wanted=("${APT_PACKAGES[@]}")
if [ "$mode" = "test" ]; then wanted+=("${TEST_PACKAGES[@]}"); fi
missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup.sh: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian may start a squid service on install; the lab runs its own, in a namespace.
if command -v systemctl >/dev/null 2>&1; then systemctl disable --now squid >/dev/null 2>&1 || true; fi
# The same for an openssh-server installed just now (the lab FMCs run their own sshds);
# one that was already here (e.g. how this machine is reached) is left alone.
if [[ " ${missing[*]:-} " == *" openssh-server "* ]] && command -v systemctl >/dev/null 2>&1; then
  systemctl disable --now ssh >/dev/null 2>&1 || true
fi

pip_install() {  # VENV_PYTHON ARGS...: quiet unless it fails
  local python="$1" log
  shift
  log="$(mktemp)"
  if ! "$python" -m pip install -q --disable-pip-version-check "$@" >"$log" 2>&1; then
    cat "$log" >&2; rm -f "$log"
    echo "setup.sh: pip install $* failed (output above)" >&2
    exit 3
  fi
  rm -f "$log"
}

if [ ! -x "$VENV/bin/python" ]; then
  echo "setup.sh: creating $VENV" >&2
  mkdir -p "$(dirname "$VENV")"
  /usr/bin/python3 -m venv "$VENV"
fi
pip_install "$VENV/bin/python" --upgrade pip
if [ "$mode" = "test" ]; then
  pip_install "$VENV/bin/python" -e "$REPO[dev]"
  # ansible-lint in a virtualenv of its own: it brings its own ansible-core
  [ -x "$VENV-lint/bin/python" ] || /usr/bin/python3 -m venv "$VENV-lint"
  pip_install "$VENV-lint/bin/python" "$ANSIBLE_LINT"
else
  pip_install "$VENV/bin/python" -e "$REPO"
fi
# Bytecode for pathprobe itself, as pip writes it for a regular install (an editable one
# leaves the sources uncompiled; where PYTHONDONTWRITEBYTECODE is set, every run would then
# compile ~150 modules again: 0.25 s of a 0.3 s `analyze` of a small capture).
"$VENV/bin/python" -m compileall -q -j 0 "$REPO/pathprobe" >/dev/null
chmod -R a+rX "$(dirname "$VENV")"
link_step
echo "setup.sh: ready: pathprobe ($BIN_DIR/pathprobe -> $VENV/bin/pathprobe), man pathprobe" >&2
