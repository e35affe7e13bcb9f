"""`pathprobe serve`: the far-end reflector that reports what arrived through the proxy."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from pathprobe.commands.common import progress_to_stderr
from pathprobe.errors import NotMeasuredError, UsageError
from pathprobe.reflector import parse_listen, serve

TOKEN_ENV = "PATHPROBE_REFLECTOR_TOKEN"


def serve_command(
    listen: Annotated[str, typer.Option(
        "--listen", metavar="ADDR:PORT",
        help="Where to listen; [::]:PORT takes IPv4 and IPv6.")] = "[::]:7007",
    token: Annotated[str | None, typer.Option(
        "--token", help=f"Require this token in HELLO (or set {TOKEN_ENV}); use one on a "
                        "public address.")] = None,
    max_time: Annotated[float, typer.Option(
        "--max-time", metavar="SECONDS", min=0,
        help="Stop after this many seconds (0: run until Ctrl-C).")] = 0,
) -> None:
    """Run the far-end reflector for 'pathprobe tunnel --reflector'.

    Run it on a host upstream of the proxy (a cloud VM, a DMZ host). Through a
    CONNECT tunnel it tells the client the SYN exactly as it arrived (MSS and
    options, via TCP_SAVE_SYN: this is how MSS clamping on leg 2 is seen),
    confirms sized writes (up direction), and sends replies of a requested
    size in one piece (down direction), so both directions of leg 2 are
    measured byte-exactly.

    Safe on a public address: replies are at most 16384 bytes per request and
    1 MiB per connection (no amplification), 64 connections at once, 50 new
    connections/s per source, 10 s idle and 60 s lifetime limits. No root
    needed for ports above 1023.

    \b
    Example (the proxy must allow CONNECT to this port):
      pathprobe serve --listen 0.0.0.0:7007 --token s3cret
      pathprobe tunnel --proxy http://proxy:3128 --reflector vm.example.net:7007 --token s3cret
    """
    try:
        address = parse_listen(listen)
    except ValueError as e:
        raise UsageError(str(e)) from None
    secret = token if token is not None else os.environ.get(TOKEN_ENV)
    try:
        serve(address, secret, max_time, progress_to_stderr)
    except OSError as e:
        raise NotMeasuredError(f"cannot listen on {listen}: {e.strerror or e}") from None
