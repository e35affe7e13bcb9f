"""What the `tunnel` step observes: the typed results of its probes (made by
``pathprobe.probes.tunnel``, judged by ``pathprobe.tunnel_rules``) and the kinds of
evidence it reports (sentences: ``pathprobe.render.evidence.tunnel``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from pathprobe.compat import StrEnum
from pathprobe.wire import http_connect as hc


class TunnelFact(StrEnum):
    """What the tunnel step can observe; each value is stable (JSON `facts[].fact`)."""

    CONNECT_FAILED = "connect-failed"            # CONNECT {target} via {proxy}: {detail}
    PROXY_ERROR_PAGE = "proxy-error-page"        # X-Squid-Error (or similar)
    AUTH_OFFERED = "auth-offered"                # Proxy-Authenticate schemes
    AUTH_UNSUPPORTED = "auth-unsupported"        # only schemes the FMC cannot use
    NO_CREDENTIALS = "no-credentials"
    CREDENTIALS_REJECTED = "credentials-rejected"
    UPSTREAM_UNREACHABLE = "upstream-unreachable"  # 5xx: the proxy could not reach the target
    ACL_REFUSED = "acl-refused"
    WRITES = "writes"                            # {ok}-byte writes answered, {bad} failed how
    PAYLOAD_CROSSES = "payload-crosses"          # {ok}-byte payloads cross: PMTU {low}..{high}
    NOT_EXACT = "not-exact"                      # at least {ok} bytes cross (lower bound)
    RETRACTED = "retracted"                      # larger writes answered once in leg 1's pieces
    DOWNLOAD_STALLED = "download-stalled"
    DOWN_FIRST_SEGMENTS_ONLY = "down-first-segments-only"
    DOWN_FLOWED_THEN_STOPPED = "down-flowed-then-stopped"
    FAR_END_SILENT = "far-end-silent"            # not one byte came back through the tunnel
    TUNNEL_ECHOED = "tunnel-echoed"              # what came back was our own bytes
    TUNNEL_CLOSED = "tunnel-closed"              # closed after 200, before any answer
    SYN_AT_REFLECTOR = "syn-at-reflector"
    PROXY_MSS_ON_LEG1 = "proxy-mss-on-leg1"
    PROXY_MSS_DEFAULT = "proxy-mss-default"
    LEG2_DEVICE_LOWERED = "leg2-device-lowered"
    UP_ALL_SIZES = "up-all-sizes"
    DOWN_COMPLETE = "down-complete"
    PROXY_SOURCE = "proxy-source"                # leg note: where the proxy setting came from
    SPLIT_NOT_TRUSTED = "split-not-trusted"
    ANSWER_NOT_REPEATED = "answer-not-repeated"
    REASSEMBLED = "reassembled"
    SYN_AS_ARRIVED = "syn-as-arrived"
    GET_RESULT = "get-result"
    ANSWER_TOO_SMALL = "answer-too-small"
    LEG1_GIVEN = "leg1-given"                    # --leg1-max-payload: said, not measured here
    WITHIN_LEG1_LIMIT = "within-leg1-limit"      # up probes sent in segments of <= {payload}


class ConnectFailure(StrEnum):
    UNREACHABLE = "unreachable"      # no TCP connection to the proxy
    NO_RESPONSE = "no-response"      # CONNECT sent, no (complete) HTTP answer in time
    MALFORMED = "malformed"          # the answer is not HTTP
    STATUS = "status"                # an HTTP answer other than 200


@dataclass
class ConnectError:
    """Why a tunnel could not be opened, with what the proxy said."""

    kind: ConnectFailure
    detail: str
    response: hc.ConnectResponse | None = None
    challenges: list[hc.Challenge] = field(default_factory=list)
    auth_tried: str | None = None  # the scheme we answered with, if any

    @property
    def status(self) -> int | None:
        """The HTTP status the proxy answered with, when it answered one."""
        return (self.response.status if self.kind is ConnectFailure.STATUS
                and self.response is not None else None)


class Outcome(StrEnum):
    ANSWERED = "answered"
    RESET = "reset"
    CLOSED = "closed"
    STALLED = "stalled"
    GARBAGE = "garbage"
    NO_TUNNEL = "no-tunnel"
    UNTESTED = "untested"      # the sized write was never sent (e.g. the reflector was busy)
    ECHOED = "echoed"          # our own bytes came back: the tunnel echoes, no far end answered


@dataclass(frozen=True)
class SizedProbe:
    """What happened to one sized write (or one sized read) inside a fresh tunnel."""

    size: int
    outcome: Outcome
    elapsed_s: float          # write (or request) -> answer/failure
    received: int = 0         # bytes that came back before the outcome
    detail: str = ""
    connect_error: ConnectError | None = None
    segment: int | None = None  # largest segment the reflector received (its rcv_mss)
    # Up probes that failed: did the proxy acknowledge every byte we wrote (so the write
    # crossed leg 1)? None when unknown.
    acked: bool | None = None


@dataclass(frozen=True)
class Download:
    """A large answer read through the tunnel: how much came and whether it stopped."""

    expected: int | None      # Content-Length of the body, when given
    received: int             # body bytes
    complete: bool
    stalled: bool
    idle_s: float
    elapsed_s: float
    detail: str
    raw_received: int = 0     # every byte from the tunnel (TLS handshake flight included)
    head: hc.ConnectResponse | None = None  # the answer's status line and headers
    # What came back was only our own bytes (an echoing proxy): nothing from the far end.
    echoed: bool = False
