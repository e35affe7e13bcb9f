"""Hostile /etc/sf/iprep_proxy.conf files (issue 23 items 3 and 12), through the real CLI.

Each case runs `pathprobe` in its own mount namespace where /etc is an overlay of the
real /etc and a tmpfs holding the planted file, so the host's /etc is never touched
(root needed: it sits with the lab tests). A FIFO must not hang the run, a link to
/dev/zero or a 1 GB file must not be read, and a file that is there but unusable (a
garbled PROXY_HOST line, a dangling link) is exit 2 with one line, never "no proxy".
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import cli_env

CONF = "iprep_proxy.conf"
TARGET = "upstream.pathprobe.test:443"
Plant = Callable[[Path], None]


def run(tmp_path: Path, plant: Plant, *args: str) -> tuple[subprocess.CompletedProcess[str],
                                                          float]:
    src = tmp_path / "sf"
    src.mkdir()
    plant(src / CONF)
    script = ('set -e; t=$(mktemp -d); mount -t tmpfs tmpfs "$t"; mkdir "$t/u" "$t/w"; '
              f'cp -a {src} "$t/u/sf"; '
              'mount -t overlay overlay -o "lowerdir=/etc,upperdir=$t/u,workdir=$t/w" /etc; '
              'exec "$@"')
    t0 = time.monotonic()
    r = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script,
                        "sh", sys.executable, "-m", "pathprobe", *args],
                       capture_output=True, text=True, env=cli_env(), timeout=30, cwd="/",
                       check=False)
    return r, time.monotonic() - t0


def fifo(p: Path) -> None:
    os.mkfifo(p)


def dev_zero(p: Path) -> None:
    p.symlink_to("/dev/zero")


def one_gigabyte(p: Path) -> None:
    with p.open("wb") as f:   # sparse: no disk used, 1 GB to whoever reads it
        f.write(b"iprep_proxy {\n  PROXY_HOST 198.18.2.2;\n")
        f.truncate(1 << 30)


def dangling(p: Path) -> None:
    p.symlink_to("/nonexistent/iprep_proxy.conf")


def garbled_host(p: Path) -> None:
    p.write_text("iprep_proxy {\n  PROXY_HOST = 198.18.2.2\n  PROXY_PORT 3128;\n}\n")


def host_without_semicolon(p: Path) -> None:
    p.write_text("iprep_proxy {\n  PROXY_HOST 198.18.2.2\n}\n")


def directory(p: Path) -> None:
    p.mkdir()


CASES: dict[str, tuple[Plant, str]] = {
    "fifo": (fifo, "is a FIFO"),
    "link-to-dev-zero": (dev_zero, "is a character device"),
    "1-gigabyte": (one_gigabyte, "larger than 64 KiB"),
    "dangling-link": (dangling, "is a link to '/nonexistent/iprep_proxy.conf', which does not"),
    "garbled-proxy-host": (garbled_host, "line 2: cannot read 'PROXY_HOST = 198.18.2.2'"),
    "no-semicolon": (host_without_semicolon, "line 2: cannot read"),
    "directory": (directory, "is a directory"),
}


@pytest.mark.parametrize("command", ["tunnel", "diagnose"])
@pytest.mark.parametrize("case", list(CASES))
def test_unusable_fmc_proxy_file_is_exit_2_with_one_line(tmp_path: Path, case: str,
                                                         command: str) -> None:
    plant, says = CASES[case]
    r, elapsed = run(tmp_path, plant, command, "--target", TARGET, "--json")
    assert r.returncode == 2, (r.returncode, r.stderr[-500:])
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("pathprobe: error: /etc/sf/")
    assert says in r.stderr, r.stderr
    assert r.stdout == ""          # no report that went direct as if there were no proxy
    assert elapsed < 10
    # the whole run stayed small (a 1 GB file or /dev/zero was never read)
    assert resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss < 300 * 1024


def test_a_good_fmc_proxy_file_is_used(tmp_path: Path) -> None:
    """The control: the same mechanism with a good file, and the proxy comes from it."""
    def good(p: Path) -> None:
        p.write_text("iprep_proxy {\n  PROXY_HOST 127.0.0.1;\n  PROXY_PORT 9;\n}\n")

    r, _ = run(tmp_path, good, "tunnel", "--target", TARGET, "--json", "-q")
    assert r.returncode in (1, 3), r.stderr
    context = json.loads(r.stdout)["context"]
    assert (context["proxy"], context["proxy_source"]) == ("http://127.0.0.1:9",
                                                           "/etc/sf/iprep_proxy.conf")
