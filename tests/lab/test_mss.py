"""`pathprobe mss` against the real lab: squid on 198.18.2.2:3128 behind r1, with
nft clamps, resets and drops on leg 1. Each case runs the CLI in the fmc
namespace as root and without privileges.

"Unprivileged" here is root with an empty capability bounding set (setpriv):
no CAP_NET_RAW, no CAP_NET_ADMIN, exactly what the network code checks, and
it can still run this checkout's interpreter (user nobody cannot reach a
Python under /root). Each run asserts that the unprivileged method was used.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import jsonschema
import pytest

from pathprobe.lab import topology as topo
from pathprobe.schema import load_schema
from tests.conftest import UNPRIVILEGED, Lab, cli_env
from tests.loopback import loopback_script

PROXY = f"{topo.PROXY_V4}:3128"
PROXY6 = f"[{topo.PROXY_V6}]:3128"
NO_CAPS = ["setpriv", "--bounding-set=-all", "--inh-caps=-all", "--"]


LOOPBACK_MSS = loopback_script("""
from pathprobe.model import Leg
from pathprobe.mss import measure_mss
m = measure_mss("127.0.0.1", PORT, leg=Leg.FMC_PROXY, peer_probe=False)
print(json.dumps({"codes": [v.code.value for v in m.verdicts],
                  "unmeasured": [u.reason.value for u in m.unmeasured],
                  "leg": dict(m.legs[0].measurements) if m.legs else {}}))
""")


def mss(lab: Lab, *args: str, privileged: bool = True) -> tuple[int, dict[str, Any]]:
    rc, out, _ = mss_run(lab, *args, privileged=privileged)
    return rc, out


def mss_run(lab: Lab, *args: str, privileged: bool = True) -> tuple[int, dict[str, Any], str]:
    """``mss`` plus its progress lines (each round's sizes not acknowledged, and why)."""
    argv = [sys.executable, "-m", "pathprobe", "mss", *args, "--json"]
    r = lab.run(argv if privileged else [*NO_CAPS, *argv], timeout=60)
    assert r.returncode in (0, 1, 3), r.stderr
    assert "Traceback" not in r.stderr
    out = json.loads(r.stdout)
    jsonschema.validate(out, load_schema())   # every report follows `pathprobe schema`
    leg = out["legs"][0]
    if privileged:
        assert leg["mss_method"] == "syn-ack capture"
    else:
        assert leg["mss_method"] == "tcp_info"
    return r.returncode, out, r.stderr


def route_state(lab: Lab, address: str) -> str:
    """The FMC's route to ``address`` and its route cache (where a cached PMTU shows)."""
    get = lab.run(["ip", "route", "get", address])
    cache = lab.run(["ip", "-d", "route", "show", "cache"])
    return (f"ip route get {address}: {get.stdout.strip()}\n"
            f"route cache: {cache.stdout.strip() or 'empty'}")


def verdict(out: dict[str, Any], code: str) -> dict[str, Any]:
    found = [v for v in out["verdicts"] if v["code"] == code]
    assert found, f"no {code} in {[v['code'] for v in out['verdicts']]}"
    assert found[0]["evidence"]
    return found[0]


def codes(out: dict[str, Any]) -> list[str]:
    return [v["code"] for v in out["verdicts"]]


@pytest.mark.parametrize("privileged", [True, False], ids=["root", "unprivileged"])
def test_healthy(lab: Lab, privileged: bool) -> None:
    lab.up("healthy")
    rc, out = mss(lab, PROXY, privileged=privileged)
    assert rc == 0 and codes(out) == ["HEALTHY"]
    leg = out["legs"][0]
    assert leg["name"] == "fmc-proxy" and leg["mss_sent"] == 1460
    assert leg["mss_received"] == 1460 and leg["largest_acked"] == 1500
    assert leg["max_payload"] == 1448


@pytest.mark.parametrize("clamp", [1200, 1300, 1380])
def test_clamp_values_root(lab: Lab, clamp: int) -> None:
    lab.up("clamp", param=clamp)
    rc, out, log = mss_run(lab, PROXY, "--leg", "fmc-upstream")
    assert rc == 0 and codes(out) == ["MSS_CLAMPED"]   # a clamp with traffic flowing: info
    v = verdict(out, "MSS_CLAMPED")
    assert (v["mss_sent"], v["mss_received"], v["leg"]) == (1460, clamp, "fmc-upstream")
    assert (v["ip_version"], v["basis"], v["severity"]) == (4, "this-leg-only", "info")
    # Our SYN was clamped too: the peer's reply segments show it.
    assert v["direction"] == "both" and v["mss_at_peer"] == clamp
    leg = out["legs"][0]
    # As root, segments go beyond the clamp (TCP_REPAIR): the path itself carries 1500.
    # On failure: each probe round's failures and the kernel's cached PMTU say why.
    assert leg["segment_method"] == "tcp-repair" and leg["largest_acked"] == 1500, \
        f"{leg}\n{log}{route_state(lab, topo.PROXY_V4)}"
    assert any("not by the path MTU" in e for e in v["evidence"])
    # TTL-limited SYNs: r1 quotes our SYN unchanged (it clamps on forwarding).
    assert any("198.18.1.1" in e for e in v["evidence"])


def test_clamp_root_with_late_answers(lab: Lab) -> None:
    """The MSS that TCP_REPAIR raises is in force only once the peer answers the window
    probe leaving repair mode sends: one round trip later. With r1's packets toward the
    FMC paced (their answers come late, as on any path with an RTT), segments must still
    go beyond the clamp; read at once, every size above 1340 looked like our own limit
    (and, when the answer came late once in the veth lab, 1499 instead of 1500)."""
    lab.up("clamp", param=1300)
    pace = lab.run(["tc", "qdisc", "add", "dev", topo.ifname("fmc"), "root", "tbf", "rate",
                    "200kbit", "burst", "100", "limit", "100000"], node="r1")
    assert pace.returncode == 0, pace.stderr
    # No peer probe: the pacing's 100-byte bucket drops squid's full-size reply segments.
    rc, out = mss(lab, PROXY, "--no-hops", "--no-http")
    assert rc == 0 and codes(out) == ["MSS_CLAMPED"]
    leg = out["legs"][0]
    assert leg["segment_method"] == "tcp-repair" and leg["largest_acked"] == 1500, leg


@pytest.mark.parametrize("clamp", [1220, 1300])
def test_clamp_values_unprivileged(lab: Lab, clamp: int) -> None:
    lab.up("clamp", param=clamp)
    rc, out = mss(lab, PROXY, privileged=False)
    assert rc == 0 and codes(out) == ["MSS_CLAMPED"]   # a clamp with traffic flowing: info
    v = verdict(out, "MSS_CLAMPED")
    assert (v["mss_sent"], v["mss_received"]) == (1460, clamp)
    leg = out["legs"][0]
    assert leg["segment_method"] == "negotiated-mss"
    assert leg["tested_up_to"] == clamp + 40 and leg["largest_acked"] == clamp + 40
    assert any("TCP_REPAIR" in n for n in leg["not_measured"])


@pytest.mark.parametrize("privileged", [True, False], ids=["root", "unprivileged"])
def test_clamp_up_only_seen_in_peer_segments(lab: Lab, privileged: bool) -> None:
    lab.up("clamp", param=1300, direction="up")
    rc, out = mss(lab, PROXY, privileged=privileged)
    assert rc == 0 and codes(out) == ["MSS_CLAMPED"]   # a clamp with traffic flowing: info
    v = verdict(out, "MSS_CLAMPED")
    # The SYN-ACK is untouched; squid's error page comes back in 1288-byte segments.
    assert v["direction"] == "up" and v["syn_ack_mss"] == 1460
    assert (v["mss_sent"], v["mss_received"]) == (1460, 1300)
    assert out["legs"][0]["peer_segment_max"] == 1288


def test_clamp_down_only(lab: Lab) -> None:
    lab.up("clamp", param=1280, direction="down")
    rc, out = mss(lab, PROXY)
    v = verdict(out, "MSS_CLAMPED")
    assert rc == 0 and v["direction"] == "down" and v["mss_received"] == 1280
    assert "mss_at_peer" not in v and out["legs"][0]["peer_segment_max"] == 1448


@pytest.mark.parametrize("privileged", [True, False], ids=["root", "unprivileged"])
def test_hop_located_through_the_proxy_host(lab: Lab, privileged: bool) -> None:
    # fmc -> r1 (clamps on forwarding) -> proxy host (routes) -> r2 -> upstream:443.
    # The TTL-2 SYN expires at the proxy host, whose quotation shows MSS 1300.
    lab.up("clamp", param=1300, direction="up")
    rc, out = mss(lab, f"{topo.UPSTREAM_V4}:443", "--leg", "fmc-upstream",
                  privileged=privileged)
    assert rc == 0 and codes(out) == ["MSS_CLAMPED"]   # a clamp with traffic flowing: info
    v = verdict(out, "MSS_CLAMPED")
    assert (v["hop"], v["hop_ttl"], v["direction"]) == (topo.PROXY_V4, 2, "up")
    assert v["mss_received"] == 1300 and v["syn_ack_mss"] == 1460
    assert any("between hop 1 (198.18.1.1) and hop 2" in e for e in v["evidence"])


@pytest.mark.parametrize("privileged", [True, False], ids=["root", "unprivileged"])
def test_clamp_ipv6(lab: Lab, privileged: bool) -> None:
    lab.up("clamp", param=1300)
    rc, out = mss(lab, PROXY6, privileged=privileged)
    v = verdict(out, "MSS_CLAMPED")
    assert (v["mss_sent"], v["mss_received"]) == (1440, 1300) and rc == 0
    # IPv6 + TCP + timestamps = 72 bytes per segment.
    assert out["legs"][0]["largest_acked"] == (1500 if privileged else 1300 + 60)


@pytest.mark.parametrize(("threshold", "privileged"),
                         [(1300, True), (1400, True), (1450, False), (1300, False)])
def test_rst_threshold(lab: Lab, threshold: int, privileged: bool) -> None:
    lab.up("rst", param=threshold)
    # ICMP passes at 1500 on this path: the reset is not an MTU problem.
    ping = lab.run(["ping", "-4", "-n", "-c", "1", "-W", "1", "-M", "do", "-s", "1472",
                    topo.PROXY_V4])
    assert ping.returncode == 0, ping.stdout
    rc, out = mss(lab, PROXY, privileged=privileged)
    assert rc == 1 and codes(out) == ["RST_ON_LARGE_SEGMENT"]
    v = verdict(out, "RST_ON_LARGE_SEGMENT")
    assert v["mtu"] == threshold and v["max_payload"] == threshold - 52
    assert v["smallest_reset"] == threshold + 1 and v["direction"] == "up"
    assert out["legs"][0]["rst_threshold"] == threshold


def test_clamp_plus_rst_root(lab: Lab) -> None:
    lab.up("clamp", param=1300, faults=["rst:1:up:1400"])
    rc, out = mss(lab, PROXY)
    # most severe first: the reset breaks transfers, the clamp is information
    assert rc == 1 and codes(out) == ["RST_ON_LARGE_SEGMENT", "MSS_CLAMPED"]
    assert verdict(out, "MSS_CLAMPED")["mss_received"] == 1300
    assert verdict(out, "MSS_CLAMPED")["direction"] == "both"
    assert verdict(out, "RST_ON_LARGE_SEGMENT")["mtu"] == 1400


def test_clamp_plus_rst_unprivileged_says_what_it_could_not_test(lab: Lab) -> None:
    lab.up("clamp", param=1300, faults=["rst:1:up:1400"])
    rc, out = mss(lab, PROXY, privileged=False)
    # The clamp keeps our segments at 1340 bytes, below the reset: only the clamp is seen,
    # and the report says sizes above it need root.
    assert rc == 0 and codes(out) == ["MSS_CLAMPED"]   # a clamp with traffic flowing: info
    leg = out["legs"][0]
    assert leg["tested_up_to"] == 1340
    assert any("TCP_REPAIR" in n for n in leg["not_measured"])


@pytest.mark.parametrize("privileged", [True, False], ids=["root", "unprivileged"])
def test_blackhole(lab: Lab, privileged: bool) -> None:
    lab.up("blackhole")
    rc, out = mss(lab, PROXY, privileged=privileged)
    assert rc == 1 and codes(out) == ["PMTU_BLACKHOLE"]
    v = verdict(out, "PMTU_BLACKHOLE")
    assert v["mtu"] == 1372 and v["max_payload"] == 1320
    assert out["legs"][0]["duration_s"] < 30


def test_icmp_signalled_mtu_is_not_a_reset(lab: Lab) -> None:
    lab.up("mtu", param=1400)
    rc, out = mss(lab, PROXY)
    assert rc == 0 and codes(out) == ["PMTU_REDUCED"]   # PMTUD works: info
    assert verdict(out, "PMTU_REDUCED")["mtu"] == 1400
    # Run again: the kernel now has PMTU 1400 cached and advertises MSS 1360; the
    # cached PMTU is still reported, not hidden behind a HEALTHY.
    rc, again = mss(lab, PROXY)
    v = verdict(again, "PMTU_REDUCED")
    # only the kernel's cached PMTU shows it: inferred, a warning
    assert rc == 1 and v["mtu"] == 1400 and v["confidence"] == "inferred"
    assert again["legs"][0]["mss_sent"] == 1360


def test_table_output_and_errors(lab: Lab) -> None:
    lab.up("clamp", param=1300)
    r = lab.cli("mss", PROXY)
    assert r.returncode == 0
    assert "MSS_CLAMPED" in r.stdout and "MSS 1460 -> 1300" in r.stdout
    assert "MSS clamped 1460->1300 (info)" in r.stdout
    bad = lab.cli("mss", "198.18.2.2:notaport")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "HOST:PORT" in bad.stderr
    closed = lab.cli("mss", "198.18.2.2:9")
    assert closed.returncode == 3 and "Traceback" not in closed.stderr
    assert "198.18.2.2 port 9" in closed.stdout   # could not measure: a result, in the report


def test_as_user_nobody(lab: Lab, unprivileged_ok: None) -> None:
    """The real unprivileged user, where it can run this checkout (CI)."""
    lab.up("clamp", param=1300)
    r = lab.cli("mss", PROXY, "--json", user="nobody")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["legs"][0]["mss_method"] == "tcp_info"
    assert verdict(out, "MSS_CLAMPED")["mss_received"] == 1300


@pytest.mark.parametrize("user", [None, "nobody"], ids=["root", "nobody"])
def test_loopback_is_neither_clamped_nor_reduced(user: str | None,
                                                 unprivileged_ok: None) -> None:
    """Issue 15 item 8: on lo (MTU 65536, route 65535) as nobody TCP_INFO reads MSS 32753
    (half the 65483-byte window): that is a lower bound, not MSS_CLAMPED 65495->32753."""
    argv = [sys.executable, "-c", LOOPBACK_MSS]
    if user is not None:
        argv = [*UNPRIVILEGED, *argv]
    r = subprocess.run(argv, capture_output=True, text=True, env=cli_env(), cwd="/",
                       timeout=60, check=False)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["codes"] == ["HEALTHY"] and not out["unmeasured"], out
    leg = out["leg"]
    assert leg["mss_sent"] == 65495
    if user is not None:
        assert (leg["mss_method"], leg["mss_received_exact"]) == ("tcp_info", False)
