"""Which proxy to use and with what credentials.

Discovery order (issue 5): ``--proxy``, then ``HTTPS_PROXY`` / ``https_proxy``,
then an FMC's ``/etc/sf/iprep_proxy.conf``. The password never comes from
argv: only ``PATHPROBE_PROXY_PASSWORD`` or a prompt without echo, and it is
masked in every repr so it cannot leak into logs, tracebacks or JSON.
"""

from __future__ import annotations

import getpass
import ipaddress
import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from pathprobe.errors import UsageError

FMC_PROXY_CONF = Path("/etc/sf/iprep_proxy.conf")
PASSWORD_ENV = "PATHPROBE_PROXY_PASSWORD"
MASK = "********"


@dataclass(frozen=True)
class Credentials:
    """A proxy user and password; the password never appears in repr or str."""

    user: str
    password: str = field(repr=False)

    def __repr__(self) -> str:
        return f"Credentials(user={self.user!r}, password={MASK!r})"

    __str__ = __repr__


@dataclass(frozen=True)
class ProxyConfig:
    """An explicit HTTP proxy and where its address came from."""

    host: str
    port: int
    source: str  # "--proxy", "HTTPS_PROXY", "https_proxy", or the FMC file path
    # user:password@ found in a proxy URL (environment variables often carry them).
    credentials: Credentials | None = None

    @property
    def display(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


def _valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return bool(re.fullmatch(r"[A-Za-z0-9]([A-Za-z0-9.-]{0,252})", host))


def parse_proxy_url(text: str, source: str) -> ProxyConfig:
    """``http://[user[:password]@]HOST:PORT`` (or bare ``HOST:PORT``) into a ProxyConfig."""
    raw = text.strip()
    if "://" not in raw:
        raw = "http://" + raw
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError as e:
        raise UsageError(f"{source}: cannot parse proxy {_mask_url(text)!r}: {e}") from None
    if parts.scheme.lower() != "http":
        raise UsageError(f"{source}: only http:// proxies are supported (the FMC speaks plain "
                         f"HTTP CONNECT to its proxy), not {parts.scheme}://")
    host = parts.hostname or ""
    if not host or not _valid_host(host):
        raise UsageError(f"{source}: proxy {_mask_url(text)!r} has no valid host")
    if parts.path not in ("", "/") or parts.query:
        raise UsageError(f"{source}: a proxy is http://HOST:PORT, without a path")
    creds = None
    if parts.username:
        creds = Credentials(unquote(parts.username), unquote(parts.password or ""))
    return ProxyConfig(host, port if port is not None else 80, source, creds)


def _mask_url(text: str) -> str:
    """The URL with any password replaced, safe for error messages."""
    return re.sub(r"(://[^:/@]*:)[^@/]*@", rf"\g<1>{MASK}@", text)


def parse_fmc_proxy_conf(text: str, source: str = str(FMC_PROXY_CONF)) -> ProxyConfig | None:
    """The proxy in an FMC's iprep_proxy.conf (``PROXY_HOST h;`` / ``PROXY_PORT p;``)."""
    values: dict[str, str] = {}
    for m in re.finditer(r"^\s*(PROXY_[A-Z_]+)\s+([^;\s]+)\s*;", text, re.MULTILINE):
        values[m.group(1)] = m.group(2).strip('"')
    host = values.get("PROXY_HOST")
    if not host:
        return None
    port_text = values.get("PROXY_PORT", "80")
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise UsageError(f"{source}: PROXY_PORT {port_text!r} is not a port number")
    if not _valid_host(host):
        raise UsageError(f"{source}: PROXY_HOST {host!r} is not a host name or address")
    return ProxyConfig(host, int(port_text), source)


def discover_proxy(explicit: str | None, env: Mapping[str, str] | None = None,
                   fmc_conf: Path = FMC_PROXY_CONF) -> ProxyConfig | None:
    """The proxy to use: --proxy, HTTPS_PROXY, https_proxy, then the FMC's file; else None."""
    environ = os.environ if env is None else env
    if explicit:
        return parse_proxy_url(explicit, "--proxy")
    for name in ("HTTPS_PROXY", "https_proxy"):
        value = environ.get(name)
        if value:
            return parse_proxy_url(value, name)
    try:
        text = fmc_conf.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    return parse_fmc_proxy_conf(text, str(fmc_conf))


def get_credentials(user: str | None, proxy: ProxyConfig | None = None,
                    env: Mapping[str, str] | None = None,
                    prompt: Callable[[str], str] | None = None,
                    interactive: bool | None = None) -> Credentials | None:
    """Credentials from --proxy-user plus PATHPROBE_PROXY_PASSWORD or a no-echo prompt.

    Without --proxy-user, credentials embedded in the proxy URL are used (if any).
    """
    environ = os.environ if env is None else env
    if user is None:
        return proxy.credentials if proxy is not None else None
    if not user or ":" in user or any(c in user for c in "\r\n"):
        raise UsageError("--proxy-user must be a non-empty user name without ':'")
    password = environ.get(PASSWORD_ENV)
    if password is None:
        tty = sys.stdin.isatty() if interactive is None else interactive
        if not tty:
            raise UsageError(f"--proxy-user needs a password: set {PASSWORD_ENV} or run "
                             "interactively to be prompted (it is never taken from argv)")
        ask = prompt or (lambda text: getpass.getpass(text))
        password = ask(f"proxy password for {user}: ")
    return Credentials(user, password)
