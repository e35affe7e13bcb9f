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


def _nc(header: str | None) -> str:
    return (header or "").split("nc=")[1][:8]


def test_one_nonce_one_count_across_targets() -> None:
    # The proxy counts per nonce: a second counter on it (the reflector's or the far end's
    # authenticator) would send nc=00000001 again, and squid then refuses that nonce for
    # every probe still on its way (seen as a flake in the lab: CONNECT refused as stale).
    auth = Authenticator(Credentials("fmc", "pw"), "h:443", cnonce=lambda: "c")
    auth.learn(hc.parse_challenges(['Digest realm="r", nonce="n", qop="auth"']))
    far = auth.for_target("reflector:7007")
    headers = [auth.header(), far.header(), auth.header(), far.header()]
    assert [_nc(h) for h in headers] == ["00000001", "00000002", "00000003", "00000004"]
    assert ['uri="h:443"' in (h or "") for h in headers] == [True, False, True, False]
    assert 'uri="reflector:7007"' in (headers[1] or "")
    auth.learn(hc.parse_challenges(['Digest realm="r", nonce="m", qop="auth"']))
    assert far.challenge is auth.challenge and _nc(far.header()) == "00000001"


def test_a_retry_answers_its_own_challenge_and_shares_it_only_in_place_of_the_failed_one(
        ) -> None:
    shared = Authenticator(Credentials("fmc", "pw"), "h:443", cnonce=lambda: "c")
    shared.learn(hc.parse_challenges(['Digest realm="r", nonce="n1", qop="auth"']))
    failed = shared.challenge
    assert _nc(shared.header()) == "00000001"
    stale = hc.parse_challenges(['Digest realm="r", nonce="n2", qop="auth", stale=true'])
    own = shared.answering(stale)
    assert own is not None and own.target == "h:443"
    mine = own.header() or ""
    assert 'nonce="n2"' in mine and _nc(mine) == "00000001"      # no one else counts on n2
    assert 'nonce="n1"' in (shared.header() or "")                # the shared one untouched
    shared.adopt(own, failed)                                      # the retry went through
    after = shared.header() or ""
    assert 'nonce="n2"' in after and _nc(after) == "00000002"     # counts on from the retry's
    # another probe's retry, later: the shared nonce is no longer the one that failed it
    other = shared.answering(hc.parse_challenges(['Digest realm="r", nonce="n3", qop="auth"']))
    assert other is not None
    other.header()
    shared.adopt(other, failed)
    assert 'nonce="n2"' in (shared.header() or "")
    assert Authenticator(None, "h:443").answering(stale) is None  # nothing to answer with
