"""The vocabulary every command speaks: verdicts, legs, reports, exit statuses.

Frozen dataclasses and enums only, no I/O. The codes, field names and exit
statuses here are the contracts of ``shared/design.md``; scripts depend on
them, so change them only on purpose (and bump ``SCHEMA``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import ClassVar, Union

from pathprobe.compat import StrEnum, ip_version
from pathprobe.sanitize import MASK
from pathprobe.wire.hostport import HostPort, host_port

SCHEMA = "pathprobe/1"

# The FMC's usual destination; a documented default only (tests always name a lab target).
DEFAULT_TARGET = "tools.cisco.com:443"

Number = Union[int, float, str, None]


class VerdictCode(StrEnum):
    """What was found; stable strings used in JSON, tables and exit status."""

    HEALTHY = "HEALTHY"
    PMTU_REDUCED = "PMTU_REDUCED"
    PMTU_BLACKHOLE = "PMTU_BLACKHOLE"
    MSS_CLAMPED = "MSS_CLAMPED"
    RST_ON_LARGE_SEGMENT = "RST_ON_LARGE_SEGMENT"
    TUNNEL_STALL = "TUNNEL_STALL"
    PROXY_DENIED = "PROXY_DENIED"
    PROXY_AUTH_REQUIRED = "PROXY_AUTH_REQUIRED"
    PROXY_AUTH_UNSUPPORTED = "PROXY_AUTH_UNSUPPORTED"
    PROXY_UPSTREAM_ERROR = "PROXY_UPSTREAM_ERROR"
    PROXY_UNREACHABLE = "PROXY_UNREACHABLE"
    CONNECT_NO_RESPONSE = "CONNECT_NO_RESPONSE"
    PROXY_TLS_INTERCEPTED = "PROXY_TLS_INTERCEPTED"
    PROXY_CONFIG_UNSUPPORTED = "PROXY_CONFIG_UNSUPPORTED"
    TLS_HELLO_DROPPED = "TLS_HELLO_DROPPED"


VERDICT_MEANINGS: Mapping[VerdictCode, str] = {
    VerdictCode.HEALTHY: "nothing wrong found on the measured legs",
    VerdictCode.PMTU_REDUCED: "path MTU below the interface MTU, signalled by ICMP; PMTUD works",
    VerdictCode.PMTU_BLACKHOLE: "packets above a size vanish without ICMP",
    VerdictCode.MSS_CLAMPED: "the MSS arriving differs from the MSS sent",
    VerdictCode.RST_ON_LARGE_SEGMENT: "segments above a size are answered by a TCP reset",
    VerdictCode.TUNNEL_STALL: "the tunnel opens but data stops flowing",
    VerdictCode.PROXY_DENIED: "CONNECT refused (403 and similar)",
    VerdictCode.PROXY_AUTH_REQUIRED: "407 and no usable credentials, or credentials rejected",
    VerdictCode.PROXY_AUTH_UNSUPPORTED: "the proxy offers only schemes the FMC cannot use",
    VerdictCode.PROXY_UPSTREAM_ERROR: "502/503/504 or the proxy could not reach the target",
    VerdictCode.PROXY_UNREACHABLE: "no TCP connection to the proxy",
    VerdictCode.CONNECT_NO_RESPONSE: "CONNECT sent, no HTTP answer",
    VerdictCode.PROXY_TLS_INTERCEPTED: "the proxy terminates TLS (certificate for the target "
                                       "issued by another party)",
    VerdictCode.PROXY_CONFIG_UNSUPPORTED: "a proxy setting the FMC cannot use",
    VerdictCode.TLS_HELLO_DROPPED: "TLS ClientHellos above a size are dropped or reset by "
                                   "something that reads them, while packets of that size "
                                   "cross: not an MTU",
}


class Leg(StrEnum):
    """The TCP legs an explicit proxy splits a path into."""

    FMC_PROXY = "fmc-proxy"
    PROXY_UPSTREAM = "proxy-upstream"
    FMC_UPSTREAM = "fmc-upstream"


class Direction(StrEnum):
    """Up is towards the upstream (away from the FMC); down is back."""

    UP = "up"
    DOWN = "down"
    BOTH = "both"


class Confidence(StrEnum):
    MEASURED = "measured"
    INFERRED = "inferred"


class Severity(StrEnum):
    """How bad a finding is; decided by rule in ``pathprobe.findings``, never by a step."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return (Severity.INFO, Severity.WARNING, Severity.CRITICAL).index(self)


class Step(StrEnum):
    """The measuring step (or analysis) an evidence item comes from."""

    LOCAL = "local"
    PMTU = "pmtu"
    MSS = "mss"
    TUNNEL = "tunnel"
    CAPTURE = "capture"
    DIAGNOSE = "diagnose"


class Basis(StrEnum):
    """Why a finding sits on the leg it sits on (the attribution step decides with these)."""

    # Probes that cross only this leg (DF/ICMP/TCP to the proxy itself): the leg is certain.
    THIS_LEG_ONLY = "this-leg-only"
    # Tunnel probes: the proxy acknowledged the whole lost write, so it crossed leg 1.
    PROXY_ACKED = "proxy-acked"
    # Tunnel probes: the proxy never acknowledged the lost write: lost on leg 1.
    PROXY_NEVER_ACKED = "proxy-never-acked"
    # Tunnel probes: the reset arrived on our own socket to the proxy (leg 1 or the proxy).
    RESET_ON_OUR_SOCKET = "reset-on-our-socket"
    # Down direction in the tunnel: our small advertised MSS kept leg 1's segments small.
    SMALL_MSS_ON_LEG1 = "small-mss-on-leg1"
    # Tunnel probes whose acknowledgement is unknown: leg 1 must be known to carry the size.
    NEEDS_LEG1 = "needs-leg1"
    # An HTTP answer of the proxy, or the proxy's own behaviour.
    PROXY_ANSWER = "proxy-answer"
    # What one capture point sees (captures).
    CAPTURE_POINT = "capture-point"


@dataclass(frozen=True)
class Limit:
    """A size limit a finding proves, in the units it was measured in.

    ``mtu``: the largest IP packet proven to cross; ``max_payload``: the largest
    TCP payload per segment proven to cross; ``pmtu_low``..``pmtu_high``: the
    path MTU range a payload implies when the headers on the leg are unknown.
    ``exact`` False means every number is a proven lower bound, nothing more.
    """

    mtu: int | None = None
    max_payload: int | None = None
    pmtu_low: int | None = None
    pmtu_high: int | None = None
    exact: bool = True

    def fields(self) -> dict[str, int]:
        """The numbers that are known, under their JSON names."""
        out = {"mtu": self.mtu, "max_payload": self.max_payload, "pmtu_low": self.pmtu_low,
               "pmtu_high": self.pmtu_high}
        return {k: v for k, v in out.items() if v is not None}


@dataclass(frozen=True)
class Evidence:
    """One observation a finding (or a leg) rests on. No sentence: ``render`` makes it.

    ``fact`` is a member of one of the enums in ``pathprobe.facts``; ``values``
    holds the numbers and names the sentence needs; ``frames`` the capture
    frame numbers it rests on.
    """

    fact: StrEnum
    step: Step
    values: Mapping[str, Number] = field(default_factory=dict)
    frames: tuple[int, ...] = ()

    def __hash__(self) -> int:
        # findings.merge de-duplicates evidence; the values dict itself is not hashable.
        return hash((self.fact, self.step, tuple(sorted(self.values.items())), self.frames))


class ExitStatus(IntEnum):
    """Process exit statuses (design.md); documented in --help and the man page."""

    HEALTHY = 0
    PROBLEM = 1
    USAGE = 2
    NOT_MEASURED = 3
    INTERNAL = 4
    # Ctrl-C while the CLI was still starting (pathprobe.__main__, which cannot import this).
    INTERRUPTED_EARLY = 130


EXIT_STATUS_HELP = (
    "Exit status: 0 nothing at or above the --fail-on severity (default warning) was found, "
    "1 a finding at or above it, 2 usage error or bad input, 3 could not measure (permissions, "
    "unreachable, interrupted; with the partial report), 4 internal error, 130 interrupted "
    "while still starting (nothing done)."
)


@dataclass(frozen=True)
class HelloSizes:
    """TLS_HELLO_DROPPED's sizes (ClientHello bytes as written): what rules and the
    recommendations read (the JSON names them ``hello_max``, ``hello_dropped_from`` and
    ``record_limit`` in the verdict's ``numbers``)."""

    answered: int | None          # the largest hello proven to be answered
    dropped_from: int | None      # the smallest hello dropped or reset
    record_limit: int | None = None   # the largest TLS record body answered, when known


@dataclass(frozen=True)
class LegSizes:
    """What a leg row proves its path carries, in bytes: what the rules read (the same
    numbers reach the JSON through ``LegReport.measurements`` under their own names).

    ``max_payload``: the largest TCP payload per segment proven (exact);
    ``payload_at_least``: a payload proven to cross when no exact one is known;
    ``max_segment``: the largest segment the far end saw arrive; ``pmtu``, ``pmtu_up``,
    ``pmtu_down``: IP packet sizes proven to cross; ``pmtu_low``: the low end of the PMTU
    range a payload implies.
    """

    max_payload: int | None = None
    payload_at_least: int | None = None
    max_segment: int | None = None
    pmtu: int | None = None
    pmtu_up: int | None = None
    pmtu_down: int | None = None
    pmtu_low: int | None = None

    def mtus(self) -> tuple[int, ...]:
        """The IP packet sizes this row proves to cross."""
        return tuple(x for x in (self.pmtu, self.pmtu_up, self.pmtu_down, self.pmtu_low)
                     if x is not None)

    def merged(self, other: LegSizes) -> LegSizes:
        """Both rows' sizes, this one's first where both know one."""
        return LegSizes(*(a if a is not None else b for a, b in zip(
            dataclasses.astuple(self), dataclasses.astuple(other))))


@dataclass(frozen=True)
class Verdict:
    """One finding: code, leg, direction, the limit and numbers it proves, and its evidence.

    ``severity`` is None until ``pathprobe.findings.assess`` decides it by rule;
    ``basis`` says why the finding is on its leg (typed, for the attribution).
    ``ip_version``, ``leg1_ip_version``, ``hop``, ``target`` and the typed fields after
    ``write_failed`` are what the rules decide on (the same facts reach the JSON through
    ``numbers``, whose keys no rule reads).
    """

    code: VerdictCode
    leg: Leg
    direction: Direction | None = None
    evidence: tuple[Evidence, ...] = ()
    confidence: Confidence = Confidence.MEASURED
    # Other numbers the verdict rests on, e.g. {"mss_sent": 1460, "status": 403}.
    numbers: Mapping[str, Number] = field(default_factory=dict)
    limit: Limit | None = None
    basis: Basis | None = None
    severity: Severity | None = None
    ip_version: IpVersion | None = None        # of the leg's packets (MSS overheads)
    leg1_ip_version: IpVersion | None = None   # tunnel findings: of leg 1, if moved there
    hop: Hop | None = None                     # where the finding was located, if it was
    target: HostPort | None = None             # the CONNECT target it concerns, if one
    write_failed: int | None = None    # tunnel probes: the smallest write that failed (bytes)
    mss_received: int | None = None    # MSS_CLAMPED: the MSS that arrived (TCP payload bytes)
    hello: HelloSizes | None = None    # TLS_HELLO_DROPPED: the hello sizes answered and lost
    our_mss: int | None = None   # tunnel down probes: the MSS we advertised on leg 1 (bytes)
    others_connected: int | None = None   # a capture's refusal: other connections that got in
    connections: int | None = None   # a capture's verdict: the connections it stands for
    target_text: str | None = None   # a capture's CONNECT target as sent (maybe no HOST:PORT)
    plain_http: bool = False   # ... asked for as plain HTTP (GET http://...), not CONNECT
    max_seg_down: int | None = None   # a capture's stall: the largest segment down (bytes)
    full_seg: int | None = None       # ... and a full-size segment's payload there (bytes)
    # A capture's cause not proven: a stall with nothing seen pending (an idle session
    # remains possible), a black hole whose smaller later segments vanished too (a silent
    # receiver or path remains), a reset of the first data seen. Such a verdict is a warning.
    unproven: bool = False
    # A capture's stall whose data (this many bytes) was never acknowledged with nothing
    # smaller crossing first: size is one cause that remains (measure before changing MTUs).
    size_untested: int | None = None
    # A capture verdict's first connection: (client, server), each "address:port".
    endpoints: tuple[HostPort, HostPort] | None = None


@dataclass(frozen=True)
class Recommendation:
    """A concrete change: where, on what platform, the command, how to undo it, and why."""

    where: str
    platform: str
    command: str
    why: str
    rollback: str = ""

    # Line breaks in these mean something (a command of several lines); see sanitize.scrub.
    MULTILINE_FIELDS: ClassVar[frozenset[str]] = frozenset({"command", "why", "rollback"})


@dataclass(frozen=True)
class LegReport:
    """What was measured on one leg (and possibly one direction).

    ``measurements`` holds the leg's numbers under the JSON names of design.md
    (``pmtu``, ``pmtu_method``, ``mss_sent``, ``mss_received``, ``probes``,
    ``max_payload``, ``pmtu_low``, ``pmtu_high`` ...). A value of None means
    "not measured"; ``not_measured`` says why for steps that could not run.
    ``step`` is the step that measured it (a report's ``steps``); the report's
    ``legs`` combine the steps into one row per leg and direction.
    """

    name: Leg
    target: str
    direction: Direction | None = None
    measurements: Mapping[str, Number] = field(default_factory=dict)
    notes: tuple[Evidence, ...] = ()
    not_measured: tuple[str, ...] = ()
    step: Step | None = None
    # The IP version of the leg's packets, when a step resolved its address (not in JSON).
    ip_version: IpVersion | None = None
    # The sizes the row proves, for the rules (in JSON through ``measurements``).
    sizes: LegSizes = field(default_factory=LegSizes)


@dataclass(frozen=True)
class Context:
    """Where a report comes from: what a reader of a change request needs to trust it."""

    tool: str = "pathprobe"
    version: str = ""
    host: str = ""
    argv: tuple[str, ...] = ()        # the command line, secrets removed
    proxy: str | None = None          # http://HOST:PORT, no credentials
    proxy_source: str | None = None   # --proxy | HTTPS_PROXY | iprep_proxy.conf
    target: str | None = None         # HOST:PORT, or the capture file for analyze


@dataclass(frozen=True)
class Report:
    """Everything one command run found; rendered as tables or JSON by ``render``."""

    command: str
    started: str
    duration_s: float
    legs: tuple[LegReport, ...] = ()
    verdicts: tuple[Verdict, ...] = ()
    recommendations: tuple[Recommendation, ...] = ()
    partial: bool = False
    # What could not be measured and why, as the sentences ``render`` made for the JSON
    # and tables (never read back: ``unmeasured`` and ``partial`` decide).
    errors: tuple[str, ...] = ()
    # ... typed: what decides the exit status.
    unmeasured: tuple[Unmeasured, ...] = ()
    # Capture reader notes and similar context lines (analyze).
    notes: tuple[Evidence, ...] = ()
    context: Context = field(default_factory=Context)
    # What each step measured, one row per step, leg and direction (``legs`` combines them).
    steps: tuple[LegReport, ...] = ()

    def exit_status(self, fail_on: Severity = Severity.WARNING) -> ExitStatus:
        """1 for a finding at or above ``fail_on``; 3 when nothing could be concluded
        (or the run was cut short) and nothing failed; else 0."""
        if any(v.severity is not None and v.severity.rank >= fail_on.rank
               and v.code is not VerdictCode.HEALTHY for v in self.verdicts):
            return ExitStatus.PROBLEM
        if self.partial or self.unmeasured or not self.verdicts:
            return ExitStatus.NOT_MEASURED
        return ExitStatus.HEALTHY


class IpVersion(IntEnum):
    """The IP version of a leg (JSON writes the plain number)."""

    V4 = 4
    V6 = 6


@dataclass(frozen=True)
class Target:
    """A host as the user wrote it and the one address probed."""

    host: str         # as the user wrote it
    address: str      # the address probed
    family: int       # socket.AF_INET / AF_INET6

    @property
    def version(self) -> IpVersion:
        return IpVersion(ip_version(self.family))


@dataclass(frozen=True)
class Hop:
    """A router on the path: its address and, when TTL-limited probes found it, how far."""

    address: str
    ttl: int | None = None


@dataclass(frozen=True)
class RouteInfo:
    """What the kernel's route toward a target says (no packet sent to learn it)."""

    source: str
    interface: str | None
    interface_mtu: int | None
    route_mtu: int | None      # what the kernel would use now (cached PMTU or device MTU)
    gateway: str | None = None  # next hop toward the target, None when on-link or unknown


# Progress lines for humans (stderr); measuring code calls it, the CLI decides where it goes.
Progress = Callable[[str], None]


def no_progress(_: str) -> None:
    """The default Progress: say nothing."""


class UnmeasuredReason(StrEnum):
    """Why a step (or one of its methods) measured nothing."""

    PERMISSION = "permission"   # it needs privileges this process lacks
    ERROR = "error"             # it could not run (no route, port not open, send failed ...)
    SILENT = "silent"           # it ran and nothing was delivered
    NOTHING_DELIVERED = "nothing-delivered"   # not even the smallest size crossed
    METHOD_CEILING = "method-ceiling"   # the method cannot send larger (TCP: the peer's MSS)
    LOWER_BOUND = "lower-bound"   # answers were lost: the size is only a lower bound
    SERVICE_RESETS_DATA = "service-resets-data"   # even 1 byte of data is reset
    NOTHING_ACKED = "nothing-acked"   # no data segment was acknowledged
    # Parts of a step (the leg's "not measured" list; they do not decide the exit status):
    RECEIVED_ROUTE_BOUND = "received-route-bound"    # TCP_INFO's MSS is our route's
    RECEIVED_WINDOW_BOUND = "received-window-bound"  # TCP_INFO's MSS is half the window
    NO_TCP_REPAIR = "no-tcp-repair"   # sizes above the negotiated MSS need CAP_NET_ADMIN
    # A diagnose step that could not run at all (``method``: the step, ``cause``: why).
    STEP_FAILED = "step-failed"
    # The tunnel (leg 2 inside the proxy's tunnel):
    REFLECTOR_UNREACHABLE = "reflector-unreachable"   # no tunnel to --reflector
    NOT_A_REFLECTOR = "not-a-reflector"   # its greeting is not ours (or the token is wrong)
    NO_SIZED_WRITE = "no-sized-write"     # the reflector refused every sized connection
    NO_ANSWER_UP = "no-answer-up"         # even the smallest write got no answer
    POSTS_INCOMPLETE = "posts-incomplete"   # TLS through a decrypting proxy never completed
    ANSWER_TOO_SMALL = "answer-too-small"   # the target's answer is too small to size down
    FAR_END_SILENT = "far-end-silent"       # nothing answered through the tunnel at all


@dataclass(frozen=True)
class Attempt:
    """One method tried without an answer: its search (evidence), or the probe's message."""

    method: str
    search: Evidence | None = None
    message: str = ""           # the probe's or the OS's own one-line message


@dataclass(frozen=True)
class Unmeasured:
    """A step that could not measure (part of) what it is for: why, typed.

    It decides the exit status (3) and keeps HEALTHY out; ``render.unmeasured``
    makes the sentence, naming the running command's own flags.
    """

    step: Step
    reason: UnmeasuredReason
    target: str | None = None   # the address that did not answer
    method: str | None = None
    size: int | None = None     # bytes: the smallest size tried, or the method's ceiling
    mtu: int | None = None      # bytes proven to cross
    cause: str = ""             # the probe's or the OS's own one-line message
    tried: tuple[Attempt, ...] = ()
    non_tls: bool = False       # the far end answered with bytes that are not TLS
    echoed: bool = False        # our own bytes came back (the tunnel echoes)


@dataclass(frozen=True)
class Interrupted:
    """A run cut short by Ctrl-C: the step it stopped, when one was named (its sentence is
    made in ``render.unmeasured``)."""

    during: str | None = None


@dataclass(frozen=True)
class Measurement:
    """What one measuring step (pmtu, mss, tunnel ...) produced; diagnose combines several.

    A step that could not measure something says so in ``unmeasured`` (typed; the
    sentence is made in ``render``) and never raises for it.
    """

    legs: tuple[LegReport, ...] = ()
    verdicts: tuple[Verdict, ...] = ()
    # What the step could not measure and why: decides the exit status, and the command
    # layer adds the hint that names its own flags ("rerun as root", "give --port").
    unmeasured: tuple[Unmeasured, ...] = ()
    # What the step noticed besides findings and legs (the report's notes).
    notes: tuple[Evidence, ...] = ()


def healthy_unless(problems: Iterable[Verdict], leg: Leg, evidence: Iterable[Evidence],
                   direction: Direction = Direction.BOTH,
                   confidence: Confidence = Confidence.MEASURED) -> tuple[Verdict, ...]:
    """The problems found, or a single HEALTHY verdict for ``leg`` when there are none."""
    found = tuple(problems)
    if found:
        return found
    return (Verdict(VerdictCode.HEALTHY, leg, direction, tuple(evidence), confidence),)


@dataclass(frozen=True)
class Credentials:
    """A proxy user and password; the password never appears in repr or str."""

    user: str
    password: str = field(repr=False)

    def __repr__(self) -> str:
        return f"Credentials(user={self.user!r}, password={MASK!r})"

    __str__ = __repr__


@dataclass(frozen=True)
class ProxyConfig:
    """An explicit HTTP proxy and where its address came from."""

    host: str
    port: int
    source: str  # "--proxy", "HTTPS_PROXY", "https_proxy", or the FMC file path
    # user:password@ found in a proxy URL (environment variables often carry them).
    credentials: Credentials | None = None
    # What the FMC could not use in this setting (ProxyConfigFact evidence), see config_findings.
    problems: tuple[Evidence, ...] = ()

    @property
    def display(self) -> str:
        return f"http://{host_port(self.host, self.port)}"
