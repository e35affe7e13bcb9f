#!/usr/bin/env python3
"""Benchmark what the ClientHello checks (issue 19) cost a healthy run (root; lab only).

In the healthy lab, interleaved, median of --repeat runs each: `pathprobe tunnel` with
the realistic hellos (`--hello both`, what diagnose always sends) against `--hello none`;
and, with --baseline DIR (a checkout without the checks, e.g. `git archive main`),
this checkout's whole `diagnose` against that one's. Each difference must stay <= 0.5 s.
Then, for information, diagnose's wall time in the hello-drop scenarios.

Usage: sudo python scripts/bench_hello.py [--repeat N] [--baseline DIR] [--strict]
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


def env(checkout: Path) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    e["PYTHONPATH"] = str(checkout)
    return e


def wall(prefix: str, *args: str, checkout: Path = REPO) -> tuple[float, int]:
    argv = ["ip", "netns", "exec", topo.namespace(prefix, "fmc"), sys.executable, "-m",
            "pathprobe", *args, "--proxy", PROXY, "--target", TARGET, "--json"]
    t0 = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, env=env(checkout), cwd="/", timeout=120,
                          check=False)
    return time.monotonic() - t0, proc.returncode


def compare(prefix: str, repeat: int, runs: dict[str, tuple[tuple[str, ...], Path]]
            ) -> dict[str, float]:
    """Median wall time of each named run, interleaved; every run must exit 0."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeat):
        for name, (args, checkout) in runs.items():
            t, status = wall(prefix, *args, checkout=checkout)
            if status != 0:
                raise SystemExit(f"healthy {name} exited {status}")
            times[name].append(t)
    return {name: statistics.median(ts) for name, ts in times.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--baseline", type=Path, help="a checkout without the checks")
    parser.add_argument("--strict", action="store_true", help="exit 1 when over budget")
    a = parser.parse_args()
    prefix = topo.lab_prefix()
    extras: list[float] = []
    try:
        up(topo.SCENARIOS["healthy"], prefix)
        m = compare(prefix, a.repeat, {"tunnel --hello both": (("tunnel", "--hello", "both"),
                                                                REPO),
                                       "tunnel --hello none": (("tunnel", "--hello", "none"),
                                                                REPO)})
        pairs = [("tunnel --hello both", "tunnel --hello none")]
        if a.baseline is not None:
            m.update(compare(prefix, a.repeat, {"diagnose": (("diagnose",), REPO),
                                                "diagnose (baseline)": (("diagnose",),
                                                                        a.baseline)}))
            pairs.append(("diagnose", "diagnose (baseline)"))
        for with_, without in pairs:
            extra = m[with_] - m[without]
            extras.append(extra)
            print(f"healthy: {with_} {m[with_]:.2f} s, {without} {m[without]:.2f} s (median "
                  f"of {a.repeat}): {extra:+.2f} s (budget {BUDGET_S} s, ratio "
                  f"{m[with_] / m[without]:.2f})")
        for name in ("hello-drop", "hello-rst"):
            up(topo.SCENARIOS[name], prefix)
            t, status = wall(prefix, "diagnose")
            print(f"{name}: diagnose {t:.2f} s, exit {status}")
    finally:
        down(prefix)
    return 1 if a.strict and max(extras) > BUDGET_S else 0


if __name__ == "__main__":
    raise SystemExit(main())
