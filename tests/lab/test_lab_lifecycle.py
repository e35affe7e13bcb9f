"""The lab leaves nothing behind: after down, after a failed up, after Ctrl-C
during up, and after a killed run (cleaned by the next down). Also the
`pathprobe lab` commands themselves."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from pathprobe.lab import topology as topo
from pathprobe.lab.manager import _alive, existing_namespaces, load_state, state_path
from tests.conftest import UNPRIVILEGED, Lab, cli_env

# Runs manager.up in a child process; "slow" stalls before the readiness wait so
# the test can interrupt or kill it mid-way, "badproxy" makes squid fail to start.
CHILD = """
import sys, time
from pathprobe.lab import manager, squid, topology as topo
mode, prefix = sys.argv[1], sys.argv[2]
if mode == "slow":
    real_wait = manager._wait_ready
    def slow_wait(*args, **kwargs):
        sys.stderr.write("WAITING\\n"); sys.stderr.flush(); time.sleep(60)
        return real_wait(*args, **kwargs)
    manager._wait_ready = slow_wait
if mode == "badproxy":  # an address on no interface: squid cannot bind and exits
    real_conf = squid.squid_conf
    squid.squid_conf = lambda *a: real_conf(*a).replace("port 198.18.2.2", "port 198.18.9.9")
manager.up(topo.SCENARIOS["healthy"], prefix)
"""


def _leftovers(prefix: str, pids: list[int]) -> list[str]:
    left = [ns for ns in existing_namespaces() if ns in
            {topo.namespace(prefix, n) for n in topo.NODES}]
    left += [f"pid {p}" for p in pids if _alive(p)]
    left += [str(p) for p in Path(tempfile.gettempdir()).glob(f"pathprobe-lab-{prefix}*")]
    if state_path(prefix).exists():
        left.append(str(state_path(prefix)))
    return left


def _pids_in_lab(lab: Lab) -> list[int]:
    pids: list[int] = []
    for node in topo.NODES:
        out = subprocess.run(["ip", "netns", "pids", lab.ns(node)], capture_output=True,
                             text=True, check=False).stdout
        pids += [int(p) for p in out.split()]
    return pids


def _start_child(mode: str, prefix: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", CHILD, mode, prefix], env=cli_env(),
                            stderr=subprocess.PIPE, text=True)


def test_down_removes_everything(lab: Lab) -> None:
    lab.up("article")
    pids = _pids_in_lab(lab)
    assert len(pids) >= 2  # squid and the upstream server at least
    lab.down()
    assert _leftovers(lab.prefix, pids) == []


def test_failed_up_cleans_up_and_says_why(lab: Lab) -> None:
    child = _start_child("badproxy", lab.prefix)
    _, err = child.communicate(timeout=60)
    assert child.returncode != 0
    assert "squid cannot start: commBind Cannot bind socket" in err
    assert _leftovers(lab.prefix, []) == []


def test_ctrl_c_during_up_cleans_up(lab: Lab) -> None:
    child = _start_child("slow", lab.prefix)
    assert child.stderr is not None
    assert child.stderr.readline().strip() == "WAITING"
    pids = _pids_in_lab(lab)
    assert pids  # squid and upstream were running when interrupted
    child.send_signal(signal.SIGINT)
    child.communicate(timeout=60)
    assert child.returncode != 0
    assert _leftovers(lab.prefix, pids) == []


def test_stale_lab_from_killed_run_is_removed_by_down(lab: Lab) -> None:
    child = _start_child("slow", lab.prefix)
    assert child.stderr is not None
    assert child.stderr.readline().strip() == "WAITING"
    pids = _pids_in_lab(lab)
    child.kill()  # no chance to clean up
    child.wait(10)
    assert _leftovers(lab.prefix, pids)  # something is left behind ...
    r = subprocess.run([sys.executable, "-m", "pathprobe", "lab", "down"], env=cli_env(),
                       capture_output=True, text=True, timeout=60, check=False)
    assert r.returncode == 0, r.stderr
    assert _leftovers(lab.prefix, pids) == []  # ... and down removes it


def test_up_replaces_a_running_lab(lab: Lab) -> None:
    lab.up("healthy")
    first = load_state(lab.prefix)
    assert first is not None
    old_pids = _pids_in_lab(lab)
    lab.up("acl")
    second = load_state(lab.prefix)
    assert second is not None and second.scenario == "acl"
    assert not any(_alive(p) for p in old_pids)


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pathprobe", *args], env=cli_env(env),
                          capture_output=True, text=True, timeout=60, check=False)


def test_lab_cli_up_status_exec_down(lab: Lab) -> None:
    up = _cli("lab", "up", "blackhole", "--param", "1300", "--leg", "2", "--direction", "up",
              "--fault", "clamp:1:down:1200")
    assert up.returncode == 0, up.stderr
    assert "ready in" in up.stderr
    status = _cli("lab", "status", "--json")
    assert status.returncode == 0, status.stderr
    info = json.loads(status.stdout)
    assert info["faults"] == ["blackhole:2:up:1300", "clamp:1:down:1200"]
    assert all(info["health"].values())
    # exec runs in the fmc namespace with the lab proxy in the environment, and
    # passes the command's exit status through.
    script = 'ip -4 -o addr show dev to-r1; echo "$HTTPS_PROXY"; exit 7'
    ex = _cli("lab", "exec", "--", "sh", "-c", script)
    assert ex.returncode == 7
    assert topo.FMC_V4 in ex.stdout and topo.PROXY_URL in ex.stdout
    r2 = _cli("lab", "exec", "--node", "r2", "--", "nft", "list", "ruleset")
    assert "ip length > 1300 drop" in r2.stdout
    down = _cli("lab", "down")
    assert down.returncode == 0
    assert _cli("lab", "status").returncode == 3
    assert _cli("lab", "exec", "--", "true").returncode == 3


def test_lab_cli_rejects_bad_input_with_one_line(lab: Lab) -> None:
    for args in (["lab", "up", "nosuch"], ["lab", "up", "mtu", "--param", "20"],
                 ["lab", "up", "healthy", "--fault", "blackhole:3:up:1400"],
                 ["lab", "up", "acl", "--param", "1400"]):
        r = _cli(*args)
        assert r.returncode == 2, (args, r.stderr)
        assert r.stderr.count("\n") == 1 and r.stderr.startswith("pathprobe: error:"), r.stderr
    assert _cli("lab", "up", env={"PATHPROBE_LAB_PREFIX": "Bad Prefix"}).returncode == 2


def test_lab_needs_root_and_says_so(lab: Lab, unprivileged_ok: None) -> None:
    r = subprocess.run([*UNPRIVILEGED, sys.executable, "-m", "pathprobe", "lab", "up"],
                       env=cli_env(), capture_output=True, text=True, timeout=60, cwd="/",
                       check=False)
    assert r.returncode == 3
    assert "needs root" in r.stderr


def test_missing_tool_is_named_with_its_package(lab: Lab, tmp_path: Path) -> None:
    """With squid missing from PATH, `lab up` says which Debian package to install."""
    for tool in ("ip", "nft", "ethtool", "openssl"):
        found = shutil.which(tool)
        assert found is not None
        (tmp_path / tool).symlink_to(found)
    r = _cli("lab", "up", env={"PATH": str(tmp_path)})
    assert r.returncode == 3
    assert r.stderr == ("pathprobe: error: 'squid' is not installed; install the Debian "
                        "package 'squid-openssl' (apt-get install squid-openssl)\n")
    assert _leftovers(lab.prefix, []) == []
