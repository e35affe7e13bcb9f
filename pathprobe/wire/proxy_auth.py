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


class Authenticator:
    """Proxy-Authorization for each CONNECT: learns the challenge once, then reuses it.

    Thread-safe: parallel probes share one Digest nonce with increasing nc; a
    407 (e.g. stale nonce) during a probe refreshes the challenge once.
    """

    def __init__(self, credentials: Credentials | None, target: HostPort | str, *,
                 cnonce: Callable[[], str] = random_cnonce, method: str = "CONNECT") -> None:
        self.credentials = credentials
        # The Digest uri must be the request-target exactly as connect_request sends it.
        try:
            self.target = hc.connect_authority(target)
        except ValueError:
            self.target = str(target)
        self.challenge: hc.Challenge | None = None
        self.method = method
        self._cnonce = cnonce
        self._nc = 0
        self._lock = threading.Lock()

    @property
    def scheme(self) -> str | None:
        return self.challenge.scheme if self.challenge else None

    def learn(self, challenges: list[hc.Challenge]) -> bool:
        """Pick a challenge we can answer; False when none fits our credentials."""
        chosen = hc.pick_challenge(challenges, self.credentials is not None)
        with self._lock:
            self.challenge = chosen
            self._nc = 0
        return chosen is not None

    def header(self, method: str | None = None, uri: str | None = None) -> str | None:
        """The Proxy-Authorization value, or None (no credentials, or none we can form:
        the proxy then answers 407 again and the verdict says the credentials failed).
        ``method`` and ``uri`` (the request-target) for another request than the CONNECT."""
        creds, challenge = self.credentials, self.challenge
        if creds is None or challenge is None:
            return None
        with self._lock:
            self._nc += 1
            nc = self._nc
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
