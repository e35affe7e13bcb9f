"""HOST:PORT as one type: parsed once where the user (or a file) gives it, carried typed.

``HostPort.parse`` is the one parser of every HOST:PORT the commands take: IPv6 in
brackets, a Unicode name IDNA-encoded, a default port when the command has one, and
one ValueError that says what is wrong. ``str()`` writes it back the way it goes on
the wire (the CONNECT request-target), so ``parse(str(hp)) == hp``. Pure.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

_LABEL_RE = re.compile(r"[A-Za-z0-9_-]+")  # lenient: internal names break the LDH rules


def check_host(host: str) -> str:
    """A host name or IP address as it goes on the wire; ValueError says what is wrong.

    IP literals are returned as given; a name in Unicode is IDNA-encoded (the
    ``idna`` codec, IDNA 2003) when the standard allows; an ASCII name must be
    labels of 1-63 letters, digits, '-' or '_', 253 characters at most.
    """
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    if not host.isprintable() or any(c.isspace() for c in host):
        raise ValueError(f"host {host!r} contains spaces or control characters")
    name = host
    if not host.isascii():
        try:
            name = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise ValueError(f"host {host!r} is not a valid internationalised "
                             "domain name") from None
    bare = name[:-1] if name.endswith(".") else name
    if not bare or len(bare) > 253:
        raise ValueError(f"host {host!r} is empty or longer than 253 characters")
    for label in bare.split("."):
        if not label:
            raise ValueError(f"host {host!r} has an empty label")
        if len(label) > 63:
            raise ValueError(f"host {host!r} has a label longer than 63 characters")
        if not _LABEL_RE.fullmatch(label):
            raise ValueError(f"host {host!r} may contain only letters, digits, '-', '_' "
                             "and '.'")
    return name


def _split(text: str) -> tuple[str, str]:
    """(host, port text) of 'HOST:PORT', '[V6]:PORT', 'HOST' or '[V6]'."""
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and (not rest.startswith(":") or rest == ":")):
            raise ValueError(f"target {text!r} is not [ADDRESS]:PORT")
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError(f"target {text!r}: [{host}] is not an IPv6 address") from None
        return host, rest[1:]
    if text.count(":") == 1:
        host, port_text = text.split(":")
        if not port_text:
            raise ValueError(f"target {text!r} has an empty port")
        return host, port_text
    return text, ""


def parse_host(text: str) -> tuple[str, int | None]:
    """'HOST[:PORT]' / '[v6][:PORT]' -> (host, port or None): the parser ``HostPort.parse``
    uses, for the places a port is optional (``analyze --proxy``, a Host header or SNI read
    from a capture). ValueError says what is wrong."""
    if not text.isprintable():
        raise ValueError(f"target {text!r} contains control characters (tab, CR, LF, ...)")
    text = text.strip(" ")
    host, port_text = _split(text)
    if not host or any(c in host for c in "/ @"):
        raise ValueError(f"target {text!r} is not HOST:PORT")
    host = check_host(host)
    if not port_text:
        return host, None
    # ASCII digits only: int() would also take fullwidth digits or '+443' (and refuse more
    # than 4300 digits with a message about Python, not about the port).
    port = int(port_text) if (port_text.isascii() and port_text.isdigit()
                              and len(port_text) <= 5) else -1
    if not 0 < port < 65536:
        raise ValueError(f"target {text!r} has no valid port")
    return host, port


def url_host(host: str) -> str:
    """``host`` as written before ':PORT' or in a URL: an IPv6 literal in brackets, so
    that the port cannot be read as its last group."""
    return f"[{host}]" if ":" in host else host


def host_port(host: str, port: int) -> str:
    """'HOST:PORT', '[v6]:PORT'."""
    return f"{url_host(host)}:{port}"


@dataclass(frozen=True)
class HostPort:
    """A checked host (IDNA name or IP literal, IPv6 without brackets) and a port."""

    host: str
    port: int

    @classmethod
    def parse(cls, text: str, default_port: int | None = None) -> HostPort:
        """'HOST:PORT' / '[v6]:PORT' (or a bare host with ``default_port``); ValueError
        says what is wrong (a bare IPv6 address needs brackets when a port follows)."""
        host, port = parse_host(text)
        if port is None:
            if default_port is None:
                raise ValueError(f"target {text.strip(' ')!r} has no port")
            port = default_port
        return cls(host, port)

    @property
    def is_ipv6(self) -> bool:
        """An IPv6 address literal (a name may still resolve to IPv6)."""
        return ":" in self.host

    @property
    def url_host(self) -> str:
        """The host as it is written before ':PORT' or in a URL (IPv6 in brackets)."""
        return url_host(self.host)

    def __str__(self) -> str:
        return host_port(self.host, self.port)


__all__ = ["HostPort", "check_host", "host_port", "parse_host", "url_host"]
