"""The lab comes up and carries traffic through the real squid."""

from __future__ import annotations

from tests.conftest import Lab


def test_healthy_lab_carries_https_through_squid(lab: Lab) -> None:
    state = lab.up("healthy")
    assert state.ready_s < 5
    r = lab.run(["curl", "-sk", "-o", "/dev/null", "-w", "%{http_code} %{size_download}",
                 "-m", "10", "-x", "http://198.18.2.2:3128",
                 "https://upstream.pathprobe.test/bytes/200000"])
    assert r.stdout == "200 200000", r.stderr
