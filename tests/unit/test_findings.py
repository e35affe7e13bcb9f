"""pathprobe.findings: attribution by basis, one verdict per fault, peer MTU vs clamp,
severity rules, exit status by --fail-on. Pure: verdicts in, verdicts out."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pathprobe.facts.diagnose import DiagnoseFact
from pathprobe.facts.tunnel import TunnelFact
from pathprobe.findings import (
    CRITICAL_CODES,
    attribute,
    combine,
    finish,
    leg1_carries,
    leg1_size_limit,
    merge,
    merge_legs,
    payload_limit,
    peer_mtu_is_not_a_clamp,
    severity_of,
)
from pathprobe.model import (
    Basis,
    Confidence,
    Direction,
    Evidence,
    ExitStatus,
    Hop,
    IpVersion,
    Leg,
    LegReport,
    LegSizes,
    Limit,
    Measurement,
    Severity,
    Step,
    Unmeasured,
    UnmeasuredReason,
    Verdict,
    VerdictCode,
)
from pathprobe.render.evidence import describe

L1, L2 = Leg.FMC_PROXY, Leg.PROXY_UPSTREAM
UP, DOWN, BOTH = Direction.UP, Direction.DOWN, Direction.BOTH
PROXY, TARGET = "198.18.2.2", "upstream.pathprobe.test:443"
HOLE, RST = VerdictCode.PMTU_BLACKHOLE, VerdictCode.RST_ON_LARGE_SEGMENT


def facts(v: Verdict | LegReport) -> list[object]:
    items = v.evidence if isinstance(v, Verdict) else v.notes
    return [e.fact for e in items]


def fact(v: Verdict | LegReport, member: object) -> Evidence:
    items = v.evidence if isinstance(v, Verdict) else v.notes
    return next(e for e in items if e.fact == member)


def tunnel_hole(ok: int, basis: Basis, *, code: VerdictCode = HOLE, direction: Direction = UP,
                exact: bool = True, confidence: Confidence = Confidence.MEASURED) -> Verdict:
    """What tunnel.size_verdict states: a leg-2 finding with the basis of what it saw."""
    ev = Evidence(TunnelFact.WRITES, Step.TUNNEL, {"method": "m", "ok": ok, "bad": ok + 1,
                                                    "how": "stalled"})
    numbers = {"write_failed": ok + 1, "leg1_ip_version": 4}
    if direction is DOWN:
        numbers["our_mss"] = 536
    return Verdict(code, L2, direction, (ev,), confidence, numbers,
                   limit=Limit(max_payload=ok, pmtu_low=ok + 40,
                               pmtu_high=ok + 52 if exact else None, exact=exact),
                   basis=basis, write_failed=ok + 1, leg1_ip_version=IpVersion.V4,
                   our_mss=536 if direction is DOWN else None)


def leg2_row(ok: int, direction: Direction = UP) -> LegReport:
    return LegReport(L2, TARGET, direction, {"max_payload": ok, "pmtu_low": ok + 40,
                                             "pmtu_high": ok + 52, "pmtu_method": "tunnel"},
                     sizes=LegSizes(max_payload=ok, pmtu_low=ok + 40))


def leg1_row(direction: Direction | None = None, **sizes: int) -> LegReport:
    """A leg-1 row as a step makes it: its typed sizes, and the same under the JSON names."""
    names = {"payload_at_least": "max_payload_at_least"}
    return LegReport(L1, PROXY, direction, {names.get(k, k): n for k, n in sizes.items()},
                     sizes=LegSizes(**sizes))


def leg1_hole(mtu: int, direction: Direction = BOTH, code: VerdictCode = HOLE) -> Verdict:
    return Verdict(code, L1, direction, (), Confidence.MEASURED, limit=Limit(mtu=mtu),
                   basis=Basis.THIS_LEG_ONLY)


LEG1_HEALTHY = Verdict(VerdictCode.HEALTHY, L1, BOTH, limit=Limit(mtu=1500),
                       basis=Basis.THIS_LEG_ONLY)


# --- attribution, one case per basis -------------------------------------------------------

def test_proxy_acked_stays_on_leg2_with_why() -> None:
    v = tunnel_hole(1348, Basis.PROXY_ACKED)
    (out,), legs = attribute([v], [leg2_row(1348)])
    assert (out.leg, out.direction, out.confidence, out.limit) == (L2, UP, Confidence.MEASURED,
                                                                  v.limit)
    assert fact(out, DiagnoseFact.PROXY_ACKED).values == {"bad": 1349}
    assert legs == (leg2_row(1348),)  # leg 2's row keeps its exact numbers
    assert describe(fact(out, DiagnoseFact.PROXY_ACKED)) == (
        "the proxy acknowledged all 1349 bytes (they crossed leg 1), so the loss is on leg 2")


@pytest.mark.parametrize(("basis", "code", "confidence", "why"), [
    (Basis.PROXY_NEVER_ACKED, HOLE, Confidence.MEASURED, DiagnoseFact.PROXY_NEVER_ACKED),
    (Basis.RESET_ON_OUR_SOCKET, RST, Confidence.INFERRED, DiagnoseFact.RESET_ON_OUR_SOCKET),
])
def test_lost_before_the_proxy_goes_to_leg1_and_leg2_becomes_a_lower_bound(
        basis: Basis, code: VerdictCode, confidence: Confidence, why: DiagnoseFact) -> None:
    v = tunnel_hole(1320, basis, code=code)
    other_way = leg2_row(1320, DOWN)
    (out,), legs = attribute([v], [leg2_row(1320), other_way])
    assert (out.code, out.leg, out.direction, out.confidence) == (code, L1, UP, confidence)
    # The limit in leg 1's terms: the write sizes plus IPv4+TCP headers (with timestamps).
    assert out.limit == Limit(max_payload=1320, pmtu_low=1360, pmtu_high=1372, exact=True)
    assert out.basis is basis
    assert fact(out, why).values == {"bad": 1321}
    up_row, down_row = legs
    assert up_row.measurements["max_payload"] is None
    assert up_row.measurements["max_payload_at_least"] == 1320
    assert up_row.measurements["pmtu_high"] is None
    assert up_row.measurements["pmtu_low"] == 1360  # a proven lower bound stays
    assert fact(up_row, DiagnoseFact.LEG2_UNTESTED_ABOVE).values == {"payload": 1320,
                                                                     "leg1": None}
    assert down_row == other_way  # the other direction's row is not touched


def test_never_acked_lower_bound_stays_a_lower_bound_on_leg1() -> None:
    (out,), _ = attribute([tunnel_hole(1200, Basis.PROXY_NEVER_ACKED, exact=False)], [])
    assert out.leg is L1 and out.limit is not None and out.limit.exact is False


def test_needs_leg1_with_a_smaller_leg1_limit_is_leg1s() -> None:
    """The lab's 'blackhole' scenario: leg 1 drops >1372 (1320 payload with timestamps)."""
    v = tunnel_hole(1320, Basis.NEEDS_LEG1)
    out, legs = attribute([leg1_hole(1372), v], [leg2_row(1320)])
    assert [(x.leg, x.code) for x in out] == [(L1, HOLE), (L1, HOLE)]
    moved = out[1]
    assert moved.confidence is Confidence.INFERRED
    assert fact(moved, DiagnoseFact.LEG1_LIMIT_BELOW).values == {"leg1": 1320, "bad": 1321}
    assert fact(legs[0], DiagnoseFact.LEG2_UNTESTED_ABOVE).values == {"payload": 1320,
                                                                      "leg1": 1320}
    assert describe(fact(legs[0], DiagnoseFact.LEG2_UNTESTED_ABOVE)) == (
        "carries at least 1320 payload bytes per segment; larger ones could not be tested: "
        "leg 1 stops segments above 1320 (fix leg 1, then rerun)")


def test_needs_leg1_with_a_larger_leg1_limit_stays_on_leg2() -> None:
    v = tunnel_hole(1348, Basis.NEEDS_LEG1)
    out, legs = attribute([leg1_hole(1500), v], [leg2_row(1348)])
    moved = out[1]
    assert (moved.leg, moved.confidence, moved.limit) == (L2, Confidence.MEASURED, v.limit)
    assert fact(moved, DiagnoseFact.LEG1_CARRIES).values == {"leg1": 1448}
    assert legs == (leg2_row(1348),)


def test_needs_leg1_with_leg1_measured_healthy_is_leg2s() -> None:
    """Seen in the lab behind the article's clamp: leg 1 showed no limit for the segments
    the FMC sends, so writes cross it split; the loss is after the proxy."""
    v = tunnel_hole(1328, Basis.NEEDS_LEG1)
    out, _ = attribute([LEG1_HEALTHY, v], [leg1_row(UP, max_payload=1288)])
    moved = out[1]
    assert (moved.leg, moved.confidence) == (L2, Confidence.MEASURED)
    assert DiagnoseFact.LEG1_NO_SIZE_LIMIT in facts(moved)
    assert DiagnoseFact.LEG1_LIMIT_BELOW not in facts(moved)


def test_needs_leg1_with_leg1_only_said_to_carry_a_size() -> None:
    """tunnel --leg1-max-payload: no leg-1 verdict, only a leg-1 row with the number."""
    given_row = leg1_row(max_payload=1300)
    out, _ = attribute([tunnel_hole(1348, Basis.NEEDS_LEG1)], [given_row])
    assert (out[0].leg, out[0].confidence) == (L1, Confidence.INFERRED)
    assert fact(out[0], DiagnoseFact.LEG1_LIMIT_BELOW).values == {"leg1": 1300, "bad": 1349}
    out, _ = attribute([tunnel_hole(1348, Basis.NEEDS_LEG1)],
                       [leg1_row(max_payload=1448)])
    assert out[0].leg is L2
    assert fact(out[0], DiagnoseFact.LEG1_CARRIES).values == {"leg1": 1448}


def test_needs_leg1_with_leg1_not_measured_is_leg2_by_inference() -> None:
    v = tunnel_hole(1348, Basis.NEEDS_LEG1)
    (out,), legs = attribute([v], [leg2_row(1348)])
    assert (out.leg, out.confidence, out.limit) == (L2, Confidence.INFERRED, v.limit)
    assert DiagnoseFact.LEG1_NOT_MEASURED in facts(out)
    assert legs == (leg2_row(1348),)


def test_a_down_only_leg1_hole_does_not_decide_an_upward_write() -> None:
    v = tunnel_hole(1348, Basis.NEEDS_LEG1)
    assert leg1_size_limit([leg1_hole(1300, DOWN)], UP) is None
    out, _ = attribute([leg1_hole(1300, DOWN), v], [])
    assert out[1].leg is L2 and DiagnoseFact.LEG1_NO_SIZE_LIMIT in facts(out[1])


def test_small_mss_on_leg1_keeps_the_down_finding_on_leg2() -> None:
    v = tunnel_hole(1128, Basis.SMALL_MSS_ON_LEG1, direction=DOWN)
    _, out = attribute([leg1_hole(1200), v], [])[0]
    assert (out.leg, out.direction, out.confidence) == (L2, DOWN, Confidence.MEASURED)
    assert fact(out, DiagnoseFact.SMALL_MSS_ON_LEG1).values == {"mss": 536}


def test_findings_that_are_not_the_tunnels_are_not_moved() -> None:
    stall = Verdict(VerdictCode.TUNNEL_STALL, L2, None, basis=Basis.PROXY_ANSWER)
    clamp = Verdict(VerdictCode.MSS_CLAMPED, L2, UP, basis=Basis.NEEDS_LEG1)
    assert attribute([stall, clamp], []) == ((stall, clamp), ())


def test_leg1_limits_in_payload_bytes() -> None:
    assert payload_limit(Limit(mtu=1372)) == 1320        # timestamps assumed: never above
    assert payload_limit(Limit(mtu=1400), ip_version=6) == 1328
    assert payload_limit(Limit(max_payload=1200, mtu=1500)) == 1200
    assert payload_limit(Limit(pmtu_low=1360, exact=False)) == 1308
    assert payload_limit(Limit()) is None
    legs = [leg1_row(UP, pmtu_up=1500), leg1_row(DOWN, pmtu_down=1372),
            LegReport(L2, TARGET, None, {"pmtu": 1000}, sizes=LegSizes(pmtu=1000))]
    assert leg1_carries(legs) == 1320      # the smallest direction, leg 2 ignored
    assert leg1_carries(legs, ip_version=6) == 1300
    assert leg1_carries([*legs, leg1_row(max_payload=1200)]) == 1200
    assert leg1_carries([LegReport(L1, PROXY)]) is None
    # Only limits the leg-1 probes proved themselves count (not a tunnel finding moved there).
    moved = replace(tunnel_hole(1200, Basis.PROXY_NEVER_ACKED), leg=L1)
    assert leg1_size_limit([moved, leg1_hole(1400, UP)], UP) == 1348
    assert leg1_size_limit([leg1_hole(1400, UP), leg1_hole(1372, BOTH)], DOWN) == 1320


# --- merge: one verdict per (code, leg, direction) -----------------------------------------

def article_leg1_hole() -> list[Measurement]:
    """pmtu, mss and tunnel each see the leg-1 black hole at 1404 (the issue's case)."""
    pmtu = Verdict(HOLE, L1, BOTH, (Evidence(TunnelFact.NOT_EXACT, Step.PMTU, {"ok": 1404}),),
                   limit=Limit(mtu=1404), basis=Basis.THIS_LEG_ONLY)
    mss = Verdict(HOLE, L1, UP, (Evidence(TunnelFact.NOT_EXACT, Step.MSS, {"ok": 1352}),),
                  limit=Limit(max_payload=1352), basis=Basis.THIS_LEG_ONLY)
    tunnel = tunnel_hole(1352, Basis.NEEDS_LEG1)
    return [Measurement((leg1_row(BOTH, pmtu=1404),), (pmtu,)),
            Measurement((replace(leg1_row(max_payload=1352), target=PROXY + ":3128"),),
                        (mss,)),
            Measurement((leg2_row(1352),), (tunnel,))]


def test_the_article_leg1_hole_is_one_finding_with_all_evidence() -> None:
    verdicts, legs = combine(article_leg1_hole())
    (v,) = verdicts
    assert (v.code, v.leg, v.direction, v.severity) == (HOLE, L1, BOTH, Severity.CRITICAL)
    assert v.confidence is Confidence.MEASURED
    assert v.limit is not None and (v.limit.mtu, v.limit.max_payload, v.limit.exact) == (
        1404, 1352, True)
    assert {e.step for e in v.evidence} == {Step.PMTU, Step.MSS, Step.TUNNEL, Step.DIAGNOSE}
    assert fact(v, DiagnoseFact.LEG1_LIMIT_BELOW).values == {"leg1": 1352, "bad": 1353}
    leg2 = next(x for x in legs if x.name is L2)
    assert leg2.measurements["max_payload_at_least"] == 1352


def test_merge_keeps_directions_apart_and_both_takes_in_up_and_down() -> None:
    up, down = leg1_hole(1400, UP), leg1_hole(1300, DOWN)
    assert [v.direction for v in merge([up, down])] == [UP, DOWN]
    (one,) = merge([leg1_hole(1372, BOTH), up, down])
    assert one.direction is BOTH and one.limit == Limit(mtu=1300)
    assert len(merge([up, leg1_hole(1372, UP, RST)])) == 2   # another code: another finding
    assert len(merge([up, replace(up, leg=L2)])) == 2        # another leg: another finding


def test_merge_does_not_depend_on_the_order_of_the_steps() -> None:
    up, down, both = leg1_hole(1400, UP), leg1_hole(1300, DOWN), leg1_hole(1372, BOTH)
    assert [v.direction for v in merge([up, down, both])] == [BOTH]


def test_merge_prefers_an_exact_measured_limit_and_fills_in_from_agreeing_ones() -> None:
    exact = Verdict(HOLE, L1, UP, limit=Limit(mtu=1372))
    bound = Verdict(HOLE, L1, UP, limit=Limit(max_payload=1000, pmtu_low=1040, exact=False))
    inferred = Verdict(HOLE, L1, UP, confidence=Confidence.INFERRED,
                       limit=Limit(max_payload=1308, pmtu_low=1348, pmtu_high=1360))
    (v,) = merge([bound, inferred, exact])
    assert v.limit == Limit(mtu=1372, max_payload=1308, pmtu_low=1348, pmtu_high=1360)
    assert v.confidence is Confidence.MEASURED
    (only_bounds,) = merge([bound, replace(bound, limit=Limit(pmtu_low=1100, exact=False))])
    assert only_bounds.limit is not None and only_bounds.limit.exact is False
    assert only_bounds.limit.pmtu_low == 1040   # the smaller lower bound


def test_merge_shows_the_measured_members_evidence_first() -> None:
    """An inferred finding merged with a measured one of the same fault is measured; its
    evidence led with the inferred member's when that came first (Suricata's
    tls-subjectaltname: 'measured', yet first a lone SYN's 'not a proven one')."""
    guess = Evidence(TunnelFact.NOT_EXACT, Step.TUNNEL, {"ok": 1200})
    proof = Evidence(TunnelFact.PROXY_SOURCE, Step.TUNNEL, {"source": "--proxy"})
    inferred = Verdict(HOLE, L2, UP, (guess,), confidence=Confidence.INFERRED)
    (v,) = merge([inferred, Verdict(HOLE, L2, UP, (proof,))])
    assert v.confidence is Confidence.MEASURED
    assert v.evidence == (proof, guess)


def test_a_fold_of_refusals_among_successes_says_the_fewest_others_everywhere() -> None:
    """Two captured refusals, one while 3 other connections got in, one while 1 did: the
    fold says what holds for both (1), in its field and in the numbers JSON shows."""
    refused = [Verdict(VerdictCode.PROXY_UNREACHABLE, L1, None, (), numbers={
        "others_connected": n}, others_connected=n) for n in (3, 1)]
    (v,) = merge(refused)
    assert v.others_connected == v.numbers["others_connected"] == 1


def test_merge_keeps_each_evidence_item_once() -> None:
    ev = Evidence(TunnelFact.NOT_EXACT, Step.TUNNEL, {"ok": 1200})
    (v,) = merge([Verdict(HOLE, L2, UP, (ev,)), Verdict(HOLE, L2, UP, (ev,))])
    assert v.evidence == (ev,)


def test_merge_legs_joins_steps_but_keeps_clashing_numbers_apart() -> None:
    note = Evidence(TunnelFact.PROXY_SOURCE, Step.TUNNEL, {"source": "--proxy"})
    local = LegReport(L1, PROXY, None, {"interface": "eth0", "interface_mtu": 1500}, (note,))
    mss = LegReport(L1, PROXY, None, {"mss_sent": 1460, "probes": 3}, (note,))
    pmtu = LegReport(L1, PROXY, None, {"pmtu": 1500, "probes": 12})
    merged = merge_legs([local, mss, pmtu])
    assert len(merged) == 2
    assert dict(merged[0].measurements) == {"interface": "eth0", "interface_mtu": 1500,
                                            "mss_sent": 1460, "probes": 3}
    assert merged[0].notes == (note,)
    assert merged[1].measurements["probes"] == 12
    assert len(merge_legs([pmtu, LegReport(L1, PROXY, UP, {"pmtu": 1400})])) == 2


_LEG_ROWS = st.lists(st.tuples(
    st.sampled_from([L1, L2]), st.sampled_from([None, UP]),
    st.dictionaries(st.sampled_from(["pmtu", "probes", "mss_sent", "client_port"]),
                    st.sampled_from([1, 2, 1400, "x", None]), max_size=3)), max_size=12)


@settings(max_examples=300, deadline=None)
@given(rows=_LEG_ROWS)
def test_merge_legs_joins_each_row_into_the_first_that_agrees(
        rows: list[tuple[Leg, Direction | None, dict[str, int | str | None]]]) -> None:
    """Each row goes into the first earlier row of its leg, direction and target that gives
    none of its quantities another value, or stands alone (a reference written plainly)."""
    legs = [LegReport(leg, PROXY, d, m) for leg, d, m in rows]
    expected: list[tuple[Leg, Direction | None, dict[str, object]]] = []
    for leg, d, m in rows:
        for i, (eleg, ed, em) in enumerate(expected):
            if (eleg, ed) == (leg, d) and all(em.get(k, v) == v for k, v in m.items()):
                expected[i] = (eleg, ed, {**em, **m})
                break
        else:
            expected.append((leg, d, dict(m)))
    assert [(r.name, r.direction, dict(r.measurements)) for r in merge_legs(legs)] == expected


# --- peer MTU or clamp ---------------------------------------------------------------------

def handshake_clamp(received: int, ip_version: int | None = None, hop: int | None = None
                    ) -> Verdict:
    """The rules read the typed fields; the numbers carry the same facts for the JSON."""
    numbers: dict[str, int] = {"mss_sent": 1460, "mss_received": received}
    if ip_version is not None:
        numbers["ip_version"] = ip_version
    return Verdict(VerdictCode.MSS_CLAMPED, L1, DOWN,
                   (Evidence(TunnelFact.SYN_AS_ARRIVED, Step.MSS),),
                   numbers=numbers, basis=Basis.THIS_LEG_ONLY, mss_received=received,
                   ip_version=IpVersion(ip_version) if ip_version is not None else None,
                   hop=Hop("198.18.1.1", hop) if hop is not None else None)


@pytest.mark.parametrize("path", [
    Verdict(VerdictCode.HEALTHY, L1, BOTH, limit=Limit(mtu=1436), basis=Basis.THIS_LEG_ONLY),
    Verdict(VerdictCode.PMTU_REDUCED, L1, BOTH, limit=Limit(mtu=1436),
            basis=Basis.THIS_LEG_ONLY),
], ids=["healthy", "reduced"])
def test_an_mss_sized_to_the_path_mtu_is_not_a_clamp(path: Verdict) -> None:
    out = peer_mtu_is_not_a_clamp([handshake_clamp(1396), path])
    (v,) = out
    assert v.code is path.code
    note = fact(v, DiagnoseFact.MSS_MATCHES_PMTU)
    assert note.values == {"mss": 1396, "mtu": 1436, "overhead": 40}
    assert describe(note).startswith("MSS 1396 matches path MTU 1436 (1436 - 40)")
    assert TunnelFact.SYN_AS_ARRIVED in facts(v)  # the clamp's own evidence is kept


def test_the_peer_rule_knows_ipv6_headers() -> None:
    path = Verdict(VerdictCode.HEALTHY, L1, BOTH, limit=Limit(mtu=1436))
    (v,) = peer_mtu_is_not_a_clamp([handshake_clamp(1376, ip_version=6), path])
    assert fact(v, DiagnoseFact.MSS_MATCHES_PMTU).values["overhead"] == 60
    assert len(peer_mtu_is_not_a_clamp([handshake_clamp(1396, ip_version=6), path])) == 2


@pytest.mark.parametrize("clamp", [
    handshake_clamp(1396, hop=3),                          # the rewriting hop was located
    replace(handshake_clamp(1396), direction=UP),          # our SYN arrived rewritten
    handshake_clamp(1300),                                 # below what the path carries
], ids=["hop-located", "direction-up", "mss-below-path"])
def test_a_shown_rewrite_stays_a_clamp(clamp: Verdict) -> None:
    path = Verdict(VerdictCode.HEALTHY, L1, BOTH, limit=Limit(mtu=1436))
    out = peer_mtu_is_not_a_clamp([clamp, path])
    assert out == (clamp, path)


def test_a_lower_bound_or_another_leg_does_not_explain_the_mss() -> None:
    clamp = handshake_clamp(1396)
    bound = Verdict(VerdictCode.HEALTHY, L1, BOTH, limit=Limit(mtu=1436, exact=False))
    other_leg = Verdict(VerdictCode.HEALTHY, L2, BOTH, limit=Limit(mtu=1436))
    assert peer_mtu_is_not_a_clamp([clamp, bound, other_leg]) == (clamp, bound, other_leg)


def test_the_peer_mtu_case_exits_0_and_is_not_called_clamped() -> None:
    path = Verdict(VerdictCode.HEALTHY, L1, BOTH, limit=Limit(mtu=1436),
                   basis=Basis.THIS_LEG_ONLY)
    report = finish([Measurement(verdicts=(path,)), Measurement(verdicts=(handshake_clamp(
        1396),))], command="diagnose", started="t", duration_s=1.0)
    assert [v.code for v in report.verdicts] == [VerdictCode.HEALTHY]
    assert report.exit_status(Severity.INFO) is ExitStatus.HEALTHY


# --- severity -----------------------------------------------------------------------------

@pytest.mark.parametrize("code", sorted(CRITICAL_CODES))
def test_traffic_breaking_findings_are_critical(code: VerdictCode) -> None:
    assert severity_of(Verdict(code, L1), []) is Severity.CRITICAL


def test_every_code_has_a_severity_rule() -> None:
    expected = {
        VerdictCode.HEALTHY: Severity.INFO,
        VerdictCode.PMTU_REDUCED: Severity.INFO,
        VerdictCode.PMTU_BLACKHOLE: Severity.CRITICAL,
        VerdictCode.MSS_CLAMPED: Severity.INFO,
        VerdictCode.RST_ON_LARGE_SEGMENT: Severity.CRITICAL,
        VerdictCode.TUNNEL_STALL: Severity.CRITICAL,
        VerdictCode.PROXY_DENIED: Severity.CRITICAL,
        VerdictCode.PROXY_AUTH_REQUIRED: Severity.CRITICAL,
        VerdictCode.PROXY_AUTH_UNSUPPORTED: Severity.CRITICAL,
        VerdictCode.PROXY_UPSTREAM_ERROR: Severity.CRITICAL,
        VerdictCode.PROXY_UNREACHABLE: Severity.CRITICAL,
        VerdictCode.CONNECT_NO_RESPONSE: Severity.CRITICAL,
        VerdictCode.PROXY_TLS_INTERCEPTED: Severity.CRITICAL,
        VerdictCode.PROXY_CONFIG_UNSUPPORTED: Severity.WARNING,
        VerdictCode.TLS_HELLO_DROPPED: Severity.CRITICAL,
    }
    assert set(expected) == set(VerdictCode)
    assert {c: severity_of(Verdict(c, L1), []) for c in VerdictCode} == expected


def test_a_reduced_path_mtu_is_info_when_measured_and_a_warning_when_inferred() -> None:
    v = Verdict(VerdictCode.PMTU_REDUCED, L1, BOTH, limit=Limit(mtu=1400))
    assert severity_of(v, [v]) is Severity.INFO
    inferred = replace(v, confidence=Confidence.INFERRED)
    assert severity_of(inferred, [inferred]) is Severity.WARNING


def test_a_clamp_is_info_while_traffic_flows_and_a_warning_above_what_the_leg_carries() -> None:
    clamp = Verdict(VerdictCode.MSS_CLAMPED, L1, BOTH,
                    numbers={"mss_sent": 1460, "mss_received": 1300}, mss_received=1300)
    assert severity_of(clamp, [clamp, LEG1_HEALTHY]) is Severity.INFO
    # Leg 1 carries 1320 payload bytes (1372 - 52): a 1300 clamp keeps segments small enough.
    assert severity_of(clamp, [clamp, leg1_hole(1372)]) is Severity.INFO
    too_high = replace(clamp, numbers={"mss_sent": 1460, "mss_received": 1400},
                       mss_received=1400)
    assert severity_of(too_high, [too_high, leg1_hole(1372)]) is Severity.WARNING
    # ... but not for a limit on the other leg or in the other direction.
    assert severity_of(too_high, [replace(leg1_hole(1372), leg=L2)]) is Severity.INFO
    up_clamp = replace(too_high, direction=UP)
    assert severity_of(up_clamp, [leg1_hole(1372, DOWN)]) is Severity.INFO


def test_verdicts_come_out_worst_first() -> None:
    clamp = Verdict(VerdictCode.MSS_CLAMPED, L1, BOTH,
                    numbers={"mss_sent": 1460, "mss_received": 1300}, mss_received=1300)
    denied = Verdict(VerdictCode.PROXY_DENIED, L1, numbers={"status": 403})
    hole = tunnel_hole(1348, Basis.PROXY_ACKED)
    verdicts, _ = combine([Measurement(verdicts=(clamp, hole, denied))])
    assert [(v.code, v.severity) for v in verdicts] == [
        (VerdictCode.PROXY_DENIED, Severity.CRITICAL), (HOLE, Severity.CRITICAL),
        (VerdictCode.MSS_CLAMPED, Severity.INFO)]


# --- exit status by --fail-on --------------------------------------------------------------

def test_a_clamp_only_report_exits_0_by_default_and_1_with_fail_on_info() -> None:
    clamp = Verdict(VerdictCode.MSS_CLAMPED, L1, BOTH,
                    numbers={"mss_sent": 1460, "mss_received": 1336}, mss_received=1336)
    report = finish([Measurement(verdicts=(clamp, LEG1_HEALTHY))], command="mss",
                    started="t", duration_s=0)
    assert report.exit_status() is ExitStatus.HEALTHY
    assert report.exit_status(Severity.WARNING) is ExitStatus.HEALTHY
    assert report.exit_status(Severity.INFO) is ExitStatus.PROBLEM
    assert report.exit_status(Severity.CRITICAL) is ExitStatus.HEALTHY


@pytest.mark.parametrize(("verdict", "critical", "warning", "info"), [
    (leg1_hole(1372), 1, 1, 1),
    (Verdict(VerdictCode.PMTU_REDUCED, L1, BOTH, confidence=Confidence.INFERRED,
             limit=Limit(mtu=1400)), 0, 1, 1),
    (Verdict(VerdictCode.PMTU_REDUCED, L1, BOTH, limit=Limit(mtu=1400)), 0, 0, 1),
    (LEG1_HEALTHY, 0, 0, 0),
], ids=["critical", "warning", "info", "healthy"])
def test_fail_on_thresholds(verdict: Verdict, critical: int, warning: int, info: int) -> None:
    report = finish([Measurement(verdicts=(verdict,))], command="pmtu", started="t",
                    duration_s=0)
    assert [int(report.exit_status(s)) for s in (Severity.CRITICAL, Severity.WARNING,
                                                  Severity.INFO)] == [critical, warning, info]


def test_nothing_measured_or_interrupted_exits_3_unless_something_failed() -> None:
    empty = finish([], command="pmtu", started="t", duration_s=0)
    assert empty.exit_status() is ExitStatus.NOT_MEASURED
    errors = finish([Measurement(verdicts=(LEG1_HEALTHY,), unmeasured=(Unmeasured(
        Step.MSS, UnmeasuredReason.PERMISSION, cause="mss: needs root"),))],
                    command="diagnose", started="t", duration_s=0)
    assert errors.errors == ("mss: needs root",)
    assert errors.exit_status() is ExitStatus.NOT_MEASURED
    # The sentences are output only: the typed records decide.
    assert replace(errors, unmeasured=()).exit_status() is ExitStatus.HEALTHY
    partial = finish([Measurement(verdicts=(leg1_hole(1372),))], command="diagnose",
                     started="t", duration_s=0, partial=True)
    assert partial.exit_status() is ExitStatus.PROBLEM
    assert partial.exit_status(Severity.CRITICAL) is ExitStatus.PROBLEM


# --- properties ----------------------------------------------------------------------------

LIMITS = st.builds(
    Limit, mtu=st.none() | st.integers(576, 1500), max_payload=st.none() | st.integers(500, 1460),
    pmtu_low=st.none() | st.integers(576, 1500), pmtu_high=st.none() | st.integers(576, 1520),
    exact=st.booleans())
VERDICTS = st.builds(
    Verdict, code=st.sampled_from([HOLE, RST, VerdictCode.PMTU_REDUCED,
                                   VerdictCode.MSS_CLAMPED, VerdictCode.HEALTHY]),
    leg=st.sampled_from([L1, L2]), direction=st.sampled_from([UP, DOWN, BOTH, None]),
    confidence=st.sampled_from(list(Confidence)), limit=st.none() | LIMITS)


@settings(max_examples=300, deadline=None)
@given(st.lists(VERDICTS, max_size=12))
def test_merge_gives_one_verdict_per_code_leg_and_direction(verdicts: list[Verdict]) -> None:
    out = merge(verdicts)
    keys = [(v.code, v.leg, v.direction) for v in out]
    assert len(keys) == len(set(keys))
    assert {(v.code, v.leg) for v in out} == {(v.code, v.leg) for v in verdicts}
    assert len(out) <= len(verdicts)


MIXED_UNITS = ("findings._limit_rank compares an mtu/pmtu_low (packet bytes) with a bare "
               "max_payload (payload bytes): a payload-only limit ranks first and its larger "
               "max_payload wins over an exact smaller one")


def test_merged_payload_is_the_smallest_proven_one() -> None:
    """No root: mss proves 1332 bytes without options cross (1372 - 40); the tunnel's
    1321-byte write was lost on leg 1 (1320 + 52 = 1372 with timestamps)."""
    mss = Verdict(HOLE, L1, UP, limit=Limit(max_payload=1332), basis=Basis.THIS_LEG_ONLY)
    tunnel = tunnel_hole(1320, Basis.PROXY_NEVER_ACKED)
    verdicts, _ = combine([Measurement(verdicts=(mss, tunnel))])
    (v,) = verdicts
    assert v.limit is not None and v.limit.max_payload == 1320


@settings(max_examples=300, deadline=None)
@given(st.lists(LIMITS, min_size=1, max_size=6), st.sampled_from(list(Confidence)))
def test_merge_never_raises_a_limit_above_the_smallest_exact_one(limits: list[Limit],
                                                                 confidence: Confidence
                                                                 ) -> None:
    """Every number of the merged limit is at most the smallest exact value of that number
    in its group (one fault seen by several steps: same code, leg and direction)."""
    group = [Verdict(HOLE, L1, UP, confidence=confidence, limit=lim) for lim in limits]
    (v,) = merge(group)
    assert v.limit is not None
    exact = [lim for lim in limits if lim.exact]
    assert v.limit.exact == bool(exact)
    for name, value in v.limit.fields().items():
        proven = [lim.fields()[name] for lim in exact if name in lim.fields()]
        if proven:
            assert value <= min(proven), (name, value, proven)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(536, 1459), st.sampled_from(list(Basis)),
                          st.sampled_from([UP, DOWN]), st.booleans()), max_size=6),
       st.lists(st.builds(leg1_hole, st.integers(576, 1500),
                          st.sampled_from([UP, DOWN, BOTH])), max_size=3),
       st.none() | st.integers(500, 1460))
def test_attribution_never_puts_a_never_acked_write_on_leg2(
        found: list[tuple[int, Basis, Direction, bool]], leg1: list[Verdict],
        carried: int | None) -> None:
    tunnel = [tunnel_hole(ok, basis, direction=d, exact=exact) for ok, basis, d, exact in found]
    legs = [leg2_row(ok, d) for ok, _, d, _ in found]
    if carried is not None:
        legs.append(leg1_row(max_payload=carried))
    out, new_legs = attribute([*leg1, *tunnel], legs)
    assert len(out) == len(leg1) + len(tunnel)
    for before, after in zip(tunnel, out[len(leg1):], strict=True):
        if before.basis in (Basis.PROXY_NEVER_ACKED, Basis.RESET_ON_OUR_SOCKET):
            assert after.leg is L1
        if before.basis in (Basis.PROXY_ACKED, Basis.SMALL_MSS_ON_LEG1):
            assert after.leg is L2
        if after.leg is L1 and after.limit is not None and before.limit is not None:
            assert after.limit.max_payload == before.limit.max_payload  # never raised
    # A leg-2 row keeps an exact max_payload only when no finding of its size left leg 2.
    moved = {(v.limit.max_payload, v.direction) for v in out[len(leg1):]
             if v.leg is L1 and v.limit is not None}
    for row in new_legs:
        if row.name is L2 and (row.measurements.get("max_payload_at_least"),
                               row.direction) in moved:
            assert row.measurements["max_payload"] is None
