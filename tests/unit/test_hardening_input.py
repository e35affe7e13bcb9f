"""Bad input from the user or the network gives a documented error, never a crash
(issue 15 items 5 and 8): byte vectors, then properties over arbitrary text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pathprobe.errors import UsageError
from pathprobe.model import Credentials
from pathprobe.proxyconf import get_credentials, parse_fmc_proxy_conf, parse_proxy_url
from pathprobe.sanitize import clean
from pathprobe.wire import http_connect as hc

# --- HOST:PORT ------------------------------------------------------------------------------


# HOST:PORT: its vectors and properties are in test_hostport.py (one parser, HostPort.parse).


# --- proxies --------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "http://h:0", "http://h:\uff18\uff10", "http://a..b:3128", f"http://{'x' * 100}.example:3128",
    "http://us%0d%0aer:pw@h:3128", "http://us%3Aer:pw@h:3128", "http://h:3128\r\nX: y",
    "http://exa mple:3128", "http://h:3128/path", "https://h:3128", "http://:3128",
])
def test_bad_proxy_urls_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError):
        parse_proxy_url(text, "--proxy")


def test_proxy_url_idna_and_credentials() -> None:
    cfg = parse_proxy_url("http://fmc:p%40ss%3Aword@例え.jp:3128", "--proxy")
    assert (cfg.host, cfg.port) == ("xn--r8jz45g.jp", 3128)
    assert cfg.credentials == Credentials("fmc", "p@ss:word")
    assert parse_proxy_url("[2001:db8::2]:3128", "x").host == "2001:db8::2"
    assert parse_proxy_url("h", "x").port == 80


def test_user_with_control_characters_is_refused() -> None:
    with pytest.raises(UsageError):
        get_credentials("us\x1ber", env={"PATHPROBE_PROXY_PASSWORD": "x"})


@settings(max_examples=400)
@given(st.text(max_size=80))
def test_proxy_url_parser_returns_or_raises_usage_error(text: str) -> None:
    try:
        cfg = parse_proxy_url(text, "--proxy")
    except UsageError:
        return
    assert 0 < cfg.port < 65536 and cfg.host.isascii() and cfg.host.isprintable()
    if cfg.credentials is not None:
        assert ":" not in cfg.credentials.user and cfg.credentials.user.isprintable()


@settings(max_examples=300)
@given(st.text(max_size=40), st.text(max_size=12))
def test_fmc_conf_parser_returns_or_raises_usage_error(host: str, port: str) -> None:
    for text in (f"PROXY_HOST {host};\nPROXY_PORT {port};\n", host + port):
        try:
            cfg = parse_fmc_proxy_conf(text)
        except UsageError:
            continue
        assert cfg is None or (0 < cfg.port < 65536 and cfg.host.isascii())


# --- answers and challenges from the network -----------------------------------------------


def test_bare_cr_in_a_challenge_cannot_reach_our_request() -> None:
    head = hc.parse_response_head(
        b'HTTP/1.1 407 Auth\r\nProxy-Authenticate: Digest realm="a\rb", nonce="n\ro", '
        b'opaque="o\rp", qop="auth"\r\n\r\n')
    assert head is not None
    (challenge,) = hc.parse_challenges(head.get_all("Proxy-Authenticate"))
    assert "\r" not in "".join(challenge.params.values())
    value = hc.digest_authorization(challenge, "fmc", "pw", "CONNECT", "h:443", "c")
    hc.connect_request("h:443", value)  # one valid header line


def test_digest_for_a_non_ascii_user_uses_username_star() -> None:
    (challenge,) = hc.parse_challenges(['Digest realm="r", nonce="n", qop="auth"'])
    value = hc.digest_authorization(challenge, "Jäsøn 例", "pw", "CONNECT", "h:443", "c")
    assert "username*=UTF-8''J%C3%A4s%C3%B8n%20%E4%BE%8B" in value
    assert "username=" not in value
    hc.connect_request("h:443", value)


def test_interim_answers_are_skipped_and_bounded() -> None:
    final = hc.parse_final_response_head(
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early\r\nLink: x\r\n\r\n"
        b"HTTP/1.1 200 OK\r\n\r\ntunnel")
    assert final is not None and final.status == 200 and final.rest == b"tunnel"
    assert hc.parse_final_response_head(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 2") is None
    switching = hc.parse_final_response_head(b"HTTP/1.1 101 Switching\r\n\r\n")
    assert switching is not None and switching.status == 101
    with pytest.raises(hc.MalformedResponse):
        hc.parse_final_response_head(b"HTTP/1.1 100 Continue\r\n\r\n" * 20)


def test_reason_and_headers_are_cleaned() -> None:
    head = hc.parse_response_head(b"HTTP/1.1 403 \x1b[2JForbidden\x9b1m\r\n"
                                  b"X-Squid-Error: ERR\x1b]0;t\x07_DENIED 0\r\n\r\n")
    assert head is not None
    assert head.reason == "Forbidden"
    assert head.get("X-Squid-Error") == "ERR_DENIED 0"


@settings(max_examples=400)
@given(st.binary(max_size=300))
def test_final_head_parser_only_raises_malformed(data: bytes) -> None:
    for candidate in (data, b"HTTP/1.1 100 Continue\r\n\r\n" + data,
                      b"HTTP/1.1 407 x\r\nProxy-Authenticate: " + data + b"\r\n\r\n"):
        try:
            head = hc.parse_final_response_head(candidate)
        except hc.MalformedResponse:
            continue
        if head is None:
            continue
        assert clean(head.reason) == head.reason
        assert all(clean(v) == v for _, v in head.headers)
        try:
            challenges = hc.parse_challenges(head.get_all("Proxy-Authenticate"))
        except hc.MalformedResponse:
            continue
        for c in challenges:
            if hc.digest_supported(c):
                hc.connect_request("h:443", hc.digest_authorization(
                    c, "fmc", "pw", "CONNECT", "h:443", "cn"))


@settings(max_examples=300)
@given(st.dictionaries(st.sampled_from(["realm", "nonce", "opaque", "qop", "algorithm"]),
                       st.text(max_size=20)),
       st.text(min_size=1, max_size=20), st.text(max_size=20))
def test_digest_answers_are_one_header_line_or_value_error(params: dict[str, str], user: str,
                                                           password: str) -> None:
    challenge = hc.Challenge("digest", dict(params))
    try:
        value = hc.digest_authorization(challenge, user, password, "CONNECT", "h:443", "cn")
    except ValueError:
        return
    hc.connect_request("h:443", value)
