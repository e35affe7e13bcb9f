"""A byte channel over a socket with deadlines: plain, or TLS over memory BIOs.

TLS runs over ``ssl.MemoryBIO`` (not ``SSLSocket``) so that every raw byte is
seen: a write is one record sent in one TCP send, its on-wire overhead is
known, and bytes received are counted even when the handshake never ends.
The certificate is not verified: TLS is camouflage for TLS-only proxies
(the reflector) or a way to make a real server answer (a download), never a
carrier of secrets. The one exception is the interception check, which
passes its own verifying ``context`` to see whether the chain verifies.
"""

from __future__ import annotations

import socket
import ssl
import time

READ_CHUNK = 65536
# How much of each direction is kept to tell an echo (our bytes coming back) from an answer.
ECHO_WINDOW = 4096


class Channel:
    """Plain bytes, or a TLS client over ``sock``; call ``handshake`` before using TLS.

    ``overhead`` is what one write gains on the wire (TLS record header, tag,
    nonce), learnt from the first write, so callers can size writes exactly.
    ``raw_received`` and ``last_received`` count what arrived from the socket.
    """

    def __init__(self, sock: socket.socket, tls_server_name: str | None = None,
                 context: ssl.SSLContext | None = None) -> None:
        self.sock = sock
        self.overhead = 0
        self.raw_received = 0
        self.last_received = time.monotonic()
        self.truncated = False   # TLS: the stream ended without close_notify
        self._sent_head = b""     # the first ECHO_WINDOW bytes each way (see ``echoed``)
        self._received_head = b""
        self._tls: ssl.SSLObject | None = None
        self._in = ssl.MemoryBIO()
        self._out = ssl.MemoryBIO()
        if tls_server_name is not None:
            ctx = context
            if ctx is None:
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE  # camouflage / reachability, not security
            self._tls = ctx.wrap_bio(self._in, self._out, server_hostname=tls_server_name)

    @property
    def is_tls(self) -> bool:
        return self._tls is not None

    def peer_certificate(self) -> bytes | None:
        """The server's leaf certificate (DER) once the handshake is done, verified or not."""
        return self._tls.getpeercert(binary_form=True) if self._tls is not None else None

    def handshake(self, deadline: float, idle: float | None = None) -> None:
        """Complete the TLS handshake by ``deadline`` (no-op for plain channels).

        TimeoutError when the deadline passes or nothing arrives for ``idle``
        seconds; OSError (ssl.SSLError included) when it fails or the peer closes.
        """
        if self._tls is None:
            return
        while True:
            try:
                self._tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                self._flush()
                if not self._fill(deadline, idle):
                    raise ConnectionResetError(
                        "TLS handshake: the peer closed the connection") from None
        self._flush()

    @property
    def echoed(self) -> bool:
        """All that came back so far is what we sent (an echoing tunnel), byte for byte."""
        got, sent = self._received_head, self._sent_head
        return bool(got) and (sent.startswith(got) or got.startswith(sent))

    def _sent(self, data: bytes) -> None:
        if len(self._sent_head) < ECHO_WINDOW:
            self._sent_head += data[:ECHO_WINDOW - len(self._sent_head)]

    def _flush(self) -> int:
        data = self._out.read()
        if data:
            self._sent(data)
            self.sock.sendall(data)
        return len(data)

    def _receive(self, deadline: float, idle: float | None) -> bytes:
        """One recv from the socket, waiting at most until ``deadline`` (and ``idle``)."""
        wait = deadline - time.monotonic()
        if idle is not None:
            wait = min(wait, idle)
        if wait <= 0:
            raise TimeoutError
        self.sock.settimeout(wait)
        data = self.sock.recv(READ_CHUNK)
        if data:
            self.raw_received += len(data)
            self.last_received = time.monotonic()
            if len(self._received_head) < ECHO_WINDOW:
                self._received_head += data[:ECHO_WINDOW - len(self._received_head)]
        return data

    def _fill(self, deadline: float, idle: float | None) -> bool:
        data = self._receive(deadline, idle)
        if not data:
            self._in.write_eof()
            return False
        self._in.write(data)
        return True

    def send(self, data: bytes) -> None:
        """One write: one TCP send of ``len(data) + overhead`` bytes."""
        if self._tls is None:
            self._sent(data)
            self.sock.sendall(data)
            return
        self._tls.write(data)
        wire = self._flush()
        if not self.overhead:
            self.overhead = wire - len(data)

    def recv(self, timeout: float, idle: float | None = None) -> bytes:
        """Up to READ_CHUNK bytes; b"" at end of stream; TimeoutError/OSError otherwise."""
        deadline = time.monotonic() + timeout
        if self._tls is None:
            return self._receive(deadline, idle)
        while True:
            try:
                return bytes(self._tls.read(READ_CHUNK))
            except ssl.SSLWantReadError:
                if not self._fill(deadline, idle):
                    self.truncated = True
                    return b""
            except ssl.SSLZeroReturnError:
                return b""


def open_channel(sock: socket.socket, tls_server_name: str | None, deadline: float) -> Channel:
    """A ready channel: TLS handshake done by ``deadline`` when a server name is given."""
    ch = Channel(sock, tls_server_name)
    ch.handshake(deadline)
    return ch
