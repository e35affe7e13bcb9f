"""Observations of the TLS interception check and of measuring leg 2 through a proxy
that terminates TLS (sentences: pathprobe.render.evidence.interception)."""

from __future__ import annotations

from pathprobe.compat import StrEnum


class InterceptionFact(StrEnum):
    """What the interception check can observe; each value is stable (JSON `facts[].fact`)."""

    CHAIN_VERIFIED = "chain-verified"              # {subject} by {issuer}: verified ({store})
    SELF_SIGNED_TARGET = "self-signed-target"      # the target's own self-signed certificate
    ISSUED_BY_OTHER = "issued-by-other"            # leaf for {host}: {subject}, {issuer}, {sha256}
    CHAIN_NOT_VERIFIED = "chain-not-verified"      # the chain does not verify: {reason}
    OTHER_NAME = "other-name"                      # the leaf does not name {host}
    CERT_UNREADABLE = "cert-unreadable"            # the leaf could not be read: {detail}
    HANDSHAKE_STALLED = "handshake-stalled"        # no certificate within {timeout_s} s
    HANDSHAKE_FAILED = "handshake-failed"          # {detail}
    FMC_REJECTS = "fmc-rejects"                    # FMC cloud services check the certificate
    HELLOS_ANSWERED_BY_PROXY = "hellos-answered-by-proxy"  # leg note: no leg-2 size from them
    POSTS_CROSSED = "posts-crossed"                # POST bodies up to {ok} bytes answered
    POST_STALLED = "post-stalled"                  # {bad}-byte body stalled, {ok} answered
    POSTS_ACKED = "posts-acked"                    # the proxy took every byte (leg 1 carried it)
    DECRYPTED_DOWNLOAD = "decrypted-download"      # leg note: down measured through the proxy
    REFUSED_INSIDE_TLS = "refused-inside-tls"      # CONNECT got 200, the refusal came in TLS
