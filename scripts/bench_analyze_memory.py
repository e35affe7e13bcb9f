#!/usr/bin/env python3
"""Peak memory of `pathprobe analyze` on many connections that never finish (SYN-only).

Builds a capture of --connections SYN-only connections (each a distinct client
address and port, one SYN every 10 microseconds: a SYN flood or a scan seen
from the FMC) and feeds it to `pathprobe analyze - --port 3128` on standard
input, so the file size cannot help. Prints the peak RSS (wait4's rusage of the
child) and what the report's notes say about connections judged early. The
target (issue 23): at most 200 MB at 1M connections with the default
--max-connections. ``--cap N`` runs with another cap as well, to compare.

    python scripts/bench_analyze_memory.py [--connections 1000000] [--cap 400000]
"""

from __future__ import annotations

import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROXY = bytes([198, 18, 2, 2])
PROXY_PORT = 3128
TARGET_MIB = 200


def _checksum(data: bytes) -> int:
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    s = (s >> 16) + (s & 0xFFFF)
    return ~(s + (s >> 16)) & 0xFFFF


def build(path: Path, connections: int) -> None:
    """An Ethernet pcap: one SYN (MSS 1460) per connection, from 198.18.x.y:port."""
    rec = struct.Struct("<IIII")
    eth = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00"
    with path.open("wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i in range(connections):
            src = bytes([198, 18, 16 + (i >> 16) % 240, (i >> 8) & 0xFF])
            sport = 1024 + (i & 0xFF) * 250 + (i >> 8) % 250
            ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 44, i & 0xFFFF, 0x4000, 64,
                                       6, 0, src, PROXY))
            ip[10:12] = _checksum(bytes(ip)).to_bytes(2, "big")
            tcp = struct.pack("!HHIIBBHHH", sport, PROXY_PORT, (i * 2654435761) & 0xFFFFFFFF,
                              0, 0x60, 0x02, 64240, 0, 0) + b"\x02\x04\x05\xb4"
            frame = eth + bytes(ip) + tcp
            ts = 1_700_000_000 + i * 1e-5
            sec = int(ts)
            f.write(rec.pack(sec, int((ts - sec) * 1e6), len(frame), len(frame)))
            f.write(frame)


def run(cap: Path, extra: list[str]) -> tuple[float, int, int, str]:
    """(wall seconds, peak RSS KiB, exit status, the shed note) of one analyze run."""
    report = cap.with_suffix(".json")
    t0 = time.monotonic()
    with cap.open("rb") as stdin, report.open("wb") as stdout:
        proc = subprocess.Popen([sys.executable, "-m", "pathprobe", "analyze", "-", "--port",
                                 str(PROXY_PORT), "--json", *extra],
                                stdin=stdin, stdout=stdout, stderr=subprocess.DEVNULL)
        _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - t0
    note = "no note on connections judged early"
    try:
        notes = json.loads(report.read_bytes()).get("notes", [])
        shed = [n for n in notes if "judged early" in n]
        if shed:
            note = shed[0]
    except ValueError:
        note = "no JSON report"
    return wall, usage.ru_maxrss, os.waitstatus_to_exitcode(status), note


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--connections", type=int, default=1_000_000)
    ap.add_argument("--cap", type=int, action="append", default=[],
                    help="also run with --max-connections CAP (repeatable)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="pathprobe-bench-mem-") as tmp:
        cap = Path(tmp) / "syn-only.pcap"
        t0 = time.monotonic()
        build(cap, args.connections)
        print(f"built {cap.name}: {args.connections} SYN-only connections, "
              f"{cap.stat().st_size / 1e6:.0f} MB in {time.monotonic() - t0:.1f} s")
        worst = 0
        for extra in [[]] + [["--max-connections", str(n)] for n in args.cap]:
            wall, peak, code, note = run(cap, extra)
            label = " ".join(extra) or "default --max-connections"
            print(f"  {label}: {wall:.1f} s, peak {peak / 1024:.1f} MiB, exit {code}; "
                  f"notes: {note}")
            if not extra:
                worst = peak
        verdict = "within" if worst / 1024 <= TARGET_MIB else "ABOVE"
        print(f"default cap: peak {worst / 1024:.1f} MiB, {verdict} the {TARGET_MIB} MB target")
    return 0


if __name__ == "__main__":
    sys.exit(main())
