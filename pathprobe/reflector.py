"""`pathprobe serve`: the far end you control, for measuring leg 2 exactly.

Through a CONNECT tunnel the client talks the line protocol of
``pathprobe.wire.reflector_protocol``:

    HELLO <token|->      -> one JSON line: the SYN exactly as it arrived here
                            (TCP_SAVE_SYN/TCP_SAVED_SYN: MSS after any clamp on
                            leg 2, timestamps, the proxy's address)
    SINK nnnnn\\n<n bytes> -> one JSON line once all n bytes arrived (an up probe)
    SEND n               -> n bytes written in one piece (a down probe)
    QUIT

Safe on a public address: replies are bounded (MAX_SEND per request and
SEND_BUDGET per connection: no amplification), a per-source rate limit, an
optional token, and limits nobody can hold open: a connection has
``greeting_s`` for its TLS handshake and HELLO line, connections that have
not greeted yet are a separate pool whose oldest member makes room for a
newcomer (so slow tokenless clients cannot lock a token holder out), greeted
connections are capped, and the idle and lifetime limits apply inside every
read and write (a slow SINK is cut at the lifetime).
"""

from __future__ import annotations

import contextlib
import hmac
import shutil
import signal
import socket
import socketserver
import ssl
import subprocess
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pathprobe.errors import MissingTool, NotMeasuredError, UsageError
from pathprobe.probes import kernel
from pathprobe.wire import reflector_protocol as rp
from pathprobe.wire.headers import parse_ip, parse_tcp
from pathprobe.wire.hostport import HostPort

MAX_SEND = 16384
MAX_SINK = 65535
SEND_BUDGET = 1 << 20
MAX_COMMANDS = 64
MAX_LINE = rp.MAX_LINE
GREETING_S = 3.0
IDLE_TIMEOUT_S = 10.0
LIFETIME_S = 60.0
MAX_CONNECTIONS = 256
MAX_PENDING = 256
RATE_PER_S = 50.0
RATE_BURST = 100.0
BUSY = rp.BUSY


def read_syn(raw: bytes) -> rp.Syn | None:
    """The fields of a saved SYN (IP + TCP headers) that matter for leg 2 (pure)."""
    ip = parse_ip(raw)
    if ip is None:
        return None
    tcp = parse_tcp(raw[ip.header_length:])
    if tcp is None:
        return None
    return rp.Syn(ip_version=ip.version, ttl=ip.ttl,
                  header_bytes=ip.header_length + tcp.header_length, mss=tcp.options.mss,
                  timestamps=tcp.options.timestamps is not None,
                  sack=tcp.options.sack_permitted, wscale=tcp.options.wscale)


@dataclass
class Limits:
    """Admission and time limits (thread-safe counters and per-source token buckets)."""

    max_connections: int = MAX_CONNECTIONS   # greeted connections at once
    max_pending: int = MAX_PENDING           # not greeted yet; the oldest makes room
    rate: float = RATE_PER_S                 # new connections per second per source
    burst: float = RATE_BURST
    greeting_s: float = GREETING_S           # TLS handshake + the first line
    idle_s: float = IDLE_TIMEOUT_S           # longest wait for any read or write
    lifetime_s: float = LIFETIME_S
    clock: Callable[[], float] = time.monotonic
    greeted: int = 0
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def admit(self, source: str) -> bool:
        """A new connection from ``source``: within its rate, and room to serve it later."""
        with self._lock:
            now = self.clock()
            tokens, last = self._buckets.get(source, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens < 1 or self.greeted >= self.max_connections:
                self._buckets[source] = (tokens, now)
                return False
            self._buckets[source] = (tokens - 1, now)
            if len(self._buckets) > 10000:  # bound memory under a scan
                self._buckets.clear()
            return True

    def claim(self) -> bool:
        """A slot among the greeted connections (False: busy)."""
        with self._lock:
            if self.greeted >= self.max_connections:
                return False
            self.greeted += 1
            return True

    def release(self) -> None:
        with self._lock:
            self.greeted -= 1


@dataclass
class _Conn:
    """One accepted connection as the reaper sees it."""

    fd: int
    greeting_end: float
    lifetime_end: float
    greeted: bool = False


class _Reader:
    """Buffered reads that never wait past a deadline or the idle limit."""

    def __init__(self, sock: socket.socket, idle: float) -> None:
        self.sock = sock
        self.idle = idle
        self.buf = b""

    def _more(self, deadline: float) -> bool:
        wait = min(self.idle, deadline - time.monotonic())
        if wait <= 0:
            return False
        self.sock.settimeout(wait)
        try:
            data = self.sock.recv(65536)
        except OSError:  # TimeoutError included
            return False
        self.buf += data
        return bool(data)

    def line(self, deadline: float) -> str | None:
        """The next line (at most MAX_LINE bytes with its newline), None if it is not there."""
        while b"\n" not in self.buf:
            if len(self.buf) >= MAX_LINE or not self._more(deadline):
                return None
        line, _, self.buf = self.buf.partition(b"\n")
        if len(line) >= MAX_LINE:
            return None
        return line.decode("ascii", "replace")

    def skip(self, n: int, deadline: float) -> int:
        """Consume up to ``n`` bytes; how many arrived before the deadline or the end."""
        got = 0
        while True:
            take = min(n - got, len(self.buf))
            got += take
            self.buf = self.buf[take:]
            if got >= n or not self._more(deadline):
                return got


def _send(sock: socket.socket, data: bytes, idle: float, deadline: float) -> None:
    wait = min(idle, deadline - time.monotonic())
    if wait <= 0:
        raise TimeoutError
    sock.settimeout(wait)
    sock.sendall(data)


class _Handler(socketserver.BaseRequestHandler):
    server: ReflectorServer

    def handle(self) -> None:
        conn = self.server.connection(self.request)
        self.tls_sock: ssl.SSLSocket | None = None
        try:
            self._converse(conn)
        except OSError:
            pass  # a peer that misbehaves or is cut at a limit is closed
        finally:
            self.server.forget(conn)  # before the descriptor is closed and reused
            if self.tls_sock is not None:
                self.tls_sock.close()

    def _converse(self, conn: _Conn) -> None:
        limits = self.server.limits
        sock: socket.socket = self.request
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            saved = sock.getsockopt(socket.IPPROTO_TCP, kernel.TCP_SAVED_SYN, 512)
        except OSError:
            saved = b""
        peer = str(self.client_address[0]).removeprefix("::ffff:")
        if self.server.ssl_context is not None:
            sock.settimeout(max(0.01, conn.greeting_end - time.monotonic()))
            # The reaper cuts a handshake that is still running at the greeting deadline.
            sock = self.tls_sock = self.server.ssl_context.wrap_socket(
                sock, server_side=True, do_handshake_on_connect=False)
            sock.do_handshake()
        reader = _Reader(sock, limits.idle_s)
        line = reader.line(conn.greeting_end)
        if line is None:
            return
        token = self.server.token
        request = rp.parse_request(line)
        if token is not None:
            if not isinstance(request, rp.HelloRequest):
                _send(sock, rp.build_answer(rp.Refused(rp.HELLO_FIRST_MESSAGE)), limits.idle_s,
                      conn.lifetime_end)
                return
            if not _token_matches(request, token):
                _send(sock, rp.build_answer(rp.Refused(rp.BAD_TOKEN_MESSAGE)), limits.idle_s,
                      conn.lifetime_end)
                return
        if not self.server.promote(conn):
            _send(sock, BUSY, limits.idle_s, conn.lifetime_end)
            return
        try:
            self._commands(sock, reader, request, conn, peer, saved)
        finally:
            limits.release()

    def _commands(self, sock: socket.socket, reader: _Reader, request: rp.Request | None,
                  conn: _Conn, peer: str, saved: bytes) -> None:
        """Serve requests until QUIT, an error, MAX_COMMANDS or a limit."""
        idle, end = self.server.limits.idle_s, conn.lifetime_end
        budget = SEND_BUDGET
        for _ in range(MAX_COMMANDS):
            if isinstance(request, rp.HelloRequest):
                if self.server.token is not None and not _token_matches(request,
                                                                        self.server.token):
                    _send(sock, rp.build_answer(rp.Refused(rp.BAD_TOKEN_MESSAGE)), idle, end)
                    return
                hello = rp.Hello(peer, read_syn(saved) if saved else None)
                _send(sock, rp.build_answer(hello), idle, end)
            elif isinstance(request, rp.SinkRequest) and request.size <= MAX_SINK:
                got = reader.skip(request.size, end)
                if got < request.size:
                    return
                info = kernel.tcp_info_or_none(sock)
                _send(sock, rp.build_answer(rp.Sunk(got, info.rcv_mss if info else None)),
                      idle, end)
            elif isinstance(request, rp.SendRequest) and 0 < request.size <= min(MAX_SEND,
                                                                                 budget):
                budget -= request.size
                _send(sock, rp.SEND_FILL * request.size, idle, end)
            elif isinstance(request, rp.QuitRequest):
                return
            else:
                _send(sock, rp.build_answer(rp.Refused(
                    f"bad command (SINK <= {MAX_SINK}, SEND <= {MAX_SEND}, {budget} bytes "
                    "left)")), idle, end)
                return
            line = reader.line(end)
            if line is None:
                return
            request = rp.parse_request(line)


def _token_matches(request: rp.HelloRequest, token: str) -> bool:
    return hmac.compare_digest((request.token or "").encode(), token.encode())


class ReflectorServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], token: str | None = None,
                 limits: Limits | None = None, ssl_context: ssl.SSLContext | None = None
                 ) -> None:
        self.token = token
        self.limits = limits or Limits()
        self.ssl_context = ssl_context
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self._conns: dict[int, _Conn] = {}
        self._pending: OrderedDict[int, _Conn] = OrderedDict()
        self._conns_lock = threading.Lock()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        if self.address_family == socket.AF_INET6:
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        self.socket.setsockopt(socket.IPPROTO_TCP, kernel.TCP_SAVE_SYN, 1)
        super().server_bind()

    def verify_request(self, request: Any, client_address: Any) -> bool:
        source = str(client_address[0]) if isinstance(client_address, tuple) else "?"
        if not self.limits.admit(source):
            if self.ssl_context is None and isinstance(request, socket.socket):
                # Say why, so a client does not take the closed connection for a lost probe.
                with contextlib.suppress(OSError):
                    request.send(BUSY)
            return False
        now = time.monotonic()
        conn = _Conn(request.fileno(), now + self.limits.greeting_s, now + self.limits.lifetime_s)
        with self._conns_lock:
            self._conns[conn.fd] = conn
            self._pending[conn.fd] = conn
            while len(self._pending) > self.limits.max_pending:
                _, oldest = self._pending.popitem(last=False)
                _cut(oldest.fd)  # its reads end now; its thread forgets it
        return True

    def connection(self, request: socket.socket) -> _Conn:
        with self._conns_lock:
            return self._conns[request.fileno()]

    def promote(self, conn: _Conn) -> bool:
        """Move a connection that greeted from the pending pool to the greeted one."""
        with self._conns_lock:
            if self._pending.pop(conn.fd, None) is None:
                return False  # evicted or reaped meanwhile
        if not self.limits.claim():
            return False
        conn.greeted = True
        return True

    def forget(self, conn: _Conn) -> None:
        """Called before the socket is closed, so the reaper never cuts a reused fd."""
        fd = conn.fd
        with self._conns_lock:
            if self._conns.get(fd) is conn:
                del self._conns[fd]
            if self._pending.get(fd) is conn:
                del self._pending[fd]

    def service_actions(self) -> None:
        """The reaper (every poll interval): greeting and lifetime deadlines, whatever the
        connection's thread is blocked in (a TLS handshake, a write to a full window)."""
        now = time.monotonic()
        with self._conns_lock:
            for conn in list(self._conns.values()):
                late = now > conn.lifetime_end or (not conn.greeted and now > conn.greeting_end)
                if late:
                    self._pending.pop(conn.fd, None)
                    _cut(conn.fd)

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a peer that misbehaves is closed; nothing to report


def _cut(fd: int) -> None:
    """Shut a connection down by descriptor: its thread's blocked read or write returns."""
    with contextlib.suppress(OSError):
        s = socket.socket(fileno=fd)
        try:
            s.shutdown(socket.SHUT_RDWR)
        finally:
            s.detach()


def parse_listen(text: str) -> HostPort:
    """ADDR:PORT or [V6]:PORT or :PORT (all addresses) for --listen."""
    try:
        at = HostPort.parse(f"[::]{text}" if text.startswith(":") else text)
    except ValueError as e:
        raise ValueError(f"--listen must be ADDR:PORT (e.g. 0.0.0.0:7007), not {text!r}: "
                         f"{e}") from None
    with contextlib.suppress(OSError):
        socket.getaddrinfo(at.host, None)
        return at
    raise ValueError(f"--listen address {at.host!r} is not a local address")


def tls_context(cert: str, key: str) -> ssl.SSLContext:
    """Server context for ``serve --tls`` (OSError/ssl.SSLError if the files are unusable)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx


def serve(address: HostPort, token: str | None, max_time: float = 0,
          announce: Callable[[str], None] | None = None,
          ssl_context: ssl.SSLContext | None = None, limits: Limits | None = None) -> None:
    """Listen on ``address`` until Ctrl-C (or ``max_time`` seconds); OSError if it cannot."""
    server = ReflectorServer((address.host, address.port), token, limits,
                             ssl_context=ssl_context)
    host, port = str(server.server_address[0]), int(server.server_address[1])
    if announce is not None:
        announce(f"reflector listening on [{host}]:{port} (replies <= {MAX_SEND} bytes"
                 f"{', TLS' if ssl_context else ''}{', token required' if token else ''})")
    if max_time:
        timer = threading.Timer(max_time, server.shutdown)
        timer.daemon = True
        timer.start()
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()


def run_reflector(address: HostPort, token: str | None, max_time: float,
                  announce: Callable[[str], None], *, tls: bool = False,
                  cert: Path | None = None, key: Path | None = None) -> None:
    """``pathprobe serve``: the reflector until Ctrl-C, SIGTERM or ``max_time``, each an
    ordinary end (announced); for TLS without ``cert``/``key`` a throwaway self-signed
    certificate, removed on the way out whatever ends it. UsageError for an unusable
    certificate or key, NotMeasuredError when it cannot listen."""
    # SIGTERM ends the server like Ctrl-C: the with-block below then removes the key.
    previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        with tempfile.TemporaryDirectory(prefix="pathprobe-serve-") as tmp:
            context = None
            if tls:
                if cert is None or key is None:
                    cert, key = self_signed(Path(tmp))
                try:
                    context = tls_context(str(cert), str(key))
                except (OSError, ValueError) as e:
                    raise UsageError(f"cannot use --cert/--key: {e}") from None
            try:
                serve(address, token, max_time, announce, context)
            except (KeyboardInterrupt, _Terminated):
                announce("reflector stopped")  # how a server ends: status 0
            except OSError as e:
                raise NotMeasuredError(f"cannot listen on {address}: "
                                       f"{e.strerror or e}") from None
    except _Terminated:
        announce("reflector stopped")  # before it was listening
    finally:
        signal.signal(signal.SIGTERM, previous)


class _Terminated(Exception):
    """SIGTERM, raised in the main thread so that cleanup runs."""


def _terminated(_signum: int, _frame: object) -> None:
    raise _Terminated


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A throwaway EC certificate and key in ``directory`` (the openssl CLI: Python's ssl
    cannot make one)."""
    cert, key = directory / "reflector.crt", directory / "reflector.key"
    if shutil.which("openssl") is None:
        raise MissingTool("openssl", "openssl")
    done = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:prime256v1", "-nodes", "-days", "7", "-subj",
         "/CN=pathprobe-reflector", "-keyout", str(key), "-out", str(cert)],
        capture_output=True, text=True, check=False, timeout=30)
    if done.returncode != 0:
        raise NotMeasuredError(f"openssl could not make a certificate: "
                               f"{done.stderr.strip()[-200:]}")
    return cert, key


def main(argv: list[str] | None = None) -> int:
    """``python -m pathprobe.reflector [ADDR:PORT]``: what the lab runs (light imports)."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    try:
        serve(parse_listen(args[0] if args else "[::]:7007"), None)
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
