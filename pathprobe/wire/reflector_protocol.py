"""The reflector's line protocol, sans I/O: what ``serve`` and ``tunnel --reflector`` say.

Client to reflector, one ASCII line each (at most MAX_LINE bytes)::

    HELLO <token|->        the first line; "-" when no token is used
    SINK nnnnn\\n<n bytes>  an up probe: n arbitrary bytes follow the 11-byte header
    SEND n                 a down probe: n bytes come back in one write
    QUIT

Reflector to client, one JSON line each (or the n bytes of a SEND)::

    {"pathprobe": "reflector", "version": 1, "peer": ADDR, "syn_mss": ..., ...}
    {"pathprobe": "reflector", "version": 1, "peer": ADDR, "syn": null}
    {"received": n, "rcv_mss": m}
    {"error": "busy"} / {"error": "bad token"} / {"error": "..."}

Builders return bytes; parsers take one line and return a frozen dataclass,
or None for anything that is not this protocol (never an exception).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from pathprobe.wire import strict_json

MAX_LINE = 128            # bytes of a request line, newline included
SINK_DIGITS = 5
SINK_HEADER = len(b"SINK ") + SINK_DIGITS + 1   # 11: fixed, so the probe size is exact
MAX_TOKEN = MAX_LINE - len(b"HELLO \n")
NO_TOKEN = "-"
SEND_FILL = b"s"          # the byte a SEND answer is made of
BUSY_MESSAGE = "busy"
BAD_TOKEN_MESSAGE = "bad token"
HELLO_FIRST_MESSAGE = "HELLO <token> first"


# --- requests -----------------------------------------------------------------------------

@dataclass(frozen=True)
class HelloRequest:
    token: str | None


@dataclass(frozen=True)
class SinkRequest:
    size: int             # body bytes that follow the header


@dataclass(frozen=True)
class SendRequest:
    size: int


@dataclass(frozen=True)
class QuitRequest:
    pass


Request = Union[HelloRequest, SinkRequest, SendRequest, QuitRequest]


def token_problem(token: str) -> str | None:
    """Why ``token`` cannot be sent in a HELLO line, or None (for usage errors)."""
    if not token:
        return "the token is empty"
    if token == NO_TOKEN:
        return f"{NO_TOKEN!r} means 'no token'"
    if len(token) > MAX_TOKEN:
        return f"the token is longer than {MAX_TOKEN} characters"
    if not all(" " <= c <= "~" for c in token) or token != token.strip():
        return "the token must be printable ASCII without leading or trailing spaces"
    return None


def build_request(request: Request) -> bytes:
    """One request line (ValueError for a token or size the protocol cannot carry)."""
    if isinstance(request, HelloRequest):
        if request.token is None:
            return f"HELLO {NO_TOKEN}\n".encode()
        problem = token_problem(request.token)
        if problem is not None:
            raise ValueError(problem)
        return f"HELLO {request.token}\n".encode()
    if isinstance(request, SinkRequest):
        if not 0 <= request.size < 10 ** SINK_DIGITS:
            raise ValueError(f"SINK size out of range: {request.size}")
        return f"SINK {request.size:0{SINK_DIGITS}d}\n".encode()
    if isinstance(request, SendRequest):
        if request.size < 0:
            raise ValueError(f"SEND size out of range: {request.size}")
        return f"SEND {request.size}\n".encode()
    return b"QUIT\n"


def _size(arg: str) -> int | None:
    if not (arg.isascii() and arg.isdigit()) or len(arg) > 9:
        return None
    return int(arg)


def parse_request(line: str) -> Request | None:
    """One request line (without its newline); None when it is not a request."""
    cmd, _, arg = line.strip().partition(" ")
    if cmd == "HELLO":
        return HelloRequest(None if arg in ("", NO_TOKEN) else arg)
    if cmd in ("SINK", "SEND"):
        size = _size(arg)
        if size is None:
            return None
        return SinkRequest(size) if cmd == "SINK" else SendRequest(size)
    if cmd == "QUIT" and not arg:
        return QuitRequest()
    return None


# --- answers ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Syn:
    """The SYN as it reached the reflector (after whatever leg 2 did to it)."""

    ip_version: int
    ttl: int
    header_bytes: int     # IP + TCP headers, options included
    mss: int | None       # None: no MSS option
    timestamps: bool
    sack: bool
    wscale: int | None


@dataclass(frozen=True)
class Hello:
    """The reflector's greeting: who connected (the proxy) and its SYN, when saved."""

    peer: str | None
    syn: Syn | None
    version: int = 1

    @property
    def syn_mss(self) -> int | None:
        return self.syn.mss if self.syn else None

    @property
    def syn_ip_version(self) -> int | None:
        return self.syn.ip_version if self.syn else None

    @property
    def syn_timestamps(self) -> bool | None:
        return self.syn.timestamps if self.syn else None


@dataclass(frozen=True)
class Sunk:
    """All bytes of a SINK arrived; rcv_mss is the largest segment the reflector saw."""

    received: int
    rcv_mss: int | None


@dataclass(frozen=True)
class Refused:
    """An error line; the reflector closes the connection after it."""

    error: str

    @property
    def busy(self) -> bool:
        return self.error == BUSY_MESSAGE


Answer = Union[Hello, Sunk, Refused]


def _line(obj: dict[str, object]) -> bytes:
    return strict_json.dumps(obj).encode() + b"\n"


def build_answer(answer: Answer) -> bytes:
    """One JSON answer line."""
    if isinstance(answer, Hello):
        out: dict[str, object] = {"pathprobe": "reflector", "version": answer.version,
                                  "peer": answer.peer}
        if answer.syn is None:
            out["syn"] = None
        else:
            s = answer.syn
            out.update({"syn_mss": s.mss, "syn_timestamps": s.timestamps, "syn_sack": s.sack,
                        "syn_wscale": s.wscale, "syn_ip_version": s.ip_version,
                        "syn_ttl": s.ttl, "syn_header_bytes": s.header_bytes})
        return _line(out)
    if isinstance(answer, Sunk):
        return _line({"received": answer.received, "rcv_mss": answer.rcv_mss})
    return _line({"error": answer.error})


BUSY = build_answer(Refused(BUSY_MESSAGE))


def _int(obj: dict[str, object], key: str) -> int | None:
    value = obj.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _syn(obj: dict[str, object]) -> Syn | None:
    version, ttl, header = (_int(obj, "syn_ip_version"), _int(obj, "syn_ttl"),
                            _int(obj, "syn_header_bytes"))
    if version is None or ttl is None or header is None:
        return None
    return Syn(version, ttl, header, _int(obj, "syn_mss"), obj.get("syn_timestamps") is True,
               obj.get("syn_sack") is True, _int(obj, "syn_wscale"))


def parse_answer(line: str | bytes) -> Answer | None:
    """One answer line; None when it is not this protocol."""
    try:
        obj = strict_json.loads(line)
    except ValueError:
        return None
    if not isinstance(obj, dict):
        return None
    if obj.get("pathprobe") == "reflector":
        peer = obj.get("peer")
        version = _int(obj, "version")
        return Hello(peer if isinstance(peer, str) else None, _syn(obj),
                     version if version is not None else 1)
    if isinstance(obj.get("error"), str):
        return Refused(str(obj["error"]))
    received = _int(obj, "received")
    if received is not None:
        return Sunk(received, _int(obj, "rcv_mss"))
    return None


def parse_hello(line: str | None) -> Hello | None:
    """The greeting, or None (no line, not a reflector, or an error such as a bad token)."""
    if not line:
        return None
    answer = parse_answer(line)
    return answer if isinstance(answer, Hello) else None
