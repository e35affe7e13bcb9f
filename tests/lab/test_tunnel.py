"""`pathprobe tunnel` against the real lab: squid in every proxy mode, faults on leg 2,
the reflector in the upstream namespace. Each test runs the CLI inside the fmc namespace."""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from pathprobe.facts.tunnel import ConnectError
from pathprobe.lab import topology as topo
from pathprobe.lab.netns import run_in_netns
from pathprobe.model import Credentials, ProxyConfig
from pathprobe.probes import tunnel as io
from pathprobe.schema import load_schema
from pathprobe.wire.hostport import HostPort
from tests.conftest import Lab

PROXY = topo.PROXY_URL
TARGET = f"{topo.UPSTREAM_NAME}:{topo.UPSTREAM_TLS_PORT}"
REFLECTOR = f"{topo.UPSTREAM_NAME}:{topo.REFLECTOR_PORT}"
PASSWORD = {"PATHPROBE_PROXY_PASSWORD": topo.LAB_PASSWORD}


def tunnel(lab: Lab, *args: str, env: dict[str, str] | None = None,
           proxy: str = PROXY, target: str = TARGET, timeout: float = 60,
           user: str | None = None) -> tuple[int, dict[str, Any], str]:
    r = lab.cli("tunnel", "--proxy", proxy, "--target", target, "--json", *args,
                user=user, env=env, timeout=timeout)
    assert r.stdout, r.stderr
    doc = json.loads(r.stdout)
    jsonschema.validate(doc, load_schema())   # every report follows `pathprobe schema`
    return r.returncode, doc, r.stderr


def codes(report: dict[str, Any]) -> list[str]:
    return [v["code"] for v in report["verdicts"]]


def verdict(report: dict[str, Any], code: str) -> dict[str, Any]:
    found = [v for v in report["verdicts"] if v["code"] == code]
    assert found, report["verdicts"]
    return found[0]


def leg(report: dict[str, Any], name: str, direction: str, *, with_key: str) -> dict[str, Any]:
    found = [x for x in report["legs"] if x["name"] == name and x.get("direction") == direction
             and with_key in x]
    assert found, report["legs"]
    return found[0]


def test_healthy_both_directions_with_reflector(lab: Lab) -> None:
    lab.up("healthy")
    status, rep, _ = tunnel(lab, "--reflector", REFLECTOR)
    assert status == 0 and codes(rep) == ["HEALTHY"], rep
    up = leg(rep, "proxy-upstream", "up", with_key="max_payload_at_least")
    assert up["max_payload_at_least"] == 1460 and up["max_payload"] is None
    # The reflector saw full-size segments arrive (1448 over IPv4, 1428 over IPv6, with
    # timestamps): a 1500-byte PMTU is proven, not merely assumed.
    assert up["max_segment"] in (1448, 1428) and up["pmtu_low"] == 1500
    syn = leg(rep, "proxy-upstream", "up", with_key="mss_received")
    assert syn["mss_received"] == (1460 if syn["ip_version"] == 4 else 1440)
    down = leg(rep, "proxy-upstream", "down", with_key="downloaded")
    assert down["downloaded"] == down["expected"] == topo.DEFAULT_BODY_BYTES
    first = leg(rep, "fmc-proxy", None, with_key="connect_status")  # type: ignore[arg-type]
    assert first["connect_status"] == 200 and first["auth"] == "none"


@pytest.mark.usefixtures("unprivileged_ok")
def test_runs_unprivileged(lab: Lab) -> None:
    lab.up("blackhole", leg=2, direction="up", param=1300)
    status, rep, err = tunnel(lab, "--direction", "up", user="nobody")
    assert status == 1 and codes(rep) == ["PMTU_BLACKHOLE"], err


@pytest.mark.parametrize("mtu", [1400, 1300])
def test_leg2_up_blackhole_with_refused_client_hellos(lab: Lab, mtu: int) -> None:
    lab.up("blackhole", leg=2, direction="up", param=mtu)
    status, rep, _ = tunnel(lab, "--direction", "up")
    assert status == 1
    v = verdict(rep, "PMTU_BLACKHOLE")
    assert (v["leg"], v["direction"]) == ("proxy-upstream", "up")
    # squid may reach the upstream over IPv6 (72 header bytes) or IPv4 (52): byte-exact either
    # way, and the reported PMTU range must contain the real one.
    assert v["max_payload"] in (mtu - 72, mtu - 52)
    assert v["pmtu_low"] <= mtu <= v["pmtu_high"]
    # The proxy acknowledged the lost writes, so they crossed leg 1: measured on leg 2.
    assert v["confidence"] == "measured"
    assert any("acknowledged all" in e for e in v["evidence"]), v["evidence"]


@pytest.mark.parametrize(("fault", "code"), [("blackhole:1:up:1300", "PMTU_BLACKHOLE"),
                                             ("rst:1:up:1300", "RST_ON_LARGE_SEGMENT")])
def test_leg1_faults_are_not_blamed_on_leg2(lab: Lab, fault: str, code: str) -> None:
    lab.up("healthy", faults=[fault])
    status, rep, _ = tunnel(lab, "--direction", "up")
    assert status == 1
    v = verdict(rep, code)
    assert v["leg"] == "fmc-proxy", v
    assert not [x for x in rep["verdicts"] if x["leg"] == "proxy-upstream"]
    leg2 = leg(rep, "proxy-upstream", "up", with_key="max_payload_at_least")
    assert leg2["max_payload"] is None and leg2["max_payload_at_least"] == v["max_payload"]


def test_leg1_max_payload_is_reported_as_given_and_keeps_leg2_measured(lab: Lab) -> None:
    """--leg1-max-payload: a leg-1 row with the number, said to be given (not measured), and
    the up probes kept within it, so a leg-2 black hole above it is measured on leg 2."""
    lab.up("blackhole", leg=2, direction="up", param=1400)
    status, rep, _ = tunnel(lab, "--direction", "up", "--leg1-max-payload", "1300")
    assert status == 1
    first = [x for x in rep["legs"] if x["name"] == "fmc-proxy" and x.get("max_payload")]
    assert [x["max_payload"] for x in first] == [1300], rep["legs"]
    assert any("given with --leg1-max-payload" in n for n in first[0]["notes"]), first
    v = verdict(rep, "PMTU_BLACKHOLE")
    assert (v["leg"], v["confidence"]) == ("proxy-upstream", "measured"), v


def test_leg2_both_directions_exact_with_reflector(lab: Lab) -> None:
    lab.up("blackhole", leg=2, param=1350)
    status, rep, _ = tunnel(lab, "--reflector", REFLECTOR)
    assert status == 1
    found = {v["direction"]: v for v in rep["verdicts"] if v["code"] == "PMTU_BLACKHOLE"}
    assert set(found) == {"up", "down"}, rep["verdicts"]
    for v in found.values():
        # The reflector saw the proxy's address family and timestamps: one exact PMTU.
        assert v["pmtu_low"] == v["pmtu_high"] == 1350, v
        assert v["max_payload"] in (1350 - 72, 1350 - 52)


def test_leg2_down_only_blackhole(lab: Lab) -> None:
    lab.up("blackhole", leg=2, direction="down", param=1200)
    status, rep, _ = tunnel(lab, "--reflector", REFLECTOR)
    assert status == 1
    v = verdict(rep, "PMTU_BLACKHOLE")
    assert v["direction"] == "down" and v["pmtu_low"] == v["pmtu_high"] == 1200
    assert [x["direction"] for x in rep["verdicts"]] == ["down"]  # up is clean
    up = leg(rep, "proxy-upstream", "up", with_key="max_payload_at_least")
    assert up["max_payload_at_least"] == 1460
    # Without the reflector: the large GET stalls at once, a down-direction size problem,
    # and ranged plain-HTTP answers (the proxy forwards GET http://...) bound its size from
    # below: no longer "at least 536 B", never above what crossed.
    status, rep, _ = tunnel(lab, "--direction", "down")
    assert status == 1
    (v,) = rep["verdicts"]
    assert (v["code"], v["direction"], v["confidence"]) == ("PMTU_BLACKHOLE", "down", "inferred")
    assert v["stalled_after"] == 0               # the stalled download's evidence joined it
    # The lab upstream writes a body apart from its header, so the bound meets the limit
    # (IPv6 or IPv4 on leg 2, with timestamps); it stays a lower bound all the same.
    assert v["max_payload"] in (1200 - 72, 1200 - 52) and v["limit_exact"] is False
    assert v["pmtu_low"] <= 1200 and "pmtu_high" not in v
    assert "range-sized" in [f["fact"] for f in v["facts"]]
    ranged = leg(rep, "proxy-upstream", "down", with_key="max_payload_at_least")
    assert ranged["target"] == f"http://{topo.UPSTREAM_NAME}/"
    assert ranged["max_payload_at_least"] == v["max_payload"]


def test_leg2_down_reset_is_sized_when_the_large_answer_proves_nothing(lab: Lab) -> None:
    # r2 answers the upstream's large segments with a reset sent back to the upstream: the
    # tunnel closes after the TLS handshake (too small an answer to prove anything, which was
    # "leg 2 down not measured", exit 3), while the proxy only ever sees the big answers vanish.
    lab.up("rst", leg=2, direction="down", param=1300)
    status, rep, _ = tunnel(lab, "--direction", "down")
    assert status == 1 and "errors" not in rep, rep.get("errors")
    (v,) = rep["verdicts"]
    assert (v["code"], v["direction"], v["confidence"]) == ("PMTU_BLACKHOLE", "down", "inferred")
    assert v["max_payload"] in (1300 - 72, 1300 - 52) and v["limit_exact"] is False


def test_leg2_down_quota_is_never_sized_by_ranged_answers(lab: Lab) -> None:
    # A leg-2 quota of 2500 bytes per connection: the TLS answer stops after its first
    # segments (it looks like a size), and squid reuses its upstream connections for the
    # ranged GETs, so they stop by the bytes before them, not by their size. Never a size
    # from that: either full-size answers came whole (then the stall is not a size), or the
    # answers disagree with any size limit and the 536-byte floor stays, saying why.
    lab.up("stall", leg=2, direction="both", param=2500)
    status, rep, _ = tunnel(lab, "--direction", "down")
    assert status == 1
    (v,) = rep["verdicts"]
    facts = {f["fact"]: f["values"] for f in v["facts"]}
    if v["code"] == "TUNNEL_STALL":
        assert facts["range-full-size-crossed"]["crossed"] >= 1460 and "max_payload" not in v
    else:
        assert (v["code"], v["max_payload"], v["confidence"]) == (
            "PMTU_BLACKHOLE", 536, "inferred"), v
        assert facts["range-not-possible"]["why"] in ("not-by-size", "low-fails"), facts


def test_leg2_down_ranged_answers_through_a_digest_proxy(lab: Lab) -> None:
    # Parallel GETs reach squid out of order, so their Digest nonce goes stale (407,
    # stale=true): each answers that 407 with its own fresh challenge, and the sizes hold.
    lab.up("auth-digest", faults=["blackhole:2:down:1200"])
    status, rep, err = tunnel(lab, "--direction", "down", "--proxy-user", topo.LAB_USER,
                              env=PASSWORD)
    assert status == 1
    (v,) = rep["verdicts"]
    assert (v["code"], v["direction"]) == ("PMTU_BLACKHOLE", "down")
    assert v["max_payload"] in (1200 - 72, 1200 - 52), (v, err)
    assert topo.LAB_PASSWORD not in json.dumps(rep) + err


def test_leg2_down_says_why_not_sized_when_the_proxy_refuses_plain_http(lab: Lab) -> None:
    lab.up("connect-only", faults=["blackhole:2:down:1200"])
    status, rep, _ = tunnel(lab, "--direction", "down")
    assert status == 1
    (v,) = rep["verdicts"]
    assert (v["code"], v["direction"], v["max_payload"]) == ("PMTU_BLACKHOLE", "down", 536)
    (why,) = [f for f in v["facts"] if f["fact"] == "range-not-possible"]
    assert (why["values"]["why"], why["values"]["status"]) == ("proxy-refuses-http", 403)
    assert any("the proxy refuses plain HTTP (it answered 403 itself" in e
               for e in v["evidence"]), v["evidence"]
    r = lab.cli("tunnel", "--proxy", PROXY, "--target", TARGET, "--direction", "down", "-q")
    assert "the proxy refuses plain HTTP" in " ".join(r.stdout.split()), r.stdout


def test_leg2_down_healthy_is_not_held_up_by_ranged_answers(lab: Lab) -> None:
    # A large answer that came whole proves the down direction: the ranged answers, which
    # only sharpen a down-direction finding, are not waited for and add nothing, even when
    # the proxy cannot give them (here it refuses plain HTTP).
    for scenario in ("healthy", "connect-only"):
        lab.up(scenario)
        status, rep, _ = tunnel(lab, "--direction", "down")
        assert status == 0 and codes(rep) == ["HEALTHY"], rep
        down = [x for x in rep["legs"] if x.get("direction") == "down"]
        assert [x["target"] for x in down] == [TARGET], down
        assert not any("ranged" in n for x in down for n in x.get("notes", [])), down


def test_leg2_rst_on_large_segment(lab: Lab) -> None:
    lab.up("rst", leg=2, direction="up", param=1300)
    status, rep, _ = tunnel(lab, "--direction", "up")
    assert status == 1
    v = verdict(rep, "RST_ON_LARGE_SEGMENT")
    assert (v["leg"], v["direction"]) == ("proxy-upstream", "up")
    assert v["rst_threshold"] == v["max_payload"] + 1
    assert v["max_payload"] in (1300 - 72, 1300 - 52)


def test_leg2_clamp_seen_by_the_reflector(lab: Lab) -> None:
    lab.up("clamp", leg=2, param=1300)
    status, rep, _ = tunnel(lab, "--reflector", REFLECTOR, "--direction", "up")
    # A clamp with every size crossing is information, not failure: exit 0 by default,
    # 1 with --fail-on info.
    assert status == 0
    v = verdict(rep, "MSS_CLAMPED")
    assert (v["leg"], v["mss_received"], v["severity"]) == ("proxy-upstream", 1300, "info")
    status, _, _ = tunnel(lab, "--reflector", REFLECTOR, "--direction", "up",
                          "--fail-on", "info")
    assert status == 1
    # The proxy's own MSS on leg 2: 1460 over IPv4, 1440 over IPv6.
    assert v["mss_sent"] in (1460, 1440)


def test_leg1_clamp_is_not_blamed_on_leg2(lab: Lab) -> None:
    """The article's case: clamp 1300 on leg 1, black hole 1400 up on leg 2."""
    lab.up("article")
    status, rep, _ = tunnel(lab, "--reflector", REFLECTOR, "--direction", "up")
    assert status == 1
    assert "MSS_CLAMPED" not in codes(rep)  # the leg-2 SYN kept its MSS
    v = verdict(rep, "PMTU_BLACKHOLE")
    assert v["leg"] == "proxy-upstream" and v["pmtu_low"] == v["pmtu_high"] == 1400


def test_stall(lab: Lab) -> None:
    lab.up("stall", param=65536)
    status, rep, _ = tunnel(lab, "--direction", "down")
    assert status == 1
    v = verdict(rep, "TUNNEL_STALL")
    assert v["leg"] == "proxy-upstream" and 4096 < v["stalled_after"] < 65536
    # Stalled after the idle wait (1.5 s at least: three back-to-back retransmissions at
    # the minimum RTO), and the whole answer was expected.
    assert v["idle_s"] >= 1.4 and v["expected"] == topo.DEFAULT_BODY_BYTES


@pytest.mark.parametrize(("scenario", "target", "code", "leg_name", "status_code"), [
    ("acl", TARGET, "PROXY_DENIED", "fmc-proxy", 403),
    ("healthy", f"{topo.DENIED_NAME}:443", "PROXY_DENIED", "fmc-proxy", 403),
    ("auth-ntlm", TARGET, "PROXY_AUTH_UNSUPPORTED", "fmc-proxy", 407),
    ("auth-basic", TARGET, "PROXY_AUTH_REQUIRED", "fmc-proxy", 407),
    ("auth-digest", TARGET, "PROXY_AUTH_REQUIRED", "fmc-proxy", 407),
    ("upstream-down", TARGET, "PROXY_UPSTREAM_ERROR", "proxy-upstream", 503),
])
def test_proxy_verdicts(lab: Lab, scenario: str, target: str, code: str, leg_name: str,
                        status_code: int) -> None:
    lab.up(scenario)
    status, rep, _ = tunnel(lab, target=target)
    assert status == 1 and codes(rep) == [code], rep
    v = rep["verdicts"][0]
    assert v["leg"] == leg_name and v["status"] == status_code
    if code == "PROXY_AUTH_UNSUPPORTED":
        assert v["offered"] == "ntlm" and any("NTLM" in e for e in v["evidence"])
    if code == "PROXY_AUTH_REQUIRED":
        assert any("no credentials" in e for e in v["evidence"])


def test_digest_tunnels_to_two_targets_count_on_one_nonce(lab: Lab) -> None:
    # The far end's and the proxy target's CONNECTs answer one challenge. squid counts per
    # nonce: a second counter starting at 1 again made it refuse the nonce (407, stale) for
    # every CONNECT after it, and once in ~900 runs a probe ran out of retries.
    state = lab.up("auth-digest")
    log = Path(state.workdir) / "access.log"
    creds = Credentials(topo.LAB_USER, topo.LAB_PASSWORD)
    proxy = ProxyConfig(topo.PROXY_V4, topo.PROXY_PORT, "--proxy")
    near = HostPort(topo.UPSTREAM_V4, topo.UPSTREAM_TLS_PORT)
    far = HostPort(topo.UPSTREAM_V4, topo.REFLECTOR_PORT)

    def connects() -> list[int | str]:
        auth = io.Authenticator(creds, near)
        by_target = {near: auth, far: auth.for_target(far)}
        statuses: list[int | str] = []
        for target in [near, far] * 4:
            t = io.open_tunnel(proxy, target, by_target[target], timeout=5)
            if isinstance(t, ConnectError):
                statuses.append(t.status or t.detail)
            else:
                statuses.append(t.response.status)
                t.sock.close()
        return statuses

    before = log.read_text().count("/407 ") if log.exists() else 0
    assert run_in_netns(lab.ns("fmc"), connects) == [200] * 8
    deadline = time.monotonic() + 5
    while log.read_text().count(" CONNECT ") - before < 9 and time.monotonic() < deadline:
        time.sleep(0.1)   # squid writes its log line after the answer
    refused = log.read_text().count("/407 ") - before
    assert refused == 1, log.read_text()[-3000:]   # the first challenge only


@pytest.mark.parametrize("scenario", ["auth-basic", "auth-digest"])
def test_auth_with_right_and_wrong_password_never_leaks(lab: Lab, scenario: str) -> None:
    lab.up(scenario)
    scheme = scenario.removeprefix("auth-")
    status, rep, err = tunnel(lab, "--proxy-user", topo.LAB_USER, "--direction", "up",
                              env=PASSWORD)
    assert status == 0 and codes(rep) == ["HEALTHY"], rep
    assert leg(rep, "fmc-proxy", None, with_key="auth")["auth"] == scheme  # type: ignore[arg-type]
    for out in (json.dumps(rep), err):
        assert topo.LAB_PASSWORD not in out
    wrong = "wr0ng-Pa55word"
    status, rep, err = tunnel(lab, "--proxy-user", topo.LAB_USER, "--direction", "up",
                              env={"PATHPROBE_PROXY_PASSWORD": wrong})
    assert status == 1 and codes(rep) == ["PROXY_AUTH_REQUIRED"]
    assert any("rejected" in e for e in rep["verdicts"][0]["evidence"])
    assert leg(rep, "fmc-proxy", None, with_key="auth")["auth"] == scheme  # type: ignore[arg-type]
    # Text output and a password inside HTTPS_PROXY: still never printed.
    url = f"http://{topo.LAB_USER}:{topo.LAB_PASSWORD}@{topo.PROXY_V4}:{topo.PROXY_PORT}"
    r = lab.cli("tunnel", "--target", TARGET, "--direction", "up", env={"HTTPS_PROXY": url})
    assert r.returncode == 0, r.stdout + r.stderr
    for out in (r.stdout, r.stderr, json.dumps(rep), err):
        assert topo.LAB_PASSWORD not in out and wrong not in out


def _silent_listener(ip: str) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((ip, 0))
    s.listen(4)  # the kernel completes handshakes; nobody ever answers
    return s


def test_unreachable_and_silent_proxy(lab: Lab) -> None:
    lab.up("healthy")
    status, rep, _ = tunnel(lab, proxy=f"http://{topo.PROXY_V4}:3129")
    assert status == 1 and codes(rep) == ["PROXY_UNREACHABLE"]
    silent = run_in_netns(lab.ns("proxy"), lambda: _silent_listener(topo.PROXY_V4))
    try:
        port = silent.getsockname()[1]
        status, rep, _ = tunnel(lab, proxy=f"http://{topo.PROXY_V4}:{port}")
        assert status == 1 and codes(rep) == ["CONNECT_NO_RESPONSE"]
    finally:
        silent.close()


def _garbage_proxy(ip: str, stop: threading.Event) -> tuple[socket.socket, threading.Thread]:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((ip, 0))
    s.listen(4)
    s.settimeout(0.2)

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = s.accept()
            except OSError:
                continue
            with conn:
                conn.sendall(b"SSH-2.0-OpenSSH_9.2\r\n" + b"\x00" * 100)
    t = threading.Thread(target=serve, daemon=True)
    t.start()
    return s, t


def test_garbage_instead_of_http_is_no_response(lab: Lab) -> None:
    lab.up("healthy")
    stop = threading.Event()
    sock, thread = run_in_netns(lab.ns("proxy"), lambda: _garbage_proxy(topo.PROXY_V4, stop))
    try:
        status, rep, err = tunnel(lab, proxy=f"http://{topo.PROXY_V4}:{sock.getsockname()[1]}")
        assert status == 1 and codes(rep) == ["CONNECT_NO_RESPONSE"]
        assert "not HTTP" in rep["verdicts"][0]["evidence"][0] and "Traceback" not in err
    finally:
        stop.set()
        thread.join(2)
        sock.close()


def test_usage_errors(lab: Lab) -> None:
    lab.up("healthy")
    r = lab.cli("tunnel", "--proxy", PROXY, "--target", "no-port-here")
    assert r.returncode == 2 and "HOST:PORT" in r.stderr
    r = lab.cli("tunnel", "--proxy", "https://198.18.2.2:3128", "--target", TARGET)
    assert r.returncode == 2 and "http://" in r.stderr
    r = lab.cli("tunnel", "--proxy", PROXY, "--target", TARGET, "--proxy-user", "fmc",
                input="")
    assert r.returncode == 2 and "PATHPROBE_PROXY_PASSWORD" in r.stderr
    r = lab.cli("tunnel", "--target", TARGET, env={"HTTPS_PROXY": ""})
    assert r.returncode == 2 and "no proxy" in r.stderr
    assert "Traceback" not in r.stderr
