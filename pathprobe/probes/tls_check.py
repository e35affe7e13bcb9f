"""The interception check's I/O: one real TLS handshake with the target through a CONNECT
tunnel, and HTTP POST bodies through the (possibly decrypted) session.

Every wait has a deadline: a decrypting proxy presents its certificate only after its
own handshake with the upstream, which a black hole on leg 2 can hold for a minute
(squid: about 60 s); the check gives up at its deadline and says so. Nothing here
decides anything (that is ``pathprobe.interception``).
"""

from __future__ import annotations

import ssl
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pathprobe.compat import TIMEOUTS
from pathprobe.errors import UsageError
from pathprobe.facts.tunnel import ConnectError
from pathprobe.interception import PostProbe, TlsCheck, TlsOutcome, proxy_refusal
from pathprobe.model import ProxyConfig
from pathprobe.probes.channel import Channel
from pathprobe.probes.tunnel import Authenticator, all_acked, open_tunnel
from pathprobe.wire import http_connect as hc
from pathprobe.wire.hostport import HostPort
from pathprobe.wire.http_get import post_head

MAX_CA_FILE_BYTES = 4 << 20


# Python 3.13 turned these on in create_default_context; OpenSSL's (and curl's) defaults
# leave them off. Off here too, so the verdict does not depend on the Python version (3.13
# alone rejected a decrypting squid's certificates under a CA given with --ca-file).
_NON_DEFAULT_FLAGS = ssl.VERIFY_X509_STRICT | getattr(ssl, "VERIFY_X509_PARTIAL_CHAIN", 0)


def verifying_context(ca_file: str | None) -> ssl.SSLContext:
    """The system trust store plus ``ca_file`` (PEM), checking the host name, as curl
    --cacert would (but keeping the system store)."""
    ctx = ssl.create_default_context()
    ctx.verify_flags &= ~_NON_DEFAULT_FLAGS
    if ca_file is not None:
        ctx.load_verify_locations(cafile=ca_file)
    return ctx


def check_ca_file(path: Path, what: str = "--ca-file") -> str:
    """``--ca-file``: a readable PEM file with at least one certificate; UsageError (one
    line, exit 2, naming ``what``) otherwise. Returns the path as given."""
    shown = f"{what} {path}"
    try:
        if not path.is_file():
            raise UsageError(f"{shown}: not a readable file")
        if path.stat().st_size > MAX_CA_FILE_BYTES:
            raise UsageError(f"{shown}: larger than {MAX_CA_FILE_BYTES >> 20} MiB")
        verifying_context(str(path))
    except ssl.SSLError as e:
        raise UsageError(f"{shown}: no PEM certificate could be loaded "
                         f"({e.reason or e})") from None
    except OSError as e:
        raise UsageError(f"{shown}: {e.strerror or e}") from None
    return str(path)


def _handshake(proxy: ProxyConfig, target: HostPort, auth: Authenticator, server_name: str,
               context: ssl.SSLContext | None, deadline: float, maxseg: int | None
               ) -> tuple[TlsOutcome, bytes | None, str] | ConnectError:
    t = open_tunnel(proxy, target, auth, timeout=max(0.1, deadline - time.monotonic()),
                    maxseg=maxseg)
    if isinstance(t, ConnectError):
        return t
    with t.sock:
        ch = Channel(t.sock, server_name, context)
        try:
            ch.handshake(deadline)
        except ssl.SSLCertVerificationError as e:
            return TlsOutcome.UNVERIFIED, None, str(e.verify_message or e.reason or e)
        except TIMEOUTS:
            return TlsOutcome.STALLED, None, f"{ch.raw_received} bytes received"
        except OSError as e:   # ssl.SSLError included: alerts, resets, closes
            return TlsOutcome.FAILED, None, str(getattr(e, "reason", None) or e)
        return TlsOutcome.VERIFIED, ch.peer_certificate(), ""


def check_tls(proxy: ProxyConfig, target: HostPort, auth: Authenticator, server_name: str,
              ca_file: str | None, timeout: float, maxseg: int | None = None
              ) -> TlsCheck | ConnectError:
    """Handshake with the target through the tunnel, verifying the chain against the system
    store, then (if that fails) with ``ca_file`` added; when it still does not verify,
    handshake once more without verifying to read the certificate that was shown. All of
    it ends within ``timeout`` seconds. ``maxseg`` (our advertised MSS) keeps the
    certificate flight's segments on leg 1 small, so a leg-1 limit cannot stall it."""
    t0 = time.monotonic()
    deadline = t0 + timeout

    def done(outcome: TlsOutcome, leaf: bytes | None, reason: str) -> TlsCheck:
        return TlsCheck(outcome, leaf, reason, timeout, time.monotonic() - t0, ca_file)

    first = _handshake(proxy, target, auth, server_name, verifying_context(None), deadline,
                       maxseg)
    if isinstance(first, ConnectError):
        return first      # the proxy refused a tunnel it opened a moment ago: its verdict
    outcome, leaf, reason = first
    if outcome is not TlsOutcome.UNVERIFIED:
        return done(outcome, leaf, reason)
    # Later tunnels only have what is left of the deadline: failing to open one ends the
    # check with what is known, never with a verdict on the proxy.
    if ca_file is not None:
        with_ca = _handshake(proxy, target, auth, server_name, verifying_context(ca_file),
                             deadline, maxseg)
        if isinstance(with_ca, ConnectError):
            return done(TlsOutcome.FAILED, None, f"{reason}; then: {with_ca.detail}")
        if with_ca[0] is TlsOutcome.VERIFIED:
            return done(TlsOutcome.VERIFIED_WITH_CA_FILE, with_ca[1], "")
        reason = with_ca[2] or reason
    shown = _handshake(proxy, target, auth, server_name, None, deadline, maxseg)
    if isinstance(shown, ConnectError):
        return done(TlsOutcome.FAILED, None, f"{reason}; then: {shown.detail}")
    if shown[0] is not TlsOutcome.VERIFIED:   # the unverified handshake did not complete
        return done(shown[0], None, f"{reason}; then: {shown[2]}")
    return done(TlsOutcome.UNVERIFIED, shown[1], reason)


def post_body(proxy: ProxyConfig, target: HostPort, auth: Authenticator, server_name: str,
              size: int, timeout: float, maxseg: int | None = None,
              connect_timeout: float = 5.0) -> PostProbe | ConnectError:
    """One fresh tunnel, TLS to the target (not verified: only the path is measured), one
    POST of ``size`` body bytes; answered when an HTTP answer head arrives in time.
    ``maxseg`` keeps what comes back on leg 1 in small segments (only the upload is
    measured)."""
    t = open_tunnel(proxy, target, auth, timeout=connect_timeout, maxseg=maxseg)
    if isinstance(t, ConnectError):
        return t
    host = target.host
    with t.sock:
        ch = Channel(t.sock, server_name)
        t0 = time.monotonic()
        deadline = t0 + timeout
        try:
            ch.handshake(deadline)
        except OSError as e:   # timeouts included (they are OSErrors)
            return PostProbe(size, False, time.monotonic() - t0, None,
                             f"TLS through the proxy did not complete: {e or 'timeout'}",
                             sent=False)
        try:
            t.sock.settimeout(max(0.01, deadline - time.monotonic()))
            ch.send(post_head(host, size) + b"p" * size)
            head = b""
            parsed = None
            while parsed is None:
                piece = ch.recv(max(0.0, deadline - time.monotonic()))
                if not piece:
                    return PostProbe(size, False, time.monotonic() - t0, all_acked(t.sock),
                                     "closed without an answer")
                head += piece
                parsed = hc.parse_response_head(head)
        except TIMEOUTS:
            return PostProbe(size, False, time.monotonic() - t0, all_acked(t.sock),
                             "no answer before the deadline")
        except hc.MalformedResponse as e:
            return PostProbe(size, False, time.monotonic() - t0, None, f"not HTTP: {e}")
        except OSError as e:
            return PostProbe(size, False, time.monotonic() - t0, all_acked(t.sock),
                             f"connection failed: {e}")
        refused = proxy_refusal(parsed)
        return PostProbe(size, not refused, time.monotonic() - t0, None, f"HTTP {parsed.status}",
                         parsed if refused else None)


def post_bodies(proxy: ProxyConfig, target: HostPort, auth: Authenticator, server_name: str,
                sizes: tuple[int, ...], timeout: float, maxseg: int | None = None
                ) -> list[PostProbe] | ConnectError:
    """One POST per size, all at once (each in its own tunnel), so the whole ladder costs
    one wait; the proxy refusing a tunnel ends it with that refusal."""
    with ThreadPoolExecutor(max_workers=len(sizes)) as pool:
        results = list(pool.map(
            lambda n: post_body(proxy, target, auth, server_name, n, timeout, maxseg), sizes))
    refused = next((r for r in results if isinstance(r, ConnectError)), None)
    if refused is not None:
        return refused
    return [r for r in results if isinstance(r, PostProbe)]
