"""Observations of the `tunnel` step (sentences: pathprobe.render.evidence.tunnel)."""

from __future__ import annotations

from pathprobe.compat import StrEnum


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
    SYN_AT_REFLECTOR = "syn-at-reflector"
    PROXY_MSS_ON_LEG1 = "proxy-mss-on-leg1"
    PROXY_MSS_DEFAULT = "proxy-mss-default"
    LEG2_DEVICE_LOWERED = "leg2-device-lowered"
    UP_ALL_SIZES = "up-all-sizes"
    DOWN_COMPLETE = "down-complete"
    PROXY_SOURCE = "proxy-source"                # leg note: where the proxy setting came from
    SPLIT_NOT_TRUSTED = "split-not-trusted"
    REASSEMBLED = "reassembled"
    SYN_AS_ARRIVED = "syn-as-arrived"
    GET_RESULT = "get-result"
    ANSWER_TOO_SMALL = "answer-too-small"
    LEG1_GIVEN = "leg1-given"                    # --leg1-max-payload: said, not measured here
