"""The interception rules on real certificates (tests/fixtures/certs) and the POST rules."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from pathprobe.facts.interception import InterceptionFact
from pathprobe.findings import finish
from pathprobe.interception import (
    POST_SIZES,
    Interception,
    PostProbe,
    TlsCheck,
    TlsOutcome,
    assess_tls,
    post_numbers,
    post_verdict,
)
from pathprobe.model import Basis, Confidence, Direction, Leg, Measurement, Severity, VerdictCode
from pathprobe.render.evidence import describe
from pathprobe.wire.hostport import HostPort

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "certs"
HOST = "upstream.pathprobe.test"
TARGET = HostPort(HOST, 443)


def der(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_leaf_for_target_issued_by_another_party_is_interception() -> None:
    check = TlsCheck(TlsOutcome.UNVERIFIED, der("leaf-by-ca.der"),
                     "self-signed certificate in certificate chain")
    r = assess_tls(check, TARGET)
    assert r.kind is Interception.INTERCEPTED and r.verdict is not None
    v = r.verdict
    assert v.code is VerdictCode.PROXY_TLS_INTERCEPTED and v.leg is Leg.FMC_PROXY
    text = " | ".join(describe(e) for e in v.evidence)
    assert "issuer O=pathprobe test, CN=pathprobe test CA" in text
    assert "subject CN=upstream.pathprobe.test" in text
    assert "9D:14:AA:DB" in text and "self-signed certificate in certificate chain" in text
    report = finish([Measurement(verdicts=(v,))], command="tunnel", started="", duration_s=0)
    assert report.verdicts[0].severity is Severity.CRITICAL


def test_verified_chain_is_not_interception_even_from_a_private_ca() -> None:
    check = TlsCheck(TlsOutcome.VERIFIED_WITH_CA_FILE, der("leaf-by-ca.der"), ca_file="/tmp/ca.pem")
    r = assess_tls(check, TARGET)
    assert r.kind is Interception.NOT_INTERCEPTED and r.verdict is None
    assert r.notes[0].fact is InterceptionFact.CHAIN_VERIFIED
    assert "plus /tmp/ca.pem" in describe(r.notes[0])


def test_self_signed_target_is_a_note() -> None:
    r = assess_tls(TlsCheck(TlsOutcome.UNVERIFIED, der("self-signed.der"), "self-signed"), TARGET)
    assert r.kind is Interception.SELF_SIGNED_TARGET and r.verdict is None
    assert r.notes[0].fact is InterceptionFact.SELF_SIGNED_TARGET


def test_unverified_leaf_for_another_name_is_undecided() -> None:
    r = assess_tls(TlsCheck(TlsOutcome.UNVERIFIED, der("leaf-by-ca.der")),
                   HostPort("tools.cisco.com", 443))
    assert r.kind is Interception.UNDECIDED and r.verdict is None
    assert r.notes[0].fact is InterceptionFact.OTHER_NAME


def test_stall_and_failure_decide_nothing() -> None:
    stalled = assess_tls(TlsCheck(TlsOutcome.STALLED, timeout_s=4.0), TARGET)
    failed = assess_tls(TlsCheck(TlsOutcome.FAILED, reason="reset"), TARGET)
    assert stalled.verdict is None and failed.verdict is None
    assert "within 4.0 s" in describe(stalled.notes[0])
    assert "reset" in describe(failed.notes[0])


@given(st.binary(max_size=300), st.sampled_from(list(TlsOutcome)))
def test_any_leaf_bytes_give_a_result_never_an_exception(leaf: bytes, outcome: TlsOutcome
                                                         ) -> None:
    r = assess_tls(TlsCheck(outcome, leaf), TARGET)
    assert r.notes and (r.verdict is None) == (r.kind is not Interception.INTERCEPTED)


def probes(bad_from: int | None, acked: bool | None = True) -> list[PostProbe]:
    return [PostProbe(n, bad_from is None or n < bad_from, 0.1,
                      acked if bad_from is not None and n >= bad_from else None)
            for n in POST_SIZES]


def test_every_post_answered_is_no_verdict() -> None:
    assert post_verdict(probes(None), 1.0) is None
    assert post_numbers(probes(None))["post_ok"] == max(POST_SIZES)


def test_post_stall_above_answered_sizes_is_a_leg2_lower_bound() -> None:
    v = post_verdict(probes(2048), 1.5)
    assert v is not None and v.code is VerdictCode.PMTU_BLACKHOLE
    assert v.leg is Leg.PROXY_UPSTREAM and v.direction is Direction.UP
    assert v.confidence is Confidence.INFERRED and v.basis is Basis.PROXY_ACKED
    assert v.limit is not None and v.limit.max_payload == 1024 and not v.limit.exact
    # The attribution keeps it on leg 2: the proxy took every byte of the stalled body.
    report = finish([Measurement(verdicts=(v,))], command="tunnel", started="", duration_s=0)
    assert [(x.code, x.leg) for x in report.verdicts] == [
        (VerdictCode.PMTU_BLACKHOLE, Leg.PROXY_UPSTREAM)]


def test_post_stall_never_acked_is_leg1s() -> None:
    v = post_verdict(probes(2048, acked=False), 1.5)
    assert v is not None and v.basis is Basis.PROXY_NEVER_ACKED
    report = finish([Measurement(verdicts=(v,))], command="tunnel", started="", duration_s=0)
    assert report.verdicts[0].leg is Leg.FMC_PROXY


def test_every_post_stalled_is_a_stall_without_size() -> None:
    v = post_verdict(probes(0), 1.0)
    assert v is not None and v.code is VerdictCode.TUNNEL_STALL and v.limit is None


def test_verified_only_with_the_ca_file_is_not_interception_but_may_end_at_the_proxy() -> None:
    r = assess_tls(TlsCheck(TlsOutcome.VERIFIED_WITH_CA_FILE, der("leaf-by-ca.der"),
                            ca_file="/tmp/ca.pem"), TARGET)
    assert r.kind is Interception.NOT_INTERCEPTED and r.verdict is None
    assert r.proxy_may_terminate and "plus /tmp/ca.pem" in describe(r.notes[0])
    public = assess_tls(TlsCheck(TlsOutcome.VERIFIED, der("leaf-by-ca.der"),
                                 ca_file="/tmp/ca.pem"), TARGET)
    assert not public.proxy_may_terminate and "plus" not in describe(public.notes[0])
    selfsigned = assess_tls(TlsCheck(TlsOutcome.UNVERIFIED, der("self-signed.der")), TARGET)
    assert not selfsigned.proxy_may_terminate


def test_a_proxy_error_page_inside_tls_is_a_refusal_a_targets_answer_is_not() -> None:
    from pathprobe.interception import first_refusal, proxy_refusal
    from pathprobe.wire.http_connect import parse_response_head

    squid = parse_response_head(b"HTTP/1.1 403 Forbidden\r\nServer: squid/5.7\r\n"
                                b"X-Squid-Error: ERR_ACCESS_DENIED 0\r\n\r\n")
    generic = parse_response_head(b"HTTP/1.1 502 Bad Gateway\r\n"
                                  b"Proxy-Status: corp-proxy; error=dns_timeout\r\n\r\n")
    target = parse_response_head(b"HTTP/1.1 405 Method Not Allowed\r\nServer: nginx\r\n\r\n")
    ok = parse_response_head(b"HTTP/1.1 200 OK\r\nX-Squid-Error: none\r\n\r\n")
    assert squid and generic and target and ok
    assert proxy_refusal(squid) and proxy_refusal(generic)
    assert not proxy_refusal(target) and not proxy_refusal(ok)
    probes = [PostProbe(256, True), PostProbe(512, False, refusal=squid)]
    assert first_refusal(probes) is squid and first_refusal(probes[:1]) is None


def test_a_post_whose_tls_never_completed_proves_nothing() -> None:
    unsent = [PostProbe(n, False, 1.0, None, "handshake", sent=False) for n in POST_SIZES]
    assert post_verdict(unsent, 1.0) is None
    mixed = [PostProbe(256, True), PostProbe(512, False, sent=False), PostProbe(1024, True),
             PostProbe(2048, False, acked=True)]
    v = post_verdict(mixed, 1.0)
    assert v is not None and v.limit is not None and v.limit.max_payload == 1024


def test_the_measurements_table_shows_the_check_and_the_post_sizes() -> None:
    from pathprobe.interception import post_leg, tls_row
    from pathprobe.render.content import measurements_table

    check = TlsCheck(TlsOutcome.UNVERIFIED, der("leaf-by-ca.der"), "unable to verify")
    rows = (tls_row("http://198.18.2.2:3128", check, assess_tls(check, TARGET)),
            post_leg(TARGET, probes(2048), 1.5))
    report = finish([Measurement(legs=rows)], command="tunnel", started="", duration_s=0)
    shown = {(r[2], r[3]) for r in measurements_table(report).rows}
    assert ("TLS certificate check", "intercepted") in shown
    assert ("certificate issuer shown", "O=pathprobe test, CN=pathprobe test CA") in shown
    assert ("largest POST body answered", "1024 B") in shown
    assert ("POST body that stalled", "2048 B") in shown
