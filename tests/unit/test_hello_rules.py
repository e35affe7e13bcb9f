"""pathprobe.hello_rules: size or content on leg 2 up, from the shapes' typed results;
the hello verdict through attribution, recommendations and the rendered text."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pathprobe.facts.hello import HelloFact, HelloProfile, HelloShape, ShapeResult
from pathprobe.facts.search import SearchFact
from pathprobe.facts.tunnel import Outcome, TunnelFact
from pathprobe.findings import attribute, combine
from pathprobe.hello_rules import (
    differential,
    needs_shapes,
    own_hello_suspected,
    profile_row,
    profile_verdict,
    refine_threshold,
    with_profile,
)
from pathprobe.model import (
    Basis,
    Confidence,
    Direction,
    Evidence,
    HelloSizes,
    Leg,
    LegReport,
    LegSizes,
    Limit,
    Measurement,
    Severity,
    Step,
    Verdict,
    VerdictCode,
)
from pathprobe.recommend import recommend
from pathprobe.render.content import limit_text
from pathprobe.render.evidence import describe
from pathprobe.render.summary import phrase

L2, UP = Leg.PROXY_UPSTREAM, Direction.UP
FRAG, SPLIT = HelloShape.FRAGMENTED, HelloShape.SPLIT_WRITES
OK, BAD = 1205, 1206


def size_verdict(code: VerdictCode = VerdictCode.PMTU_BLACKHOLE, ok: int = OK, bad: int = BAD,
                 basis: Basis = Basis.PROXY_ACKED) -> Verdict:
    """What tunnel_rules.size_verdict states for the search's ClientHello probes."""
    return Verdict(code, L2, UP, (Evidence(TunnelFact.WRITES, Step.TUNNEL, {"ok": ok}),
                                  Evidence(SearchFact.SEARCH, Step.TUNNEL, {"ok": ok}),
                                  Evidence(TunnelFact.PAYLOAD_CROSSES, Step.TUNNEL, {"ok": ok})),
                   Confidence.MEASURED, {"write_failed": bad},
                   Limit(max_payload=ok, pmtu_low=ok + 40, pmtu_high=ok + 72), basis=basis,
                   write_failed=bad)


def row() -> LegReport:
    return LegReport(L2, "upstream.pathprobe.test:443", UP,
                     {"max_payload": OK, "pmtu_low": OK + 40, "pmtu_high": OK + 72},
                     sizes=LegSizes(max_payload=OK, pmtu_low=OK + 40))


def shape(kind: HelloShape, outcome: Outcome, size: int = BAD) -> ShapeResult:
    return ShapeResult(kind, size, 5 if kind is FRAG else 1, 2 if kind is SPLIT else 1, outcome,
                       0.5, True)


A, S, R = Outcome.ANSWERED, Outcome.STALLED, Outcome.CLOSED


def test_a_fragmented_hello_that_crosses_proves_content() -> None:
    shapes = [shape(FRAG, A), shape(SPLIT, S), shape(FRAG, A, 1460)]
    v, r = differential(size_verdict(), shapes, row(), 4, True, leg1_segment=1448)
    assert v.code is VerdictCode.TLS_HELLO_DROPPED and (v.leg, v.direction) == (L2, UP)
    assert v.limit is None   # no MTU can ever be derived from it
    assert v.basis is Basis.PROXY_ACKED and v.confidence is Confidence.MEASURED
    assert v.numbers["record_limit"] == 1200 and v.numbers["hello_dropped_from"] == BAD
    assert v.hello == HelloSizes(OK, BAD, 1200)   # what the rules read, typed
    # The failing byte count crossed in one segment (as the hello was written); a full
    # segment's write crossed too, but the proxy may split that: no packet size from it.
    assert (v.numbers["segment_crossed"], v.numbers["write_crossed"]) == (BAD, 1460)
    assert v.numbers["packet_crossed"] == BAD + 52   # IPv4 with timestamps
    assert v.numbers["how"] == "drop"
    facts = [e.fact for e in v.evidence]
    assert facts[:2] == [HelloFact.THRESHOLD, HelloFact.SIZE_RULED_OUT]
    assert facts.count(HelloFact.SHAPE_ANSWERED) == 2 and HelloFact.SHAPE_FAILED in facts
    # Which sizes the search saw stays; its PMTU reading of them does not.
    assert TunnelFact.WRITES in facts and SearchFact.SEARCH in facts
    assert TunnelFact.PAYLOAD_CROSSES not in facts
    # The leg row: the hello limit is no path limit; the crossing write is a lower bound.
    m = r.measurements
    assert m["max_payload"] is None and m["pmtu_high"] is None
    assert (m["max_payload_at_least"], m["pmtu_low"], m["hello_max"]) == (BAD, BAD + 52, OK)
    assert r.sizes == LegSizes(payload_at_least=BAD, pmtu_low=BAD + 52)


def test_a_write_leg1_carried_in_pieces_proves_no_content() -> None:
    """Above leg 1's segment the proxy may relay the pieces as they came: a crossing
    fragmented write then proves nothing, and the split record alone decides."""
    shapes = [shape(FRAG, A), shape(SPLIT, A)]
    v, _ = differential(size_verdict(), shapes, row(), leg1_segment=1188)
    assert v.code is VerdictCode.PMTU_BLACKHOLE and v.confidence is Confidence.MEASURED
    v, _ = differential(size_verdict(), [shape(FRAG, A), shape(SPLIT, S)], row(),
                        leg1_segment=1188)
    assert v.code is VerdictCode.PMTU_BLACKHOLE and v.confidence is Confidence.INFERRED
    v, _ = differential(size_verdict(), shapes, row(), leg1_segment=1448)
    assert v.code is VerdictCode.TLS_HELLO_DROPPED


def test_shapes_sent_beside_the_search_at_a_larger_size_decide_too() -> None:
    """Sent before the limit was known, at the largest write leg 1 carries whole: a larger
    write of other bytes that crosses proves content; one that fails, with the split record
    crossing, a size."""
    v, _ = differential(size_verdict(), [shape(FRAG, A, 1448), shape(SPLIT, S, 1448)], row(),
                        leg1_segment=1448)
    assert v.code is VerdictCode.TLS_HELLO_DROPPED and v.numbers["segment_crossed"] == 1448
    v, _ = differential(size_verdict(), [shape(FRAG, S, 1448), shape(SPLIT, A, 1448)], row(),
                        leg1_segment=1448)
    assert v.code is VerdictCode.PMTU_BLACKHOLE and v.confidence is Confidence.MEASURED
    # Smaller than the failing write: proves nothing either way.
    v, _ = differential(size_verdict(), [shape(FRAG, A, 1100)], row(), leg1_segment=1448)
    assert v.code is VerdictCode.PMTU_BLACKHOLE and v.confidence is Confidence.INFERRED


def test_the_reset_variant_says_reset() -> None:
    v, _ = differential(size_verdict(VerdictCode.RST_ON_LARGE_SEGMENT),
                        [shape(FRAG, A), shape(SPLIT, R)], row())
    assert v.code is VerdictCode.TLS_HELLO_DROPPED and v.numbers["how"] == "reset"
    assert limit_text(v) == "ClientHello records > 1200 B reset; 1246-byte packets cross"


def test_every_one_segment_shape_failing_and_small_segments_crossing_is_a_size() -> None:
    before = size_verdict()
    v, r = differential(before, [shape(FRAG, S), shape(SPLIT, A), shape(FRAG, S, 1460)], row())
    assert v.code is VerdictCode.PMTU_BLACKHOLE and v.limit == before.limit
    assert v.confidence is Confidence.MEASURED and r == row()
    assert HelloFact.PATH_LIMIT in [e.fact for e in v.evidence]


@pytest.mark.parametrize("shapes", [
    [shape(FRAG, S), shape(SPLIT, S)],                        # a reassembling reader? coalescing?
    [shape(FRAG, Outcome.NO_TUNNEL), shape(SPLIT, A)],         # not tested
    [],
])
def test_when_the_shapes_cannot_tell_the_size_verdict_stays_with_lower_confidence(
        shapes: list[ShapeResult]) -> None:
    v, _ = differential(size_verdict(), shapes, row())
    assert v.code is VerdictCode.PMTU_BLACKHOLE and v.confidence is Confidence.INFERRED
    assert HelloFact.CONTENT_NOT_RULED_OUT in [e.fact for e in v.evidence]


@given(st.sampled_from(list(Outcome)), st.sampled_from(list(Outcome)),
       st.sampled_from(list(Outcome)))
def test_only_a_crossing_one_segment_shape_names_content(frag: Outcome, split: Outcome,
                                                          full: Outcome) -> None:
    """Never TLS_HELLO_DROPPED unless the failing byte count crossed in one write; never a
    size verdict stated as measured unless the smaller segments crossed."""
    shapes = [shape(FRAG, frag), shape(SPLIT, split), shape(FRAG, full, 1460)]
    v, _ = differential(size_verdict(), shapes, row(), leg1_segment=1448)
    crossed = frag is A
    assert (v.code is VerdictCode.TLS_HELLO_DROPPED) is crossed
    if not crossed and v.confidence is Confidence.MEASURED:
        assert split is A


def test_needs_shapes_only_for_leg2_up_size_verdicts() -> None:
    assert needs_shapes(size_verdict())
    assert needs_shapes(size_verdict(VerdictCode.RST_ON_LARGE_SEGMENT))
    assert not needs_shapes(None)
    down = Verdict(VerdictCode.PMTU_BLACKHOLE, L2, Direction.DOWN, numbers={"write_failed": 9},
                   write_failed=9)
    assert not needs_shapes(down)
    assert not needs_shapes(Verdict(VerdictCode.TUNNEL_STALL, L2, UP))


def test_attribution_moves_a_hello_drop_the_proxy_never_acknowledged_to_leg1() -> None:
    hello, _ = differential(size_verdict(basis=Basis.PROXY_NEVER_ACKED),
                            [shape(FRAG, A), shape(SPLIT, S)], row())
    (moved,), _ = attribute([hello], [])
    assert moved.code is VerdictCode.TLS_HELLO_DROPPED and moved.leg is Leg.FMC_PROXY
    assert moved.limit is None
    kept, _ = attribute([differential(size_verdict(), [shape(FRAG, A)], row())[0]], [])
    assert kept[0].leg is L2


def test_hello_verdict_is_critical_alone_and_recommends_no_mtu_or_mss() -> None:
    hello, r = differential(size_verdict(), [shape(FRAG, A), shape(SPLIT, S)], row())
    verdicts, _ = combine([Measurement((r,), (hello,))])
    assert [v.code for v in verdicts] == [VerdictCode.TLS_HELLO_DROPPED]
    assert verdicts[0].severity is Severity.CRITICAL
    recs = recommend(verdicts, {L2: "upstream.pathprobe.test:443"})
    text = " ".join(f"{x.command} {x.why}" for x in recs).lower()
    commands = " ".join(x.command for x in recs).lower()
    assert not re.search(r"\bmtu\b|tcpmss|adjust-mss|mtu_probing", commands)
    assert "ssl_bump splice" in commands and "pass through" in commands
    assert "x25519mlkem768" in text and "helloretryrequest" in text
    for platform in ("Chrome/Edge", "Firefox", "Go", "OpenSSL 3.5+"):
        assert any(platform in x.platform for x in recs), platform
    assert "upstream.pathprobe.test" in commands


def test_sentences_and_summary() -> None:
    hello, _ = differential(size_verdict(), [shape(FRAG, A), shape(SPLIT, S),
                                             shape(FRAG, A, 1460)], row(), leg1_segment=1448)
    assert limit_text(hello) == "ClientHello records > 1200 B dropped; 1246-byte packets cross"
    assert phrase(hello).startswith("drops TLS ClientHellos of 1206 bytes and more")
    lines = [describe(e) for e in hello.evidence]
    assert lines[0].startswith("ClientHello records longer than 1200 B (1206-byte hellos and "
                               "up) are dropped; 1205-byte hellos are answered")
    assert any("cut in two TCP writes: 1206 bytes got no answer" in x for x in lines)
    assert not any("?" in x for x in lines[:3]), lines


# --- the realistic hellos ---------------------------------------------------------------

PQ, CLASSIC = HelloShape.PQ, HelloShape.CLASSIC


def hellos(pq: Outcome, classic: Outcome = A, acked: bool | None = True) -> list[ShapeResult]:
    return [ShapeResult(PQ, 1797, 1, 1, pq, 1.0, acked), ShapeResult(CLASSIC, 517, 1, 1,
                                                                     classic, 0.1, True)]


def test_profile_choices() -> None:
    assert HelloProfile.BOTH.shapes() == (PQ, CLASSIC)
    assert HelloProfile.PQ.shapes() == (PQ,) and HelloProfile.NONE.shapes() == ()


def test_pq_hello_lost_while_full_segments_cross_is_a_hello_drop() -> None:
    v = profile_verdict(hellos(S), carried=1460, hello_carried=1460, full_segment=1460)
    assert v is not None and v.code is VerdictCode.TLS_HELLO_DROPPED and v.limit is None
    assert (v.numbers["hello_max"], v.numbers["hello_dropped_from"]) == (1460, 1797)
    assert v.hello == HelloSizes(1460, 1797, 1460 - 5)
    assert v.numbers["threshold_exact"] is False and v.basis is Basis.PROXY_ACKED
    assert limit_text(v) == ("ClientHellos of 1797 B dropped, 1460 B answered; 1460-byte "
                             "segments cross")
    # With a reflector the sized writes were no hellos: the classic hello is the bound.
    v = profile_verdict(hellos(R, acked=False), carried=1448, hello_carried=None,
                        full_segment=1448)
    assert v is not None and v.numbers["hello_max"] == 517 and v.numbers["how"] == "reset"
    assert v.basis is Basis.PROXY_NEVER_ACKED


@pytest.mark.parametrize(("results", "carried"), [
    (hellos(A), 1460),              # the PQ hello works
    (hellos(S, S), 1460),           # nothing answers: not about the PQ hello
    (hellos(S), 1205),              # full segments not proven: could be a size
    (hellos(S), None),
    (hellos(Outcome.UNTESTED), 1460),
    (hellos(S)[:1], 1460),          # no classic hello to compare with
])
def test_no_hello_verdict_from_the_profile_without_proof(results: list[ShapeResult],
                                                         carried: int | None) -> None:
    assert profile_verdict(results, carried, carried, 1460) is None


def test_profile_rows_per_leg() -> None:
    r = profile_row(hellos(S), "t:443", proxy_answers=False)
    assert r.name is L2 and r.measurements == {"pq_hello": "stalled", "pq_hello_bytes": 1797,
                                               "classic_hello": "answered",
                                               "classic_hello_bytes": 517}
    # Lost before the proxy took it: leg 1's.
    assert profile_row(hellos(S, acked=False), "t:443", proxy_answers=False).name is Leg.FMC_PROXY
    r = profile_row(hellos(A), "t:443", proxy_answers=True)
    assert r.name is Leg.FMC_PROXY
    assert HelloFact.PROXY_ANSWERS_HELLOS in [e.fact for e in r.notes]
    hello, _ = differential(size_verdict(), [shape(FRAG, A)], row())
    more = with_profile(hello, hellos(S))
    assert len(more.evidence) == len(hello.evidence) + 2


def test_the_proxys_own_hello_is_named_only_when_every_hello_crossed_leg1_unanswered() -> None:
    stall = Verdict(VerdictCode.TUNNEL_STALL, L2, None, confidence=Confidence.INFERRED)
    (named,) = own_hello_suspected([stall], hellos(S, S), tls_stalled=True)
    assert [e.fact for e in named.evidence] == [HelloFact.OWN_HELLO_SUSPECTED]
    assert own_hello_suspected([stall], hellos(S, S), tls_stalled=False) == (stall,)
    assert own_hello_suspected([stall], hellos(S, A), tls_stalled=True) == (stall,)
    assert own_hello_suspected([stall], hellos(S, S, acked=None), tls_stalled=True) == (stall,)
    assert own_hello_suspected([stall], [], tls_stalled=True) == (stall,)


def test_a_searched_threshold_reaches_the_typed_sizes_and_the_json_alike() -> None:
    """tunnel's reflector search reads ``v.hello`` (never the JSON's numbers) and writes both."""
    v = profile_verdict(hellos(S), carried=1460, hello_carried=None, full_segment=1460)
    assert v is not None and v.hello is not None
    refined = refine_threshold(v, 1600, 1601, True)
    assert refined.hello == HelloSizes(1600, 1601, 1595)
    assert (refined.numbers["hello_max"], refined.numbers["hello_dropped_from"],
            refined.numbers["record_limit"]) == (1600, 1601, 1595)
    assert refine_threshold(v, None, 1601, True) is v
