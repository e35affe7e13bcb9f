"""Size or content on leg 2 up (issue 19), through the real CLI in the fmc namespace: a
middlebox on leg 2 (nftables raw payload, r2) that drops or resets segments starting a
ClientHello record longer than 1200 bytes, against a real black hole and a real reset."""

from __future__ import annotations

import json
import re
import sys
from typing import Any

import jsonschema
import pytest

from pathprobe.lab import topology as topo
from pathprobe.schema import load_schema
from tests.conftest import Lab

PROXY = topo.PROXY_URL
TARGET = f"{topo.UPSTREAM_NAME}:{topo.UPSTREAM_TLS_PORT}"
REFLECTOR = f"{topo.UPSTREAM_NAME}:{topo.REFLECTOR_PORT}"
SIZE_CODES = {"PMTU_BLACKHOLE", "PMTU_REDUCED", "RST_ON_LARGE_SEGMENT", "MSS_CLAMPED"}
MTU_FIX = re.compile(r"\bmtu\b|tcpmss|adjust-mss|mtu_probing", re.IGNORECASE)


def run(lab: Lab, command: str, *args: str) -> tuple[int, dict[str, Any], str]:
    r = lab.cli(command, "--proxy", PROXY, "--target", TARGET, "--json", *args, timeout=90)
    assert "Traceback" not in r.stderr, r.stderr
    doc = json.loads(r.stdout)
    jsonschema.validate(doc, load_schema())
    return r.returncode, doc, r.stderr


def codes(doc: dict[str, Any]) -> set[str]:
    return {v["code"] for v in doc["verdicts"]}


def hello(doc: dict[str, Any]) -> dict[str, Any]:
    found = [v for v in doc["verdicts"] if v["code"] == "TLS_HELLO_DROPPED"]
    assert len(found) == 1, doc["verdicts"]
    return found[0]


def test_hello_drop_is_no_mtu_in_diagnose(lab: Lab) -> None:
    lab.up("hello-drop")
    status, doc, err = run(lab, "diagnose")
    assert status == 1, err
    v = hello(doc)
    assert (v["leg"], v["direction"], v["severity"]) == ("proxy-upstream", "up", "critical")
    assert v["confidence"] == "measured" and v["basis"] == "proxy-acked"
    # The threshold: nft drops record lengths > 1200, i.e. hellos of 1206 bytes and more.
    assert (v["record_limit"], v["hello_max"], v["hello_dropped_from"]) == (1200, 1205, 1206)
    # The shapes went beside the search at the largest write leg 1 carries whole (1448 B
    # with timestamps): at least the failing size, in one segment.
    assert v["how"] == "drop" and v["segment_crossed"] == v["write_crossed"] == 1448
    assert "pmtu_low" not in v and "max_payload" not in v and "mtu" not in v
    assert not codes(doc) & SIZE_CODES, doc["verdicts"]
    # Evidence for each shape: the fragmented one crossed, the split record did not.
    text = "\n".join(v["evidence"])
    assert "fragmented over small TLS records, one write: 1448 bytes, 6 records: answered" in text
    assert "cut in two TCP writes: 1448 bytes got no answer" in text
    assert "post-quantum ClientHello (X25519MLKEM768 + X25519 key shares): 1797 bytes got no " \
           "answer" in text
    assert "classic ClientHello (X25519 key share): 517 bytes: answered" in text
    commands = " ".join(r["command"] for r in doc["recommendations"])
    assert not MTU_FIX.search(commands), commands
    assert "ssl_bump splice" in commands
    up = [x for x in doc["legs"] if x["name"] == "proxy-upstream" and x.get("direction") == "up"
          and "max_payload_at_least" in x]
    assert up and up[0]["max_payload"] is None and up[0]["hello_max"] == 1205
    assert "not an MTU" in doc["summary"]


def test_hello_reset_variant(lab: Lab) -> None:
    lab.up("hello-rst")
    status, doc, err = run(lab, "tunnel", "--direction", "up")
    assert status == 1, err
    v = hello(doc)
    assert (v["leg"], v["direction"], v["how"], v["record_limit"]) == (
        "proxy-upstream", "up", "reset", 1200)
    assert not codes(doc) & SIZE_CODES


@pytest.mark.parametrize(("fault", "code"), [("blackhole:2:up:1400", "PMTU_BLACKHOLE"),
                                             ("rst:2:up:1300", "RST_ON_LARGE_SEGMENT")])
def test_a_real_size_limit_stays_a_size_limit(lab: Lab, fault: str, code: str) -> None:
    lab.up("healthy", faults=[fault])
    status, doc, err = run(lab, "tunnel", "--direction", "up")
    assert status == 1, err
    assert "TLS_HELLO_DROPPED" not in codes(doc), doc["verdicts"]
    v = next(v for v in doc["verdicts"] if v["code"] == code)
    assert (v["leg"], v["direction"], v["confidence"]) == ("proxy-upstream", "up", "measured")
    text = "\n".join(v["evidence"])
    assert "content ruled out" in text
    assert "cut in two TCP writes" in text and "fragmented over small TLS records" in text


def test_healthy_pq_hello_crosses(lab: Lab) -> None:
    lab.up("healthy")
    status, doc, err = run(lab, "tunnel", "--hello", "pq", "--direction", "up")
    assert status == 0, err
    assert codes(doc) == {"HEALTHY"}
    row = next(x for x in doc["legs"] if "pq_hello" in x)
    assert (row["name"], row["pq_hello"], row["pq_hello_bytes"]) == (
        "proxy-upstream", "answered", 1797)
    assert "classic_hello" not in row


def test_hello_drop_with_a_reflector_is_byte_exact(lab: Lab) -> None:
    """The reflector's sized writes cross (they start no ClientHello): full-size packets are
    proven exactly; the post-quantum hello is lost, the classic one answered."""
    lab.up("hello-drop")
    status, doc, err = run(lab, "tunnel", "--direction", "up", "--reflector", REFLECTOR)
    assert status == 1, err
    v = hello(doc)
    assert (v["leg"], v["direction"]) == ("proxy-upstream", "up")
    assert v["packet_crossed"] == 1500
    assert (v["record_limit"], v["hello_max"], v["hello_dropped_from"]) == (1200, 1205, 1206)
    assert not codes(doc) & SIZE_CODES


def test_a_decrypting_proxy_answers_the_hellos_itself(lab: Lab) -> None:
    """squid bumps TLS: the FMC's hellos end at the proxy (leg 1); its own, small hello
    crosses the middlebox, and the POST bodies through its session prove leg 2."""
    lab.up("intercept", faults=["hello-drop:2:up:1200"])
    status, doc, err = run(lab, "tunnel", "--direction", "up")
    assert status == 1   # the interception itself is critical
    assert "TLS_HELLO_DROPPED" not in codes(doc) and "PROXY_TLS_INTERCEPTED" in codes(doc), err
    row = next(x for x in doc["legs"] if "pq_hello" in x)
    assert (row["name"], row["pq_hello"]) == ("fmc-proxy", "answered")
    assert any("answered these ClientHellos itself" in n for n in row["notes"])


def test_a_decrypting_proxy_whose_own_hello_is_lost_is_named_as_a_cause(lab: Lab) -> None:
    """The middlebox drops even the proxy's own (classic) hello: no certificate ever comes
    and nothing is answered; no size is concluded and the remaining causes are named."""
    lab.up("intercept", faults=["hello-drop:2:up:200"])
    status, doc, err = run(lab, "tunnel")
    assert status == 1, err
    assert not codes(doc) & SIZE_CODES and "TLS_HELLO_DROPPED" not in codes(doc)
    stall = next(v for v in doc["verdicts"] if v["code"] == "TUNNEL_STALL")
    assert any("its own ClientHello toward the upstream is lost" in e
               for e in stall["evidence"]), stall


BURST = """
import socket, time
socks, t0 = [], time.monotonic()
for _ in range(40):
    s = socket.socket()
    s.setblocking(False)
    s.connect_ex(("{addr}", 443))
    socks.append(s)
time.sleep(0.5)          # the SYN-ACKs of an accept queue that is not full
def connected(s):
    try:
        return s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0 and s.send(b"x") == 1
    except OSError:      # still connecting: its SYN was dropped
        return False
print(sum(map(connected, socks)))
"""


def test_the_upstream_takes_a_burst_of_connections_without_dropping_syns(lab: Lab) -> None:
    """A measurement opens a dozen or more tunnels at once (search batch, TLS check,
    download, hello checks): a small accept queue at the upstream dropped SYNs, each a 1 s
    retransmission that slowed healthy runs now and then."""
    lab.up("healthy")
    r = lab.run([sys.executable, "-c", BURST.format(addr=topo.UPSTREAM_V4)], node="proxy")
    assert r.returncode == 0, r.stderr
    assert int(r.stdout) == 40


def test_healthy_says_the_pq_hello_crossed_in_its_findings(lab: Lab) -> None:
    lab.up("healthy")
    status, doc, err = run(lab, "diagnose")
    assert status == 0, err
    healthy = next(v for v in doc["verdicts"]
                   if v["code"] == "HEALTHY" and v["leg"] == "proxy-upstream")
    assert any(e.startswith("post-quantum ClientHello (X25519MLKEM768 + X25519 key shares): "
                            "1797 bytes: answered") for e in healthy["evidence"]), healthy
