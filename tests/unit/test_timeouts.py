"""The one wait rule of the measuring steps."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pathprobe.timeouts import ACK_WAIT, DOWN_WAIT, TUNNEL_WAIT, WaitPolicy

POLICIES = st.sampled_from([TUNNEL_WAIT, ACK_WAIT, DOWN_WAIT])


@given(POLICIES, st.floats(0, 1000), st.floats(0, 1000))
def test_waits_stay_bounded_and_grow_with_the_observed_time(policy: WaitPolicy, a: float,
                                                            b: float) -> None:
    wa, wb = policy.wait(a), policy.wait(b)
    assert policy.floor <= wa <= policy.ceiling
    assert (wa <= wb) if a <= b else (wa >= wb)


def test_the_steps_numbers() -> None:
    assert TUNNEL_WAIT.wait(0.0002) == 0.5 and TUNNEL_WAIT.wait(0.3) == 5 * 0.3 + 0.25
    assert ACK_WAIT.wait(0.001) == 0.4 and ACK_WAIT.wait(1.0) == 3.0
    assert DOWN_WAIT.wait(0.001) == 0.3 and DOWN_WAIT.wait(0.1) == 4 * 0.1 + 0.2
