"""`pathprobe pmtu` against the real lab: kernels, nftables, squid. Root and unprivileged.

Each test brings up one scenario and runs the CLI inside the fmc namespace,
with several sizes per fault kind so that no single magic number passes.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

import jsonschema
import pytest

from pathprobe.schema import load_schema
from tests.conftest import UNPRIVILEGED, Lab, cli_env
from tests.loopback import loopback_script

PROXY4, PROXY6 = "198.18.2.2", "2001:db8:2::2"
NO_RAW = ["setpriv", "--bounding-set=-net_raw", "--inh-caps=-net_raw"]


def pmtu(lab: Lab, *args: str, no_raw: bool = False, user: str | None = None,
         expect: int | None = 1) -> dict[str, Any]:
    """Run `pathprobe pmtu ARGS --json -q` in fmc; return the JSON (checks the exit status)."""
    argv = [sys.executable, "-m", "pathprobe", "pmtu", *args, "--json", "-q"]
    if no_raw:
        argv = [*NO_RAW, *argv]
    t0 = time.monotonic()
    proc = lab.run(argv, user=user, timeout=60)
    wall = time.monotonic() - t0
    assert "Traceback" not in proc.stderr, proc.stderr
    if expect is not None:
        assert proc.returncode == expect, (proc.returncode, proc.stdout, proc.stderr)
    out: dict[str, Any] = json.loads(proc.stdout) if proc.stdout.strip() else {}
    if out:
        jsonschema.validate(out, load_schema())   # every report follows `pathprobe schema`
    out["_wall"] = wall
    out["_stderr"] = proc.stderr
    out["_rc"] = proc.returncode
    return out


def leg(out: dict[str, Any]) -> dict[str, Any]:
    legs: list[dict[str, Any]] = out["legs"]
    assert len(legs) == 1
    return legs[0]


def verdict(out: dict[str, Any]) -> dict[str, Any]:
    vs: list[dict[str, Any]] = out["verdicts"]
    assert len(vs) == 1, vs
    assert vs[0]["evidence"], "every verdict carries evidence"
    return vs[0]


def flush_route_cache(lab: Lab) -> None:
    """Forget PMTUs learned by earlier runs, so each run measures from scratch."""
    for fam in ("-4", "-6"):
        subprocess.run(["ip", "-n", lab.ns("fmc"), fam, "route", "flush", "cache"],
                       check=False, capture_output=True)


@pytest.mark.parametrize("mtu", [1400, 1333])
def test_mtu_with_icmp_is_exact_and_reduced(lab: Lab, mtu: int) -> None:
    lab.up("mtu", param=mtu)
    for target in (PROXY4, PROXY6):
        flush_route_cache(lab)
        # PMTU reduced with working PMTUD is information (severity info): exit 0.
        out = pmtu(lab, target, "--leg", "fmc-proxy", expect=0)
        lg, v = leg(out), verdict(out)
        assert (lg["pmtu"], lg["pmtu_exact"], lg["pmtu_method"]) == (mtu, True, "icmp")
        assert lg["interface_mtu"] == 1500 and lg["interface"] == "to-r1"
        assert lg["route_pmtu"] == mtu  # the kernel learned it from the same ICMP
        assert lg["name"] == "fmc-proxy" and lg["target"] == target
        assert (v["code"], v["mtu"], v["icmp_mtu"], v["direction"]) == (
            "PMTU_REDUCED", mtu, mtu, "up")
        assert (v["confidence"], v["severity"], v["basis"]) == (
            "measured", "info", "this-leg-only")
        assert lg["probes"] <= 100 and lg["rounds"] <= 4


def test_mtu_with_icmp_filtered_is_a_black_hole(lab: Lab) -> None:
    lab.up("mtu-noicmp", param=1420)
    for target in (PROXY4, PROXY6):
        out = pmtu(lab, target)
        lg, v = leg(out), verdict(out)
        assert (lg["pmtu"], lg["pmtu_exact"]) == (1420, True)
        assert (v["code"], v["mtu"], v["smallest_failing"]) == ("PMTU_BLACKHOLE", 1420, 1421)
        assert (v["severity"], v["limit_exact"]) == ("critical", True)
        assert lg["route_pmtu"] == 1500  # no ICMP ever reached the kernel


@pytest.mark.parametrize("size", [1372, 1291])
def test_black_hole_root_fast_and_exact(lab: Lab, size: int) -> None:
    lab.up("blackhole", param=size)
    out = pmtu(lab, PROXY4)
    lg, v = leg(out), verdict(out)
    assert (lg["pmtu"], lg["pmtu_exact"], v["code"]) == (size, True, "PMTU_BLACKHOLE")
    assert v["confidence"] == "measured"
    assert out["_wall"] < 4.0  # the bench holds the 2 s line; CI machines vary
    out6 = pmtu(lab, PROXY6)
    assert (leg(out6)["pmtu"], verdict(out6)["code"]) == (size, "PMTU_BLACKHOLE")


def test_black_hole_direction_both_ways_and_unprivileged(lab: Lab) -> None:
    lab.up("blackhole", param=1350)
    # With an up-only method available, auto checks the direction: the limit is up, and
    # the way down, measured on its own (our advertised MSS), stops at the same size.
    out = pmtu(lab, PROXY4, "--port", "3128")
    lg, v = leg(out), verdict(out)
    assert (lg["pmtu"], lg["pmtu_up"], lg["pmtu_down"], v["direction"]) == (
        1350, 1350, 1350, "both")
    assert [f["fact"] for f in v["facts"] if f["fact"] in ("limit-both", "down-search")] == [
        "limit-both", "down-search"]
    # Without CAP_NET_RAW (ping sockets are off in the lab): TCP to the open proxy port.
    out = pmtu(lab, PROXY4, "--port", "3128", no_raw=True)
    lg, v = leg(out), verdict(out)
    assert (lg["pmtu"], lg["pmtu_method"], lg["pmtu_exact"]) == (1350, "tcp", True)
    assert (v["code"], v["direction"]) == ("PMTU_BLACKHOLE", "up")
    assert any("ping_group_range" in n for n in lg["notes"])
    out = pmtu(lab, PROXY6, "--method", "tcp", "--port", "3128", no_raw=True)
    assert (leg(out)["pmtu"], verdict(out)["code"]) == (1350, "PMTU_BLACKHOLE")


def test_up_only_black_hole_says_what_the_way_down_carries(lab: Lab) -> None:
    lab.up("blackhole", param=1350, direction="up")
    out = pmtu(lab, PROXY4, "--port", "3128")
    lg, v = leg(out), verdict(out)
    assert (lg["pmtu"], lg["pmtu_up"], lg["pmtu_down"]) == (1350, 1350, 1500)
    assert (v["code"], v["direction"], v["mtu"]) == ("PMTU_BLACKHOLE", "up", 1350)


@pytest.mark.parametrize("size", [1300, 1444])
def test_down_only_black_hole_reports_direction(lab: Lab, size: int) -> None:
    lab.up("blackhole", param=size, direction="down")
    out = pmtu(lab, PROXY4, "--port", "3128")
    lg, v = leg(out), verdict(out)
    assert (lg["pmtu"], lg["pmtu_down"], lg["pmtu_up"]) == (size, size, 1500)
    assert (v["code"], v["direction"]) == ("PMTU_BLACKHOLE", "down")
    # An up-only method alone sees a healthy path (and says it measured up only).
    out = pmtu(lab, PROXY4, "--method", "tcp", "--port", "3128", expect=0)
    assert (leg(out)["pmtu"], verdict(out)["code"], verdict(out)["direction"]) == (
        1500, "HEALTHY", "up")


def test_unprivileged_udp_and_tcp_on_icmp_path(lab: Lab) -> None:
    lab.up("mtu", param=1410)
    flush_route_cache(lab)
    out = pmtu(lab, PROXY4, no_raw=True, expect=0)  # auto -> udp (no port given)
    lg, v = leg(out), verdict(out)
    assert (lg["pmtu"], lg["pmtu_method"], v["code"]) == (1410, "udp", "PMTU_REDUCED")
    flush_route_cache(lab)
    out = pmtu(lab, PROXY6, "--method", "tcp", "--port", "3128", no_raw=True, expect=0)
    lg, v = leg(out), verdict(out)
    assert (lg["pmtu"], lg["pmtu_method"], v["code"]) == (1410, "tcp", "PMTU_REDUCED")


def test_healthy_path(lab: Lab) -> None:
    lab.up("healthy")
    out = pmtu(lab, PROXY4, "--port", "3128", expect=0)
    lg, v = leg(out), verdict(out)
    assert (lg["pmtu"], lg["pmtu_exact"], v["code"], v["direction"]) == (
        1500, True, "HEALTHY", "both")
    assert lg["rounds"] == 1


def test_silent_target_cannot_be_measured(lab: Lab) -> None:
    lab.up("healthy")
    # Nobody holds 198.18.2.99: nothing answers, which must never read as a black hole.
    # Could not measure is a result: exit 3, the reason in the report's errors, no verdict.
    out = pmtu(lab, "198.18.2.99", "--method", "icmp", expect=3)
    why = " ".join(out["errors"])
    assert "answered no probe" in why or "never answered" in why
    assert not out["verdicts"]
    out = pmtu(lab, PROXY4, "--method", "tcp", "--port", "9", no_raw=True, expect=3)
    assert "not open" in " ".join(out["errors"])


def test_bad_input_is_a_usage_error(lab: Lab) -> None:
    lab.up("healthy")
    for args in (["--method", "bogus", PROXY4], ["--port", "0", PROXY4],
                 [PROXY4, "-4", "-6"], ["--method", "tcp", PROXY4]):
        out = pmtu(lab, *args, expect=2)
        assert "Traceback" not in out["_stderr"]


def test_as_nobody(lab: Lab, unprivileged_ok: None) -> None:
    """The issue's unprivileged run: setpriv to nobody (needs a world-readable interpreter)."""
    lab.up("blackhole", param=1380)
    out = pmtu(lab, PROXY4, "--port", "3128", user="nobody")
    assert (leg(out)["pmtu"], leg(out)["pmtu_method"]) == (1380, "tcp")


def test_hops_names_the_router(lab: Lab) -> None:
    lab.up("blackhole", param=1320)
    for target, r1 in ((PROXY4, "198.18.1.1"), (PROXY6, "2001:db8:1::1")):
        lg = leg(pmtu(lab, target, "--hops"))
        assert (lg["pmtu"], lg["hop"]) == (1320, r1)
        assert any("vanish after it" in n for n in lg["notes"])
    lab.up("mtu", param=1390)
    flush_route_cache(lab)
    lg = leg(pmtu(lab, PROXY4, "--hops", expect=0))
    assert (lg["pmtu"], lg["hop"]) == (1390, "198.18.1.1")
    assert any("sent the ICMP too-big" in n for n in lg["notes"])


def test_target_that_drops_icmp_echo(lab: Lab) -> None:
    """Auto falls back to TCP; root SYN probes work to a closed port too."""
    lab.up("blackhole", param=1400)
    rules = ("table inet pptest {\n chain input {\n  type filter hook input priority 0;\n"
             "  icmp type echo-request drop\n  icmpv6 type echo-request drop\n }\n}\n")
    subprocess.run(["ip", "netns", "exec", lab.ns("proxy"), "nft", "-f", "-"], input=rules,
                   text=True, check=True)
    out = pmtu(lab, PROXY4, "--port", "3128")
    lg = leg(out)
    assert (lg["pmtu"], lg["pmtu_method"], verdict(out)["code"]) == (1400, "tcp",
                                                                     "PMTU_BLACKHOLE")
    assert any(n.startswith("not used: icmp") for n in lg["notes"])
    for target in (PROXY4, PROXY6):
        out = pmtu(lab, target, "--method", "syn", "--port", "81")  # closed: RSTs answer
        lg = leg(out)
        assert (lg["pmtu"], lg["pmtu_method"], lg["pmtu_exact"]) == (1400, "syn", True)
        assert verdict(out)["direction"] == "up"
    out = pmtu(lab, PROXY4, "--method", "syn", "--port", "81", no_raw=True, expect=3)
    assert "root" in " ".join(out["errors"]) and not out["verdicts"]


def test_unprivileged_udp_black_hole_is_exact_but_paced(lab: Lab) -> None:
    """Port unreachable is rate-limited (burst 6, then 1/s): slower, still exact."""
    lab.up("blackhole", param=1336)
    out = pmtu(lab, PROXY4, "--method", "udp", no_raw=True)
    lg, v = leg(out), verdict(out)
    assert (lg["pmtu"], lg["pmtu_exact"], lg["pmtu_method"]) == (1336, True, "udp")
    assert (v["code"], v["direction"]) == ("PMTU_BLACKHOLE", "up")
    assert out["_wall"] < 45


def test_unprivileged_ping_socket_when_allowed(lab: Lab) -> None:
    """Where ping_group_range allows it, auto uses an ICMP ping socket without root."""
    lab.up("mtu", param=1388)
    subprocess.run(["ip", "netns", "exec", lab.ns("fmc"), "sysctl", "-qw",
                    "net.ipv4.ping_group_range=0 2147483647"], check=True)
    for target in (PROXY4, PROXY6):
        flush_route_cache(lab)
        lg = leg(pmtu(lab, target, no_raw=True, expect=0))
        assert (lg["pmtu"], lg["pmtu_method"], lg["pmtu_exact"]) == (1388, "icmp", True)
        assert "method: unprivileged ICMP ping socket" in lg["notes"]


LOOPBACK_PMTU = loopback_script("""
from pathprobe.model import Leg
from pathprobe.pmtu import measure_pmtu
out = []
for method in ("auto", "tcp"):
    m = measure_pmtu("127.0.0.1", leg=Leg.FMC_PROXY, method=method, port=PORT)
    out.append({"codes": [v.code.value for v in m.verdicts],
                "unmeasured": [u.reason.value for u in m.unmeasured],
                "mtu": [v.limit.mtu for v in m.verdicts if v.limit]})
print(json.dumps(out))
""")


@pytest.mark.parametrize("user", [None, "nobody"], ids=["root", "nobody"])
def test_loopback_is_not_reduced(user: str | None, unprivileged_ok: None) -> None:
    """Issue 15 item 8: lo's interface MTU 65536 vs route MTU 65535 is no PMTU_REDUCED."""
    argv = [sys.executable, "-c", LOOPBACK_PMTU]
    if user is not None:
        argv = [*UNPRIVILEGED, *argv]
    r = subprocess.run(argv, capture_output=True, text=True, env=cli_env(), cwd="/",
                       timeout=60, check=False)
    assert r.returncode == 0, r.stderr
    runs = json.loads(r.stdout)
    for run in runs:
        assert "PMTU_REDUCED" not in run["codes"], run
        assert run["codes"] in (["HEALTHY"], []) and (run["codes"] or run["unmeasured"]), run
    if user is None:   # root: raw ICMP echo carries 65535 bytes on lo
        assert (runs[0]["codes"], runs[0]["mtu"]) == (["HEALTHY"], [65535])
