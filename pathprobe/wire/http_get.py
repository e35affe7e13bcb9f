"""The small HTTP requests the probes send (pure): one GET, one POST head.

``mss`` sends it to see the size of the peer's segments, ``tunnel`` sends it
over TLS to see whether a large answer comes down. ``Connection: close`` so
the server ends the answer and nothing lingers.
"""

from __future__ import annotations

from pathprobe.wire.http_connect import USER_AGENT


def host_header(host: str) -> str:
    """``host`` as a Host header value: an IPv6 literal in brackets, a Unicode name in IDNA
    (ValueError when it has no IDNA form)."""
    if ":" in host and not host.startswith("["):
        return f"[{host}]"
    if not host.isascii():
        try:
            return host.encode("idna").decode("ascii")
        except UnicodeError as e:
            raise ValueError(f"invalid host for a GET request: {host!r}") from e
    return host


def get_request(host: str, path: str = "/") -> bytes:
    """``GET path`` for ``host`` (a name, an IPv4 literal, or an IPv6 literal with or
    without brackets); ValueError for a host or path that would break the request."""
    return _request("GET", host, path, "")


def post_head(host: str, length: int, path: str = "/") -> bytes:
    """The head of a ``POST path`` with a ``length``-byte body (sent after it): the tunnel's
    upload through a proxy that decrypts TLS."""
    if length < 0:
        raise ValueError(f"invalid body length {length}")
    return _request("POST", host, path, "Content-Type: application/octet-stream\r\n"
                    f"Content-Length: {length}\r\n")


def _request(method: str, host: str, path: str, extra: str) -> bytes:
    if not host or any(c <= " " or c == "\x7f" for c in host):
        raise ValueError(f"invalid host for a {method} request: {host!r}")
    if not path.startswith("/") or any(c <= " " or c == "\x7f" for c in path):
        raise ValueError(f"invalid path for a {method} request: {path!r}")
    return (f"{method} {path} HTTP/1.1\r\nHost: {host_header(host)}\r\nUser-Agent: {USER_AGENT}"
            f"\r\n{extra}Connection: close\r\n\r\n").encode("ascii")
