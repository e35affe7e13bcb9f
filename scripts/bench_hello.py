#!/usr/bin/env python3
"""Benchmark what the ClientHello checks (issue 19) cost a healthy run (root; lab only).

In the healthy lab, `pathprobe tunnel` with the realistic hellos (`--hello both`,
what diagnose always sends) against the same run without them (`--hello none`),
interleaved, median of --repeat runs each: the difference must stay <= 0.5 s. The
size-or-content shapes run only after a size limit was found, so a healthy run never
sends them. Then, for information, diagnose's wall time in the hello-drop scenarios.

Usage: sudo python scripts/bench_hello.py [--repeat N] [--strict]
(uses the lab prefix from $PATHPROBE_LAB_PREFIX, default 'pp-').
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pathprobe.lab import topology as topo  # noqa: E402
from pathprobe.lab.manager import down, up  # noqa: E402

PROXY = topo.PROXY_URL
TARGET = f"{topo.UPSTREAM_NAME}:{topo.UPSTREAM_TLS_PORT}"
BUDGET_S = 0.5


def env() -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    e["PYTHONPATH"] = str(REPO)
    return e


def wall(prefix: str, *args: str) -> tuple[float, int]:
    argv = ["ip", "netns", "exec", topo.namespace(prefix, "fmc"), sys.executable, "-m",
            "pathprobe", *args, "--proxy", PROXY, "--target", TARGET, "--json"]
    t0 = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, env=env(), cwd="/", timeout=120,
                          check=False)
    return time.monotonic() - t0, proc.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--strict", action="store_true", help="exit 1 when over budget")
    a = parser.parse_args()
    prefix = topo.lab_prefix()
    try:
        up(topo.SCENARIOS["healthy"], prefix)
        runs: dict[str, list[float]] = {"both": [], "none": []}
        for _ in range(a.repeat):
            for which in ("both", "none"):
                t, status = wall(prefix, "tunnel", "--hello", which)
                if status != 0:
                    raise SystemExit(f"healthy tunnel --hello {which} exited {status}")
                runs[which].append(t)
        with_, without = statistics.median(runs["both"]), statistics.median(runs["none"])
        extra = with_ - without
        print(f"healthy tunnel: --hello both {with_:.2f} s, --hello none {without:.2f} s "
              f"(median of {a.repeat}); the hellos cost {extra:+.2f} s "
              f"(budget {BUDGET_S} s, ratio {with_ / without:.2f})")
        for name in ("hello-drop", "hello-rst"):
            up(topo.SCENARIOS[name], prefix)
            t, status = wall(prefix, "diagnose")
            print(f"{name}: diagnose {t:.2f} s, exit {status}")
    finally:
        down(prefix)
    return 1 if a.strict and extra > BUDGET_S else 0


if __name__ == "__main__":
    raise SystemExit(main())
