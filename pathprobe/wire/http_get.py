"""The small HTTP requests the probes send (pure): one GET, one POST head, and a ranged
GET through the proxy.

``mss`` sends it to see the size of the peer's segments, ``tunnel`` sends it
over TLS to see whether a large answer comes down. ``Connection: close`` so
the server ends the answer and nothing lingers. The ranged GET is in absolute
form (``GET http://host/ HTTP/1.1``, as the FMC itself sends plain HTTP through
its proxy): answers of a chosen size size leg 2 down without a reflector.
"""

from __future__ import annotations

import re

from pathprobe.wire.http_connect import USER_AGENT, header_safe

_CONTENT_RANGE_RE = re.compile(r"bytes (\d{1,18})-(\d{1,18})/(\d{1,18}|\*)")


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


def _check(host: str, path: str, method: str) -> None:
    if not host or any(c <= " " or c == "\x7f" for c in host):
        raise ValueError(f"invalid host for a {method} request: {host!r}")
    if not path.startswith("/") or any(c <= " " or c == "\x7f" for c in path):
        raise ValueError(f"invalid path for a {method} request: {path!r}")


def _request(method: str, host: str, path: str, extra: str) -> bytes:
    _check(host, path, method)
    return (f"{method} {path} HTTP/1.1\r\nHost: {host_header(host)}\r\nUser-Agent: {USER_AGENT}"
            f"\r\n{extra}Connection: close\r\n\r\n").encode("ascii")


def absolute_url(host: str, port: int, path: str = "/") -> str:
    """``http://host[:port]path`` for a request through a proxy (port 80 left out)."""
    if not 0 < port < 65536:
        raise ValueError(f"invalid port for a GET request: {port}")
    authority = host_header(host) + ("" if port == 80 else f":{port}")
    return f"http://{authority}{path}"


def range_request(host: str, port: int, first: int, last: int, path: str = "/",
                  authorization: str | None = None) -> bytes:
    """``GET http://host/path`` asking for bytes ``first..last`` (inclusive) of the object,
    never from a cache (``no-cache``: a cached answer would not cross leg 2), unencoded so
    the body's size is the range's. ValueError for a range or header that would break it."""
    if not 0 <= first <= last:
        raise ValueError(f"invalid range {first}-{last}")
    extra = (f"Range: bytes={first}-{last}\r\nCache-Control: no-cache\r\nPragma: no-cache\r\n"
             "Accept-Encoding: identity\r\n")
    if authorization is not None:
        if not header_safe(authorization):
            raise ValueError("authorization must be one printable Latin-1 header line")
        extra += f"Proxy-Authorization: {authorization}\r\n"
    _check(host, path, "GET")
    authority = absolute_url(host, port, "/")[len("http://"):-1]
    return (f"GET {absolute_url(host, port, path)} HTTP/1.1\r\nHost: {authority}\r\n"
            f"User-Agent: {USER_AGENT}\r\n{extra}Connection: close\r\n\r\n").encode("ascii")


def parse_content_range(value: str | None) -> tuple[int, int, int | None] | None:
    """(first, last, total or None) from ``Content-Range: bytes F-L/T``; None when absent
    or not a satisfied byte range (last before first, or beyond a known total)."""
    if value is None:
        return None
    m = _CONTENT_RANGE_RE.fullmatch(value.strip())
    if m is None:
        return None
    first, last = int(m.group(1)), int(m.group(2))
    total = None if m.group(3) == "*" else int(m.group(3))
    if last < first or (total is not None and last >= total):
        return None
    return first, last, total
