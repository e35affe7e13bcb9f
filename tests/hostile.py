"""Small hostile or broken HTTP proxies on loopback, for robustness tests (issue 15).

Each behaviour is a function that gets one accepted connection (the CONNECT
request already read) and misbehaves on it. ``HostileProxy`` listens on
127.0.0.1 with an ephemeral port and serves every connection in its own
daemon thread; everything is bounded in time (``HOLD_S``) and count
(``MAX_CONNECTIONS``), and nothing here ever connects anywhere.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from collections.abc import Callable
from types import TracebackType

HOLD_S = 20.0            # the longest any behaviour keeps a connection open
MAX_CONNECTIONS = 200    # then the server stops accepting
DRIP_INTERVAL_S = 0.2

Behaviour = Callable[[socket.socket, bytes], None]


def read_request(conn: socket.socket, limit: int = 16384, timeout: float = 5.0) -> bytes:
    """The client's request head (up to the blank line), or whatever came in time."""
    conn.settimeout(timeout)
    buf = b""
    with contextlib.suppress(OSError):
        while b"\r\n\r\n" not in buf and len(buf) < limit:
            piece = conn.recv(4096)
            if not piece:
                break
            buf += piece
    return buf


def hold(conn: socket.socket, seconds: float = HOLD_S) -> None:
    """Keep the connection open, reading and discarding, until the client leaves."""
    end = time.monotonic() + seconds
    with contextlib.suppress(OSError):
        while (left := end - time.monotonic()) > 0:
            conn.settimeout(left)
            if not conn.recv(65536):
                return


def reset(conn: socket.socket) -> None:
    """Close with an RST (SO_LINGER 0) instead of a FIN."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


# --- behaviours ---------------------------------------------------------------------------

def silent(conn: socket.socket, request: bytes) -> None:
    hold(conn)


def dripping(conn: socket.socket, request: bytes) -> None:
    """A valid answer, one byte every DRIP_INTERVAL_S: it would take minutes to finish."""
    answer = b"HTTP/1.1 403 Forbidden\r\n" + b"X-Drip: " + b"d" * 2000 + b"\r\n\r\n"
    with contextlib.suppress(OSError):
        for i in range(len(answer)):
            conn.sendall(answer[i:i + 1])
            time.sleep(DRIP_INTERVAL_S)


def endless_headers(conn: socket.socket, request: bytes) -> None:
    end = time.monotonic() + HOLD_S
    with contextlib.suppress(OSError):
        conn.sendall(b"HTTP/1.1 200 Connection established\r\n")
        n = 0
        while time.monotonic() < end:
            conn.sendall(b"".join(b"X-Header-%d: v\r\n" % (n + i) for i in range(100)))
            n += 100


def garbage(conn: socket.socket, request: bytes) -> None:
    with contextlib.suppress(OSError):
        conn.sendall(bytes(range(256)) * 4)
    hold(conn, 5)


def ok_then_silence(conn: socket.socket, request: bytes) -> None:
    with contextlib.suppress(OSError):
        conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
    hold(conn)


def ok_then_close(conn: socket.socket, request: bytes) -> None:
    """200, then the tunnel closes at once (FIN) whatever comes through it."""
    with contextlib.suppress(OSError):
        conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        conn.shutdown(socket.SHUT_WR)
    hold(conn, 5)


def ok_then_echo(conn: socket.socket, request: bytes) -> None:
    """200, then every byte that comes through the tunnel goes straight back (our own
    ClientHello and probes return to us as if the far end had answered)."""
    end = time.monotonic() + HOLD_S
    with contextlib.suppress(OSError):
        conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        while (left := end - time.monotonic()) > 0:
            conn.settimeout(left)
            data = conn.recv(65536)
            if not data:
                return
            conn.sendall(data)


def http10_ok_with_body(conn: socket.socket, request: bytes) -> None:
    with contextlib.suppress(OSError):
        conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n"
                     b"<html><body>Welcome to our proxy</body></html>\n")
    hold(conn)


def bare_lf_ok(conn: socket.socket, request: bytes) -> None:
    with contextlib.suppress(OSError):
        conn.sendall(b"HTTP/1.1 200 Connection established\n\n")
    hold(conn)


def huge_407(conn: socket.socket, request: bytes) -> None:
    """A 407 whose head never ends within the size bound (one giant challenge)."""
    with contextlib.suppress(OSError):
        conn.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                     b"Proxy-Authenticate: Basic realm=\"" + b"r" * 200_000 + b"\"\r\n\r\n")
    hold(conn, 5)


def malformed_407(conn: socket.socket, request: bytes) -> None:
    """A 407 whose challenge cannot be parsed (unterminated quote, stray '=')."""
    with contextlib.suppress(OSError):
        conn.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                     b"Proxy-Authenticate: Digest =,,realm=\"open, nonce=\r\n"
                     b"Proxy-Authenticate: ===\r\n"
                     b"Content-Length: 0\r\n\r\n")


def cr_in_challenge(conn: socket.socket, request: bytes) -> None:
    """A Digest challenge with a lone CR in realm, nonce and opaque."""
    with contextlib.suppress(OSError):
        conn.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                     b"Proxy-Authenticate: Digest realm=\"lab\rrealm\", nonce=\"abc\rdef\", "
                     b"opaque=\"x\ry\", qop=\"auth\", algorithm=MD5\r\n"
                     b"Content-Length: 0\r\n\r\n")


def ansi_reason(conn: socket.socket, request: bytes) -> None:
    """A refusal whose reason phrase and error header try to rewrite the terminal."""
    with contextlib.suppress(OSError):
        conn.sendall(b"HTTP/1.1 403 \x1b[2J\x1b]0;pwned\x07Forbidden\x1b[31m\r\n"
                     b"X-Squid-Error: ERR_ACCESS_DENIED \x1b[1;32mOK\x9b0m\r\n"
                     b"Content-Length: 0\r\n\r\n")


def echo_credentials(conn: socket.socket, request: bytes) -> None:
    """Asks for Basic, then refuses, echoing the client's Proxy-Authorization everywhere."""
    echoed = b""
    for line in request.split(b"\r\n"):
        if line.lower().startswith(b"proxy-authorization:"):
            echoed = line.split(b":", 1)[1].strip()
    with contextlib.suppress(OSError):
        if not echoed:
            conn.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                         b"Proxy-Authenticate: Basic realm=\"echo\"\r\n"
                         b"Content-Length: 0\r\n\r\n")
        else:
            conn.sendall(b"HTTP/1.1 403 Denied for " + echoed + b"\r\n"
                         b"X-Squid-Error: ERR_ACCESS_DENIED " + echoed + b"\r\n"
                         b"Content-Length: 0\r\n\r\n")


def rst_mid_answer(conn: socket.socket, request: bytes) -> None:
    with contextlib.suppress(OSError):
        conn.sendall(b"HTTP/1.1 200 Conn")
        time.sleep(0.1)
    reset(conn)


def continue_then_403(conn: socket.socket, request: bytes) -> None:
    """An interim 100 Continue, then the real (final) answer."""
    with contextlib.suppress(OSError):
        conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        time.sleep(0.05)
        conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")


def switching_protocols(conn: socket.socket, request: bytes) -> None:
    with contextlib.suppress(OSError):
        conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n")
    hold(conn, 5)


BEHAVIOURS: dict[str, Behaviour] = {
    "silent": silent, "dripping": dripping, "endless-headers": endless_headers,
    "garbage": garbage, "200-then-silence": ok_then_silence,
    "200-then-close": ok_then_close, "200-then-echo": ok_then_echo,
    "http10-200-with-body": http10_ok_with_body, "bare-lf-200": bare_lf_ok,
    "huge-407": huge_407, "malformed-407": malformed_407, "cr-in-challenge": cr_in_challenge,
    "ansi-reason": ansi_reason, "echo-credentials": echo_credentials,
    "rst-mid-answer": rst_mid_answer, "100-then-403": continue_then_403,
    "101": switching_protocols,
}


class HostileProxy:
    """A loopback 'proxy' that treats every connection with one behaviour."""

    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.requests: list[bytes] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        for _ in range(MAX_CONNECTIONS):
            conn = None
            while conn is None and not self._stop.is_set():
                with contextlib.suppress(TimeoutError):
                    conn, _ = self._listener.accept()
            if conn is None:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        try:
            request = read_request(conn)
            self.requests.append(request)
            self.behaviour(conn, request)
        finally:
            with contextlib.suppress(OSError):
                conn.close()

    def __enter__(self) -> HostileProxy:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join(2)
        self._listener.close()
