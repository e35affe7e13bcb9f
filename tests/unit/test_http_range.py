"""Ranged plain-HTTP answers that size leg 2 down (issue 19, item 6): the request bytes,
Content-Range parsing, the rules that say what an answer proves (and when nothing can be
sized), their sentences, and the lab upstream's Range support."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pathprobe.facts.http_range import RangeAnswer, RangeFact, RangeUnmeasured
from pathprobe.facts.tunnel import ConnectError, ConnectFailure, Download, Outcome, TunnelFact
from pathprobe.lab.upstream import byte_range
from pathprobe.model import Confidence, Direction, Evidence, Step, VerdictCode
from pathprobe.range_rules import (
    from_cache,
    judge_discovery,
    lower_bound,
    not_a_size,
    not_possible,
    range_verdict,
    to_sized,
)
from pathprobe.render.evidence import describe
from pathprobe.search import SearchResult, StopReason
from pathprobe.tunnel_rules import SizeFinding, download_verdict, size_numbers, size_verdict
from pathprobe.wire import http_connect as hc
from pathprobe.wire.http_get import absolute_url, parse_content_range, range_request


def head(raw: bytes) -> hc.ConnectResponse:
    h = hc.parse_response_head(raw)
    assert h is not None
    return h


def answer(raw: bytes, first: int = 0, last: int = 0, received: int | None = None,
           outcome: Outcome = Outcome.ANSWERED) -> RangeAnswer:
    h = head(raw)
    return RangeAnswer(first, last, outcome, 0.01,
                       last - first + 1 if received is None else received, h)


def partial(first: int, last: int, total: int, extra: bytes = b"") -> bytes:
    return (f"HTTP/1.1 206 Partial Content\r\nContent-Length: {last - first + 1}\r\n"
            f"Content-Range: bytes {first}-{last}/{total}\r\n").encode() + extra + b"\r\n"


def test_request_vectors() -> None:
    assert range_request("upstream.pathprobe.test", 80, 0, 1459) == (
        b"GET http://upstream.pathprobe.test/ HTTP/1.1\r\nHost: upstream.pathprobe.test\r\n"
        b"User-Agent: pathprobe\r\nRange: bytes=0-1459\r\nCache-Control: no-cache\r\n"
        b"Pragma: no-cache\r\nAccept-Encoding: identity\r\nConnection: close\r\n\r\n")
    assert range_request("2001:db8::2", 8080, 0, 0, "/a", "Basic eA==").startswith(
        b"GET http://[2001:db8::2]:8080/a HTTP/1.1\r\nHost: [2001:db8::2]:8080\r\n")
    assert b"\r\nProxy-Authorization: Basic eA==\r\n" in range_request("h", 80, 0, 0, "/",
                                                                      "Basic eA==")
    assert absolute_url("b\u00fccher.example", 80) == "http://xn--bcher-kva.example/"


@pytest.mark.parametrize(("host", "port", "first", "last", "path", "auth"), [
    ("h", 80, 5, 4, "/", None), ("h", 80, -1, 4, "/", None), ("h", 0, 0, 1, "/", None),
    ("h\r\nX: y", 80, 0, 1, "/", None), ("h", 80, 0, 1, "/ x", None),
    ("h", 80, 0, 1, "no-slash", None), ("h", 80, 0, 1, "/", "Basic a\r\nX: y"),
])
def test_rejects_what_would_break_the_request(host: str, port: int, first: int, last: int,
                                              path: str, auth: str | None) -> None:
    with pytest.raises(ValueError):
        range_request(host, port, first, last, path, auth)


def test_content_range_vectors() -> None:
    assert parse_content_range("bytes 0-1459/262144") == (0, 1459, 262144)
    assert parse_content_range(" bytes 0-0/* ") == (0, 0, None)
    for bad in (None, "", "bytes */262144", "bytes 5-4/9", "bytes 0-9/9", "items 0-1/2",
                "bytes 0-1/2, 3-4/5", "bytes -1-2/3"):
        assert parse_content_range(bad) is None, bad


@given(st.integers(0, 10**12), st.integers(0, 10**6), st.integers(1, 10**6))
def test_content_range_round_trip(first: int, length: int, beyond: int) -> None:
    last = first + length
    total = last + beyond
    assert parse_content_range(f"bytes {first}-{last}/{total}") == (first, last, total)
    assert parse_content_range(f"bytes {last + 1}-{first}/{total}") is None


@given(st.integers(0, 1500), st.integers(0, 1500))
def test_request_is_one_parseable_head_whatever_the_range(first: int, length: int) -> None:
    raw = range_request("upstream.pathprobe.test", 80, first, first + length)
    assert raw.endswith(b"\r\n\r\n") and raw.count(b"\r\n\r\n") == 1
    assert f"Range: bytes={first}-{first + length}\r\n".encode() in raw


def test_discovery_gives_the_object_size_or_the_typed_reason() -> None:
    ok = answer(partial(0, 0, 262144))
    assert judge_discovery(ok, 1460)[:2] == (262144, None)
    cases = [
        (b"HTTP/1.1 403 Forbidden\r\nX-Squid-Error: ERR_ACCESS_DENIED 0\r\n\r\n",
         RangeUnmeasured.PROXY_REFUSES),
        (b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n", RangeUnmeasured.PROXY_REFUSES),
        (b"HTTP/1.1 301 Moved Permanently\r\nLocation: https://h/\r\n\r\n",
         RangeUnmeasured.NO_OBJECT),
        (b"HTTP/1.1 503 Service Unavailable\r\nX-Squid-Error: ERR_CONNECT_FAIL 111\r\n\r\n",
         RangeUnmeasured.NO_OBJECT),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 262144\r\n\r\n", RangeUnmeasured.NO_RANGE),
        (partial(0, 0, 900), RangeUnmeasured.TOO_SMALL),
        (partial(0, 0, 262144, b"Age: 12\r\n"), RangeUnmeasured.CACHED),
        (partial(0, 0, 262144, b"X-Cache: HIT from proxy\r\n"), RangeUnmeasured.CACHED),
        (partial(0, 9, 262144), RangeUnmeasured.NO_RANGE),      # not the range asked for
    ]
    for raw, why in cases:
        total, got, values = judge_discovery(answer(raw), 1460)
        assert (total, got) == (None, why), raw
        assert values["status"] == head(raw).status
    stalled = RangeAnswer(0, 0, Outcome.STALLED, 1.5, detail="no complete answer")
    assert judge_discovery(stalled, 1460)[1] is RangeUnmeasured.NO_ANSWER
    refused = ConnectError(ConnectFailure.UNREACHABLE, "no TCP connection")
    assert judge_discovery(refused, 1460)[1] is RangeUnmeasured.NO_ANSWER


def test_only_the_whole_range_over_leg2_counts_as_an_answer() -> None:
    whole = answer(partial(0, 1299, 262144), 0, 1299)
    assert to_sized(whole, 1300).outcome is Outcome.ANSWERED
    # Anything else proves nothing about the size: a short body, another range, a cached
    # copy, the proxy's own answer.
    for a in (answer(partial(0, 1299, 262144), 0, 1299, received=1000),
              answer(partial(0, 9, 262144), 0, 1299),
              answer(partial(0, 1299, 262144, b"Age: 3\r\n"), 0, 1299),
              answer(b"HTTP/1.1 503 Service Unavailable\r\n\r\n", 0, 1299)):
        assert to_sized(a, 1300).outcome is Outcome.UNTESTED
    stall = RangeAnswer(0, 1299, Outcome.STALLED, 0.5, 300)
    assert to_sized(stall, 1300).outcome is Outcome.STALLED      # never a size
    err = ConnectError(ConnectFailure.UNREACHABLE, "gone")
    assert to_sized(err, 1300).connect_error is err               # ends the search
    assert from_cache(head(b"HTTP/1.1 206 x\r\nX-Cache: hit\r\n\r\n"))
    assert not from_cache(head(b"HTTP/1.1 206 x\r\nX-Cache: MISS from p\r\n\r\n"))


def closed(ok: int, bad: int) -> SearchResult:
    return SearchResult(ok, bad, True, None, False, 28, 3, StopReason.CLOSED, low=536,
                        high=1460)


def test_a_closed_bracket_is_still_a_lower_bound_and_inferred() -> None:
    f = SizeFinding(Direction.DOWN, lower_bound(closed(1328, 1329)), 1460,
                    {1329: Outcome.STALLED}, "ranged GET http://h/")
    numbers = size_numbers(f)
    assert numbers["max_payload"] is None and numbers["max_payload_at_least"] == 1328
    assert numbers["pmtu_high"] is None and numbers["pmtu_low"] == 1328 + 40
    v = size_verdict(f)
    assert v is not None and v.limit is not None and not v.limit.exact
    r = range_verdict(v, "http://h/", 262144)
    assert r.confidence is Confidence.INFERRED and r.code is v.code
    assert r.evidence[0].fact is RangeFact.SIZED
    text = describe(r.evidence[0])
    assert "1328" in text and "1329" in text and "lower bound" in text
    # Not "in one write answered", not "proven": the ranged sentence stands for those.
    assert not {e.fact for e in r.evidence} & {TunnelFact.WRITES, TunnelFact.NOT_EXACT}


@pytest.mark.parametrize("why", list(RangeUnmeasured))
def test_every_reason_has_its_sentence(why: RangeUnmeasured) -> None:
    values = {"status": 403, "error": "ERR_ACCESS_DENIED 0", "total": 900, "need": 1460,
              "detail": "timed out", "low": 536, "sizes": "1300, 1400", "bad": 600}
    text = describe(not_possible(why, "http://h/", values))
    assert text.startswith("leg 2 down not sized with ranged GET http://h/: ")
    assert "?" not in text and "{" not in text and why.value not in text
    assert describe(Evidence(RangeFact.NOT_POSSIBLE, Step.TUNNEL, {"why": why.value})).strip()


def test_lab_upstream_ranges() -> None:
    assert byte_range(None, 100) is None
    assert byte_range("bytes=0-0", 100) == (0, 0)
    assert byte_range("bytes=10-", 100) == (10, 99)
    assert byte_range("bytes=0-999", 100) == (0, 99)
    assert byte_range("bytes=100-200", 100) is False
    assert byte_range("bytes=5-4", 100) is False
    assert byte_range("bytes=-5", 100) is None          # suffix ranges: the whole object
    assert byte_range("bytes=0-1,5-6", 100) is None


def test_a_first_segments_stall_is_no_size_when_full_size_answers_came_down() -> None:
    stalled = Download(None, 0, False, True, 1.5, 1.6, "data stopped", raw_received=1081)
    seemed = download_verdict(stalled, "GET / over TLS", True)
    assert seemed is not None and seemed.code is VerdictCode.PMTU_BLACKHOLE
    v = not_a_size(seemed, 1460)
    assert (v.code, v.direction, v.confidence, v.limit) == (
        VerdictCode.TUNNEL_STALL, Direction.DOWN, Confidence.INFERRED, None)
    assert [e.fact for e in v.evidence] == [TunnelFact.DOWNLOAD_STALLED,
                                            RangeFact.FULL_SIZE_CROSSED]
    assert v.numbers["stalled_after"] == 0 and "our_mss" not in v.numbers
    text = describe(v.evidence[-1])
    assert "1460" in text and "not a size limit" in text
