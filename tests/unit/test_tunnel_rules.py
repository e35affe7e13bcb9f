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
from pathprobe.model import Confidence, Direction, VerdictCode
from pathprobe.probes import tunnel as io
from pathprobe.proxyconf import Credentials, ProxyConfig
from pathprobe.search import SearchResult
from pathprobe.tunnel import (
    SizeFinding,
    clamp_verdict,
    connect_verdict,
    download_verdict,
    first_round_timeout,
    header_range,
    next_timeout,
    parse_target,
    size_numbers,
    size_verdict,
)
from pathprobe.wire import http_connect as hc

PROXY = ProxyConfig("198.18.2.2", 3128, "--proxy")


def _status(status: int, *headers: tuple[str, str], tried: str | None = None
            ) -> io.ConnectError:
    raw = f"HTTP/1.1 {status} X\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
    resp = hc.parse_response_head(raw.encode())
    assert resp is not None
    challenges = hc.parse_challenges(resp.get_all("Proxy-Authenticate"))
    return io.ConnectError(io.ConnectFailure.STATUS, f"{status} X", resp, challenges, tried)


@pytest.mark.parametrize(("err", "creds", "code", "leg"), [
    (_status(403), None, VerdictCode.PROXY_DENIED, "fmc-proxy"),
    (_status(400), None, VerdictCode.PROXY_DENIED, "fmc-proxy"),
    (_status(502), None, VerdictCode.PROXY_UPSTREAM_ERROR, "proxy-upstream"),
    (_status(503), None, VerdictCode.PROXY_UPSTREAM_ERROR, "proxy-upstream"),
    (_status(504), None, VerdictCode.PROXY_UPSTREAM_ERROR, "proxy-upstream"),
    (_status(407, ("Proxy-Authenticate", "NTLM"), ("Proxy-Authenticate", "Negotiate")),
     Credentials("u", "p"), VerdictCode.PROXY_AUTH_UNSUPPORTED, "fmc-proxy"),
    (_status(407, ("Proxy-Authenticate", 'Basic realm="r"')), None,
     VerdictCode.PROXY_AUTH_REQUIRED, "fmc-proxy"),
    (_status(407, ("Proxy-Authenticate", 'Basic realm="r"'), tried="basic"),
     Credentials("u", "p"), VerdictCode.PROXY_AUTH_REQUIRED, "fmc-proxy"),
    (io.ConnectError(io.ConnectFailure.UNREACHABLE, "refused"), None,
     VerdictCode.PROXY_UNREACHABLE, "fmc-proxy"),
    (io.ConnectError(io.ConnectFailure.NO_RESPONSE, "silent"), None,
     VerdictCode.CONNECT_NO_RESPONSE, "fmc-proxy"),
    (io.ConnectError(io.ConnectFailure.MALFORMED, "not HTTP"), None,
     VerdictCode.CONNECT_NO_RESPONSE, "fmc-proxy"),
])
def test_connect_verdicts(err: io.ConnectError, creds: Credentials | None, code: VerdictCode,
                          leg: str) -> None:
    v = connect_verdict(err, PROXY, "upstream.pathprobe.test:443", creds)
    assert (v.code, v.leg) == (code, leg)
    assert v.evidence and "198.18.2.2:3128" in v.evidence[0]


def _finding(ok: int | None, bad: int | None, *, exact: bool = True,
             direction: Direction = Direction.UP, kind: io.Outcome = io.Outcome.STALLED,
             family: int | None = None, stamps: bool | None = None) -> SizeFinding:
    r = SearchResult(ok, bad, exact, None, False, 20, 3, "test")
    return SizeFinding(direction, r, 1460, {bad: kind} if bad else {}, "m", family, stamps)


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
    seen = SizeFinding(Direction.UP, SearchResult(1460, None, True, None, False, 12, 1, "t"),
                       1460, {}, "m", 6, True, 1288)
    n = size_numbers(seen)
    assert (n["pmtu_low"], n["pmtu_high"], n["max_segment"]) == (1360, None, 1288)


def test_size_verdicts_and_leg_attribution() -> None:
    assert size_verdict(_finding(1460, None), None) is None
    v = size_verdict(_finding(1348, 1349), None)
    assert v is not None and v.code is VerdictCode.PMTU_BLACKHOLE
    assert (v.leg, v.confidence) == ("proxy-upstream", Confidence.INFERRED)
    v = size_verdict(_finding(1348, 1349), 1448)
    assert v is not None and v.confidence is Confidence.MEASURED
    v = size_verdict(_finding(1348, 1349), 1300)  # leg 1 is the smaller limit
    assert v is not None and v.leg == "fmc-proxy" and v.confidence is Confidence.INFERRED
    v = size_verdict(_finding(1248, 1249, kind=io.Outcome.CLOSED), 1448)
    assert v is not None and v.code is VerdictCode.RST_ON_LARGE_SEGMENT
    assert v.numbers["rst_threshold"] == 1249
    acked = SizeFinding(Direction.UP, SearchResult(1348, 1349, True, None, False, 9, 2, "t"),
                        1460, {1349: io.Outcome.STALLED}, "m", acked={1349: True})
    v = size_verdict(acked, None)
    assert v is not None and (v.leg, v.confidence) == ("proxy-upstream", Confidence.MEASURED)
    lost_on_leg1 = SizeFinding(Direction.UP, acked.search, 1460, acked.failures, "m",
                               acked={1349: False})
    v = size_verdict(lost_on_leg1, None)
    assert v is not None and v.leg == "fmc-proxy"
    v = size_verdict(_finding(1248, 1249, kind=io.Outcome.RESET), None)
    assert v is not None and v.code is VerdictCode.RST_ON_LARGE_SEGMENT and v.leg == "fmc-proxy"
    v = size_verdict(_finding(1128, 1129, direction=Direction.DOWN), None)
    assert v is not None and v.confidence is Confidence.MEASURED  # leg 1 down used 536


def test_download_verdicts() -> None:
    ok = io.Download(1000, 1000, True, False, 0.0, 0.1, "complete")
    assert download_verdict(ok, "GET") is None
    stall = io.Download(262144, 60000, False, True, 3.0, 3.2, "data stopped", 61000)
    v = download_verdict(stall, "GET")
    assert v is not None and v.code is VerdictCode.TUNNEL_STALL
    assert v.numbers["stalled_after"] == 60000 and v.numbers["idle_s"] == 3.0
    hole = io.Download(262144, 0, False, True, 3.0, 3.0, "data stopped", 1100)
    v = download_verdict(hole, "GET")
    assert v is not None and v.code is VerdictCode.PMTU_BLACKHOLE
    assert v.direction is Direction.DOWN


def test_clamp_verdicts_are_family_aware() -> None:
    assert clamp_verdict({"syn_mss": 1460, "syn_ip_version": 4}, 1460, 4) is None
    assert clamp_verdict({"syn_mss": 1440, "syn_ip_version": 6}, 1460, 4) is None
    v = clamp_verdict({"syn_mss": 1300, "syn_ip_version": 6}, 1460, 4)
    assert v is not None and v.numbers == {"mss_sent": 1440, "mss_received": 1300}
    v = clamp_verdict({"syn_mss": 1300, "syn_ip_version": 4}, None)
    assert v is not None and v.confidence is Confidence.INFERRED
    assert clamp_verdict({"syn": None}, 1460) is None


@given(st.lists(st.floats(0, 100), max_size=20), st.floats(0.5, 3))
def test_timeouts_stay_bounded(answered: list[float], current: float) -> None:
    t = next_timeout(answered, current)
    assert 0.5 <= t <= 3.0


@pytest.mark.parametrize(("text", "host", "port"), [
    ("tools.cisco.com:443", "tools.cisco.com", 443), ("[2001:db8:4::2]:443", "2001:db8:4::2", 443),
    ("198.18.4.2:7007", "198.18.4.2", 7007)])
def test_targets(text: str, host: str, port: int) -> None:
    assert parse_target(text) == (host, port)


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
        t = io.open_tunnel(proxy, "h:443", auth, timeout=3)
        assert isinstance(t, io.Tunnel) and t.response.status == 200
        t.sock.close()
    finally:
        srv.close()
    assert b"Proxy-Authorization" not in seen[0]
    assert b'nonce="n1"' in seen[1] and b'nonce="n2"' in seen[2]
    assert b"pw" not in seen[1] and b"pw" not in seen[2]  # Digest never sends the password


def test_inconsistent_answers_give_a_lower_bound_only() -> None:
    from pathprobe.tunnel import consistent

    r = SearchResult(1400, 1401, True, None, False, 20, 3, "1400 delivered, 1401 fails")
    fixed = consistent(r, {536, 1300, 1348, 1400}, {1349: io.Outcome.STALLED,
                                                    1401: io.Outcome.STALLED})
    assert (fixed.largest_ok, fixed.smallest_bad, fixed.exact) == (1348, 1349, False)
    assert "inconsistent" in fixed.reason
    assert size_numbers(SizeFinding(Direction.UP, fixed, 1460, {}, "m"))["max_payload"] is None
    same = consistent(r, {536, 1400}, {1401: io.Outcome.STALLED})
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
     io.ConnectFailure.NO_RESPONSE),
    (b"HTTP/1.1 200 OK\r\nX: " + b"a" * (hc.MAX_HEAD_BYTES + 10), 0.0, 1 << 20, 10.0,
     io.ConnectFailure.MALFORMED),
], ids=["slow-drip", "huge-head"])
def test_slow_drip_and_huge_heads_are_bounded(payload: bytes, delay: float, step: int,
                                              timeout: float, kind: io.ConnectFailure) -> None:
    import time

    stop = threading.Event()
    srv = _drip_proxy(payload, delay, stop, step)
    try:
        proxy = ProxyConfig("127.0.0.1", srv.getsockname()[1], "--proxy")
        t0 = time.monotonic()
        res = io.open_tunnel(proxy, "h:443", io.Authenticator(None, "h:443"), timeout=timeout)
        assert time.monotonic() - t0 < timeout + 2.0
        assert isinstance(res, io.ConnectError) and res.kind is kind, res
    finally:
        stop.set()
        srv.close()


def test_first_round_timeout_scales_with_the_connect_round_trip() -> None:
    assert first_round_timeout(0.0002) == 1.0  # lab: the floor
    assert first_round_timeout(0.3) == 5 * 0.3 + 0.25  # a slow path waits longer
    assert first_round_timeout(10.0) == 3.0  # never beyond the ceiling


# --- the proxy passing leg 1's pieces on as they came (a race in its reads) ---------------

LEG1_SEGMENT = 1288   # leg 1 clamped to 1300 (timestamps on)
LEG2_LIMIT = 1328     # largest write that crosses leg 2 in one segment


def _probe(size: int, outcome: io.Outcome, segment: int | None = None) -> io.SizedProbe:
    return io.SizedProbe(size, outcome, 0.01, segment=segment)


def test_a_write_answered_in_leg1_pieces_proves_only_the_piece() -> None:
    from pathprobe.search import ProbeOutcome, ProbeResult
    from pathprobe.tunnel import to_probe_result

    split = _probe(1450, io.Outcome.ANSWERED, segment=LEG1_SEGMENT)
    assert to_probe_result(split, LEG1_SEGMENT) == ProbeResult(LEG1_SEGMENT,
                                                               ProbeOutcome.DELIVERED)
    # The same split a second time is the proxy's own segmentation: the write got through.
    assert to_probe_result(split, LEG1_SEGMENT, split_before=True) == ProbeResult(
        1450, ProbeOutcome.DELIVERED)
    # Re-assembled and segmented by the proxy at its own MSS: delivered.
    whole = _probe(1450, io.Outcome.ANSWERED, segment=1428)
    assert to_probe_result(whole, LEG1_SEGMENT).size == 1450
    assert to_probe_result(split, None).size == 1450  # leg 1 unknown: as before
    assert to_probe_result(_probe(900, io.Outcome.UNTESTED), LEG1_SEGMENT) is None
    assert to_probe_result(_probe(900, io.Outcome.STALLED)) == ProbeResult(
        900, ProbeOutcome.LOST)


def _article_prober(splits: set[int], always_split: bool = False
                    ) -> Callable[[int, float], io.SizedProbe]:
    """Writes above leg 1's segment arrive in pieces when the proxy's read raced
    (sizes in ``splits``, first attempt only, or always); otherwise re-assembled, and
    a whole write above LEG2_LIMIT is black-holed on leg 2."""
    tried: set[int] = set()
    lock = threading.Lock()

    def probe(n: int, timeout: float) -> io.SizedProbe:
        with lock:
            first = n not in tried
            tried.add(n)
        if n > LEG1_SEGMENT and (always_split or (first and n in splits)):
            return _probe(n, io.Outcome.ANSWERED, segment=LEG1_SEGMENT)
        if n > LEG2_LIMIT:
            return io.SizedProbe(n, io.Outcome.STALLED, timeout, acked=True)
        return _probe(n, io.Outcome.ANSWERED, segment=n)
    return probe


@given(st.sets(st.integers(LEG1_SEGMENT + 1, 1460), max_size=40))
def test_racy_splits_never_raise_the_answer(splits: set[int]) -> None:
    from pathprobe.tunnel import _search

    res, *_ = _search(_article_prober(splits), 536, 1460, lambda _m: None, "t", 0.5,
                      LEG1_SEGMENT)
    assert res.largest_ok is not None and res.largest_ok <= LEG2_LIMIT
    if res.exact:
        assert (res.largest_ok, res.smallest_bad) == (LEG2_LIMIT, LEG2_LIMIT + 1)


def test_repeatable_splits_count_as_delivered() -> None:
    """PMTUD working on leg 2 at leg 1's segment size: every write gets through."""
    from pathprobe.tunnel import _search

    res, *_ = _search(_article_prober(set(), always_split=True), 536, 1460,
                      lambda _m: None, "t", 0.5, LEG1_SEGMENT)
    assert res.largest_ok == 1460


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
