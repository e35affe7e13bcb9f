"""What a capture advises besides the live commands' rules: where its bracket of sizes is
wide (or large and small segments vanished alike), measure before changing an MTU or MSS;
where a download stalled without a full-size segment from the proxy, look at leg 1 first.
Pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pathprobe.model import Direction, Leg, Recommendation, Verdict, VerdictCode
from pathprobe.recommend import recommend
from pathprobe.wire.hostport import parse_host

WIDE_BRACKET = 64        # bytes between proven-good and proven-bad sizes worth measuring first


def _bracket(v: Verdict) -> tuple[int, int] | None:
    """(largest size proven to pass, smallest size proven to fail) of a size verdict."""
    lim = v.limit
    if lim is None or lim.pmtu_low is None or lim.pmtu_high is None:
        return None
    return lim.pmtu_low, lim.pmtu_high + 1


def _host_of(target: str) -> str:
    """The host of a target text (the address recorded for a leg), by the one parser."""
    try:
        return parse_host(target)[0]
    except ValueError:
        return target


def _measure(v: Verdict, targets: Mapping[Leg, str], why: str) -> Recommendation:
    """Measure the leg of ``v`` with pathprobe (on the FMC) before changing anything: toward
    the server of the verdict's own connection (two captures name their rows' targets with
    the file, "b.pcap: ADDR:PORT", no address), else the leg's."""
    server = v.endpoints[1] if v.endpoints is not None else None
    where = str(server) if server is not None else targets.get(v.leg, "PROXY:PORT")
    host = server.host if server is not None else _host_of(where)
    return Recommendation("the FMC (expert shell)", "pathprobe",
                          f"pathprobe diagnose --proxy http://{where}" if v.leg is Leg.FMC_PROXY
                          else f"pathprobe pmtu {host}", why)


def measure_first(verdicts: Sequence[Verdict], targets: Mapping[Leg, str]
                  ) -> tuple[tuple[Recommendation, ...], tuple[Verdict, ...]]:
    """The capture's own advice, and the verdicts left for the live commands' rules.

    A capture only shows the sizes the FMC happened to send (say 569 passed, 1500
    vanished); an MTU fix computed from such a lower bound is safe but needlessly
    small, so for a wide bracket the advice is to measure the exact size first (and
    the verdict gets no fix). A download stall without a full-size segment from the
    proxy may be leg 1's black hole: measure before blaming leg 2.
    """
    rest: list[Verdict] = []
    out: list[Recommendation] = []
    for v in verdicts:
        bracket = _bracket(v)
        wide = (v.code in (VerdictCode.PMTU_BLACKHOLE, VerdictCode.RST_ON_LARGE_SEGMENT)
                and bracket is not None and bracket[1] - bracket[0] > WIDE_BRACKET)
        if wide or (v.code in (VerdictCode.PMTU_BLACKHOLE, VerdictCode.RST_ON_LARGE_SEGMENT)
                    and v.unproven):
            out.append(_measure(
                v, targets,
                f"the capture proves only {bracket[0]} <= limit < {bracket[1]} bytes on "
                f"{v.leg.value} (the FMC sent no sizes in between); measure the exact limit "
                "before lowering an MTU or MSS to the proven lower bound"
                if bracket is not None else
                f"large and smaller segments vanished alike on {v.leg.value}: measure "
                "whether size is the cause before changing an MTU or MSS"
                if v.code is VerdictCode.PMTU_BLACKHOLE else
                f"a reset answered the first data seen on {v.leg.value}: measure whether "
                "size is the cause before changing an MTU or MSS"))
        elif v.code is VerdictCode.TUNNEL_STALL and v.size_untested is not None:
            out.append(_measure(v, targets,
                                f"a {v.size_untested}-byte segment went unacknowledged on "
                                f"{v.leg.value} with nothing smaller crossing first: measure "
                                "whether size is the cause before changing an MTU or MSS (if "
                                "small packets fail too, the peer or the path is down)"))
        else:
            rest.append(v)
        seg, full = v.max_seg_down, v.full_seg
        if (v.code is VerdictCode.TUNNEL_STALL and v.leg is Leg.PROXY_UPSTREAM
                and v.direction is not Direction.UP
                and isinstance(seg, int) and isinstance(full, int) and seg < full):
            where = targets.get(Leg.FMC_PROXY, "PROXY:PORT")
            out.append(Recommendation(
                "the FMC (expert shell)", "pathprobe",
                f"pathprobe diagnose --proxy http://{where}",
                f"no full-size segment ({full} bytes) ever arrived from the proxy: measure "
                "whether leg 1 drops large packets downstream before blaming leg 2"))
    return tuple(out), tuple(rest)


def recommendations(verdicts: Sequence[Verdict], targets: Mapping[Leg, str]
                    ) -> tuple[Recommendation, ...]:
    """The live commands' recommendations, except where the capture's bracket is wide
    (``measure_first``). Signature of ``findings.Recommender``."""
    advice, rest = measure_first(verdicts, targets)
    return (*advice, *recommend(rest, targets))
