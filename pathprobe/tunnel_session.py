"""What one leg-2 measurement shares between its steps: the bounded size search of one
direction, the run's gathered legs and verdicts, and the session after the first CONNECT
(``pathprobe.tunnel`` runs the steps, ``pathprobe.tunnel_down`` the down direction)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from pathprobe.facts.hello import ShapeResult
from pathprobe.facts.interception import InterceptionFact
from pathprobe.facts.tunnel import (
    ConnectError,
    ConnectFailure,
    Outcome,
    SizedProbe,
)
from pathprobe.model import (
    Credentials,
    Evidence,
    LegReport,
    Measurement,
    Progress,
    ProxyConfig,
    Step,
    Unmeasured,
    UnmeasuredReason,
    Verdict,
)
from pathprobe.probes import tunnel as io
from pathprobe.probes.tunnel import Tunnel
from pathprobe.search import Aborted, ProbeResult, SearchResult, SizeSearch, drive
from pathprobe.tunnel_rules import (
    consistent,
    first_round_timeout,
    leg2_shape,
    next_timeout,
    to_probe_result,
)
from pathprobe.wire import http_connect as hc
from pathprobe.wire.hostport import HostPort
from pathprobe.wire.reflector_protocol import Hello

REFLECTOR_TOKEN_ENV = "PATHPROBE_REFLECTOR_TOKEN"
BATCH = 12
MAX_PROBES = 60
MAX_ROUNDS = 8
SEARCH_BUDGET_S = 30.0   # one direction's search never runs longer than this
CONNECT_TIMEOUT_S = 5.0
DOWNLOAD_LIMIT = 1 << 20
# The large answer over TLS usually comes whole within this on a healthy path; after it the
# ranged plain-HTTP answers start beside it (their rounds then overlap its idle wait).
RANGED_GRACE_S = 0.25

Prober = Callable[[int, float], SizedProbe]


@dataclass(frozen=True)
class SearchOutcome:
    """One direction's search and what the probes showed beside the sizes."""

    result: SearchResult
    failures: dict[int, Outcome]
    max_segment: int | None
    acked: dict[int, bool | None]
    broken: ConnectError | None = None
    wait: float = 0.0     # the last round's wait, fitted to the answers seen


def search_direction(prober: Prober, low: int, high: int, progress: Progress, label: str,
            timeout: float, leg1_segment: int | None = None) -> SearchOutcome:
    """Bisect one direction with ``search.drive``; the tunnel breaking aborts it. An answer
    above leg 1's segment reached the proxy in pieces, so it is repeated before it is
    trusted (the proxy may have relayed the pieces as they came, once)."""
    s = SizeSearch(low, high, retries=1, batch=BATCH, max_probes=MAX_PROBES,
                   max_rounds=MAX_ROUNDS, retract_conflicts=True, confirm_above=leg1_segment)
    answered: list[float] = []
    delivered: set[int] = set()
    segments: list[int] = []
    failures: dict[int, Outcome] = {}
    acked: dict[int, bool | None] = {}
    split: set[int] = set()      # sizes once answered in leg 1's pieces (re-probed)
    broken: list[ConnectError] = []
    wait = [timeout]

    with ThreadPoolExecutor(max_workers=BATCH) as pool:
        def probe_batch(sizes: list[int]) -> list[ProbeResult]:
            progress(f"{label}: probing {len(sizes)} sizes {sizes[0]}..{sizes[-1]} "
                     f"(timeout {wait[0]:.1f} s)")
            probes = list(pool.map(lambda n, t=wait[0]: prober(n, t), sizes))
            err = next((p.connect_error for p in probes if p.connect_error), None)
            if err is not None:
                broken.append(err)
                raise Aborted
            results: list[ProbeResult] = []
            for p in probes:
                r = to_probe_result(p, leg1_segment, p.size in split)
                if r is None:
                    progress(f"{label}: {p.size} not tested ({p.detail}); not counted")
                    continue
                results.append(r)
                if p.outcome is Outcome.ANSWERED:
                    answered.append(p.elapsed_s)
                    if p.segment is not None:
                        segments.append(p.segment)
                    if r.size == p.size:
                        delivered.add(p.size)
                    else:
                        split.add(p.size)
                        delivered.add(r.size)
                else:
                    failures[p.size] = p.outcome
                    acked[p.size] = p.acked
            wait[0] = next_timeout(answered, wait[0])
            return [r for r in results if low <= r.size <= high]

        result = drive(s, probe_batch, budget_s=SEARCH_BUDGET_S)
    return SearchOutcome(consistent(result, delivered, failures), failures,
                         max(segments) if segments else None, acked,
                         broken[0] if broken else None, wait[0])


@dataclass
class Run:
    """What one measure_tunnel run has gathered so far (legs, verdicts, what it could not
    measure)."""

    legs: list[LegReport]
    verdicts: list[Verdict] = field(default_factory=list)
    unmeasured: list[Unmeasured] = field(default_factory=list)

    def add(self, verdict: Verdict | None) -> None:
        if verdict is not None:
            self.verdicts.append(verdict)

    def measurement(self) -> Measurement:
        return Measurement(tuple(self.legs), tuple(self.verdicts),
                           unmeasured=tuple(self.unmeasured))

    def not_measured(self, reason: UnmeasuredReason, target: str, cause: str = "") -> None:
        self.unmeasured.append(Unmeasured(Step.TUNNEL, reason, target, cause=cause))


class Broken(Exception):
    """A later tunnel could not be opened (or the proxy refused inside a decrypted session):
    the run ends with the proxy's verdict."""

    def __init__(self, err: ConnectError, *evidence: Evidence) -> None:
        super().__init__(err.detail)
        self.err = err
        self.evidence = evidence

    @classmethod
    def refused_inside_tls(cls, head: hc.ConnectResponse) -> Broken:
        """A decrypting proxy's 200 to CONNECT, then its own refusal inside TLS."""
        return cls(ConnectError(ConnectFailure.STATUS, f"{head.status} {head.reason[:200]}".strip(),
                                head),
                   Evidence(InterceptionFact.REFUSED_INSIDE_TLS, Step.TUNNEL,
                            {"status": head.status}))


@dataclass
class Session:
    """Everything the steps after the first CONNECT share."""

    proxy: ProxyConfig
    target: HostPort
    credentials: Credentials | None
    auth: io.Authenticator
    first: Tunnel
    progress: Progress
    token: str | None
    # Leg 1's proven payload per segment up (from pmtu): the up probes' segments stay
    # within it, so their writes cross leg 1 and what fails is leg 2's.
    leg1_payload: int | None = None
    reflector: HostPort | None = None
    tls_name: str | None = None
    hello: Hello | None = None
    ca_file: str | None = None
    # The TLS session may end at the proxy (the interception check): no ClientHello sizes.
    proxy_may_terminate: bool = False
    tls_stalled: bool = False    # the check's handshake got no certificate in time
    # The size-or-content shapes sent beside the up search (hellos.start_shapes).
    shapes: Future[list[ShapeResult]] | None = None
    hello_evidence: tuple[Evidence, ...] = ()   # the realistic hellos that crossed leg 2
    check_s: float = 0.0
    # The check's time when the target itself answered it (not a decrypting proxy): an
    # answer over both legs, as an answered probe is.
    answered_s: float | None = None
    # What leg 2 up showed when it was measured with POST bodies (for HEALTHY's evidence).
    up_evidence: Evidence | None = None

    @property
    def host(self) -> str:
        return self.target.host

    @property
    def far(self) -> HostPort:
        """Where the sized probes go: the reflector when it answered, else the target."""
        return self.reflector or self.target

    def far_auth(self) -> io.Authenticator:
        """An authenticator for the far end that shares the proxy's nonce and its count."""
        return self.auth.for_target(self.far)

    def round1_timeout(self) -> float:
        """The first round's wait: from the check's answer when the target answered it (as
        the rounds after it wait from their answers), else from the CONNECT alone."""
        return first_round_timeout(self.first.connect_s, self.answered_s)

    def shape(self) -> tuple[int | None, bool | None]:
        return leg2_shape(self.far.host, self.hello)

