"""The interception check's I/O against a loopback 'proxy' that answers CONNECT and then
plays the TLS server itself, with certificates OpenSSL makes for the test (nothing leaves
127.0.0.1; every wait is bounded)."""

from __future__ import annotations

import contextlib
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pathprobe.interception import Interception, TlsCheck, TlsOutcome, assess_tls
from pathprobe.probes.tls_check import check_tls, post_bodies
from pathprobe.probes.tunnel import Authenticator
from pathprobe.proxyconf import parse_proxy_url
from pathprobe.wire.hostport import HostPort
from tests.hostile import HostileProxy, hold

HOST = "tools.example.test"
TARGET = HostPort(HOST, 443)

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA and a leaf for HOST it issued (made now; the keys live in a temp dir)."""
    d = tmp_path_factory.mktemp("pki")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    subprocess.run(["openssl", "req", "-x509", *ec, "-days", "1", "-subj",
                    "/O=proxy test/CN=proxy test CA", "-addext",
                    "basicConstraints=critical,CA:TRUE", "-addext",
                    "keyUsage=critical,keyCertSign,cRLSign", "-keyout", str(d / "ca.key"),
                    "-out", str(d / "ca.pem")], check=True, capture_output=True)
    subprocess.run(["openssl", "req", "-new", *ec, "-subj", f"/CN={HOST}", "-keyout",
                    str(d / "leaf.key"), "-out", str(d / "leaf.csr")], check=True,
                   capture_output=True)
    (d / "ext").write_text(f"subjectAltName=DNS:{HOST}\nbasicConstraints=CA:FALSE\n"
                           "keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n")
    subprocess.run(["openssl", "x509", "-req", "-in", str(d / "leaf.csr"), "-CA",
                    str(d / "ca.pem"), "-CAkey", str(d / "ca.key"), "-set_serial", "7",
                    "-days", "1", "-extfile", str(d / "ext"), "-out", str(d / "leaf.pem")],
                   check=True, capture_output=True)
    return d


def decrypting(pki: Path) -> HostileProxy:
    """A proxy that answers CONNECT with 200 and terminates TLS with its own certificate,
    then answers one HTTP request (a POST body is read first)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(pki / "leaf.pem"), str(pki / "leaf.key"))

    def behaviour(conn: socket.socket, request: bytes) -> None:
        conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        conn.settimeout(5)
        with contextlib.suppress(OSError), ctx.wrap_socket(conn, server_side=True) as tls:
            head = b""
            while b"\r\n\r\n" not in head:
                piece = tls.recv(65536)
                if not piece:
                    return
                head += piece
            length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")), 0)
            body = len(head.split(b"\r\n\r\n", 1)[1])
            while body < length:
                piece = tls.recv(65536)
                if not piece:
                    return
                body += len(piece)
            tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    return HostileProxy(behaviour)


def silent_after_200(conn: socket.socket, request: bytes) -> None:
    conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
    hold(conn, 10)


@contextlib.contextmanager
def serving(proxy: HostileProxy) -> Iterator[HostileProxy]:
    with proxy:
        yield proxy


def test_a_terminating_proxy_is_named_and_a_given_ca_makes_it_trusted(pki: Path) -> None:
    with serving(decrypting(pki)) as proxy:
        cfg = parse_proxy_url(proxy.url, "--proxy")
        check = check_tls(cfg, TARGET, Authenticator(None, TARGET), HOST, None, 5.0)
        assert isinstance(check, TlsCheck)
        assert check.outcome is TlsOutcome.UNVERIFIED and check.leaf
        r = assess_tls(check, TARGET)
        assert r.kind is Interception.INTERCEPTED and r.cert is not None
        assert r.cert.issuer == "O=proxy test, CN=proxy test CA"
        trusted = check_tls(cfg, TARGET, Authenticator(None, TARGET), HOST,
                            str(pki / "ca.pem"), 5.0)
        assert isinstance(trusted, TlsCheck)
        assert trusted.outcome is TlsOutcome.VERIFIED_WITH_CA_FILE
        posts = post_bodies(cfg, TARGET, Authenticator(None, TARGET), HOST, (256, 8192), 3.0)
        assert isinstance(posts, list) and all(p.answered and p.sent for p in posts)


def test_a_proxy_that_never_speaks_tls_is_given_up_on_in_time() -> None:
    with serving(HostileProxy(silent_after_200)) as proxy:
        cfg = parse_proxy_url(proxy.url, "--proxy")
        t0 = time.monotonic()
        check = check_tls(cfg, TARGET, Authenticator(None, TARGET), HOST, None, 1.0)
        assert time.monotonic() - t0 < 2.0
        assert isinstance(check, TlsCheck) and check.outcome is TlsOutcome.STALLED
        posts = post_bodies(cfg, TARGET, Authenticator(None, TARGET), HOST, (256,), 0.5)
        assert isinstance(posts, list) and posts[0].sent is False
