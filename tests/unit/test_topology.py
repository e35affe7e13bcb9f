"""The lab's pure description: routes, addresses, fault rulesets, squid config."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pathprobe.lab import squid
from pathprobe.lab import topology as topo
from pathprobe.lab.topology import Fault, FaultKind, ProxyMode
from pathprobe.model import Direction


def test_every_node_routes_every_lab_subnet_via_a_neighbour() -> None:
    for node in topo.NODES:
        rs = topo.routes(node)
        prefixes = {r.prefix for r in rs}
        assert prefixes == {x.v4_net for x in topo.LINKS} | {x.v6_net for x in topo.LINKS}
        for r in rs:
            if r.via:
                # The next hop is on a subnet the node is attached to.
                attached = [x for x in topo.LINKS if node in (x.router, x.host)]
                nets = [ipaddress.ip_network(x.v6_net if ":" in r.via else x.v4_net)
                        for x in attached]
                assert any(ipaddress.ip_address(r.via) in n for n in nets), (node, r)
        assert not any(r.prefix in ("0.0.0.0/0", "::/0") for r in rs)


def test_every_lab_address_is_in_the_benchmarking_or_documentation_range() -> None:
    for link in topo.LINKS:
        for node in (link.router, link.host):
            assert topo.is_lab_address(link.v4(node)) and topo.is_lab_address(link.v6(node))
    assert not topo.is_lab_address("10.0.0.1") and not topo.is_lab_address("nonsense")
    assert topo.PROXY_V4 == "198.18.2.2" and topo.UPSTREAM_V4 == "198.18.4.2"


def test_mtu_fault_routes_follow_the_direction() -> None:
    up = topo.mtu_route_commands(Fault(FaultKind.MTU, 1, Direction.UP, 1400))
    assert all("to-proxy" in c for c in up) and len(up) == 6  # 3 subnets x 2 families
    down = topo.mtu_route_commands(Fault(FaultKind.MTU, 2, Direction.DOWN, 1300))
    assert all("to-proxy" in c for c in down) and {c[2] for c in down} >= {"198.18.1.0/24"}
    assert all(c[-3:] == ["mtu", "lock", "1300"] for c in down)
    # IPv6 cannot go below 1280: only the IPv4 routes are changed.
    small = topo.mtu_route_commands(Fault(FaultKind.MTU, 1, Direction.BOTH, 1000))
    assert small and all(":" not in c[2] for c in small)


@pytest.mark.parametrize(("direction", "match"), [(Direction.UP, 'iifname "to-fmc" '),
                                                  (Direction.DOWN, 'iifname "to-proxy" '),
                                                  (Direction.BOTH, "")])
def test_blackhole_ruleset(direction: Direction, match: str) -> None:
    rules = topo.nft_ruleset([Fault(FaultKind.BLACKHOLE, 1, direction, 1372)]).splitlines()
    assert f"    {match}ip length > 1372 drop" in rules
    assert f"    {match}ip6 length > 1332 drop" in rules
    assert "    type filter hook forward priority filter; policy accept;" in rules


def test_rst_clamp_stall_and_icmp_filter_rulesets() -> None:
    rules = topo.nft_ruleset([
        Fault(FaultKind.RST, 2, Direction.UP, 1300),
        Fault(FaultKind.CLAMP, 2, Direction.BOTH, 1200),
        Fault(FaultKind.STALL, 2, Direction.BOTH, 5000),
        Fault(FaultKind.MTU_NOICMP, 2, Direction.BOTH, 1400)])
    assert 'iifname "to-proxy" meta l4proto tcp ip length > 1300 reject with tcp reset' in rules
    assert "tcp option maxseg size > 1200 tcp option maxseg size set 1200" in rules
    assert "hook forward priority mangle" in rules
    assert "ct bytes > 5000 drop" in rules
    assert "icmp type destination-unreachable icmp code frag-needed drop" in rules
    assert "icmpv6 type packet-too-big drop" in rules
    assert topo.needs_conntrack_accounting([Fault(FaultKind.STALL, 1, Direction.UP, 9)])


def test_squid_conf_modes() -> None:
    base = squid.squid_conf(ProxyMode.OPEN, "/w")
    assert "http_port 198.18.2.2:3128" in base and "hosts_file /w/hosts" in base
    assert "http_access deny !lab_dst" in base  # never CONNECT outside the lab
    assert "dns_nameservers 127.0.0.1" in base
    assert "basic_ncsa_auth" in squid.squid_conf(ProxyMode.BASIC, "/w")
    assert "digest_file_auth" in squid.squid_conf(ProxyMode.DIGEST, "/w")
    ntlm = squid.squid_conf(ProxyMode.NTLM, "/w")
    assert "ntlm_fake_auth" in ntlm and "auth_param basic" not in ntlm
    assert "http_access deny CONNECT" in squid.squid_conf(ProxyMode.ACL, "/w")
    only = squid.squid_conf(ProxyMode.CONNECT_ONLY, "/w")
    # Plain HTTP refused before anything is allowed; CONNECT still reaches the allow line.
    assert only.index("http_access deny !CONNECT") < only.index("http_access allow lab_dst")
    assert "http_access deny !CONNECT" not in base
    assert squid.hosts_file().count(topo.UPSTREAM_NAME) == 2


def test_fault_parse_and_validation() -> None:
    assert Fault.parse("blackhole:2:up:1400") == Fault(FaultKind.BLACKHOLE, 2, Direction.UP, 1400)
    for bad in ("blackhole:3:up:1400", "nope:1:up:1400", "mtu:1:sideways:1400", "mtu:1:up:10",
                "mtu:1:up", "clamp:1:up:x"):
        with pytest.raises(ValueError):
            Fault.parse(bad)


def test_scenario_overrides() -> None:
    s = topo.SCENARIOS["blackhole"].with_overrides(1300, 2, Direction.DOWN,
                                                   [Fault.parse("clamp:1:both:1200")])
    assert s.faults == (Fault(FaultKind.BLACKHOLE, 2, Direction.DOWN, 1300),
                        Fault(FaultKind.CLAMP, 1, Direction.BOTH, 1200))
    with pytest.raises(ValueError, match="no fault to adjust"):
        topo.SCENARIOS["acl"].with_overrides(1400, None, None, [])


@given(st.text(alphabet=st.characters(blacklist_characters="\x00",
                                      blacklist_categories=("Cs",)), max_size=8)
       | st.from_regex(r"[a-z][a-z0-9]{0,5}-", fullmatch=True))
def test_lab_prefix_is_validated(prefix: str) -> None:
    import os
    old = os.environ.get(topo.PREFIX_ENV)
    os.environ[topo.PREFIX_ENV] = prefix
    try:
        try:
            value = topo.lab_prefix()
        except ValueError:
            return
        assert value == prefix and value.endswith("-") and len(value) <= 7
        assert all(len(topo.namespace(value, n)) <= 15 for n in topo.NODES)
    finally:
        if old is None:
            del os.environ[topo.PREFIX_ENV]
        else:
            os.environ[topo.PREFIX_ENV] = old


def test_squid_conf_intercept_combines_with_every_mode() -> None:
    for mode in ProxyMode:
        plain = squid.squid_conf(mode, "/w")
        bumped = squid.squid_conf(mode, "/w", intercept=True)
        assert "ssl-bump" not in plain and "ssl_bump" not in plain
        port_lines = [x for x in bumped.splitlines() if x.startswith("http_port ")]
        assert len(port_lines) == 2 and all(
            "ssl-bump tls-cert=/w/proxy-ca.crt tls-key=/w/proxy-ca.key "
            "generate-host-certificates=on" in x for x in port_lines)
        # peek at step 1 to learn the SNI, then bump; other ports (the reflector) spliced
        rules = [x for x in bumped.splitlines() if x.startswith("ssl_bump ")]
        assert rules == ["ssl_bump splice !tls_port", "ssl_bump peek step1", "ssl_bump bump all"]
        assert "sslcrtd_program /usr/lib/squid/security_file_certgen -s /w/ssl_db -M 4MB" in bumped
        # the mode's own rules stay, in the same order
        assert [x for x in bumped.splitlines() if x.startswith("http_access")] == \
            [x for x in plain.splitlines() if x.startswith("http_access")]


def test_intercept_scenario_and_flag_combine_with_faults() -> None:
    s = topo.SCENARIOS["intercept"]
    assert s.intercept and s.faults == () and s.proxy is ProxyMode.OPEN
    extra = topo.Fault.parse("blackhole:2:up:1400")
    combined = s.with_overrides(None, None, None, [extra])
    assert combined.intercept and combined.faults == (extra,)
    assert not topo.SCENARIOS["healthy"].intercept


def test_ca_commands_stay_in_the_workdir() -> None:
    cmds = squid.ca_commands("/w")
    assert cmds[0][0] == "openssl" and "basicConstraints=critical,CA:TRUE" in cmds[0]
    assert cmds[1] == [topo.CERTGEN, "-c", "-s", "/w/ssl_db", "-M", "4MB"]
    paths = [a for cmd in cmds for a in cmd
             if a.startswith("/") and a != topo.CERTGEN and not a.startswith("/O=")]
    assert paths and all(p.startswith("/w/") for p in paths)


def test_fmc_hosts_keeps_the_system_lines_and_names_only_lab_addresses() -> None:
    text = squid.fmc_hosts_file("127.0.0.1 localhost")
    assert text.startswith("127.0.0.1 localhost\n")
    assert len(topo.LONG_PROXY_NAME) > 64
    for line in text.splitlines()[1:]:
        if line.startswith("#"):
            continue
        address, *names = line.split()
        assert topo.is_lab_address(address) and topo.LONG_PROXY_NAME in names


def test_hello_drop_and_reset_rulesets_match_the_clienthello_record_length() -> None:
    # The field-notes recipe: a segment to port 443 that starts a handshake record (22)
    # carrying a ClientHello (1) whose record length exceeds N; nothing else is touched.
    drop = topo.nft_ruleset([Fault(FaultKind.HELLO_DROP, 2, Direction.UP, 1200)]).splitlines()
    assert ('    iifname "to-proxy" tcp dport 443 @ih,0,8 0x16 @ih,40,8 0x01 '
            '@ih,24,16 > 1200 drop') in drop
    rst = topo.nft_ruleset([Fault(FaultKind.HELLO_RST, 2, Direction.UP, 1200)])
    assert "@ih,24,16 > 1200 reject with tcp reset" in rst
    assert "ip length" not in rst and "ip6 length" not in rst   # sizes alone pass


def test_hello_scenarios_are_listed() -> None:
    for name, kind in (("hello-drop", FaultKind.HELLO_DROP), ("hello-rst", FaultKind.HELLO_RST)):
        s = topo.SCENARIOS[name]
        assert [(f.kind, f.leg, f.direction) for f in s.faults] == [(kind, 2, Direction.UP)]
