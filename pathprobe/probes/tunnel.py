"""CONNECT tunnels through the proxy and what happens to a sized write inside one.

The only I/O of the tunnel measurement: TCP to the proxy, CONNECT (with Basic
or Digest authentication), then one probe per tunnel, classified as
answered / reset / closed / stalled. Every wait has a deadline; nothing here
decides verdicts (that is ``pathprobe.tunnel``).
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

from pathprobe.compat import TIMEOUTS
from pathprobe.facts.tunnel import ConnectError, ConnectFailure, Download, Outcome, SizedProbe
from pathprobe.model import ProxyConfig
from pathprobe.probes import kernel
from pathprobe.probes.channel import READ_CHUNK, Channel, open_channel
from pathprobe.wire import http_connect as hc
from pathprobe.wire import overhead, tls
from pathprobe.wire import reflector_protocol as rp
from pathprobe.wire.hostport import HostPort
from pathprobe.wire.http_get import get_request
from pathprobe.wire.proxy_auth import Authenticator as Authenticator  # re-exported: callers' name

MAX_REASON = 200  # characters of a reason phrase worth quoting in evidence


@dataclass
class Tunnel:
    """An open CONNECT tunnel (the caller closes ``sock``)."""

    sock: socket.socket
    response: hc.ConnectResponse
    connect_s: float          # TCP connect to the proxy
    established_s: float      # CONNECT sent -> 200 received (includes the proxy's leg 2 connect)
    snd_mss: int | None       # our segment size towards the proxy (leg 1 up), options excluded
    peer_mss: int | None      # the proxy's SYN-ACK MSS as it reached us (estimated)
    family: int = 4           # IP version of leg 1


def all_acked(sock: socket.socket) -> bool | None:
    """True when the peer (the proxy) has acknowledged everything we sent."""
    info = kernel.tcp_info_or_none(sock)
    return None if info is None else info.unacked == 0


def _recv_head(sock: socket.socket, deadline: float) -> hc.ConnectResponse | ConnectError:
    """The proxy's final answer to CONNECT, read by ``deadline`` however the bytes drip.

    Interim 1xx answers are read past; a 101 is no answer to CONNECT; the head is
    bounded (hc.MAX_HEAD_BYTES, hc.MAX_HEADERS), so a hostile proxy gives a
    ConnectError, never a hang or an exception.
    """
    buf = b""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return ConnectError(ConnectFailure.NO_RESPONSE,
                                f"no complete HTTP answer to CONNECT in time "
                                f"({len(buf)} bytes received)")
        sock.settimeout(left)
        try:
            piece = sock.recv(READ_CHUNK)
        except TIMEOUTS:
            continue
        except OSError as e:
            return ConnectError(ConnectFailure.NO_RESPONSE,
                                f"connection to the proxy failed after CONNECT: "
                                f"{e.strerror or e} ({len(buf)} bytes received)")
        if not piece:
            return ConnectError(ConnectFailure.NO_RESPONSE,
                                f"the proxy closed the connection after CONNECT "
                                f"({len(buf)} bytes received)")
        buf += piece
        try:
            head = hc.parse_final_response_head(buf)
        except hc.MalformedResponse as e:
            return ConnectError(ConnectFailure.MALFORMED, f"the proxy's answer is not HTTP: {e}")
        if head is not None and head.status == 101:
            return ConnectError(ConnectFailure.MALFORMED,
                                f"the proxy answered CONNECT with '101 {head.reason}' "
                                "(a protocol switch is no answer to CONNECT)", head)
        if head is not None:
            return head


def _connect_once(proxy: ProxyConfig, target: HostPort, authorization: str | None, timeout: float,
                  maxseg: int | None) -> Tunnel | ConnectError:
    t0 = time.monotonic()
    try:
        infos = socket.getaddrinfo(proxy.host, proxy.port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as e:  # UnicodeError: a label the IDNA codec refuses
        return ConnectError(ConnectFailure.UNREACHABLE,
                            f"cannot resolve proxy {proxy.host}: "
                            f"{getattr(e, 'strerror', None) or e}")
    family, _, _, _, addr = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if maxseg is not None:
            sock.setsockopt(socket.IPPROTO_TCP, kernel.TCP_MAXSEG, maxseg)
        sock.settimeout(timeout)
        try:
            sock.connect(addr)
        except TIMEOUTS:
            sock.close()
            return ConnectError(ConnectFailure.UNREACHABLE,
                                f"no TCP connection to {proxy.display} within {timeout:.1f} s")
        except OSError as e:
            sock.close()
            return ConnectError(ConnectFailure.UNREACHABLE,
                                f"no TCP connection to {proxy.display}: {e.strerror or e}")
        t1 = time.monotonic()
        try:
            sock.sendall(hc.connect_request(target, authorization))
        except OSError as e:
            sock.close()
            return ConnectError(ConnectFailure.NO_RESPONSE,
                                f"the proxy dropped the connection before CONNECT was sent: "
                                f"{e.strerror or e}")
        head = _recv_head(sock, t1 + timeout)
        if isinstance(head, ConnectError):
            sock.close()
            return head
        t2 = time.monotonic()
        if head.status != 200:
            sock.close()
            challenges: list[hc.Challenge] = []
            with contextlib.suppress(hc.MalformedResponse):
                challenges = hc.parse_challenges(head.get_all("Proxy-Authenticate"))
            return ConnectError(ConnectFailure.STATUS,
                                f"{head.status} {head.reason[:MAX_REASON]}".strip(), head,
                                challenges)
        info = kernel.tcp_info_or_none(sock)
        snd_mss = info.snd_mss or None if info is not None else None
        peer = None
        if info is not None and snd_mss is not None:
            peer = overhead.mss_for_payload(snd_mss, info.timestamps)
        return Tunnel(sock, head, t1 - t0, t2 - t1, snd_mss, peer,
                      6 if family == socket.AF_INET6 else 4)
    except BaseException:
        sock.close()
        raise


def open_tunnel(proxy: ProxyConfig, target: HostPort, auth: Authenticator, *,
                timeout: float = 5.0, maxseg: int | None = None) -> Tunnel | ConnectError:
    """Open a CONNECT tunnel, answering at most two 407s (challenge, then stale nonce).

    Each answer uses the 407's own challenge privately (``Authenticator.answering``): a
    retry that shared the nonce could lose the same race again with parallel probes. Once
    through, ``auth`` adopts that nonce for the probes after it."""
    failed = auth.challenge
    sender = auth
    result = _connect_once(proxy, target, sender.header(), timeout, maxseg)
    for _ in range(2):
        if not (isinstance(result, ConnectError) and result.response is not None
                and result.response.status == 407):
            break
        tried = sender.scheme
        stale = any(c.params.get("stale", "").lower() == "true" for c in result.challenges)
        if tried is not None and not stale and tried != "digest":
            result.auth_tried = tried
            break  # Basic credentials rejected: asking again will not help
        if tried == "digest" and not stale and sender.challenge is not None:
            fresh = next((c for c in result.challenges if c.scheme == "digest"), None)
            if fresh is None or fresh.params.get("nonce") == sender.challenge.params.get("nonce"):
                result.auth_tried = tried
                break
        own = auth.answering(result.challenges)
        if own is None:
            result.auth_tried = tried
            break
        sender = own
        result = _connect_once(proxy, target, own.header(), timeout, maxseg)
        if isinstance(result, ConnectError):
            result.auth_tried = own.scheme
        else:
            auth.adopt(own, failed)
    return result


def _read_until(recv: Callable[[float], bytes], done: Callable[[bytes], bool],
                deadline: float, limit: int) -> tuple[bytes, Outcome | None, str]:
    """Read with ``recv(timeout)`` until ``done(buf)``; returns (buf, failure or None, detail)."""
    buf = b""
    while not done(buf):
        left = deadline - time.monotonic()
        if left <= 0:
            return buf, Outcome.STALLED, "no answer before the deadline"
        try:
            piece = recv(left)
        except TIMEOUTS:
            continue
        except ConnectionResetError:
            return buf, Outcome.RESET, "connection reset"
        except OSError as e:  # ssl.SSLError included
            return buf, Outcome.RESET, f"socket error: {e.strerror or e}"
        if not piece:
            return buf, Outcome.CLOSED, "closed without an answer"
        buf += piece
        if len(buf) > limit:
            break
    return buf, None, ""


def _has_tls_record(buf: bytes) -> bool:
    try:
        records, _ = tls.parse_records(buf)
    except tls.TlsParseError:
        return True  # stop reading; classified as garbage below
    return bool(records)


def probe_client_hello(proxy: ProxyConfig, target: HostPort, auth: Authenticator, size: int,
                       server_name: str | None, timeout: float, maxseg: int | None = None,
                       connect_timeout: float = 5.0) -> SizedProbe:
    """One fresh tunnel, one refused ClientHello of ``size`` bytes, one classified answer."""
    t = open_tunnel(proxy, target, auth, timeout=connect_timeout, maxseg=maxseg)
    if isinstance(t, ConnectError):
        return SizedProbe(size, Outcome.NO_TUNNEL, 0.0, detail=t.detail, connect_error=t)
    with t.sock as sock:
        hello = tls.client_hello(size, server_name)
        t0 = time.monotonic()
        try:
            sock.sendall(hello)
        except OSError as e:
            return SizedProbe(size, Outcome.RESET, 0.0, detail=f"write failed: {e.strerror}")
        buf, failed, detail = _read_until(Channel(sock).recv, _has_tls_record, t0 + timeout,
                                          1 << 16)
        elapsed = time.monotonic() - t0
        if buf and (hello.startswith(buf) or buf.startswith(hello)):
            return SizedProbe(size, Outcome.ECHOED, elapsed, len(buf),
                              "our own ClientHello came back (the tunnel echoes)")
        if failed is not None:
            return SizedProbe(size, failed, elapsed, len(buf), detail, acked=all_acked(sock))
        try:
            records, _ = tls.parse_records(buf)
        except tls.TlsParseError:
            return SizedProbe(size, Outcome.GARBAGE, elapsed, len(buf),
                              f"non-TLS bytes in the tunnel: {buf[:24]!r}")
        return SizedProbe(size, Outcome.ANSWERED, elapsed, len(buf), records[0].describe())


# --- reflector client ---------------------------------------------------------------------

def _line_done(buf: bytes) -> bool:
    return b"\n" in buf


def reflector_request(ch: Channel, request: rp.Request, deadline: float) -> str | None:
    """Send one request line, return the one-line answer (None on failure)."""
    try:
        ch.send(rp.build_request(request))
    except OSError:
        return None
    buf, failed, _ = _read_until(ch.recv, _line_done, deadline, 4096)
    if failed is not None:
        return None
    return buf.split(b"\n", 1)[0].decode("utf-8", "replace")


def _hello_line(sock: socket.socket, token: str | None, tls_name: str | None, deadline: float
                ) -> tuple[Channel, str | None] | str:
    """(channel, the greeting line or None) after HELLO, or why there is no channel."""
    hello = rp.HelloRequest(token)
    problem = token and rp.token_problem(token)
    if problem:
        return f"the token cannot be sent: {problem}"
    try:
        ch = open_channel(sock, tls_name, deadline)
    except (OSError, ValueError) as e:
        return f"TLS to the reflector failed: {e}"
    return ch, reflector_request(ch, hello, deadline)


def _greet(t: Tunnel, token: str | None, tls_name: str | None, timeout: float
           ) -> Channel | str:
    """A Channel that has said HELLO, or why not (one line)."""
    opened = _hello_line(t.sock, token, tls_name, time.monotonic() + timeout)
    if isinstance(opened, str):
        return opened
    ch, line = opened
    if rp.parse_hello(line) is None:
        return f"reflector did not greet: {line!r}"
    return ch


def probe_reflector_up(proxy: ProxyConfig, target: HostPort, auth: Authenticator, size: int,
                       token: str | None, timeout: float, tls_name: str | None = None,
                       maxseg: int | None = None, connect_timeout: float = 5.0) -> SizedProbe:
    """Write ``size`` bytes in one piece to the reflector; it answers once all arrived."""
    t = open_tunnel(proxy, target, auth, timeout=connect_timeout, maxseg=maxseg)
    if isinstance(t, ConnectError):
        return SizedProbe(size, Outcome.NO_TUNNEL, 0.0, detail=t.detail, connect_error=t)
    with t.sock as sock:
        ch = _greet(t, token, tls_name, connect_timeout)
        if isinstance(ch, str):
            return SizedProbe(size, Outcome.UNTESTED, 0.0, detail=ch)
        body = size - rp.SINK_HEADER - ch.overhead
        t0 = time.monotonic()
        try:
            ch.send(rp.build_request(rp.SinkRequest(body)) + b"r" * body)
        except OSError as e:
            return SizedProbe(size, Outcome.RESET, 0.0, detail=f"write failed: {e.strerror}")
        buf, failed, detail = _read_until(ch.recv, _line_done, t0 + timeout, 4096)
        elapsed = time.monotonic() - t0
        if failed is not None:
            return SizedProbe(size, failed, elapsed, len(buf), detail, acked=all_acked(sock))
        line = buf.split(b"\n", 1)[0].decode("utf-8", "replace")
        answer = rp.parse_answer(line)
        segment = answer.rcv_mss if isinstance(answer, rp.Sunk) else None
        return SizedProbe(size, Outcome.ANSWERED, elapsed, len(buf), line, segment=segment)


def probe_reflector_down(proxy: ProxyConfig, target: HostPort, auth: Authenticator, size: int,
                         token: str | None, timeout: float, maxseg: int | None,
                         tls_name: str | None = None,
                         connect_timeout: float = 5.0) -> SizedProbe:
    """Ask the reflector for ``size`` bytes written in one piece (one segment on leg 2).

    ``maxseg`` lowers our advertised MSS so that leg 1 (proxy to us) carries
    the bytes in small segments and cannot be what limits this probe.
    """
    t = open_tunnel(proxy, target, auth, timeout=connect_timeout, maxseg=maxseg)
    if isinstance(t, ConnectError):
        return SizedProbe(size, Outcome.NO_TUNNEL, 0.0, detail=t.detail, connect_error=t)
    with t.sock:
        ch = _greet(t, token, tls_name, connect_timeout)
        if isinstance(ch, str):
            return SizedProbe(size, Outcome.UNTESTED, 0.0, detail=ch)
        want = size - ch.overhead  # the reflector's record gains the same overhead
        t0 = time.monotonic()
        try:
            ch.send(rp.build_request(rp.SendRequest(want)))
        except OSError as e:
            return SizedProbe(size, Outcome.RESET, 0.0, detail=f"write failed: {e.strerror}")
        buf, failed, detail = _read_until(ch.recv, lambda b: len(b) >= want, t0 + timeout, want)
        elapsed = time.monotonic() - t0
        if failed is not None:
            return SizedProbe(size, failed, elapsed, len(buf), detail)
        return SizedProbe(size, Outcome.ANSWERED, elapsed, len(buf))


def reflector_hello(proxy: ProxyConfig, target: HostPort, auth: Authenticator, token: str | None,
                    timeout: float, tls_name: str | None = None) -> str | ConnectError | None:
    """The reflector's greeting line (``rp.parse_hello`` reads it), or why there is none."""
    t = open_tunnel(proxy, target, auth, timeout=timeout)
    if isinstance(t, ConnectError):
        return t
    with t.sock:
        opened = _hello_line(t.sock, token, tls_name, time.monotonic() + timeout)
        return opened if isinstance(opened, str) else opened[1]


def download_over_tls(proxy: ProxyConfig, target: HostPort, auth: Authenticator, server_name: str,
                      path: str, idle_timeout: float, limit: int, maxseg: int | None,
                      connect_timeout: float = 5.0, total_timeout: float = 20.0
                      ) -> Download | ConnectError:
    """GET ``path`` over TLS inside the tunnel and read at most ``limit`` body bytes.

    TLS runs over memory BIOs so every raw byte is counted: a real server's
    certificate flight already needs full-size segments down. The certificate
    is not verified: nothing secret is sent, only the path's ability to carry
    the answer is measured.
    """
    t = open_tunnel(proxy, target, auth, timeout=connect_timeout, maxseg=maxseg)
    if isinstance(t, ConnectError):
        return t
    ch = Channel(t.sock, server_name)
    t0 = ch.last_received
    deadline = t0 + total_timeout
    received = 0
    answer: hc.ConnectResponse | None = None   # the answer's head, once it is complete
    expected: int | None = None                # its Content-Length, when usable

    def result(complete: bool, stalled: bool, detail: str) -> Download:
        now = time.monotonic()
        return Download(expected, received, complete, stalled,
                        now - ch.last_received if stalled else 0.0, now - t0, detail,
                        ch.raw_received, answer, ch.echoed)

    handshake_done = False
    with t.sock:
        try:
            ch.handshake(deadline, idle_timeout)
            handshake_done = True
            ch.send(get_request(target.url_host, path))
            head = b""
            while True:
                piece = ch.recv(deadline - time.monotonic(), idle_timeout)
                if not piece:
                    if ch.truncated:
                        return result(False, False, "connection failed: the TLS stream "
                                      "ended without close_notify")
                    break
                if answer is None:
                    # Bounded (MAX_HEAD_BYTES) and checked as it grows by the parser.
                    head += piece
                    answer = hc.parse_response_head(head)
                    if answer is None:
                        continue
                    expected = answer.content_length()
                    received = len(answer.rest)
                else:
                    received += len(piece)
                if (expected is not None and expected <= received) or received >= limit:
                    break
        except TIMEOUTS:
            return result(False, True, "data stopped" if handshake_done
                          else "TLS handshake stalled")
        except (OSError, ValueError) as e:  # ssl.SSLError is an OSError; bad heads ValueError
            return result(False, False, f"connection failed: {e}")
    done = expected is None or received >= expected
    return result(done, False, "complete" if done else "closed early")
