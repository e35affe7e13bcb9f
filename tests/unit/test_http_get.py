"""The one GET request builder."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pathprobe.wire import http_connect as hc
from pathprobe.wire.http_get import get_request, host_header


def test_vectors() -> None:
    assert get_request("upstream.example", "/bytes/10") == (
        b"GET /bytes/10 HTTP/1.1\r\nHost: upstream.example\r\nUser-Agent: pathprobe\r\n"
        b"Connection: close\r\n\r\n")
    assert b"Host: [2001:db8::1]\r\n" in get_request("2001:db8::1")
    assert b"Host: [2001:db8::1]\r\n" in get_request("[2001:db8::1]")
    assert host_header("198.18.4.2") == "198.18.4.2"
    assert host_header("例え.jp") == "xn--r8jz45g.jp"


@pytest.mark.parametrize("host,path", [("", "/"), ("a b", "/"), ("h\r\nX: y", "/"),
                                       ("h", "nope"), ("h", "/a b"), ("h", "/\n")])
def test_rejects_what_would_break_the_request(host: str, path: str) -> None:
    with pytest.raises(ValueError):
        get_request(host, path)


@given(host=st.from_regex(r"[a-z0-9.-]{1,40}", fullmatch=True),
       path=st.from_regex(r"/[!-~]{0,40}", fullmatch=True))
def test_is_one_parseable_head(host: str, path: str) -> None:
    raw = get_request(host, path)
    assert raw.endswith(b"\r\n\r\n") and raw.count(b"\r\n\r\n") == 1
    first, *headers = raw[:-4].decode().split("\r\n")
    assert first == f"GET {path} HTTP/1.1"
    assert dict(h.split(": ", 1) for h in headers)["Host"] == host
    assert hc.USER_AGENT in raw.decode()
