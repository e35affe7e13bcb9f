"""The Authenticator (wire.proxy_auth) with an injected client nonce: RFC 7616 section 3.9.1
and RFC 2617 section 3.5 headers byte for byte, nc counting, Basic, and no credentials."""

from __future__ import annotations

import threading

from pathprobe.model import Credentials
from pathprobe.wire import http_connect as hc
from pathprobe.wire.proxy_auth import Authenticator, random_cnonce

RFC7616_SHA256 = (
    'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, '
    'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", '
    'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"')
RFC7616_CNONCE = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"
RFC2617 = ('Digest realm="testrealm@host.com", qop="auth,auth-int", '
           'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", '
           'opaque="5ccc069c403ebaf9f0171e9517f40e41"')


def test_rfc7616_sha256_header_bytes() -> None:
    auth = Authenticator(Credentials("Mufasa", "Circle of Life"), "/dir/index.html",
                         cnonce=lambda: RFC7616_CNONCE, method="GET")
    assert auth.learn(hc.parse_challenges([RFC7616_SHA256]))
    assert auth.scheme == "digest"
    assert auth.header() == (
        'Digest username="Mufasa", realm="http-auth@example.org", '
        'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", uri="/dir/index.html", '
        'algorithm=SHA-256, '
        'response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1", '
        'qop=auth, nc=00000001, cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", '
        'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"')


def test_rfc2617_md5_response_and_nc_counts_up() -> None:
    auth = Authenticator(Credentials("Mufasa", "Circle Of Life"), "/dir/index.html",
                         cnonce=lambda: "0a4f113b", method="GET")
    assert auth.learn(hc.parse_challenges([RFC2617]))
    first = auth.header()
    assert first is not None
    assert 'response="6629fae49393a05397450978507c4ef1"' in first
    assert 'nc=00000001, cnonce="0a4f113b"' in first
    second = auth.header()
    assert second is not None and "nc=00000002" in second
    assert 'response="6629fae49393a05397450978507c4ef1"' not in second
    auth.learn(hc.parse_challenges([RFC2617]))   # a fresh challenge starts nc again
    assert "nc=00000001" in (auth.header() or "")


def test_connect_uri_is_the_authority_and_nc_is_unique_across_threads() -> None:
    auth = Authenticator(Credentials("fmc", "pw"), "h:443", cnonce=lambda: "c")
    auth.learn(hc.parse_challenges(['Digest realm="r", nonce="n", qop="auth"']))
    seen: list[str] = []
    lock = threading.Lock()

    def one() -> None:
        h = auth.header() or ""
        with lock:
            seen.append(h.split("nc=")[1][:8])

    threads = [threading.Thread(target=one) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(seen) == [f"{i:08x}" for i in range(1, 17)]
    assert 'uri="h:443"' in (auth.header() or "")


def test_basic_and_no_credentials() -> None:
    basic = Authenticator(Credentials("Aladdin", "open sesame"), "h:443")
    assert basic.learn(hc.parse_challenges(['Basic realm="x"']))
    assert basic.header() == "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
    anonymous = Authenticator(None, "h:443")
    assert not anonymous.learn(hc.parse_challenges(['Basic realm="x"']))
    assert anonymous.header() is None


def test_default_cnonce_is_fresh_hex() -> None:
    a, b = random_cnonce(), random_cnonce()
    assert a != b and len(a) == 24 and int(a, 16) >= 0
