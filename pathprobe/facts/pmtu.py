"""Observations of the `pmtu` step (sentences: pathprobe.render.evidence.pmtu)."""

from __future__ import annotations

from pathprobe.compat import StrEnum


class PmtuFact(StrEnum):
    """What the pmtu step can observe; each value is stable (JSON `facts[].fact`)."""

    # verdict evidence
    SEARCH_TIME = "search-time"              # {probes} probes in {rounds} rounds, {duration_s}
    INTERFACE_MTU_CROSSES = "interface-mtu-crosses"   # {mtu}, {interface}
    ROUTE_CACHE = "route-cache"              # {route_pmtu} cached, {mtu} crosses
    OPEN_BRACKET = "open-bracket"            # {mtu} is a proven lower bound
    ICMP_TOO_BIG = "icmp-too-big"            # above {mtu}: ICMP too-big {icmp_mtu}
    VANISH = "vanish"                        # above {mtu}: silence ({bad} never answered)
    # direction
    UP_ONLY_METHOD = "up-only-method"        # {method} measures up only
    TOO_BIG_ON_WAY_UP = "too-big-on-way-up"  # ICMP answered {bad}-byte requests going up
    DIRECTION_UNKNOWN = "direction-unknown"  # echo is min(up, down), nothing told which
    LIMIT_DOWN = "limit-down"                # {method} {size} crosses up, echo replies don't
    LIMIT_UP = "limit-up"                    # {method} {size} does not cross up either
    LIMIT_UP_ONLY = "limit-up-only"          # ... and the way down carries more ({down})
    LIMIT_BOTH = "limit-both"                # ... and the way down stops at the same size
    DOWN_SEARCH = "down-search"              # answers under a small advertised MSS: {ok}/{bad}
    DOWN_UNMEASURED = "down-unmeasured"      # the service's answers are too small to tell
    # leg notes
    PROBE = "probe"                          # the probe kind used ({probe}, {port})
    SOURCE = "source"                        # our source address {source}
    NOT_USED = "not-used"                    # a method tried first: why it gave no answer
    # --hops
    HOPS_NO_FAILURE = "hops-no-failure"
    HOPS_DOWN = "hops-down"
    HOPS_ICMP_SENDER = "hops-icmp-sender"    # {hop} sent the too-big ({icmp_mtu})
    HOPS_NEED_ICMP = "hops-need-icmp"
    HOPS_NONE_ANSWERED = "hops-none-answered"
    HOPS_TOO_BIG_AT = "hops-too-big-at"      # {hop} at {ttl} answers {bad} with too-big
    HOPS_DIE_FIRST = "hops-die-first"        # {bad}-byte probes die before hop 1 ({first})
    HOPS_VANISH_AFTER = "hops-vanish-after"  # {bad} reaches {ttl} ({hop}), not {next_hop}


class ProbeKind(StrEnum):
    """The probe a search used (the `PROBE` note's value `probe`)."""

    ICMP_RAW = "icmp-raw"        # raw ICMP echo socket (root / CAP_NET_RAW)
    ICMP_PING = "icmp-ping"      # unprivileged ICMP ping socket
    UDP = "udp"                  # UDP to a closed port, IP_RECVERR
    TCP = "tcp"                  # TCP segments to an open port ({port})
    SYN = "syn"                  # crafted SYNs with payload ({port}, root)
