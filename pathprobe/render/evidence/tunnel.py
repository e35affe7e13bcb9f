"""Sentences for the tunnel step's observations (pathprobe.facts.tunnel)."""

from __future__ import annotations

from collections.abc import Mapping

from pathprobe.facts.tunnel import TunnelFact
from pathprobe.model import Number
from pathprobe.render.evidence.base import Template, counted

_FAILED = {"stalled": "stalled (no answer)", "reset": "reset", "closed": "closed",
           "garbage": "answered with non-TLS bytes"}


def _writes(v: Mapping[str, Number]) -> str:
    how = _FAILED.get(str(v.get("how")), str(v.get("how")))
    return f"{v.get('method')}: {v.get('ok')} bytes in one write answered, {v.get('bad')} {how}"


def _stalled(v: Mapping[str, Number]) -> str:
    expected = v.get("expected")
    of = f" of {expected}" if expected is not None else ""
    idle = v.get("idle_s")
    idle_text = f"{idle:.1f}" if isinstance(idle, (float, int)) else "?"
    body = counted(v.get("received"), "body byte")
    return (f"{v.get('method')}: {v.get('detail')} after {body}{of} "
            f"({counted(v.get('raw'), 'byte')} through the tunnel in all); idle {idle_text} s")


def _shape(v: Mapping[str, Number]) -> str:
    family = {4: "IPv4", 6: "IPv6"}.get(v.get("family"), "IPv4 or IPv6")  # type: ignore[arg-type]
    stamps = v.get("timestamps")
    opts = ("with TCP timestamps" if stamps is True else "without TCP options"
            if stamps is False else "without TCP options .. with timestamps")
    return f"{family}, {opts}"


TEXT: dict[TunnelFact, Template] = {
    TunnelFact.CONNECT_FAILED: "CONNECT {target} via {proxy} (from {source}): {detail}",
    TunnelFact.PROXY_ERROR_PAGE: "proxy error page: {error}",
    TunnelFact.AUTH_OFFERED: "Proxy-Authenticate offers: {schemes}",
    TunnelFact.AUTH_UNSUPPORTED:
        "the FMC supports Basic and Digest proxy authentication, not {schemes}; configure Basic "
        "or Digest for the FMC on the proxy",
    TunnelFact.NO_CREDENTIALS:
        "no credentials given: use --proxy-user USER with PATHPROBE_PROXY_PASSWORD or the prompt",
    TunnelFact.CREDENTIALS_REJECTED: "credentials for user {user} were rejected ({tried})",
    TunnelFact.UPSTREAM_UNREACHABLE:
        "the proxy could not reach the target (leg 2 connect failed or the upstream is down)",
    TunnelFact.ACL_REFUSED:
        "the proxy refuses this CONNECT (ACL): allow the target host and port for the FMC",
    TunnelFact.WRITES: _writes,
    TunnelFact.PAYLOAD_CROSSES:
        lambda v: (f"{v.get('direction')}: {v.get('ok')}-byte TCP payloads cross in one segment: "
                   f"PMTU {v.get('low')}..{v.get('high')} ({_shape(v)})"),
    TunnelFact.NOT_EXACT: "not byte-exact: at least {ok} bytes cross (proven lower bound)",
    TunnelFact.RETRACTED:
        "larger writes ({sizes}) were answered once but {bad} failed: the proxy relayed them in "
        "leg 1's pieces; not counted",
    TunnelFact.DOWNLOAD_STALLED: _stalled,
    TunnelFact.DOWN_FIRST_SEGMENTS_ONLY:
        "nothing beyond the first segments arrived: full-size segments from the upstream are "
        "lost on the way down (use --reflector for the exact size)",
    TunnelFact.DOWN_FLOWED_THEN_STOPPED:
        "data flowed, then stopped: proxy inspection, quota or timeout on the way",
    TunnelFact.FAR_END_SILENT:
        "not one byte came back through the tunnel: no write was answered (not even {low} "
        "bytes) and the large answer never started; no size can be concluded from a far end "
        "that never answers",
    TunnelFact.SYN_AT_REFLECTOR:
        "the proxy's SYN arrived at the reflector over IPv{version} with MSS {mss}",
    TunnelFact.PROXY_MSS_ON_LEG1:
        "the proxy advertises MSS {peer_mss} to us on leg 1 (IPv{leg1_version}), so it sends "
        "{expected} on leg 2",
    TunnelFact.PROXY_MSS_DEFAULT: "a 1500-byte-MTU proxy sends MSS {expected}",
    TunnelFact.LEG2_DEVICE_LOWERED: "a device on leg 2 lowered it",
    TunnelFact.UP_ALL_SIZES:
        "up: every size up to a full segment crossed leg 2 ({high}-byte writes answered)",
    TunnelFact.DOWN_COMPLETE:
        lambda v: ("down: " + ("sized replies up to a full segment and " if v.get("reflector")
                               else "") + "a large answer arrived complete through the tunnel"),
    TunnelFact.PROXY_SOURCE: "proxy from {source}",
    TunnelFact.SPLIT_NOT_TRUSTED:
        "not trusted: {sizes} answered although a smaller size failed (the proxy can relay a "
        "write in the pieces leg 1 carried it in)",
    TunnelFact.ANSWER_NOT_REPEATED:
        "not trusted: {sizes} answered once but not when sent again, or not sent again in time "
        "(the proxy can relay a write in the pieces leg 1 carried it in, when they reach it "
        "apart)",
    TunnelFact.REASSEMBLED:
        "sizes above {snd_mss} crossed leg 1 in two segments; the proxy re-assembled them",
    TunnelFact.SYN_AS_ARRIVED: "SYN as it arrived at the reflector",
    TunnelFact.TUNNEL_ECHOED:
        "what came back through the tunnel was our own bytes (the proxy, or something behind "
        "it, echoes them): no answer from the far end",
    TunnelFact.TUNNEL_CLOSED:
        "the tunnel closed after the proxy's 200, before the far end said anything",
    TunnelFact.GET_RESULT: "GET / over TLS: {detail}",
    TunnelFact.LEG1_GIVEN:
        "leg 1 carries {payload}-byte payloads per segment (given with --leg1-max-payload, not "
        "measured here)",
    TunnelFact.WITHIN_LEG1_LIMIT:
        "up probes sent in segments of at most {payload} payload bytes, within leg 1's proven "
        "limit: their writes crossed leg 1, so what failed is leg 2's",
    TunnelFact.ANSWER_TOO_SMALL:
        "answer too small to need full-size segments: down direction not proven",
}
