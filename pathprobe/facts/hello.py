"""What the ClientHello checks observe (issue 19): is a size limit on leg 2 up a path MTU,
or something that reads ClientHellos and drops (or resets) the large ones?

Made by ``pathprobe.hellos`` (tunnel probes), judged by ``pathprobe.hello_rules``;
sentences in ``pathprobe.render.evidence.hello``. ``HelloFact`` is shared with the
capture side (``analyze``), which sees the same fault from the wire.
"""

from __future__ import annotations

from dataclasses import dataclass

from pathprobe.compat import StrEnum
from pathprobe.facts.tunnel import Outcome


class HelloShape(StrEnum):
    """One way of sending ClientHello bytes; each value is stable (evidence ``shape``)."""

    ONE_RECORD = "one-record"        # one ClientHello record in one write (the size search)
    FRAGMENTED = "fragmented"        # the same byte count, the message over small records
    SPLIT_WRITES = "split-writes"    # the same record cut in two TCP writes
    PQ = "post-quantum"              # X25519MLKEM768 + X25519 key shares, ~1.8 KB
    CLASSIC = "classic"              # X25519 only, 517 bytes


class HelloProfile(StrEnum):
    """Which realistic hellos ``tunnel --hello`` (and diagnose) send."""

    PQ = "pq"
    CLASSIC = "classic"
    BOTH = "both"
    NONE = "none"

    def shapes(self) -> tuple[HelloShape, ...]:
        return {HelloProfile.PQ: (HelloShape.PQ,), HelloProfile.CLASSIC: (HelloShape.CLASSIC,),
                HelloProfile.BOTH: (HelloShape.PQ, HelloShape.CLASSIC),
                HelloProfile.NONE: ()}[self]


class HelloFact(StrEnum):
    """What the hello checks can observe; each value is stable (JSON `facts[].fact`)."""

    SHAPE_ANSWERED = "hello-shape-answered"    # {shape}: {size} B in {records} records, {writes}
    SHAPE_FAILED = "hello-shape-failed"        # ... got {how} (acked: whether the proxy took it)
    SHAPE_UNTESTED = "hello-shape-untested"    # {shape} could not be sent: {detail}
    SIZE_RULED_OUT = "hello-size-ruled-out"    # {size}-byte segments cross unless they start
                                               # a ClientHello record that large
    THRESHOLD = "hello-threshold"              # records > {ok} B {how}; {crossed} B segments cross
    PATH_LIMIT = "hello-path-limit"            # every one-segment shape stops at {size}: a size
    CONTENT_NOT_RULED_OUT = "hello-content-not-ruled-out"  # the shapes could not tell: {why}
    PROXY_ANSWERS_HELLOS = "hello-proxy-answers"  # the proxy decrypts: hellos test leg 1 only
    PROXY_OWN_HELLO = "hello-proxy-own"        # the proxy's own upstream hello: what its
                                               # certificate and the POST bodies show
    OWN_HELLO_SUSPECTED = "hello-proxy-own-suspected"  # no certificate, every hello unanswered:
                                                       # a dead leg 2, or the proxy's own hello


@dataclass(frozen=True)
class ShapeResult:
    """What happened to one shape: its bytes, how it was written, and the answer."""

    shape: HelloShape
    size: int                    # bytes written (TCP payload in total)
    records: int                 # TLS records it was made of
    writes: int                  # TCP writes it was sent in
    outcome: Outcome
    elapsed_s: float = 0.0
    acked: bool | None = None    # did the proxy acknowledge every byte (it crossed leg 1)?
    detail: str = ""

    @property
    def answered(self) -> bool:
        return self.outcome is Outcome.ANSWERED

    @property
    def tested(self) -> bool:
        return self.outcome not in (Outcome.UNTESTED, Outcome.NO_TUNNEL)
