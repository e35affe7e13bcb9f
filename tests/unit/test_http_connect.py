"""CONNECT request, response-head parsing (fuzzed), Proxy-Authenticate parsing,
Basic and Digest (RFC 7616 section 3.9.1 and RFC 2617 section 3.5 vectors)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pathprobe.wire import http_connect as hc

RFC7616_CHALLENGE_VALUES = [
    'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, '
    'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", '
    'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"',
    'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=MD5, '
    'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", '
    'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"',
]
RFC7616_CNONCE = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"


def test_connect_request_bytes() -> None:
    assert hc.connect_request("upstream.pathprobe.test:443") == (
        b"CONNECT upstream.pathprobe.test:443 HTTP/1.1\r\nHost: upstream.pathprobe.test:443\r\n"
        b"User-Agent: pathprobe\r\nProxy-Connection: Keep-Alive\r\n\r\n")
    req = hc.connect_request("h:1", authorization="Basic Zm1jOmxhYi1zZWNyZXQ=")
    assert b"\r\nProxy-Authorization: Basic Zm1jOmxhYi1zZWNyZXQ=\r\n\r\n" in req


@pytest.mark.parametrize("bad", ["", "a b:1", "h:1\r\nX: y"])
def test_connect_request_refuses_injection(bad: str) -> None:
    with pytest.raises(ValueError):
        hc.connect_request(bad)


def test_rfc7616_digest_sha256_and_md5() -> None:
    sha, md5 = (c for v in RFC7616_CHALLENGE_VALUES for c in hc.parse_challenges([v]))
    assert sha.params["algorithm"] == "SHA-256" and md5.params["algorithm"] == "MD5"
    assert sha.params["qop"] == "auth, auth-int"
    assert hc.digest_response(md5, "Mufasa", "Circle of Life", "GET", "/dir/index.html",
                              RFC7616_CNONCE) == "8ca523f5e9506fed4657c9700eebdbec"
    assert hc.digest_response(sha, "Mufasa", "Circle of Life", "GET", "/dir/index.html",
                              RFC7616_CNONCE) == (
        "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1")
    header = hc.digest_authorization(sha, "Mufasa", "Circle of Life", "GET",
                                     "/dir/index.html", RFC7616_CNONCE)
    assert header == (
        'Digest username="Mufasa", realm="http-auth@example.org", '
        'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", uri="/dir/index.html", '
        'algorithm=SHA-256, '
        'response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1", '
        'qop=auth, nc=00000001, cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", '
        'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"')


def test_rfc2617_digest_md5_and_pick_order() -> None:
    (c,) = hc.parse_challenges(['Digest realm="testrealm@host.com", qop="auth,auth-int", '
                                'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", '
                                'opaque="5ccc069c403ebaf9f0171e9517f40e41"'])
    assert hc.digest_response(c, "Mufasa", "Circle Of Life", "GET", "/dir/index.html",
                              "0a4f113b") == "6629fae49393a05397450978507c4ef1"
    both = [*hc.parse_challenges(RFC7616_CHALLENGE_VALUES[::-1]),
            *hc.parse_challenges(['Basic realm="x"'])]
    picked = hc.pick_challenge(both, have_credentials=True)
    assert picked is not None and picked.params["algorithm"] == "SHA-256"
    assert hc.pick_challenge(both, have_credentials=False) is None


def test_basic() -> None:
    assert hc.basic_authorization("Aladdin", "open sesame") == "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
    with pytest.raises(ValueError):
        hc.basic_authorization("a:b", "x")


@pytest.mark.parametrize(("values", "expected"), [
    (['Basic realm="pathprobe-lab"'], [("basic", {"realm": "pathprobe-lab"}, None)]),
    (["NTLM"], [("ntlm", {}, None)]),
    (["Negotiate", "NTLM"], [("negotiate", {}, None), ("ntlm", {}, None)]),
    (["Negotiate YII=, NTLM TlRMTVNTUAACAAAA"],
     [("negotiate", {}, "YII="), ("ntlm", {}, "TlRMTVNTUAACAAAA")]),
    (['Basic realm="a, b", Digest realm="r", nonce="n", stale=true'],
     [("basic", {"realm": "a, b"}, None),
      ("digest", {"realm": "r", "nonce": "n", "stale": "true"}, None)]),
    (['Digest realm="q\\"x"'], [("digest", {"realm": 'q"x'}, None)]),
    ([""], []),
])
def test_parse_challenges(values: list[str],
                          expected: list[tuple[str, dict[str, str], str | None]]) -> None:
    got = [(c.scheme, c.params, c.token68) for c in hc.parse_challenges(values)]
    assert got == expected


def test_digest_support_rules() -> None:
    (sess,) = hc.parse_challenges(['Digest realm="r", nonce="n", algorithm=MD5-sess, qop="auth"'])
    (intonly,) = hc.parse_challenges(['Digest realm="r", nonce="n", qop="auth-int"'])
    (legacy,) = hc.parse_challenges(['Digest realm="r", nonce="n"'])
    assert not hc.digest_supported(sess) and not hc.digest_supported(intonly)
    assert hc.digest_supported(legacy)
    assert "qop" not in hc.digest_authorization(legacy, "u", "p", "CONNECT", "h:443", "c")


SQUID_407 = (b"HTTP/1.1 407 Proxy Authentication Required\r\nServer: squid/5.7\r\n"
             b"Mime-Version: 1.0\r\nContent-Type: text/html;charset=utf-8\r\n"
             b"Content-Length: 3529\r\n"
             b'Proxy-Authenticate: Basic realm="pathprobe-lab"\r\n'
             b"X-Squid-Error: ERR_CACHE_ACCESS_DENIED 0\r\n"
             b"Connection: keep-alive\r\n\r\n<!DOCTYPE html")


def test_parse_response_head_incrementally() -> None:
    for cut in range(len(SQUID_407) - len(b"<!DOCTYPE html") - 4 + 1):
        assert hc.parse_response_head(SQUID_407[:cut]) is None
    r = hc.parse_response_head(SQUID_407)
    assert r is not None
    assert (r.version, r.status, r.reason) == ("1.1", 407, "Proxy Authentication Required")
    assert r.get("proxy-authenticate") == 'Basic realm="pathprobe-lab"'
    assert r.get("content-length") == "3529" and r.rest == b"<!DOCTYPE html"
    ok = hc.parse_response_head(b"HTTP/1.1 200 Connection established\r\n\r\n\x15\x03")
    assert ok is not None and ok.status == 200 and ok.rest == b"\x15\x03" and ok.headers == ()
    bare = hc.parse_response_head(b"HTTP/1.0 200\n\n")
    assert bare is not None and bare.status == 200 and bare.reason == ""


@pytest.mark.parametrize("data", [
    b"SSH-2.0-OpenSSH_9.2\r\n", b"\x15\x03\x03\x00\x02\x02\x28", b"<html>",
    b"HTTP/1.1 2000 OK\r\n\r\n", b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
    b"HTTP/1.1 200 OK\r\n" + b"X: " + b"a" * hc.MAX_HEAD_BYTES,
    b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * (hc.MAX_HEADERS + 1) + b"\r\n",
])
def test_malformed_heads(data: bytes) -> None:
    with pytest.raises(hc.MalformedResponse):
        hc.parse_response_head(data)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=300))
def test_garbage_never_crashes(data: bytes) -> None:
    with contextlib.suppress(hc.MalformedResponse):
        hc.parse_response_head(data)


@settings(max_examples=200, deadline=None)
@given(status=st.integers(100, 599),
       headers=st.lists(st.tuples(st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,20}", fullmatch=True),
                                  st.from_regex(r"[ -~]{0,40}", fullmatch=True)), max_size=20),
       chunks=st.lists(st.integers(1, 50), min_size=1, max_size=400))
def test_slow_drip_reaches_the_same_head(status: int, headers: list[tuple[str, str]],
                                         chunks: list[int]) -> None:
    """Fed a byte-drip, the parser says 'more' until the head is complete, then parses it."""
    raw = (f"HTTP/1.1 {status} Whatever\r\n"
           + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n").encode()
    buf = b""
    result = None
    pos = 0
    for n in chunks:
        if pos >= len(raw):
            break
        buf += raw[pos:pos + n]
        pos += n
        result = hc.parse_response_head(buf)
        if pos < len(raw):
            assert result is None
    if pos >= len(raw):
        assert result is not None and result.status == status
        assert [(k, v.strip()) for k, v in headers] == list(result.headers)


@given(st.text(max_size=120))
def test_challenge_parser_never_crashes(text: str) -> None:
    with contextlib.suppress(hc.MalformedResponse):
        hc.parse_challenges([text])


@pytest.mark.parametrize("value, expected", [
    (b"262144", 262144), (b"0", 0), (b"\xb9\xb2", None), (b"12\xb3", None), (b"-1", None),
    (b"1e3", None), (b"", None), (b"9" * 19, None), (b" 42 ", 42)])
def test_content_length_is_plain_ascii_digits_or_nothing(value: bytes,
                                                         expected: int | None) -> None:
    head = hc.parse_response_head(b"HTTP/1.1 200 OK\r\nContent-Length: " + value + b"\r\n\r\n")
    assert head is not None and head.content_length() == expected
