"""The many-FMC lab's pure parts: links, routes, per-FMC faults, sshd and client configs."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pathprobe.cli import main
from pathprobe.lab import ssh
from pathprobe.lab import topology as topo
from pathprobe.lab.topology import Fault, FaultKind
from pathprobe.model import Direction


@pytest.mark.parametrize("fmcs", [1, 2, 3, 4])
def test_every_node_routes_every_subnet_of_the_lab(fmcs: int) -> None:
    links = topo.lab_links(fmcs)
    nets = [ipaddress.ip_network(x.v4_net) for x in links]
    assert all(a == b or not a.overlaps(b) for a in nets for b in nets)  # own subnets
    for link in links:
        for node in (link.router, link.host):
            assert topo.is_lab_address(link.v4(node)) and topo.is_lab_address(link.v6(node))
    for node in topo.lab_nodes(fmcs):
        rs = topo.routes(node, fmcs)
        assert {r.prefix for r in rs} == {x.v4_net for x in links} | {x.v6_net for x in links}
        attached = [x for x in links if node in (x.router, x.host)]
        for r in rs:
            if r.via:
                on = [ipaddress.ip_network(x.v6_net if ":" in r.via else x.v4_net)
                      for x in attached]
                assert any(ipaddress.ip_address(r.via) in n for n in on), (node, r)
    # every extra FMC reaches the proxy through r1, and the proxy answers through r1
    for name in topo.fmc_names(fmcs)[1:]:
        to_proxy = next(r for r in topo.routes(name, fmcs) if r.prefix == "198.18.2.0/24")
        assert to_proxy.via == topo.fmc_link(name).v4("r1")
        back = next(r for r in topo.routes("proxy", fmcs)
                    if r.prefix == topo.fmc_link(name).v4_net)
        assert back.via == topo.LINKS[1].v4("r1")


def test_one_fmc_lab_is_unchanged() -> None:
    assert topo.lab_links(1) == topo.LINKS and topo.lab_nodes(1) == topo.NODES
    assert topo.routes("proxy", 1) == topo.routes("proxy")
    assert topo.fmc_names(3) == ("fmc", "fmc2", "fmc3")
    assert topo.fmc_link("fmc2").v4("fmc2") == "198.18.12.2"
    with pytest.raises(ValueError):
        topo.fmc_names(5)


def test_fault_spec_with_an_fmc_round_trips() -> None:
    f = Fault.parse("blackhole:1:both:1372@fmc2")
    assert f.fmc == "fmc2" and Fault.parse(f.spec) == f
    assert "of fmc2" in f.describe()
    assert Fault.parse("rst:2:up:1300").spec == "rst:2:up:1300"
    for bad in ("blackhole:2:up:1400@fmc2", "blackhole:1:up:1400@", "clamp:1:up:1300@r1",
                "clamp:1:up:1300@fmc9"):
        with pytest.raises(ValueError):
            Fault.parse(bad)


def test_many_fmcs_pin_unnamed_leg1_faults_to_the_first() -> None:
    scenario = topo.SCENARIOS["article"].with_overrides(
        None, None, None, [Fault.parse("clamp:1:both:1200@fmc3")])
    assert topo.SCENARIOS["article"].for_fmcs(1) == topo.SCENARIOS["article"]
    pinned = scenario.for_fmcs(3).faults
    assert [(f.leg, f.fmc) for f in pinned] == [(1, "fmc"), (2, None), (1, "fmc3")]
    for too_few in (1, 2):
        with pytest.raises(ValueError, match="--fmcs"):
            scenario.for_fmcs(too_few)


@pytest.mark.parametrize(("direction", "matches"), [
    (Direction.UP, ['iifname "to-fmc2" ']), (Direction.DOWN, ['oifname "to-fmc2" ']),
    (Direction.BOTH, ['iifname "to-fmc2" ', 'oifname "to-fmc2" '])])
def test_pinned_rulesets_touch_only_that_fmcs_link(direction: Direction,
                                                  matches: list[str]) -> None:
    rules = topo.nft_ruleset([Fault(FaultKind.BLACKHOLE, 1, direction, 1372, "fmc2"),
                              Fault(FaultKind.CLAMP, 1, direction, 1300, "fmc2")])
    lines = [line.strip() for line in rules.splitlines()]
    for m in matches:
        assert f"{m}ip length > 1372 drop" in lines
        assert (f"{m}tcp flags & syn == syn tcp option maxseg size > 1300 "
                "tcp option maxseg size set 1300") in lines
    rule_lines = [x for x in lines if "drop" in x or "set" in x]
    assert len(rule_lines) == 3 * len(matches)
    assert all("fmc2" in x for x in rule_lines)


def test_pinned_mtu_changes_that_fmcs_routes_only() -> None:
    down = topo.mtu_route_commands(Fault(FaultKind.MTU, 1, Direction.DOWN, 1400, "fmc3"))
    assert [c[2] for c in down] == ["198.18.13.0/24", "2001:db8:13::/64"]
    assert topo.mtu_rule_commands(Fault(FaultKind.MTU, 1, Direction.DOWN, 1400, "fmc3")) == []
    up = Fault(FaultKind.MTU_NOICMP, 1, Direction.UP, 1400, "fmc3")
    cmds = topo.mtu_route_commands(up)
    assert cmds and all(c[c.index("table") + 1] == "103" and "to-proxy" in c for c in cmds)
    assert topo.mtu_rule_commands(up) == [
        ["-4", "rule", "add", "iif", "to-fmc3", "lookup", "103"],
        ["-6", "rule", "add", "iif", "to-fmc3", "lookup", "103"]]
    icmp = [x.strip() for x in topo.nft_ruleset([up]).splitlines() if "icmp" in x]
    assert icmp and all(x.startswith('oifname "to-fmc3" ') for x in icmp)
    small = topo.mtu_rule_commands(Fault(FaultKind.MTU, 1, Direction.BOTH, 1000, "fmc2"))
    assert [r[0] for r in small] == ["-4"]  # IPv6 links cannot go below 1280


@given(st.sampled_from(list(FaultKind)), st.sampled_from(list(Direction)),
       st.sampled_from(["fmc", "fmc2", "fmc3", "fmc4"]), st.integers(100, 1460))
def test_a_pinned_fault_never_matches_another_fmc(kind: FaultKind, direction: Direction,
                                                   fmc: str, size: int) -> None:
    low, high = topo.SIZE_LIMITS[kind]
    fault = Fault(kind, 1, direction, min(max(size, low), high), fmc)
    text = topo.nft_ruleset([fault])
    others = [n for n in topo.fmc_names(4) if n != fmc]
    for other in others:
        assert f'"to-{other}"' not in text
    for cmd in topo.mtu_route_commands(fault):
        assert not any(f"to-{o}" == part for o in others for part in cmd)


def test_sshd_config_listens_on_the_lab_address_only(tmp_path: Path) -> None:
    text = ssh.sshd_config("fmc2", tmp_path)
    lines = text.splitlines()
    listen = [x for x in lines if x.startswith("ListenAddress")]
    assert listen == ["ListenAddress 198.18.12.2:22"]
    for required in ("PasswordAuthentication no", "PermitRootLogin prohibit-password",
                     "AllowTcpForwarding no", "KbdInteractiveAuthentication no"):
        assert required in lines
    assert f"AuthorizedKeysFile {tmp_path / 'authorized_keys'}" in lines
    client = ssh.client_config(["fmc", "fmc2"], tmp_path).splitlines()
    assert "  HostName 198.18.12.2" in client and "  StrictHostKeyChecking yes" in client
    assert ssh.known_hosts({"fmc3": "ssh-ed25519 AAAA x\n"}) == "198.18.13.2 ssh-ed25519 AAAA x\n"
    argv = ssh.sshd_argv(tmp_path, "fmc2")
    assert argv[:2] == ["unshare", "--uts"] and "hostname fmc2 && exec" in argv[-1]
    with pytest.raises(Exception, match="FMC"):
        ssh.sshd_argv(tmp_path, "fmc2; reboot")


def test_lab_cli_rejects_bad_fmc_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lab", "up", "healthy", "--fmcs", "5"]) == 2
    assert main(["lab", "up", "healthy", "--fault", "blackhole:1:up:1300@fmc3"]) == 2
    assert "fmc3" in capsys.readouterr().err
    assert main(["lab", "exec", "--node", "fmc9", "--", "true"]) == 2
    assert main(["lab", "up", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--fmcs" in out and "@fmc2" in out and "--ssh" in out
