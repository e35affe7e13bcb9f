"""The lab's upstream web server (run inside the upstream namespace).

HTTPS on 443 and HTTP on 80, dual-stack. ``GET /`` returns a large body so
the down direction carries full-size segments; ``GET /bytes/N`` returns N
bytes; both honour one ``Range: bytes=A-B`` (or ``A-``) with 206, as web servers
do (the tunnel sizes leg 2 down with ranged answers); ``POST`` reads the body and
answers with its length. The TLS
handshake runs in the connection's own thread, so a stalled handshake (a
black-holed ClientHello) never blocks other clients.

    python -m pathprobe.lab.upstream --cert C --key K [--ready FILE]
"""

from __future__ import annotations

import argparse
import re
import socket
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from pathprobe.lab.topology import DEFAULT_BODY_BYTES, UPSTREAM_HTTP_PORT, UPSTREAM_TLS_PORT

MAX_BODY = 64 * 1024 * 1024
IDLE_TIMEOUT_S = 30
_RANGE_RE = re.compile(r"bytes=(\d{1,18})-(\d{0,18})")


def byte_range(header: str | None, size: int) -> tuple[int, int] | bool | None:
    """(first, last) of one ``bytes=A-B`` / ``bytes=A-`` range within ``size`` bytes; None
    without a usable Range (the whole object is sent); False when it cannot be satisfied."""
    if header is None:
        return None
    m = _RANGE_RE.fullmatch(header.strip())
    if m is None:
        return None      # several ranges, suffix ranges ...: answered with the whole object
    first = int(m.group(1))
    last = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
    if first >= size or last < first:
        return False
    return first, last


class Handler(BaseHTTPRequestHandler):
    server_version = "pathprobe-lab-upstream/1"
    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT_S

    def setup(self) -> None:
        super().setup()  # applies the idle timeout to the socket
        if isinstance(self.connection, ssl.SSLSocket):
            self.connection.do_handshake()  # here, in this connection's thread

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _send(self, status: int, body_len: int, chunk: bytes = b"x" * 65536,
              content_range: str | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(body_len))
        self.send_header("Accept-Ranges", "bytes")
        if content_range is not None:
            self.send_header("Content-Range", content_range)
        self.end_headers()
        left = body_len
        while left > 0:
            piece = chunk[: min(left, len(chunk))]
            self.wfile.write(piece)
            left -= len(piece)

    def do_GET(self) -> None:
        size = DEFAULT_BODY_BYTES
        if self.path.startswith("/bytes/"):
            try:
                size = int(self.path.removeprefix("/bytes/"))
            except ValueError:
                self._send(400, 0)
                return
            if not 0 <= size <= MAX_BODY:
                self._send(400, 0)
                return
        wanted = byte_range(self.headers.get("Range"), size)
        if wanted is False:
            self._send(416, 0, content_range=f"bytes */{size}")
        elif isinstance(wanted, tuple):
            first, last = wanted
            self._send(206, last - first + 1, content_range=f"bytes {first}-{last}/{size}")
        else:
            self._send(200, size)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0") or 0)
        received = 0
        while received < min(length, MAX_BODY):
            piece = self.rfile.read(min(65536, length - received))
            if not piece:
                break
            received += len(piece)
        body = f"received {received}\n".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class DualStackServer(ThreadingHTTPServer):
    address_family = socket.AF_INET6
    daemon_threads = True
    # A real web server's backlog (nginx: 511). socketserver's default of 5 overflows when a
    # search opens a dozen tunnels at once: the kernel then drops the handshake's last ACK
    # and the SYN-ACK is sent again a second later, a lab artefact that looks like a slow path.
    request_queue_size = 128

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # refused handshakes and dropped peers are the lab's daily business

    def server_bind(self) -> None:
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


def serve(cert: str, key: str, ready: str | None) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    tls = DualStackServer(("::", UPSTREAM_TLS_PORT), Handler)
    tls.socket = context.wrap_socket(tls.socket, server_side=True,
                                     do_handshake_on_connect=False)
    plain = DualStackServer(("::", UPSTREAM_HTTP_PORT), Handler)
    for server in (tls, plain):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    if ready:
        Path(ready).write_text("ready\n")
    threading.Event().wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--ready")
    args = parser.parse_args()
    try:
        serve(args.cert, args.key, args.ready)
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
