"""Observations of the `mss` step (sentences: pathprobe.render.evidence.mss)."""

from __future__ import annotations

from pathprobe.compat import StrEnum


class MssFact(StrEnum):
    """What the mss step can observe; each value is stable (JSON `facts[].fact`)."""

    # the handshake
    HANDSHAKE = "handshake"                  # {mss_sent}, {mss_received} ({exact}), {method}
    MSS_IMPLIES = "mss-implies"              # MSS {mss_received} implies {packet}-byte packets
    PATH_CARRIED_MORE = "path-carried-more"  # {largest_ok}-byte packets crossed anyway
    LEG_PMTU_ABOVE = "leg-pmtu-above"        # the leg's {leg_pmtu} > the {implied} of the MSS
    LEG_PMTU_BELOW = "leg-pmtu-below"        # the leg's {leg_pmtu} < the {implied} of the MSS
    LEG_PMTU_MATCHES = "leg-pmtu-matches"    # the leg's {leg_pmtu} == the {implied}
    RECEIVED_ROUTE_BOUND = "received-route-bound"    # at least {mss_received}: our route MTU
    RECEIVED_WINDOW_BOUND = "received-window-bound"  # at least {mss_received}: half a window
    # sized segments
    RESET_EVEN_AT_LOW = "reset-even-at-low"  # {low}-byte packets (payload {payload}) reset
    RESET_ABOVE = "reset-above"              # {ok} acked, {bad} reset
    RESET_NOT_MTU = "reset-not-mtu"          # no ICMP: a device resets, not an MTU problem
    LOST_ABOVE = "lost-above"                # {ok} acked, {bad} never acked, no ICMP, no reset
    LARGER_RESET = "larger-reset"            # {size} bytes and up were reset
    ICMP_ANSWERED = "icmp-answered"          # ICMP too-big ({hint}); {ok} acked, {bad} not
    PMTUD_WORKS = "pmtud-works"
    SEGMENTS_ACKED = "segments-acked"        # up to {ok} (payload {payload}) acked
    NEGOTIATED_BOUND = "negotiated-bound"    # sizes tested up to {high}: the MSS bounds them
    LOCAL_BOUND = "local-bound"              # {bad} and up refused by our stack: {ok} a floor
    CACHED_PMTU = "cached-pmtu"              # kernel caches {pmtu} < {interface_mtu}
    CACHED_PMTU_BOUNDS = "cached-pmtu-bounds"  # sizes above {pmtu} untestable until expiry
    # the peer's segments
    PEER_NO_REPLY = "peer-no-reply"
    PEER_REPLY_SHORT = "peer-reply-short"    # {received} bytes ({timed_out}): too short
    PEER_SEGMENTS_SMALL = "peer-segments-small"      # at most {rcv_mss} (MSS {at_peer})
    PEER_SEGMENTS_PATH = "peer-segments-path"        # ... consistent with the {limit} path
    SYN_LOWERED = "syn-lowered"              # our SYN's MSS lowered on its way to the peer
    PEER_INTACT = "peer-intact"              # up to {rcv_mss}: our {mss_sent} arrived intact
    # TTL-limited SYNs
    HOPS_REACHED = "hops-reached"            # target reached at {ttl}; unchanged up to ...
    HOPS_AFTER = "hops-after"                # the rewrite happens after that hop
    HOP_REWRITE = "hop-rewrite"              # hop {ttl} ({hop}) quotes {quoted} not {mss_sent}
    HOPS_NO_QUOTES = "hops-no-quotes"
    HOPS_UNCHANGED = "hops-unchanged"        # {count} hops quote {mss_sent} unchanged
