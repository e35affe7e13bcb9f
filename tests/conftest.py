"""Shared fixtures. Tests under tests/lab/ build the real network-namespace lab
(root); in CI (CI=true) they must run, so a missing privilege fails them
instead of skipping."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from pathprobe.lab import topology as topo
from pathprobe.lab.manager import LabState, down, up
from pathprobe.model import Direction

REPO = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI") == "true"
IS_ROOT = os.geteuid() == 0
UNPRIVILEGED = ["setpriv", "--reuid", "nobody", "--regid", "nogroup", "--clear-groups"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    lab_dir = REPO / "tests" / "lab"
    for item in items:
        if lab_dir in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.lab)
            if not IS_ROOT:
                if IN_CI:
                    item.add_marker(pytest.mark.xfail(reason="CI must run lab tests as root",
                                                      strict=True, run=False))
                else:
                    item.add_marker(pytest.mark.skip(reason="lab tests need root"))


def cli_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for running this checkout's CLI in a subprocess."""
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env["PYTHONPATH"] = str(REPO)
    env.update(extra or {})
    return env


class Lab:
    """The lab for tests: bring a scenario up, run commands in its namespaces."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.state: LabState | None = None

    def up(self, scenario: str = "healthy", *, faults: Sequence[str] = (),
           param: int | None = None, leg: int | None = None,
           direction: str | None = None) -> LabState:
        chosen = topo.SCENARIOS[scenario].with_overrides(
            param, leg, Direction(direction) if direction else None,
            [topo.Fault.parse(f) for f in faults])
        self.state = up(chosen, self.prefix)
        return self.state

    def ns(self, node: str) -> str:
        return topo.namespace(self.prefix, node)

    def run(self, argv: Sequence[str], *, node: str = "fmc", user: str | None = None,
            timeout: float = 60, env: dict[str, str] | None = None,
            input: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run argv inside a lab namespace (optionally as an unprivileged user)."""
        prefix_argv = ["ip", "netns", "exec", self.ns(node)]
        if user is not None:
            prefix_argv += ["setpriv", "--reuid", user, "--regid", "nogroup", "--clear-groups"]
        return subprocess.run([*prefix_argv, *argv], capture_output=True, text=True,
                              timeout=timeout, env=cli_env(env), input=input, cwd="/",
                              check=False)

    def cli(self, *args: str, node: str = "fmc", user: str | None = None,
            timeout: float = 60, env: dict[str, str] | None = None,
            input: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run `pathprobe ARGS` from this checkout inside a lab namespace."""
        return self.run([sys.executable, "-m", "pathprobe", *args], node=node, user=user,
                        timeout=timeout, env=env, input=input)

    def down(self) -> None:
        down(self.prefix)
        self.state = None


@pytest.fixture(scope="session")
def lab() -> Iterator[Lab]:
    """One lab per test session; each test calls lab.up(...) for its scenario."""
    if not IS_ROOT:
        pytest.skip("lab tests need root")
    the_lab = Lab(topo.lab_prefix())
    try:
        yield the_lab
    finally:
        the_lab.down()


@pytest.fixture(scope="session")
def pyz(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """dist/pathprobe.pyz built once per session by scripts/build-pyz.sh, here in the root
    namespace: its dependency cache (dist/pyz-deps/) is then warm, so a later build inside
    a lab namespace (the Ansible playbook's) needs no network."""
    out = tmp_path_factory.mktemp("pyz") / "pathprobe.pyz"
    r = subprocess.run(["bash", str(REPO / "scripts" / "build-pyz.sh")], capture_output=True,
                       text=True, timeout=900, check=False,
                       env={**os.environ, "PATHPROBE_PYZ": str(out), "PYTHON": sys.executable})
    assert r.returncode == 0, r.stderr[-3000:]
    return out


@pytest.fixture(scope="session")
def unprivileged_ok() -> None:
    """Skip (fail in CI) unless 'nobody' can run this interpreter and read this checkout."""
    probe = subprocess.run([*UNPRIVILEGED, sys.executable, "-c", "import pathprobe.cli"],
                           capture_output=True, text=True, env=cli_env(), cwd="/", check=False)
    if probe.returncode != 0:
        reason = (f"user nobody cannot run {sys.executable} with {REPO}: "
                  f"{probe.stderr.strip()[-200:]}")
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
