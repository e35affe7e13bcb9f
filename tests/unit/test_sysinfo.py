"""Local facts without compiled packages: rtnetlink route lookup (byte vectors) and MTUs."""

from __future__ import annotations

import socket
import struct
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pathprobe.probes.kernel import interface_mtu, ioctl_mtu, kernel_route, resolve, route_to
from pathprobe.wire import rtnetlink as rt


def attr(kind: int, value: bytes) -> bytes:
    raw = struct.pack("=HH", 4 + len(value), kind) + value
    return raw + b"\0" * (-len(raw) % 4)


def reply(family: int, *attrs: bytes, kind: int = rt.RTM_NEWROUTE) -> bytes:
    body = struct.pack("=BBBBBBBBI", family, 32, 0, 0, 254, 2, 0, 1, 0) + b"".join(attrs)
    return struct.pack("=IHHII", 16 + len(body), kind, 0, 1, 4242) + body


def test_request_bytes_for_ipv4() -> None:
    req = rt.get_route_request("198.18.2.2", seq=7)
    assert req == (struct.pack("=IHHII", 36, 26, 1, 7, 0)
                   + bytes([socket.AF_INET, 32, 0, 0, 0, 0, 0, 0]) + b"\0\0\0\0"
                   + struct.pack("=HH", 8, 1) + bytes([198, 18, 2, 2]))


def test_request_for_ipv6_ignores_scope() -> None:
    req = rt.get_route_request("2001:db8::1%eth0")
    assert len(req) == 16 + 12 + 4 + 16
    assert req[16] == socket.AF_INET6 and req[17] == 128
    assert req[-16:] == socket.inet_pton(socket.AF_INET6, "2001:db8::1")


def test_parse_route_with_gateway_oif_and_source() -> None:
    data = reply(socket.AF_INET, attr(15, struct.pack("=I", 254)),
                 attr(rt.RTA_DST, bytes([198, 18, 2, 2])), attr(rt.RTA_OIF, struct.pack("=I", 3)),
                 attr(rt.RTA_PREFSRC, bytes([198, 18, 1, 2])),
                 attr(rt.RTA_GATEWAY, bytes([198, 18, 1, 1])))
    assert rt.parse_route_reply(data) == rt.Route(3, "198.18.1.1", "198.18.1.2")


def test_parse_on_link_ipv6_route() -> None:
    data = reply(socket.AF_INET6, attr(rt.RTA_OIF, struct.pack("=I", 1)),
                 attr(rt.RTA_PREFSRC, socket.inet_pton(socket.AF_INET6, "2001:db8::2")))
    assert rt.parse_route_reply(data) == rt.Route(1, None, "2001:db8::2")


def test_kernel_error_is_reported_with_its_errno() -> None:
    data = struct.pack("=IHHII", 36, rt.NLMSG_ERROR, 0, 1, 0) + struct.pack("=i", -101) + b"\0" * 16
    with pytest.raises(rt.NetlinkError) as info:
        rt.parse_route_reply(data)
    assert info.value.errno == 101 and "ENETUNREACH" in str(info.value)


@pytest.mark.parametrize("data", [
    b"", b"\0" * 15,
    reply(socket.AF_INET)[:-1],                                   # length says more than given
    reply(socket.AF_INET, attr(rt.RTA_GATEWAY, b"\1\2\3")),        # IPv4 gateway of 3 bytes
    reply(socket.AF_INET, attr(rt.RTA_OIF, b"\1\2")),              # short interface index
    reply(socket.AF_INET, struct.pack("=HH", 2, 1)),               # attribute shorter than header
    reply(socket.AF_INET, kind=99),
    reply(17),                                                     # AF_PACKET
])
def test_malformed_answers_are_netlink_errors(data: bytes) -> None:
    with pytest.raises(rt.NetlinkError):
        rt.parse_route_reply(data)


@given(st.binary(max_size=200))
def test_any_bytes_give_a_route_or_a_netlink_error(data: bytes) -> None:
    try:
        route = rt.parse_route_reply(data)
    except rt.NetlinkError:
        return
    assert route.oif is None or 0 <= route.oif < 2**32


def test_kernel_route_agrees_with_ip_route_get() -> None:
    out = subprocess.run(["ip", "-o", "route", "get", "127.0.0.1"], capture_output=True,
                         text=True, check=True).stdout.split()
    route = kernel_route("127.0.0.1")
    assert route is not None and route.oif is not None
    assert socket.if_indextoname(route.oif) == out[out.index("dev") + 1]
    assert route.prefsrc == out[out.index("src") + 1] and route.gateway is None


def test_route_to_loopback_names_the_interface_and_its_mtu() -> None:
    info = route_to(resolve("127.0.0.1"))
    assert info.source == "127.0.0.1" and info.interface == "lo" and info.gateway is None
    assert info.interface_mtu == int(Path("/sys/class/net/lo/mtu").read_text())


def test_ioctl_and_sysfs_agree_and_bad_names_are_none() -> None:
    assert ioctl_mtu("lo") == interface_mtu("lo") == int(Path("/sys/class/net/lo/mtu").read_text())
    for name in ("", "../lo", "nosuch-if0", "x" * 16):
        assert interface_mtu(name) is None
