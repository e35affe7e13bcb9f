"""The size-search engine against simulated paths (no sockets): exact when the
path is deterministic, never above the truth, bounded probes and rounds."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pathprobe.facts.search import SearchFact
from pathprobe.model import Step
from pathprobe.render.evidence import describe
from pathprobe.search import (
    PLATEAUS,
    Aborted,
    FailedHow,
    ProbeOutcome,
    ProbeResult,
    SearchResult,
    SizeSearch,
    StopReason,
    drive,
    search_evidence,
)


@dataclass
class SimPath:
    """A path with MTU `mtu`; above it: ICMP with a hint, a reset, or silence."""

    mtu: int
    icmp: bool = True
    hint: int | None = None          # what the ICMP claims (None: the truth)
    burst: int | None = None         # ICMP rate limit: tokens at start (None: unlimited)
    refill: int = 1                  # tokens added per round
    loss: float = 0.0                # random loss of probes or answers
    silent: bool = False             # the target answers nothing at all
    local_mtu: int | None = None     # our own stack refuses above this (EMSGSIZE)
    seed: int = 0
    sent: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.tokens = self.burst

    def round(self, sizes: list[int]) -> list[ProbeResult]:
        assert sizes == sorted(sizes), "the engine sends ascending sizes"
        self.sent.extend(sizes)
        out = []
        for size in sizes:
            out.append(self._one(size))
        if self.tokens is not None and self.burst is not None:
            self.tokens = min(self.burst, self.tokens + self.refill)
        return out

    def _one(self, size: int) -> ProbeResult:
        if self.local_mtu is not None and size > self.local_mtu:
            return ProbeResult(size, ProbeOutcome.LOCAL_TOO_BIG)
        if self.loss and self.rng.random() < self.loss:
            return ProbeResult(size, ProbeOutcome.LOST)
        if size <= self.mtu:
            if self.silent:
                return ProbeResult(size, ProbeOutcome.LOST)
            return ProbeResult(size, ProbeOutcome.DELIVERED)
        if not self.icmp:
            return ProbeResult(size, ProbeOutcome.LOST)
        if self.tokens is not None:
            if self.tokens <= 0:
                return ProbeResult(size, ProbeOutcome.LOST)
            self.tokens -= 1
        if self.loss and self.rng.random() < self.loss:
            return ProbeResult(size, ProbeOutcome.LOST)
        hint = self.mtu if self.hint is None else self.hint
        return ProbeResult(size, ProbeOutcome.TOO_BIG, hint if hint < size else None)


def run(path: SimPath, low: int = 576, high: int = 1500,
        **kw: int | bool | tuple[int, ...]) -> SearchResult:
    s = SizeSearch(low, high, **kw)  # type: ignore[arg-type]
    for _ in range(1000):
        sizes = s.next_batch()
        if not sizes:
            break
        assert len(sizes) <= kw.get("batch", 16)  # type: ignore[operator]
        s.feed(path.round(sizes))
    else:
        raise AssertionError("the search never stopped")
    assert s.done
    return s.result()


# -- examples -----------------------------------------------------------------------------

def test_black_hole_1372_is_exact_and_silent() -> None:
    r = run(SimPath(1372, icmp=False), batch=24, parallel_retries=True)
    assert (r.largest_ok, r.smallest_bad, r.exact, r.signalled) == (1372, 1373, True, False)
    assert r.rounds <= 4
    assert r.icmp_mtu is None
    assert (r.stop, r.failed_how, r.losses) == (StopReason.CLOSED, FailedHow.LOST, 3)
    ev = search_evidence(r, Step.PMTU, "udp")
    assert ev.fact is SearchFact.SEARCH and ev.step is Step.PMTU
    assert dict(ev.values) == {"method": "udp", "stop": "closed", "ok": 1372, "bad": 1373,
                               "how": "lost", "losses": 3, "hinted": False, "low": 576,
                               "high": 1500, "probes": r.probes, "rounds": r.rounds}
    assert describe(ev) == (f"udp: 1372 delivered, 1373 fails (lost 3 times, no ICMP) "
                            f"({r.probes} probes in {r.rounds} rounds)")


def test_icmp_signalled_mtu_is_exact_in_two_rounds() -> None:
    r = run(SimPath(1372), batch=24)
    assert (r.largest_ok, r.smallest_bad, r.exact, r.signalled, r.icmp_mtu) == (
        1372, 1373, True, True, 1372)
    assert r.rounds <= 2
    assert (r.stop, r.failed_how) == (StopReason.CLOSED, FailedHow.ICMP)
    assert "1372 delivered, 1373 fails (signalled by ICMP)" in describe(
        search_evidence(r, Step.PMTU))


def test_rate_limited_icmp_still_signalled_and_exact() -> None:
    r = run(SimPath(1372, burst=6, refill=0), batch=24)
    assert (r.largest_ok, r.exact, r.signalled) == (1372, True, True)


def test_healthy_path_stops_at_high() -> None:
    r = run(SimPath(1500))
    assert (r.largest_ok, r.smallest_bad, r.exact, r.signalled) == (1500, None, True, False)
    assert r.rounds == 1
    assert r.stop is StopReason.HIGH_DELIVERED and r.failed_how is None
    assert describe(search_evidence(r, Step.PMTU)) == (
        f"the largest size (1500) was delivered ({r.probes} probes in 1 round)")


def test_silent_target_never_yields_a_black_hole() -> None:
    r = run(SimPath(1500, silent=True), parallel_retries=True)
    assert r.largest_ok is None and r.smallest_bad is None and not r.exact
    assert r.stop is StopReason.TARGET_SILENT
    assert r.rounds <= 2
    assert "(576) was never answered: target silent or filtered" in describe(
        search_evidence(r, Step.PMTU))


def test_low_itself_too_big() -> None:
    r = run(SimPath(500), low=576)
    assert r.largest_ok is None and r.smallest_bad == 576 and not r.exact
    assert (r.stop, r.failed_how) == (StopReason.LOW_FAILS, FailedHow.ICMP)
    assert describe(search_evidence(r, Step.PMTU)).startswith(
        "even the smallest size (576) fails (signalled by ICMP)")


def test_reset_without_hint_is_not_signalled() -> None:
    r = run(SimPath(1300, hint=0))  # hint 0 means "no hint" for the engine
    assert (r.largest_ok, r.smallest_bad, r.signalled) == (1300, 1301, False)
    assert (r.stop, r.failed_how) == (StopReason.CLOSED, FailedHow.REFUSED)


def test_local_emsgsize_is_proof_but_not_icmp() -> None:
    r = run(SimPath(1500, local_mtu=1400))
    assert (r.largest_ok, r.smallest_bad, r.exact, r.signalled) == (1400, 1401, True, False)
    assert r.failed_how is FailedHow.LOCAL
    assert "1400 delivered, 1401 fails (refused locally)" in describe(
        search_evidence(r, Step.PMTU))


def test_wrong_low_hint_is_checked_not_trusted() -> None:
    r = run(SimPath(1400, hint=1280))
    assert (r.largest_ok, r.exact) == (1400, True)


def test_budget_exhausted_reports_lower_bound() -> None:
    r = run(SimPath(1372, icmp=False), max_probes=20)
    assert r.probes <= 20
    assert r.largest_ok is not None and r.largest_ok <= 1372
    assert not r.exact
    assert r.stop is StopReason.PROBE_BUDGET
    assert describe(search_evidence(r, Step.PMTU, "tcp")).startswith(
        f"tcp: probe budget spent: {r.largest_ok} is the proven lower bound")


def test_no_duplicates_without_parallel_retries() -> None:
    path = SimPath(1372, icmp=False)
    s = SizeSearch(576, 1500)
    while sizes := s.next_batch():
        assert len(sizes) == len(set(sizes))
        s.feed(path.round(sizes))
    assert s.result().largest_ok == 1372


def test_first_round_probes_low_and_plateaus() -> None:
    s = SizeSearch(576, 1500, batch=24)
    first = s.next_batch()
    assert first[0] == 576
    assert {p for p in PLATEAUS if 576 < p <= 1500} <= set(first)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        SizeSearch(1500, 576)
    with pytest.raises(ValueError):
        SizeSearch(576, 1500, batch=1)


# -- properties ---------------------------------------------------------------------------

LOW, HIGH = 576, 1500


@settings(max_examples=300, deadline=None)
@given(mtu=st.integers(LOW, HIGH), icmp=st.booleans(), batch=st.integers(2, 32),
       parallel=st.booleans(), burst=st.one_of(st.none(), st.integers(0, 8)))
def test_deterministic_paths_are_exact(mtu: int, icmp: bool, batch: int, parallel: bool,
                                       burst: int | None) -> None:
    r = run(SimPath(mtu, icmp=icmp, burst=burst, refill=0), batch=batch,
            parallel_retries=parallel, max_probes=400, max_rounds=60)
    assert r.largest_ok == mtu
    assert r.exact
    assert r.smallest_bad == (None if mtu == HIGH else mtu + 1)


@settings(max_examples=300, deadline=None)
@given(mtu=st.integers(LOW, HIGH), icmp=st.booleans())
def test_default_budget_is_exact_on_deterministic_paths(mtu: int, icmp: bool) -> None:
    """With the defaults pmtu uses (batch 24, parallel retries) the budget suffices."""
    r = run(SimPath(mtu, icmp=icmp), batch=24, parallel_retries=True)
    assert (r.largest_ok, r.exact) == (mtu, True)
    assert r.probes <= 100 and r.rounds <= 6


@settings(max_examples=300, deadline=None)
@given(mtu=st.integers(LOW, HIGH), icmp=st.booleans(), loss=st.floats(0.0, 0.5),
       seed=st.integers(0, 2**32), burst=st.one_of(st.none(), st.integers(0, 8)),
       hint=st.one_of(st.none(), st.integers(0, 2000)), batch=st.integers(2, 32),
       max_probes=st.integers(1, 120), max_rounds=st.integers(1, 15),
       parallel=st.booleans())
def test_never_above_truth_and_bounded(mtu: int, icmp: bool, loss: float, seed: int,
                                       burst: int | None, hint: int | None, batch: int,
                                       max_probes: int, max_rounds: int,
                                       parallel: bool) -> None:
    path = SimPath(mtu, icmp=icmp, loss=loss, seed=seed, burst=burst, hint=hint)
    r = run(path, batch=batch, max_probes=max_probes, max_rounds=max_rounds,
            parallel_retries=parallel)
    assert r.largest_ok is None or LOW <= r.largest_ok <= mtu
    assert r.probes == len(path.sent) <= max_probes
    assert r.rounds <= max_rounds
    if r.exact:
        assert r.largest_ok is not None
    if r.smallest_bad is not None and r.largest_ok is not None:
        assert r.smallest_bad > r.largest_ok


def test_a_limit_pointed_at_is_confirmed_in_one_round() -> None:
    # mss after pmtu proved 1372: the edge and every attempt above it in round 1.
    r = run(SimPath(1372, icmp=False), 41, 1500, batch=16, retries=3, parallel_retries=True,
            first=(1372, 1373))
    assert (r.largest_ok, r.smallest_bad, r.exact, r.rounds) == (1372, 1373, True, 1)
    # pmtu's way down from the proven way-up limit.
    r = run(SimPath(1372, icmp=False), 1372, 1500, batch=24, retries=2, parallel_retries=True,
            first=(1373,))
    assert (r.largest_ok, r.exact, r.rounds) == (1372, True, 1)
    # Pointed at the wrong size, the search still finds the truth.
    r = run(SimPath(1400, icmp=False), 41, 1500, batch=16, retries=3, parallel_retries=True,
            first=(1372, 1373))
    assert (r.largest_ok, r.exact) == (1400, True)


@settings(max_examples=300, deadline=None)
@given(mtu=st.integers(LOW, HIGH), icmp=st.booleans(), loss=st.floats(0.0, 0.5),
       seed=st.integers(0, 2**32), parallel=st.booleans(), retries=st.integers(1, 4),
       first=st.lists(st.integers(0, 2000), max_size=4))
def test_sizes_pointed_at_never_push_above_truth(mtu: int, icmp: bool, loss: float, seed: int,
                                                 parallel: bool, retries: int,
                                                 first: list[int]) -> None:
    path = SimPath(mtu, icmp=icmp, loss=loss, seed=seed)
    r = run(path, batch=16, parallel_retries=parallel, retries=retries, first=tuple(first))
    assert r.largest_ok is None or LOW <= r.largest_ok <= mtu
    assert r.probes == len(path.sent) <= 100
    if loss == 0.0:
        exact = run(SimPath(mtu, icmp=icmp), batch=16, parallel_retries=parallel,
                    retries=retries, first=tuple(first), max_probes=400, max_rounds=60)
        assert (exact.largest_ok, exact.exact) == (mtu, True)


@settings(max_examples=200, deadline=None)
@given(mtu=st.integers(LOW, HIGH), hint=st.integers(0, 3000), icmp_seed=st.integers(0, 9))
def test_wrong_hints_never_break_exactness(mtu: int, hint: int, icmp_seed: int) -> None:
    r = run(SimPath(mtu, hint=hint, seed=icmp_seed), batch=24, max_probes=400,
            max_rounds=60)
    assert (r.largest_ok, r.exact) == (mtu, True)


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32), parallel=st.booleans())
def test_silent_target_never_concludes(seed: int, parallel: bool) -> None:
    r = run(SimPath(HIGH, silent=True, seed=seed), parallel_retries=parallel)
    assert r.largest_ok is None and r.smallest_bad is None
    assert r.probes <= 100


def _feed(s: SizeSearch, results: dict[int, ProbeOutcome]) -> None:
    s.feed(ProbeResult(n, o) for n, o in sorted(results.items()))


def test_conflicting_delivery_is_retracted_and_the_search_goes_on() -> None:
    """A write above a failure was answered (relayed in pieces): the failure wins."""
    s = SizeSearch(536, 1460, retries=1, batch=12, retract_conflicts=True)
    d, lost = ProbeOutcome.DELIVERED, ProbeOutcome.LOST
    _feed(s, {536: d, 1300: d, 1360: lost, 1450: d, 1460: lost})
    assert s.largest_ok == 1300
    limit = 1328
    while sizes := s.next_batch():
        assert all(n < 1360 for n in sizes)
        s.feed(ProbeResult(n, d if n <= limit else lost) for n in sizes)
    r = s.result()
    assert (r.largest_ok, r.smallest_bad, r.exact, r.retracted) == (1328, 1329, True, (1450,))


def test_without_retraction_the_conflict_is_ignored() -> None:
    s = SizeSearch(536, 1460, retries=1, batch=12)
    _feed(s, {536: ProbeOutcome.DELIVERED, 1360: ProbeOutcome.LOST,
              1450: ProbeOutcome.DELIVERED})
    assert s.largest_ok == 1450 and s.result().retracted == ()


def test_a_failure_below_every_delivery_retracts_nothing() -> None:
    """A reset of the smallest size while larger ones cross is an outlier, not a floor."""
    s = SizeSearch(536, 1460, retries=1, batch=12, retract_conflicts=True)
    _feed(s, {536: ProbeOutcome.TOO_BIG, 1000: ProbeOutcome.DELIVERED,
              1460: ProbeOutcome.DELIVERED})
    assert s.largest_ok == 1460 and s.result().retracted == ()


def _run_with_flukes(s: SizeSearch, limit: int, splits: set[int]) -> SearchResult:
    """Sizes up to ``limit`` cross; each size in ``splits`` is answered the first time it is
    sent (relayed in leg 1's pieces), lost afterwards."""
    tried: set[int] = set()
    while sizes := s.next_batch():
        out = []
        for n in sizes:
            fluke = n in splits and n not in tried
            tried.add(n)
            out.append(ProbeResult(n, ProbeOutcome.DELIVERED if n <= limit or fluke
                                   else ProbeOutcome.LOST))
        s.feed(out)
    return s.result()


@given(st.integers(600, 1459), st.sets(st.integers(601, 1460), max_size=30),
       st.integers(4, 16))
@settings(max_examples=200)
def test_retraction_keeps_every_answer_below_the_failures(limit: int, splits: set[int],
                                                          batch: int) -> None:
    """Sizes above the limit may be answered once (relayed in pieces); whatever the
    engine then concludes, it never keeps a delivery above a failure it proved."""
    s = SizeSearch(536, 1460, retries=1, batch=batch, max_rounds=12, retract_conflicts=True)
    r = _run_with_flukes(s, limit, splits)
    assert r.largest_ok is not None
    if r.smallest_bad is not None:
        assert r.largest_ok < r.smallest_bad
    if r.exact and r.largest_ok < 1460:
        assert (r.largest_ok, r.smallest_bad) == (limit, limit + 1) or r.largest_ok in splits


LEG1_SEGMENT = 1288   # a write above this reached the proxy in pieces (leg 1 clamped to 1300)


def test_an_answer_above_leg1s_segment_is_repeated_and_a_failed_repeat_withdraws_it() -> None:
    """The article's lab on a loaded machine: the proxy relayed a 1329-byte write in
    leg 1's pieces once, so it was answered; sent again it fails, and 1328 is the limit."""
    s = SizeSearch(536, 1460, retries=1, batch=12, retract_conflicts=True,
                   confirm_above=LEG1_SEGMENT)
    d, lost = ProbeOutcome.DELIVERED, ProbeOutcome.LOST
    _feed(s, {536: d, 1300: d, 1329: d, 1330: lost})
    assert not s.done, "one answer above leg 1's segment is not trusted"
    assert s.next_batch() == [536, 1329, 1329]   # a trusted control probe, then the repeats
    limit = 1328
    while sizes := s.next_batch():
        s.feed(ProbeResult(n, d if n <= limit else lost) for n in sizes)
    r = s.result()
    assert (r.largest_ok, r.smallest_bad, r.exact, r.stop) == (1328, 1329, True,
                                                              StopReason.CLOSED)
    assert (r.unrepeated, r.retracted) == ((1329,), ())


def test_a_repeated_answer_closes_the_bracket_and_sizes_below_need_no_repeat() -> None:
    d, lost = ProbeOutcome.DELIVERED, ProbeOutcome.LOST
    s = SizeSearch(536, 1460, retries=1, batch=12, confirm_above=LEG1_SEGMENT)
    _feed(s, {536: d, 1328: d, 1329: lost})
    assert s.next_batch() == [536, 1328, 1328]
    _feed(s, {536: d, 1328: d})   # the two repeats: one size, one result each
    s.feed([ProbeResult(536, d), ProbeResult(1328, d), ProbeResult(1328, d)])
    assert s.done and s.result().exact and s.result().unrepeated == ()
    below = SizeSearch(536, 1460, retries=1, batch=12, confirm_above=LEG1_SEGMENT)
    _feed(below, {536: d, 1200: d, 1201: lost})
    assert below.done and below.result().exact


def test_a_repeat_lost_in_a_dead_round_proves_nothing() -> None:
    d, lost = ProbeOutcome.DELIVERED, ProbeOutcome.LOST
    s = SizeSearch(536, 1460, retries=1, batch=12, confirm_above=LEG1_SEGMENT)
    _feed(s, {536: d, 1328: d, 1329: lost})
    s.feed([ProbeResult(536, lost), ProbeResult(1328, lost), ProbeResult(1328, lost)])
    assert s.largest_ok == 1328 and not s.done
    assert s.next_batch() == [536, 1328, 1328]   # the same repeats: nothing was counted


def test_an_answer_not_repeated_in_time_is_not_reported() -> None:
    """Never over-report: when the rounds run out first, the largest trusted size is the
    (lower-bound) answer and the lone answer above it is named."""
    d, lost = ProbeOutcome.DELIVERED, ProbeOutcome.LOST
    s = SizeSearch(536, 1460, retries=1, batch=12, max_rounds=1, confirm_above=LEG1_SEGMENT)
    _feed(s, {536: d, 1200: d, 1460: d})
    r = s.result()
    assert s.done and (r.largest_ok, r.exact, r.stop) == (1200, False, StopReason.ROUND_LIMIT)
    assert r.unrepeated == (1460,)
    s2 = SizeSearch(536, 1460, retries=1, batch=12, max_rounds=2, confirm_above=LEG1_SEGMENT)
    _feed(s2, {536: d, 1460: d})
    s2.feed([ProbeResult(536, d), ProbeResult(1460, d), ProbeResult(1460, lost)])
    r2 = s2.result()
    assert (r2.largest_ok, r2.smallest_bad, r2.unrepeated) == (536, 1460, (1460,))


@given(st.integers(600, 1459), st.sets(st.integers(LEG1_SEGMENT + 1, 1460), max_size=30),
       st.integers(4, 16))
@settings(max_examples=300)
def test_one_split_answer_never_raises_the_limit(limit: int, splits: set[int],
                                                 batch: int) -> None:
    """Any size above leg 1's segment may be answered once (relayed in pieces); with
    repeats the engine never reports more than the limit, and a closed bracket is exact."""
    s = SizeSearch(536, 1460, retries=1, batch=batch, max_rounds=12, max_probes=100,
                   retract_conflicts=True, confirm_above=LEG1_SEGMENT)
    r = _run_with_flukes(s, limit, splits)
    assert r.largest_ok is not None and r.largest_ok <= limit, (r, limit)
    if r.exact:
        assert (r.largest_ok, r.smallest_bad) == (limit, limit + 1)
    assert all(n in splits or n <= limit for n in r.unrepeated)   # a fluke, or not yet repeated


# -- the one search driver ------------------------------------------------------------------

class FakeClock:
    """Time advances only when a probe round 'takes' it."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_drive_runs_the_search_to_the_end_and_reports_each_round() -> None:
    path, clock = SimPath(1372, icmp=False), FakeClock()
    seen: list[list[int]] = []

    def probe(sizes: list[int]) -> list[ProbeResult]:
        clock.now += 0.5
        return path.round(sizes)

    r = drive(SizeSearch(576, 1500, batch=24, parallel_retries=True), probe, budget_s=30,
              clock=clock, on_round=lambda s, sizes: seen.append(sizes))
    assert (r.largest_ok, r.smallest_bad, r.exact, r.stop) == (1372, 1373, True,
                                                               StopReason.CLOSED)
    assert len(seen) == r.rounds and sum(map(len, seen)) == r.probes == len(path.sent)
    assert r.duration_s == 0.5 * r.rounds


def test_drive_stops_at_the_time_budget_with_a_lower_bound() -> None:
    path, clock = SimPath(1372, icmp=False), FakeClock()

    def probe(sizes: list[int]) -> list[ProbeResult]:
        clock.now += 2.0
        return path.round(sizes)

    r = drive(SizeSearch(576, 1500, batch=4), probe, budget_s=3.0, clock=clock)
    assert r.stop is StopReason.TIME_BUDGET and not r.exact
    assert r.rounds == 2   # started at 0 and 2 s; the third would start after 4 s
    assert r.largest_ok is not None and r.largest_ok <= 1372
    assert describe(search_evidence(r, Step.TUNNEL)).startswith("time budget spent: ")


def test_drive_stops_when_a_probe_aborts() -> None:
    calls: list[int] = []

    def probe(sizes: list[int]) -> list[ProbeResult]:
        calls.append(len(sizes))
        if len(calls) == 2:
            raise Aborted
        return [ProbeResult(n, ProbeOutcome.DELIVERED if n <= 1300 else ProbeOutcome.LOST)
                for n in sizes]

    r = drive(SizeSearch(576, 1500), probe, budget_s=30, clock=FakeClock())
    assert len(calls) == 2 and r.rounds == 1
    assert r.stop is StopReason.ABORTED and not r.exact
    assert r.largest_ok == 1300


def test_drive_accepts_rounds_where_some_probes_proved_nothing() -> None:
    """A probe function leaves out sizes it could not test (e.g. an untested tunnel)."""
    def probe(sizes: list[int]) -> list[ProbeResult]:
        return [ProbeResult(n, ProbeOutcome.DELIVERED if n <= 1400 else ProbeOutcome.TOO_BIG)
                for n in sizes if n % 7]

    r = drive(SizeSearch(576, 1500, max_rounds=30, max_probes=400), probe, budget_s=30,
              clock=FakeClock())
    assert r.largest_ok is not None and r.largest_ok <= 1400
    assert r.smallest_bad is None or r.smallest_bad > 1400


def _stopped(stop: StopReason) -> SearchResult:
    return SearchResult(largest_ok=1300, smallest_bad=1301, exact=False, icmp_mtu=None,
                        signalled=False, probes=5, rounds=2, stop=stop,
                        failed_how=FailedHow.LOST, losses=3, low=576, high=1500)


@pytest.mark.parametrize("stop", list(StopReason))
def test_every_stop_reason_has_its_own_sentence(stop: StopReason) -> None:
    text = describe(search_evidence(_stopped(stop), Step.PMTU))
    assert text.endswith("(5 probes in 2 rounds)") and "?" not in text and "None" not in text
    others = {describe(search_evidence(_stopped(s), Step.PMTU)) for s in StopReason}
    assert len(others) == len(StopReason)
