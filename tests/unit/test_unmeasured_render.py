"""render.unmeasured: every reason's sentence, word for word as pmtu and mss wrote them
before the reasons were typed (so the JSON of pmtu and mss does not change), and the
command's own flags."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import pytest

from pathprobe.model import Attempt, Step, Unmeasured, UnmeasuredReason
from pathprobe.render.unmeasured import unmeasured_sentence
from tests.conftest import cli_env

R = UnmeasuredReason
CASES = [
    (Unmeasured(Step.PMTU, R.NOTHING_DELIVERED, method="udp", size=576), "pmtu",
     "udp: nothing was delivered, not even 576 bytes"),
    (Unmeasured(Step.PMTU, R.PERMISSION, cause="ICMP probes need root"), "pmtu",
     "ICMP probes need root"),
    (Unmeasured(Step.PMTU, R.PERMISSION, tried=(Attempt("icmp", message="needs root"),
                                               Attempt("syn", message="needs root too"))),
     "pmtu", "icmp: needs root; syn: needs root too"),
    (Unmeasured(Step.PMTU, R.SILENT, "198.18.2.2", tried=(Attempt("tcp", message="x"),)),
     "pmtu", "198.18.2.2 answered no probe (tcp: x)"),
    (Unmeasured(Step.MSS, R.ERROR, "198.18.2.2:3128", "segments", cause="reset"), "mss",
     "segment sizes to 198.18.2.2:3128: reset"),
    (Unmeasured(Step.MSS, R.ERROR, method="hops", cause="needs root"), "mss",
     "the hop that rewrites our SYN: needs root"),
    (Unmeasured(Step.MSS, R.ERROR, method="peer", cause="timed out"), "mss",
     "the peer's segment size: timed out"),
    (Unmeasured(Step.MSS, R.ERROR, cause="cannot resolve x"), "mss", "cannot resolve x"),
    (Unmeasured(Step.MSS, R.SERVICE_RESETS_DATA, "198.18.2.2:443"), "mss",
     "198.18.2.2:443 resets connections that send data, even 1 byte: segment sizes cannot be "
     "measured on this port; try the proxy port"),
    (Unmeasured(Step.MSS, R.NOTHING_ACKED, "198.18.2.2:443"), "mss",
     "no data segment to 198.18.2.2:443 was acknowledged; the service may not accept data"),
    (Unmeasured(Step.MSS, R.RECEIVED_ROUTE_BOUND), "mss",
     "exact MSS received: our route MTU bounds TCP_INFO; capturing the SYN-ACK needs root "
     "(CAP_NET_RAW)"),
    (Unmeasured(Step.MSS, R.RECEIVED_WINDOW_BOUND), "mss",
     "exact MSS received: TCP_INFO caps it at half the peer's window; capturing the SYN-ACK "
     "needs root (CAP_NET_RAW)"),
    (Unmeasured(Step.MSS, R.NO_TCP_REPAIR, size=1300), "mss",
     "segments above the negotiated MSS (1300): raising our send MSS needs root "
     "(CAP_NET_ADMIN for TCP_REPAIR)"),
    (Unmeasured(Step.PMTU, R.METHOD_CEILING, method="tcp", size=1340, mtu=1340), "pmtu",
     "tcp can only send up to 1340 bytes here (the peer's MSS); 1340 crosses, larger sizes "
     "were not measured: use --method icmp as root"),
    (Unmeasured(Step.PMTU, R.METHOD_CEILING, method="tcp", size=1340, mtu=1340), "diagnose",
     "tcp can only send up to 1340 bytes here (the peer's MSS); 1340 crosses, larger sizes "
     "were not measured: run it as root (sudo) to probe with ICMP"),
    # diagnose: a step that could not run; tunnel: word for word as its error lines were.
    (Unmeasured(Step.DIAGNOSE, R.STEP_FAILED, "198.18.2.2", "step 1", cause="no answer"),
     "diagnose", "step 1: no answer"),
    (Unmeasured(Step.TUNNEL, R.REFLECTOR_UNREACHABLE, "r.example:8444", cause="403 Forbidden"),
     "tunnel", "reflector r.example:8444 not reachable through the proxy: 403 Forbidden"),
    (Unmeasured(Step.TUNNEL, R.NOT_A_REFLECTOR, "r.example:8444", cause="HTTP/1.0 200"),
     "tunnel", "r.example:8444 is not a pathprobe reflector (greeting 'HTTP/1.0 200') or the "
     "token is wrong"),
    (Unmeasured(Step.TUNNEL, R.NO_SIZED_WRITE, "r.example:8444"), "tunnel",
     "leg 2 up: no sized write could be sent (the reflector refused every connection: busy, "
     "rate-limited or a wrong token)"),
    (Unmeasured(Step.TUNNEL, R.NO_ANSWER_UP, "r.example:8444", "reflector", 517), "tunnel",
     "leg 2 up: even 517-byte writes got no answer"),
    (Unmeasured(Step.TUNNEL, R.NO_ANSWER_UP, None, "hello", 517, non_tls=True), "diagnose",
     "leg 2 up: even 517-byte writes got no answer; the far end answered with non-TLS bytes; "
     "--target must be a TLS server that answers a ClientHello (or use --reflector)"),
    (Unmeasured(Step.TUNNEL, R.NO_ANSWER_UP, "r.example:8444", "reflector", 517, echoed=True),
     "tunnel", "leg 2 up: even 517-byte writes got no answer; our own bytes came back (the "
     "tunnel echoes): not the far end's answer"),
    (Unmeasured(Step.TUNNEL, R.NO_ANSWER_UP, None, "hello", 517), "library",
     "leg 2 up: even 517-byte writes got no answer; the target must be a TLS server that "
     "answers a ClientHello"),
    (Unmeasured(Step.TUNNEL, R.POSTS_INCOMPLETE, "t.example:443"), "tunnel",
     "leg 2 up not measured: TLS through the proxy did not complete for the POST bodies"),
    (Unmeasured(Step.TUNNEL, R.ANSWER_TOO_SMALL, "t.example:443"), "tunnel",
     "leg 2 down not measured: the target's answer to GET / is too small (use --reflector)"),
    (Unmeasured(Step.TUNNEL, R.ANSWER_TOO_SMALL, "t.example:443"), "library",
     "leg 2 down not measured: the target's answer to GET / is too small"),
    (Unmeasured(Step.TUNNEL, R.FAR_END_SILENT, "t.example:443"), "tunnel",
     "leg 2: the far end never answered through the tunnel; no size was measured"),
]


@pytest.mark.parametrize(("u", "command", "text"), CASES)
def test_sentence(u: Unmeasured, command: str, text: str) -> None:
    assert unmeasured_sentence(u, command) == text


def test_every_reason_has_a_sentence() -> None:
    covered = {u.reason for u, _c, _t in CASES} | {R.LOWER_BOUND}
    assert covered == set(R)
    for reason in R:
        assert unmeasured_sentence(Unmeasured(Step.MSS, reason), "mss") is not None


def test_the_cli_adds_the_hint_that_names_its_own_flags() -> None:
    """Through the real CLI, on loopback: a closed TCP port is not measured (exit 3), and
    the hint render makes names pmtu's own --port and --method."""
    with socket.socket() as s:   # a port that was free a moment ago: closed now
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = subprocess.run([sys.executable, "-m", "pathprobe", "pmtu", "127.0.0.1", "--method",
                        "tcp", "--port", str(port), "--json"], capture_output=True, text=True,
                       env=cli_env(), timeout=60, check=False)
    assert r.returncode == 3, r.stderr[-500:]
    errors = json.loads(r.stdout)["errors"]
    assert errors == [f"TCP port {port} on 127.0.0.1 is not open (Connection refused)",
                      "check the address, and give --port a TCP port open on HOST "
                      "(or another --method)"]
