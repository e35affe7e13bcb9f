"""The real CLI against hostile or broken proxies on loopback (issue 15, items 4, 5, 7, 8).

Every case: exit status 1 or 3 (never 4), no traceback, a sensible verdict,
bounded time. The proxies live in tests/hostile.py.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from typing import Any

import pytest

from tests.conftest import cli_env
from tests.hostile import BEHAVIOURS, HostileProxy

TARGET = "upstream.pathprobe.test:443"
USER, PASSWORD = "fmc", "Hostile-Secret-42"
# CONNECT waits 5 s at most, so even the slowest case must finish well within this.
BOUND_S = 60.0


def run_tunnel(behaviour: str, *extra: str, env: dict[str, str] | None = None
               ) -> tuple[subprocess.CompletedProcess[str], dict[str, Any], float]:
    with HostileProxy(BEHAVIOURS[behaviour]) as proxy:
        t0 = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", "pathprobe", "tunnel", "--proxy", proxy.url,
             "--target", TARGET, "--json", "--quiet", *extra],
            capture_output=True, text=True, timeout=BOUND_S + 30, env=cli_env(env),
            check=False)
        elapsed = time.monotonic() - t0
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode in (1, 3), (proc.returncode, proc.stderr)
    assert elapsed < BOUND_S, elapsed
    report = json.loads(proc.stdout) if proc.stdout.strip() else {}
    return proc, report, elapsed


def codes(report: dict[str, Any]) -> list[str]:
    return [v["code"] for v in report.get("verdicts", [])]


@pytest.mark.parametrize(("behaviour", "expected"), [
    ("silent", "CONNECT_NO_RESPONSE"),
    ("dripping", "CONNECT_NO_RESPONSE"),
    ("endless-headers", "CONNECT_NO_RESPONSE"),
    ("garbage", "CONNECT_NO_RESPONSE"),
    ("rst-mid-answer", "CONNECT_NO_RESPONSE"),
    ("huge-407", "CONNECT_NO_RESPONSE"),
    ("101", "CONNECT_NO_RESPONSE"),
    ("100-then-403", "PROXY_DENIED"),
])
def test_connect_answer_gives_one_verdict(behaviour: str, expected: str) -> None:
    proc, report, _ = run_tunnel(behaviour)
    assert codes(report) == [expected], report
    assert proc.returncode == 1


def test_dripping_proxy_cannot_hold_us_past_the_connect_timeout() -> None:
    _, report, elapsed = run_tunnel("dripping")
    assert elapsed < 5.0 + 4.0, elapsed  # CONNECT timeout plus interpreter start-up
    assert "in time" in json.dumps(report)


def test_interim_100_is_read_past_to_the_final_answer() -> None:
    _, report, _ = run_tunnel("100-then-403")
    (verdict,) = report["verdicts"]
    assert "403" in json.dumps(verdict)


def test_101_is_not_a_refusal() -> None:
    _, report, _ = run_tunnel("101")
    assert "PROXY_DENIED" not in codes(report)
    assert "101" in json.dumps(report)


@pytest.mark.parametrize("behaviour", ["malformed-407", "cr-in-challenge"])
def test_broken_challenges_with_credentials(behaviour: str) -> None:
    proc, report, _ = run_tunnel(behaviour, "--proxy-user", USER,
                                 env={"PATHPROBE_PROXY_PASSWORD": PASSWORD})
    assert proc.returncode == 1
    assert codes(report)[0] in ("PROXY_AUTH_REQUIRED", "PROXY_AUTH_UNSUPPORTED"), report


def test_ansi_sequences_from_the_proxy_never_reach_the_output() -> None:
    proc, report, _ = run_tunnel("ansi-reason")
    assert codes(report) == ["PROXY_DENIED"]
    for stream in (proc.stdout, proc.stderr):
        assert "\x1b" not in stream and "\\u001b" not in stream and "\x9b" not in stream
        assert "\\u009b" not in stream
    assert "Forbidden" in proc.stdout


def test_echoed_credentials_are_redacted() -> None:
    proc, report, _ = run_tunnel("echo-credentials", "--proxy-user", USER,
                                 env={"PATHPROBE_PROXY_PASSWORD": PASSWORD})
    assert codes(report) == ["PROXY_DENIED"]
    secret = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    assert secret not in proc.stdout + proc.stderr


def test_echo_server_really_echoes() -> None:
    """The server above does put the secret in its answer (so the test can fail)."""
    _, report, _ = run_tunnel("echo-credentials", "--proxy-user", USER,
                              env={"PATHPROBE_PROXY_PASSWORD": PASSWORD})
    assert codes(report) == ["PROXY_DENIED"]


@pytest.mark.parametrize("behaviour", ["200-then-silence", "http10-200-with-body",
                                       "bare-lf-200"])
def test_far_end_that_never_answers_is_no_size_verdict_or_crash(behaviour: str) -> None:
    """Robustness half: bounded, no traceback, exit 1/3 (checked in run_tunnel)."""
    run_tunnel(behaviour)


@pytest.mark.parametrize("behaviour", ["200-then-silence", "http10-200-with-body",
                                       "bare-lf-200"])
def test_far_end_that_never_answers_is_not_a_black_hole(behaviour: str) -> None:
    _, report, _ = run_tunnel(behaviour)
    assert "PMTU_BLACKHOLE" not in codes(report), report


@pytest.mark.parametrize(("behaviour", "evidence"), [
    ("200-then-close", "the tunnel closed after the proxy's 200"),
    ("200-then-echo", "was our own bytes"),
])
def test_tunnel_that_closes_or_echoes_after_200_is_a_stall_never_a_size(
        behaviour: str, evidence: str) -> None:
    """Issue 23 item 8: one verdict, no size anywhere, and the path agrees with the summary
    (it said 'ok leg 2 down' while the summary said 'not measured'); our own ClientHello
    echoed back is not the far end's answer."""
    _, report, _ = run_tunnel(behaviour)
    assert codes(report) == ["TUNNEL_STALL"], report
    (v,) = report["verdicts"]
    assert v["confidence"] == "inferred" and v["leg"] == "proxy-upstream"
    assert all(v.get(k) is None for k in ("mtu", "max_payload", "pmtu_low", "pmtu_high")), v
    assert any(evidence in line for line in v["evidence"]), v["evidence"]
    for leg in report["legs"]:
        assert all(leg.get(k) is None for k in ("max_payload", "max_payload_at_least", "pmtu",
                                                 "pmtu_low", "pmtu_high")), leg
    assert "never answers" in report["summary"]
    with HostileProxy(BEHAVIOURS[behaviour]) as proxy:
        text = subprocess.run(
            [sys.executable, "-m", "pathprobe", "tunnel", "--proxy", proxy.url, "--target",
             TARGET, "--quiet"], capture_output=True, text=True, timeout=BOUND_S + 30,
            env=cli_env(), check=False).stdout
    path = text.split("\nPath\n")[1].split("\n\n")[0]
    assert "XX leg 2 up    TUNNEL_STALL" in path and "XX leg 2 down  TUNNEL_STALL" in path, text
    assert "ok leg 2" not in path and "answer to GET / is too small" not in text
