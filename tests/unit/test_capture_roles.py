"""The pure pieces of issue 20 with byte vectors and properties: what starts a ClientHello
(record length, SNI), what is a proxied request, and what DF ping sweeps prove."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pathprobe.capture.httpsniff import proxy_request
from pathprobe.capture.icmp import IcmpLog, Ping, icmp_findings
from pathprobe.model import Leg, VerdictCode
from pathprobe.wire.tls import client_hello, sniff_client_hello


@pytest.mark.parametrize("size", [517, 1216, 1800, 2100])
def test_a_hello_s_record_length_and_name_even_cut_short(size: int) -> None:
    hello = client_hello(size, "upstream.pathprobe.test")
    assert sniff_client_hello(hello) == (size, "upstream.pathprobe.test")
    assert sniff_client_hello(hello[:1448]) == (size, "upstream.pathprobe.test")
    assert sniff_client_hello(hello[:60]) == (size, None)     # name beyond the snap length
    assert sniff_client_hello(b"\x17" + hello[1:]) is None     # application data, not a hello


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_sniffing_arbitrary_bytes_never_raises(data: bytes) -> None:
    out = sniff_client_hello(data)
    if out is not None:
        record, name = out
        assert record == int.from_bytes(data[3:5], "big") + 5
        assert name is None or all(c.isalnum() or c in ".-_" for c in name)


@pytest.mark.parametrize(("payload", "expected"), [
    (b"CONNECT upstream.example:443 HTTP/1.1\r\n", ("CONNECT", "upstream.example:443")),
    (b"GET http://upstream.example/a?b HTTP/1.1\r\n", ("GET", "upstream.example:80")),
    (b"POST http://upstream.example:8080/x HTTP/1.0\r\n", ("POST", "upstream.example:8080")),
    (b"GET http://user:pw@upstream.example/ HTTP/1.1\r\n", ("GET", "upstream.example:80")),
    (b"CONNECT user:pw@upstream.example:443 HTTP/1.1\r\n", ("CONNECT", "upstream.example:443")),
    (b"CONNECT u:p@ss@[2001:db8::1]:443 HTTP/1.1\r\n", ("CONNECT", "[2001:db8::1]:443")),
    (b"GET http://[2001:db8::1]:8080/ HTTP/1.1\r\n", ("GET", "[2001:db8::1]:8080")),
    (b"GET http://[2001:db8::1]/ HTTP/1.1\r\n", ("GET", "[2001:db8::1]:80")),
    (b"GET HTTP://bro.org/ HTTP/1.1\r\n", ("GET", "bro.org:80")),        # Zeek's proxy.pcap
    (b"CONNECT mx.example:25 / HTTP/1.0\r\n", ("CONNECT", "mx.example:25")),  # connect-with-smtp
    (b"CONNECT mx.example:25 /x HTTP/1.0\r\n", None),
    (b"GET /index.html HTTP/1.1\r\nHost: a\r\n", None),        # origin-form: to a server
    (b"\x16\x03\x01\x02\x00\x01", None),
])
def test_what_only_a_proxy_is_sent(payload: bytes, expected: tuple[str, str] | None) -> None:
    assert proxy_request(payload) == expected


def _log(pings: list[tuple[int, bool]]) -> IcmpLog:
    log = IcmpLog()
    for i, (size, answered) in enumerate(pings):
        frame = 2 * i + 1
        log.pings[(4, "198.18.1.2", "198.18.4.2", 1, i)] = Ping(
            frame, float(i), size, True, frame + 1 if answered else None)
    return log


def _direct(_src: str, _dst: str) -> Leg:
    return Leg.FMC_UPSTREAM


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(68, 9000), st.booleans()), min_size=1, max_size=12))
def test_a_ping_sweep_never_claims_more_than_it_proves(pings: list[tuple[int, bool]]) -> None:
    found = icmp_findings(_log(pings), _direct)
    answered = [s for s, ok in pings if ok]
    lost = [s for s, ok in pings if not ok]
    if not found:
        return
    (f,) = found
    assert f.code is VerdictCode.PMTU_BLACKHOLE and f.limit is not None
    failing = min(s for s in lost if s > max(answered))
    assert failing > 576                                   # never below the IPv4 minimum
    assert f.limit.pmtu_low == max(answered)               # the proven lower bound, no more
    assert f.limit.pmtu_high == failing - 1


def test_a_clean_sweep_is_measured_and_a_lossy_one_inferred() -> None:
    (clean,) = icmp_findings(_log([(1000, True), (1500, False), (1400, True), (1472, False),
                                   (1000, True)]), _direct)
    assert clean.confidence.value == "measured"
    assert (clean.limit and clean.limit.pmtu_low, clean.limit and clean.limit.pmtu_high) == (
        1400, 1471)
    (lossy,) = icmp_findings(_log([(1000, True), (1000, False), (1500, False), (1000, True)]),
                             _direct)
    assert lossy.confidence.value == "inferred"
    # the host went away after the large ping: only inferred
    (gone,) = icmp_findings(_log([(1000, True), (1500, False), (1500, False)]), _direct)
    assert gone.confidence.value == "inferred"
