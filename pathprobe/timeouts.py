"""One rule for how long a probe waits for its answer, used by every measuring step.

A lost probe costs its whole wait, and a search has a few rounds of them, so the
wait follows what answers took on this path: a multiple of the observed time plus
slack, never below a floor (a slow first answer is not a loss) nor above a ceiling
(a black hole ends in bounded time). Each step names its own numbers here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WaitPolicy:
    """``factor * observed + slack``, within ``floor``..``ceiling`` seconds."""

    factor: float
    slack: float
    floor: float
    ceiling: float

    def wait(self, observed_s: float) -> float:
        return min(self.ceiling, max(self.floor, self.factor * observed_s + self.slack))


# Tunnel probes: from the slowest answered probe; before the first one, from another answer
# over both legs (the TLS check's handshake with the target, the ranged GET's one byte), else
# from the CONNECT's round trip. The floor outlasts one retransmission at Linux's minimum RTO
# (0.2 s) with slack, so a stall is still a stall.
TUNNEL_WAIT = WaitPolicy(factor=5, slack=0.25, floor=0.5, ceiling=3.0)
# mss segment probes: from the handshake's RTT; long enough for one kernel retransmit
# (RTO >= 200 ms), short enough that a black hole's rounds stay within about 2 s.
ACK_WAIT = WaitPolicy(factor=10, slack=0.3, floor=0.4, ceiling=3.0)
# Leg 1's way down: from one answer's time at the proven size.
DOWN_WAIT = WaitPolicy(factor=4, slack=0.2, floor=0.3, ceiling=1.0)
# mss's peer probe (one small request, a multi-segment reply): from the handshake's RTT.
# Only informational (a clamp of our SYN shows in the reply's segments), so a reply the
# path loses costs half a second, not more.
PEER_WAIT = WaitPolicy(factor=20, slack=0.0, floor=0.5, ceiling=3.0)
# A download inside the tunnel counts as stalled after this much silence, from the
# CONNECT's time to 200 (it spans both legs): the floor outlasts three back-to-back
# retransmissions at Linux's minimum RTO (0.2 + 0.4 + 0.8 s).
IDLE_WAIT = WaitPolicy(factor=8, slack=0.0, floor=1.5, ceiling=3.0)
# The interception check (two TLS handshakes through the proxy): from the CONNECT's round
# trip, which already spans leg 2; a decrypting proxy stuck on leg 2 is given up on in 5 s
# (squid itself waits about 60 s before it answers).
TLS_CHECK_WAIT = WaitPolicy(factor=10, slack=1.0, floor=2.0, ceiling=5.0)
# POST bodies through a decrypting proxy: from the check's time (two handshakes).
POST_WAIT = WaitPolicy(factor=3, slack=0.5, floor=1.0, ceiling=3.0)
