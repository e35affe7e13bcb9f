"""The pure rules of `pathprobe tunnel`: proxy answers to verdicts, search results to
max_payload / PMTU ranges and leg attribution, downloads to stalls, SYN MSS to clamps.
Plus the Digest stale-nonce retry against a loopback proxy (squid cannot be made to
send stale=true on demand)."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pathprobe.errors import UsageError
from pathprobe.facts.diagnose import DiagnoseFact
from pathprobe.facts.search import SearchFact
from pathprobe.facts.tunnel import (
    ConnectError,
    ConnectFailure,
    Download,
    Outcome,
    SizedProbe,
    TunnelFact,
)
from pathprobe.findings import attribute
from pathprobe.model import (
    Basis,
    Confidence,
    Credentials,
    Direction,
    Evidence,
    Leg,
    LegReport,
    LegSizes,
    Limit,
    ProxyConfig,
    Verdict,
    VerdictCode,
)
from pathprobe.probes import tunnel as io
from pathprobe.render.evidence import describe
from pathprobe.search import SearchResult, StopReason
from pathprobe.tunnel import parse_target
from pathprobe.tunnel_rules import (
    SizeFinding,
    clamp_verdict,
    connect_verdict,
    download_verdict,
    first_round_timeout,
    header_range,
    next_timeout,
    size_numbers,
    size_verdict,
)
from pathprobe.wire import http_connect as hc
from pathprobe.wire.hostport import HostPort
from pathprobe.wire.reflector_protocol import Hello, Syn, parse_hello

PROXY = ProxyConfig("198.18.2.2", 3128, "--proxy")
L1, L2 = Leg.FMC_PROXY, Leg.PROXY_UPSTREAM
# See tests/unit/test_evidence_text.py::test_fact_values_are_unique_across_steps.

def facts(v: Verdict) -> list[object]:
    return [e.fact for e in v.evidence]


def fact(v: Verdict, member: object) -> Evidence:
    return next(e for e in v.evidence if e.fact == member)


def _status(status: int, *headers: tuple[str, str], tried: str | None = None
            ) -> ConnectError:
    raw = f"HTTP/1.1 {status} X\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
    resp = hc.parse_response_head(raw.encode())
    assert resp is not None
    challenges = hc.parse_challenges(resp.get_all("Proxy-Authenticate"))
    return ConnectError(ConnectFailure.STATUS, f"{status} X", resp, challenges, tried)


@pytest.mark.parametrize(("err", "creds", "code", "leg", "last"), [
    (_status(403), None, VerdictCode.PROXY_DENIED, L1, TunnelFact.ACL_REFUSED),
    (_status(400), None, VerdictCode.PROXY_DENIED, L1, TunnelFact.ACL_REFUSED),
    pytest.param(_status(502), None, VerdictCode.PROXY_UPSTREAM_ERROR, L2,
                 TunnelFact.UPSTREAM_UNREACHABLE),
    pytest.param(_status(503), None, VerdictCode.PROXY_UPSTREAM_ERROR, L2,
                 TunnelFact.UPSTREAM_UNREACHABLE),
    pytest.param(_status(504), None, VerdictCode.PROXY_UPSTREAM_ERROR, L2,
                 TunnelFact.UPSTREAM_UNREACHABLE),
    (_status(407, ("Proxy-Authenticate", "NTLM"), ("Proxy-Authenticate", "Negotiate")),
     Credentials("u", "p"), VerdictCode.PROXY_AUTH_UNSUPPORTED, L1, TunnelFact.AUTH_UNSUPPORTED),
    (_status(407, ("Proxy-Authenticate", 'Basic realm="r"')), None,
     VerdictCode.PROXY_AUTH_REQUIRED, L1, TunnelFact.NO_CREDENTIALS),
    (_status(407, ("Proxy-Authenticate", 'Basic realm="r"'), tried="basic"),
     Credentials("u", "p"), VerdictCode.PROXY_AUTH_REQUIRED, L1,
     TunnelFact.CREDENTIALS_REJECTED),
    (ConnectError(ConnectFailure.UNREACHABLE, "refused"), None,
     VerdictCode.PROXY_UNREACHABLE, L1, TunnelFact.CONNECT_FAILED),
    (ConnectError(ConnectFailure.NO_RESPONSE, "silent"), None,
     VerdictCode.CONNECT_NO_RESPONSE, L1, TunnelFact.CONNECT_FAILED),
    (ConnectError(ConnectFailure.MALFORMED, "not HTTP"), None,
     VerdictCode.CONNECT_NO_RESPONSE, L1, TunnelFact.CONNECT_FAILED),
])
def test_connect_verdicts(err: ConnectError, creds: Credentials | None, code: VerdictCode,
                          leg: Leg, last: TunnelFact) -> None:
    v = connect_verdict(err, PROXY, HostPort("upstream.pathprobe.test", 443), creds)
    assert (v.code, v.leg, v.direction, v.basis, v.severity) == (
        code, leg, None, Basis.PROXY_ANSWER, None)
    first = v.evidence[0]
    assert first.fact is TunnelFact.CONNECT_FAILED and first.step.value == "tunnel"
    assert first.values["proxy"] == "http://198.18.2.2:3128"
    assert first.values["target"] == "upstream.pathprobe.test:443"
    assert v.evidence[-1].fact is last
    assert describe(first).startswith(
        "CONNECT upstream.pathprobe.test:443 via http://198.18.2.2:3128 (from --proxy): ")
    if err.response is not None:
        assert v.numbers["status"] == err.response.status
    assert not any("?" in describe(e) or "'p'" in describe(e) for e in v.evidence)


def test_auth_evidence_names_the_schemes_and_the_user_never_the_password() -> None:
    ntlm = connect_verdict(_status(407, ("Proxy-Authenticate", "NTLM"),
                                   ("Proxy-Authenticate", "Negotiate")), PROXY, HostPort("h", 443),
                           Credentials("fmc", "s3cret"))
    assert ntlm.numbers["offered"] == "ntlm,negotiate"
    assert fact(ntlm, TunnelFact.AUTH_OFFERED).values == {"schemes": "ntlm, negotiate"}
    assert describe(fact(ntlm, TunnelFact.AUTH_UNSUPPORTED)).startswith(
        "the FMC supports Basic and Digest proxy authentication, not NTLM/NEGOTIATE")
    rejected = connect_verdict(_status(407, ("Proxy-Authenticate", 'Basic realm="r"'),
                                       tried="basic"), PROXY, HostPort("h", 443),
                               Credentials("fmc", "s3cret"))
    text = " ".join(describe(e) for e in rejected.evidence)
    assert "credentials for user 'fmc' were rejected (basic)" in text
    assert "s3cret" not in text and "s3cret" not in repr(rejected)
    squid = connect_verdict(_status(403, ("X-Squid-Error", "ERR_ACCESS_DENIED 0")), PROXY,
                            HostPort("h", 443), None)
    assert fact(squid, TunnelFact.PROXY_ERROR_PAGE).values == {"error": "ERR_ACCESS_DENIED 0"}


def _result(ok: int | None, bad: int | None, exact: bool = True, probes: int = 20,
            rounds: int = 3) -> SearchResult:
    stop = (StopReason.CLOSED if exact and bad is not None else
            StopReason.HIGH_DELIVERED if exact else StopReason.PROBE_BUDGET)
    return SearchResult(largest_ok=ok, smallest_bad=bad, exact=exact, icmp_mtu=None,
                        signalled=False, probes=probes, rounds=rounds, stop=stop, low=536,
                        high=1460)


def _finding(ok: int | None, bad: int | None, *, exact: bool = True,
             direction: Direction = Direction.UP, kind: Outcome = Outcome.STALLED,
             family: int | None = None, stamps: bool | None = None,
             acked: bool | None = None) -> SizeFinding:
    return SizeFinding(direction, _result(ok, bad, exact), 1460, {bad: kind} if bad else {},
                       "m", family, stamps, acked={bad: acked} if bad else {})


def test_header_ranges() -> None:
    assert header_range(None, None)[:2] == (40, 72)
    assert header_range(4, None)[:2] == (40, 52)
    assert header_range(6, True)[:2] == (72, 72)
    assert header_range(4, False)[:2] == (40, 40)


def test_size_numbers_never_over_report() -> None:
    n = size_numbers(_finding(1348, 1349, family=4, stamps=True))
    assert (n["max_payload"], n["pmtu_low"], n["pmtu_high"]) == (1348, 1400, 1400)
    n = size_numbers(_finding(1328, 1329))
    assert (n["pmtu_low"], n["pmtu_high"]) == (1368, 1400)
    # Not exact: only a lower bound, no max_payload claimed.
    n = size_numbers(_finding(1200, 1400, exact=False))
    assert n["max_payload"] is None and n["max_payload_at_least"] == 1200
    assert n["pmtu_high"] is None
    # Everything crossed: writes above the proxy's MSS are split, so no PMTU at all.
    n = size_numbers(_finding(1460, None))
    assert n["pmtu_low"] is None and n["max_payload_at_least"] == 1460
    # ... unless the reflector saw the largest segment that arrived.
    seen = SizeFinding(Direction.UP, _result(1460, None, probes=12, rounds=1), 1460, {}, "m",
                       6, True, 1288)
    n = size_numbers(seen)
    assert (n["pmtu_low"], n["pmtu_high"], n["max_segment"]) == (1360, None, 1288)


def test_size_verdicts_state_leg2_with_the_basis_of_what_the_tunnel_saw() -> None:
    assert size_verdict(_finding(1460, None), None) is None
    assert size_verdict(_finding(None, 536), None) is None   # nothing crossed: no size
    v = size_verdict(_finding(1348, 1349, family=4, stamps=True), 4)
    assert v is not None and v.code is VerdictCode.PMTU_BLACKHOLE
    assert (v.leg, v.direction, v.confidence, v.basis, v.severity) == (
        L2, Direction.UP, Confidence.MEASURED, Basis.NEEDS_LEG1, None)
    assert v.limit == Limit(max_payload=1348, pmtu_low=1400, pmtu_high=1400, exact=True)
    assert v.numbers == {"write_failed": 1349, "leg1_ip_version": 4}
    assert facts(v) == [TunnelFact.WRITES, SearchFact.SEARCH, TunnelFact.PAYLOAD_CROSSES]
    assert fact(v, TunnelFact.WRITES).values == {"method": "m", "ok": 1348, "bad": 1349,
                                                 "how": "stalled"}
    assert describe(fact(v, TunnelFact.WRITES)) == (
        "m: 1348 bytes in one write answered, 1349 stalled (no answer)")
    assert describe(fact(v, TunnelFact.PAYLOAD_CROSSES)) == (
        "up: 1348-byte TCP payloads cross in one segment: PMTU 1400..1400 (IPv4, with TCP "
        "timestamps)")
    bound = size_verdict(_finding(1200, 1400, exact=False), None)
    assert bound is not None and bound.limit == Limit(max_payload=1200, pmtu_low=1240,
                                                      exact=False)
    assert fact(bound, TunnelFact.NOT_EXACT).values == {"ok": 1200}


@pytest.mark.parametrize(("finding", "code", "basis"), [
    (_finding(1348, 1349, acked=True), VerdictCode.PMTU_BLACKHOLE, Basis.PROXY_ACKED),
    (_finding(1348, 1349, acked=False), VerdictCode.PMTU_BLACKHOLE, Basis.PROXY_NEVER_ACKED),
    (_finding(1348, 1349), VerdictCode.PMTU_BLACKHOLE, Basis.NEEDS_LEG1),
    (_finding(1248, 1249, kind=Outcome.RESET), VerdictCode.RST_ON_LARGE_SEGMENT,
     Basis.RESET_ON_OUR_SOCKET),
    (_finding(1248, 1249, kind=Outcome.CLOSED), VerdictCode.RST_ON_LARGE_SEGMENT,
     Basis.NEEDS_LEG1),
    (_finding(1128, 1129, direction=Direction.DOWN), VerdictCode.PMTU_BLACKHOLE,
     Basis.SMALL_MSS_ON_LEG1),
], ids=["acked", "never-acked", "ack-unknown", "reset", "closed", "down"])
def test_the_basis_follows_what_the_tunnel_saw(finding: SizeFinding, code: VerdictCode,
                                               basis: Basis) -> None:
    v = size_verdict(finding, None)
    assert v is not None and (v.code, v.leg, v.basis) == (code, L2, basis)
    assert v.numbers["write_failed"] == finding.search.smallest_bad
    if finding.direction is Direction.DOWN:
        assert v.numbers["our_mss"] == 536


def test_size_verdicts_end_on_the_leg_their_basis_proves() -> None:
    """size_verdict states facts; findings.attribute decides the leg (as diagnose does)."""
    def leg_of(f: SizeFinding, *context: Verdict, legs: tuple[LegReport, ...] = ()
               ) -> tuple[Leg, Confidence]:
        v = size_verdict(f, 4)
        assert v is not None
        out, _ = attribute([*context, v], legs)
        return out[-1].leg, out[-1].confidence

    healthy_leg1 = Verdict(VerdictCode.HEALTHY, L1, Direction.BOTH, limit=Limit(mtu=1500),
                           basis=Basis.THIS_LEG_ONLY)
    assert leg_of(_finding(1348, 1349)) == (L2, Confidence.INFERRED)     # leg 1 unknown
    assert leg_of(_finding(1348, 1349), healthy_leg1) == (L2, Confidence.MEASURED)
    said_1300 = (LegReport(L1, "198.18.2.2:3128", None, {"max_payload": 1300},
                           sizes=LegSizes(max_payload=1300)),)
    assert leg_of(_finding(1348, 1349), legs=said_1300) == (L1, Confidence.INFERRED)
    assert leg_of(_finding(1348, 1349, acked=True)) == (L2, Confidence.MEASURED)
    assert leg_of(_finding(1348, 1349, acked=False)) == (L1, Confidence.MEASURED)
    assert leg_of(_finding(1248, 1249, kind=Outcome.RESET)) == (L1, Confidence.INFERRED)
    assert leg_of(_finding(1128, 1129, direction=Direction.DOWN)) == (L2, Confidence.MEASURED)
    v = size_verdict(_finding(1248, 1249, kind=Outcome.RESET), 4)
    assert v is not None
    (moved,), _ = attribute([v], [])
    assert DiagnoseFact.RESET_ON_OUR_SOCKET in facts(moved)
    assert moved.limit == Limit(max_payload=1248, pmtu_low=1288, pmtu_high=1300)


def test_download_verdicts() -> None:
    ok = Download(1000, 1000, True, False, 0.0, 0.1, "complete", 5000)
    assert download_verdict(ok, "GET", True) is None
    stall = Download(262144, 60000, False, True, 3.0, 3.2, "data stopped", 61000)
    v = download_verdict(stall, "GET", True)
    assert v is not None and v.code is VerdictCode.TUNNEL_STALL
    assert (v.leg, v.direction, v.confidence) == (L2, Direction.DOWN, Confidence.MEASURED)
    assert v.numbers["stalled_after"] == 60000 and v.numbers["idle_s"] == 3.0
    assert facts(v) == [TunnelFact.DOWNLOAD_STALLED, TunnelFact.DOWN_FLOWED_THEN_STOPPED]
    assert describe(v.evidence[0]) == (
        "GET: data stopped after 60000 body bytes of 262144 (61000 bytes through the tunnel "
        "in all); idle 3.0 s")
    hole = Download(262144, 0, False, True, 3.0, 3.0, "data stopped", 1100)
    v = download_verdict(hole, "GET", True)
    assert v is not None and v.code is VerdictCode.PMTU_BLACKHOLE
    assert (v.leg, v.direction, v.basis) == (L2, Direction.DOWN, Basis.SMALL_MSS_ON_LEG1)
    assert v.limit == Limit(max_payload=536, exact=False)
    assert TunnelFact.DOWN_FIRST_SEGMENTS_ONLY in facts(v)
    # Not one byte back and no write answered: a silent far end, no size concluded.
    silent = Download(None, 0, False, True, 3.0, 3.0, "no answer", 0)
    v = download_verdict(silent, "GET", False)
    assert v is not None and (v.code, v.direction, v.limit) == (VerdictCode.TUNNEL_STALL,
                                                                None, None)
    assert v.confidence is Confidence.INFERRED and TunnelFact.FAR_END_SILENT in facts(v)
    # ... but when writes were answered, the same silence is a down-direction size problem.
    v = download_verdict(silent, "GET", True)
    assert v is not None and v.code is VerdictCode.PMTU_BLACKHOLE


def _hello(mss: int | None, version: int | None = 4) -> Hello:
    if version is None:
        return Hello(None, None)
    return Hello(None, Syn(version, 64, 60 if version == 4 else 80, mss, True, True, 7))


def test_clamp_verdicts_are_family_aware() -> None:
    assert clamp_verdict(_hello(1460), 1460, 4) is None
    assert clamp_verdict(_hello(1440, 6), 1460, 4) is None
    v = clamp_verdict(_hello(1300, 6), 1460, 4)
    assert v is not None and v.numbers == {"mss_sent": 1440, "mss_received": 1300,
                                           "ip_version": 6}
    assert (v.code, v.leg, v.direction, v.confidence) == (
        VerdictCode.MSS_CLAMPED, L2, Direction.UP, Confidence.MEASURED)
    assert facts(v) == [TunnelFact.SYN_AT_REFLECTOR, TunnelFact.PROXY_MSS_ON_LEG1,
                        TunnelFact.LEG2_DEVICE_LOWERED]
    assert describe(v.evidence[1]) == (
        "the proxy advertises MSS 1460 to us on leg 1 (IPv4), so it sends 1440 on leg 2")
    v = clamp_verdict(_hello(1300), None)
    assert v is not None and v.confidence is Confidence.INFERRED
    assert fact(v, TunnelFact.PROXY_MSS_DEFAULT).values == {"expected": 1460}
    assert clamp_verdict(_hello(None), 1460) is None


@pytest.mark.parametrize(("line", "shape"), [
    ('{"pathprobe": "reflector", "version": 1, "peer": "2001:db8:3::2", "syn_mss": 1300, '
     '"syn_ip_version": 6, "syn_ttl": 63, "syn_header_bytes": 80, "syn_timestamps": false}',
     (1300, 6, False, "2001:db8:3::2")),
    ('{"pathprobe": "reflector", "syn_mss": true, "syn_ip_version": "4", "peer": 7}',
     (None, None, None, None)),
    ('{"pathprobe": "other", "syn_mss": 1300}', None),
    ("[1, 2]", None), ("not json", None), ("", None), (None, None),
])
def test_parse_hello(line: str | None,
                     shape: tuple[int | None, int | None, bool | None, str | None] | None
                     ) -> None:
    """The tunnel reads the greeting with the reflector protocol's own parser."""
    hello = parse_hello(line)
    if shape is None:
        assert hello is None
        return
    assert hello is not None
    assert (hello.syn_mss, hello.syn_ip_version, hello.syn_timestamps, hello.peer) == shape


@given(st.lists(st.floats(0, 100), max_size=20), st.floats(0.5, 3))
def test_timeouts_stay_bounded(answered: list[float], current: float) -> None:
    t = next_timeout(answered, current)
    assert 0.5 <= t <= 3.0


@pytest.mark.parametrize(("text", "host", "port"), [
    ("tools.cisco.com:443", "tools.cisco.com", 443), ("[2001:db8:4::2]:443", "2001:db8:4::2", 443),
    ("198.18.4.2:7007", "198.18.4.2", 7007)])
def test_targets(text: str, host: str, port: int) -> None:
    assert parse_target(text) == HostPort(host, port)


@pytest.mark.parametrize("text", ["tools.cisco.com", "a b:1", "h:0", "h:70000", "2001:db8::1:443"])
def test_bad_targets(text: str) -> None:
    with pytest.raises(UsageError):
        parse_target(text)


def _fake_digest_proxy(answers: list[bytes], seen: list[bytes]) -> socket.socket:
    """A loopback 'proxy' that answers each connection with the next canned response."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)

    def run() -> None:
        for answer in answers:
            conn, _ = srv.accept()
            with conn:
                seen.append(conn.recv(4096))
                conn.sendall(answer)
    threading.Thread(target=run, daemon=True).start()
    return srv


def test_digest_stale_nonce_is_retried_once_then_tunnel_opens() -> None:
    chal = 'Digest realm="r", nonce="{}", qop="auth", algorithm=MD5{}'
    answers = [
        f"HTTP/1.1 407 A\r\nProxy-Authenticate: {chal.format('n1', '')}\r\n\r\n".encode(),
        f"HTTP/1.1 407 A\r\nProxy-Authenticate: {chal.format('n2', ', stale=true')}\r\n"
        "\r\n".encode(),
        b"HTTP/1.1 200 Connection established\r\n\r\n",
    ]
    seen: list[bytes] = []
    srv = _fake_digest_proxy(answers, seen)
    try:
        proxy = ProxyConfig("127.0.0.1", srv.getsockname()[1], "--proxy")
        auth = io.Authenticator(Credentials("fmc", "pw"), "h:443")
        t = io.open_tunnel(proxy, HostPort("h", 443), auth, timeout=3)
        assert isinstance(t, io.Tunnel) and t.response.status == 200
        t.sock.close()
    finally:
        srv.close()
    assert b"Proxy-Authorization" not in seen[0]
    assert b'nonce="n1"' in seen[1] and b'nonce="n2"' in seen[2]
    assert b"pw" not in seen[1] and b"pw" not in seen[2]  # Digest never sends the password


def test_a_stale_nonce_retry_keeps_to_its_own_nonce_while_other_probes_move_on() -> None:
    # Parallel probes share one nonce; when it goes stale, each in flight gets its own 407.
    # Here another probe learns a newer nonce while this one waits for its 407: the retry
    # answers its own challenge (n2, nc 1, used by no one else) and leaves the other's.
    chal = 'Digest realm="r", nonce="{}", qop="auth", algorithm=MD5{}'
    auth = io.Authenticator(Credentials("fmc", "pw"), "h:443")
    auth.learn(hc.parse_challenges([chal.format("n1", "")]))
    rival = hc.parse_challenges([chal.format("n9", "")])
    seen: list[bytes] = []
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)

    def run() -> None:
        for i, answer in enumerate((
                f"HTTP/1.1 407 A\r\nProxy-Authenticate: {chal.format('n2', ', stale=true')}"
                "\r\n\r\n".encode(), b"HTTP/1.1 200 Connection established\r\n\r\n")):
            conn, _ = srv.accept()
            with conn:
                seen.append(conn.recv(4096))
                if i == 0:
                    auth.learn(rival)   # another probe's retry, meanwhile
                    auth.header()
                conn.sendall(answer)
    threading.Thread(target=run, daemon=True).start()
    try:
        proxy = ProxyConfig("127.0.0.1", srv.getsockname()[1], "--proxy")
        t = io.open_tunnel(proxy, HostPort("h", 443), auth, timeout=3)
        assert isinstance(t, io.Tunnel) and t.response.status == 200
        t.sock.close()
    finally:
        srv.close()
    assert b'nonce="n1"' in seen[0]
    assert b'nonce="n2"' in seen[1] and b"nc=00000001" in seen[1]
    assert auth.challenge is rival[0]
    assert 'nc=00000002' in (auth.header() or "")


def test_inconsistent_answers_give_a_lower_bound_only() -> None:
    from pathprobe.tunnel_rules import consistent

    r = _result(1400, 1401)
    fixed = consistent(r, {536, 1300, 1348, 1400, 1450}, {1349: Outcome.STALLED,
                                                          1401: Outcome.STALLED})
    assert (fixed.largest_ok, fixed.smallest_bad, fixed.exact) == (1348, 1349, False)
    assert fixed.stop is StopReason.NOTHING_LEFT
    assert fixed.retracted == (1400, 1450)
    assert (fixed.probes, fixed.rounds) == (r.probes, r.rounds)
    assert size_numbers(SizeFinding(Direction.UP, fixed, 1460, {}, "m"))["max_payload"] is None
    same = consistent(r, {536, 1400}, {1401: Outcome.STALLED})
    assert same == r


def _drip_proxy(payload: bytes, delay: float, stop: threading.Event,
                step: int) -> socket.socket:
    """A loopback 'proxy' that sends ``payload`` ``step`` bytes at a time, ``delay`` apart."""
    import time

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(2)

    def run() -> None:
        conn, _ = srv.accept()
        with conn:
            conn.recv(4096)  # the CONNECT request (unread data would make close() a reset)
            for i in range(0, len(payload), step):
                if stop.is_set():
                    return
                try:
                    conn.sendall(payload[i:i + step])
                except OSError:
                    return
                time.sleep(delay)
            conn.settimeout(15)
            with contextlib.suppress(OSError):
                while conn.recv(65536):  # until the client hangs up
                    pass
    threading.Thread(target=run, daemon=True).start()
    return srv


@pytest.mark.parametrize(("payload", "delay", "step", "timeout", "kind"), [
    (b"HTTP/1.1 200 Connection established\r\n\r\n", 0.1, 1, 1.0,
     ConnectFailure.NO_RESPONSE),
    (b"HTTP/1.1 200 OK\r\nX: " + b"a" * (hc.MAX_HEAD_BYTES + 10), 0.0, 1 << 20, 10.0,
     ConnectFailure.MALFORMED),
], ids=["slow-drip", "huge-head"])
def test_slow_drip_and_huge_heads_are_bounded(payload: bytes, delay: float, step: int,
                                              timeout: float, kind: ConnectFailure) -> None:
    import time

    stop = threading.Event()
    srv = _drip_proxy(payload, delay, stop, step)
    try:
        proxy = ProxyConfig("127.0.0.1", srv.getsockname()[1], "--proxy")
        t0 = time.monotonic()
        res = io.open_tunnel(proxy, HostPort("h", 443), io.Authenticator(None, "h:443"),
                             timeout=timeout)
        assert time.monotonic() - t0 < timeout + 2.0
        assert isinstance(res, ConnectError) and res.kind is kind, res
    finally:
        stop.set()
        srv.close()


def test_first_round_timeout_scales_with_the_connect_round_trip() -> None:
    assert first_round_timeout(0.0002) == 1.0  # lab: the floor
    assert first_round_timeout(0.3) == 5 * 0.3 + 0.25  # a slow path waits longer
    assert first_round_timeout(10.0) == 3.0  # never beyond the ceiling


def test_first_round_waits_from_an_answer_over_both_legs_when_there_is_one() -> None:
    # The TLS check's handshake was answered by the target: round 1 waits as later rounds
    # wait from their answers (5x + 0.25 s), not from a fixed 1 s floor ...
    assert first_round_timeout(0.0002, 0.02) == 0.5
    assert first_round_timeout(0.0002, 0.3) == 5 * 0.3 + 0.25
    assert first_round_timeout(0.0002, 10.0) == 3.0
    # ... and never below the floor that outlasts a retransmission at the minimum RTO.
    assert first_round_timeout(0.0002, 0.0) == next_timeout([0.0], 9.9) == 0.5


# --- the proxy passing leg 1's pieces on as they came (a race in its reads) ---------------

LEG1_SEGMENT = 1288   # leg 1 clamped to 1300 (timestamps on)
LEG2_LIMIT = 1328     # largest write that crosses leg 2 in one segment


def _probe(size: int, outcome: Outcome, segment: int | None = None) -> SizedProbe:
    return SizedProbe(size, outcome, 0.01, segment=segment)


def test_a_write_answered_in_leg1_pieces_proves_only_the_piece() -> None:
    from pathprobe.search import ProbeOutcome, ProbeResult
    from pathprobe.tunnel_rules import to_probe_result

    split = _probe(1450, Outcome.ANSWERED, segment=LEG1_SEGMENT)
    assert to_probe_result(split, LEG1_SEGMENT) == ProbeResult(LEG1_SEGMENT,
                                                               ProbeOutcome.DELIVERED)
    # The same split a second time is the proxy's own segmentation: the write got through.
    assert to_probe_result(split, LEG1_SEGMENT, split_before=True) == ProbeResult(
        1450, ProbeOutcome.DELIVERED)
    # Re-assembled and segmented by the proxy at its own MSS: delivered.
    whole = _probe(1450, Outcome.ANSWERED, segment=1428)
    assert to_probe_result(whole, LEG1_SEGMENT).size == 1450
    assert to_probe_result(split, None).size == 1450  # leg 1 unknown: as before
    assert to_probe_result(_probe(900, Outcome.UNTESTED), LEG1_SEGMENT) is None
    assert to_probe_result(_probe(900, Outcome.STALLED)) == ProbeResult(
        900, ProbeOutcome.LOST)


def _article_prober(splits: set[int], always_split: bool = False
                    ) -> Callable[[int, float], SizedProbe]:
    """Writes above leg 1's segment arrive in pieces when the proxy's read raced
    (sizes in ``splits``, first attempt only, or always); otherwise re-assembled, and
    a whole write above LEG2_LIMIT is black-holed on leg 2."""
    tried: set[int] = set()
    lock = threading.Lock()

    def probe(n: int, timeout: float) -> SizedProbe:
        with lock:
            first = n not in tried
            tried.add(n)
        if n > LEG1_SEGMENT and (always_split or (first and n in splits)):
            return _probe(n, Outcome.ANSWERED, segment=LEG1_SEGMENT)
        if n > LEG2_LIMIT:
            return SizedProbe(n, Outcome.STALLED, timeout, acked=True)
        return _probe(n, Outcome.ANSWERED, segment=n)
    return probe


@given(st.sets(st.integers(LEG1_SEGMENT + 1, 1460), max_size=40))
def test_racy_splits_never_raise_the_answer(splits: set[int]) -> None:
    from pathprobe.tunnel_session import search_direction as _search

    res = _search(_article_prober(splits), 536, 1460, lambda _m: None, "t", 0.5,
                  LEG1_SEGMENT).result
    assert res.largest_ok is not None and res.largest_ok <= LEG2_LIMIT
    if res.exact:
        assert (res.largest_ok, res.smallest_bad) == (LEG2_LIMIT, LEG2_LIMIT + 1)


def test_repeatable_splits_count_as_delivered() -> None:
    """PMTUD working on leg 2 at leg 1's segment size: every write gets through."""
    from pathprobe.tunnel_session import search_direction as _search

    out = _search(_article_prober(set(), always_split=True), 536, 1460,
                  lambda _m: None, "t", 0.5, LEG1_SEGMENT)
    assert out.result.largest_ok == 1460 and out.broken is None
    assert out.max_segment == LEG1_SEGMENT


def test_a_failed_write_records_whether_the_proxy_acked_it() -> None:
    from pathprobe.tunnel_session import search_direction as _search

    out = _search(_article_prober(set()), 536, 1460, lambda _m: None, "t", 0.5)
    assert (out.result.largest_ok, out.result.smallest_bad) == (LEG2_LIMIT, LEG2_LIMIT + 1)
    assert out.failures[LEG2_LIMIT + 1] is Outcome.STALLED
    assert out.acked[LEG2_LIMIT + 1] is True


def test_a_broken_tunnel_aborts_the_search_and_says_why() -> None:
    from pathprobe.tunnel_session import search_direction as _search

    err = ConnectError(ConnectFailure.STATUS, "403 Forbidden")

    def prober(n: int, timeout: float) -> SizedProbe:
        if n > 1000:
            return SizedProbe(n, Outcome.UNTESTED, 0.0, connect_error=err)
        return _probe(n, Outcome.ANSWERED, segment=n)

    out = _search(prober, 536, 1460, lambda _m: None, "t", 0.5)
    assert out.broken is err
    assert out.result.stop is StopReason.ABORTED and not out.result.exact


def test_a_busy_reflector_says_so() -> None:
    from pathprobe.reflector import BUSY, Limits, ReflectorServer

    srv = ReflectorServer(("127.0.0.1", 0), limits=Limits(max_connections=0))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        with socket.create_connection(srv.server_address[:2], timeout=3) as s:
            assert s.makefile("rb").readline() == BUSY
    finally:
        srv.shutdown()
        srv.server_close()
