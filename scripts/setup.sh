#!/usr/bin/env bash
# Set up a fresh Debian machine for pathprobe (idempotent; run as root):
# the system tools the lab and tests use, and a virtualenv with pathprobe and its
# dev extra at $PATHPROBE_VENV (default /opt/pathprobe/venv, readable by the
# unprivileged user the tests switch to).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${PATHPROBE_VENV:-/opt/pathprobe/venv}"
APT_PACKAGES=(squid-openssl nftables iproute2 ethtool tcpdump iputils-ping iputils-tracepath curl
              openssl kmod util-linux python3 python3-venv scamper tshark
              chromium fonts-dejavu-core)  # chromium: the HTML report is checked in a real browser
# squid-openssl: Debian's squid built with ssl-bump (the lab's 'intercept'); it conflicts with
# the 'squid' package and replaces it (same /usr/sbin/squid).

APT_PACKAGES+=(poppler-utils)  # pdftotext, pdftoppm: the HTML report printed to PDF is checked
APT_PACKAGES+=(openssh-server openssh-client)  # an sshd per lab FMC: the Ansible playbook's test
if [ "$(id -u)" -ne 0 ]; then
  echo "setup.sh: run as root (sudo $0): it installs packages and builds namespaces" >&2
  exit 3
fi

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
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

if [ ! -x "$VENV/bin/python" ]; then
  echo "setup.sh: creating $VENV" >&2
  mkdir -p "$(dirname "$VENV")"
  /usr/bin/python3 -m venv "$VENV"
fi
log="$(mktemp)"
if ! { "$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip &&
       "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e "$REPO[dev]"; } \
     >"$log" 2>&1; then
  cat "$log" >&2; rm -f "$log"
  echo "setup.sh: installing pathprobe into $VENV failed (output above)" >&2
  exit 3
fi
rm -f "$log"
chmod -R a+rX "$(dirname "$VENV")"
echo "setup.sh: ready: $VENV/bin/pathprobe" >&2
