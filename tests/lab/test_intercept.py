"""A proxy that decrypts TLS (squid ssl-bump with the lab CA), and a proxy name the FMC
cannot use: issue 12's "Done when", each against the real lab, the CLI run in the fmc
namespace."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import jsonschema

from pathprobe.lab import topology as topo
from pathprobe.schema import load_schema
from tests.conftest import Lab, cli_env

PROXY = topo.PROXY_URL
TARGET = f"{topo.UPSTREAM_NAME}:{topo.UPSTREAM_TLS_PORT}"
LAB_CA_ISSUER = f"O=pathprobe lab, CN={topo.PROXY_CA_NAME}"


def run(lab: Lab, command: str, *args: str, proxy: str = PROXY, timeout: float = 90
        ) -> tuple[int, dict[str, Any], float]:
    t0 = time.monotonic()
    r = lab.cli(command, "--proxy", proxy, "--target", TARGET, "--json", *args,
                timeout=timeout)
    took = time.monotonic() - t0
    assert "Traceback" not in r.stderr, r.stderr
    assert r.stdout, r.stderr
    doc = json.loads(r.stdout)
    jsonschema.validate(doc, load_schema())
    return r.returncode, doc, took


def found(doc: dict[str, Any], code: str, leg: str | None = None) -> list[dict[str, Any]]:
    return [v for v in doc["verdicts"] if v["code"] == code and (leg is None or v["leg"] == leg)]


def row(doc: dict[str, Any], name: str, direction: str | None, key: str) -> dict[str, Any]:
    rows = [x for x in doc["legs"] if x["name"] == name and x.get("direction") == direction
            and key in x]
    assert rows, doc["legs"]
    return rows[0]


def all_text(doc: dict[str, Any]) -> str:
    parts = [e for v in doc["verdicts"] for e in v["evidence"]]
    parts += [n for leg in doc["legs"] for n in leg.get("notes", [])]
    return "\n".join(parts)


def test_interception_named_with_its_issuer_and_no_client_hello_sizes(lab: Lab) -> None:
    lab.up("intercept")
    status, doc, _ = run(lab, "tunnel")
    (v,) = found(doc, "PROXY_TLS_INTERCEPTED")
    assert v["leg"] == "fmc-proxy" and v["severity"] == "critical" and status == 1
    evidence = "\n".join(v["evidence"])
    assert f"issuer {LAB_CA_ISSUER}" in evidence and f"subject CN={topo.UPSTREAM_NAME}" in evidence
    assert "SHA-256 " in evidence and v["issuer"] == LAB_CA_ISSUER
    # The proxy answers ClientHellos itself: no leg-2 size from them, and the leg says why.
    up = row(doc, "proxy-upstream", "up", "pmtu_method")
    assert up["pmtu_method"] == "tunnel-post" and up["max_payload"] is None
    assert "max_payload_at_least" not in up
    assert any("ClientHellos" in n and "answers them itself" in n for n in up["notes"])
    assert "refused TLS ClientHello" not in all_text(doc)
    # Leg 2 itself is fine: POST bodies and the download crossed through the decrypted session.
    assert found(doc, "HEALTHY", "proxy-upstream")
    assert up["post_ok"] == 32768 and up["post_failed"] is None
    assert [r["platform"] for r in doc["recommendations"]][:3] == ["squid", "AsyncOS",
                                                                  "any proxy"]


def test_interception_plus_leg2_black_hole_is_leg2s_never_leg1s(lab: Lab) -> None:
    lab.up("intercept", faults=["blackhole:2:up:1400"])
    status, doc, took = run(lab, "diagnose")
    assert status == 1 and found(doc, "PROXY_TLS_INTERCEPTED", "fmc-proxy")
    (hole,) = found(doc, "PMTU_BLACKHOLE")
    assert hole["leg"] == "proxy-upstream" and hole["direction"] == "up"
    assert hole["confidence"] == "inferred" and hole["limit_exact"] is False
    assert hole["max_payload"] <= 1400 - 52     # a lower bound, never above the hole
    leg1 = [v["code"] for v in doc["verdicts"] if v["leg"] == "fmc-proxy"]
    assert set(leg1) <= {"PROXY_TLS_INTERCEPTED", "HEALTHY"}, doc["verdicts"]
    assert took < 20, f"diagnose took {took:.1f} s"   # squid's own 60 s are never waited for


def test_self_signed_upstream_without_interception_is_not_intercepted(lab: Lab) -> None:
    lab.up("healthy")
    status, doc, _ = run(lab, "tunnel", "--direction", "up")
    assert not found(doc, "PROXY_TLS_INTERCEPTED") and status == 0
    leg1 = row(doc, "fmc-proxy", None, "tls_check")
    assert leg1["tls_check"] == "self-signed-target"
    assert any("own self-signed certificate" in n for n in leg1["notes"])
    # Not intercepted: the ClientHello method measures leg 2 as before.
    up = row(doc, "proxy-upstream", "up", "pmtu_method")
    assert up["pmtu_method"] == "tunnel" and up["max_payload_at_least"] == 1460


def test_ca_file_makes_a_private_ca_trusted(lab: Lab) -> None:
    state = lab.up("intercept")
    ca = str(Path(state.workdir) / topo.PROXY_CA_CERT)
    status, doc, _ = run(lab, "tunnel", "--ca-file", ca)
    assert not found(doc, "PROXY_TLS_INTERCEPTED") and status == 0, doc["verdicts"]
    leg1 = row(doc, "fmc-proxy", None, "tls_check")
    assert leg1["tls_check"] == "not-intercepted"
    assert any(f"verifies against the system trust store plus {ca}" in n for n in leg1["notes"])
    # A private CA may be the proxy's: leg 2 up is still measured through the session.
    assert row(doc, "proxy-upstream", "up", "pmtu_method")["pmtu_method"] == "tunnel-post"


def test_proxy_name_over_64_characters_is_config_unsupported(lab: Lab) -> None:
    lab.up("healthy")
    long_proxy = f"http://{topo.LONG_PROXY_NAME}:{topo.PROXY_PORT}"
    status, doc, _ = run(lab, "tunnel", "--direction", "up", proxy=long_proxy)
    (v,) = found(doc, "PROXY_CONFIG_UNSUPPORTED")
    assert v["leg"] == "fmc-proxy" and v["severity"] == "warning" and status == 1
    assert f"{len(topo.LONG_PROXY_NAME)} characters" in "\n".join(v["evidence"])
    # The measurement went on through the very same (resolvable) name.
    assert found(doc, "HEALTHY", "proxy-upstream")
    assert row(doc, "fmc-proxy", None, "connect_status")["connect_status"] == 200


def test_lab_up_intercept_flag_combines_with_a_proxy_mode(lab: Lab) -> None:
    env = cli_env({topo.PREFIX_ENV: lab.prefix})
    up = subprocess.run([sys.executable, "-m", "pathprobe", "lab", "up", "acl", "--intercept"],
                        capture_output=True, text=True, env=env, timeout=60, check=False)
    assert up.returncode == 0, up.stderr
    assert "decrypts TLS" in up.stderr
    status = subprocess.run([sys.executable, "-m", "pathprobe", "lab", "status", "--json"],
                            capture_output=True, text=True, env=env, timeout=60, check=False)
    state = json.loads(status.stdout)
    assert state["intercept"] is True and state["proxy_mode"] == "acl"
    # A decrypting squid answers the denied CONNECT with 200 and its 403 inside TLS.
    code, doc, _ = run(lab, "tunnel")
    assert code == 1
    assert [v["code"] for v in doc["verdicts"]] == ["PROXY_DENIED", "PROXY_TLS_INTERCEPTED"]
    (denied,) = found(doc, "PROXY_DENIED", "fmc-proxy")
    assert any("inside the decrypted TLS session" in e for e in denied["evidence"])
    # Down only (no POST bodies): the refusal inside TLS is read from the download's answer.
    code, doc, _ = run(lab, "tunnel", "--direction", "down")
    assert code == 1
    assert [v["code"] for v in doc["verdicts"]] == ["PROXY_DENIED", "PROXY_TLS_INTERCEPTED"]
    (denied,) = found(doc, "PROXY_DENIED", "fmc-proxy")
    assert any("inside the decrypted TLS session" in e for e in denied["evidence"])
    assert not found(doc, "HEALTHY", "proxy-upstream")


def test_with_a_reflector_leg2_stays_byte_exact_under_interception(lab: Lab) -> None:
    lab.up("intercept", faults=["blackhole:2:up:1400"])
    reflector = f"{topo.UPSTREAM_NAME}:{topo.REFLECTOR_PORT}"
    status, doc, _ = run(lab, "tunnel", "--direction", "up", "--reflector", reflector)
    assert status == 1 and found(doc, "PROXY_TLS_INTERCEPTED", "fmc-proxy")
    (hole,) = found(doc, "PMTU_BLACKHOLE", "proxy-upstream")
    # The proxy cannot answer for the reflector: its writes reached leg 2, and the exact size
    # is 1400 minus IP (IPv4 20 / IPv6 40), TCP (20) and timestamps (12).
    assert hole["max_payload"] in (1348, 1328) and hole["confidence"] == "measured"


def test_a_decrypting_proxy_stuck_on_leg2_is_not_waited_for(lab: Lab) -> None:
    # The upstream's certificate flight is lost on the way down: squid's own handshake
    # stalls, and with it the certificate it would forge (squid gives up after ~60 s).
    lab.up("intercept", faults=["blackhole:2:down:800"])
    status, doc, took = run(lab, "diagnose")
    assert took < 20, f"diagnose took {took:.1f} s"
    assert not found(doc, "PROXY_TLS_INTERCEPTED")
    assert row(doc, "fmc-proxy", None, "tls_check")["tls_check"] == "undecided"
    problems = [v for v in doc["verdicts"] if v["code"] != "HEALTHY"]
    assert problems and all(v["leg"] == "proxy-upstream" for v in problems), problems
    assert status == 1


def test_interception_plus_leg1_black_hole_is_leg1s_never_leg2s(lab: Lab) -> None:
    # The forged certificate's flight comes down leg 1: the check and the POST bodies keep
    # leg 1's segments small, so the hole neither hides the interception nor lands on leg 2.
    lab.up("intercept", faults=["blackhole:1:down:700"])
    status, doc, _ = run(lab, "diagnose")
    assert status == 1 and found(doc, "PROXY_TLS_INTERCEPTED", "fmc-proxy")
    (hole,) = found(doc, "PMTU_BLACKHOLE")
    assert hole["leg"] == "fmc-proxy" and hole["direction"] == "down" and hole["mtu"] == 700
    assert [v["code"] for v in doc["verdicts"] if v["leg"] == "proxy-upstream"] == ["HEALTHY"]
