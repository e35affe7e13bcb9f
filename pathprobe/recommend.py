"""Recommendations computed from measured numbers: where, platform, exact command, why.

Pure. Every size printed here is derived from a number a verdict rests on and
is never above it: a recommendation computed from a too-high MTU recreates the
black hole it should cure. The rules are data (``RULES``): a verdict code, the
legs it applies to, and a function from the verdict's proven limits to
recommendations.

Command syntax was checked against vendor documentation:

- FTD/ASA ``sysopt connection tcpmss BYTES`` (global; ASA default 1380; on an
  FMC-managed FTD it is deployed with FlexConfig) and ``mtu IFNAME BYTES``.
- IOS/IOS-XE ``ip tcp adjust-mss BYTES`` (interface configuration, 500..1460)
  and ``ip mtu BYTES`` (interface configuration).
- Linux ``ip link set dev IFACE mtu N`` and ``sysctl -w net.ipv4.tcp_mtu_probing=1``.
- FMC: the management interface MTU is set in the web UI, System >
  Configuration > Management Interfaces > Interfaces (edit the interface, MTU).
  (``configure network mtu`` is the threat-defense device CLI, not the FMC's.)
- FMC proxy authentication: Basic or Digest work, NTLM does not (the article).
- Exempting the FMC's destinations from TLS decryption: squid ``ssl_bump splice``
  with an ``ssl::server_name`` ACL after ``ssl_bump peek step1`` (squid-cache.org
  Doc/config/ssl_bump and Doc/config/acl; tried in the lab's 'intercept'
  scenario: the client then sees the target's own certificate); Cisco Secure Web
  Appliance: a Decryption Policy whose custom URL category holds the FMC's
  destinations, action "Pass Through" (AsyncOS for Web User Guide, "Bypassing
  Decryption for Particular Websites" and "Configuring URL Filters for Decryption
  Policy Groups", Web Security Manager > Decryption Policies).
- Post-quantum hellos (TLS_HELLO_DROPPED): OpenSSL 3.5's ``Groups`` list marks the
  groups that get a key share with ``*`` (SSL_CTX_set1_groups_list); Chrome/Edge's
  enterprise policy ``PostQuantumKeyAgreementEnabled``; Firefox's
  ``security.tls.enable_kyber``; Go 1.24's ``GODEBUG=tlsmlkem=0``. Never an MTU or MSS
  change for this verdict.
- The appliance's own MTU/MSS toward the Internet: no AsyncOS command for it was
  found in the guides checked, so none is printed; the generic proxy form and the
  edge firewall's commands (above) apply to it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from pathprobe.model import (
    Confidence,
    IpVersion,
    Leg,
    Recommendation,
    Verdict,
    VerdictCode,
)
from pathprobe.wire.hostport import HostPort
from pathprobe.wire.overhead import ip_tcp_overhead

# How to undo each kind of change (change requests need a backout plan).
UNDO_FMC_MTU = "set the MTU back to the value it had (1500 unless it was changed before)"
# Now, and across reboots: the persistent line is a command of its own (never inside "why").
MTU_PROBING = ("sudo sysctl -w net.ipv4.tcp_mtu_probing=1\n"
               "echo 'net.ipv4.tcp_mtu_probing=1' | sudo tee /etc/sysctl.d/90-pathprobe.conf")
UNDO_MTU_PROBING = ("sudo sysctl -w net.ipv4.tcp_mtu_probing=0\n"
                    "sudo rm /etc/sysctl.d/90-pathprobe.conf")
UNDO_TCPMSS = "no sysopt connection tcpmss (back to the default, 1380)"


def _undo_ip_link(dev: str) -> str:
    return (f"sudo ip link set dev {dev} mtu <PREVIOUS> (note it first: ip link show {dev}); "
            "a reboot also restores it")

IPV4_MIN_MTU = 576  # smaller than this is not worth recommending to anyone
IPV6_MIN_MTU = 1280
IOS_ADJUST_MSS_RANGE = (500, 1460)
FMC_MTU_UI = "System > Configuration > Management Interfaces > Interfaces"


@dataclass(frozen=True)
class Limits:
    """What a verdict proves about a leg, in the two units fixes are expressed in.

    ``mtu``: the largest IP packet proven to cross (a lower bound when unsure).
    ``mss``: the largest MSS that keeps every segment at or below that size.
    """

    mtu: int
    mss: int
    basis: str  # the measured number this rests on, for the "why"
    ipv6: bool = False
    # An exact limit (largest size that crosses, the next one fails) rather than a
    # lower bound (at least this much crosses): an exact limit is the better number.
    exact: bool = False


def limits_of(verdict: Verdict, ipv6: bool = False) -> Limits | None:
    """The proven size limits of a verdict, or None when it has none.

    Order of trust: a measured MTU, then the proven lower bound ``pmtu_low``,
    then a ``max_payload`` (the payload bytes per segment proven to cross; the
    packet that carried it was at least 40 bytes larger, so ``max_payload +
    40`` is a lower bound of the path MTU and an MSS of ``max_payload`` can
    never produce a larger segment).
    """
    overhead = ip_tcp_overhead(6 if ipv6 else 4)   # MSS = MTU - 40 (IPv6: 60)
    lim = verdict.limit
    if lim is None:
        return None
    if lim.mtu is not None and lim.mtu > overhead:
        word = "measured" if lim.exact else "lower bound"
        return Limits(lim.mtu, lim.mtu - overhead, f"MTU {lim.mtu} ({word})", ipv6,
                      exact=lim.exact)
    if lim.pmtu_low is not None and lim.pmtu_low > overhead:
        return Limits(lim.pmtu_low, lim.pmtu_low - overhead,
                      f"path MTU at least {lim.pmtu_low} (lower bound)", ipv6)
    if lim.max_payload is not None and lim.max_payload > 0:
        return Limits(lim.max_payload + overhead, lim.max_payload,
                      f"max payload {lim.max_payload} B per segment crosses", ipv6)
    return None


def _leg1_mtu_fixes(v: Verdict, lim: Limits) -> list[Recommendation]:
    """Leg 1 (FMC side): the FMC's own MTU governs what it sends and the MSS it advertises."""
    peer = "server" if v.leg == Leg.FMC_UPSTREAM else "proxy"
    where_path = f"firewall/router between the FMC and the {peer}"
    out = [
        Recommendation(
            "FMC management interface", "FMC web UI",
            f"{FMC_MTU_UI}: edit the interface toward the {peer}, MTU {lim.mtu}",
            f"{v.leg} carries at most {lim.mtu}-byte packets ({lim.basis}); an FMC MTU of "
            f"{lim.mtu} makes it send and advertise (MSS {lim.mss}) only what fits, "
            "in both directions", UNDO_FMC_MTU),
        Recommendation(
            "FMC expert shell (test before the permanent change)", "Linux",
            f"sudo ip link set dev eth0 mtu {lim.mtu}",
            "immediate, not persistent; confirms the fix before changing the UI setting",
            _undo_ip_link("eth0")),
        Recommendation(
            "FMC expert shell", "Linux",
            MTU_PROBING,
            "lets the FMC's TCP find a working segment size by itself when ICMP "
            "frag-needed never arrives (RFC 4821 packetization-layer PMTUD); the second line "
            "keeps it across reboots", UNDO_MTU_PROBING),
        Recommendation(
            where_path, "FTD/ASA",
            f"sysopt connection tcpmss {lim.mss}",
            f"clamps every TCP handshake through the firewall to MSS {lim.mss} "
            f"(= {lim.mtu} - {lim.mtu - lim.mss}); on an FMC-managed FTD deploy it with "
            "FlexConfig", UNDO_TCPMSS),
    ]
    out += _ios(where_path, lim)
    return out


def _ios(where: str, lim: Limits) -> list[Recommendation]:
    low, high = IOS_ADJUST_MSS_RANGE
    out = []
    if low <= lim.mss <= high:
        keyword = "ipv6 tcp adjust-mss" if lim.ipv6 else "ip tcp adjust-mss"
        out.append(Recommendation(
            where, "IOS/IOS-XE", f"interface <IFACE>\n {keyword} {lim.mss}",
            f"rewrites the MSS of SYNs crossing the interface down to {lim.mss}, so neither "
            f"end sends segments larger than {lim.mtu}-byte packets",
            f"interface <IFACE>\n no {keyword} {lim.mss}"))
    keyword = "ipv6 mtu" if lim.ipv6 else "ip mtu"
    out.append(Recommendation(
        f"{where}, interface on the narrow link", "IOS/IOS-XE",
        f"interface <IFACE>\n {keyword} {lim.mtu}",
        "the router then answers larger DF packets with ICMP frag-needed (PMTUD works) "
        "instead of the link dropping them silently", f"interface <IFACE>\n no {keyword}"))
    return out


def _leg2_mtu_fixes(v: Verdict, lim: Limits) -> list[Recommendation]:
    """Leg 2 is the proxy's business: the FMC's MTU does not change it."""
    where_edge = "firewall/router between the proxy and the Internet"
    out = [
        Recommendation(
            "proxy, interface toward the upstream", "Linux",
            f"sudo ip link set dev <IFACE> mtu {lim.mtu}",
            f"{v.leg} carries at most {lim.mtu}-byte packets ({lim.basis}); the proxy then "
            f"advertises MSS {lim.mss} and sends no larger segments. Lowering the FMC MTU "
            "does not help: the proxy splits the TCP connection. Not persistent: set it in the "
            "proxy's network configuration too", _undo_ip_link("<IFACE>")),
        Recommendation(
            "proxy", "Linux", MTU_PROBING,
            "a Linux proxy does not recover from a PMTU black hole by default "
            "(tcp_mtu_probing=0); probing lets it find a working segment size; the second "
            "line keeps it across reboots", UNDO_MTU_PROBING),
        Recommendation(
            where_edge, "FTD/ASA", f"sysopt connection tcpmss {lim.mss}",
            f"clamps the handshakes of proxy-to-upstream connections to MSS {lim.mss}",
            UNDO_TCPMSS),
        Recommendation(
            where_edge, "FTD/ASA/any firewall",
            "permit ICMP type 3 code 4 (IPv6: type 2) toward the proxy",
            "the black hole exists because the frag-needed / packet-too-big messages that "
            "would tell the proxy to send smaller packets are filtered",
            "remove the ICMP permit rule again"),
    ]
    out += _ios(where_edge, lim)
    out.append(Recommendation(
        "proxy (any product), interface toward the upstream", "any proxy",
        f"set the MTU of the proxy's interface toward the Internet to {lim.mtu}, or have the "
        f"device in front of it clamp the MSS of the proxy's upstream connections to "
        f"{lim.mss}",
        f"{v.leg} carries at most {lim.mtu}-byte packets ({lim.basis}); the same fix for any "
        "proxy product (Cisco Secure Web Appliance, cloud or appliance proxies): only the "
        "proxy's own segments toward the upstream are too large",
        "set the MTU (or remove the MSS clamp) back to its previous value"))
    return out


def _decryption_exemptions(host: str) -> list[Recommendation]:
    """The proxy decrypts the FMC's TLS: exempt the FMC's destinations (verified syntax, see
    the module docstring)."""
    why = (f"the proxy terminates TLS to {host} with its own certificate; the FMC's cloud "
           "services check the server's certificate and fail behind decryption")
    return [
        Recommendation(
            "proxy (squid with ssl-bump)", "squid",
            f"acl fmc_no_decrypt ssl::server_name {host}\nssl_bump splice fmc_no_decrypt",
            why + ". Put the two lines after 'ssl_bump peek step1' and before the first "
            "'ssl_bump bump'; add the FMC's other cloud destinations to the acl",
            "remove the two lines again; squid -k reconfigure"),
        Recommendation(
            "proxy (Cisco Secure Web Appliance)", "AsyncOS",
            f"Web Security Manager > Decryption Policies: a policy for the FMC whose custom URL "
            f"category holds {host} (and the FMC's other cloud destinations), action Pass "
            "Through; submit and commit",
            why, "set the category's action back (or delete the policy); submit and commit"),
        Recommendation(
            "proxy (any product that decrypts TLS)", "any proxy",
            f"exempt {host} and the FMC's other cloud destinations from TLS decryption "
            "(a do-not-decrypt / bypass rule for the FMC's address or these names)",
            why, "remove the exemption again"),
    ]


def _hello_fixes(v: Verdict, host: str) -> list[Recommendation]:
    """TLS_HELLO_DROPPED: something reads ClientHellos and drops (or resets) the large ones.
    Never an MTU or MSS change: a clamp splits the hello into segments and the first one still
    starts a record announcing its full length."""
    between = ("between the FMC and the proxy" if v.leg is not Leg.PROXY_UPSTREAM
               else "between the proxy and the Internet")
    record = v.hello.record_limit if v.hello is not None else None
    size = f"longer than {record} B " if record is not None else ""
    why = (f"a device {between} drops ClientHello records {size}while full-size packets cross "
           "(post-quantum key shares, X25519MLKEM768, make hellos 1.6-2.1 KB); lowering an MTU "
           "or clamping the MSS does not help: the first segment still announces the whole "
           "record")
    bump = ("when the proxy decrypts (bumps) TLS, the hello on leg 2 is the proxy's own "
            "(e.g. squid built with OpenSSL 3.5 sends X25519MLKEM768 by default); splicing "
            "passes the FMC's own hello instead")
    return [
        Recommendation(
            f"TLS-inspecting firewall/IPS {between}", "any inspecting middlebox",
            f"exempt {host} and the FMC's other cloud destinations from TLS inspection (a "
            "do-not-decrypt / bypass rule), or update the middlebox to a release that parses "
            "ClientHellos spanning several TCP segments", why,
            "remove the exemption again (or keep the update)"),
        Recommendation(
            "proxy (squid with ssl-bump)", "squid",
            f"acl fmc_splice ssl::server_name {host}\nssl_bump splice fmc_splice",
            bump + ". Put the two lines after 'ssl_bump peek step1' and before the first "
            "'ssl_bump bump'", "remove the two lines again; squid -k reconfigure"),
        Recommendation(
            "proxy (Cisco Secure Web Appliance)", "AsyncOS",
            f"Web Security Manager > Decryption Policies: a policy whose custom URL category "
            f"holds {host} (and the FMC's other cloud destinations), action Pass Through; "
            "submit and commit", bump,
            "set the category's action back (or delete the policy); submit and commit"),
        Recommendation(
            "a client you control (OpenSSL 3.5+ only)", "OpenSSL",
            "openssl.cnf, [system_default_sect]: Groups = *X25519:X25519MLKEM768:secp256r1 "
            "(a key share for X25519 only; X25519MLKEM768 only after a HelloRetryRequest)",
            "keeps the first ClientHello classic-sized while a server that prefers the hybrid "
            "still gets it; only OpenSSL 3.5+ lets the key shares be chosen (browsers and Go "
            "do not: turn the hybrid off there instead)", "restore the previous Groups line"),
        Recommendation(
            "a client you control: turn the hybrid group off", "Chrome/Edge, Firefox, Go, "
            "OpenSSL 3.5+",
            "Chrome/Edge policy PostQuantumKeyAgreementEnabled=false; Firefox about:config "
            "security.tls.enable_kyber=false; Go 1.24+ GODEBUG=tlsmlkem=0; OpenSSL 3.5+ Groups "
            "without X25519MLKEM768",
            "a stopgap until the middlebox is fixed: it gives up post-quantum protection. The "
            "FMC itself has no such setting: fix the middlebox or the proxy",
            "remove the policy / preference / variable again"),
    ]


def _clamp_fixes(v: Verdict, lim: Limits | None, leg_limit: Limits | None) -> list[Recommendation]:
    """A clamp is only a problem when it is above what the leg carries."""
    received = v.mss_received
    if received is None:
        return []
    if leg_limit is None or received <= leg_limit.mss:
        return []
    return [Recommendation(
        "the device that rewrites the MSS on " + v.leg, "FTD/ASA",
        f"sysopt connection tcpmss {leg_limit.mss}",
        f"the clamp lets through MSS {received} but {v.leg} carries only "
        f"{leg_limit.mtu}-byte packets ({leg_limit.basis})", UNDO_TCPMSS)]


def _rst_fixes(v: Verdict, lim: Limits) -> list[Recommendation]:
    where = ("firewall/IPS between the proxy and the Internet" if v.leg is Leg.PROXY_UPSTREAM
             else "firewall/IPS between the FMC and the server" if v.leg is Leg.FMC_UPSTREAM
             else "firewall/IPS between the FMC and the proxy")
    return [
        Recommendation(
            where, "FTD/ASA", f"sysopt connection tcpmss {lim.mss}",
            f"segments in packets above {lim.mtu} bytes are answered by a TCP reset "
            f"({lim.basis}); an MSS of {lim.mss} keeps every segment below that. Also look "
            "for an IPS/inspection rule that resets large segments", UNDO_TCPMSS),
        *_ios(where, lim)[:1],
    ]


def _text_target(text: str | None) -> HostPort | None:
    """A target known only as text (a capture's CONNECT line, the leg-2 row), read by the
    one parser; None when there is none or it is no HOST:PORT."""
    try:
        return HostPort.parse(text, default_port=443) if text is not None else None
    except ValueError:
        return None


def _no_numbers(code: VerdictCode, v: Verdict, leg2_target: str | None) -> list[Recommendation]:
    text = v.target_text if v.target_text is not None else leg2_target
    at = v.target or _text_target(text)
    scheme, default = ("http", 80) if v.plain_http else ("https", 443)
    if at is not None:
        host, target = at.host, str(at)
        url = f"{scheme}://{at.url_host}{'' if at.port == default else f':{at.port}'}/"
    else:   # no target, or text that is no HOST:PORT (shown as it came, cleaned by render)
        host, target = text or "<TARGET>", text or "<TARGET:443>"
        url = f"{scheme}://{host}/"
    fixed: dict[VerdictCode, list[Recommendation]] = {
        VerdictCode.PROXY_AUTH_UNSUPPORTED: [
            Recommendation(
                "proxy", "proxy (e.g. squid)",
                "auth_param digest program /usr/lib/squid/digest_file_auth "
                "/etc/squid/digest_passwd",
                "the FMC supports Basic and Digest proxy authentication, not NTLM/Negotiate: "
                "offer Digest (or Basic) to the FMC's address, or exempt it from authentication",
                "remove the auth_param digest lines again; squid -k reconfigure"),
        ],
        VerdictCode.PROXY_AUTH_REQUIRED: [
            Recommendation(
                "FMC", "FMC web UI",
                "System > Configuration > Management Interfaces > Proxy: set user name and "
                "password (Digest or Basic)",
                "the proxy answers 407: the FMC has no credentials, or they were rejected",
                "clear the user name and password on the same page"),
        ],
        VerdictCode.PROXY_DENIED: [
            Recommendation(
                "proxy ACL", "proxy (e.g. squid)",
                f"acl fmc_targets dstdomain {host}\nhttp_access allow CONNECT fmc_targets",
                f"the proxy refuses CONNECT to {target}; allow it for the FMC",
                "remove the two lines again; squid -k reconfigure"),
        ],
        VerdictCode.PROXY_TLS_INTERCEPTED: _decryption_exemptions(host),
        VerdictCode.TLS_HELLO_DROPPED: _hello_fixes(v, host),
        VerdictCode.PROXY_CONFIG_UNSUPPORTED: [
            Recommendation(
                "FMC", "FMC web UI",
                "System > Configuration > Management Interfaces > Proxy: give the proxy by a "
                "name of at most 64 characters (or its address) and its port",
                "with Smart Licensing the FMC accepts a proxy FQDN of at most 64 characters; "
                "a setting it cannot use breaks its cloud services however healthy the path is",
                "restore the previous proxy setting on the same page"),
        ],
        VerdictCode.PROXY_UPSTREAM_ERROR: [
            Recommendation(
                "proxy", "proxy", f"from the proxy: curl -v {url}",
                "the proxy could not reach the target: check its DNS, route and firewall "
                "toward the Internet", "nothing to undo (a read-only check)"),
        ],
        VerdictCode.PROXY_UNREACHABLE: [
            Recommendation(
                "network between the FMC and the proxy", "any",
                "check the proxy host/port in System > Configuration > Management Interfaces "
                "> Proxy, the route and any ACL on the way",
                "no TCP connection to the proxy could be opened",
                "nothing to undo (a check)"),
        ],
        VerdictCode.TUNNEL_STALL: [
            Recommendation(
                "proxy", "proxy", "review inspection, read timeouts and size/quota limits "
                "for CONNECT tunnels from the FMC",
                "the tunnel opened but data stopped flowing: the article names proxy "
                "inspection delays, timeouts for long transfers and file-size limits",
                "restore the reviewed settings"),
        ],
    }
    if v.leg is Leg.FMC_UPSTREAM:   # no proxy in sight: the words say "server"
        fixed.update((c, list(recs)) for c, recs in _SERVER_FIXES.items())
    return fixed.get(code, [])


# What _no_numbers recommends instead when the FMC talks to the server with no proxy.
_SERVER_FIXES: dict[VerdictCode, tuple[Recommendation, ...]] = {
    VerdictCode.PROXY_UNREACHABLE: (Recommendation(
        "network between the FMC and the server", "any",
        "check the server's address and port, the route and any ACL on the way",
        "no TCP connection to the server could be opened", "nothing to undo (a check)"),),
    VerdictCode.TUNNEL_STALL: (Recommendation(
        "server, or a firewall/IPS on the way", "any",
        "review inspection (IPS, antivirus and file policies: their drop logs),\n"
        "read timeouts and size/quota limits for the FMC's connections to the server",
        "the connection opened but data stopped flowing: inspection that drops what it "
        "matches or delays it, timeouts for long transfers and file-size limits are the "
        "usual causes", "restore the reviewed settings"),),
}


Builder = Callable[[Verdict, Limits], list[Recommendation]]


@dataclass(frozen=True)
class Rule:
    """Verdict code + legs it applies to -> builder taking the proven limits."""

    code: VerdictCode
    legs: frozenset[Leg]
    build: Builder


_LEG1 = frozenset({Leg.FMC_PROXY, Leg.FMC_UPSTREAM})
_LEG2 = frozenset({Leg.PROXY_UPSTREAM})

RULES: tuple[Rule, ...] = (
    Rule(VerdictCode.PMTU_BLACKHOLE, _LEG1, _leg1_mtu_fixes),
    Rule(VerdictCode.PMTU_BLACKHOLE, _LEG2, _leg2_mtu_fixes),
    Rule(VerdictCode.TUNNEL_STALL, _LEG2, _leg2_mtu_fixes),  # only when it carries a size
    Rule(VerdictCode.RST_ON_LARGE_SEGMENT, _LEG1 | _LEG2, _rst_fixes),
)


def recommend(verdicts: Sequence[Verdict], targets: Mapping[Leg, str] | None = None
              ) -> tuple[Recommendation, ...]:
    """Recommendations for ``verdicts``, de-duplicated, in the order found.

    ``targets`` maps a leg name to its target address (named in the commands); each
    verdict's ``ip_version`` picks the IPv4/IPv6 header sizes.
    A size is only ever the smallest proven limit on the leg, never more.
    """
    targets = targets or {}
    # The smallest proven limit per leg: every fix on that leg must fit under it.
    # Per leg, the most trustworthy limits decide: measured before inferred, exact
    # limits before lower bounds; among those, the smallest (never above any of them).
    candidates: dict[Leg, list[tuple[tuple[bool, bool], Limits]]] = {}
    for v in verdicts:
        if v.code in (VerdictCode.HEALTHY, VerdictCode.MSS_CLAMPED):
            continue
        lim = limits_of(v, v.ip_version is IpVersion.V6)
        if lim is not None:
            rank = (v.confidence is not Confidence.MEASURED, not lim.exact)
            candidates.setdefault(v.leg, []).append((rank, lim))
    leg_limit: dict[Leg, Limits] = {}
    for leg, found in candidates.items():
        best = min(rank for rank, _ in found)
        leg_limit[leg] = min((lim for rank, lim in found if rank == best), key=lambda x: x.mtu)

    out: list[Recommendation] = []
    for v in verdicts:
        if v.code is VerdictCode.HEALTHY:
            continue
        lim = leg_limit.get(v.leg)
        if v.code is VerdictCode.MSS_CLAMPED:
            out += _clamp_fixes(v, lim, lim)
            continue
        built = False
        own = limits_of(v, v.ip_version is IpVersion.V6)
        for rule in RULES:
            if rule.code is v.code and v.leg in rule.legs and own is not None and lim is not None:
                out += rule.build(v, lim)
                built = True
        if not built:
            out += _no_numbers(v.code, v, targets.get(Leg.PROXY_UPSTREAM))
    # The same command on the same platform once, even when two findings ask for it.
    seen: set[tuple[str, str]] = set()
    unique = []
    for r in out:
        key = (r.platform, r.command)
        if key not in seen:
            seen.add(key)
            unique.append(r)
    return tuple(unique)


def max_size_in(rec: Recommendation) -> int | None:
    """The largest number in a recommendation's command (for tests and self-checks)."""
    numbers = [int(x) for x in re.findall(r"(?<![\w.])(\d{3,5})(?![\w.])", rec.command)]
    return max(numbers) if numbers else None


__all__ = ["RULES", "Limits", "Rule", "limits_of", "max_size_in", "recommend"]

