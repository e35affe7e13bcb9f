"""`pathprobe analyze FMC.pcap PROXY.pcap` on captures recorded at two points of the lab's
leg 1 at once (issue 20 item 4): tcpdump in the fmc namespace towards r1 and in the proxy
namespace towards r1, while curl uploads through squid; nftables drops large packets
either on r1 (between the two capture points) or inside the proxy (after the proxy's
capture point: tcpdump sees a packet before netfilter drops it)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import jsonschema

from pathprobe.lab import topology as topo
from pathprobe.schema import load_schema
from tests.conftest import Lab

URL = f"https://{topo.UPSTREAM_NAME}"


@contextmanager
def tcpdump(lab: Lab, node: str, out: Path) -> Iterator[None]:
    """Capture on ``node``'s interface towards r1 for the duration of the block."""
    proc = subprocess.Popen(
        ["ip", "netns", "exec", lab.ns(node), "tcpdump", "-i", topo.ifname("r1"),
         "--immediate-mode", "-U", "-Z", "root", "-n", "-s", "400", "-w", str(out),
         "tcp or icmp"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        assert "listening" in line, line
        yield
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)


def upload_through_both(lab: Lab, tmp_path: Path) -> tuple[Path, Path]:
    body = tmp_path / "upload.bin"
    body.write_bytes(os.urandom(30000))
    fmc, proxy = tmp_path / "fmc.pcap", tmp_path / "proxy.pcap"
    with ExitStack() as stack:
        stack.enter_context(tcpdump(lab, "fmc", fmc))
        stack.enter_context(tcpdump(lab, "proxy", proxy))
        # a steady small ping through both capture points proves both were capturing
        # all along (bounded: 40 pings, 5 per second)
        ping = subprocess.Popen(["ip", "netns", "exec", lab.ns("fmc"), "ping", "-q", "-i",
                                 "0.2", "-c", "40", topo.PROXY_V4],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            lab.run(["curl", "-sk", "-o", "/dev/null", "--max-time", "4", "-x",
                     topo.PROXY_URL, "--data-binary", f"@{body}", f"{URL}/upload"], timeout=20)
            time.sleep(1.5)
        finally:
            ping.terminate()
            ping.wait(timeout=10)
    return fmc, proxy


def analyze(lab: Lab, *captures: Path) -> dict[str, object]:
    r = lab.cli("analyze", *map(str, captures), "--json")
    assert r.returncode == 1, r.stderr
    doc: dict[str, object] = json.loads(r.stdout)
    jsonschema.validate(doc, load_schema())
    return doc


def notes(doc: dict[str, object]) -> list[str]:
    out = doc["notes"]
    assert isinstance(out, list)
    return [str(n) for n in out]


def facts_of(doc: dict[str, object], code: str) -> list[str]:
    verdicts = doc["verdicts"]
    assert isinstance(verdicts, list)
    found = [v for v in verdicts if v["code"] == code]
    assert found, [v["code"] for v in verdicts]
    return [str(f["fact"]) for v in found for f in v["facts"]]


def test_drop_on_the_router_between_the_captures(lab: Lab, tmp_path: Path) -> None:
    """r1 drops packets above 1372 bytes: the FMC's large segments leave its capture and
    never reach the proxy's."""
    lab.up("blackhole")
    fmc, proxy = upload_through_both(lab, tmp_path)
    doc = analyze(lab, fmc, proxy)
    lost = [n for n in notes(doc) if "lost between the two capture points" in n]
    assert lost, notes(doc)
    assert all("(fmc.pcap is nearer 198.18.1.2:" in n and "higher TTL there" in n
               and "never reached proxy.pcap" in n and "unless" not in n for n in lost)
    assert any("1 connection(s) seen in both (1 by addresses and ports)" in n
               for n in notes(doc))
    assert "lost-between" in facts_of(doc, "PMTU_BLACKHOLE")
    # given the other way round, the TTL still says which capture is nearer the FMC
    swapped = analyze(lab, proxy, fmc)
    assert [n for n in notes(swapped) if "lost between the two capture points" in n] == lost


def test_drop_inside_the_proxy_after_its_capture_point(lab: Lab, tmp_path: Path) -> None:
    """The proxy's own input drops large packets: its capture sees them arrive, they are
    never acknowledged: lost after proxy.pcap, not on the wire."""
    lab.up("healthy")
    rules = ("table inet pp_two {\n chain input {\n  type filter hook input priority 0;\n"
             f"  tcp dport {topo.PROXY_PORT} meta length > 1372 drop\n }}\n}}\n")
    r = lab.run(["nft", "-f", "-"], node="proxy", input=rules)
    assert r.returncode == 0, r.stderr
    fmc, proxy = upload_through_both(lab, tmp_path)
    doc = analyze(lab, fmc, proxy)
    after = [n for n in notes(doc) if "lost after proxy.pcap, between it and "
             f"{topo.PROXY_V4}:{topo.PROXY_PORT}" in n]
    assert after and all("unless" not in n for n in after), notes(doc)
    assert not [n for n in notes(doc) if "lost between the two capture points" in n]
