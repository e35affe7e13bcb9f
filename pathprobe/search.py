"""Sans-IO size search: the engine behind `pmtu`, the tunnel and the MSS probes.

The engine proposes batches of sizes to probe in parallel and is fed what
happened to each probe. It never touches sockets or clocks, so every rule
(verify ``low`` first, plateau table, byte-exact bracket, RFC 8899 retries,
ICMP hints that only ever lower the bound) is unit- and property-tested.

Caller loop::

    s = SizeSearch(low, high)
    while (sizes := s.next_batch()):
        s.feed(probe_all(sizes))        # one ProbeResult per size, same order
    answer = s.result()

Each ``feed`` call is one round. A round in which nothing at all was
delivered is "dead": its losses prove nothing (the target or the path may
just be down), so they are not counted against any size. To keep rounds
alive, every batch after the first carries a *control* probe at the largest
size already proven delivered. Sizes are sent in ascending order so that a
router's limited ICMP budget is spent on the sizes that matter most.

Never over-report: ``largest_ok`` is always a size that was really
delivered; when the bracket cannot be closed the result says why.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

from pathprobe.compat import StrEnum, pairwise
from pathprobe.facts.search import SearchFact
from pathprobe.model import Evidence, Step

# RFC 1191 plateaus plus the tunnel overheads engineers meet (field-notes.md).
PLATEAUS: tuple[int, ...] = (
    1500, 1492, 1480, 1476, 1472, 1460, 1454, 1450, 1436, 1420, 1400, 1380,
    1360, 1300, 1280, 1006, 576, 508, 296, 68,
)


class ProbeOutcome(StrEnum):
    DELIVERED = "delivered"        # answered: the size crossed the path
    TOO_BIG = "too-big"            # definitive failure (ICMP frag-needed/PTB, TCP reset): no retry
    LOCAL_TOO_BIG = "local-too-big"  # EMSGSIZE from our own stack (local MTU/cached PMTU)
    LOST = "lost"                  # no answer in time: maybe loss, maybe black hole -> retried


@dataclass(frozen=True)
class ProbeResult:
    size: int
    outcome: ProbeOutcome
    next_hop_mtu: int | None = None   # MTU hint from ICMP (already checked against the quote)


class StopReason(StrEnum):
    """Why a search stopped: the typed reason a report's sentence is made from."""

    CLOSED = "closed"                  # largest_ok + 1 fails: byte-exact
    HIGH_DELIVERED = "high-delivered"  # the largest size tested crossed
    LOW_FAILS = "low-fails"            # even the smallest size fails
    TARGET_SILENT = "target-silent"    # the smallest size was never answered
    PROBE_BUDGET = "probe-budget"      # max_probes spent: largest_ok is a lower bound
    ROUND_LIMIT = "round-limit"        # max_rounds reached: a lower bound
    TIME_BUDGET = "time-budget"        # the driver's time budget spent: a lower bound
    NOTHING_LEFT = "nothing-left"      # no size left to probe inside the budget
    ABORTED = "aborted"                # the caller stopped it (e.g. the tunnel broke)
    NOT_STARTED = "not-started"


class FailedHow(StrEnum):
    """How the smallest failing size was proven to fail."""

    ICMP = "icmp"          # TOO_BIG carrying a next-hop MTU hint
    REFUSED = "refused"    # TOO_BIG without a hint (e.g. a TCP reset)
    LOCAL = "local"        # EMSGSIZE from our own stack
    LOST = "lost"          # lost in `retries` live rounds, or once and covered by an ICMP hint


@dataclass(frozen=True)
class SearchResult:
    largest_ok: int | None      # largest size proven delivered (None: nothing delivered)
    smallest_bad: int | None    # smallest size proven failing (TOO_BIG or LOST after all retries)
    exact: bool                 # closed: smallest_bad == largest_ok + 1, or largest_ok == high
    icmp_mtu: int | None        # smallest valid next-hop MTU hint seen
    signalled: bool             # the failure above largest_ok was ICMP-signalled (hint)
    probes: int                 # probes consumed
    rounds: int
    stop: StopReason            # why the search stopped (why not exact, when it is not)
    failed_how: FailedHow | None = None   # how smallest_bad failed
    losses: int = 0             # times smallest_bad was lost (when failed_how is LOST)
    low: int = 0                # the searched range
    high: int = 0
    retracted: tuple[int, ...] = ()   # deliveries withdrawn: a smaller size failed
    unrepeated: tuple[int, ...] = ()  # answered once, then failed or not repeated: not trusted
    duration_s: float = 0.0     # wall time, when a driver ran it


_ICMP, _REFUSED, _LOCAL, _LOST = FailedHow.ICMP, FailedHow.REFUSED, FailedHow.LOCAL, \
    FailedHow.LOST


class SizeSearch:
    """Find the largest size in [low, high] that crosses a path, in few parallel rounds.

    ``retries`` is RFC 8899's MAX_PROBES: a size that gets no answer is proven
    failing after this many attempts in live rounds (a single loss suffices
    when a valid ICMP hint already says the size is too big). With
    ``parallel_retries`` the remaining attempts for the bracket's edge are
    sent as duplicate sizes in one batch (one round instead of several); off
    by default because callers must then accept repeated sizes in a batch.

    With ``retract_conflicts`` a delivery above a size proven failing is
    withdrawn (when a smaller delivery keeps a floor) and the search goes on
    below the failure: for paths where a large write may cross in pieces that
    would not cross whole (a proxy relaying leg 1's segments as they come),
    so delivery is weaker evidence than failure.

    With ``confirm_above`` the answer, when above that size (e.g. leg 1's
    segment, so the write reached the proxy in pieces), must be delivered
    ``confirmations`` more times before the bracket counts as closed: one
    answer may be a race in the proxy's reads that relayed the pieces as they
    came. A repeat that fails withdraws the delivery (a failure outranks it)
    and the search goes on below.

    ``first`` are sizes another measurement points at (e.g. a path MTU a previous
    step proved, and the size above it): probed in the first round, before the
    plateaus (with ``parallel_retries``, every attempt at once), so a limit
    confirmed there needs no second round.
    """

    def __init__(self, low: int, high: int, *, plateaus: Sequence[int] = PLATEAUS,
                 first: Sequence[int] = (),
                 max_probes: int = 100, max_rounds: int = 12, retries: int = 3,
                 batch: int = 16, parallel_retries: bool = False,
                 retract_conflicts: bool = False, confirm_above: int | None = None,
                 confirmations: int = 2) -> None:
        if low < 1 or high < low:
            raise ValueError(f"need 1 <= low <= high, got low={low} high={high}")
        if batch < 2 or max_probes < 1 or max_rounds < 1 or retries < 1 or confirmations < 0:
            raise ValueError("batch >= 2, max_probes >= 1, max_rounds >= 1, retries >= 1, "
                             "confirmations >= 0")
        self.low = low
        self.high = high
        self.plateaus = tuple(sorted({p for p in plateaus if low < p <= high}))
        self.first = tuple(sorted({p for p in first if low < p <= high}))
        self.max_probes = max_probes
        self.max_rounds = max_rounds
        self.retries = retries
        self.batch = batch
        self.parallel_retries = parallel_retries
        self.retract_conflicts = retract_conflicts
        self.confirm_above = confirm_above
        self.confirmations = confirmations
        self._retracted: set[int] = set()
        self._unrepeated: set[int] = set()     # answered, then failed when probed again
        self._ok: set[int] = set()
        self._answers: dict[int, int] = {}     # size -> times delivered
        self._bad: dict[int, FailedHow] = {}         # size -> how it was proven failing
        self._lost: dict[int, int] = {}        # size -> losses counted in live rounds
        self._low_losses = 0                   # losses of `low` in any round (target silent?)
        self._hints: list[tuple[int, int]] = []  # (probe size, next-hop MTU) from valid ICMP
        self._probes = 0
        self._rounds = 0
        self._stop: StopReason | None = None

    # -- derived state ---------------------------------------------------------------

    @property
    def largest_ok(self) -> int | None:
        return max(self._ok) if self._ok else None

    def _smallest_bad(self, floor: int | None) -> int | None:
        """The smallest size proven failing above ``floor`` (a delivery)."""
        bad = [s for s in self._bad if floor is None or s > floor]
        return min(bad) if bad else None

    @property
    def _probed(self) -> set[int]:
        """Sizes with a counted result (a loss in a dead round does not count)."""
        return self._ok | set(self._bad) | set(self._lost)

    def _valid_hints(self) -> list[int]:
        """Hints not contradicted by a delivery above them."""
        floor = self.largest_ok
        return [h for _, h in self._hints if floor is None or h >= floor]

    def _hint_covers(self, size: int) -> bool:
        return any(h < size for h in self._valid_hints())

    def _needs_confirming(self, size: int) -> bool:
        return self.confirm_above is not None and size > self.confirm_above

    def _repeats_missing(self) -> int:
        """Deliveries the answer still needs before it is trusted (0: none)."""
        ok = self.largest_ok
        if ok is None or not self._needs_confirming(ok):
            return 0
        return max(0, 1 + self.confirmations - self._answers.get(ok, 0))

    def _bracketed(self) -> bool:
        ok = self.largest_ok
        bad = self._smallest_bad(ok)
        if ok is None:
            return bad is not None and bad <= self.low
        return ok >= self.high or (bad is not None and bad == ok + 1)

    def _closed(self) -> bool:
        return self._bracketed() and self._repeats_missing() == 0

    @property
    def done(self) -> bool:
        if self._stop is not None or self._closed():
            return True
        if self._probes >= self.max_probes or self._rounds >= self.max_rounds:
            return True
        return self.largest_ok is None and self._low_losses >= self.retries

    # -- planning --------------------------------------------------------------------

    def _spread(self, lo: int, hi: int, k: int, seeds: Iterable[int],
                taken: Iterable[int] = ()) -> list[int]:
        """Up to k unprobed sizes in (lo, hi) besides ``taken`` (already picked this round),
        plateaus first, then halving the widest gaps."""
        if k <= 0 or hi - lo <= 1:
            return []
        probed = self._probed | set(taken)
        unknown = [s for s in range(lo + 1, hi) if s not in probed]
        if len(unknown) <= k:
            return unknown
        chosen = sorted({s for s in seeds if lo < s < hi and s not in probed})
        if len(chosen) > k:  # an even selection of the seeds, keeping the largest
            n = len(chosen)
            chosen = sorted({chosen[n - 1 - (i * (n - 1)) // max(1, k - 1)] for i in range(k)})
        while len(chosen) < k:
            edges = [lo, *chosen, hi]
            gap, a, b = max((b - a, a, b) for a, b in pairwise(edges))
            if gap <= 1:
                break
            mid = (a + b) // 2
            # Step off a probed size (e.g. a pending loss) onto the nearest unprobed one.
            cand = next((m for m in (mid, mid + 1, mid - 1) if a < m < b
                         and m not in probed and m not in chosen), None)
            if cand is None:
                cand = next((m for m in range(a + 1, b)
                             if m not in probed and m not in chosen), None)
            if cand is None:
                break
            chosen = sorted({*chosen, cand})
        return chosen

    def next_batch(self) -> list[int]:
        """Sizes to probe now, in parallel, ascending; [] when done."""
        if self.done:
            return []
        budget = self.max_probes - self._probes
        ok = self.largest_ok
        if ok is None and self._rounds > 0:
            # Nothing delivered yet after the first round: only re-verify `low`.
            copies = self.retries - self._low_losses if self.parallel_retries else 1
            return [self.low] * max(1, min(copies, budget))

        if ok is not None and self._bracketed():
            return self._confirmation_batch(ok, budget)
        lo = ok if ok is not None else self.low
        bad = self._smallest_bad(ok)
        hi = bad if bad is not None else self.high + 1
        pending = sorted(s for s in self._lost if lo < s < hi and s not in self._bad)
        edge = pending[0] if pending else hi

        trusted = self._trusted_ok()
        # `low` in round 1, the control probe afterwards: a size already trusted, so that a
        # round whose other probes all fail still counts.
        picks: list[int] = [trusted if trusted is not None else lo]
        room = min(self.batch, budget) - 1
        # ICMP hints: probe the claimed MTU and the size just above it.
        for h in sorted(set(self._valid_hints())):
            for s in (h, h + 1):
                if lo < s < edge and s not in self._probed and s not in picks and room > 0:
                    picks.append(s)
                    room -= 1
        for s in self.first:
            if lo < s < edge and s not in self._probed and s not in picks and room > 0:
                # Pointed at, so likely the edge: all its attempts at once when allowed.
                copies = min(room, self.retries if self.parallel_retries else 1)
                picks.extend([s] * copies)
                room -= copies
        searched = self._spread(lo, edge, room, (*self.plateaus, self.high), picks)
        if searched:
            picks.extend(searched)
        elif pending and room > 0 and len(picks) == 1:
            # The bracket's edge is the only unknown: retry it.
            need = self.retries - self._lost[edge] if self.parallel_retries else 1
            picks.extend([edge] * max(1, min(need, room)))
        if len(picks) == 1 and ok is not None:
            # Nothing left to learn inside the budget (should be rare).
            self._stop = StopReason.NOTHING_LEFT
            return []
        return sorted(picks[: max(1, budget)])

    def _confirmation_batch(self, ok: int, budget: int) -> list[int]:
        """The answer again, beside a control probe below it that keeps the round live."""
        control = self._trusted_ok()
        picks = [control] if control is not None and control < ok else []
        picks += [ok] * min(self._repeats_missing(), max(1, budget - len(picks)))
        return sorted(picks[: max(1, budget)])

    # -- results ---------------------------------------------------------------------

    def feed(self, results: Iterable[ProbeResult]) -> None:
        """Record one round of results (one per probe sent)."""
        batch = list(results)
        self._rounds += 1
        self._probes += len(batch)
        live = any(r.outcome is ProbeOutcome.DELIVERED for r in batch)
        # A failed repeat outranks an answer (this round's or an earlier one).
        answered = {r.size for r in batch if r.outcome is ProbeOutcome.DELIVERED} | set(
            self._answers)
        failed = {r.size for r in batch if r.outcome is not ProbeOutcome.DELIVERED
                  and (live or r.outcome is not ProbeOutcome.LOST)
                  and self._needs_confirming(r.size) and r.size in answered}
        self._ok -= failed
        self._unrepeated |= failed
        for r in batch:
            if r.outcome is ProbeOutcome.DELIVERED:
                self._answers[r.size] = self._answers.get(r.size, 0) + 1
                if r.size not in failed:
                    self._ok.add(r.size)
                    self._lost.pop(r.size, None)
            elif r.outcome is ProbeOutcome.TOO_BIG:
                hint = r.next_hop_mtu
                if hint is not None and 0 < hint < r.size:
                    self._hints.append((r.size, hint))
                    self._bad.setdefault(r.size, _ICMP)
                else:
                    self._bad.setdefault(r.size, _REFUSED)
            elif r.outcome is ProbeOutcome.LOCAL_TOO_BIG:
                self._bad.setdefault(r.size, _LOCAL)
            else:
                if r.size == self.low:
                    self._low_losses += 1
                if live:
                    self._lost[r.size] = self._lost.get(r.size, 0) + 1
        # Losses become proof: after `retries` live losses, or one when a hint covers it.
        for size, n in self._lost.items():
            if size in self._ok or size in self._bad:
                continue
            if n >= self.retries or self._hint_covers(size):
                self._bad[size] = _LOST
        if self.retract_conflicts:
            self._retract()

    def _retract(self) -> None:
        """Withdraw deliveries above the smallest failure that has a delivery below it."""
        for fail in sorted(self._bad):
            above = {s for s in self._ok if s > fail}
            if not above:
                return
            if any(s < fail for s in self._ok):
                self._ok -= above
                self._retracted |= above
                return

    def stop(self, why: StopReason) -> None:
        """End the search early (time budget, a broken tunnel ...); result() says why."""
        self._stop = why

    def _trusted_ok(self) -> int | None:
        """The largest delivery that needs no repeat or had its repeats (never one answer
        that might have crossed in the proxy's pieces)."""
        if self._repeats_missing() == 0:
            return self.largest_ok
        kept = [s for s in self._ok if not self._needs_confirming(s)
                or self._answers.get(s, 0) > self.confirmations]
        return max(kept) if kept else None

    def result(self) -> SearchResult:
        ok = self._trusted_ok()
        bad = self._smallest_bad(ok)
        hints = self._valid_hints()
        icmp_mtu = min(hints) if hints else None
        how = self._bad[bad] if bad is not None else None
        signalled = bad is not None and (
            how is _ICMP or (how is _LOST and self._hint_covers(bad)))
        exact = self._closed() and ok is not None
        unrepeated = (self._unrepeated - self._ok) | {s for s in self._ok
                                                      if ok is None or s > ok}
        return SearchResult(largest_ok=ok, smallest_bad=bad, exact=exact, icmp_mtu=icmp_mtu,
                            signalled=signalled, probes=self._probes, rounds=self._rounds,
                            stop=self._stop_reason(ok, bad), failed_how=how,
                            losses=self._lost.get(bad, self.retries) if bad is not None else 0,
                            low=self.low, high=self.high,
                            retracted=tuple(sorted(self._retracted - self._ok - unrepeated)),
                            unrepeated=tuple(sorted(unrepeated)))

    def _stop_reason(self, ok: int | None, bad: int | None) -> StopReason:
        if ok is None:
            if bad is not None and bad <= self.low:
                return StopReason.LOW_FAILS
            if self._low_losses:
                return StopReason.TARGET_SILENT
            return self._stop or StopReason.NOT_STARTED
        confirmed = ok == self.largest_ok and self._repeats_missing() == 0
        if ok >= self.high and confirmed:
            return StopReason.HIGH_DELIVERED
        if bad is not None and bad == ok + 1 and confirmed:
            return StopReason.CLOSED
        if self._stop is not None:
            return self._stop
        if self._probes >= self.max_probes:
            return StopReason.PROBE_BUDGET
        if self._rounds >= self.max_rounds:
            return StopReason.ROUND_LIMIT
        return StopReason.NOT_STARTED


def search_evidence(r: SearchResult, step: Step, method: str | None = None) -> Evidence:
    """The search's result as an evidence item (its sentence is made in render)."""
    return Evidence(SearchFact.SEARCH, step, {
        "method": method, "stop": r.stop.value, "ok": r.largest_ok, "bad": r.smallest_bad,
        "how": r.failed_how.value if r.failed_how else None, "losses": r.losses,
        "hinted": r.signalled and r.failed_how is FailedHow.LOST, "low": r.low, "high": r.high,
        "probes": r.probes, "rounds": r.rounds})


class Aborted(Exception):
    """Raised by a driver's probe function to stop the search (the result says ABORTED)."""


BatchProber = Callable[[list[int]], Sequence[ProbeResult]]
RoundReport = Callable[[SizeSearch, list[int]], None]


def drive(search: SizeSearch, probe: BatchProber, *, budget_s: float,
          clock: Callable[[], float] = time.monotonic,
          on_round: RoundReport | None = None) -> SearchResult:
    """The one search loop of pmtu, mss and tunnel: batches until done, the time budget
    or an ``Aborted`` probe. ``probe`` returns one result per size it could test (a
    probe that proved nothing is left out); ``on_round`` sees each finished round."""
    t0 = clock()
    while sizes := search.next_batch():
        if clock() - t0 > budget_s:
            search.stop(StopReason.TIME_BUDGET)
            break
        try:
            results = probe(sizes)
        except Aborted:
            search.stop(StopReason.ABORTED)
            break
        search.feed(results)
        if on_round is not None:
            on_round(search, sizes)
    return replace(search.result(), duration_s=clock() - t0)
