"""HostPort: the one HOST:PORT type (issue 22 item 3). String and byte vectors, then
properties: whatever parses writes back to text that parses to the same value."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pathprobe.wire import http_connect as hc
from pathprobe.wire.hostport import HostPort

# --- vectors --------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "default", "host", "port", "written"), [
    ("例え.jp:443", None, "xn--r8jz45g.jp", 443, "xn--r8jz45g.jp:443"),
    ("Bücher.example:8443", None, "xn--bcher-kva.example", 8443, "xn--bcher-kva.example:8443"),
    ("upstream.pathprobe.test:443", None, "upstream.pathprobe.test", 443,
     "upstream.pathprobe.test:443"),
    ("[2001:db8::2]:3128", None, "2001:db8::2", 3128, "[2001:db8::2]:3128"),
    ("198.18.2.2:80", None, "198.18.2.2", 80, "198.18.2.2:80"),
    (" host:1 ", None, "host", 1, "host:1"),
    ("tools.cisco.com", 443, "tools.cisco.com", 443, "tools.cisco.com:443"),
    ("[2001:db8:4::2]:8443", 443, "2001:db8:4::2", 8443, "[2001:db8:4::2]:8443"),
    ("2001:db8:4::2", 443, "2001:db8:4::2", 443, "[2001:db8:4::2]:443"),   # bare v6: default
    ("[2001:db8:4::2]", 443, "2001:db8:4::2", 443, "[2001:db8:4::2]:443"),
])
def test_parse_and_write(text: str, default: int | None, host: str, port: int,
                         written: str) -> None:
    hp = HostPort.parse(text, default)
    assert (hp.host, hp.port) == (host, port)
    assert str(hp) == written
    assert hp.is_ipv6 is (":" in host)
    assert hp.url_host == (f"[{host}]" if ":" in host else host)


@pytest.mark.parametrize("text", [
    "host:\uff14\uff14\uff13",  # Unicode (fullwidth) digits
    "host:\u0664\u0664\u0663",  # Arabic-Indic digits
    "host:+443", "host:0", "host:65536", "host:99999", "host:x", "host:",
    "ho\tst:443", "host:443\r\n", "host\n:443", "\thost:443",
    "a..b:443", "a" * 64 + ".example:443", ".example:443",
    ("a." * 127) + "b:443",  # 255 characters
    "[not-v6]:443", "[2001:db8::1:443", "[2001:db8::1]:", "[2001:db8::1]x",
    "exa mple:443", "bad!name:443", "http://h/", "user@h:443", "", "  ",
    "\u202eevil:443",         # a bidi override
    "xn--a.example\x00:443",
    "tools.cisco.com",        # no port and no default
    "2001:db8::1:443",        # an unbracketed IPv6 address with a port is ambiguous
])
def test_rejects_with_one_value_error(text: str) -> None:
    with pytest.raises(ValueError, match=r"target|host"):
        HostPort.parse(text)


def test_the_connect_request_bytes() -> None:
    assert hc.connect_request(HostPort.parse("例え.jp:443")).startswith(
        b"CONNECT xn--r8jz45g.jp:443 HTTP/1.1\r\nHost: xn--r8jz45g.jp:443\r\n")
    assert hc.connect_request(HostPort("2001:db8::2", 443)).startswith(
        b"CONNECT [2001:db8::2]:443 HTTP/1.1\r\nHost: [2001:db8::2]:443\r\n")
    # text is parsed by the same parser
    assert hc.connect_request("[2001:db8::2]:443") == hc.connect_request(
        HostPort("2001:db8::2", 443))


# --- properties -----------------------------------------------------------------------------

PORTS = st.integers(1, 65535)
NAMES = st.from_regex(r"[a-z][a-z0-9-]{0,20}(\.[a-z0-9-]{1,20}){0,3}\.?", fullmatch=True)
V4 = st.ip_addresses(v=4).map(str)
V6 = st.ip_addresses(v=6).map(lambda a: str(ipaddress.IPv6Address(a)))


@given(st.one_of(NAMES, V4, V6), PORTS)
def test_round_trip(host: str, port: int) -> None:
    hp = HostPort(host, port)
    assert HostPort.parse(str(hp)) == hp
    assert HostPort.parse(hp.url_host, default_port=port) == hp


@settings(max_examples=400)
@given(st.text(max_size=80), st.none() | PORTS)
def test_any_text_parses_to_a_value_that_writes_back_or_is_one_error(
        text: str, default: int | None) -> None:
    try:
        hp = HostPort.parse(text, default)
    except ValueError:
        return
    assert 0 < hp.port < 65536
    assert hp.host.isascii() and hp.host.isprintable() and " " not in hp.host
    assert HostPort.parse(str(hp)) == hp
    hc.connect_request(hp)   # whatever parses can be put on the wire


@given(st.text(st.characters(whitelist_categories=("Ll", "Lo")), min_size=1, max_size=12),
       PORTS)
def test_a_unicode_name_is_written_as_its_idna_form(label: str, port: int) -> None:
    try:
        hp = HostPort.parse(f"{label}.example:{port}")
    except ValueError:
        return
    assert hp.host.isascii() and str(hp) == f"{hp.host}:{port}"
    assert HostPort.parse(str(hp)) == hp


# --- serve --listen: the same parser, ':PORT' meaning every address ---------------------------


@pytest.mark.parametrize(("text", "expected"), [
    (":7007", HostPort("::", 7007)), ("0.0.0.0:7007", HostPort("0.0.0.0", 7007)),
    ("[::1]:8444", HostPort("::1", 8444)), ("[::]:7007", HostPort("::", 7007)),
])
def test_listen_addresses(text: str, expected: HostPort) -> None:
    from pathprobe.reflector import parse_listen

    assert parse_listen(text) == expected


@pytest.mark.parametrize("text", ["7007", "0.0.0.0:0", "0.0.0.0:", "[::1]", "a b:1",
                                  "2001:db8::1:7007", "[::1]:x"])
def test_listen_rejects_with_the_flag_named(text: str) -> None:
    from pathprobe.reflector import parse_listen

    with pytest.raises(ValueError, match="--listen must be ADDR:PORT"):
        parse_listen(text)


# --- analyze --proxy: the same parser through the real CLI, one line and status 2 --------------


@pytest.mark.parametrize(("proxy", "said"), [
    ("198.18.2.2:0", "has no valid port"), ("[zz]:1", "is not an IPv6 address"),
    ("198.18.2.2:+1", "has no valid port"), ("proxy.example:3128", "wants an IP address"),
    ("198.18.2.2:" + "9" * 5000, "has no valid port"),
])
def test_analyze_proxy_is_one_usage_error(proxy: str, said: str) -> None:
    import subprocess
    import sys
    from pathlib import Path

    capture = next((Path(__file__).parents[1] / "fixtures" / "captures").glob("*.pcap*"))
    r = subprocess.run([sys.executable, "-m", "pathprobe", "analyze", str(capture), "--proxy",
                        proxy, "-q"], capture_output=True, text=True, timeout=60, check=False)
    assert r.returncode == 2, r.stderr
    (line,) = r.stderr.strip().splitlines()
    assert "--proxy" in line and said in line
