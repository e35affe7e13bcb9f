"""Header overhead: the numbers every MSS/MTU conversion rests on."""

from __future__ import annotations

import socket

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pathprobe.wire import overhead as oh

FAMILIES = st.sampled_from([4, 6, socket.AF_INET, socket.AF_INET6])


def test_known_values() -> None:
    assert oh.ip_tcp_overhead(4) == 40 and oh.ip_tcp_overhead(6) == 60
    assert oh.ip_tcp_overhead(socket.AF_INET, True) == 52
    assert oh.ip_tcp_overhead(socket.AF_INET6, True) == 72
    assert oh.mss_for_mtu(1500, 4) == 1460 and oh.mss_for_mtu(1500, 6) == 1440
    assert oh.mtu_for_mss(1300, 4) == 1340 and oh.mtu_for_mss(1300, 6) == 1360
    assert oh.payload_for_mtu(1500, 4, True) == 1448 and oh.payload_for_mtu(1500, 6, False) == 1440
    assert oh.payload_for_mss(1460, True) == 1448 and oh.mss_for_payload(1288, True) == 1300
    assert oh.ip_header(socket.AF_INET6) == 40 and oh.ip_header(4) == 20


def test_not_a_family() -> None:
    with pytest.raises(ValueError):
        oh.ip_header(5)


@given(mtu=st.integers(68, 65535), family=FAMILIES, ts=st.booleans())
def test_round_trips(mtu: int, family: int, ts: bool) -> None:
    assert oh.mtu_for_mss(oh.mss_for_mtu(mtu, family), family) == mtu
    assert oh.mtu_for_payload(oh.payload_for_mtu(mtu, family, ts), family, ts) == mtu
    mss = oh.mss_for_mtu(mtu, family)
    assert oh.mss_for_payload(oh.payload_for_mss(mss, ts), ts) == mss
    # The payload of a full segment is the MSS minus the options every segment carries.
    assert oh.payload_for_mtu(mtu, family, ts) == oh.payload_for_mss(mss, ts)
    assert oh.ip_tcp_overhead(family, ts) - oh.ip_tcp_overhead(family) == (12 if ts else 0)
    assert oh.ip_tcp_overhead(6, ts) - oh.ip_tcp_overhead(4, ts) == 20
