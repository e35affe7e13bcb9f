"""Static checks of the proxy setting the FMC would use (sentences:
pathprobe.render.evidence.proxyconf)."""

from __future__ import annotations

from pathprobe.compat import StrEnum


class ProxyConfigFact(StrEnum):
    """A proxy setting the FMC cannot use; each value is stable (JSON `facts[].fact`)."""

    FQDN_TOO_LONG = "fqdn-too-long"        # {host} has {length} characters, limit {limit}
    PORT_MISSING = "port-missing"          # {source} has no PROXY_PORT; {port} assumed
