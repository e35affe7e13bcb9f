"""Observations made when findings of several steps are combined (attribution, merging)."""

from __future__ import annotations

from pathprobe.compat import StrEnum


class DiagnoseFact(StrEnum):
    """What the attribution step concludes from the facts of all steps (pathprobe.findings)."""

    LEG1_CARRIES = "leg1-carries"                  # leg 1 carries {leg1} bytes per segment
    LEG1_NOT_MEASURED = "leg1-not-measured"
    LEG1_LIMIT_BELOW = "leg1-limit-below"          # leg 1 carries only {leg1} < {bad}
    LEG1_NO_SIZE_LIMIT = "leg1-no-size-limit"      # leg 1 showed no limit: writes cross split
    PROXY_ACKED = "proxy-acked"                    # the proxy acknowledged all {bad} bytes
    PROXY_NEVER_ACKED = "proxy-never-acked"
    RESET_ON_OUR_SOCKET = "reset-on-our-socket"
    SMALL_MSS_ON_LEG1 = "small-mss-on-leg1"        # our advertised MSS {mss} kept leg 1 small
    LEG2_UNTESTED_ABOVE = "leg2-untested-above"    # leg 2 carries at least {payload}; leg 1 ...
    MSS_MATCHES_PMTU = "mss-matches-pmtu"          # MSS {mss} matches path MTU {mtu}
