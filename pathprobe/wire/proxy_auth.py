"""The Proxy-Authorization each CONNECT carries: Basic, or Digest with a shared nonce.

Pure but for its two sources of variety, both injectable: the client nonce
(``cnonce``, random by default) and the lock that keeps the nonce count (nc)
increasing when parallel probes share one challenge. With a fixed ``cnonce``
the header is a byte vector (tests use RFC 7616 / RFC 2617's examples).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

from pathprobe.model import Credentials
from pathprobe.wire import http_connect as hc
from pathprobe.wire.hostport import HostPort


def random_cnonce() -> str:
    """12 random bytes in hex: the client nonce of one Digest answer."""
    return os.urandom(12).hex()


class _NonceState:
    """One challenge and its nonce count, shared by every Authenticator that answers it:
    the proxy counts per nonce, whatever the request-target (a reused count invalidates
    the nonce for every request still on its way)."""

    def __init__(self) -> None:
        self.challenge: hc.Challenge | None = None
        self.count = 0
        self.lock = threading.Lock()


class Authenticator:
    """Proxy-Authorization for each CONNECT: learns the challenge once, then reuses it.

    Thread-safe: parallel probes share one Digest nonce with increasing nc, also across
    targets (``for_target``). A 407 during a probe (the nonce went stale: parallel
    requests reached the proxy out of order) is answered by ``answering``'s private
    authenticator, whose fresh nonce no other request uses.
    """

    def __init__(self, credentials: Credentials | None, target: HostPort | str, *,
                 cnonce: Callable[[], str] = random_cnonce, method: str = "CONNECT",
                 nonce: _NonceState | None = None) -> None:
        self.credentials = credentials
        # The Digest uri must be the request-target exactly as connect_request sends it.
        try:
            self.target = hc.connect_authority(target)
        except ValueError:
            self.target = str(target)
        self.method = method
        self._cnonce = cnonce
        self._nonce = nonce if nonce is not None else _NonceState()

    @property
    def challenge(self) -> hc.Challenge | None:
        return self._nonce.challenge

    @property
    def scheme(self) -> str | None:
        challenge = self._nonce.challenge
        return challenge.scheme if challenge else None

    def for_target(self, target: HostPort | str) -> Authenticator:
        """The same credentials for another request-target, sharing this one's nonce and
        its count (a second counter on one nonce would repeat counts the proxy saw)."""
        return Authenticator(self.credentials, target, cnonce=self._cnonce, method=self.method,
                             nonce=self._nonce)

    def learn(self, challenges: list[hc.Challenge]) -> bool:
        """Pick a challenge we can answer; False when none fits our credentials."""
        chosen = hc.pick_challenge(challenges, self.credentials is not None)
        with self._nonce.lock:
            self._nonce.challenge = chosen
            self._nonce.count = 0
        return chosen is not None

    def answering(self, challenges: list[hc.Challenge]) -> Authenticator | None:
        """A private authenticator for one retry, from the 407's own challenge: its fresh
        nonce is used by no other request, so the retry cannot lose a race with parallel
        probes. None when no challenge fits our credentials."""
        own = Authenticator(self.credentials, self.target, cnonce=self._cnonce,
                            method=self.method)
        return own if own.learn(challenges) else None

    def adopt(self, own: Authenticator, failed: hc.Challenge | None) -> None:
        """After ``own``'s retry went through: share its nonce, with the counts it used,
        unless another probe replaced the ``failed`` challenge first."""
        challenge, count = own._nonce.challenge, own._nonce.count
        with self._nonce.lock:
            if self._nonce.challenge is failed:
                self._nonce.challenge, self._nonce.count = challenge, count

    def header(self, method: str | None = None, uri: str | None = None) -> str | None:
        """The Proxy-Authorization value, or None (no credentials, or none we can form:
        the proxy then answers 407 again and the verdict says the credentials failed).
        ``method`` and ``uri`` (the request-target) for another request than the CONNECT."""
        creds = self.credentials
        with self._nonce.lock:
            challenge = self._nonce.challenge
            if creds is None or challenge is None:
                return None
            self._nonce.count += 1
            nc = self._nonce.count
        try:
            if challenge.scheme == "basic":
                value = hc.basic_authorization(creds.user, creds.password)
            else:
                value = hc.digest_authorization(challenge, creds.user, creds.password,
                                                method or self.method, uri or self.target,
                                                self._cnonce(), nc)
        except ValueError:
            return None
        # connect_request takes only one printable header line; anything else is not sent.
        return value if hc.header_safe(value) else None
