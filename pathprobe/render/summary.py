"""The one line an engineer reads first: worst finding first, with numbers."""

from __future__ import annotations

from pathprobe.findings import NO_TUNNEL, PROXY_CODES, SIZE_CODES
from pathprobe.model import Confidence, Direction, Leg, Report, Verdict, VerdictCode
from pathprobe.render.content import Segment, partial_words, path_legs, path_segments

LEG_LABEL = {
    Leg.FMC_PROXY: "leg 1 (fmc-proxy)",
    Leg.PROXY_UPSTREAM: "leg 2 (proxy-upstream)",
    Leg.FMC_UPSTREAM: "fmc-upstream",
}


def _dir_words(v: Verdict) -> str:
    if v.direction is Direction.UP:
        return (" going up (toward the server)" if v.leg is Leg.FMC_UPSTREAM
                else " going up (toward the upstream)")
    if v.direction is Direction.DOWN:
        return " coming down (toward the FMC)"
    return ""


def _num(v: Verdict, key: str) -> int | None:
    value = v.numbers.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _bound(v: Verdict) -> str:
    """What a lower-bound limit proves, in words: what crosses, and what does not."""
    lim = v.limit
    if lim is None:
        return ""
    if lim.max_payload is not None and lim.mtu is None and lim.pmtu_low is None:
        return f" ({lim.max_payload}-byte payloads cross)"
    low = lim.mtu if lim.mtu is not None else lim.pmtu_low
    high = lim.pmtu_high
    if low is None:
        return ""
    return f" ({low}-byte packets cross" + (f", {high + 1} do not)" if high else ")")


def phrase(v: Verdict) -> str:
    """A few words for one verdict; sizes only when proven exactly, else what crossed."""
    lim = v.limit
    exact = lim is not None and lim.exact
    mtu = lim.mtu if lim is not None else None
    low = lim.pmtu_low if lim is not None else None
    payload = lim.max_payload if lim is not None else None
    code = v.code
    if code is VerdictCode.PMTU_BLACKHOLE:
        if v.unproven:
            return f"large packets{_dir_words(v)} never acknowledged, nor smaller ones after them"
        if not exact:
            return f"silently drops large packets{_dir_words(v)}{_bound(v)}"
        if mtu is not None:
            return f"silently drops packets above {mtu} bytes{_dir_words(v)}"
        if payload is not None:
            return f"drops segments above {payload} payload bytes{_dir_words(v)}"
        if low is not None:
            return f"silently drops packets above {low} bytes{_dir_words(v)}"
        return f"silently drops large packets{_dir_words(v)}"
    if code is VerdictCode.PMTU_REDUCED:
        size = mtu if mtu is not None else low
        word = "" if exact else "at least "
        if size is None and lim is not None and lim.pmtu_high is not None:
            size, word = lim.pmtu_high, "at most "   # the router's word, nothing below it
        return (f"path MTU {word}{size if size is not None else '?'} "
                "(ICMP signalled; PMTUD works)")
    if code is VerdictCode.MSS_CLAMPED:
        sent, got = _num(v, "mss_sent"), _num(v, "mss_received")
        return (f"MSS clamped {sent if sent is not None else '?'}->"
                f"{got if got is not None else '?'}{_dir_words(v)}")
    if code is VerdictCode.RST_ON_LARGE_SEGMENT:
        if v.unproven:
            return f"a reset answered the first large segment seen{_dir_words(v)}"
        if not exact:
            return f"resets large segments{_dir_words(v)}{_bound(v)}"
        if mtu is not None:
            return f"resets packets above {mtu} bytes{_dir_words(v)}"
        if payload is not None:
            return f"resets segments above {payload} payload bytes{_dir_words(v)}"
        return f"resets large segments{_dir_words(v)}"
    if code is VerdictCode.TUNNEL_STALL:
        if v.leg is Leg.FMC_UPSTREAM:   # no proxy, no tunnel: a connection to a server
            if v.direction is None and v.limit is None:   # (a ClientHello left unanswered)
                return "TLS session opens, but the server never answers"
            return "connection to the server stalls" + _dir_words(v)
        if v.direction is None and v.limit is None:
            return "tunnel opens, but the far end never answers"
        return "tunnel stalls" + (f" above {payload} payload bytes" if payload else "") + (
            _dir_words(v))
    if code is VerdictCode.PROXY_DENIED:
        return f"proxy refuses CONNECT ({_num(v, 'status') or 403})"
    if code is VerdictCode.PROXY_AUTH_REQUIRED:
        return "proxy wants authentication (407)"
    if code is VerdictCode.PROXY_AUTH_UNSUPPORTED:
        return "proxy offers only authentication the FMC cannot use (NTLM/Negotiate)"
    if code is VerdictCode.PROXY_UPSTREAM_ERROR:
        return f"proxy cannot reach the target ({_num(v, 'status') or 'error'})"
    if code is VerdictCode.PROXY_UNREACHABLE:
        times = _num(v, "connections") or 1   # (a capture's refused handshakes, folded)
        return ("no TCP connection to the " + ("server" if v.leg is Leg.FMC_UPSTREAM
                                                else "proxy")
                + (f" ({'once' if times == 1 else f'{times} times'}; others succeeded)"
                   if v.others_connected else ""))
    if code is VerdictCode.CONNECT_NO_RESPONSE:
        return "CONNECT sent, no HTTP answer"
    if code is VerdictCode.PROXY_TLS_INTERCEPTED:
        return "proxy intercepts TLS (certificate issued by another party)"
    if code is VerdictCode.PROXY_CONFIG_UNSUPPORTED:
        return "proxy setting the FMC cannot use"
    if code is VerdictCode.TLS_HELLO_DROPPED:
        how = "resets" if v.numbers.get("how") == "reset" else "drops"
        bad, packet = _num(v, "hello_dropped_from"), _num(v, "packet_crossed")
        crossed = f"; {packet}-byte packets cross" if packet is not None else ""
        return (f"{how} TLS ClientHellos of {bad if bad is not None else '?'} bytes and more"
                f"{_dir_words(v)} (not an MTU{crossed})")
    return "healthy"


def _leg_words(report: Report, leg: Leg, segs: list[Segment]) -> str | None:
    """What the drawing shows of a leg with no finding of its own, in words."""
    if any(s.state not in ("ok", "not measured") for s in segs):
        return None   # its finding was said
    ok = [s.direction.value for s in segs if s.state != "not measured"]
    missing = [s.direction.value for s in segs if s.state == "not measured"]
    label = LEG_LABEL[leg]
    verdicts = report.verdicts
    healthy = any(v.code is VerdictCode.HEALTHY and v.leg is leg for v in verdicts)
    if not missing and healthy:
        return f"{label} healthy"
    if leg is Leg.PROXY_UPSTREAM and any(
            v.leg is Leg.FMC_PROXY and v.code in SIZE_CODES for v in verdicts):
        return f"{label} untested above leg 1's limit"   # what crossed is a lower bound
    if not missing:
        return f"{label} healthy"
    if ok:
        return f"{label} healthy {' and '.join(ok)}, not measured {' and '.join(missing)}"
    if leg is Leg.PROXY_UPSTREAM and any(v.code in NO_TUNNEL for v in verdicts) and not any(
            x.not_measured for x in report.legs if x.name is leg):
        return f"{label} not measured (no tunnel)"
    return f"{label} not measured"


def summarize(report: Report) -> str:
    """e.g. "leg 2 (proxy-upstream) drops segments above 1348 payload bytes going up;
    leg 1 (fmc-proxy) MSS clamped 1460->1300 (info)". Worst first (verdicts come sorted);
    each leg without a finding of its own as the path drawing shows it (the same
    ``path_segments``), so the two never disagree."""
    verdicts, errors = report.verdicts, report.errors
    problems = [v for v in verdicts if v.code is not VerdictCode.HEALTHY]
    parts: list[str] = []
    said: set[Leg] = set()
    for v in problems:
        text = phrase(v)
        if v.confidence is Confidence.INFERRED:
            text += " (inferred)"
        if v.severity is not None and v.severity.rank == 0:
            text += " (info)"
        if v.code in PROXY_CODES:
            parts.append(text)  # about the proxy, not the path: no leg label
            if v.leg is Leg.FMC_UPSTREAM:   # no proxy: it is what the direct leg shows
                said.add(v.leg)
        elif v.leg in said:
            parts.append(text)
        else:
            parts.append(f"{LEG_LABEL[v.leg]} {text}")
            said.add(v.leg)
    segs = path_segments(report)
    measured_anything = bool(report.legs) or bool(verdicts)
    for leg in path_legs(report):
        if leg in said or not measured_anything:
            continue
        words = _leg_words(report, leg, [s for s in segs if s.leg is leg])
        if words is not None:
            parts.append(words)
    if not problems and not any(s.state != "not measured" for s in segs):
        return "nothing could be measured" + (f": {errors[0]}" if errors else "")
    line = "; ".join(parts)
    if errors and not problems:
        line += f" ({len(errors)} step{'s' if len(errors) != 1 else ''} not measured)"
    if report.partial:
        line += f" (PARTIAL: {partial_words(report)})"
    return line
