"""Leg 2 down: the reflector's sized replies, or the large answer over TLS and ranged
plain-HTTP answers beside it, and how they are judged (``pathprobe.tunnel`` runs it)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace

from pathprobe.facts.http_range import RangeFact, RangeUnmeasured
from pathprobe.facts.interception import InterceptionFact
from pathprobe.facts.tunnel import (
    ConnectError,
    ConnectFailure,
    Download,
    SizedProbe,
    TunnelFact,
)
from pathprobe.interception import (
    proxy_refusal,
)
from pathprobe.model import (
    Direction,
    Evidence,
    Number,
    Step,
    UnmeasuredReason,
    Verdict,
    VerdictCode,
)
from pathprobe.probes import tunnel as io
from pathprobe.probes.http_range import range_get
from pathprobe.range_rules import (
    RANGE_PATH,
    RANGE_PORT,
    judge_discovery,
    lower_bound,
    not_a_size,
    not_possible,
    range_verdict,
    to_sized,
)
from pathprobe.timeouts import IDLE_WAIT, TUNNEL_WAIT
from pathprobe.tunnel_rules import (
    DOWN_LOW,
    DOWN_MAXSEG,
    PAYLOAD_HIGH,
    SizeFinding,
    answer_too_small,
    download_leg,
    download_verdict,
    has_down_size_verdict,
    size_leg,
    size_verdict,
)
from pathprobe.tunnel_session import (
    DOWNLOAD_LIMIT,
    RANGED_GRACE_S,
    Broken,
    Run,
    SearchOutcome,
    Session,
    search_direction,
)
from pathprobe.wire.http_get import absolute_url


@dataclass(frozen=True)
class _RangeSizing:
    """Leg 2 down sized with ranged plain-HTTP answers (no reflector): the object's URL,
    and the search, or why there is none."""

    url: str
    total: int | None = None
    sized: SearchOutcome | None = None
    why: RangeUnmeasured | None = None
    values: dict[str, Number] = field(default_factory=dict)
    crossed: int | None = None     # the largest answer that came whole, trusted or not


@dataclass(frozen=True)
class DownProbes:
    """What the down direction's probes brought back."""

    sized: SearchOutcome | None            # the reflector's sized replies
    download: Download | ConnectError      # one large answer over TLS
    ranged: _RangeSizing | None = None     # ranged plain-HTTP answers (without a reflector)


def down_probes(s: Session) -> DownProbes:
    """The down direction's probes: sized replies (reflector), or ranged plain-HTTP answers
    beside it, and one large answer."""
    sized = None
    if s.reflector is not None:
        far, far_auth = s.far, s.far_auth()

        def probe(n: int, t: float) -> SizedProbe:
            return io.probe_reflector_down(s.proxy, far, far_auth, n, s.token, t, DOWN_MAXSEG,
                                           s.tls_name)
        sized = search_direction(probe, DOWN_LOW, PAYLOAD_HIGH, s.progress, "leg 2 down",
                        s.round1_timeout())
        if sized.broken is not None:
            return DownProbes(sized, sized.broken)
        return DownProbes(sized, _download(s))
    # No reflector: the ranged answers only sharpen a down-direction finding. They start
    # when the large answer showed trouble, or had not come whole within RANGED_GRACE_S (then
    # their waits overlap the download's); when it came whole they are not waited for (a
    # filtered port 80 must not slow a healthy run): the daemon thread stops at its next
    # round, or is left behind at exit.
    stop, settled = threading.Event(), threading.Event()
    box: list[_RangeSizing | BaseException] = []

    def ranged() -> None:
        settled.wait(RANGED_GRACE_S)
        if stop.is_set():
            return
        try:
            box.append(_range_probes(s, stop))
        except BaseException as e:   # re-raised in the caller's thread, when it waits
            box.append(e)
    worker = threading.Thread(target=ranged, name="pathprobe-ranged", daemon=True)
    worker.start()
    d = _download(s)
    if not isinstance(d, Download) or not (d.stalled or answer_too_small(d)):
        stop.set()
        settled.set()
        return DownProbes(None, d)
    settled.set()
    worker.join()   # bounded by the ranged answers' own waits and the search's budget
    found = box[0] if box else None
    if isinstance(found, BaseException):
        raise found
    return DownProbes(None, d, found)


def _download(s: Session) -> Download | ConnectError:
    s.progress("leg 2 down: reading a large answer through the tunnel")
    return io.download_over_tls(s.proxy, s.target, s.auth, s.host, "/",
                                IDLE_WAIT.wait(s.first.established_s), DOWNLOAD_LIMIT,
                                DOWN_MAXSEG)


def _range_probes(s: Session, stop: threading.Event) -> _RangeSizing:
    """Bisect the size of ranged plain-HTTP answers from the target host's port 80 through
    the proxy (``GET http://host/`` as the FMC sends it); first one byte, which says whether
    the proxy forwards plain HTTP, the upstream honours Range and how large the object is."""
    host = s.host
    url = absolute_url(host, RANGE_PORT, RANGE_PATH)

    def progress(line: str) -> None:   # silent once not needed: the report may be printing
        if not stop.is_set():
            s.progress(line)
    progress(f"leg 2 down: ranged GET {url} through the proxy")
    first = range_get(s.proxy, s.auth, host, RANGE_PORT, 0, 0,
                      IDLE_WAIT.wait(s.first.established_s), DOWN_MAXSEG, RANGE_PATH)
    total, why, values = judge_discovery(first, PAYLOAD_HIGH)
    if why is not None or total is None:
        return _RangeSizing(url, why=why, values=values)
    assert not isinstance(first, ConnectError)

    def probe(n: int, t: float) -> SizedProbe:
        if stop.is_set():   # not needed any more: ends the search like a broken tunnel
            return to_sized(ConnectError(ConnectFailure.NO_RESPONSE, "not needed"), n)
        return to_sized(range_get(s.proxy, s.auth, host, RANGE_PORT, 0, n - 1, t, DOWN_MAXSEG,
                                  RANGE_PATH), n)
    # The one-byte answer crossed both legs: its time sets the first round's wait, as an
    # answered probe's does for the rounds after it.
    sized = search_direction(probe, DOWN_LOW, PAYLOAD_HIGH, progress, "leg 2 down (ranged GET)",
                    TUNNEL_WAIT.wait(first.elapsed_s))
    if sized.broken is not None:
        return _RangeSizing(url, total, why=RangeUnmeasured.NO_ANSWER,
                            values={"detail": sized.broken.detail})
    r = sized.result
    crossed = max([*r.retracted, r.largest_ok or 0]) or None
    if r.retracted:   # our leg-1 MSS is small: nothing else explains a larger answer coming
        return _RangeSizing(url, total, why=RangeUnmeasured.NOT_BY_SIZE, crossed=crossed,
                            values={"sizes": ", ".join(map(str, r.retracted)),
                                    "bad": r.smallest_bad})
    if r.largest_ok is None:
        return _RangeSizing(url, total, why=RangeUnmeasured.LOW_FAILS,
                            values={"low": DOWN_LOW})
    return _RangeSizing(url, total, sized, crossed=crossed)


def judge_down(s: Session, run: Run, probes: DownProbes, answered_up: bool) -> None:
    """Verdicts and rows for the down direction from its probes' results."""
    sized, d = probes.sized, probes.download
    if sized is not None:
        if sized.broken is not None:
            raise Broken(sized.broken)
        answered_up = answered_up or sized.result.largest_ok is not None
        family, stamps = s.shape()
        finding = SizeFinding(Direction.DOWN, sized.result, PAYLOAD_HIGH, sized.failures,
                              f"reflector {s.reflector} (sized replies)", family, stamps)
        run.legs.append(size_leg(str(s.far), finding, None))
        run.add(size_verdict(finding))
    if isinstance(d, ConnectError):
        raise Broken(d)
    if s.proxy_may_terminate and d.head is not None and proxy_refusal(d.head):
        raise Broken.refused_inside_tls(d.head)
    ranged_sized = probes.ranged is not None and probes.ranged.sized is not None
    if answer_too_small(d) and s.reflector is None and not ranged_sized:
        run.not_measured(UnmeasuredReason.ANSWER_TOO_SMALL, target=str(s.target))
    row = download_leg(str(s.target), d)
    if s.proxy_may_terminate:
        row = replace(row, notes=(*row.notes, Evidence(InterceptionFact.DECRYPTED_DOWNLOAD,
                                                       Step.TUNNEL)))
    unsized = _judge_ranged(s, run, probes.ranged)
    if unsized is not None:
        row = replace(row, notes=(*row.notes, unsized))
    run.legs.append(row)
    dv = download_verdict(d, "GET / over TLS", answered_up)
    if dv is not None and unsized is not None and dv.direction is Direction.DOWN:
        dv = replace(dv, evidence=(*dv.evidence, unsized))   # why it is not sized better
    crossed = probes.ranged.crossed if probes.ranged is not None else None
    if dv is not None and dv.code is VerdictCode.PMTU_BLACKHOLE and crossed is not None \
            and crossed >= PAYLOAD_HIGH:
        dv = not_a_size(dv, crossed)   # full-size answers came down: never blame the size
    if dv is not None and dv.direction is None:
        run.not_measured(UnmeasuredReason.FAR_END_SILENT, target=str(s.target))
    if dv is not None and not has_down_size_verdict(run.verdicts):
        run.verdicts.append(dv)
    elif dv is not None and probes.ranged is not None:
        _add_download_evidence(run, dv)


def _judge_ranged(s: Session, run: Run, ranged: _RangeSizing | None) -> Evidence | None:
    """The ranged answers' row and size verdict; the note saying why they sized nothing
    (None when they did, or were not tried)."""
    if ranged is None:
        return None
    if ranged.sized is None:
        assert ranged.why is not None
        return not_possible(ranged.why, ranged.url, ranged.values)
    family, stamps = s.shape()
    method = f"ranged GET {ranged.url}"
    finding = SizeFinding(Direction.DOWN, lower_bound(ranged.sized.result), PAYLOAD_HIGH,
                          ranged.sized.failures, method, family, stamps)
    row = size_leg(ranged.url, finding, None)
    verdict = size_verdict(finding)
    run.legs.append(replace(row, notes=(*row.notes, Evidence(
        RangeFact.OBJECT, Step.TUNNEL, {"url": ranged.url, "total": ranged.total}))))
    if verdict is not None:
        run.add(range_verdict(verdict, ranged.url, ranged.total or 0))
    return None


def _add_download_evidence(run: Run, dv: Verdict) -> None:
    """The ranged answers sized the down direction; the stalled download saw the same fault:
    its stall (facts and numbers) joins that one verdict."""
    for i, v in enumerate(run.verdicts):
        if v.direction is Direction.DOWN and v.code is dv.code:
            stall = tuple(e for e in dv.evidence if e.fact is TunnelFact.DOWNLOAD_STALLED)
            numbers = {k: n for k, n in dv.numbers.items() if k not in v.numbers}
            run.verdicts[i] = replace(v, evidence=(*v.evidence, *stall),
                                      numbers={**v.numbers, **numbers})
            return
