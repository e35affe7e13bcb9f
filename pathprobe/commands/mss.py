"""`pathprobe mss HOST:PORT`: MSS clamping, resets on large segments, black holes (issue 4)."""

from typing import Annotated, Optional

import typer

from pathprobe.commands.common import (
    Output,
    make_context,
    output_options,
    run_measuring,
)
from pathprobe.errors import UsageError
from pathprobe.model import Leg
from pathprobe.timeouts import ACK_WAIT
from pathprobe.wire.hostport import HostPort

MSS_HELP = """Measure MSS clamping and the largest TCP segment that crosses the path to HOST:PORT.

Four steps, all on real connections to HOST:PORT (usually the proxy port):

\b
1. Handshake: the MSS our SYN advertised and the MSS the SYN-ACK carried.
   As root the SYN-ACK is captured (exact); otherwise TCP_INFO gives it
   exactly unless it exceeds our own route's MSS (then a lower bound).
2. Sized segments: one segment per fresh connection, bisected in IP packet
   bytes (DF set); each size is acknowledged, reset, or silently lost. The
   RST threshold (largest packet not reset) and the black-hole threshold are
   reported separately. Without root the sizes stop at the negotiated MSS;
   as root TCP_REPAIR lifts that bound to find a reset or black hole hiding
   behind a clamp.
3. The peer's segments (--http, default on): one small HTTP request
   (GET /, harmless to a proxy, which answers with an error page) whose
   multi-segment reply shows the MSS our SYN arrived with: a clamp on the
   way up is invisible in the SYN-ACK but shows here.
4. TTL-limited SYNs, TTL 1..8 (no root needed, IP_RECVERR): routers' ICMP
   quotations show at which hop our SYN's MSS option was rewritten, when
   they quote enough (--no-hops to skip).

Verdicts: MSS_CLAMPED (mss_sent, mss_received, hop if located),
RST_ON_LARGE_SEGMENT (threshold as mtu, max_payload), PMTU_BLACKHOLE,
PMTU_REDUCED (ICMP-signalled), HEALTHY. Bounded: at most 60 segment probes
in at most 10 rounds, 16 connections at a time; about 1-10 s.

Example (the built-in lab, from the fmc namespace):

\b
  pathprobe mss 198.18.2.2:3128
  pathprobe mss '[2001:db8:2::2]:3128' --json
"""


@output_options()
def mss_command(
    host_port: Annotated[str, typer.Argument(
        metavar="HOST:PORT", help="TCP service to probe, e.g. the proxy proxy.example.com:3128 or "
        "[2001:db8::1]:8080 (port 443 when omitted).", show_default=False)],
    leg: Annotated[Leg, typer.Option(
        "--leg", case_sensitive=False, help="Leg name used in the report.")] = Leg.FMC_PROXY,
    segments: Annotated[bool, typer.Option(
        "--segments/--no-segments", help="Probe sized segments (reset and black-hole "
        "thresholds).")] = True,
    hops: Annotated[bool, typer.Option(
        "--hops/--no-hops", help="Locate the hop that rewrites our SYN's MSS with "
        "TTL-limited SYNs (1..8).")] = True,
    http: Annotated[bool, typer.Option(
        "--http/--no-http", help="Send one small HTTP request (GET /) and measure the size of "
        "the peer's reply segments: shows a clamp on our SYN (up direction).")] = True,
    ack_timeout: Annotated[Optional[float], typer.Option(
        "--ack-timeout", metavar="SECONDS", min=0.1, max=10.0,
        help="How long one segment may wait for its ACK before it counts as lost "
        f"(it is tried 3 times). Default: {ACK_WAIT.factor:g} x the handshake's round trip "
        f"+ {ACK_WAIT.slack:g} s, between {ACK_WAIT.floor:g} and {ACK_WAIT.ceiling:g} s.",
        show_default=False)] = None,
    *, out: Output,
) -> None:
    from pathprobe.mss import measure_mss

    try:
        at = HostPort.parse(host_port, default_port=443)
    except ValueError as e:
        raise UsageError(f"{e}; expected HOST:PORT, e.g. 198.18.2.2:3128") from None
    run_measuring("mss", lambda progress: [measure_mss(
        at.host, at.port, leg=leg, segments=segments, hops=hops, progress=progress,
        ack_timeout=ack_timeout, peer_probe=http)], out,
        context=make_context(target=host_port))


mss_command.__doc__ = MSS_HELP
