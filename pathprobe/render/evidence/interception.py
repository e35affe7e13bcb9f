"""Sentences for the interception check (pathprobe.facts.interception)."""

from __future__ import annotations

from collections.abc import Mapping

from pathprobe.facts.interception import InterceptionFact
from pathprobe.model import Number
from pathprobe.render.evidence.base import Template


def _store(v: Mapping[str, Number]) -> str:
    ca = v.get("ca_file")
    return f"system trust store plus {ca}" if ca else "system trust store"


def _stalled_posts(v: Mapping[str, Number]) -> str:
    ok = v.get("ok")
    before = f"{ok}-byte bodies were answered, " if ok is not None else "no body was answered, "
    return (f"HTTP POST through the proxy's decrypted session: {before}a {v.get('bad')}-byte "
            f"body got no answer within {v.get('timeout_s')} s")


TEXT: dict[InterceptionFact, Template] = {
    InterceptionFact.CHAIN_VERIFIED:
        lambda v: (f"TLS to {v.get('host')}: certificate {v.get('subject')} issued by "
                   f"{v.get('issuer')} verifies against the {_store(v)}: not intercepted"),
    InterceptionFact.SELF_SIGNED_TARGET:
        "TLS to {host}: the target's own self-signed certificate ({subject}, SHA-256 "
        "{sha256}); not interception, but not trusted either",
    InterceptionFact.ISSUED_BY_OTHER:
        "TLS to {host} through the proxy: certificate subject {subject}, issuer {issuer}, "
        "SHA-256 {sha256}: it names the target but another party issued it",
    InterceptionFact.CHAIN_NOT_VERIFIED:
        lambda v: (f"the chain does not verify against the {_store(v)} "
                   f"({v.get('reason')})"),
    InterceptionFact.OTHER_NAME:
        "TLS to {host}: the certificate ({subject}, issuer {issuer}) does not name the "
        "target and does not verify; interception not proven",
    InterceptionFact.CERT_UNREADABLE: "TLS to {host}: the certificate could not be read: "
                                      "{detail}",
    InterceptionFact.HANDSHAKE_STALLED:
        "TLS to {host} through the proxy: no certificate within {timeout_s} s (a proxy that "
        "decrypts waits for its own handshake with the upstream: leg 2 or the proxy; "
        "interception not decided)",
    InterceptionFact.HANDSHAKE_FAILED: "TLS to {host} through the proxy failed: {detail}",
    InterceptionFact.FMC_REJECTS:
        "the FMC's cloud services check the server certificate and fail behind TLS "
        "decryption: exempt the FMC's destinations from decryption on the proxy",
    InterceptionFact.HELLOS_ANSWERED_BY_PROXY:
        "not measured with ClientHellos: the proxy terminates TLS and answers them itself, "
        "so they never reach leg 2 (they cross leg 1 only)",
    InterceptionFact.POSTS_CROSSED:
        "HTTP POST through the proxy's decrypted session: bodies up to {ok} bytes answered "
        "by the target ({count:#size})",
    InterceptionFact.POST_STALLED: _stalled_posts,
    InterceptionFact.POSTS_ACKED:
        "the proxy acknowledged every byte of the stalled body: it crossed leg 1",
    InterceptionFact.REFUSED_INSIDE_TLS:
        "the proxy answered CONNECT with 200 but its refusal ({status}) came inside the "
        "decrypted TLS session, as the answer to the first request",
    InterceptionFact.DECRYPTED_DOWNLOAD:
        "the download ran through the proxy's decrypted session: the proxy fetched it over "
        "leg 2 itself",
}
