"""What the first bytes of an HTTP message say: a request only a proxy is sent (CONNECT,
absolute-form), an origin-form request and its Host, a status line, proxy authentication.
Pure."""

from __future__ import annotations

import re

HEAD_MAX = 4096           # bytes of an HTTP head kept for parsing
# squid's port, and the other one explicit proxies usually listen on: where a proxy whose
# requests are unseen (text, a short snap length) passes for the server
PROXY_PORTS = frozenset({3128, 8080})

# authority-form only, and the odd " / " some clients put before the version (Zeek's
# http/connect-with-smtp.pcap: "CONNECT mailin03...:25 / HTTP/1.0", which the proxy took)
CONNECT_RE = re.compile(rb"CONNECT ([^\s/][^\s]*)(?: /)? HTTP/1\.[01]")
# An absolute-form request: what a client sends to a proxy for plain HTTP (RFC 9112 3.2.2;
# the scheme in any case, RFC 3986 3.1: Zeek's http/proxy.pcap sends "GET HTTP://bro.org/")
ABSOLUTE_RE = re.compile(rb"([A-Z]{3,7}) [Hh][Tt][Tt][Pp]://([^\s/?#]+)[^\s]* HTTP/1\.[01]")
ORIGIN_RE = re.compile(rb"[A-Z]{3,7} /[^\s]* HTTP/1\.[01]\r?\n")
# (a userinfo before the host, invalid but sent by some clients, is skipped: a password)
HOST_RE = re.compile(rb"(?im)^host:[ \t]*(?:[^\s@/]*@)?([A-Za-z0-9.:\[\]_-]+)")
STATUS_RE = re.compile(rb"HTTP/1\.[01] (\d{3})(?: ([^\r\n]*))?")
AUTH_RE = re.compile(rb"(?im)^proxy-authenticate:[ \t]*([!#$%&'*+.^_`|~0-9A-Za-z-]+)")
HAS_AUTHZ = re.compile(rb"(?im)^proxy-authorization:")


def proxy_request(payload: bytes) -> tuple[str, str] | None:
    """(method, target host:port) of a request only a proxy is sent: CONNECT or absolute-form.

    A userinfo (``user:password@``) is never part of the target: RFC 9110 allows none in
    either form, but clients that take a proxy URL for the target send one, and the
    target is shown in every report."""
    m = CONNECT_RE.match(payload)
    if m:
        return "CONNECT", m.group(1).decode("latin-1").rpartition("@")[2]
    m = ABSOLUTE_RE.match(payload)
    if m is None:
        return None
    authority = m.group(2).decode("latin-1").rpartition("@")[2]
    has_port = authority.rpartition("]")[2].count(":") == 1
    return m.group(1).decode("latin-1"), authority if has_port else authority + ":80"
