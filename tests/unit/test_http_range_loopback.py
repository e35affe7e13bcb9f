"""The ranged GET probe's I/O against loopback 'proxies' (tests/hostile.py): a whole answer,
a stall, a close, bytes that are not HTTP, an answer that never ends, and a Digest nonce
gone stale. Nothing leaves 127.0.0.1; every wait is bounded."""

from __future__ import annotations

import socket
import time

from pathprobe.facts.tunnel import ConnectError, Outcome
from pathprobe.model import Credentials
from pathprobe.probes.http_range import range_get
from pathprobe.probes.tunnel import Authenticator
from pathprobe.proxyconf import parse_proxy_url
from pathprobe.wire import http_connect as hc
from tests.hostile import HostileProxy, hold

HOST = "tools.example.test"


def get(proxy: HostileProxy, last: int = 99, timeout: float = 0.5,
        creds: Credentials | None = None) -> object:
    config = parse_proxy_url(proxy.url, "--proxy")
    return range_get(config, Authenticator(creds, f"{HOST}:443"), HOST, 80, 0, last, timeout,
                     536)


def ranged(body: bytes, total: int = 262144) -> bytes:
    return (f"HTTP/1.1 206 Partial Content\r\nContent-Length: {len(body)}\r\n"
            f"Content-Range: bytes 0-{len(body) - 1}/{total}\r\n\r\n").encode() + body


def test_a_whole_answer_and_the_request_as_sent() -> None:
    def whole(conn: socket.socket, request: bytes) -> None:
        conn.sendall(ranged(b"x" * 100))
        hold(conn, 2)
    with HostileProxy(whole) as p:
        a = get(p)
    assert not isinstance(a, ConnectError)
    assert (a.outcome, a.received, a.wanted) == (Outcome.ANSWERED, 100, 100)
    assert a.head is not None and a.head.status == 206
    assert p.requests[0].startswith(f"GET http://{HOST}/ HTTP/1.1\r\n".encode())
    assert b"\r\nRange: bytes=0-99\r\n" in p.requests[0]


def test_stall_close_garbage_and_endless_are_bounded() -> None:
    def stall(conn: socket.socket, request: bytes) -> None:
        conn.sendall(ranged(b"x" * 100)[:-40])   # the head and part of the body, then silence
        hold(conn, 3)

    def close(conn: socket.socket, request: bytes) -> None:
        conn.sendall(ranged(b"x" * 100)[:-40])

    def garbage(conn: socket.socket, request: bytes) -> None:
        conn.sendall(b"\x16\x03\x01\x00\x05hello" * 10)
        hold(conn, 2)

    def endless(conn: socket.socket, request: bytes) -> None:
        conn.sendall(b"HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-99/262144\r\n\r\n")
        end = time.monotonic() + 3
        while time.monotonic() < end:
            try:
                conn.sendall(b"y" * 65536)
            except OSError:
                return

    expected = {stall: Outcome.STALLED, close: Outcome.CLOSED, garbage: Outcome.GARBAGE,
                endless: Outcome.ANSWERED}
    for behaviour, outcome in expected.items():
        with HostileProxy(behaviour) as p:
            t0 = time.monotonic()
            a = get(p)
            took = time.monotonic() - t0
        assert not isinstance(a, ConnectError)
        assert a.outcome is outcome, (behaviour.__name__, a)
        assert took < 2.0, behaviour.__name__
    # The endless answer stops being read a little beyond what was asked for; the rules
    # then see a body that is not the range asked for (never a size).
    with HostileProxy(endless) as p:
        a = get(p)
    assert not isinstance(a, ConnectError) and a.received != a.wanted


def test_a_stale_digest_nonce_is_answered_once_with_the_fresh_challenge() -> None:
    def digest(conn: socket.socket, request: bytes) -> None:
        if b'nonce="n1"' in request and b"nc=00000001" in request:
            conn.sendall(ranged(b"x" * 100))
        else:   # the nonce the client had went stale: a fresh one
            conn.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: "
                         b'Digest realm="r", nonce="n1", qop="auth", stale=true\r\n'
                         b"Content-Length: 0\r\n\r\n")
        hold(conn, 2)
    with HostileProxy(digest) as p:
        config = parse_proxy_url(p.url, "--proxy")
        auth = Authenticator(Credentials("fmc", "pw"), f"{HOST}:443")
        auth.learn(hc.parse_challenges(['Digest realm="r", nonce="n0", qop="auth"']))
        a = range_get(config, auth, HOST, 80, 0, 99, 0.5, 536)
    assert not isinstance(a, ConnectError) and a.outcome is Outcome.ANSWERED
    assert a.head is not None and a.head.status == 206
    assert len(p.requests) == 2
    assert b'uri="http://tools.example.test/"' in p.requests[1]
    assert b"pw" not in b"".join(p.requests)


def test_a_content_length_of_non_ascii_digits_is_no_length() -> None:
    """Latin-1 holds digits Python's isdigit() accepts and int() refuses (b'\\xb9' is '¹'):
    a proxy that sends one gets an answer without a known length (so, held open, it is
    never known complete), never an internal error."""
    def superscript(conn: socket.socket, request: bytes) -> None:
        conn.sendall(b"HTTP/1.1 206 Partial Content\r\nContent-Length: \xb9\xb2\r\n"
                     b"Content-Range: bytes 0-99/262144\r\n\r\n" + b"x" * 100)
        hold(conn, 2)
    with HostileProxy(superscript) as p:
        a = get(p)
    assert not isinstance(a, ConnectError)
    assert a.outcome is Outcome.STALLED and a.received == 100
    assert a.head is not None and a.head.content_length() is None
