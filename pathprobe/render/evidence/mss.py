"""Sentences for the `mss` step's observations (pathprobe.facts.mss)."""

from __future__ import annotations

from collections.abc import Mapping

from pathprobe.facts.mss import MssFact
from pathprobe.model import Number
from pathprobe.render.evidence.base import Template, counted


def _handshake(v: Mapping[str, Number]) -> str:
    received = v.get("mss_received")
    text = f"{received}" if v.get("exact") else f"at least {received}"
    return (f"SYN advertised MSS {v.get('mss_sent')}; SYN-ACK carried MSS {text} "
            f"({v.get('method')})")


def _icmp_answered(v: Mapping[str, Number]) -> str:
    hint = v.get("hint")
    return (f"an ICMP too-big (next-hop MTU {hint if hint is not None else 'unknown'}) "
            f"answered larger segments; {v.get('ok')}-byte packets acknowledged, "
            f"{v.get('bad')} not")


def _segments_acked(v: Mapping[str, Number]) -> str:
    bounded = (f" (sizes above the negotiated MSS, packets > {v.get('high')} bytes, need root)"
               if v.get("bounded") else "")
    return (f"segments up to {v.get('ok')}-byte packets (payload {v.get('payload')}) "
            f"acknowledged{bounded}")


def _reply_short(v: Mapping[str, Number]) -> str:
    late = ", timed out" if v.get("timed_out") else ""
    got = counted(v.get("received"), "byte")
    return (f"the peer's reply ({got}{late}) was too short to show its "
            "segment size (the MSS our SYN arrived with)")


def _peer_small(v: Mapping[str, Number]) -> str:
    return (f"the peer's segments to us carry at most {v.get('rcv_mss')} payload bytes (MSS "
            f"{v.get('at_peer')} with options) although we advertised {v.get('mss_sent')}")


def _peer_path(v: Mapping[str, Number]) -> str:
    return (_peer_small(v) + f": consistent with the {v.get('limit')}-byte path limit measured "
            "above, not a clamp")


def _where(ttl: Number, hop: Number, none: str) -> str:
    return f"hop {ttl} ({hop})" if ttl is not None else none


def _hops_reached(v: Mapping[str, Number]) -> str:
    where = _where(v.get("clean_ttl"), v.get("clean_hop"), "the first hop")
    return (f"SYNs reached the target at TTL {v.get('ttl')}; quotations up to {where} show our "
            f"MSS {v.get('mss_sent')} unchanged")


def _hop_rewrite(v: Mapping[str, Number]) -> str:
    prev = _where(v.get("clean_ttl"), v.get("clean_hop"), "us")
    ttl = v.get("ttl")
    return (f"hop {ttl} ({v.get('hop')}) quotes our SYN with MSS {v.get('quoted')} instead of "
            f"{v.get('mss_sent')}: rewritten between {prev} and hop {ttl}")


TEXT: dict[MssFact, Template] = {
    MssFact.HANDSHAKE: _handshake,
    MssFact.MSS_IMPLIES:
        "MSS {mss_received} implies {packet}-byte packets; a middlebox clamp on the SYN-ACK's "
        "way to us, or the peer's own MTU/setting",
    MssFact.PATH_CARRIED_MORE:
        "the path carried {largest_ok}-byte packets to the peer, more than the received MSS "
        "allows: the MSS was lowered by a clamp (or the peer's setting), not by the path MTU",
    MssFact.LEG_PMTU_ABOVE:
        "the leg's path MTU is {leg_pmtu} ('pmtu'), more than the {implied} bytes the MSS "
        "implies: a clamp (or the peer's own setting), not the path MTU",
    MssFact.LEG_PMTU_BELOW:
        "the leg's path MTU is {leg_pmtu} ('pmtu'), less than the {implied} bytes the MSS "
        "implies: the MSS does not keep segments inside the path MTU",
    MssFact.LEG_PMTU_MATCHES:
        "the leg's path MTU is {leg_pmtu} ('pmtu'): the MSS matches the path (the peer or a "
        "device sized it to the path MTU)",
    MssFact.RECEIVED_ROUTE_BOUND:
        "the MSS received is at least {mss_received} (our own route MTU {pmtu} hides larger "
        "values without root)",
    MssFact.RECEIVED_WINDOW_BOUND:
        "the MSS received is at least {mss_received} (without root it is read from TCP_INFO, "
        "where the kernel also caps it at half the peer's first window)",
    MssFact.RESET_EVEN_AT_LOW:
        "even {low}-byte packets (payload {payload}) were answered by a TCP reset",
    MssFact.RESET_ABOVE:
        "{ok}-byte packets (payload {payload}) acknowledged; {bad}-byte packets answered by a "
        "TCP reset",
    MssFact.RESET_NOT_MTU:
        "no ICMP too-big was received: a device resets large segments; this is not an MTU "
        "problem",
    MssFact.LOST_ABOVE:
        "{ok}-byte packets (payload {payload}) acknowledged; {bad}-byte packets never "
        "acknowledged, no ICMP, no reset",
    MssFact.LARGER_RESET: "larger sizes were reset: {size} bytes and up",
    MssFact.ICMP_ANSWERED: _icmp_answered,
    MssFact.PMTUD_WORKS: "PMTUD works here; 'pathprobe pmtu' measures the path MTU in detail",
    MssFact.SEGMENTS_ACKED: _segments_acked,
    MssFact.NEGOTIATED_BOUND:
        "segment sizes tested up to {high}-byte packets: the negotiated MSS bounds them (root "
        "lifts the bound with TCP_REPAIR)",
    MssFact.LOCAL_BOUND:
        "{bad}-byte packets and up were not sent: our own stack refused them (its send MSS or "
        "cached PMTU), so the path is proven to carry {ok}-byte packets, and may carry more",
    MssFact.CACHED_PMTU:
        "our kernel has a path MTU of {pmtu} cached for this target (interface MTU "
        "{interface_mtu}): an ICMP too-big arrived recently",
    MssFact.CACHED_PMTU_BOUNDS:
        "sizes above {pmtu} cannot be tested until it expires (about 10 minutes, or 'ip route "
        "flush cache' as root)",
    MssFact.PEER_NO_REPLY:
        "no reply to our small HTTP request: the service may not speak HTTP, or the peer's "
        "large segments are lost on the way back (down direction; a reflector or 'pathprobe "
        "tunnel' can tell)",
    MssFact.PEER_REPLY_SHORT: _reply_short,
    MssFact.PEER_SEGMENTS_SMALL: _peer_small,
    MssFact.PEER_SEGMENTS_PATH: _peer_path,
    MssFact.SYN_LOWERED:
        "our SYN's MSS was lowered on its way to the peer (a clamp), or the peer's route back "
        "to us has a smaller MTU",
    MssFact.PEER_INTACT:
        "the peer's segments to us carry up to {rcv_mss} payload bytes: our MSS {mss_sent} "
        "arrived intact",
    MssFact.HOPS_REACHED: _hops_reached,
    MssFact.HOPS_AFTER:
        "the rewrite (if it is on our SYN) happens after that hop: on its egress or in a device "
        "that does not decrement the TTL; a rewrite of the SYN-ACK cannot be located from this "
        "side",
    MssFact.HOP_REWRITE: _hop_rewrite,
    MssFact.HOPS_NO_QUOTES:
        "no router quoted the TCP options of our TTL-limited SYNs (ICMP filtered, "
        "rate-limited, or quotations cut at 8 bytes): the rewrite cannot be located",
    MssFact.HOPS_UNCHANGED:
        "quotations from {count:#hop} show our MSS {mss_sent} unchanged and the target was "
        "not reached within the TTL range: the rewrite is further on",
}
