#!/usr/bin/env bash
# Regenerate docs/fleet.{txt,md,html}: a real run of contrib/ansible/pathprobe.yml against
# three lab FMCs (root; the lab's own namespaces and addresses only), as the README shows.
#   fmc   healthy
#   fmc2  a 1372-byte black hole on its leg 1
#   fmc3  its SYNs' MSS clamped to 1300 on its leg 1
#   fmc4  in the inventory, but no such machine (unreachable)
# The proxy wants Basic auth; the password comes from an Ansible Vault made here.
# Needs ansible-core in the venv (pip install -e '.[dev]').
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${PATHPROBE_VENV:-/opt/pathprobe/venv}"
export PATHPROBE_LAB_PREFIX="${PATHPROBE_LAB_PREFIX:-fx-}"
export PYTHONPATH="$REPO"
PY="$VENV/bin/python"
DOCS="$REPO/docs"
work="$(mktemp -d)"
cleanup() { "$PY" -m pathprobe lab down >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
"$PY" -m pathprobe lab up auth-basic --fmcs 3 --ssh \
  --fault blackhole:1:both:1372@fmc2 --fault clamp:1:both:1300@fmc3 2>/dev/null
ssh_dir="$("$PY" -m pathprobe lab status --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["ssh_dir"])')"
cd "$work"
mkdir home
head -c 24 /dev/urandom | base64 > vault-pass
printf '%s' lab-secret | HOME="$work/home" "$VENV/bin/ansible-vault" encrypt_string \
  --vault-password-file vault-pass --stdin-name pathprobe_proxy_password > vault.yml
cat > inventory.ini <<EOF
[fmcs]
fmc
fmc2
fmc3
fmc4 ansible_host=198.18.14.2

[fmcs:vars]
ansible_user=root
ansible_python_interpreter=/usr/bin/python3
pathprobe_become=false
pathprobe_proxy=http://198.18.2.2:3128
pathprobe_target=upstream.pathprobe.test:443
pathprobe_proxy_user=fmc
pathprobe_timeout=90
EOF
cat > ansible.cfg <<EOF
[defaults]
forks = 8
remote_tmp = $work/remote-tmp
local_tmp = $work/local-tmp
[ssh_connection]
ssh_args = -F $ssh_dir/ssh_config
pipelining = True
EOF
status=0
HOME="$work/home" ANSIBLE_CONFIG="$work/ansible.cfg" PATH="$VENV/bin:$PATH" \
  ip netns exec "${PATHPROBE_LAB_PREFIX}r1" "$VENV/bin/ansible-playbook" -i inventory.ini \
  -e @vault.yml --vault-password-file vault-pass -e "pathprobe_reports_dir=$work/reports" \
  "$REPO/contrib/ansible/pathprobe.yml" > playbook.log || status=$?
# 2: the play failed fmc2 (black hole) and fmc4 (unreachable) at pathprobe_fail_on, after
# writing every report, as it should
if [ "$status" -ne 0 ] && [ "$status" -ne 2 ]; then
  cat playbook.log >&2
  echo "make-fleet-example: ansible-playbook exited with status $status" >&2
  exit 1
fi
cd "$work/reports"
merge() { "$PY" -m pathprobe merge fmc.json fmc2.json fmc3.json fmc4.json "$@" || true; }
merge --width 100 > "$DOCS/fleet.txt"
merge --format github > "$DOCS/fleet.md"
merge --format html > "$DOCS/fleet.html"
echo "make-fleet-example: wrote $DOCS/fleet.{txt,md,html}"
