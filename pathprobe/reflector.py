"""`pathprobe serve`: the far end you control, for measuring leg 2 exactly.

Through a CONNECT tunnel the client talks a line protocol:

    HELLO <token|->      -> one JSON line: the SYN exactly as it arrived here
                            (TCP_SAVE_SYN/TCP_SAVED_SYN: MSS after any clamp on
                            leg 2, timestamps, the proxy's address)
    SINK nnnnn\\n<n bytes> -> one JSON line once all n bytes arrived (an up probe)
    SEND n               -> n bytes written in one piece (a down probe)
    QUIT

Safe on a public address: replies are bounded (MAX_SEND per request and
SEND_BUDGET per connection: no amplification), a connection limit, a
per-source rate limit, idle and lifetime timeouts, and an optional token.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import socket
import socketserver
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pathprobe.wire.headers import parse_ip, parse_tcp

TCP_SAVE_SYN = 27
TCP_SAVED_SYN = 28
TCP_INFO = getattr(socket, "TCP_INFO", 11)
MAX_SEND = 16384
MAX_SINK = 65535
SEND_BUDGET = 1 << 20
MAX_COMMANDS = 64
MAX_LINE = 128
IDLE_TIMEOUT_S = 10.0
LIFETIME_S = 60.0
MAX_CONNECTIONS = 256
RATE_PER_S = 50.0
RATE_BURST = 100.0
BUSY = b'{"error": "busy"}\n'


def describe_syn(raw: bytes) -> dict[str, object]:
    """The fields of a saved SYN (IP + TCP headers) that matter for leg 2 (pure)."""
    ip = parse_ip(raw)
    if ip is None:
        return {"syn": None}
    tcp = parse_tcp(raw[ip.header_length:])
    if tcp is None:
        return {"syn": None}
    return {"syn_mss": tcp.options.mss, "syn_timestamps": tcp.options.timestamps is not None,
            "syn_sack": tcp.options.sack_permitted, "syn_wscale": tcp.options.wscale,
            "syn_ip_version": ip.version, "syn_ttl": ip.ttl,
            "syn_header_bytes": ip.header_length + tcp.header_length}


@dataclass
class Limits:
    """Per-source token buckets and a global connection count (thread-safe)."""

    max_connections: int = MAX_CONNECTIONS
    rate: float = RATE_PER_S
    burst: float = RATE_BURST
    clock: Callable[[], float] = time.monotonic
    active: int = 0
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def admit(self, source: str) -> bool:
        with self._lock:
            now = self.clock()
            tokens, last = self._buckets.get(source, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens < 1 or self.active >= self.max_connections:
                self._buckets[source] = (tokens, now)
                return False
            self._buckets[source] = (tokens - 1, now)
            if len(self._buckets) > 10000:  # bound memory under a scan
                self._buckets.clear()
            self.active += 1
            return True

    def release(self) -> None:
        with self._lock:
            self.active -= 1


class _Handler(socketserver.BaseRequestHandler):
    server: ReflectorServer

    def handle(self) -> None:
        sock: socket.socket = self.request
        start = time.monotonic()
        sock.settimeout(IDLE_TIMEOUT_S)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            saved = sock.getsockopt(socket.IPPROTO_TCP, TCP_SAVED_SYN, 512)
        except OSError:
            saved = b""
        peer = str(self.client_address[0])
        if peer.startswith("::ffff:"):
            peer = peer.removeprefix("::ffff:")
        if self.server.ssl_context is not None:
            try:
                sock = self.server.ssl_context.wrap_socket(sock, server_side=True)
            except OSError:
                return  # not TLS, or the handshake failed: nothing to say
        reader = sock.makefile("rb", buffering=0)
        greeted = self.server.token is None
        budget = SEND_BUDGET
        try:
            for _ in range(MAX_COMMANDS):
                if time.monotonic() - start > LIFETIME_S:
                    return
                line = _read_line(reader)
                if line is None:
                    return
                cmd, _, arg = line.partition(" ")
                if cmd == "HELLO":
                    if self.server.token is not None and not hmac.compare_digest(
                            arg.encode(), self.server.token.encode()):
                        sock.sendall(b'{"error": "bad token"}\n')
                        return
                    greeted = True
                    info: dict[str, object] = {"pathprobe": "reflector", "version": 1,
                                               "peer": peer}
                    info.update(describe_syn(saved) if saved else {"syn": None})
                    sock.sendall(json.dumps(info).encode() + b"\n")
                elif not greeted:
                    sock.sendall(b'{"error": "HELLO <token> first"}\n')
                    return
                elif cmd == "SINK" and arg.isdigit() and int(arg) <= MAX_SINK:
                    n = int(arg)
                    got = _read_exact(reader, n)
                    if got < n:
                        return
                    sock.sendall(json.dumps({"received": got, "rcv_mss": _rcv_mss(sock)})
                                 .encode() + b"\n")
                elif cmd == "SEND" and arg.isdigit() and 0 < int(arg) <= min(MAX_SEND, budget):
                    n = int(arg)
                    budget -= n
                    sock.sendall(b"s" * n)
                elif cmd == "QUIT":
                    return
                else:
                    sock.sendall(json.dumps({"error": f"bad command (SINK <= {MAX_SINK}, SEND "
                                             f"<= {MAX_SEND}, {budget} bytes left)"})
                                 .encode() + b"\n")
                    return
        except OSError:
            return


def _read_line(reader: Any) -> str | None:
    buf = b""
    while not buf.endswith(b"\n"):
        piece = reader.read(1)
        if not piece:
            return None
        buf += piece
        if len(buf) > MAX_LINE:
            return None
    return buf.decode("ascii", "replace").strip()


def _read_exact(reader: Any, n: int) -> int:
    got = 0
    while got < n:
        piece = reader.read(min(65536, n - got))
        if not piece:
            break
        got += len(piece)
    return got


def _rcv_mss(sock: socket.socket) -> int | None:
    try:
        raw = sock.getsockopt(socket.IPPROTO_TCP, TCP_INFO, 104)
    except OSError:
        return None
    return int.from_bytes(raw[20:24], "little") if len(raw) >= 24 else None


class ReflectorServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], token: str | None = None,
                 limits: Limits | None = None, ssl_context: ssl.SSLContext | None = None
                 ) -> None:
        self.token = token
        self.limits = limits or Limits()
        self.ssl_context = ssl_context
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        if self.address_family == socket.AF_INET6:
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        self.socket.setsockopt(socket.IPPROTO_TCP, TCP_SAVE_SYN, 1)
        super().server_bind()

    def verify_request(self, request: object, client_address: object) -> bool:
        source = str(client_address[0]) if isinstance(client_address, tuple) else "?"
        if self.limits.admit(source):
            return True
        if self.ssl_context is None and isinstance(request, socket.socket):
            # Say why, so a client does not take the closed connection for a lost probe.
            with contextlib.suppress(OSError):
                request.send(BUSY)
        return False

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.limits.release()

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a peer that misbehaves is closed; nothing to report


def parse_listen(text: str) -> tuple[str, int]:
    """ADDR:PORT or [V6]:PORT or :PORT (all addresses) for --listen."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--listen must be ADDR:PORT (e.g. 0.0.0.0:7007), not {text!r}")
    host = host.strip("[]") or "::"
    with contextlib.suppress(OSError):
        socket.getaddrinfo(host, None)
        return host, int(port)
    raise ValueError(f"--listen address {host!r} is not a local address")


def tls_context(cert: str, key: str) -> ssl.SSLContext:
    """Server context for ``serve --tls`` (OSError/ssl.SSLError if the files are unusable)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx


def serve(address: tuple[str, int], token: str | None, max_time: float = 0,
          announce: Callable[[str], None] | None = None,
          ssl_context: ssl.SSLContext | None = None) -> None:
    """Listen on ``address`` until Ctrl-C (or ``max_time`` seconds); OSError if it cannot."""
    server = ReflectorServer(address, token, ssl_context=ssl_context)
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
