"""contrib/ansible (the thin playbook and its role) for real: ansible-core over SSH to three
lab FMCs, and ansible-lint's production profile.

The lab runs 'auth-basic' (the proxy wants the password, which comes from an
Ansible Vault) with three FMCs, each with its own sshd and leg 1: fmc healthy,
fmc2 behind a 1372-byte black hole, fmc3 (in the inventory as 'edge-c', a name
that is not its host name) behind an MSS clamp to 1300; a fourth inventory host
(a lab address nobody has) is unreachable. The controller runs in the r1
namespace, so SSH goes to lab addresses only. Check mode first (nothing run or
written), then the real run, which fails the hosts at or above pathprobe_fail_on
after writing every report; then only the merge again (its tag) at another
pathprobe_fail_on. Then the same playbook with ``-c local`` inside an FMC namespace.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from markdown_it import MarkdownIt

from pathprobe.lab import topology as topo
from pathprobe.lab.manager import up
from pathprobe.schema import load_schema
from tests.conftest import IN_CI, REPO, Lab

PLAYBOOK = REPO / "contrib" / "ansible" / "pathprobe.yml"
ANSIBLE_LINT = Path(os.environ.get("PATHPROBE_VENV", "/opt/pathprobe/venv") + "-lint",
                    "bin", "ansible-lint")
BIN = Path(sys.executable).parent
SECRET = topo.LAB_PASSWORD
TARGET = f"{topo.UPSTREAM_NAME}:{topo.UPSTREAM_TLS_PORT}"
UNREACHABLE = "198.18.14.2"  # fmc4's address in a lab of three FMCs: no such node


def _need_ansible() -> None:
    if not (BIN / "ansible-playbook").exists():
        reason = "ansible-core is not installed (pip install -e '.[dev]')"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)


def _ansible_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.lower().endswith("_proxy") and not k.startswith("ANSIBLE_")}
    env.update({"ANSIBLE_CONFIG": str(tmp / "ansible.cfg"), "HOME": str(tmp / "home"),
                "PATH": f"{BIN}:{env.get('PATH', '/usr/bin:/bin')}",
                "ANSIBLE_NOCOLOR": "1", "PYTHONPATH": str(REPO)})
    return env


def _setup(tmp: Path, ssh_dir: str) -> None:
    (tmp / "home").mkdir()
    (tmp / "vault-pass").write_text("vault-password-of-this-test\n")
    vaulted = subprocess.run(
        [str(BIN / "ansible-vault"), "encrypt_string", "--vault-password-file",
         str(tmp / "vault-pass"), "--name", "pathprobe_proxy_password", "--stdin-name",
         "pathprobe_proxy_password"], input=SECRET, capture_output=True, text=True,
        env=_ansible_env(tmp), timeout=60, check=True)
    (tmp / "vault.yml").write_text(vaulted.stdout)
    assert "$ANSIBLE_VAULT" in vaulted.stdout and SECRET not in vaulted.stdout
    (tmp / "inventory.ini").write_text(
        "[fmcs]\nfmc\nfmc2\nedge-c ansible_host=fmc3\n"
        f"fmc4 ansible_host={UNREACHABLE}\n"
        # the same machines again, once with a bad option and once with too little time
        "fmc-bad ansible_host=fmc pathprobe_extra_args='[\"--no-such-option\"]'\n"
        "fmc2-hurried ansible_host=fmc2 pathprobe_timeout=1\n\n"
        "[fmcs:vars]\nansible_user=root\nansible_python_interpreter=/usr/bin/python3\n"
        f"pathprobe_become=false\npathprobe_proxy={topo.PROXY_URL}\n"
        f"pathprobe_target={TARGET}\npathprobe_proxy_user={topo.LAB_USER}\n"
        "pathprobe_timeout=90\n")
    (tmp / "ansible.cfg").write_text(
        "[defaults]\nforks = 8\nhost_key_checking = True\n"
        f"remote_tmp = {tmp / 'remote-tmp'}\nlocal_tmp = {tmp / 'local-tmp'}\n"
        "[ssh_connection]\n"
        # the lab's keys, known_hosts and addresses; no ControlPersist masters left behind
        f"ssh_args = -F {ssh_dir}/ssh_config\npipelining = True\n")


def _playbook(tmp: Path, ns: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ip", "netns", "exec", ns, str(BIN / "ansible-playbook"), *args, str(PLAYBOOK)],
        capture_output=True, text=True, env=_ansible_env(tmp), cwd=str(tmp), timeout=120,
        check=False)


def _recap(stdout: str) -> dict[str, dict[str, int]]:
    """PLAY RECAP: host -> {ok, changed, unreachable, failed, ...}."""
    recap = stdout.rsplit("PLAY RECAP", 1)[1]
    return {m[1]: {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m[2])}
            for m in re.finditer(r"(?m)^(\S+)\s+: (.*)$", recap)}


def _no_secret_in(tmp: Path, *texts: str) -> None:
    for text in texts:
        assert SECRET not in text
    for path in tmp.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


def test_playbook_over_ssh_three_fmcs(lab: Lab, tmp_path: Path, pyz: Path) -> None:
    _need_ansible()
    scenario = topo.SCENARIOS["auth-basic"].with_overrides(None, None, None, [
        topo.Fault.parse("blackhole:1:both:1372@fmc2"),
        topo.Fault.parse("clamp:1:both:1300@fmc3")])
    state = up(scenario, lab.prefix, fmcs=3, ssh=True)
    lab.state = state
    assert state.ssh_dir is not None
    _setup(tmp_path, state.ssh_dir)
    reports = tmp_path / "reports"
    # Missing: the playbook builds it (from the dependency cache the pyz fixture warmed;
    # inside the lab there is no PyPI).
    pyz = tmp_path / "dist" / "pathprobe.pyz"
    common = ("-i", "inventory.ini", "-e", "@vault.yml", "--vault-password-file", "vault-pass",
              "-e", f"pathprobe_pyz={pyz}", "-e", f"pathprobe_reports_dir={reports}")
    # Check mode: says it changed nothing, and it did not (no pyz, no report, nothing left
    # on the hosts).
    check = _playbook(tmp_path, lab.ns("r1"), "--check", *common)
    assert check.returncode == 0, check.stdout[-3000:] + check.stderr[-2000:]
    assert "check mode: nothing was run, copied or written" in check.stdout
    assert all(r["changed"] == 0 and r["failed"] == 0 for r in _recap(check.stdout).values())
    assert not reports.exists() and not pyz.exists()

    # -vvv: even Ansible's most verbose output must not show the password
    run = _playbook(tmp_path, lab.ns("r1"), "-vvv", *common)
    # every report is written, then the play fails the hosts at or above 'warning' and the
    # ones not measured; the others pass
    assert run.returncode == 2, run.stdout[-3000:] + run.stderr[-2000:]
    recap = _recap(run.stdout)
    failed = {host for host, r in recap.items() if r["failed"]}
    assert failed == {"fmc2", "fmc4", "fmc-bad", "fmc2-hurried"}, recap
    assert "fmc2: a finding at or above warning" in run.stdout
    assert "fmc4: nothing could be measured" in run.stdout
    assert pyz.exists()
    assert "fmc4" in run.stdout and "UNREACHABLE" in run.stdout   # and the others went on
    assert (reports / "fleet.json").exists()

    schema = load_schema()
    docs = {}
    for host in ("fmc", "fmc2", "edge-c", "fmc4"):
        doc = json.loads((reports / f"{host}.json").read_text())
        jsonschema.validate(doc, schema)
        docs[host] = doc
    docs["fmc3"] = docs.pop("edge-c")
    # each report names its host by its inventory name: fmc3's sshd lives in a UTS
    # namespace named fmc3, but the inventory calls it edge-c
    assert [docs[h]["context"]["host"] for h in ("fmc", "fmc2", "fmc3")] == [
        "fmc", "fmc2", "edge-c"]
    assert all(docs[h]["context"]["proxy"] == topo.PROXY_URL for h in ("fmc", "fmc2", "fmc3"))
    # fmc: the vaulted password got it through the proxy, and nothing is wrong
    assert {v["code"] for v in docs["fmc"]["verdicts"]} == {"HEALTHY"}
    blackhole = [v for v in docs["fmc2"]["verdicts"] if v["code"] == "PMTU_BLACKHOLE"]
    assert blackhole and blackhole[0]["leg"] == "fmc-proxy" and blackhole[0]["mtu"] == 1372
    clamp = [v for v in docs["fmc3"]["verdicts"] if v["code"] == "MSS_CLAMPED"]
    assert clamp and clamp[0]["mss_received"] == 1300 and clamp[0]["leg"] == "fmc-proxy"
    assert not any(v["code"].startswith("PROXY_AUTH") for h in ("fmc", "fmc2", "fmc3")
                   for v in docs[h]["verdicts"])
    assert docs["fmc4"]["verdicts"] == [] and "unreachable" in docs["fmc4"]["errors"][0]
    for host, why in (("fmc-bad", "exited with status 2"),
                      ("fmc2-hurried", "did not finish within 1 s")):
        doc = json.loads((reports / f"{host}.json").read_text())
        jsonschema.validate(doc, schema)
        assert doc["verdicts"] == [] and why in doc.get("errors", [""])[0], (host, doc)

    md = (reports / "fleet.md").read_text()
    tokens = MarkdownIt("commonmark").enable("table").parse(md)
    cells = ["".join(c.content for c in t.children or ()) for t in tokens if t.type == "inline"]
    for host, outcome in (("fmc", "ok"), ("fmc2", "findings"), ("edge-c", "ok"),
                          ("fmc4", "not measured")):
        i = cells.index(host)
        assert cells[i + 1] == outcome, (host, cells[i:i + 3])
    assert "PMTU_BLACKHOLE" in cells and "MSS_CLAMPED" in cells
    page = (reports / "fleet.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "fmc2" in page
    merged = subprocess.run([sys.executable, "-m", "pathprobe", "merge", "--json",
                             *sorted(str(p) for p in reports.glob("*.json"))],
                            capture_output=True, text=True, env=_ansible_env(tmp_path),
                            timeout=60, check=False)
    assert merged.returncode == 3                    # fmc4 could not be measured at all
    fleet = json.loads(merged.stdout)
    assert [(h["host"], h["exit_status"]) for h in fleet["hosts"]] == [
        ("edge-c", 0), ("fmc", 0), ("fmc-bad", 3), ("fmc2", 1), ("fmc2-hurried", 3), ("fmc4", 3)]
    assert any("fmc2" in r["hosts"] for r in fleet["recommendations"])
    assert json.loads((reports / "fleet.json").read_text())["hosts"] == fleet["hosts"]

    # Only the merge again (its tag), at 'info': edge-c's clamp now fails it too; nothing
    # is measured again.
    before = (reports / "fmc.json").read_bytes()
    again = _playbook(tmp_path, lab.ns("r1"), "--tags", "pathprobe_merge", "-e",
                      "pathprobe_fail_on=info", *common)
    assert again.returncode == 2, again.stdout[-3000:]
    failed = {host for host, r in _recap(again.stdout).items() if r["failed"]}
    assert failed == {"fmc2", "fmc4", "fmc-bad", "fmc2-hurried", "edge-c"}
    assert "edge-c: a finding at or above info" in again.stdout
    assert (reports / "fmc.json").read_bytes() == before

    _no_secret_in(tmp_path, run.stdout, run.stderr)
    _no_secret_in(Path(state.workdir))
    for host in ("fmc", "fmc2", "edge-c", "fmc-bad"):
        assert not Path(f"/var/tmp/pathprobe-{host}").exists()   # the playbook cleaned up


def test_playbook_with_connection_local(lab: Lab, tmp_path: Path, pyz: Path) -> None:
    """``-c local`` in the fmc namespace: the controller is the FMC."""
    _need_ansible()
    lab.state = up(topo.SCENARIOS["healthy"], lab.prefix)
    (tmp_path / "home").mkdir()
    (tmp_path / "ansible.cfg").write_text(
        f"[defaults]\nremote_tmp = {tmp_path / 'remote-tmp'}\n"
        f"local_tmp = {tmp_path / 'local-tmp'}\n")
    built, pyz = pyz, tmp_path / "pathprobe.pyz"
    shutil.copy(built, pyz)
    reports = tmp_path / "reports"
    run = _playbook(tmp_path, lab.ns("fmc"), "-c", "local", "-i", "localhost,",
                    "-e", "ansible_python_interpreter=/usr/bin/python3",
                    "-e", "pathprobe_become=false", "-e", f"pathprobe_pyz={pyz}",
                    "-e", f"pathprobe_proxy={topo.PROXY_URL}", "-e", f"pathprobe_target={TARGET}",
                    "-e", f"pathprobe_reports_dir={reports}")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    doc = json.loads((reports / "localhost.json").read_text())
    jsonschema.validate(doc, load_schema())
    assert {v["code"] for v in doc["verdicts"]} == {"HEALTHY"}
    assert doc["context"]["host"] == "localhost"   # the inventory name
    md = (reports / "fleet.md").read_text()
    assert "| localhost | ok | diagnose |" in md
    assert not Path("/var/tmp/pathprobe-localhost").exists()


def test_ansible_lint_production_profile() -> None:
    """The role and the playbook are clean under ansible-lint's strictest profile (its own
    virtualenv: scripts/setup.sh --test)."""
    if not ANSIBLE_LINT.exists():
        reason = f"ansible-lint is not installed at {ANSIBLE_LINT} (scripts/setup.sh --test)"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    r = subprocess.run([str(ANSIBLE_LINT), "--offline", "--nocolor", "--profile", "production",
                        "contrib/ansible"], capture_output=True, text=True, cwd=REPO,
                       timeout=300, check=False,
                       env={"PATH": f"{ANSIBLE_LINT.parent}:/usr/bin:/bin", "HOME": "/tmp",
                            "LC_ALL": "C.UTF-8"})
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "Profile 'production' was required, and it passed" in r.stderr + r.stdout
    role = REPO / "contrib" / "ansible" / "roles" / "pathprobe"
    for part in ("defaults/main.yml", "meta/argument_specs.yml", "tasks/main.yml"):
        assert (role / part).is_file(), part


def _pmtu(lab: Lab, node: str, target: str) -> dict[str, Any]:
    run = lab.cli("pmtu", target, "--json", "-q", node=node)
    assert run.returncode in (0, 1), run.stderr
    doc: dict[str, Any] = json.loads(run.stdout)
    return doc


def test_each_fmc_has_its_own_leg1_and_sshd(lab: Lab) -> None:
    """fmc2's MTU fault (its own policy table for the way up) and fmc3's black hole touch
    neither fmc nor each other; every sshd answers on its lab address only, and 'down'
    leaves no sshd, key or namespace behind."""
    state = up(topo.SCENARIOS["healthy"].with_overrides(None, None, None, [
        topo.Fault.parse("mtu:1:both:1400@fmc2"),
        topo.Fault.parse("blackhole:1:both:1300@fmc3")]), lab.prefix, fmcs=3, ssh=True)
    lab.state = state
    for node, v4, v6 in (("fmc", "198.18.2.2", "2001:db8:2::2"),
                         ("fmc2", "198.18.2.2", "2001:db8:2::2"),
                         ("fmc3", "198.18.2.2", "2001:db8:2::2")):
        lab.run(["ip", "route", "flush", "cache"], node=node)
        lab.run(["ip", "-6", "route", "flush", "cache"], node=node)
        got = {t: _pmtu(lab, node, t)["legs"][0]["pmtu"] for t in (v4, v6)}
        expected = {"fmc": 1500, "fmc2": 1400, "fmc3": 1300}[node]
        assert got == {v4: expected, v6: expected}, node
    codes = {v["code"] for v in _pmtu(lab, "fmc2", "198.18.2.2")["verdicts"]}
    assert codes == {"PMTU_REDUCED"}                     # the ICMP came: PMTUD works
    keys = Path(str(state.ssh_dir))
    for name in ("fmc", "fmc2", "fmc3"):
        r = lab.run(["ssh", "-F", str(keys / "ssh_config"), name, "hostname"], node="r1",
                    timeout=30)
        assert (r.returncode, r.stdout.strip()) == (0, name), r.stderr
    # fmc2's sshd listens on its lab IPv4 address only: not on its IPv6 one, not on lo
    for node, address in (("r1", "2001:db8:12::2"), ("fmc2", "127.0.0.1")):
        r = lab.run(["ssh", "-F", str(keys / "ssh_config"), "-o", f"HostName={address}",
                     "fmc2", "true"], node=node, timeout=30)
        assert r.returncode == 255 and "refused" in r.stderr, (address, r.stderr)
    # the CLI: 'lab exec --node fmc2' runs there, 'lab status' names the FMCs and the keys
    cli = [sys.executable, "-m", "pathprobe", "lab"]
    env = {**os.environ, "PYTHONPATH": str(REPO), topo.PREFIX_ENV: lab.prefix}
    r = subprocess.run([*cli, "exec", "--node", "fmc2", "--", "ip", "-br", "addr"],
                       capture_output=True, text=True, env=env, timeout=30, check=False)
    assert r.returncode == 0 and "198.18.12.2/24" in r.stdout, r.stderr
    r = subprocess.run([*cli, "status", "--json"], capture_output=True, text=True, env=env,
                       timeout=30, check=False)
    status = json.loads(r.stdout)
    assert r.returncode == 0 and status["ssh_dir"] == state.ssh_dir
    assert status["fmcs"] == {"fmc": "198.18.1.2", "fmc2": "198.18.12.2", "fmc3": "198.18.13.2"}
    assert status["faults"] == ["mtu:1:both:1400@fmc2", "blackhole:1:both:1300@fmc3"]
    pids = dict(state.pids)
    assert {f"sshd-{n}" for n in ("fmc", "fmc2", "fmc3")} <= set(pids)
    lab.down()
    assert not keys.exists()
    for name, pid in pids.items():
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(
            f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0], name
    left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True,
                          check=True).stdout
    assert lab.prefix + "fmc" not in left
