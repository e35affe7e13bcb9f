"""Pure rules for sizing leg 2 down with ranged plain-HTTP answers (no reflector).

``GET http://host/`` with ``Range: bytes=0-(k-1)`` makes the upstream send a
k-byte body; through a proxy that forwards plain HTTP the search driver bisects
k. What it proves, and no more:

- an answer that arrived whole proves its segments crossed leg 2 down; a web
  server writes a body of at most one segment in one piece, so a segment of at
  least k bytes (or of k plus the header, when both share it) crossed: k is a
  lower bound of the largest payload, never an exact size (the header's share
  on leg 2 is unknown), and it rests on the server's writes, so it is inferred;
- an answer that never arrived proves no size: it only bounds the limit from
  above when smaller answers in the same rounds arrived (the search's live
  rounds), and a download that arrived whole outweighs it.

Where no ranged answer can size anything (the proxy refuses plain HTTP, no
object, no Range support, an object too small, a cached answer), the reason is
a typed ``RangeUnmeasured``; ``render`` says it.
"""

from __future__ import annotations

from dataclasses import replace

from pathprobe.facts.http_range import RangeAnswer, RangeFact, RangeUnmeasured
from pathprobe.facts.tunnel import ConnectError, Outcome, SizedProbe, TunnelFact
from pathprobe.model import (
    Confidence,
    Direction,
    Evidence,
    Number,
    Step,
    Verdict,
    VerdictCode,
)
from pathprobe.search import SearchResult
from pathprobe.wire import http_connect as hc
from pathprobe.wire.http_get import parse_content_range

RANGE_PORT = 80
RANGE_PATH = "/"
# Statuses with which a proxy refuses a request itself (not the upstream's answer).
_PROXY_REFUSALS = (403, 405, 407, 501)


def from_cache(head: hc.ConnectResponse) -> bool:
    """The answer came from a cache (``Age``, or ``X-Cache: HIT``): it never crossed leg 2."""
    if head.get("age") is not None:
        return True
    return any(v.strip().upper().startswith("HIT") for v in head.get_all("x-cache"))


def _range_matches(a: RangeAnswer) -> tuple[int, int, int | None] | None:
    head = a.head
    if head is None or head.status != 206:
        return None
    cr = parse_content_range(head.get("content-range"))
    if cr is None or cr[:2] != (a.first, a.last):
        return None
    return cr


def judge_discovery(a: RangeAnswer | ConnectError, need: int
                    ) -> tuple[int | None, RangeUnmeasured | None, dict[str, Number]]:
    """(the object's size, None, values) when ranged answers of up to ``need`` bytes can be
    had; else (None, why not, values for the sentence)."""
    if isinstance(a, ConnectError):
        return None, RangeUnmeasured.NO_ANSWER, {"detail": a.detail}
    head = a.head
    if a.outcome is not Outcome.ANSWERED or head is None:
        return None, RangeUnmeasured.NO_ANSWER, {"detail": a.detail or a.outcome.value}
    values: dict[str, Number] = {"status": head.status}
    if from_cache(head):
        return None, RangeUnmeasured.CACHED, values
    if head.status == 206:
        cr = _range_matches(a)
        if cr is None:
            return None, RangeUnmeasured.NO_RANGE, values
        total = cr[2]
        if total is None or total < need:
            return None, RangeUnmeasured.TOO_SMALL, {**values, "total": total, "need": need}
        return total, None, {**values, "total": total}
    if head.status == 200:
        return None, RangeUnmeasured.NO_RANGE, values
    squid = head.get("x-squid-error")
    if head.status in _PROXY_REFUSALS or (squid is not None and head.status < 500):
        return None, RangeUnmeasured.PROXY_REFUSES, {**values, "error": squid and squid[:80]}
    return None, RangeUnmeasured.NO_OBJECT, {**values, "error": squid and squid[:80]}


def to_sized(a: RangeAnswer | ConnectError, size: int) -> SizedProbe:
    """One ranged answer as the size search's probe of ``size`` body bytes: answered only
    when the whole range came over leg 2 (a 206 for exactly that range, not from a cache);
    any other answer proves nothing about the size (untested)."""
    if isinstance(a, ConnectError):
        return SizedProbe(size, Outcome.NO_TUNNEL, 0.0, detail=a.detail, connect_error=a)
    if a.outcome is not Outcome.ANSWERED:
        return SizedProbe(size, a.outcome, a.elapsed_s, a.received, a.detail)
    if a.head is None or _range_matches(a) is None or from_cache(a.head) \
            or a.received != a.wanted:
        status = a.head.status if a.head is not None else "no head"
        return SizedProbe(size, Outcome.UNTESTED, a.elapsed_s, a.received,
                          f"answer {status} is not the {a.wanted}-byte range asked for")
    return SizedProbe(size, Outcome.ANSWERED, a.elapsed_s, a.received)


def lower_bound(r: SearchResult) -> SearchResult:
    """The search's result as a lower bound: a ranged answer's header may share the body's
    segment on leg 2, so even a closed bracket is not byte-exact."""
    return replace(r, exact=False)


def range_verdict(v: Verdict, url: str, total: int) -> Verdict:
    """The size verdict of the ranged answers, inferred (it rests on how the upstream writes
    its answers) and saying so: their own sentence stands for the generic ones about writes
    and a proven lower bound."""
    ok = v.limit.max_payload if v.limit is not None else None
    ev = Evidence(RangeFact.SIZED, Step.TUNNEL, {"url": url, "total": total, "ok": ok,
                                                 "bad": v.write_failed})
    kept = tuple(e for e in v.evidence if e.fact not in (TunnelFact.WRITES, TunnelFact.NOT_EXACT))
    return replace(v, confidence=Confidence.INFERRED, evidence=(ev, *kept))


def not_possible(why: RangeUnmeasured, url: str, values: dict[str, Number]) -> Evidence:
    """Why leg 2 down has no size from ranged answers (a note; its sentence is in render)."""
    return Evidence(RangeFact.NOT_POSSIBLE, Step.TUNNEL, {"why": why.value, "url": url,
                                                          **values})


def not_a_size(download: Verdict, crossed: int) -> Verdict:
    """The large answer over TLS stopped after its first segments (a size, it seemed), yet
    ranged answers of ``crossed`` bytes, a full segment, came whole down the same leg: the
    stall is not a size limit. A TUNNEL_STALL then (inferred), never PMTU_BLACKHOLE."""
    kept = tuple(e for e in download.evidence if e.fact is TunnelFact.DOWNLOAD_STALLED)
    numbers = {k: n for k, n in download.numbers.items() if k != "our_mss"}
    return Verdict(VerdictCode.TUNNEL_STALL, download.leg, Direction.DOWN,
                   (*kept, Evidence(RangeFact.FULL_SIZE_CROSSED, Step.TUNNEL,
                                    {"crossed": crossed})),
                   Confidence.INFERRED, numbers)
