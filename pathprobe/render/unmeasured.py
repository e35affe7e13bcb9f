""""Not measured" sentences: a step's typed ``Unmeasured`` becomes one line here, and only
here, naming the flags of the command that is running (pmtu has ``--method``; diagnose
does not, so it is never told to use one)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from pathprobe.model import Attempt, Interrupted, Unmeasured, UnmeasuredReason
from pathprobe.render.evidence import describe

# Commands that let the user pick the probe method (``--method``).
CHOOSES_METHOD = frozenset({"pmtu"})


def _attempt(a: Attempt) -> str:
    return describe(a.search) if a.search is not None else f"{a.method}: {a.message}"


def _tried(u: Unmeasured) -> str:
    return "; ".join(_attempt(a) for a in u.tried) or "no method available"


def _silent(u: Unmeasured, command: str) -> str:
    if u.cause and not u.tried:
        return u.cause
    return f"{u.target} answered no probe ({_tried(u)})"


def _permission(u: Unmeasured, command: str) -> str:
    return _tried(u) if u.tried else u.cause


def _ceiling(u: Unmeasured, command: str) -> str:
    fix = ("use --method icmp as root" if command in CHOOSES_METHOD
           else "run it as root (sudo) to probe with ICMP")
    return (f"{u.method} can only send up to {u.size} bytes here (the peer's MSS); "
            f"{u.mtu} crosses, larger sizes were not measured: {fix}")


def _lower_bound(u: Unmeasured, command: str) -> str:
    fix = "rerun, or use another --method" if command in CHOOSES_METHOD else "rerun"
    search = describe(u.tried[0].search) if u.tried and u.tried[0].search is not None else ""
    return (f"{search}; {u.mtu} bytes is only a lower bound (answers were lost or "
            f"rate-limited); {fix}")


# What an mss part that failed was for, by its ``method``.
_PART = {"segments": "segment sizes to {target}: ", "hops": "the hop that rewrites our SYN: ",
         "peer": "the peer's segment size: "}


def _error(u: Unmeasured, command: str) -> str:
    return _PART.get(u.method or "", "").format(target=u.target) + u.cause


def _resets_data(u: Unmeasured, command: str) -> str:
    return (f"{u.target} resets connections that send data, even 1 byte: segment sizes "
            "cannot be measured on this port; try the proxy port")


# Commands whose far end for leg 2 is chosen with --target / --reflector.
CHOOSES_FAR_END = frozenset({"tunnel", "diagnose"})


def _no_answer_up(u: Unmeasured, command: str) -> str:
    hint = "; the far end answered with non-TLS bytes" if u.non_tls else ""
    if u.echoed:
        hint += "; our own bytes came back (the tunnel echoes): not the far end's answer"
    if u.method != "reflector":
        hint += ("; --target must be a TLS server that answers a ClientHello (or use --reflector)"
                 if command in CHOOSES_FAR_END
                 else "; the target must be a TLS server that answers a ClientHello")
    return f"leg 2 up: even {u.size}-byte writes got no answer{hint}"


def _too_small(u: Unmeasured, command: str) -> str:
    fix = " (use --reflector)" if command in CHOOSES_FAR_END else ""
    return f"leg 2 down not measured: the target's answer to GET / is too small{fix}"


_SENTENCES: dict[UnmeasuredReason, Callable[[Unmeasured, str], str]] = {
    UnmeasuredReason.PERMISSION: _permission,
    UnmeasuredReason.SILENT: _silent,
    UnmeasuredReason.ERROR: _error,
    UnmeasuredReason.NOTHING_DELIVERED: lambda u, _c: (
        f"{u.method}: nothing was delivered, not even {u.size} bytes"),
    UnmeasuredReason.METHOD_CEILING: _ceiling,
    UnmeasuredReason.LOWER_BOUND: _lower_bound,
    UnmeasuredReason.SERVICE_RESETS_DATA: _resets_data,
    UnmeasuredReason.NOTHING_ACKED: lambda u, _c: (
        f"no data segment to {u.target} was acknowledged; the service may not accept data"),
    UnmeasuredReason.RECEIVED_ROUTE_BOUND: lambda _u, _c: (
        "exact MSS received: our route MTU bounds TCP_INFO; capturing the SYN-ACK needs root "
        "(CAP_NET_RAW)"),
    UnmeasuredReason.RECEIVED_WINDOW_BOUND: lambda _u, _c: (
        "exact MSS received: TCP_INFO caps it at half the peer's window; capturing the "
        "SYN-ACK needs root (CAP_NET_RAW)"),
    UnmeasuredReason.NO_TCP_REPAIR: lambda u, _c: (
        f"segments above the negotiated MSS ({u.size}): raising our send MSS needs root "
        "(CAP_NET_ADMIN for TCP_REPAIR)"),
    UnmeasuredReason.STEP_FAILED: lambda u, _c: f"{u.method}: {u.cause}",
    UnmeasuredReason.REFLECTOR_UNREACHABLE: lambda u, _c: (
        f"reflector {u.target} not reachable through the proxy: {u.cause}"),
    UnmeasuredReason.NOT_A_REFLECTOR: lambda u, _c: (
        f"{u.target} is not a pathprobe reflector (greeting {u.cause!r}) or the token is wrong"),
    UnmeasuredReason.NO_SIZED_WRITE: lambda _u, _c: (
        "leg 2 up: no sized write could be sent (the reflector refused every connection: "
        "busy, rate-limited or a wrong token)"),
    UnmeasuredReason.NO_ANSWER_UP: _no_answer_up,
    UnmeasuredReason.POSTS_INCOMPLETE: lambda _u, _c: (
        "leg 2 up not measured: TLS through the proxy did not complete for the POST bodies"),
    UnmeasuredReason.ANSWER_TOO_SMALL: _too_small,
    UnmeasuredReason.FAR_END_SILENT: lambda _u, _c: (
        "leg 2: the far end never answered through the tunnel; no size was measured"),
}


def unmeasured_sentence(u: Unmeasured, command: str) -> str:
    """The one line that says what ``u``'s step could not measure and why."""
    return _SENTENCES[u.reason](u, command)


def interrupted_sentence(i: Interrupted, command: str) -> str:
    """The line of a report that Ctrl-C cut short."""
    if i.during is not None:
        return f"interrupted during: {i.during}"
    return f"interrupted: '{command}' was stopped before it finished"


# What to do about a reason a step measured nothing, naming the running command's own flags
# (only the CLI's reports get them: the library's callers have no flags).
HINTS: Mapping[str, Mapping[UnmeasuredReason, str]] = {
    "diagnose": {
        UnmeasuredReason.PERMISSION: "some probes need root: run 'sudo pathprobe diagnose "
                                     "...' to measure every step"},
    "pmtu": {
        UnmeasuredReason.SILENT: "check the address, or give an open TCP port with --port",
        UnmeasuredReason.ERROR: "check the address, and give --port a TCP port open on HOST "
                                "(or another --method)",
        UnmeasuredReason.PERMISSION: "run it as root (sudo), or use --method tcp --port PORT "
                                     "(no root needed)"},
    "mss": {UnmeasuredReason.PERMISSION: "run it as root (sudo)"},
}


def hint_sentences(unmeasured: Iterable[Unmeasured], command: str) -> tuple[str, ...]:
    """The command's hint for each reason a step measured nothing, once each."""
    hints = HINTS.get(command, {})
    return tuple(dict.fromkeys(hints[u.reason] for u in unmeasured if u.reason in hints))
