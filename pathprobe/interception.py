"""Does the proxy terminate TLS? And what does leg 2 carry when it does? Pure.

One real TLS handshake with the target through the tunnel (SNI = the target's
name, I/O in ``pathprobe.probes.tls_check``) yields a ``TlsCheck``: whether the
chain verified against the system store (plus ``--ca-file``) and the leaf in
DER. The rules:

- a chain that verifies: not interception (but when only ``--ca-file`` made it
  verify, the session may still end at the proxy, if that CA is the proxy's);
- the target's own self-signed certificate (issuer = subject): a note, not
  interception;
- a chain that does not verify, whose leaf names the target but was issued by
  another party: ``PROXY_TLS_INTERCEPTED`` (leg fmc-proxy; the FMC's cloud
  services reject such a certificate);
- anything else (a leaf for another name, no certificate in time, a failed
  handshake): a note saying what is known, no verdict.

Under interception the proxy answers ClientHellos itself, so the tunnel step
measures leg 2 up with HTTP POST bodies of growing size sent through the
decrypted session (``post_verdict``): a stall is a leg-2 finding, inferred,
a lower bound only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pathprobe.compat import StrEnum
from pathprobe.facts.interception import InterceptionFact
from pathprobe.model import (
    Basis,
    Confidence,
    Direction,
    Evidence,
    Leg,
    LegReport,
    Limit,
    Number,
    Step,
    Verdict,
    VerdictCode,
)
from pathprobe.wire.certs import Certificate, CertParseError, names_host, parse_certificate
from pathprobe.wire.hostport import HostPort
from pathprobe.wire.http_connect import ConnectResponse

# HTTP POST bodies sent through a decrypting proxy, smallest first: the small ones fit
# one segment on any path, the large ones need many full-size segments on leg 2.
POST_SIZES = (256, 512, 1024, 2048, 8192, 32768)


class TlsOutcome(StrEnum):
    """How the handshake with the target (through the tunnel) ended."""

    VERIFIED = "verified"        # the chain verified against the system store
    VERIFIED_WITH_CA_FILE = "verified-with-ca-file"   # only with --ca-file's CAs added
    UNVERIFIED = "unverified"    # a certificate arrived but did not verify
    STALLED = "stalled"          # no certificate before the deadline
    FAILED = "failed"            # alert, reset or close before a certificate


@dataclass(frozen=True)
class TlsCheck:
    """What one handshake through the tunnel showed (the probe's result, no decision)."""

    outcome: TlsOutcome
    leaf: bytes | None = None          # the leaf certificate, DER
    reason: str = ""                   # the TLS library's words (verify error, failure)
    timeout_s: float = 0.0
    elapsed_s: float = 0.0
    ca_file: str | None = None


class Interception(StrEnum):
    NOT_INTERCEPTED = "not-intercepted"
    SELF_SIGNED_TARGET = "self-signed-target"
    INTERCEPTED = "intercepted"
    UNDECIDED = "undecided"


@dataclass(frozen=True)
class InterceptionResult:
    """The decision, the certificate it rests on, the verdict (if any) and the leg notes."""

    kind: Interception
    cert: Certificate | None
    verdict: Verdict | None
    notes: tuple[Evidence, ...]

    # The session may end at the proxy (its certificate, or a private CA's that could be the
    # proxy's): then ClientHellos say nothing about leg 2 and POST bodies measure it instead.
    proxy_may_terminate: bool = False

    @property
    def intercepted(self) -> bool:
        return self.kind is Interception.INTERCEPTED


def _cert_values(cert: Certificate, host: str) -> dict[str, Number]:
    return {"host": host, "subject": cert.subject, "issuer": cert.issuer,
            "sha256": cert.sha256}


def assess_tls(check: TlsCheck, target: HostPort) -> InterceptionResult:
    """The rules of the module docstring, on typed facts only (``reason`` is only shown)."""
    host = target.host
    ev = Step.TUNNEL
    if check.outcome is TlsOutcome.STALLED:
        return InterceptionResult(Interception.UNDECIDED, None, None, (Evidence(
            InterceptionFact.HANDSHAKE_STALLED, ev, {"host": host,
                                                     "timeout_s": round(check.timeout_s, 1)}),))
    if check.outcome is TlsOutcome.FAILED or check.leaf is None:
        return InterceptionResult(Interception.UNDECIDED, None, None, (Evidence(
            InterceptionFact.HANDSHAKE_FAILED, ev,
            {"host": host, "detail": check.reason or "no certificate"}),))
    try:
        cert = parse_certificate(check.leaf)
    except CertParseError as e:
        return InterceptionResult(Interception.UNDECIDED, None, None, (Evidence(
            InterceptionFact.CERT_UNREADABLE, ev, {"host": host, "detail": str(e)}),))
    values = _cert_values(cert, host)
    if check.outcome in (TlsOutcome.VERIFIED, TlsOutcome.VERIFIED_WITH_CA_FILE):
        private = check.outcome is TlsOutcome.VERIFIED_WITH_CA_FILE
        return InterceptionResult(Interception.NOT_INTERCEPTED, cert, None, (Evidence(
            InterceptionFact.CHAIN_VERIFIED, ev,
            {**values, "ca_file": check.ca_file if private else None}),),
            proxy_may_terminate=private)
    if cert.self_issued:
        return InterceptionResult(Interception.SELF_SIGNED_TARGET, cert, None, (Evidence(
            InterceptionFact.SELF_SIGNED_TARGET, ev, values),))
    if not names_host(cert, host):
        return InterceptionResult(Interception.UNDECIDED, cert, None, (Evidence(
            InterceptionFact.OTHER_NAME, ev, values),), proxy_may_terminate=True)
    evidence = (Evidence(InterceptionFact.ISSUED_BY_OTHER, ev, values),
                Evidence(InterceptionFact.CHAIN_NOT_VERIFIED, ev,
                         {"reason": check.reason or "not trusted", "ca_file": check.ca_file}),
                Evidence(InterceptionFact.FMC_REJECTS, ev))
    verdict = Verdict(VerdictCode.PROXY_TLS_INTERCEPTED, Leg.FMC_PROXY, None, evidence,
                      Confidence.MEASURED, {"target": str(target), "issuer": cert.issuer,
                                            "sha256": cert.sha256},
                      basis=Basis.PROXY_ANSWER, target=target)
    return InterceptionResult(Interception.INTERCEPTED, cert, verdict, evidence[:1],
                              proxy_may_terminate=True)


@dataclass(frozen=True)
class PostProbe:
    """One HTTP POST of ``size`` body bytes through the decrypted session."""

    size: int
    answered: bool
    elapsed_s: float = 0.0
    acked: bool | None = None     # did the proxy acknowledge every byte we wrote?
    detail: str = ""
    # The answer when it is the proxy's own error page (see proxy_refusal), else None.
    refusal: ConnectResponse | None = None
    # False when TLS through the tunnel never completed: the body was never sent, so the
    # probe says nothing about leg 2 up.
    sent: bool = True


# Headers only a proxy's own error answer carries (squid's, and RFC 9209's generic one).
PROXY_ERROR_HEADERS = ("X-Squid-Error", "Proxy-Status")


def proxy_refusal(head: ConnectResponse) -> bool:
    """Whether an HTTP answer inside the decrypted session is the proxy's own refusal (a
    decrypting squid answers a denied CONNECT with 200, then its 403 inside TLS)."""
    return head.status >= 400 and any(head.get(h) for h in PROXY_ERROR_HEADERS)


def first_refusal(probes: Sequence[PostProbe]) -> ConnectResponse | None:
    return next((p.refusal for p in probes if p.refusal is not None), None)


def tls_row(proxy: str, check: TlsCheck, result: InterceptionResult) -> LegReport:
    """Leg 1's row gains what the check saw (merged with the CONNECT's row by target)."""
    values: dict[str, Number] = {"tls_check": result.kind.value,
                                 "tls_check_ms": round(check.elapsed_s * 1000, 1)}
    if result.cert is not None:
        values["tls_issuer"] = result.cert.issuer
    return LegReport(Leg.FMC_PROXY, proxy, None, values, result.notes, step=Step.TUNNEL)


def post_leg(target: str, probes: Sequence[PostProbe], timeout_s: float) -> LegReport:
    """Leg 2 up measured with POST bodies: no exact size, and why not the ClientHellos."""
    notes = (Evidence(InterceptionFact.HELLOS_ANSWERED_BY_PROXY, Step.TUNNEL),
             post_evidence(probes, timeout_s))
    return LegReport(Leg.PROXY_UPSTREAM, target, Direction.UP, post_numbers(probes), notes,
                     step=Step.TUNNEL)


def post_numbers(probes: Sequence[PostProbe]) -> dict[str, Number]:
    """The leg row of leg 2 up when it was measured with POST bodies (no exact size)."""
    ok, bad = _ok_bad(probes)
    return {"pmtu_method": "tunnel-post", "probes": len(probes), "max_payload": None,
            "post_ok": ok, "post_failed": bad}


def _ok_bad(probes: Sequence[PostProbe]) -> tuple[int | None, int | None]:
    """(largest body answered below the smallest that failed, smallest that failed)."""
    failed = [p.size for p in probes if p.sent and not p.answered]
    bad = min(failed) if failed else None
    ok = [p.size for p in probes if p.answered and (bad is None or p.size < bad)]
    return (max(ok) if ok else None), bad


def post_evidence(probes: Sequence[PostProbe], timeout_s: float) -> Evidence:
    ok, bad = _ok_bad(probes)
    if bad is None:
        return Evidence(InterceptionFact.POSTS_CROSSED, Step.TUNNEL,
                        {"ok": ok, "count": len(probes)})
    return Evidence(InterceptionFact.POST_STALLED, Step.TUNNEL,
                    {"ok": ok, "bad": bad, "timeout_s": round(timeout_s, 1)})


def post_verdict(probes: Sequence[PostProbe], timeout_s: float) -> Verdict | None:
    """Leg 2 up from POST bodies: a body that stalls after smaller ones were answered is a
    black hole on leg 2 (inferred; the largest answered body is a lower bound of what one
    segment carries), a stall of every size is a stall. None when every body was answered.

    The basis says whether the stalled body crossed leg 1 (the proxy acknowledged it all),
    so ``findings.attribute`` can tell leg 1 from leg 2.
    """
    ok, bad = _ok_bad(probes)
    if bad is None:
        return None
    stalled = next(p for p in probes if p.size == bad)
    basis = (Basis.PROXY_ACKED if stalled.acked is True else Basis.PROXY_NEVER_ACKED
             if stalled.acked is False else Basis.NEEDS_LEG1)
    evidence = [post_evidence(probes, timeout_s)]
    if stalled.acked is True:
        evidence.append(Evidence(InterceptionFact.POSTS_ACKED, Step.TUNNEL))
    numbers: Mapping[str, Number] = {"write_failed": bad, "post_ok": ok}
    if ok is None:
        return Verdict(VerdictCode.TUNNEL_STALL, Leg.PROXY_UPSTREAM, Direction.UP,
                       tuple(evidence), Confidence.INFERRED, numbers, write_failed=bad)
    return Verdict(VerdictCode.PMTU_BLACKHOLE, Leg.PROXY_UPSTREAM, Direction.UP,
                   tuple(evidence), Confidence.INFERRED, numbers,
                   limit=Limit(max_payload=ok, exact=False), basis=basis, write_failed=bad)
