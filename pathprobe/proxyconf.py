"""Which proxy to use and with what credentials.

Discovery order (issue 5): ``--proxy``, then ``HTTPS_PROXY`` / ``https_proxy``,
then an FMC's ``/etc/sf/iprep_proxy.conf``. The password never comes from
argv: only ``PATHPROBE_PROXY_PASSWORD`` or a prompt without echo, and it is
masked in every repr so it cannot leak into logs, tracebacks or JSON.

A setting the tool can use but the FMC cannot (a proxy FQDN over 64
characters with Smart Licensing, a missing PROXY_PORT) is kept as typed
evidence on the ``ProxyConfig`` and becomes a ``PROXY_CONFIG_UNSUPPORTED``
finding (``config_findings``) while the measurement goes on; a file that
cannot be read or is not an iprep_proxy.conf at all is a one-line error.
"""

from __future__ import annotations

import getpass
import ipaddress
import os
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from urllib.parse import unquote, urlsplit

from pathprobe.errors import UsageError
from pathprobe.facts.proxyconf import ProxyConfigFact
from pathprobe.infile import NotAFile, read_bounded
from pathprobe.model import (
    Basis,
    Credentials,
    Evidence,
    Leg,
    Measurement,
    Number,
    ProxyConfig,
    Step,
    Verdict,
    VerdictCode,
)
from pathprobe.sanitize import mask_userinfo
from pathprobe.wire.hostport import check_host

FMC_PROXY_CONF = Path("/etc/sf/iprep_proxy.conf")
PASSWORD_ENV = "PATHPROBE_PROXY_PASSWORD"
# Smart Licensing accepts a proxy FQDN of at most this many characters (the article).
FMC_MAX_PROXY_FQDN = 64
DEFAULT_PROXY_PORT = 80


def _host(host: str, what: str) -> str:
    """The proxy host as it goes on the wire (IDNA); UsageError when it cannot be one."""
    try:
        return check_host(host)
    except ValueError as e:
        raise UsageError(f"{what}: {e}") from None


def _port(text: str, what: str) -> int:
    """A port 1-65535 written in ASCII digits (int() would take fullwidth digits or '+80')."""
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) < 65536:
        raise UsageError(f"{what}: port {text!r} is not a number 1-65535")
    return int(text)


def _user(name: str, what: str) -> str:
    if not name or ":" in name or not name.isprintable():
        raise UsageError(f"{what}: the proxy user must be a non-empty name without ':' "
                         "or control characters")
    return name


def parse_proxy_url(text: str, source: str) -> ProxyConfig:
    """``http://[user[:password]@]HOST:PORT`` (or bare ``HOST:PORT``) into a ProxyConfig.

    Every way this can fail is a UsageError naming ``source`` (never the password).
    """
    raw = text.strip()
    if not raw.isprintable():
        raise UsageError(f"{source}: the proxy URL contains control characters")
    if "://" not in raw:
        raw = "http://" + raw
    try:
        parts = urlsplit(raw)
        hostname = parts.hostname
    except ValueError as e:
        raise UsageError(f"{source}: cannot parse proxy {_mask_url(text)!r}: {e}") from None
    if parts.scheme.lower() != "http":
        raise UsageError(f"{source}: only http:// proxies are supported (the FMC speaks plain "
                         f"HTTP CONNECT to its proxy), not {parts.scheme}://")
    if not hostname:
        raise UsageError(f"{source}: proxy {_mask_url(text)!r} has no valid host")
    host = _host(hostname, f"{source}: proxy {_mask_url(text)!r}")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise UsageError(f"{source}: a proxy is http://HOST:PORT, without a path")
    hostport = parts.netloc.rpartition("@")[2]
    port_text = hostport.rpartition("]")[2] if hostport.startswith("[") else hostport
    port = 80
    if ":" in port_text:
        port = _port(port_text.rpartition(":")[2], f"{source}: proxy {_mask_url(text)!r}")
    creds = None
    if parts.username:
        creds = Credentials(_user(unquote(parts.username), source),
                            unquote(parts.password or ""))
    return ProxyConfig(host, port, source, creds, fqdn_problems(host, source))


def fqdn_problems(host: str, source: str) -> tuple[Evidence, ...]:
    """A proxy name longer than Smart Licensing accepts (IP literals have no such limit)."""
    try:
        ipaddress.ip_address(host)
        return ()
    except ValueError:
        pass
    name = host[:-1] if host.endswith(".") else host
    if len(name) <= FMC_MAX_PROXY_FQDN:
        return ()
    return (Evidence(ProxyConfigFact.FQDN_TOO_LONG, Step.LOCAL, {
        "host": name, "source": source, "length": len(name), "limit": FMC_MAX_PROXY_FQDN}),)


def config_findings(proxy: ProxyConfig | None) -> Measurement:
    """PROXY_CONFIG_UNSUPPORTED (leg fmc-proxy) for what the FMC cannot use in the setting;
    an empty Measurement when there is nothing to say."""
    if proxy is None or not proxy.problems:
        return Measurement()
    numbers: dict[str, Number] = {"proxy_host": proxy.host,
                                  "proxy_host_length": len(proxy.host.rstrip("."))}
    return Measurement(verdicts=(Verdict(VerdictCode.PROXY_CONFIG_UNSUPPORTED, Leg.FMC_PROXY,
                                         None, proxy.problems, numbers=numbers,
                                         basis=Basis.PROXY_ANSWER),))


def _mask_url(text: str) -> str:
    """The URL with any password replaced, safe for error messages."""
    return mask_userinfo(text, whole=True)


_SETTING = re.compile(r"\s*(PROXY_[A-Z_]+)\s+([^;\s]+)\s*;\s*$")
_NAMES_A_SETTING = re.compile(r"PROXY_(?:HOST|PORT)", re.IGNORECASE)
# An FMC's iprep_proxy.conf is a few lines; anything this large is something else.
MAX_CONF_BYTES = 64 * 1024


def parse_fmc_proxy_conf(text: str, source: str = str(FMC_PROXY_CONF)) -> ProxyConfig | None:
    """The proxy in an FMC's iprep_proxy.conf (``PROXY_HOST h;`` / ``PROXY_PORT p;``).

    None when the file sets no proxy (no PROXY_HOST); UsageError when it is not an
    iprep_proxy.conf at all, a PROXY_HOST/PROXY_PORT line cannot be read (never taken
    for "no proxy") or a value is unusable; a missing PROXY_PORT is a problem the report
    states (port 80 is assumed)."""
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        m = _SETTING.match(line)
        if m is not None:
            values[m.group(1)] = m.group(2).strip('"')
        elif _NAMES_A_SETTING.search(line) and not line.lstrip().startswith("#"):
            raise UsageError(f"{source}, line {number}: cannot read {line.strip()!r} (expected "
                             "e.g. 'PROXY_HOST 10.10.10.1;'); fix it on the FMC or give --proxy")
    if not values and text.strip() and "iprep_proxy" not in text:
        raise UsageError(f"{source} is not an iprep_proxy.conf (no 'iprep_proxy {{' block, no "
                         "PROXY_HOST line); fix it on the FMC or give --proxy")
    host = values.get("PROXY_HOST")
    if not host:
        return None
    host = _host(host, f"{source}: PROXY_HOST")
    problems = fqdn_problems(host, source)
    port_text = values.get("PROXY_PORT")
    if port_text is None:
        port = DEFAULT_PROXY_PORT
        problems += (Evidence(ProxyConfigFact.PORT_MISSING, Step.LOCAL,
                              {"source": source, "port": port}),)
    else:
        port = _port(port_text, f"{source}: PROXY_PORT")
    return ProxyConfig(host, port, source, problems=problems)


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
    text = read_fmc_conf(fmc_conf)
    return parse_fmc_proxy_conf(text, str(fmc_conf)) if text is not None else None


def read_fmc_conf(path: Path) -> str | None:
    """The text of the FMC's proxy file; None when there is none. Bounded and never
    blocking (``infile.read_bounded``); a file that is there but cannot be used (a
    dangling link, a FIFO, a device, too large, unreadable) is a UsageError, never
    taken for "no proxy"."""
    fix = "fix it on the FMC or give --proxy"
    try:
        data = read_bounded(path, MAX_CONF_BYTES)
    except FileNotFoundError:
        if os.path.islink(path):
            raise UsageError(f"{path} is a link to {os.readlink(path)!r}, which does not "
                             f"exist; {fix}") from None
        return None
    except NotAFile as e:
        raise UsageError(f"{path} is {e}, not a file; {fix}") from None
    except OSError as e:
        raise UsageError(f"cannot read {path}: {e.strerror or e}; run as root or give "
                         "--proxy") from None
    if len(data) > MAX_CONF_BYTES:
        raise UsageError(f"{path} is larger than {MAX_CONF_BYTES // 1024} KiB: not an FMC's "
                         f"iprep_proxy.conf; {fix}")
    return data.decode("utf-8", errors="replace")


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
    _user(user, "--proxy-user")
    password = environ.get(PASSWORD_ENV)
    if password is None:
        tty = sys.stdin.isatty() if interactive is None else interactive
        if not tty:
            raise UsageError(f"--proxy-user needs a password: set {PASSWORD_ENV} or run "
                             "interactively to be prompted (it is never taken from argv)")
        ask = prompt or (lambda text: getpass.getpass(text))
        password = ask(f"proxy password for {user}: ")
    return Credentials(user, password)
