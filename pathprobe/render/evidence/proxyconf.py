"""Sentences for the static proxy-setting checks (pathprobe.facts.proxyconf)."""

from __future__ import annotations

from pathprobe.facts.proxyconf import ProxyConfigFact
from pathprobe.render.evidence.base import Template

TEXT: dict[ProxyConfigFact, Template] = {
    ProxyConfigFact.FQDN_TOO_LONG:
        "proxy host {host} (from {source}) has {length} characters; with Smart Licensing "
        "the FMC accepts a proxy FQDN of at most {limit}: use a shorter name or an address",
    ProxyConfigFact.PORT_MISSING:
        "{source} sets PROXY_HOST but no PROXY_PORT; port {port} was assumed: set the port "
        "explicitly",
}
