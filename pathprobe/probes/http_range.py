"""Ranged plain-HTTP GETs through the proxy: answers of a chosen size coming down leg 2.

One connection to the proxy per request, our advertised MSS lowered (``maxseg``)
so leg 1 carries the answer in small segments and cannot be what stops it; the
answer is read until its head and whole body came, the peer closed, or the
deadline passed. Nothing here decides anything (``pathprobe.range_rules``).
"""

from __future__ import annotations

import contextlib
import socket
import time

from pathprobe.compat import TIMEOUTS
from pathprobe.facts.http_range import RangeAnswer
from pathprobe.facts.tunnel import ConnectError, ConnectFailure, Outcome
from pathprobe.model import ProxyConfig
from pathprobe.probes import kernel
from pathprobe.probes.channel import READ_CHUNK
from pathprobe.probes.tunnel import Authenticator
from pathprobe.wire import http_connect as hc
from pathprobe.wire.http_get import absolute_url, range_request


def _connect(proxy: ProxyConfig, timeout: float, maxseg: int | None
             ) -> socket.socket | ConnectError:
    try:
        infos = socket.getaddrinfo(proxy.host, proxy.port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as e:
        return ConnectError(ConnectFailure.UNREACHABLE, f"cannot resolve proxy {proxy.host}: "
                            f"{getattr(e, 'strerror', None) or e}")
    family, _, _, _, addr = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        if maxseg is not None:
            sock.setsockopt(socket.IPPROTO_TCP, kernel.TCP_MAXSEG, maxseg)
        sock.settimeout(timeout)
        sock.connect(addr)
    except OSError as e:   # socket.timeout included
        sock.close()
        return ConnectError(ConnectFailure.UNREACHABLE,
                            f"no TCP connection to {proxy.display}: {e.strerror or e}")
    return sock


def range_get(proxy: ProxyConfig, auth: Authenticator, host: str, port: int, first: int,
              last: int, timeout: float, maxseg: int | None, path: str = "/",
              connect_timeout: float = 5.0) -> RangeAnswer | ConnectError:
    """``GET http://host:port/path`` with ``Range: bytes=first-last`` through the proxy.

    ANSWERED once a head other than 206 came (the rules judge it) or a 206 with its whole
    body; STALLED when the deadline (``timeout`` after the request) passed first. A 407
    (a Digest nonce gone stale: parallel requests reach the proxy out of order) is
    answered once more with that answer's own challenge.
    """
    url = absolute_url(host, port, path)
    answer = _range_once(proxy, auth.header("GET", url), host, port, first, last, timeout,
                         maxseg, path, connect_timeout)
    if isinstance(answer, ConnectError) or answer.head is None or answer.head.status != 407 \
            or auth.credentials is None:
        return answer
    challenges: list[hc.Challenge] = []
    with contextlib.suppress(hc.MalformedResponse):
        challenges = hc.parse_challenges(answer.head.get_all("Proxy-Authenticate"))
    own = auth.answering(challenges)
    if own is None:
        return answer
    return _range_once(proxy, own.header("GET", url), host, port, first, last, timeout,
                       maxseg, path, connect_timeout)


def _range_once(proxy: ProxyConfig, authorization: str | None, host: str, port: int,
                first: int, last: int, timeout: float, maxseg: int | None, path: str,
                connect_timeout: float) -> RangeAnswer | ConnectError:
    sock = _connect(proxy, connect_timeout, maxseg)
    if isinstance(sock, ConnectError):
        return sock
    with sock:
        request = range_request(host, port, first, last, path, authorization)
        t0 = time.monotonic()
        try:
            sock.sendall(request)
        except OSError as e:
            return RangeAnswer(first, last, Outcome.RESET, 0.0, detail=f"write failed: {e}")
        return _read_answer(sock, first, last, t0, t0 + timeout)


def _read_answer(sock: socket.socket, first: int, last: int, t0: float, deadline: float
                 ) -> RangeAnswer:
    """The answer's head and body as they come, within ``deadline``."""
    buf, head, body = b"", None, 0
    expected: int | None = None

    def answer(outcome: Outcome, detail: str = "") -> RangeAnswer:
        return RangeAnswer(first, last, outcome, time.monotonic() - t0, body, head, detail)

    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return answer(Outcome.STALLED, "no complete answer before the deadline")
        sock.settimeout(left)
        try:
            piece = sock.recv(READ_CHUNK)
        except TIMEOUTS:
            continue
        except OSError as e:
            return answer(Outcome.RESET, f"connection failed: {e.strerror or e}")
        if not piece:
            done = head is not None and (expected is None or body >= expected)
            return answer(Outcome.ANSWERED if done else Outcome.CLOSED,
                          "" if done else "closed before the answer was complete")
        if head is None:
            buf += piece
            try:
                head = hc.parse_final_response_head(buf)
            except hc.MalformedResponse as e:
                return answer(Outcome.GARBAGE, f"not an HTTP answer: {e}")
            if head is None:
                continue
            if head.status != 206:
                return answer(Outcome.ANSWERED)   # the proxy's own answer, or no range
            expected = head.content_length()
            body = len(head.rest)
        else:
            body += len(piece)
        if (expected is not None and body >= expected) or body > last - first + 1 + READ_CHUNK:
            return answer(Outcome.ANSWERED)   # whole, or more than asked for (the rules judge)
