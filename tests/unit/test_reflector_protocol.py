"""The reflector's line protocol: byte vectors (the wire format of version 1) and round trips."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pathprobe.wire import reflector_protocol as rp

HELLO_V1 = (b'{"pathprobe": "reflector", "version": 1, "peer": "198.18.3.2", "syn_mss": 1200, '
            b'"syn_timestamps": true, "syn_sack": true, "syn_wscale": 7, "syn_ip_version": 4, '
            b'"syn_ttl": 63, "syn_header_bytes": 60}\n')


def test_request_vectors() -> None:
    assert rp.build_request(rp.HelloRequest("s3cret")) == b"HELLO s3cret\n"
    assert rp.build_request(rp.HelloRequest(None)) == b"HELLO -\n"
    assert rp.build_request(rp.SinkRequest(5)) == b"SINK 00005\n"
    assert len(rp.build_request(rp.SinkRequest(1400))) == rp.SINK_HEADER == 11
    assert rp.build_request(rp.SendRequest(1000)) == b"SEND 1000\n"
    assert rp.build_request(rp.QuitRequest()) == b"QUIT\n"
    assert rp.parse_request("HELLO t0ken with space") == rp.HelloRequest("t0ken with space")
    assert rp.parse_request("HELLO -") == rp.parse_request("HELLO") == rp.HelloRequest(None)
    assert rp.parse_request("SINK 00005\n") == rp.SinkRequest(5)
    assert rp.parse_request("SEND 16384") == rp.SendRequest(16384)


@pytest.mark.parametrize("line", ["", "GET / HTTP/1.1", "SINK", "SINK -1", "SINK ²",
                                  "SEND 1e3", "SEND \uff10", "SEND 1234567890", "QUIT now",
                                  "hello x"])
def test_bad_requests(line: str) -> None:
    assert rp.parse_request(line) is None


@pytest.mark.parametrize("token", ["", "-", "a\nb", "é", " lead", "x" * 200])
def test_tokens_that_cannot_be_sent(token: str) -> None:
    assert rp.token_problem(token) is not None
    with pytest.raises(ValueError):
        rp.build_request(rp.HelloRequest(token))


def test_answer_vectors() -> None:
    hello = rp.parse_hello(HELLO_V1.decode())
    syn = rp.Syn(ip_version=4, ttl=63, header_bytes=60, mss=1200, timestamps=True, sack=True,
                 wscale=7)
    assert hello == rp.Hello("198.18.3.2", syn)
    assert (hello.syn_mss, hello.syn_ip_version, hello.syn_timestamps) == (1200, 4, True)
    assert rp.build_answer(rp.Hello("198.18.3.2", syn)) == HELLO_V1
    no_syn = rp.build_answer(rp.Hello("::1", None))
    assert no_syn == b'{"pathprobe": "reflector", "version": 1, "peer": "::1", "syn": null}\n'
    assert rp.parse_hello(no_syn.decode()) == rp.Hello("::1", None)
    assert rp.BUSY == b'{"error": "busy"}\n'
    busy = rp.parse_answer(rp.BUSY)
    assert isinstance(busy, rp.Refused) and busy.busy
    assert rp.build_answer(rp.Sunk(5, 1448)) == b'{"received": 5, "rcv_mss": 1448}\n'
    assert rp.parse_answer(b'{"received": 5, "rcv_mss": null}') == rp.Sunk(5, None)
    assert rp.parse_answer('{"error": "bad token"}') == rp.Refused("bad token")


@pytest.mark.parametrize("line", [None, "", "not json", "[1]", '{"pathprobe": "other"}',
                                  '{"error": "bad token"}', '{"received": 5}'])
def test_not_a_greeting(line: str | None) -> None:
    assert rp.parse_hello(line) is None


def test_mistyped_fields_are_unknown() -> None:
    hello = rp.parse_hello('{"pathprobe": "reflector", "peer": 7, "syn_mss": "1200", '
                           '"syn_ip_version": true, "syn_ttl": 1, "syn_header_bytes": 40}')
    assert hello == rp.Hello(None, None)


TOKENS = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1,
                 max_size=rp.MAX_TOKEN).filter(lambda t: t != "-")
REQUESTS = st.one_of(st.builds(rp.HelloRequest, st.none() | TOKENS),
                     st.builds(rp.SinkRequest, st.integers(0, 99999)),
                     st.builds(rp.SendRequest, st.integers(0, 10**9 - 1)),
                     st.just(rp.QuitRequest()))
OPT_INT = st.none() | st.integers(0, 65535)
SYNS = st.builds(rp.Syn, st.sampled_from([4, 6]), st.integers(0, 255), st.integers(20, 120),
                 OPT_INT, st.booleans(), st.booleans(), OPT_INT)
ANSWERS = st.one_of(
    st.builds(rp.Hello, st.none() | st.text(max_size=40), st.none() | SYNS,
              st.integers(1, 3)),
    st.builds(rp.Sunk, st.integers(0, 65535), OPT_INT),
    st.builds(rp.Refused, st.text(max_size=60)))


@given(REQUESTS)
def test_request_round_trip(request: rp.Request) -> None:
    raw = rp.build_request(request)
    assert raw.endswith(b"\n") and raw.count(b"\n") == 1 and len(raw) <= rp.MAX_LINE
    assert rp.parse_request(raw.decode("ascii")) == request


@given(ANSWERS)
def test_answer_round_trip(answer: rp.Answer) -> None:
    raw = rp.build_answer(answer)
    assert raw.endswith(b"\n") and raw.count(b"\n") == 1
    assert isinstance(json.loads(raw), dict)
    assert rp.parse_answer(raw.decode()) == answer
