"""The library API against the real lab: ``from pathprobe import diagnose`` returns the
typed report the command line renders (run in the fmc namespace, as a script would)."""

from __future__ import annotations

import json
import sys

from tests.conftest import Lab

SCRIPT = """
import json
import sys
from pathprobe import diagnose
from pathprobe.model import Leg, Report, VerdictCode
r = diagnose("upstream.pathprobe.test:443", proxy="http://198.18.2.2:3128")
assert isinstance(r, Report)
print(json.dumps([[v.code.value, v.leg.value, v.direction.value if v.direction else None,
                   v.limit.mtu if v.limit else None] for v in r.verdicts]))
"""


def test_diagnose_from_python_finds_the_leg1_black_hole(lab: Lab) -> None:
    lab.up("blackhole")
    r = lab.run([sys.executable, "-c", SCRIPT], timeout=60)
    assert r.returncode == 0, r.stderr[-2000:]
    found = json.loads(r.stdout)
    assert ["PMTU_BLACKHOLE", "fmc-proxy", "both", 1372] in found, found
    assert not any(code == "HEALTHY" and leg == "fmc-proxy" for code, leg, _d, _m in found)
