"""`pathprobe analyze` on captures recorded fresh in the lab, as an engineer would on an
FMC: tcpdump on the fmc's interface (leg 1 only) while curl goes through squid."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import jsonschema
import pytest

from pathprobe.lab import topology as topo
from pathprobe.schema import load_schema
from tests.conftest import Lab

URL = f"https://{topo.UPSTREAM_NAME}"
PROXY_V6_URL = f"http://[{topo.PROXY_V6}]:{topo.PROXY_PORT}"


CAPTURE_DRAIN_S = 0.3      # time tcpdump gets to write what it was given before SIGINT


@contextmanager
def tcpdump(lab: Lab, out: Path, snaplen: int = 400, node: str = "fmc",
            iface: str = "to-r1") -> Iterator[None]:
    """Capture on a node's interface (the fmc's towards r1) for the duration of the block."""
    proc = subprocess.Popen(
        ["ip", "netns", "exec", lab.ns(node), "tcpdump", "-i", iface, "--immediate-mode",
         "-U", "-Z", "root", "-n", "-s", str(snaplen), "-w", str(out), "tcp or icmp or icmp6"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        line = ""
        for _ in range(5):     # "-i any" first says which link type it uses
            line = proc.stderr.readline()
            if "listening" in line or not line:
                break
        assert "listening" in line, line
        yield
    finally:
        # (tcpdump stops reading at SIGINT: what the kernel still holds for it, an ICMP
        # answer that came last, would be lost on a loaded machine)
        time.sleep(CAPTURE_DRAIN_S)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)


def upload(tmp_path: Path) -> Path:
    path = tmp_path / "upload.bin"
    path.write_bytes(os.urandom(30000))
    return path


def curl(lab: Lab, *args: str, proxy: str = topo.PROXY_URL, max_time: int = 4) -> None:
    lab.run(["curl", "-sk", "-o", "/dev/null", "--max-time", str(max_time), "-x", proxy,
             *args], timeout=max_time + 10)


def analyze(lab: Lab, capture: Path, *extra: str) -> tuple[int, dict[str, object]]:
    r = lab.cli("analyze", str(capture), "--json", *extra)
    assert r.returncode in (0, 1), r.stderr
    doc = json.loads(r.stdout)
    jsonschema.validate(doc, load_schema())   # every report follows `pathprobe schema`
    return r.returncode, doc


def verdicts(doc: dict[str, object]) -> list[dict[str, object]]:
    out = doc["verdicts"]
    assert isinstance(out, list)
    return out


def by_code(doc: dict[str, object], code: str) -> dict[str, object]:
    found = [v for v in verdicts(doc) if v["code"] == code]
    assert len(found) == 1, [v["code"] for v in verdicts(doc)]
    return found[0]


def test_article_scenario_clamp_and_leg2_black_hole(lab: Lab, tmp_path: Path) -> None:
    """MSS clamped to 1300 on leg 1, 1400-byte black hole on leg 2 (upload)."""
    lab.up("article")
    cap = tmp_path / "article.pcap"
    with tcpdump(lab, cap):
        curl(lab, "--data-binary", f"@{upload(tmp_path)}", f"{URL}/upload")
    status, doc = analyze(lab, cap)
    assert status == 1
    assert sorted(str(v["code"]) for v in verdicts(doc)) == ["MSS_CLAMPED", "TUNNEL_STALL"]
    clamp = by_code(doc, "MSS_CLAMPED")
    assert (clamp["mss_sent"], clamp["mss_received"]) == (1460, 1300)
    stall = by_code(doc, "TUNNEL_STALL")
    # Seen from the FMC, leg 1 delivered everything: blame beyond the proxy, inferred.
    assert stall["leg"] == "proxy-upstream" and stall["confidence"] == "inferred"
    assert stall["direction"] == "up" and stall["severity"] == "critical"
    assert "leg1-all-acked" in [f["fact"] for f in stall["facts"]]
    assert not any(v["code"] == "PMTU_BLACKHOLE" for v in verdicts(doc))


def test_rst_on_large_segment_from_a_fresh_capture(lab: Lab, tmp_path: Path) -> None:
    lab.up("rst", param=1300)
    cap = tmp_path / "rst.pcap"
    with tcpdump(lab, cap):
        curl(lab, "--data-binary", f"@{upload(tmp_path)}", f"{URL}/upload")
    status, doc = analyze(lab, cap)
    assert status == 1
    v = by_code(doc, "RST_ON_LARGE_SEGMENT")
    high = v["pmtu_high"]                  # one byte below the smallest packet reset
    assert isinstance(high, int) and high >= 1300          # only packets above 1300 are reset
    low = v.get("pmtu_low")
    assert low is None or (isinstance(low, int) and low <= 1300)   # proven, never guessed
    assert v["direction"] == "up" and v["leg"] == "fmc-proxy" and v["basis"] == "capture-point"
    frames = [f for fact in v["facts"] for f in fact.get("frames", [])]
    assert frames and all(f"frame {n}" in " ".join(v["evidence"]) for n in frames[:2])


def test_ipv6_packet_too_big_is_pmtu_reduced(lab: Lab, tmp_path: Path) -> None:
    lab.up("mtu", param=1400)
    cap = tmp_path / "mtu6.pcap"
    with tcpdump(lab, cap):
        curl(lab, "--data-binary", f"@{upload(tmp_path)}", f"{URL}/upload",
             proxy=PROXY_V6_URL)
    status, doc = analyze(lab, cap)
    v = by_code(doc, "PMTU_REDUCED")
    assert v["mtu"] == 1400 and v["limit_exact"] is True and v["direction"] == "up"
    # PMTUD works (the 1400-byte packets were acknowledged): harmless, exit 0.
    assert v["severity"] == "info" and status == 0
    assert "pmtud-works" in [f["fact"] for f in v["facts"]]
    assert str(v["router"]).startswith("2001:db8:1::")
    assert "icmpv6.type==2" in str(v["wireshark_filter"])


def test_healthy_capture_with_filters_and_text_output(lab: Lab, tmp_path: Path) -> None:
    lab.up("healthy")
    cap = tmp_path / "healthy.pcap"
    with tcpdump(lab, cap):
        curl(lab, f"{URL}/bytes/20000")
    status, doc = analyze(lab, cap, "--proxy", f"{topo.PROXY_V4}:{topo.PROXY_PORT}")
    assert status == 0 and [v["code"] for v in verdicts(doc)] == ["HEALTHY"]
    legs = doc["legs"]
    assert isinstance(legs, list) and len(legs) == 1
    assert legs[0]["status"] == 200 and legs[0]["tls"] == "hello+server"
    text = lab.cli("analyze", str(cap), "--format", "github")
    assert text.returncode == 0 and "| fmc-proxy" in text.stdout


@pytest.mark.parametrize("args", [("--port", "1"), ("--host", "198.18.9.9")])
def test_nothing_matching_is_exit_3(lab: Lab, tmp_path: Path, args: Sequence[str]) -> None:
    """Filters narrow the view; one that leaves nothing leaves nothing to analyse."""
    cap = Path(__file__).resolve().parents[1] / "fixtures" / "captures" / "healthy.pcap"
    r = lab.cli("analyze", str(cap), *args)
    assert r.returncode == 3 and r.stderr.count("\n") == 1


def test_capture_on_the_proxy_joins_both_legs_for_connect_and_plain_http(
        lab: Lab, tmp_path: Path) -> None:
    """tcpdump -i any on the squid box, while the FMC fetches over CONNECT and over plain
    HTTP (absolute-form GET): each FMC request on leg 1 is joined to squid's own
    connection to the upstream on leg 2, each leg with its own MSS and segment sizes."""
    lab.up("healthy")
    cap = tmp_path / "proxy.pcap"
    with tcpdump(lab, cap, node="proxy", iface="any"):
        curl(lab, f"{URL}/bytes/20000")
        curl(lab, f"http://{topo.UPSTREAM_NAME}/bytes/20000")
    status, doc = analyze(lab, cap)
    assert status == 0 and [v["code"] for v in verdicts(doc)] == ["HEALTHY"], verdicts(doc)
    legs = doc["legs"]
    assert isinstance(legs, list)
    leg1 = [r for r in legs if r["name"] == "fmc-proxy"]
    leg2 = [r for r in legs if r["name"] == "proxy-upstream"]
    assert sorted(str(r["target"]).split(" ")[0] for r in leg1) == [
        "GET", f"{topo.UPSTREAM_NAME}:443"]
    assert len(leg2) == 2 and all(f"for {topo.FMC_V4}:" in str(r["target"]) for r in leg2)
    assert all(str(r["target"]).startswith(topo.UPSTREAM_NAME) for r in leg2)
    for r in leg1 + leg2:
        assert isinstance(r["mss_sent"], int) and isinstance(r["max_seg_down"], int)
    assert any("captured on the proxy: 2 connection(s)" in str(n) for n in doc["notes"])


def test_proxy_side_capture_of_a_leg2_clamp_blames_leg2(lab: Lab, tmp_path: Path) -> None:
    """The MSS clamp on leg 2 shows on the proxy's own connection, not on the FMC's."""
    lab.up("clamp", leg=2)
    cap = tmp_path / "proxy-clamp.pcap"
    with tcpdump(lab, cap, node="proxy", iface="any"):
        curl(lab, f"http://{topo.UPSTREAM_NAME}/bytes/20000")
    _status, doc = analyze(lab, cap, "--port", "3128", "--port", "80")
    v = by_code(doc, "MSS_CLAMPED")
    assert v["leg"] == "proxy-upstream"
    rows = {str(r["name"]) for r in doc["legs"]}   # with --port: still both legs, not "direct"
    assert rows == {"fmc-proxy", "proxy-upstream"}


def test_plain_http_through_squid_asking_for_credentials(lab: Lab, tmp_path: Path) -> None:
    """The FMC fetches http://... through squid (absolute-form GET, no CONNECT) and squid
    wants Basic credentials: a proxied session with the proxy's refusal, from the capture."""
    lab.up("auth-basic")
    cap = tmp_path / "plain-407.pcap"
    with tcpdump(lab, cap):
        curl(lab, f"http://{topo.UPSTREAM_NAME}/bytes/2000")
    status, doc = analyze(lab, cap)
    v = by_code(doc, "PROXY_AUTH_REQUIRED")
    assert status == 1 and v["leg"] == "fmc-proxy" and v["schemes"] == "basic"
    assert any(f"GET http://{topo.UPSTREAM_NAME}:80/..." in str(e) for e in v["evidence"])
    (row,) = doc["legs"]
    assert row["name"] == "fmc-proxy" and row["status"] == 407


PQ_CLIENT = """
import socket
from pathprobe.lab import topology as topo
from pathprobe.wire.tls import pq_client_hello
s = socket.create_connection((topo.PROXY_V4, topo.PROXY_PORT), timeout=5)
s.sendall(b"CONNECT %s:443 HTTP/1.1\\r\\n\\r\\n" % topo.UPSTREAM_NAME.encode())
head = b""
while b"\\r\\n\\r\\n" not in head:
    head += s.recv(4096)
s.sendall(pq_client_hello(topo.UPSTREAM_NAME))   # ~1.8 KB: two segments
s.settimeout(4)
try:
    print("answered" if s.recv(4096) else "closed")
except OSError:
    print("silence")
s.close()
"""


@pytest.mark.parametrize(("scenario", "how"), [("hello-drop", "drop"),
                                               ("hello-rst", "reset")])
def test_a_post_quantum_hello_dropped_on_leg2_is_no_mtu_in_the_capture(
        lab: Lab, tmp_path: Path, scenario: str, how: str) -> None:
    """Issue 19 item 4 on the lab's hello-inspecting middlebox: an upload crosses with
    full-size segments, then a post-quantum hello through a new tunnel is acknowledged by
    squid and never answered (or reset): TLS_HELLO_DROPPED from the FMC's capture."""
    lab.up(scenario)
    cap = tmp_path / "hello.pcap"
    with tcpdump(lab, cap):
        curl(lab, "--data-binary", f"@{upload(tmp_path)}", f"{URL}/upload")
        r = lab.run([sys.executable, "-c", PQ_CLIENT], timeout=30)
        assert r.returncode == 0 and r.stdout.strip() in ("closed", "silence"), r
    status, doc = analyze(lab, cap)
    assert status == 1 and [v["code"] for v in verdicts(doc)] == ["TLS_HELLO_DROPPED"]
    v = by_code(doc, "TLS_HELLO_DROPPED")
    assert (v["leg"], v["direction"], v["how"]) == ("proxy-upstream", "up", how)
    assert isinstance(v["hello_dropped_from"], int) and v["hello_dropped_from"] > 1500
    assert v["segment_crossed"] == 1448 and isinstance(v["hello_max"], int)
    assert not any(str(r["command"]).startswith(("sysopt", "ip link", "ip route"))
                   for r in doc["recommendations"])


PING_SIZES = (1200, 1400, 1428, 1500, 1200)    # IP packet sizes, in this order


def ping_sweep(lab: Lab, capture: Path, v6: bool = False) -> str:
    """Real DF pings of PING_SIZES from the fmc to the proxy (across r1), twice each,
    captured on the fmc; a size that fails (lost, or refused locally once the kernel
    learned the MTU) does not stop the sweep. Returns what the terminal showed: each
    command line at a prompt, and ping's output (stdout, then stderr)."""
    target, headers = (topo.PROXY_V6, 48) if v6 else (topo.PROXY_V4, 28)
    shown = []
    with tcpdump(lab, capture, snaplen=200):
        for size in PING_SIZES:
            argv = ["ping", "-6" if v6 else "-4", "-n", "-M", "do", "-s", str(size - headers),
                    "-c", "2", "-i", "0.2", "-W", "1", target]
            r = lab.run(argv, timeout=15)
            shown.append(f"[admin@fmc ~]$ {shlex.join(argv)}\n{r.stdout}{r.stderr}")
    return "".join(shown)


def text_forms(capture: Path) -> dict[str, Path]:
    """The capture as the real tools print it: tcpdump -n, tcpdump -n -v, tshark."""
    out = {}
    for form, argv in (("tcpdump-n", ["tcpdump", "-n", "-r"]),
                       ("tcpdump-v", ["tcpdump", "-n", "-v", "-r"]),
                       ("tshark", ["tshark", "-n", "-r"])):
        text = subprocess.run([*argv, str(capture)], capture_output=True, text=True, check=True,
                              timeout=60, env={**os.environ, "TZ": "UTC"}).stdout
        assert text.count("\n") >= 4, (form, text)
        out[form] = capture.with_name(f"{capture.stem}.{form}.txt")
        out[form].write_text(text)
    return out


@pytest.mark.parametrize("scenario", ["mtu", "mtu-noicmp", "mtu-v6"])
def test_a_ping_sweep_pasted_as_text_reads_as_its_capture(lab: Lab, tmp_path: Path,
                                                          scenario: str) -> None:
    """Real pings (ping -M do) across r1's 1400-byte link: with frag-needed ('mtu') the path
    MTU is 1400, exact where a 1400-byte DF ping came back; with frag-needed filtered
    ('mtu-noicmp') the pings above 1400 vanish: a black hole between 1400 and 1427. The
    capture, tcpdump -v and tshark -V show DF; tcpdump -n and tshark's rows do not, and
    say so (the same bounds, the black hole inferred, no lower bound from the pings). The
    ping program's own output, pasted with its command lines, gives the capture's verdict."""
    v6 = scenario.endswith("-v6")
    lab.up(scenario.removesuffix("-v6"))
    cap = tmp_path / f"{scenario}.pcap"
    terminal = tmp_path / f"{scenario}.ping-output.txt"
    terminal.write_text(ping_sweep(lab, cap, v6))
    for form, path in {"pcap": cap, **text_forms(cap), "ping-output": terminal}.items():
        status, doc = analyze(lab, path)
        codes = [v["code"] for v in verdicts(doc)]
        shows_df = form in ("pcap", "tcpdump-v", "ping-output")   # (-M do on its command line)
        if v6:    # (an IPv6 ping is never fragmented on the way: every form shows its size)
            v = by_code(doc, "PMTU_REDUCED")
            assert str(v["router"]).startswith("2001:db8:1::"), (form, v)
            if form == "tshark":         # a row shows no MTU: below the ping it answered
                assert (v["confidence"], v["pmtu_low"], v["pmtu_high"]) == (
                    "inferred", 1400, 1427), (form, v)
            else:
                assert (v.get("mtu"), v["confidence"], status) == (1400, "measured", 0), form
        elif scenario == "mtu":
            v = by_code(doc, "PMTU_REDUCED")
            assert str(v["router"]) == topo.R1_V4, (form, v)
            if shows_df:
                assert (v.get("mtu"), v["confidence"], status) == (1400, "measured", 0), form
            elif form == "tcpdump-n":    # the quote assumed, the 1400-byte ping's DF unknown
                assert (v.get("mtu"), v.get("pmtu_low"), v["pmtu_high"]) == (None, None, 1400)
            else:                        # a row shows no MTU: below the ping it answered
                assert v["confidence"] == "inferred" and v["pmtu_high"] == 1427, (form, v)
        else:
            assert codes == ["PMTU_BLACKHOLE"], (form, codes)
            v = by_code(doc, "PMTU_BLACKHOLE")
            assert (v["pmtu_low"], v["pmtu_high"], status) == (1400, 1427, 1), (form, v)
            assert v["confidence"] == ("measured" if shows_df else "inferred"), (form, v)
