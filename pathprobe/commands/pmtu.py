"""`pathprobe pmtu HOST`: exact path MTU on leg 1, with or without root."""

import socket
from typing import Annotated, Optional

import typer

from pathprobe.commands.common import (
    Output,
    make_context,
    output_options,
    run_measuring,
)
from pathprobe.compat import StrEnum
from pathprobe.errors import UsageError
from pathprobe.model import Leg


class Method(StrEnum):
    AUTO = "auto"
    ICMP = "icmp"
    UDP = "udp"
    TCP = "tcp"
    SYN = "syn"


@output_options()
def pmtu_command(
    host: Annotated[str, typer.Argument(
        metavar="HOST", help="Address or name to probe (normally the proxy: leg 1).")],
    method: Annotated[Method, typer.Option(
        "--method", "-m", case_sensitive=False,
        help="auto: ICMP echo (raw socket as root, ping socket otherwise), then TCP to "
             "--port, then SYNs to --port (root), then UDP; the report says which was "
             "used. icmp measures min(up, down); tcp (connections to an open port, no "
             "root), syn (SYNs with payload, root, any answering port) and udp (closed "
             "port, no root, slow: paced by the target's ICMP rate limit) measure the up "
             "direction.")] = Method.AUTO,
    port: Annotated[Optional[int], typer.Option(
        "--port", "-p", min=1, max=65535, metavar="PORT",
        help="A TCP port open on HOST (e.g. the proxy port 3128): enables the TCP method "
             "and lets auto tell up from down.")] = None,
    max_probes: Annotated[int, typer.Option(
        "--max-probes", min=1, max=10000, metavar="N",
        help="Probe budget per search (packets).")] = 100,
    hops: Annotated[bool, typer.Option(
        "--hops", help="Also try to name the hop where the MTU drops.")] = False,
    leg: Annotated[Leg, typer.Option(
        "--leg", case_sensitive=False,
        help="Leg name in the report (fmc-proxy when HOST is the proxy).")
    ] = Leg.FMC_UPSTREAM,
    ipv4: Annotated[bool, typer.Option("-4", help="Use IPv4 only.")] = False,
    ipv6: Annotated[bool, typer.Option("-6", help="Use IPv6 only.")] = False,
    *, out: Output,
) -> None:
    """Exact path MTU to HOST on leg 1 (DF probes, with or without root).

    Sends don't-fragment probes of exact IP sizes in parallel rounds (plateau
    table, then byte-exact inside the bracket, lost probes retried up to 3
    times) and reports the largest size proven to cross, the method, the
    local interface and its MTU, the kernel's cached PMTU, probes, rounds and
    wall time. Verdicts: PMTU_REDUCED (ICMP says so), PMTU_BLACKHOLE (large
    packets vanish silently), HEALTHY. It never over-reports: if the bracket
    cannot be closed the answer is the proven lower bound, marked inferred.
    With --port, auto also tells whether the limit is on the way up or down.
    --hops names the router that sent the ICMP too-big, or for a black hole
    the last hop that still answers TTL-limited probes of the failing size.

    \b
    Examples:
      pathprobe pmtu 198.18.2.2 --port 3128 --leg fmc-proxy    (root: ICMP echo)
      pathprobe pmtu 198.18.2.2 --method tcp --port 3128       (no root needed)
      pathprobe pmtu 2001:db8:2::2 --hops --json
    """
    if ipv4 and ipv6:
        raise UsageError("-4 and -6 exclude each other")
    family = socket.AF_INET if ipv4 else socket.AF_INET6 if ipv6 else None
    from pathprobe.pmtu import measure_pmtu

    run_measuring("pmtu", lambda progress: [measure_pmtu(
        host, leg=leg, method=method.value, hops=hops, max_probes=max_probes, port=port,
        progress=progress, family=family)], out, context=make_context(target=host))
