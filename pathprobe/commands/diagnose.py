"""`pathprobe diagnose`: the main job, every leg and direction, verdicts and recommendations."""

import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from pathprobe.commands.common import (
    Output,
    make_context,
    output_options,
    run_measuring,
)
from pathprobe.errors import UsageError
from pathprobe.model import DEFAULT_TARGET
from pathprobe.wire.hostport import HostPort

DIAGNOSE_HELP = """Diagnose the FMC's path through its explicit proxy, leg by leg.

Measures, in order: the local interface and route toward the proxy (name, MTU,
cached PMTU); leg 1 (fmc-proxy) path MTU in both directions, handshake MSS and
clamping, and the size above which segments are reset; the CONNECT (status,
authentication); leg 2 (proxy-upstream) up and down inside the tunnel (down also
with ranged plain-HTTP answers, GET http://HOST/ with Range, where the proxy
forwards them: a lower bound instead of 536 B, or why not); and the
reflector when --reflector is given; whether the proxy decrypts TLS
(PROXY_TLS_INTERCEPTED: the target's certificate issued by another party and
not trusted by the system store or --ca-file; then leg 2 up is measured with
POST bodies through the decrypted session); and whether the FMC can use the
proxy setting at all (PROXY_CONFIG_UNSUPPORTED: a name over 64 characters
with Smart Licensing). Without a proxy there is one leg,
fmc-upstream. A step that cannot run (no root, proxy refuses) is reported as
not measured, with why; nothing is guessed.

Prints a one-line summary, a table per leg and direction, the verdicts, and
recommendations (where, platform, exact command, why) computed from the
measured numbers and never above them. Ctrl-C prints what was measured so far,
marked partial (exit 3 unless a problem was already found).

The proxy comes from --proxy, else HTTPS_PROXY, else the FMC's
/etc/sf/iprep_proxy.conf; the proxy password only from
PATHPROBE_PROXY_PASSWORD or a no-echo prompt, never printed.

Example (the built-in lab):

\b
  pathprobe diagnose --proxy http://198.18.2.2:3128 \\
      --target upstream.pathprobe.test:443
"""


@output_options()
def diagnose_command(
    proxy: Annotated[Optional[str], typer.Option(
        "--proxy", "-x", metavar="URL", help="Proxy http://HOST:PORT. Default: HTTPS_PROXY, "
        "then /etc/sf/iprep_proxy.conf; none found means a direct fmc-upstream leg.")] = None,
    target: Annotated[str, typer.Option(
        "--target", "-t", metavar="HOST:PORT",
        help="What the FMC needs to reach through the proxy.")] = DEFAULT_TARGET,
    proxy_user: Annotated[Optional[str], typer.Option(
        "--proxy-user", "-U", metavar="USER", help="Proxy user (Basic or Digest); the password "
        "comes from PATHPROBE_PROXY_PASSWORD or a prompt.")] = None,
    reflector: Annotated[Optional[str], typer.Option(
        "--reflector", metavar="HOST:PORT", help="A 'pathprobe serve' far end, reached through "
        "the proxy, to measure leg 2 exactly (default: none).")] = None,
    ca_file: Annotated[Optional[Path], typer.Option(
        "--ca-file", metavar="PATH", dir_okay=False,
        help="PEM CA certificates to trust besides the system store when checking whether "
             "the proxy decrypts TLS (like curl's --cacert).")] = None,
    max_probes: Annotated[int, typer.Option(
        "--max-probes", min=10, max=1000, metavar="N",
        help="Upper bound on probes per size search.")] = 100,
    *, out: Output,
) -> None:
    from pathprobe.diagnosis import DiagnoseConfig
    from pathprobe.probes.tls_check import check_ca_file
    from pathprobe.proxyconf import discover_proxy, get_credentials

    try:
        far = HostPort.parse(target, default_port=443)
        reflector_at = (HostPort.parse(reflector, default_port=443) if reflector is not None
                        else None)
    except ValueError as e:
        raise UsageError(str(e)) from None
    trusted = check_ca_file(ca_file) if ca_file is not None else None
    found = discover_proxy(proxy)
    credentials = get_credentials(proxy_user, found)
    cfg = DiagnoseConfig(target=far, proxy=found,
                         credentials=credentials, reflector=reflector_at, max_probes=max_probes,
                         ca_file=trusted)
    out = out.hiding(credentials, os.environ.get("PATHPROBE_REFLECTOR_TOKEN"))
    run_measuring("diagnose", cfg.measure, out, context=make_context(found, str(far)),
                  leg2_target=str(far) if found is not None else None)


diagnose_command.__doc__ = DIAGNOSE_HELP
