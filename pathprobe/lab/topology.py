"""The lab's shape as plain data: nodes, links, addresses, routes, scenarios,
and the commands and nft rulesets that put faults in effect (the proxy's own
config text is ``pathprobe.lab.squid``). Pure: nothing here runs a command, so
all of it is unit-tested.

Topology (every address from 198.18.0.0/15 and 2001:db8::/32)::

    fmc --link1-- r1 --link2-- proxy --link3-- r2 --link4-- upstream
    .2        .1     .1       .2     .2        .1     .1        .2

Leg 1 (fmc-proxy) faults live on r1, leg 2 (proxy-upstream) faults on r2.
"Up" is towards the upstream, "down" back towards the fmc.

With ``--fmcs N`` (many FMCs, issue 14) fmc2..fmcN hang off r1 as well, each on
its own link and subnet (fmcK: 198.18.(10+K).0/24, 2001:db8:(10+K)::/64), and
a leg-1 fault can name the FMC whose link it is on (``@fmc2``).
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from pathprobe.compat import StrEnum
from pathprobe.model import Direction
from pathprobe.wire.overhead import IPV6_HEADER  # nft "ip6 length" is the payload length

DEFAULT_PREFIX = "pp-"
PREFIX_ENV = "PATHPROBE_LAB_PREFIX"

NODES = ("fmc", "r1", "proxy", "r2", "upstream")
ROUTERS = ("r1", "proxy", "r2")  # forward packets; the proxy routes fmc<->upstream too

PROXY_PORT = 3128
UPSTREAM_TLS_PORT = 443
UPSTREAM_HTTP_PORT = 80
REFLECTOR_PORT = 7007
UPSTREAM_NAME = "upstream.pathprobe.test"
DENIED_NAME = "denied.pathprobe.test"
LAB_USER = "fmc"
LAB_PASSWORD = "lab-secret"  # a lab-only credential, documented in README
AUTH_REALM = "pathprobe-lab"
DEFAULT_BODY_BYTES = 256 * 1024
# Interception (squid ssl-bump): the lab CA's files and squid's certificate database, all
# inside the lab's work directory (removed with it at 'lab down').
PROXY_CA_CERT = "proxy-ca.crt"
PROXY_CA_KEY = "proxy-ca.key"
PROXY_CA_NAME = "pathprobe lab interception CA"
CERT_DB = "ssl_db"
CERTGEN = "/usr/lib/squid/security_file_certgen"
# A name for the proxy longer than the 64 characters Smart Licensing accepts; the fmc
# namespace resolves it (and PROXY_NAME) to the proxy's lab address (squid.fmc_hosts_file).
PROXY_NAME = "proxy.pathprobe.test"
LONG_PROXY_NAME = "proxy-with-a-name-longer-than-smart-licensing-allows.pathprobe.test"

IPV6_MIN_MTU = 1280


@dataclass(frozen=True)
class Link:
    """A veth pair: ``router`` gets .1 / ::1 and ``host`` gets .2 / ::2 on subnet ``index``."""

    index: int
    router: str
    host: str

    @property
    def v4_net(self) -> str:
        return f"198.18.{self.index}.0/24"

    @property
    def v6_net(self) -> str:
        return f"2001:db8:{self.index}::/64"

    def v4(self, node: str) -> str:
        return f"198.18.{self.index}.{1 if node == self.router else 2}"

    def v6(self, node: str) -> str:
        return f"2001:db8:{self.index}::{1 if node == self.router else 2}"

    def peer(self, node: str) -> str:
        return self.host if node == self.router else self.router


LINKS = (
    Link(1, "r1", "fmc"),
    Link(2, "r1", "proxy"),
    Link(3, "r2", "proxy"),
    Link(4, "r2", "upstream"),
)

MAX_FMCS = 4
FMC_LINK_BASE = 10  # fmcK's link (K >= 2) is number 10 + K: 198.18.12.0/24 for fmc2


def fmc_names(fmcs: int = 1) -> tuple[str, ...]:
    """The FMC nodes of a lab with ``fmcs`` FMCs: fmc, fmc2, fmc3 ..."""
    if not 1 <= fmcs <= MAX_FMCS:
        raise ValueError(f"the lab has 1 to {MAX_FMCS} FMCs, not {fmcs}")
    return ("fmc", *(f"fmc{k}" for k in range(2, fmcs + 1)))


def lab_links(fmcs: int = 1) -> tuple[Link, ...]:
    """Every link of a lab with ``fmcs`` FMCs (the first four are LINKS)."""
    return LINKS + tuple(Link(FMC_LINK_BASE + int(name[3:]), "r1", name)
                         for name in fmc_names(fmcs)[1:])


def lab_nodes(fmcs: int = 1) -> tuple[str, ...]:
    return NODES + fmc_names(fmcs)[1:]


ALL_NODES = lab_nodes(MAX_FMCS)  # what 'lab down' looks for, whatever the state file says


def fmc_link(name: str) -> Link:
    """The link between r1 and FMC ``name``."""
    found = [x for x in lab_links(MAX_FMCS) if x.host == name and x.router == "r1"]
    if not found:
        raise ValueError(f"no FMC named {name!r}; FMCs are {', '.join(fmc_names(MAX_FMCS))}")
    return found[0]


def _chain_position(node: str) -> int:
    """Where ``node`` sits on fmc -- r1 -- proxy -- r2 -- upstream (every FMC at 0)."""
    return 0 if node.startswith("fmc") else NODES.index(node)


FMC_V4 = LINKS[0].v4("fmc")
PROXY_V4 = LINKS[1].v4("proxy")
PROXY_V6 = LINKS[1].v6("proxy")
PROXY_UPSTREAM_SIDE_V4 = LINKS[2].v4("proxy")
UPSTREAM_V4 = LINKS[3].v4("upstream")
UPSTREAM_V6 = LINKS[3].v6("upstream")
R1_V4 = LINKS[0].v4("r1")
R2_V4 = LINKS[3].v4("r2")
PROXY_URL = f"http://{PROXY_V4}:{PROXY_PORT}"


def ifname(peer: str) -> str:
    """Interface names are per namespace, so 'to-<peer>' is unique and readable."""
    return f"to-{peer}"[:15]


def lab_prefix() -> str:
    """Namespace name prefix; PATHPROBE_LAB_PREFIX lets labs coexist (e.g. parallel CI jobs)."""
    prefix = os.environ.get(PREFIX_ENV, DEFAULT_PREFIX)
    if not re.fullmatch(r"[a-z][a-z0-9]{0,5}-", prefix):
        raise ValueError(f"{PREFIX_ENV} must look like 'pp-' (a letter, up to 5 more letters or "
                         f"digits, then '-'), not {prefix!r}")
    return prefix


def namespace(prefix: str, node: str) -> str:
    return f"{prefix}{node}"


class FaultKind(StrEnum):
    MTU = "mtu"
    MTU_NOICMP = "mtu-noicmp"
    BLACKHOLE = "blackhole"
    CLAMP = "clamp"
    RST = "rst"
    STALL = "stall"
    HELLO_DROP = "hello-drop"
    HELLO_RST = "hello-rst"
    DROP_ONCE = "drop-once"


FAULT_HELP = {
    FaultKind.MTU: "router MTU N: larger DF packets get ICMP frag-needed / Packet Too Big",
    FaultKind.MTU_NOICMP: "router MTU N with frag-needed / Packet Too Big filtered (no ICMP)",
    FaultKind.BLACKHOLE: "packets larger than N bytes are silently dropped",
    FaultKind.CLAMP: "MSS option of SYNs rewritten down to N",
    FaultKind.RST: "TCP packets larger than N bytes are answered by a TCP reset",
    FaultKind.STALL: "TCP connections stop passing data after N bytes (quota/inspection)",
    FaultKind.HELLO_DROP: "segments to port 443 starting a TLS ClientHello record longer than N "
                          "bytes are dropped (a hello-inspecting middlebox; sizes alone pass)",
    FaultKind.HELLO_RST: "the same ClientHello records are answered by a TCP reset",
    FaultKind.DROP_ONCE: "the first TCP packet of exactly N bytes is dropped, once (a lost piece "
                         "of a write: the proxy relays the pieces apart)",
}


@dataclass(frozen=True)
class Fault:
    """One impairment: kind, leg (1 = fmc-proxy on r1, 2 = proxy-upstream on r2), size N.

    ``fmc`` pins a leg-1 fault to one FMC's link (many FMCs); None: all traffic r1
    forwards, as in the one-FMC lab.
    """

    kind: FaultKind
    leg: int
    direction: Direction
    size: int
    fmc: str | None = None

    def __post_init__(self) -> None:
        if self.leg not in (1, 2):
            raise ValueError(f"leg must be 1 or 2, not {self.leg}")
        if self.fmc is not None:
            if self.leg != 1:
                raise ValueError("only a leg-1 fault can name an FMC (@FMC): leg 2 is "
                                 "shared by every FMC")
            fmc_link(self.fmc)
        low, high = SIZE_LIMITS[self.kind]
        if not low <= self.size <= high:
            raise ValueError(f"{self.kind.value} size must be in {low}..{high}, not {self.size}")

    @property
    def router(self) -> str:
        return "r1" if self.leg == 1 else "r2"

    def describe(self) -> str:
        where = f" of {self.fmc}" if self.fmc else ""
        return (f"{self.kind.value} {self.size} on leg {self.leg}{where} "
                f"({'fmc-proxy' if self.leg == 1 else 'proxy-upstream'}), {self.direction.value}")

    @property
    def spec(self) -> str:
        """The --fault text that gives this fault back (``Fault.parse``)."""
        text = f"{self.kind.value}:{self.leg}:{self.direction.value}:{self.size}"
        return f"{text}@{self.fmc}" if self.fmc else text

    @classmethod
    def parse(cls, spec: str) -> Fault:
        """'KIND:LEG:DIRECTION:N[@FMC]', e.g. 'blackhole:2:up:1400', 'clamp:1:both:1300@fmc3'."""
        body, at, fmc = spec.partition("@")
        parts = body.split(":")
        if len(parts) != 4 or (at and not fmc):
            raise ValueError(f"fault spec {spec!r} is not KIND:LEG:DIRECTION:N[@FMC] "
                             "(e.g. blackhole:2:up:1400 or blackhole:1:both:1372@fmc2)")
        kind, leg, direction, size = parts
        try:
            return cls(FaultKind(kind), int(leg), Direction(direction), int(size),
                       fmc or None)
        except ValueError as e:
            raise ValueError(f"fault spec {spec!r}: {e}") from None


SIZE_LIMITS = {
    FaultKind.MTU: (576, 1500),
    FaultKind.MTU_NOICMP: (576, 1500),
    FaultKind.BLACKHOLE: (100, 1500),
    FaultKind.CLAMP: (88, 1460),
    FaultKind.RST: (100, 1500),
    FaultKind.STALL: (1, 1 << 30),
    FaultKind.HELLO_DROP: (100, 16384),
    FaultKind.HELLO_RST: (100, 16384),
    FaultKind.DROP_ONCE: (60, 1500),
}
# A segment to the TLS port that starts a handshake record (type 22) carrying a ClientHello
# (type 1) whose record length (bytes 3-4) exceeds N: nftables 1.0.6 raw payload after the
# transport header (@ih, offsets in bits), the field-notes recipe.
_HELLO_MATCH = "tcp dport {port} @ih,0,8 0x16 @ih,40,8 0x01 @ih,24,16 > {n}"


class ProxyMode(StrEnum):
    OPEN = "open"
    ACL = "acl"
    BASIC = "basic"
    DIGEST = "digest"
    NTLM = "ntlm"
    CONNECT_ONLY = "connect-only"   # tunnels only: plain HTTP (GET http://...) refused


@dataclass(frozen=True)
class Scenario:
    """A named lab set-up. ``intercept`` makes squid decrypt TLS (ssl-bump, peek at step 1,
    then bump) with the lab's own CA; it combines with every proxy mode and fault."""

    name: str
    description: str
    faults: tuple[Fault, ...] = ()
    proxy: ProxyMode = ProxyMode.OPEN
    upstream_up: bool = True
    notes: tuple[str, ...] = field(default=())
    intercept: bool = False

    def with_overrides(self, size: int | None, leg: int | None,
                       direction: Direction | None, extra: Sequence[Fault]) -> Scenario:
        """Apply --param/--leg/--direction to the main (first) fault and add --fault extras."""
        faults = list(self.faults)
        if size is not None or leg is not None or direction is not None:
            if not faults:
                raise ValueError(f"scenario {self.name!r} has no fault to adjust; "
                                 "use --fault KIND:LEG:DIRECTION:N to add one")
            main = faults[0]
            faults[0] = Fault(main.kind, leg if leg is not None else main.leg,
                              direction if direction is not None else main.direction,
                              size if size is not None else main.size)
        return replace(self, faults=(*faults, *extra))

    def for_fmcs(self, fmcs: int) -> Scenario:
        """This scenario on a lab with ``fmcs`` FMCs: with more than one, a leg-1 fault
        without @FMC is pinned to the first FMC (fmc), so the others keep a clean leg 1;
        a fault naming an FMC the lab does not have is an error."""
        names = fmc_names(fmcs)
        for f in self.faults:
            if f.fmc is not None and f.fmc not in names:
                raise ValueError(f"fault {f.spec!r} names {f.fmc}, but the lab has "
                                 f"{', '.join(names)} (use --fmcs)")
        if fmcs == 1:
            return self
        return replace(self, faults=tuple(
            replace(f, fmc="fmc") if f.leg == 1 and f.fmc is None else f
            for f in self.faults))


_BOTH, _UP = Direction.BOTH, Direction.UP
SCENARIOS: dict[str, Scenario] = {s.name: s for s in (
    Scenario("healthy", "clean path, open proxy, nothing wrong"),
    Scenario("mtu", "leg 1 router MTU 1400; larger DF packets get ICMP frag-needed",
             (Fault(FaultKind.MTU, 1, _BOTH, 1400),)),
    Scenario("mtu-noicmp", "leg 1 router MTU 1400 with ICMP frag-needed filtered "
             "(PMTUD black hole)", (Fault(FaultKind.MTU_NOICMP, 1, _BOTH, 1400),)),
    Scenario("blackhole", "leg 1 silently drops packets larger than 1372 bytes",
             (Fault(FaultKind.BLACKHOLE, 1, _BOTH, 1372),)),
    Scenario("clamp", "leg 1 clamps the TCP MSS of SYNs to 1300",
             (Fault(FaultKind.CLAMP, 1, _BOTH, 1300),)),
    Scenario("rst", "leg 1 answers TCP packets larger than 1300 bytes with a reset",
             (Fault(FaultKind.RST, 1, _BOTH, 1300),)),
    Scenario("stall", "leg 2 stops passing a connection's data after 65536 bytes",
             (Fault(FaultKind.STALL, 2, _BOTH, 65536),)),
    Scenario("acl", "the proxy refuses CONNECT to the upstream with 403", proxy=ProxyMode.ACL),
    Scenario("auth-basic", f"the proxy requires Basic auth (user {LAB_USER})",
             proxy=ProxyMode.BASIC),
    Scenario("auth-digest", f"the proxy requires Digest auth (user {LAB_USER})",
             proxy=ProxyMode.DIGEST),
    Scenario("auth-ntlm", "the proxy offers only NTLM authentication", proxy=ProxyMode.NTLM),
    Scenario("connect-only", "the proxy allows CONNECT tunnels only; plain HTTP "
             "(GET http://...) gets 403", proxy=ProxyMode.CONNECT_ONLY),
    Scenario("upstream-down", "the upstream is not listening; the proxy answers 503",
             upstream_up=False),
    Scenario("intercept", "the proxy decrypts TLS to port 443 (squid ssl-bump, its own lab "
             "CA); combine with --fault", intercept=True),
    Scenario("hello-drop", "leg 2 drops TLS ClientHello records longer than 1200 bytes while "
             "1500-byte packets cross (post-quantum hello intolerance, 'tldr.fail')",
             (Fault(FaultKind.HELLO_DROP, 2, _UP, 1200),)),
    Scenario("hello-rst", "leg 2 answers TLS ClientHello records longer than 1200 bytes with "
             "a TCP reset; 1500-byte packets cross", (Fault(FaultKind.HELLO_RST, 2, _UP, 1200),)),
    Scenario("article", "the article's failure: MSS clamped to 1300 on leg 1 and "
             "a 1400-byte black hole on leg 2",
             (Fault(FaultKind.CLAMP, 1, _BOTH, 1300), Fault(FaultKind.BLACKHOLE, 2, _UP, 1400))),
)}


def router_ifaces(router: str) -> tuple[str, str]:
    """(interface towards the fmc, interface towards the upstream) of a router."""
    down_peer = {"r1": "fmc", "r2": "proxy"}[router]
    up_peer = {"r1": "proxy", "r2": "upstream"}[router]
    return ifname(down_peer), ifname(up_peer)


@dataclass(frozen=True)
class Route:
    prefix: str
    via: str | None
    dev: str


def routes(node: str, fmcs: int = 1) -> list[Route]:
    """Static routes for every lab subnet not directly attached to ``node``.

    No default route anywhere: a lab packet to any address outside the lab
    fails locally with 'network unreachable' instead of leaving.
    """
    links = lab_links(fmcs)
    attached = [link for link in links if node in (link.router, link.host)]
    out: list[Route] = []
    for family in ("v4", "v6"):
        for link in links:
            if link in attached:
                out.append(Route(link.v4_net if family == "v4" else link.v6_net, None,
                                 ifname(link.peer(node))))
                continue
            # Next hop: walk along the chain towards the target link (every FMC is at
            # the fmc end, behind r1).
            here = _chain_position(node)
            there = min(_chain_position(link.router), _chain_position(link.host))
            step = 1 if there >= here else -1
            neighbour = NODES[here + step]
            via_link = next(x for x in attached if neighbour in (x.router, x.host))
            via = via_link.v4(neighbour) if family == "v4" else via_link.v6(neighbour)
            out.append(Route(link.v4_net if family == "v4" else link.v6_net, via,
                             ifname(neighbour)))
    return out


def _direction_prefixes(router: str, direction: Direction) -> list[Route]:
    """The routes on ``router`` that carry traffic in ``direction``."""
    down_if, up_if = router_ifaces(router)
    wanted = {Direction.UP: {up_if}, Direction.DOWN: {down_if},
              Direction.BOTH: {up_if, down_if}}[direction]
    return [r for r in routes(router) if r.dev in wanted]


def mtu_route_commands(fault: Fault) -> list[list[str]]:
    """`ip route replace ... mtu lock N` on the fault's router (family from the prefix).

    A forwarding Linux router honours a route's MTU metric and answers larger
    DF packets with frag-needed carrying N, exactly as a router with a small
    next-hop link does, without touching veth MTUs (a veth silently drops
    received frames above its own MTU, which would add an unwanted black hole
    in the other direction).

    A fault pinned to one FMC changes that FMC's connected route (down) and, for up,
    the routes of its own policy table (``mtu_rule_commands`` sends its traffic there).
    """
    if fault.fmc is not None:
        return _pinned_mtu_route_commands(fault)
    cmds = []
    for r in _direction_prefixes(fault.router, fault.direction):
        is_v6 = ":" in r.prefix
        if is_v6 and fault.size < IPV6_MIN_MTU:
            continue  # IPv6 links cannot go below 1280; the v4 fault still applies
        cmd = ["route", "replace", r.prefix]
        if r.via:
            cmd += ["via", r.via]
        cmd += ["dev", r.dev]
        if is_v6 and not r.via:
            # IPv6 keys routes by metric: match the kernel's connected route (256)
            # so it is replaced rather than shadowed by a second one.
            cmd += ["metric", "256"]
        cmd += ["mtu", "lock", str(fault.size)]
        cmds.append(cmd)
    return cmds


def fmc_table(fmc: str) -> int:
    """The policy routing table on r1 for traffic from FMC ``fmc`` (fmc: 101, fmc2: 102)."""
    return 100 + (int(fmc[3:]) if fmc[3:] else 1)


def _pinned_mtu_route_commands(fault: Fault) -> list[list[str]]:
    assert fault.fmc is not None
    dev = ifname(fault.fmc)
    table = str(fmc_table(fault.fmc))
    cmds = []
    for r in routes("r1", MAX_FMCS):
        is_v6 = ":" in r.prefix
        if is_v6 and fault.size < IPV6_MIN_MTU:
            continue
        going_down = r.dev == dev and fault.direction in (Direction.DOWN, Direction.BOTH)
        going_up = r.dev == ifname("proxy") and fault.direction in (Direction.UP,
                                                                     Direction.BOTH)
        if not (going_down or going_up):
            continue
        cmd = ["route", "replace", r.prefix, *(["via", r.via] if r.via else []), "dev", r.dev]
        if going_up:
            cmd += ["table", table]
        elif is_v6:
            cmd += ["metric", "256"]  # the connected route, as above
        cmds.append([*cmd, "mtu", "lock", str(fault.size)])
    return cmds


def mtu_rule_commands(fault: Fault) -> list[list[str]]:
    """`ip -4/-6 rule` arguments that route a pinned FMC's up traffic through its own table
    (where ``mtu_route_commands`` lowered the MTU); none for any other fault."""
    if fault.fmc is None or fault.direction is Direction.DOWN or fault.kind not in (
            FaultKind.MTU, FaultKind.MTU_NOICMP):
        return []
    rule = ["rule", "add", "iif", ifname(fault.fmc), "lookup", str(fmc_table(fault.fmc))]
    families = ["-4"] + (["-6"] if fault.size >= IPV6_MIN_MTU else [])
    return [[family, *rule] for family in families]


def _iif_match(fault: Fault) -> list[str]:
    if fault.fmc is not None:  # this FMC's link only: in from it (up), out to it (down)
        dev = ifname(fault.fmc)
        return {Direction.UP: [f'iifname "{dev}" '], Direction.DOWN: [f'oifname "{dev}" '],
                Direction.BOTH: [f'iifname "{dev}" ', f'oifname "{dev}" ']}[fault.direction]
    down_if, up_if = router_ifaces(fault.router)
    if fault.direction is Direction.UP:
        return [f'iifname "{down_if}" ']
    if fault.direction is Direction.DOWN:
        return [f'iifname "{up_if}" ']
    return [""]


def _icmp_out_match(fault: Fault) -> list[str]:
    """Where the ICMP a pinned MTU fault would send leaves r1: to the FMC for its up
    traffic, to the proxy for its down traffic (shared with the other FMCs' down ICMP)."""
    if fault.fmc is None:
        return [""]
    out = []
    if fault.direction in (Direction.UP, Direction.BOTH):
        out.append(f'oifname "{ifname(fault.fmc)}" ')
    if fault.direction in (Direction.DOWN, Direction.BOTH):
        out.append(f'oifname "{ifname("proxy")}" ')
    return out


def nft_ruleset(faults: Sequence[Fault], table: str = "pathprobe") -> str:
    """The nftables ruleset one router needs for ``faults`` (all on that router)."""
    mangle: list[str] = []
    filt: list[str] = []
    output: list[str] = []
    for f in faults:
        for iif in _iif_match(f):
            n = f.size
            if f.kind is FaultKind.CLAMP:
                mangle.append(f"{iif}tcp flags & syn == syn tcp option maxseg size > {n} "
                              f"tcp option maxseg size set {n}")
            elif f.kind is FaultKind.BLACKHOLE:
                filt.append(f"{iif}ip length > {n} drop")
                filt.append(f"{iif}ip6 length > {max(n - IPV6_HEADER, 0)} drop")
            elif f.kind is FaultKind.RST:
                filt.append(f"{iif}meta l4proto tcp ip length > {n} reject with tcp reset")
                filt.append(f"{iif}meta l4proto tcp ip6 length > {max(n - IPV6_HEADER, 0)} "
                            "reject with tcp reset")
            elif f.kind is FaultKind.STALL:
                filt.append(f"{iif}meta l4proto tcp ct bytes > {n} drop")
            elif f.kind in (FaultKind.HELLO_DROP, FaultKind.HELLO_RST):
                action = "drop" if f.kind is FaultKind.HELLO_DROP else "reject with tcp reset"
                match = _HELLO_MATCH.format(port=UPSTREAM_TLS_PORT, n=n)
                filt.append(f"{iif}{match} {action}")
            elif f.kind is FaultKind.DROP_ONCE:  # each rule's quota drops one packet
                filt.append(f"{iif}meta l4proto tcp ip length {n} quota until {n + 1} bytes "
                            "drop")
                filt.append(f"{iif}meta l4proto tcp ip6 length {max(n - IPV6_HEADER, 0)} "
                            f"quota until {n + 1} bytes drop")
        if f.kind is FaultKind.MTU_NOICMP:
            for oif in _icmp_out_match(f):
                output.append(f"{oif}icmp type destination-unreachable icmp code frag-needed "
                              "drop")
                output.append(f"{oif}icmpv6 type packet-too-big drop")
    lines = [f"table inet {table} {{"]
    for name, hook, prio, rules in (("mangle_fwd", "forward", "mangle", mangle),
                                    ("filter_fwd", "forward", "filter", filt),
                                    ("filter_out", "output", "filter", output)):
        if not rules:
            continue
        lines.append(f"  chain {name} {{")
        lines.append(f"    type filter hook {hook} priority {prio}; policy accept;")
        lines += [f"    {rule}" for rule in dict.fromkeys(rules)]
        lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def needs_conntrack_accounting(faults: Sequence[Fault]) -> bool:
    return any(f.kind is FaultKind.STALL for f in faults)


def is_lab_address(address: str) -> bool:
    """True for the only addresses lab traffic may go to."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    nets = (ipaddress.ip_network("198.18.0.0/15"), ipaddress.ip_network("2001:db8::/32"))
    return any(ip in n for n in nets)
