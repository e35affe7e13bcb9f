#!/usr/bin/env python3
"""Benchmark `pathprobe diagnose` in the lab (root; traffic stays inside the lab).

Prints, per scenario, the wall time of a whole diagnose run and, per leg, the
packets (probes) sent and the time of each size search, against the targets
of the "findings as data" issue: every single-fault scenario <= 3 s, healthy
<= 1 s, <= 100 probes per search (and a black-hole search <= 2 s per
leg). Besides the lab's own scenarios it runs the leg-2 ones of issue 19 (black hole up,
down only, both ways, reset; and the lab's hello-drop scenario when `lab list` has one),
each <= 3 s too. Then `pathprobe --help` start-up time against a bare
`python -c "import typer, tabulate"` (target <= 1.6x, and scapy must not load).

Usage: sudo python scripts/bench_diagnose.py [--repeat N] [--strict] [--scenario NAME ...]
(uses the lab prefix from $PATHPROBE_LAB_PREFIX, default 'pp-').
--strict exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from tabulate import tabulate

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pathprobe.lab import topology as topo  # noqa: E402
from pathprobe.lab.manager import down, up  # noqa: E402

PROXY = topo.PROXY_URL
TARGET = f"{topo.UPSTREAM_NAME}:{topo.UPSTREAM_TLS_PORT}"
# Leg-2 faults (issue 19, item 7): a lab scenario with its fault moved to leg 2.
LEG2: dict[str, topo.Scenario] = {
    "leg2-blackhole-up": topo.Scenario("leg2-blackhole-up", "leg 2 drops > 1400 B going up",
                                       (topo.Fault.parse("blackhole:2:up:1400"),)),
    "leg2-blackhole-down": topo.Scenario("leg2-blackhole-down",
                                         "leg 2 drops > 1400 B coming down only",
                                         (topo.Fault.parse("blackhole:2:down:1400"),)),
    "leg2-blackhole-both": topo.Scenario("leg2-blackhole-both",
                                         "leg 2 drops > 1400 B both ways",
                                         (topo.Fault.parse("blackhole:2:both:1400"),)),
    "leg2-rst": topo.Scenario("leg2-rst", "leg 2 resets TCP packets > 1300 B",
                              (topo.Fault.parse("rst:2:both:1300"),)),
}
# The lab's own scenarios (all but "article" have one fault, "hello-drop" on leg 2 when the
# lab has it), then the leg-2 ones above.
ALL: dict[str, topo.Scenario] = {**topo.SCENARIOS, **LEG2}
SCENARIOS = tuple(ALL)
MULTI_FAULT = ("article",)
HEALTHY_WALL_S = 1.0
FAULT_WALL_S = 3.0
SEARCH_S = 2.0
MAX_PROBES = 100
HELP_RATIO = 1.6


def env() -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    e["PYTHONPATH"] = str(REPO)
    return e


def run_diagnose(prefix: str) -> tuple[float, dict[str, object], int]:
    argv = ["ip", "netns", "exec", topo.namespace(prefix, "fmc"), sys.executable, "-m",
            "pathprobe", "diagnose", "--proxy", PROXY, "--target", TARGET, "--json"]
    t0 = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, text=True, env=env(), cwd="/",
                          timeout=120, check=False)
    wall = time.monotonic() - t0
    try:
        doc = json.loads(proc.stdout)
    except ValueError:
        raise SystemExit(f"diagnose printed no JSON (exit {proc.returncode}): "
                         f"{proc.stderr.strip()[-300:]}") from None
    return wall, doc, proc.returncode


def time_cmd(argv: list[str], repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        t0 = time.monotonic()
        subprocess.run(argv, capture_output=True, env=env(), cwd="/", check=False)
        runs.append(time.monotonic() - t0)
    return statistics.median(runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per --help timing")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--scenario", action="append", choices=list(ALL),
                        help=f"scenario(s) to run (default: {', '.join(SCENARIOS)})")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench_diagnose: needs root (it builds the lab)", file=sys.stderr)
        return 3
    prefix = topo.lab_prefix()
    missed: list[str] = []
    rows = []
    try:
        for name in args.scenario or SCENARIOS:
            up(ALL[name], prefix)
            wall, doc, status = run_diagnose(prefix)
            if name == "healthy" and wall > HEALTHY_WALL_S:
                missed.append(f"healthy diagnose took {wall:.2f} s > {HEALTHY_WALL_S} s")
            elif name not in (*MULTI_FAULT, "healthy") and wall > FAULT_WALL_S:
                missed.append(f"{name}: diagnose took {wall:.2f} s > {FAULT_WALL_S} s")
            legs = doc.get("legs", [])
            assert isinstance(legs, list)
            steps_seen: set[float] = set()
            for leg in legs:
                # A step that measures more than one thing times its size search apart.
                probes, search = leg.get("probes"), leg.get("search_s", leg.get("duration_s"))
                step = leg.get("step_s")
                if step in steps_seen:
                    step = None  # the same step's time, already shown on its first row
                elif step is not None:
                    steps_seen.add(step)
                if probes is None and search is None and step is None:
                    continue
                label = f"{leg['name']} {leg.get('direction') or ''}".strip()
                if isinstance(probes, int) and probes > MAX_PROBES:
                    missed.append(f"{name}: {label} sent {probes} probes > {MAX_PROBES}")
                if isinstance(search, (int, float)) and search > SEARCH_S:
                    missed.append(f"{name}: {label} search took {search:.2f} s > {SEARCH_S} s")
                # A step without its own timing (the tunnel: CONNECT + leg 2 up + down)
                # holds up to two searches.
                if isinstance(step, (int, float)) and step > 2 * SEARCH_S:
                    missed.append(f"{name}: {label} step (two searches) took {step:.2f} s > "
                                  f"{2 * SEARCH_S} s")
                rows.append([name, label, leg.get("pmtu_method") or "-", probes,
                             search if search is not None else "-",
                             step if step is not None else "-", "", ""])
            codes = ", ".join(sorted({str(v["code"]) for v in doc["verdicts"]}))  # type: ignore[index, union-attr]
            rows.append([name, "(whole run)", "", "", "", "", f"{wall:.2f}",
                         f"exit {status}: {codes}"])
    finally:
        down(prefix)
    print(tabulate(rows, ["scenario", "leg", "method", "probes", "search s", "step s",
                          "wall s", "result"], tablefmt="simple"))

    bare = time_cmd([sys.executable, "-c", "import typer, tabulate"], args.repeat)
    helped = time_cmd([sys.executable, "-m", "pathprobe", "--help"], args.repeat)
    loads = subprocess.run([sys.executable, "-X", "importtime", "-m", "pathprobe", "--help"],
                           capture_output=True, text=True, env=env(), cwd="/", check=False)
    scapy = "scapy" in loads.stderr
    ratio = helped / bare if bare else float("inf")
    print(f"\npathprobe --help: {helped * 1000:.0f} ms median of {args.repeat}; bare "
          f"'import typer, tabulate': {bare * 1000:.0f} ms; ratio {ratio:.2f} "
          f"(target <= {HELP_RATIO}); scapy loaded: {'YES' if scapy else 'no'}")
    if ratio > HELP_RATIO:
        missed.append(f"--help is {ratio:.2f}x a bare import (> {HELP_RATIO}x)")
    if scapy:
        missed.append("scapy is imported on the --help path")
    print("\ntargets: " + ("all met" if not missed else "MISSED:\n  " + "\n  ".join(missed)))
    return 1 if missed and args.strict else 0


if __name__ == "__main__":
    raise SystemExit(main())
