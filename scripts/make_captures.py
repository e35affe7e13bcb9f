#!/usr/bin/env python3
"""Record the small capture fixtures of tests/fixtures/captures/ from the lab (root).

For each scenario: build the lab, run tcpdump in the fmc namespace on its
interface towards r1 (what an FMC capture sees: leg 1 only), run curl through
squid, stop tcpdump. Files stay small (snap length 400: headers, the HTTP
answer and TLS hello headers, never bulk payload).

    sudo PATHPROBE_LAB_PREFIX=pd- python scripts/make_captures.py [NAME ...]
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pathprobe.lab import topology as topo  # noqa: E402
from pathprobe.lab.manager import down, up  # noqa: E402
from pathprobe.model import Direction  # noqa: E402

OUT = REPO / "tests" / "fixtures" / "captures"
URL = f"https://{topo.UPSTREAM_NAME}"
SNAPLEN = 400
UPLOAD_BYTES = 30000
CAPTURE_FILTER = "tcp or icmp or icmp6 or ip[6:2] & 0x3fff != 0"   # + IPv4 fragments


@dataclass(frozen=True)
class Recipe:
    name: str
    scenario: str
    curl: tuple[str, ...]
    param: int | None = None
    leg: int | None = None
    direction: str | None = None
    proxy: str = topo.PROXY_URL
    iface: str = "to-r1"
    max_time: int = 8
    extra: tuple[str, ...] = field(default=())


GET = ("/bytes/20000",)
POST = ("--data-binary", "@{upload}", "/upload")
RECIPES = {r.name: r for r in (
    Recipe("healthy", "healthy", GET),
    Recipe("healthy-v6", "healthy", GET, proxy=f"http://[{topo.PROXY_V6}]:{topo.PROXY_PORT}"),
    Recipe("healthy-sll2", "healthy", GET, iface="any"),
    Recipe("acl", "acl", GET),
    Recipe("auth-basic", "auth-basic", GET),
    Recipe("auth-basic-wrong", "auth-basic", GET, extra=("--proxy-user", "fmc:wrong")),
    Recipe("auth-ntlm", "auth-ntlm", GET),
    Recipe("upstream-down", "upstream-down", GET),
    Recipe("clamp", "clamp", GET),
    Recipe("rst", "rst", POST),
    Recipe("mtu", "mtu", POST),
    Recipe("blackhole-leg1", "blackhole", POST, max_time=6),
    Recipe("blackhole-leg2", "blackhole", POST, param=1400, leg=2, direction="up", max_time=6),
    Recipe("blackhole-leg1-down", "blackhole", ("/bytes/20000",), direction="down", max_time=6),
    Recipe("stall", "stall", ("/bytes/300000",), max_time=6),
    Recipe("no-response", "blackhole", GET, param=120, leg=1, direction="up", max_time=5),
)}


def record(prefix: str, recipe: Recipe, out: Path, upload: Path) -> subprocess.CompletedProcess[
        str]:
    """Bring the recipe's lab up, capture one curl run into ``out``; returns curl's result."""
    scenario = topo.SCENARIOS[recipe.scenario].with_overrides(
        recipe.param, recipe.leg, Direction(recipe.direction) if recipe.direction else None, [])
    up(scenario, prefix)
    ns = topo.namespace(prefix, "fmc")
    dump = subprocess.Popen(
        ["ip", "netns", "exec", ns, "tcpdump", "-i", recipe.iface, "--immediate-mode", "-U",
         "-Z", "root", "-n", "-s", str(SNAPLEN), "-w", str(out), CAPTURE_FILTER],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert dump.stderr is not None
        line = ""
        for _ in range(5):                     # "listening on ..." once the capture runs
            line = dump.stderr.readline()
            if "listening" in line or not line:
                break
        if "listening" not in line:
            raise RuntimeError(f"tcpdump did not start: {line.strip()}")
        argv = ["curl", "-sk", "-o", "/dev/null", "-w", "%{http_code}", "--max-time",
                str(recipe.max_time), "-x", recipe.proxy, *recipe.extra]
        for arg in recipe.curl:
            argv.append(URL + arg if arg.startswith("/") else arg.format(upload=upload))
        env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
        result = subprocess.run(["ip", "netns", "exec", ns, *argv], capture_output=True,
                                text=True, timeout=recipe.max_time + 10, env=env, check=False)
        time.sleep(0.3)                        # let the last FIN/RST land in the file
        return result
    finally:
        dump.send_signal(signal.SIGINT)
        dump.wait(timeout=10)


def main(names: list[str]) -> int:
    prefix = topo.lab_prefix()
    OUT.mkdir(parents=True, exist_ok=True)
    chosen = [RECIPES[n] for n in names] if names else list(RECIPES.values())
    with tempfile.NamedTemporaryFile(prefix="pathprobe-upload-", delete=False) as f:
        f.write(os.urandom(UPLOAD_BYTES))
        upload = Path(f.name)
    os.chmod(upload, 0o644)
    try:
        for recipe in chosen:
            out = OUT / f"{recipe.name}.pcap"
            t0 = time.monotonic()
            result = record(prefix, recipe, out, upload)
            print(f"{recipe.name}: curl exit {result.returncode} http {result.stdout or '-'}, "
                  f"{out.stat().st_size} bytes, {time.monotonic() - t0:.1f} s")
    finally:
        upload.unlink(missing_ok=True)
        down(prefix)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
