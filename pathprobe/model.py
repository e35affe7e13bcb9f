"""The vocabulary every command speaks: verdicts, legs, reports, exit statuses.

Frozen dataclasses and enums only, no I/O. The codes, field names and exit
statuses here are the contracts of ``shared/design.md``; scripts depend on
them, so change them only on purpose (and bump ``SCHEMA``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum

SCHEMA = "pathprobe/1"

# The FMC's usual destination; a documented default only (tests always name a lab target).
DEFAULT_TARGET = "tools.cisco.com:443"

Number = int | float | str | None


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


class ExitStatus(IntEnum):
    """Process exit statuses (design.md); documented in --help and the man page."""

    HEALTHY = 0
    PROBLEM = 1
    USAGE = 2
    NOT_MEASURED = 3
    INTERNAL = 4


EXIT_STATUS_HELP = (
    "Exit status: 0 healthy, 1 a problem was found (any verdict other than HEALTHY), "
    "2 usage error, 3 could not measure (permissions, unreachable, interrupted), "
    "4 internal error."
)


@dataclass(frozen=True)
class Verdict:
    """One finding, with the numbers and evidence it rests on."""

    code: VerdictCode
    leg: str
    direction: Direction | None = None
    evidence: tuple[str, ...] = ()
    confidence: Confidence = Confidence.MEASURED
    # The numbers the verdict rests on, e.g. {"mtu": 1372, "mss_sent": 1460}.
    numbers: Mapping[str, Number] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "code": self.code.value,
            "leg": self.leg,
            "direction": self.direction.value if self.direction else None,
        }
        out.update(self.numbers)
        out["evidence"] = list(self.evidence)
        out["confidence"] = self.confidence.value
        return out


@dataclass(frozen=True)
class Recommendation:
    """A concrete change: where to make it, on what platform, the command, and why."""

    where: str
    platform: str
    command: str
    why: str

    def to_json(self) -> dict[str, object]:
        return {"where": self.where, "platform": self.platform,
                "command": self.command, "why": self.why}


@dataclass(frozen=True)
class LegReport:
    """What was measured on one leg (and possibly one direction).

    ``measurements`` holds the leg's numbers under the JSON names of design.md
    (``pmtu``, ``pmtu_method``, ``mss_sent``, ``mss_received``, ``probes``,
    ``max_payload``, ``pmtu_low``, ``pmtu_high`` ...). A value of None means
    "not measured"; ``not_measured`` says why for steps that could not run.
    """

    name: str
    target: str
    direction: Direction | None = None
    measurements: Mapping[str, Number] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    not_measured: tuple[str, ...] = ()

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"name": self.name, "target": self.target}
        if self.direction is not None:
            out["direction"] = self.direction.value
        out.update(self.measurements)
        if self.notes:
            out["notes"] = list(self.notes)
        if self.not_measured:
            out["not_measured"] = list(self.not_measured)
        return out


@dataclass(frozen=True)
class Report:
    """Everything one command run found; rendered as tables or JSON."""

    command: str
    started: str
    duration_s: float
    legs: tuple[LegReport, ...] = ()
    verdicts: tuple[Verdict, ...] = ()
    recommendations: tuple[Recommendation, ...] = ()
    summary: str = ""
    partial: bool = False
    # Steps that could not run at all (permissions, unreachable) and why.
    errors: tuple[str, ...] = ()

    @property
    def problems(self) -> tuple[Verdict, ...]:
        return tuple(v for v in self.verdicts if v.code is not VerdictCode.HEALTHY)

    def exit_status(self) -> ExitStatus:
        """1 when anything is wrong; 3 when nothing could be concluded; else 0."""
        if self.problems:
            return ExitStatus.PROBLEM
        if self.partial or self.errors or not self.verdicts:
            return ExitStatus.NOT_MEASURED
        return ExitStatus.HEALTHY

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "schema": SCHEMA,
            "command": self.command,
            "started": self.started,
            "duration_s": round(self.duration_s, 3),
            "summary": self.summary,
            "partial": self.partial,
            "legs": [leg.to_json() for leg in self.legs],
            "verdicts": [v.to_json() for v in self.verdicts],
            "recommendations": [r.to_json() for r in self.recommendations],
        }
        if self.errors:
            out["errors"] = list(self.errors)
        return out


# Progress lines for humans (stderr); measuring code calls it, the CLI decides where it goes.
Progress = Callable[[str], None]


def no_progress(_: str) -> None:
    """The default Progress: say nothing."""


@dataclass(frozen=True)
class Measurement:
    """What one measuring step (pmtu, mss, tunnel ...) produced; diagnose combines several."""

    legs: tuple[LegReport, ...] = ()
    verdicts: tuple[Verdict, ...] = ()
    errors: tuple[str, ...] = ()
    summary: str = ""

    def to_report(self, command: str, started: str, duration_s: float,
                  recommendations: tuple[Recommendation, ...] = (),
                  partial: bool = False) -> Report:
        return Report(command=command, started=started, duration_s=duration_s, legs=self.legs,
                      verdicts=self.verdicts, recommendations=recommendations,
                      summary=self.summary, partial=partial, errors=self.errors)


def healthy_unless(problems: Iterable[Verdict], leg: str, evidence: Iterable[str]) -> tuple[
        Verdict, ...]:
    """The problems found, or a single HEALTHY verdict for ``leg`` when there are none."""
    found = tuple(problems)
    if found:
        return found
    return (Verdict(VerdictCode.HEALTHY, leg, Direction.BOTH, tuple(evidence)),)
