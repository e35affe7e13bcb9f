"""HTTP CONNECT on the wire, sans-IO: the request, the response head, and proxy
authentication (Basic; Digest per RFC 7616; Proxy-Authenticate parsing).

Nothing here touches a socket. The response parser takes whatever bytes
arrived so far and says "need more", "here is the head" or "this is not
HTTP"; it never raises anything but ``MalformedResponse`` and never grows
beyond ``MAX_HEAD_BYTES``, so a hostile or broken proxy yields a verdict,
not a traceback or a hang.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import quote

from pathprobe.sanitize import clean
from pathprobe.wire.hostport import HostPort

MAX_HEAD_BYTES = 64 * 1024
MAX_HEADERS = 200
# 100 Continue and friends before the final answer; more than this is a hostile proxy.
MAX_INTERIM = 8
USER_AGENT = "pathprobe"

_STATUS_RE = re.compile(rb"HTTP/(\d)\.(\d) (\d{3})(?: ([^\r\n]*))?")
_TOKEN_RE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_TOKEN68_RE = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


class MalformedResponse(ValueError):
    """The proxy's answer is not an HTTP/1.x response head we can trust."""


@dataclass(frozen=True)
class ConnectResponse:
    """The head of the proxy's answer to CONNECT."""

    version: str
    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]
    # Bytes that followed the head (for a 200: the start of the tunnel's data).
    rest: bytes = b""

    def get_all(self, name: str) -> list[str]:
        wanted = name.lower()
        return [v for k, v in self.headers if k.lower() == wanted]

    def get(self, name: str) -> str | None:
        values = self.get_all(name)
        return values[0] if values else None

    def content_length(self) -> int | None:
        """The body's announced length, or None when absent or not plain ASCII digits: the
        head is decoded as Latin-1, whose superscripts pass ``isdigit()`` and fail ``int()``."""
        value = self.get("content-length")
        if value is None or not (value.isascii() and value.isdigit()) or len(value) > 18:
            return None
        return int(value)


def connect_request(target: HostPort | str, authorization: str | None = None,
                    user_agent: str = USER_AGENT) -> bytes:
    """The CONNECT request an FMC sends (article: Host and Proxy-Connection: Keep-Alive).

    ``target`` is normalised by ``connect_authority`` (IDNA host, ASCII only), so no
    user input can break the request line; ValueError when it is not HOST:PORT.
    """
    authority = connect_authority(target)
    lines = [f"CONNECT {authority} HTTP/1.1", f"Host: {authority}", f"User-Agent: {user_agent}",
             "Proxy-Connection: Keep-Alive"]
    if authorization is not None:
        if not header_safe(authorization):
            raise ValueError("authorization must be one printable Latin-1 header line")
        lines.append(f"Proxy-Authorization: {authorization}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def header_safe(value: str) -> bool:
    """True when ``value`` can be sent as one header value: printable, Latin-1 only."""
    return value.isprintable() and all(ord(c) < 256 for c in value)


def parse_response_head(data: bytes) -> ConnectResponse | None:
    """Parse the response head in ``data``; None while it is incomplete.

    Raises MalformedResponse when ``data`` cannot become a valid head (not
    HTTP, bad status line, broken header, or a head above MAX_HEAD_BYTES).
    """
    end = data.find(b"\r\n\r\n")
    sep = 4
    lf_end = data.find(b"\n\n")
    if lf_end != -1 and (end == -1 or lf_end < end):
        end, sep = lf_end, 2
    if end == -1:
        if len(data) > MAX_HEAD_BYTES:
            raise MalformedResponse(f"response head larger than {MAX_HEAD_BYTES} bytes")
        # Fail early on garbage: the first bytes must be able to start "HTTP/".
        prefix = data[:5]
        if prefix != b"HTTP/"[: len(prefix)]:
            raise MalformedResponse(f"not an HTTP response (starts with {data[:16]!r})")
        return None
    if end > MAX_HEAD_BYTES:
        raise MalformedResponse(f"response head larger than {MAX_HEAD_BYTES} bytes")
    head, rest = data[:end], data[end + sep:]
    # RFC 9112 section 2.2: a bare CR inside a line is replaced by SP before processing.
    lines = head.replace(b"\r\n", b"\n").replace(b"\r", b" ").split(b"\n")
    m = _STATUS_RE.fullmatch(lines[0])
    if m is None:
        raise MalformedResponse(f"bad status line {lines[0][:80]!r}")
    headers: list[tuple[str, str]] = []
    for raw in lines[1:]:
        if raw[:1] in (b" ", b"\t") and headers:  # obsolete line folding
            name, value = headers[-1]
            headers[-1] = (name, f"{value} {clean(raw.strip().decode('latin-1'))}")
            continue
        name_b, colon, value_b = raw.partition(b":")
        name = name_b.decode("latin-1")
        if not colon or not _TOKEN_RE.fullmatch(name):
            raise MalformedResponse(f"bad header line {raw[:80]!r}")
        headers.append((name, clean(value_b.strip().decode("latin-1")).strip()))
        if len(headers) > MAX_HEADERS:
            raise MalformedResponse(f"more than {MAX_HEADERS} header lines")
    return ConnectResponse(version=f"{m.group(1).decode()}.{m.group(2).decode()}",
                           status=int(m.group(3)),
                           reason=clean((m.group(4) or b"").decode("latin-1")).strip(),
                           headers=tuple(headers), rest=rest)


def parse_final_response_head(data: bytes) -> ConnectResponse | None:
    """Like ``parse_response_head`` but reads past interim 1xx answers (100 Continue,
    102, 103) to the final one; a 101 is returned as is (it is no answer to CONNECT,
    the caller says so). Bounded: at most MAX_INTERIM interim heads, MAX_HEAD_BYTES in all.
    """
    rest = data
    for _ in range(MAX_INTERIM + 1):
        head = parse_response_head(rest)
        if head is None:
            if len(data) > MAX_HEAD_BYTES:
                raise MalformedResponse(f"response heads larger than {MAX_HEAD_BYTES} bytes")
            return None
        if not 100 <= head.status < 200 or head.status == 101:
            return head
        rest = head.rest
    raise MalformedResponse(f"more than {MAX_INTERIM} interim (1xx) answers")


# --- Proxy-Authenticate -------------------------------------------------------------------

@dataclass(frozen=True)
class Challenge:
    """One authentication challenge: scheme (lower case), auth-params, or a token68."""

    scheme: str
    params: dict[str, str] = field(default_factory=dict)
    token68: str | None = None


class _Lexer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def skip_ws(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in " \t":
            self.pos += 1

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def token(self) -> str | None:
        m = _TOKEN_RE.match(self.text, self.pos)
        if m is None:
            return None
        self.pos = m.end()
        return m.group(0)

    def quoted(self) -> str:
        assert self.peek() == '"'
        self.pos += 1
        out: list[str] = []
        while self.pos < len(self.text):
            c = self.text[self.pos]
            self.pos += 1
            if c == "\\" and self.pos < len(self.text):
                out.append(self.text[self.pos])
                self.pos += 1
            elif c == '"':
                return "".join(out)
            else:
                out.append(c)
        raise MalformedResponse("unterminated quoted string in Proxy-Authenticate")


def parse_challenges(values: Sequence[str]) -> list[Challenge]:
    """All challenges in the Proxy-Authenticate header values (RFC 7235 section 4.1).

    Lenient where real proxies are sloppy; raises MalformedResponse only when
    a value cannot be split into challenges at all.
    """
    out: list[Challenge] = []
    for value in values:
        lex = _Lexer(value)
        current: Challenge | None = None
        while True:
            lex.skip_ws()
            if lex.peek() == ",":
                lex.pos += 1
                continue
            if not lex.peek():
                break
            word = lex.token()
            if word is None:
                raise MalformedResponse(f"cannot parse Proxy-Authenticate {value[:80]!r}")
            lex.skip_ws()
            if lex.peek() == "=" and current is not None:
                lex.pos += 1  # an auth-param of the current challenge
                lex.skip_ws()
                if lex.peek() == '"':
                    current.params[word.lower()] = lex.quoted()
                else:
                    current.params[word.lower()] = lex.token() or ""
                continue
            current = Challenge(word.lower())
            out.append(current)
            m = _TOKEN68_RE.match(lex.text, lex.pos)
            if m is not None and lex.text[m.end():].lstrip(" \t")[:1] in ("", ","):
                out[-1] = Challenge(word.lower(), {}, m.group(0))
                current = None
                lex.pos = m.end()
    return out


UNSUPPORTED_BY_FMC = ("ntlm", "negotiate", "kerberos")


def offered_schemes(challenges: Sequence[Challenge]) -> list[str]:
    """Scheme names as offered, de-duplicated, in order (for evidence lines)."""
    return list(dict.fromkeys(c.scheme for c in challenges))


# --- Basic and Digest ---------------------------------------------------------------------

def basic_authorization(user: str, password: str) -> str:
    """The Proxy-Authorization value for Basic (RFC 7617, UTF-8)."""
    if ":" in user:
        raise ValueError("a Basic user name cannot contain ':'")
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


_DIGEST_ALGORITHMS = {"md5": hashlib.md5, "sha-256": hashlib.sha256}


def digest_supported(challenge: Challenge) -> bool:
    """A Digest challenge we can answer: MD5 or SHA-256 (plain, not -sess), qop auth or none."""
    if challenge.scheme != "digest" or "nonce" not in challenge.params:
        return False
    if not all(header_safe(v) for v in challenge.params.values()):
        return False  # a value we would have to echo cannot carry control characters
    algorithm = challenge.params.get("algorithm", "MD5").lower()
    qops = [q.strip() for q in challenge.params.get("qop", "auth").split(",")]
    return algorithm in _DIGEST_ALGORITHMS and ("auth" in qops or "qop" not in challenge.params)


def _q(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def digest_response(challenge: Challenge, user: str, password: str, method: str, uri: str,
                     cnonce: str, nc: int = 1) -> str:
    """The request-digest (hex) of RFC 7616 section 3.4.1 for qop=auth (or RFC 2069 style)."""
    algorithm = challenge.params.get("algorithm", "MD5").lower()
    h = _DIGEST_ALGORITHMS.get(algorithm)
    if h is None:
        raise ValueError(f"unsupported Digest algorithm {algorithm!r}")

    def kd(text: str) -> str:
        return h(text.encode()).hexdigest()

    realm = challenge.params.get("realm", "")
    nonce = challenge.params["nonce"]
    ha1 = kd(f"{user}:{realm}:{password}")
    ha2 = kd(f"{method}:{uri}")
    if "qop" in challenge.params:
        return kd(f"{ha1}:{nonce}:{nc:08x}:{cnonce}:auth:{ha2}")
    return kd(f"{ha1}:{nonce}:{ha2}")


def digest_authorization(challenge: Challenge, user: str, password: str, method: str, uri: str,
                         cnonce: str, nc: int = 1) -> str:
    """The Proxy-Authorization value answering a Digest challenge."""
    if not digest_supported(challenge):
        raise ValueError("Digest challenge without a supported algorithm/qop")
    params = challenge.params
    # RFC 7616 section 3.4.4: a user name that is not plain ASCII goes as username*.
    name = (f"username={_q(user)}" if user.isascii() and user.isprintable()
            else f"username*=UTF-8''{quote(user, safe='')}")
    parts = [name, f"realm={_q(params.get('realm', ''))}",
             f"nonce={_q(params['nonce'])}", f"uri={_q(uri)}"]
    if "algorithm" in params:
        parts.append(f"algorithm={params['algorithm']}")
    response = digest_response(challenge, user, password, method, uri, cnonce, nc)
    parts.append(f"response={_q(response)}")
    if "qop" in params:
        parts += ["qop=auth", f"nc={nc:08x}", f"cnonce={_q(cnonce)}"]
    if "opaque" in params:
        parts.append(f"opaque={_q(params['opaque'])}")
    return "Digest " + ", ".join(parts)


def pick_challenge(challenges: Sequence[Challenge], have_credentials: bool) -> Challenge | None:
    """The challenge we will answer: Digest SHA-256, then Digest MD5, then Basic."""
    if not have_credentials:
        return None
    digests = [c for c in challenges if digest_supported(c)]
    digests.sort(key=lambda c: c.params.get("algorithm", "MD5").lower() != "sha-256")
    if digests:
        return digests[0]
    return next((c for c in challenges if c.scheme == "basic"), None)


def connect_authority(target: HostPort | str) -> str:
    """The CONNECT request-target for ``target``: 'host:port' with the host IDNA-encoded,
    an IPv6 address in brackets (text is parsed by ``HostPort.parse``)."""
    return str(target if isinstance(target, HostPort) else HostPort.parse(target))
