"""The TLS-over-memory channel against the real reflector (TLS) on loopback."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pathprobe.probes.channel import Channel, open_channel
from pathprobe.reflector import ReflectorServer, tls_context
from pathprobe.wire import reflector_protocol as rp


@pytest.fixture
def tls_reflector(tmp_path: Path) -> Iterator[tuple[str, int]]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed")
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=t",
                    "-keyout", str(key), "-out", str(cert)], capture_output=True, check=True,
                   timeout=30)
    srv = ReflectorServer(("127.0.0.1", 0), ssl_context=tls_context(str(cert), str(key)))
    threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1},
                     daemon=True).start()
    try:
        yield "127.0.0.1", int(srv.server_address[1])
    finally:
        srv.shutdown()
        srv.server_close()


def _line(ch: Channel, deadline: float) -> bytes:
    buf = b""
    while b"\n" not in buf:
        piece = ch.recv(deadline - time.monotonic())
        assert piece, "closed before a line"
        buf += piece
    return buf


def test_tls_channel_sizes_and_counts(tls_reflector: tuple[str, int]) -> None:
    with socket.create_connection(tls_reflector, timeout=3) as s:
        deadline = time.monotonic() + 5
        ch = open_channel(s, "reflector.test", deadline)
        assert ch.is_tls and ch.raw_received > 0  # the server's handshake flight
        ch.send(rp.build_request(rp.HelloRequest(None)))
        assert 16 <= ch.overhead <= 64   # record header + AEAD tag (+ nonce / content type)
        assert rp.parse_hello(_line(ch, deadline).decode()) is not None
        ch.send(rp.build_request(rp.SendRequest(1000)))
        got = b""
        while len(got) < 1000:
            got += ch.recv(deadline - time.monotonic())
        assert got == rp.SEND_FILL * 1000
        ch.send(rp.build_request(rp.QuitRequest()))
        assert ch.recv(deadline - time.monotonic()) == b""


def test_plain_channel_deadline_and_idle() -> None:
    with socket.create_server(("127.0.0.1", 0)) as srv, \
            socket.create_connection(srv.getsockname()[:2], timeout=3) as c:
        ch = Channel(c)
        t0 = time.monotonic()
        with pytest.raises(TimeoutError):
            ch.recv(5.0, idle=0.2)   # idle is the shorter limit
        assert 0.15 < time.monotonic() - t0 < 1.0
        with pytest.raises(TimeoutError):
            ch.recv(0.0)
        peer, _ = srv.accept()
        peer.sendall(b"abc")
        peer.close()
        assert ch.recv(1.0) == b"abc" and ch.raw_received == 3
        assert ch.recv(1.0) == b"" and not ch.truncated


def test_tls_handshake_with_a_silent_peer_times_out() -> None:
    with socket.create_server(("127.0.0.1", 0)) as srv, \
            socket.create_connection(srv.getsockname()[:2], timeout=3) as c:
        ch = Channel(c, "silent.test")
        with pytest.raises(TimeoutError):
            ch.handshake(time.monotonic() + 0.3)
        peer, _ = srv.accept()
        assert peer.recv(5)[:1] == b"\x16"  # our ClientHello record went out
        peer.close()
