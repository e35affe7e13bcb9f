"""One shape of ClientHello bytes through a fresh CONNECT tunnel, and the far end's answer.

The I/O of the hello checks (``pathprobe.hellos`` decides what to send and
``pathprobe.hello_rules`` what it proves). Every wait has a deadline.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Sequence

from pathprobe.facts.hello import HelloShape, ShapeResult
from pathprobe.facts.tunnel import ConnectError, Outcome
from pathprobe.model import ProxyConfig
from pathprobe.probes import tunnel as io
from pathprobe.probes.channel import Channel
from pathprobe.wire import tls
from pathprobe.wire.hostport import HostPort

# Between two writes of one record: until the proxy acknowledged the first piece (it has
# it), then a little more so it forwards the piece before the rest arrives; at most this.
SPLIT_GAP_S = 0.25
FORWARD_S = 0.03


def _wait_acked(sock: socket.socket, deadline: float) -> None:
    """Until the proxy acknowledged everything written so far (or ``deadline``)."""
    while time.monotonic() < deadline:
        if io.all_acked(sock) is not False:
            break
        time.sleep(0.005)
    time.sleep(FORWARD_S)


def send_shape(proxy: ProxyConfig, target: HostPort, auth: io.Authenticator, shape: HelloShape,
               writes: Sequence[bytes], timeout: float, maxseg: int | None = None,
               connect_timeout: float = 5.0) -> ShapeResult | ConnectError:
    """Write ``writes`` (the pieces of one shape) into a fresh tunnel to ``target`` and
    classify the answer: a TLS record back is ANSWERED (an alert or a ServerHello both prove
    the whole hello arrived); a ConnectError when no tunnel opened."""
    size = sum(len(w) for w in writes)
    try:
        records = len(tls.parse_records(b"".join(writes))[0])
    except tls.TlsParseError:
        records = 0
    t = io.open_tunnel(proxy, target, auth, timeout=connect_timeout, maxseg=maxseg)
    if isinstance(t, ConnectError):
        return t
    with t.sock as sock:
        t0 = time.monotonic()
        try:
            for i, piece in enumerate(writes):
                if i:
                    _wait_acked(sock, time.monotonic() + SPLIT_GAP_S)
                sock.sendall(piece)
        except OSError as e:
            return ShapeResult(shape, size, records, len(writes), Outcome.RESET,
                               time.monotonic() - t0, detail=f"write failed: {e.strerror}")
        buf, failed, detail = io._read_until(Channel(sock).recv, io._has_tls_record,
                                             t0 + timeout, 1 << 16)
        elapsed = time.monotonic() - t0
        if failed is not None:
            return ShapeResult(shape, size, records, len(writes), failed, elapsed,
                               io.all_acked(sock), detail)
        try:
            answer = tls.parse_records(buf)[0]
        except tls.TlsParseError:
            return ShapeResult(shape, size, records, len(writes), Outcome.GARBAGE, elapsed,
                               detail=f"non-TLS bytes in the tunnel: {buf[:24]!r}")
        return ShapeResult(shape, size, records, len(writes), Outcome.ANSWERED, elapsed,
                           True, answer[0].describe())
