"""The ClientHello checks on leg 2 up (issue 19): size or content, and post-quantum hellos.

Two checks, both through fresh CONNECT tunnels to the target, run from
``pathprobe.tunnel``:

- ``rule_out_content``: after the size search found a limit with ClientHello
  probes, the same byte count in other shapes (``pathprobe.hello_rules``
  decides what they prove). Only run when there is a limit: a healthy run pays
  nothing for it.
- ``start_profile`` / ``judge_profile``: a realistic post-quantum hello and a
  classic one ("will a post-quantum handshake through this proxy work?"), sent
  beside the size search so their waits overlap it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from pathprobe.facts.hello import HelloProfile, HelloShape, ShapeResult
from pathprobe.facts.tunnel import ConnectError, Outcome
from pathprobe.hello_rules import differential, profile_row, profile_verdict, with_profile
from pathprobe.model import (
    Direction,
    Leg,
    LegReport,
    LegSizes,
    Progress,
    ProxyConfig,
    Verdict,
    VerdictCode,
)
from pathprobe.probes import tunnel as io
from pathprobe.probes.hello import send_shape
from pathprobe.tunnel_rules import header_range
from pathprobe.wire import tls
from pathprobe.wire.hostport import HostPort

MAX_FRAGMENT = 256   # records of the fragmented shape: far below any hello limit searched


@dataclass(frozen=True)
class HelloTarget:
    """Where the hellos go and how: the tunnel's far end, its name (SNI), leg 1's limit."""

    proxy: ProxyConfig
    target: HostPort
    auth: io.Authenticator
    host: str
    maxseg: int | None
    timeout: float


def _send(t: HelloTarget, shape: HelloShape, writes: Sequence[bytes]) -> ShapeResult:
    r = send_shape(t.proxy, t.target, t.auth, shape, writes, t.timeout, t.maxseg)
    if isinstance(r, ConnectError):
        size = sum(len(w) for w in writes)
        return ShapeResult(shape, size, 0, len(writes), Outcome.NO_TUNNEL, detail=r.detail)
    return r


def _shape_writes(shape: HelloShape, size: int, host: str) -> list[bytes]:
    if shape is HelloShape.FRAGMENTED:
        return [tls.fragmented(size, host, max_fragment=MAX_FRAGMENT)]
    if shape is HelloShape.SPLIT_WRITES:
        return list(tls.split_writes(tls.client_hello(size, host), size // 2))
    if shape is HelloShape.PQ:
        return [tls.pq_client_hello(host)]
    if shape is HelloShape.CLASSIC:
        return [tls.classic_client_hello(host)]
    return [tls.client_hello(size, host)]


def run_shapes(t: HelloTarget, jobs: Sequence[tuple[HelloShape, int]]) -> list[ShapeResult]:
    """Each (shape, size) through its own tunnel, all at once (their waits overlap); the
    size is ignored by the realistic hellos, which have their own."""
    if not jobs:
        return []
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        return list(pool.map(lambda j: _send(t, j[0], _shape_writes(j[0], j[1], t.host)),
                             jobs))


def start_shapes(pool: ThreadPoolExecutor, t: HelloTarget, size: int
                 ) -> Future[list[ShapeResult]]:
    """The shapes at ``size`` (the largest write leg 1 carries whole), beside the size
    search: if it finds a limit at or below ``size`` they are already answered (or not), and
    a healthy run pays two quick tunnels for them."""
    return pool.submit(run_shapes, t, [(HelloShape.FRAGMENTED, size),
                                       (HelloShape.SPLIT_WRITES, size)])


def rule_out_content(t: HelloTarget, size: Verdict, row: LegReport, progress: Progress,
                     family: int | None, timestamps: bool | None, full_segment: int,
                     leg1_segment: int | None = None, early: Sequence[ShapeResult] = ()
                     ) -> tuple[Verdict, LegReport]:
    """Before a size verdict on leg 2 up is stated: the failing byte count (or more) in the
    shapes that tell a path MTU from a hello reader; the verdict and row they prove.
    ``early``: the shapes ``start_shapes`` sent beside the search, used when they were at
    least as large as the failing write."""
    bad = size.write_failed
    assert bad is not None
    if early and all(r.size >= bad for r in early):
        return differential(size, early, row, family, timestamps, leg1_segment)
    progress(f"leg 2 up: {bad} bytes failed as one ClientHello; the same bytes in other shapes "
             f"(size or content?), at most {t.timeout:.1f} s")
    jobs = [(HelloShape.FRAGMENTED, bad), (HelloShape.SPLIT_WRITES, bad)]
    if full_segment > bad:
        # The same at a full segment: other bytes that cross in writes that large.
        jobs.append((HelloShape.FRAGMENTED, full_segment))
    results = run_shapes(t, jobs)
    return differential(size, results, row, family, timestamps, leg1_segment)


def start_profile(pool: ThreadPoolExecutor, t: HelloTarget, which: HelloProfile
                  ) -> Future[list[ShapeResult]] | None:
    """The realistic hellos, in the background (None when none were asked for)."""
    jobs = [(shape, 0) for shape in which.shapes()]
    return pool.submit(run_shapes, t, jobs) if jobs else None


def _up_sizes(legs: Sequence[LegReport]) -> list[LegSizes]:
    """The sizes of leg 2 up's rows measured so far."""
    return [row.sizes for row in legs
            if row.name is Leg.PROXY_UPSTREAM and row.direction is Direction.UP]


def _largest(values: Iterable[int | None]) -> int | None:
    known = [x for x in values if x is not None]
    return max(known) if known else None


def judge_profile(results: Sequence[ShapeResult], target: str, legs: list[LegReport],
                  verdicts: list[Verdict], *, proxy_answers: bool, hellos_probed: bool,
                  full_segment: int, family: int | None = None,
                  timestamps: bool | None = None) -> Verdict | None:
    """Add the realistic hellos' row, their evidence to a hello verdict already found, or
    a TLS_HELLO_DROPPED of their own when only the post-quantum one fails (in place; that
    one is returned, for its threshold to be searched)."""
    if not results:
        return None
    legs.append(profile_row(results, target, proxy_answers))
    if proxy_answers:
        return None
    for i, v in enumerate(verdicts):
        if v.code is VerdictCode.TLS_HELLO_DROPPED:
            verdicts[i] = with_profile(v, results)
            return None
    if any(v.leg is Leg.PROXY_UPSTREAM and v.direction in (Direction.UP, Direction.BOTH)
           for v in verdicts if v.code is not VerdictCode.HEALTHY
           and v.code is not VerdictCode.PROXY_TLS_INTERCEPTED):
        return None   # a size finding on leg 2 up already explains a lost PQ hello
    up = _up_sizes(legs)
    carried = _largest(x for s in up for x in (s.max_payload, s.payload_at_least, s.max_segment))
    # What reached the far end in one segment (the reflector's largest, else a whole write).
    seen = _largest(s.max_segment for s in up)
    segment = seen or carried
    packet = segment + header_range(family, timestamps)[0] if segment is not None else None
    found = profile_verdict(results, carried, carried if hellos_probed else None,
                            full_segment, packet, seen)
    if found is not None:
        verdicts.append(found)
    return found


__all__ = ["HelloTarget", "judge_profile", "rule_out_content",
           "run_shapes", "start_profile"]
