"""`pathprobe serve`: the far-end reflector that reports what arrived through the proxy."""

import math
import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from pathprobe.commands.common import Output, output_options
from pathprobe.errors import UsageError

TOKEN_ENV = "PATHPROBE_REFLECTOR_TOKEN"


@output_options(only=("quiet",))
def serve_command(
    listen: Annotated[str, typer.Option(
        "--listen", metavar="ADDR:PORT",
        help="Where to listen; [::]:PORT takes IPv4 and IPv6.")] = "[::]:7007",
    token: Annotated[Optional[str], typer.Option(
        "--token", help=f"Require this token in HELLO (or set {TOKEN_ENV}); use one on a "
                        "public address.")] = None,
    tls: Annotated[bool, typer.Option(
        "--tls", help="Speak TLS (for proxies that only pass TLS). Without --cert/--key a "
                      "throwaway self-signed certificate is made with openssl; clients do not "
                      "verify it (TLS here is camouflage, the token is the access control).")]
        = False,
    cert: Annotated[Optional[Path], typer.Option(
        "--cert", exists=True, dir_okay=False, help="PEM certificate for --tls.")] = None,
    key: Annotated[Optional[Path], typer.Option(
        "--key", exists=True, dir_okay=False, help="PEM private key for --tls.")] = None,
    max_time: Annotated[float, typer.Option(
        "--max-time", metavar="SECONDS", min=0,
        help="Stop after this many seconds (0: run until Ctrl-C or SIGTERM).")] = 0,
    *, out: Output,
) -> None:
    """Run the far-end reflector for 'pathprobe tunnel --reflector'.

    Run it on a host upstream of the proxy (a cloud VM, a DMZ host). Through a
    CONNECT tunnel it tells the client the SYN exactly as it arrived (MSS and
    options, via TCP_SAVE_SYN: this is how MSS clamping on leg 2 is seen),
    confirms sized writes (up direction), and sends replies of a requested
    size in one piece (down direction), so both directions of leg 2 are
    measured byte-exactly.

    Safe on a public address: replies are at most 16384 bytes per request and
    1 MiB per connection (no amplification); 50 new connections/s per source
    (burst 100); a new connection has 3 s for its TLS handshake and HELLO
    line; at most 256 connections wait for their HELLO (the oldest is dropped
    for a newcomer, so slow clients without the token cannot lock out one
    with it) and 256 greeted connections are served at once (more are told
    "busy"); every read and write gives up after 10 s idle, and a connection
    is closed 60 s after it was accepted, even mid-transfer. No root needed
    for ports above 1023. Stopping it (Ctrl-C, SIGTERM or --max-time) exits 0
    and removes the throwaway certificate; a port it cannot listen on exits 3.

    \b
    Example (the proxy must allow CONNECT to this port):
      pathprobe serve --listen 0.0.0.0:7007 --token s3cret
      pathprobe tunnel --proxy http://proxy:3128 --reflector vm.example.net:7007 --token s3cret
    """
    # Imported here, not at module level: `pathprobe --help` stays fast.
    from pathprobe.reflector import parse_listen, run_reflector
    from pathprobe.wire.reflector_protocol import token_problem

    if not math.isfinite(max_time) or max_time < 0:
        raise UsageError(f"--max-time must be a number of seconds >= 0, not {max_time}")
    try:
        address = parse_listen(listen)
    except ValueError as e:
        raise UsageError(str(e)) from None
    secret = token if token is not None else os.environ.get(TOKEN_ENV)
    if secret is not None and (problem := token_problem(secret)):
        raise UsageError(f"unusable token: {problem}")
    if (cert is None) != (key is None):
        raise UsageError("--cert and --key go together")
    if (cert is not None) and not tls:
        raise UsageError("--cert/--key need --tls")
    run_reflector(address, secret, max_time, out.progress(), tls=tls, cert=cert, key=key)
