"""Size or content? The pure rules of the ClientHello checks (issue 19).

The size search on leg 2 up writes one ClientHello record per probe, so a
middlebox that reads hellos and drops (or resets) the large ones looks exactly
like a path MTU. Here the other shapes of the same bytes decide
(``pathprobe.facts.hello``):

- the same byte count with the handshake message fragmented over small
  records, in one segment: a path MTU loses it as well; a hello reader does not
  see a large ClientHello and lets it through;
- the same record cut in two writes, two smaller segments: a path MTU lets
  them through; a reader of record headers still sees the full length.

Only when every one-segment shape stops at the same byte count and the smaller
segments cross is it a size; a one-segment shape that crosses proves content
(``TLS_HELLO_DROPPED``). When the shapes cannot tell, the size verdict stays,
its confidence lowered and the alternative named. No MTU is ever derived from
a ``TLS_HELLO_DROPPED``: it carries no ``Limit``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from pathprobe.facts.hello import HelloFact, HelloShape, ShapeResult
from pathprobe.facts.search import SearchFact
from pathprobe.facts.tunnel import Outcome, TunnelFact
from pathprobe.model import (
    Basis,
    Confidence,
    Direction,
    Evidence,
    HelloSizes,
    Leg,
    LegReport,
    Number,
    Step,
    Verdict,
    VerdictCode,
)
from pathprobe.tunnel_rules import header_range
from pathprobe.wire.tls import RECORD_HEADER

HELLO_SIZE_CODES = frozenset({VerdictCode.PMTU_BLACKHOLE, VerdictCode.RST_ON_LARGE_SEGMENT})
RESETS = frozenset({Outcome.RESET, Outcome.CLOSED})


def needs_shapes(v: Verdict | None) -> bool:
    """A size verdict on leg 2 up that rests on ClientHello probes: content is not yet
    ruled out (the shapes must run before it is stated)."""
    return (v is not None and v.code in HELLO_SIZE_CODES and v.leg is Leg.PROXY_UPSTREAM
            and v.direction is Direction.UP and v.write_failed is not None)


def shape_evidence(r: ShapeResult) -> Evidence:
    """One shape's result as evidence (the sentence is made in render)."""
    values: dict[str, Number] = {"shape": r.shape.value, "size": r.size, "records": r.records,
                                 "writes": r.writes}
    if not r.tested:
        return Evidence(HelloFact.SHAPE_UNTESTED, Step.TUNNEL, {**values, "detail": r.detail})
    if r.answered:
        return Evidence(HelloFact.SHAPE_ANSWERED, Step.TUNNEL, values)
    return Evidence(HelloFact.SHAPE_FAILED, Step.TUNNEL, {
        **values, "how": r.outcome.value, "acked": r.acked, "elapsed_s": round(r.elapsed_s, 1)})


def _find(shapes: Sequence[ShapeResult], shape: HelloShape) -> ShapeResult | None:
    return next((r for r in shapes if r.shape is shape), None)


def _failed(r: ShapeResult | None) -> bool:
    return r is not None and r.tested and not r.answered


def differential(size: Verdict, shapes: Sequence[ShapeResult], row: LegReport,
                 family: int | None = None, timestamps: bool | None = None,
                 leg1_segment: int | None = None) -> tuple[Verdict, LegReport]:
    """The verdict and leg-2 up row once the shapes have run at the failing size.

    ``size`` is the search's PMTU_BLACKHOLE or RST_ON_LARGE_SEGMENT on leg 2 up;
    ``shapes`` the FRAGMENTED and SPLIT_WRITES results at (or above) its failing size. A
    one-write shape at least that large is segmented by the proxy at least as large as the
    failing hello was, so under a size limit it fails too; but a write larger than leg 1's
    segment (``leg1_segment``) reaches the proxy in pieces it may relay as they came, so
    then its crossing proves nothing and only the split record decides.
    """
    bad = size.write_failed
    assert bad is not None
    # A one-write shape of at least the failing size, carried whole by leg 1: under a size
    # limit its largest segment on leg 2 is at least the failing hello's, so it must fail.
    usable = [r for r in shapes if r.shape is HelloShape.FRAGMENTED and r.size >= bad
              and (leg1_segment is None or r.size <= leg1_segment)]
    crossing = [r for r in usable if r.answered]
    at_bad = (max(crossing, key=lambda r: r.size) if crossing
              else min(usable, key=lambda r: r.size) if usable else None)
    split = _find(shapes, HelloShape.SPLIT_WRITES)
    evidence = tuple(shape_evidence(r) for r in shapes)
    if at_bad is not None and at_bad.answered:
        written = max(r.size for r in shapes if r.shape is HelloShape.FRAGMENTED and r.answered)
        return (hello_verdict(size, at_bad, written, evidence, family, timestamps),
                hello_row(row, at_bad.size, family, timestamps, size))
    if (at_bad is None or _failed(at_bad)) and split is not None and split.answered:
        note = Evidence(HelloFact.PATH_LIMIT, Step.TUNNEL, {"size": bad})
        return replace(size, evidence=(*size.evidence, *evidence, note)), row
    why = ("every shape failed, even in smaller segments" if _failed(at_bad) and _failed(split)
           else "the other shapes could not be sent, or crossed leg 1 in pieces")
    note = Evidence(HelloFact.CONTENT_NOT_RULED_OUT, Step.TUNNEL, {"size": bad, "why": why})
    return replace(size, evidence=(*size.evidence, *evidence, note),
                   confidence=Confidence.INFERRED), row


def hello_verdict(size: Verdict, crossed: ShapeResult, written: int,
                  evidence: tuple[Evidence, ...], family: int | None,
                  timestamps: bool | None) -> Verdict:
    """TLS_HELLO_DROPPED from a size verdict whose failing size crossed in another shape:
    the same leg, direction and basis (the attribution decides the leg as for sizes).
    ``crossed`` went in one segment, as the failing hello would have; ``written`` is the
    largest write of other bytes that crossed (a full segment's may be split by the proxy,
    so it proves no packet size)."""
    bad = size.write_failed
    ok = size.limit.max_payload if size.limit is not None else None
    how = "reset" if size.code is VerdictCode.RST_ON_LARGE_SEGMENT else "drop"
    lo_h, hi_h = header_range(family, timestamps)
    record = ok - RECORD_HEADER if isinstance(ok, int) else None
    numbers: dict[str, Number] = {
        "write_failed": bad, "hello_max": ok, "hello_dropped_from": bad,
        "record_limit": record,
        "segment_crossed": crossed.size, "packet_crossed": crossed.size + lo_h,
        "write_crossed": written, "how": how,
        "threshold_exact": bool(size.limit is not None and size.limit.exact)}
    if size.leg1_ip_version is not None:
        numbers["leg1_ip_version"] = int(size.leg1_ip_version)
    head = (Evidence(HelloFact.THRESHOLD, Step.TUNNEL, {
                "ok": ok, "bad": bad, "how": how, "record": record,
                "crossed": crossed.size, "low": crossed.size + lo_h,
                "high": crossed.size + hi_h, "written": written}),
            Evidence(HelloFact.SIZE_RULED_OUT, Step.TUNNEL, {
                "size": crossed.size, "records": crossed.records, "bad": bad}))
    # The search's own evidence (which sizes crossed) stays; its PMTU reading does not.
    kept = tuple(e for e in size.evidence if e.fact in (TunnelFact.WRITES, SearchFact.SEARCH))
    return Verdict(VerdictCode.TLS_HELLO_DROPPED, size.leg, size.direction,
                   (*head, *evidence, *kept), size.confidence, numbers, limit=None,
                   basis=size.basis, leg1_ip_version=size.leg1_ip_version, write_failed=bad,
                   hello=HelloSizes(ok, bad, record))


def hello_row(row: LegReport, crossed: int, family: int | None, timestamps: bool | None,
              size: Verdict | None = None) -> LegReport:
    """Leg 2 up's row once content is proven: the hello limit is not a path MTU; the
    segment that crossed in another shape is a proven lower bound of what the path carries."""
    lo_h, _ = header_range(family, timestamps)
    m: dict[str, Number] = {**row.measurements, "max_payload": None,
                            "max_payload_at_least": crossed, "pmtu_low": crossed + lo_h,
                            "pmtu_high": None}
    if size is not None and size.limit is not None and size.limit.max_payload is not None:
        m["hello_max"] = size.limit.max_payload
    note = Evidence(HelloFact.SIZE_RULED_OUT, Step.TUNNEL, {"size": crossed})
    sizes = replace(row.sizes, max_payload=None, payload_at_least=crossed,
                    pmtu_low=crossed + lo_h)
    return replace(row, measurements=m, notes=(*row.notes, note), sizes=sizes)


# --- the realistic hellos: will a post-quantum handshake work? ----------------------------

def profile_row(results: Sequence[ShapeResult], target: str, proxy_answers: bool) -> LegReport:
    """The hello results as a leg row: on leg 2 when they reached the proxy (answered, or
    lost beyond it), on leg 1 when the proxy answers hellos itself (it decrypts TLS) or
    never acknowledged a lost one."""
    m: dict[str, Number] = {}
    for r in results:
        key = "pq_hello" if r.shape is HelloShape.PQ else "classic_hello"
        m[key] = r.outcome.value
        m[f"{key}_bytes"] = r.size
    notes = tuple(shape_evidence(r) for r in results)
    if any(_failed(r) and r.acked is False for r in results):
        return LegReport(Leg.FMC_PROXY, target, Direction.UP, m, notes, step=Step.TUNNEL)
    if proxy_answers:
        return LegReport(Leg.FMC_PROXY, target, Direction.UP, m, (
            *notes, Evidence(HelloFact.PROXY_ANSWERS_HELLOS, Step.TUNNEL),
            Evidence(HelloFact.PROXY_OWN_HELLO, Step.TUNNEL)), step=Step.TUNNEL)
    return LegReport(Leg.PROXY_UPSTREAM, target, Direction.UP, m, notes, step=Step.TUNNEL)


def _basis(r: ShapeResult) -> Basis:
    if r.outcome is Outcome.RESET:
        return Basis.RESET_ON_OUR_SOCKET
    if r.acked is None:
        return Basis.NEEDS_LEG1
    return Basis.PROXY_ACKED if r.acked else Basis.PROXY_NEVER_ACKED


def profile_verdict(results: Sequence[ShapeResult], carried: int | None,
                    hello_carried: int | None, full_segment: int,
                    packet: int | None = None, segment: int | None = None) -> Verdict | None:
    """TLS_HELLO_DROPPED when the post-quantum hello fails while the classic one is answered
    and leg 2 up is proven to carry full segments (``carried`` >= ``full_segment``): the
    PQ hello's segments are no larger than those, so only its content can stop it.

    ``hello_carried``: the largest one-record ClientHello proven to cross (the size
    search's, when it used hellos), else the classic hello's size is the bound. ``packet``:
    the IP packet size proven to cross (a lower bound), when known; ``segment`` the
    largest segment the far end saw arrive (the reflector's), when known.
    """
    pq = _find(results, HelloShape.PQ)
    classic = _find(results, HelloShape.CLASSIC)
    if pq is None or classic is None or not _failed(pq) or not classic.answered:
        return None
    if carried is None or carried < full_segment:
        return None
    ok = max(x for x in (hello_carried, classic.size) if x is not None)
    how = "reset" if pq.outcome in RESETS else "drop"
    numbers: dict[str, Number] = {
        "write_failed": pq.size, "hello_max": ok, "hello_dropped_from": pq.size,
        "record_limit": ok - RECORD_HEADER, "segment_crossed": segment or carried,
        "write_crossed": carried, "how": how, "threshold_exact": False}
    if packet is not None:
        numbers["packet_crossed"] = packet
    ev = (Evidence(HelloFact.THRESHOLD, Step.TUNNEL, {
              "ok": ok, "bad": pq.size, "how": how, "record": ok - RECORD_HEADER,
              "crossed": segment or carried, "low": packet, "high": packet,
              "written": carried}),
          Evidence(HelloFact.SIZE_RULED_OUT, Step.TUNNEL, {
              "size": segment or carried, "records": 1, "bad": pq.size}),
          *(shape_evidence(r) for r in results))
    return Verdict(VerdictCode.TLS_HELLO_DROPPED, Leg.PROXY_UPSTREAM, Direction.UP, ev,
                   Confidence.MEASURED, numbers, basis=_basis(pq), write_failed=pq.size,
                   hello=HelloSizes(ok, pq.size, ok - RECORD_HEADER))


def refine_threshold(v: Verdict, ok: int | None, bad: int | None, exact: bool,
                     search: Evidence | None = None) -> Verdict:
    """A hello verdict with the threshold a search of one-record ClientHellos found between
    the classic hello (answered) and the post-quantum one (lost); unchanged without one."""
    if ok is None or bad is None:
        return v
    numbers = {**v.numbers, "hello_max": ok, "hello_dropped_from": bad,
               "record_limit": ok - RECORD_HEADER, "threshold_exact": exact}
    evidence = tuple(replace(e, values={**e.values, "ok": ok, "bad": bad,
                                        "record": ok - RECORD_HEADER})
                     if e.fact is HelloFact.THRESHOLD else e for e in v.evidence)
    return replace(v, numbers=numbers, evidence=(*evidence, *((search,) if search else ())),
                   hello=HelloSizes(ok, bad, ok - RECORD_HEADER))


def own_hello_suspected(verdicts: Sequence[Verdict], results: Sequence[ShapeResult],
                        tls_stalled: bool) -> tuple[Verdict, ...]:
    """A far end that never answered, seen through a proxy that may decrypt TLS: when the
    handshake stalled before any certificate and every realistic hello crossed leg 1
    unanswered, the proxy's own hello toward the upstream is one of the causes that remain
    (named in the stall's evidence; the verdict itself stays)."""
    if not tls_stalled or not results or not all(
            _failed(r) and r.acked is True for r in results):
        return tuple(verdicts)
    note = Evidence(HelloFact.OWN_HELLO_SUSPECTED, Step.TUNNEL)
    return tuple(replace(v, evidence=(*v.evidence, note))
                 if v.code is VerdictCode.TUNNEL_STALL and v.leg is Leg.PROXY_UPSTREAM
                 and v.direction is None else v for v in verdicts)


def with_profile(v: Verdict, results: Sequence[ShapeResult]) -> Verdict:
    """A hello verdict from the size shapes, with the realistic hellos' results added."""
    extra = tuple(shape_evidence(r) for r in results)
    return replace(v, evidence=tuple(dict.fromkeys((*v.evidence, *extra))))
