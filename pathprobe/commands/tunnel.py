"""`pathprobe tunnel`: measure leg 2 (proxy to upstream) from inside CONNECT tunnels."""

from pathlib import Path
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
from pathprobe.facts.hello import HelloProfile
from pathprobe.model import DEFAULT_TARGET, Direction
from pathprobe.proxyconf import PASSWORD_ENV, discover_proxy, get_credentials


class DirectionChoice(StrEnum):
    UP = "up"
    DOWN = "down"
    BOTH = "both"


ProxyOption = Annotated[Optional[str], typer.Option(
    "--proxy", "-x", metavar="URL",
    help="The explicit proxy, http://HOST:PORT. Default: HTTPS_PROXY, then https_proxy, "
         "then the FMC's /etc/sf/iprep_proxy.conf.")]
TargetOption = Annotated[str, typer.Option(
    "--target", "-t", metavar="HOST:PORT",
    help="What to CONNECT to (a TLS server: it must answer a ClientHello).")]
ProxyUserOption = Annotated[Optional[str], typer.Option(
    "--proxy-user", "-U", metavar="USER",
    help=f"Proxy user (Basic or Digest). The password comes from {PASSWORD_ENV} or a "
         "prompt without echo, never from the command line.")]
ReflectorOption = Annotated[Optional[str], typer.Option(
    "--reflector", metavar="HOST:PORT",
    help="A 'pathprobe serve' reflector reachable through the proxy: byte-exact sizes "
         "in both directions and the SYN MSS as it arrived on leg 2.")]
ReflectorTlsOption = Annotated[bool, typer.Option(
    "--reflector-tls",
    help="Talk TLS to the reflector (started with 'serve --tls'), for proxies that only "
         "pass TLS; write sizes stay exact on the wire.")]
TokenOption = Annotated[Optional[str], typer.Option(
    "--token", envvar="PATHPROBE_REFLECTOR_TOKEN", metavar="TOKEN",
    help="Token the reflector was started with (--token).")]
Leg1PayloadOption = Annotated[Optional[int], typer.Option(
    "--leg1-max-payload", metavar="BYTES", min=68, max=65535,
    help="TCP payload leg 1 is known to carry (from 'pathprobe pmtu'/'mss'): the up "
         "probes' segments stay within it, so leg 2 is measured beyond leg 1's limit and "
         "a failure inside the tunnel is blamed on leg 2 with confidence 'measured'.")]
CaFileOption = Annotated[Optional[Path], typer.Option(
    "--ca-file", metavar="PATH", dir_okay=False,
    help="PEM file of CA certificates to trust besides the system store when checking "
         "whether the proxy decrypts TLS (like curl's --cacert): the target's private CA, "
         "or a decrypting proxy's CA you accept.")]
DirectionOption = Annotated[DirectionChoice, typer.Option(
    "--direction", "-d", case_sensitive=False, help="Which directions of leg 2 to measure.")]
HelloOption = Annotated[HelloProfile, typer.Option(
    "--hello", case_sensitive=False,
    help="Realistic ClientHellos to send through the proxy beside the up search: 'pq' "
         "(X25519MLKEM768 + X25519 key shares, ~1.8 KB, as browsers, OpenSSL 3.5 and Go "
         "send by default), 'classic' (517 B), 'both', or 'none'. Answers 'will a "
         "post-quantum handshake through this proxy work?', per leg.")]

TUNNEL_HELP = """Measure leg 2 (proxy to upstream) from inside CONNECT tunnels.

An explicit proxy splits TCP in two, so ping/tracepath from the FMC only
see leg 1. This opens CONNECT tunnels (Basic/Digest auth) and reports the
proxy's answer as a verdict (403 PROXY_DENIED, 407 PROXY_AUTH_REQUIRED or
PROXY_AUTH_UNSUPPORTED for NTLM/Negotiate, 502-504 PROXY_UPSTREAM_ERROR,
PROXY_UNREACHABLE, CONNECT_NO_RESPONSE). Once a tunnel opens it bisects
the size of one write the far end must answer (a TLS ClientHello that the
server refuses with a 7-byte alert), giving max_payload exactly and the
PMTU range it implies (pmtu_low..pmtu_high), and reads a large answer back
to find black holes and stalls (TUNNEL_STALL) in the down direction.

Without --reflector the down direction is also sized where the proxy
forwards plain HTTP, as the FMC uses it: GET http://HOST/ with Range
requests for answers of a chosen size, bisected. An answer that arrived
whole bounds the limit from below (max_payload_at_least, inferred: the
upstream's header may share the segment); one that never arrived proves no
size. When that is not possible (the proxy refuses plain HTTP, no object,
no Range support, an object under a full segment, a cached answer) the
report says why, and the down size stays the 536-byte lower bound.

Reading the numbers: max_payload is the largest write that crossed leg 2
in one TCP segment; pmtu_low..pmtu_high adds the IP+TCP headers leg 2 may
use (IPv4/IPv6, with or without timestamps; one value with --reflector,
which also sees the proxy's SYN: MSS_CLAMPED on proxy-upstream).
max_payload_at_least means every size up to a full segment crossed.

TLS interception: one real TLS handshake with the target (SNI = its name)
checks the certificate chain against the system store plus --ca-file. A
chain that does not verify, whose certificate names the target but was
issued by another party, is PROXY_TLS_INTERCEPTED (critical; evidence names
subject, issuer and SHA-256 fingerprint); the target's own self-signed
certificate is only a note. A decrypting proxy answers ClientHellos
itself, so then leg 2 up is measured with HTTP POST bodies through the
decrypted session (a stall there: leg 2, inferred, a lower bound only).

Size or content: a limit found with ClientHellos on leg 2 up is stated only
after the same byte count was sent in shapes a hello-reading middlebox
cannot mistake for one large ClientHello (the handshake fragmented over
small records; the record cut in two writes). When those cross, the
finding is TLS_HELLO_DROPPED (critical), e.g. "ClientHello records > 1200 B
dropped; 1500-byte packets cross", never an MTU; the reset variant the same.
--hello pq also gives TLS_HELLO_DROPPED when only the post-quantum hello is
lost while full-size segments cross. Under a decrypting proxy the hellos
are answered by the proxy (leg 1 only); its own hello toward the upstream
shows in the POST bodies.

A proxy name the FMC cannot use (over 64 characters with Smart Licensing,
or an iprep_proxy.conf without PROXY_PORT) is PROXY_CONFIG_UNSUPPORTED
(warning); the measurement goes on.

Every wait is bounded (probe timeouts follow the measured answer times,
0.5-3 s; the TLS check at most 5 s; at most 60 tunnels per direction);
nothing is retried blindly.

\b
Examples:
  pathprobe tunnel --proxy http://198.18.2.2:3128 --target upstream.pathprobe.test:443
  PATHPROBE_PROXY_PASSWORD=... pathprobe tunnel --proxy-user fmc --json
  pathprobe tunnel --reflector vm.example.net:7007 --token s3cret
  pathprobe tunnel --hello pq --direction up
"""


@output_options()
def tunnel_command(
    proxy: ProxyOption = None,
    target: TargetOption = DEFAULT_TARGET,
    proxy_user: ProxyUserOption = None,
    reflector: ReflectorOption = None,
    reflector_tls: ReflectorTlsOption = False,
    token: TokenOption = None,
    leg1_max_payload: Leg1PayloadOption = None,
    ca_file: CaFileOption = None,
    direction: DirectionOption = DirectionChoice.BOTH,
    hello: HelloOption = HelloProfile.BOTH,
    *, out: Output,
) -> None:
    # Imported here, not at module level: `pathprobe --help` stays fast.
    from pathprobe.probes.tls_check import check_ca_file
    from pathprobe.tunnel import TunnelRun, parse_target

    far = parse_target(target)
    reflector_at = parse_target(reflector) if reflector is not None else None
    trusted = check_ca_file(ca_file) if ca_file is not None else None
    config = discover_proxy(proxy)
    if config is None:
        raise UsageError("no proxy: give --proxy http://HOST:PORT or set HTTPS_PROXY "
                         "(no /etc/sf/iprep_proxy.conf here)")
    credentials = get_credentials(proxy_user, config)
    dirs = ((Direction.UP, Direction.DOWN) if direction is DirectionChoice.BOTH
            else (Direction(direction.value),))
    run = TunnelRun(config, far, credentials=credentials, reflector=reflector_at, token=token,
                    reflector_tls=reflector_tls, directions=dirs,
                    leg1_payload=leg1_max_payload, ca_file=trusted, hello=hello)
    run_measuring("tunnel", run.measure, out.hiding(credentials, token),
                  context=make_context(config, target), leg2_target=target)


tunnel_command.__doc__ = TUNNEL_HELP
