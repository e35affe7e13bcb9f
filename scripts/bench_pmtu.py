#!/usr/bin/env python3
"""Benchmark `pathprobe pmtu` against tracepath, scamper `trace -M` and pmtu-diag.

Builds the lab's black-hole scenario (leg 1 silently drops packets larger
than --size bytes, default 1372), runs each tool from the fmc namespace
against the proxy (198.18.2.2), and prints each answer, whether it is right,
the wall time of the whole process and the ratio to pathprobe. pathprobe is
run --runs times (median reported). Peers are run one after the other (they
would share the routers' ICMP rate limits otherwise). Needs root.

    PATHPROBE_LAB_PREFIX=pa- python scripts/bench_pmtu.py [--size 1372] [--runs 5]
        [--peer-timeout 150] [--no-peers] [--keep]

Target: exact answer, whole process <= 2 s, <= 0.1x the fastest correct peer.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pathprobe.lab import topology as topo  # noqa: E402
from pathprobe.lab.manager import down, up  # noqa: E402

TARGET = "198.18.2.2"


@dataclass
class Outcome:
    tool: str
    answer: int | None
    wall_s: float
    note: str = ""


def _run(ns: str, argv: list[str], timeout: float) -> tuple[str, float, bool]:
    """Run argv in the namespace; (stdout+stderr, wall seconds, timed out)."""
    t0 = time.monotonic()
    try:
        p = subprocess.run(["ip", "netns", "exec", ns, *argv], capture_output=True, text=True,
                           timeout=timeout, check=False, cwd="/",
                           env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
                                "PYTHONPATH": str(REPO)})
        return p.stdout + p.stderr, time.monotonic() - t0, False
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"") + (e.stderr or b"")
        text = out.decode(errors="replace") if isinstance(out, bytes) else str(out)
        return text, time.monotonic() - t0, True


def run_pathprobe(ns: str, runs: int) -> Outcome:
    walls, answers = [], []
    for _ in range(runs):
        out, wall, _ = _run(ns, [sys.executable, "-m", "pathprobe", "pmtu", TARGET, "--json",
                                 "-q"], 30)
        walls.append(wall)
        try:
            data = json.loads(out[out.index("{"):out.rindex("}") + 1])
            answers.append(data["legs"][0]["pmtu"])
        except (ValueError, KeyError, IndexError):
            answers.append(None)
    answer = answers[0] if len(set(answers)) == 1 else None
    note = f"median of {runs}: {', '.join(f'{w:.2f}' for w in walls)} s"
    if len(set(answers)) != 1:
        note += f"; answers varied: {answers}"
    return Outcome("pathprobe pmtu", answer, statistics.median(walls), note)


def run_tracepath(ns: str, timeout: float) -> Outcome:
    out, wall, late = _run(ns, ["tracepath", "-n", TARGET], timeout)
    m = re.findall(r"pmtu (\d+)", out)
    return Outcome("tracepath -n", int(m[-1]) if m else None, wall,
                   "timed out" if late else "")


def run_scamper(ns: str, timeout: float) -> Outcome:
    out, wall, late = _run(ns, ["scamper", "-c", "trace -M", "-i", TARGET], timeout)
    m = re.findall(r"mtu: (\d+)\]", out)
    return Outcome("scamper trace -M", int(m[-1]) if m else None, wall,
                   "timed out" if late else "")


def run_pmtu_diag(ns: str, timeout: float) -> Outcome | None:
    exe = shutil.which("pmtu-diag")
    if exe is None:
        return None
    out, wall, late = _run(ns, [exe, TARGET], timeout)
    m = re.findall(r"(?i)(?:path\s*mtu|pmtu)\D{0,20}(\d{3,5})", out)
    return Outcome("pmtu-diag", int(m[-1]) if m else None, wall, "timed out" if late else "")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=1372, help="black-hole size (bytes)")
    ap.add_argument("--runs", type=int, default=5, help="pathprobe runs (median)")
    ap.add_argument("--peer-timeout", type=float, default=150.0, help="seconds per peer")
    ap.add_argument("--no-peers", action="store_true", help="time pathprobe only")
    ap.add_argument("--keep", action="store_true", help="leave the lab up afterwards")
    args = ap.parse_args()

    prefix = topo.lab_prefix()
    scenario = topo.SCENARIOS["blackhole"].with_overrides(args.size, None, None, [])
    up(scenario, prefix)
    ns = topo.namespace(prefix, "fmc")
    try:
        results = [run_pathprobe(ns, args.runs)]
        if not args.no_peers:
            peers: list[Callable[[], Outcome | None]] = [
                lambda: run_tracepath(ns, args.peer_timeout),
                lambda: run_scamper(ns, args.peer_timeout),
                lambda: run_pmtu_diag(ns, args.peer_timeout),
            ]
            for peer in peers:
                got = peer()
                if got is not None:
                    results.append(got)
            if shutil.which("pmtu-diag") is None:
                print("pmtu-diag: not installed, skipped", file=sys.stderr)
    finally:
        if not args.keep:
            down(prefix)

    base = results[0].wall_s
    print(f"black hole on leg 1: packets > {args.size} bytes dropped silently; "
          f"target {TARGET}\n")
    print(f"{'tool':<18} {'answer':>6}  {'right':<5} {'wall s':>7} {'x pathprobe':>11}  note")
    for r in results:
        right = "yes" if r.answer == args.size else "NO"
        print(f"{r.tool:<18} {r.answer if r.answer is not None else '-':>6}  {right:<5} "
              f"{r.wall_s:>7.2f} {r.wall_s / base:>11.1f}  {r.note}")
    correct_peers = [r.wall_s for r in results[1:] if r.answer == args.size]
    ok = results[0].answer == args.size and base <= 2.0
    if correct_peers:
        ratio = base / min(correct_peers)
        print(f"\npathprobe / fastest correct peer = {ratio:.3f} (target <= 0.1)")
        ok = ok and ratio <= 0.1
    print(f"pathprobe: {'exact' if results[0].answer == args.size else 'WRONG'}, "
          f"{base:.2f} s (target <= 2 s) -> {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
