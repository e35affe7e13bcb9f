"""Proxy discovery order, URL and FMC file parsing, credentials that never show."""

from __future__ import annotations

from pathlib import Path

import pytest

from pathprobe.errors import UsageError
from pathprobe.model import Credentials
from pathprobe.proxyconf import (
    PASSWORD_ENV,
    discover_proxy,
    get_credentials,
    parse_fmc_proxy_conf,
    parse_proxy_url,
)

# The article's /etc/sf/iprep_proxy.conf, with a documentation-range address.
FMC_CONF = "iprep_proxy {\n  PROXY_HOST 198.18.2.2;\n  PROXY_PORT 3128;\n}\n"


def test_discovery_order(tmp_path: Path) -> None:
    conf = tmp_path / "iprep_proxy.conf"
    conf.write_text(FMC_CONF)
    env = {"HTTPS_PROXY": "http://198.18.9.9:8080", "https_proxy": "http://198.18.9.8:8081"}
    p = discover_proxy("http://198.18.2.2:3128", env, conf)
    assert p is not None and (p.host, p.port, p.source) == ("198.18.2.2", 3128, "--proxy")
    p = discover_proxy(None, env, conf)
    assert p is not None and (p.host, p.port, p.source) == ("198.18.9.9", 8080, "HTTPS_PROXY")
    p = discover_proxy(None, {"https_proxy": "198.18.9.8:8081"}, conf)
    assert p is not None and (p.port, p.source) == (8081, "https_proxy")
    p = discover_proxy(None, {}, conf)
    assert p is not None and (p.host, p.port, p.source) == ("198.18.2.2", 3128, str(conf))
    assert discover_proxy(None, {}, tmp_path / "missing") is None


@pytest.mark.parametrize(("text", "host", "port"), [
    ("http://proxy.example:3128", "proxy.example", 3128),
    ("http://[2001:db8:2::2]:3128/", "2001:db8:2::2", 3128),
    ("198.18.2.2:80", "198.18.2.2", 80),
    ("http://198.18.2.2", "198.18.2.2", 80),
])
def test_proxy_urls(text: str, host: str, port: int) -> None:
    p = parse_proxy_url(text, "--proxy")
    assert (p.host, p.port) == (host, port)


@pytest.mark.parametrize("text", ["https://p:3128", "socks5://p:1080", "http://:3128",
                                  "http://p:99999", "http://p:3128/path", "http://p q:1"])
def test_bad_proxy_urls_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError):
        parse_proxy_url(text, "--proxy")


def test_password_in_url_is_masked_everywhere() -> None:
    p = parse_proxy_url("http://fmc:s3cr%40t@198.18.2.2:3128", "HTTPS_PROXY")
    assert p.credentials == Credentials("fmc", "s3cr@t")
    assert "s3cr" not in repr(p) and "s3cr" not in str(p.credentials)
    with pytest.raises(UsageError) as e:
        parse_proxy_url("ftp://fmc:topsecret@198.18.2.2:21", "HTTPS_PROXY")
    assert "topsecret" not in str(e.value)


def test_fmc_conf_variants() -> None:
    article = "iprep_proxy {\n  PROXY_HOST 10.10.10.1;\n  PROXY_PORT 80;\n}\n"
    p = parse_fmc_proxy_conf(article)
    assert p is not None and (p.host, p.port) == ("10.10.10.1", 80)
    assert parse_fmc_proxy_conf("iprep_proxy {\n}\n") is None
    p = parse_fmc_proxy_conf('iprep_proxy {\nPROXY_HOST "proxy.corp.example" ;\n}')
    assert p is not None and (p.host, p.port) == ("proxy.corp.example", 80)
    with pytest.raises(UsageError):
        parse_fmc_proxy_conf("PROXY_HOST p;\nPROXY_PORT eighty;\n")


def test_credentials_sources() -> None:
    assert get_credentials(None, None, {}) is None
    c = get_credentials("fmc", None, {PASSWORD_ENV: "lab-secret"})
    assert c == Credentials("fmc", "lab-secret")
    assert "lab-secret" not in repr(c) and "lab-secret" not in f"{c}"
    prompted = get_credentials("fmc", None, {}, prompt=lambda _: "typed", interactive=True)
    assert prompted is not None and prompted.password == "typed"
    with pytest.raises(UsageError, match=PASSWORD_ENV):
        get_credentials("fmc", None, {}, interactive=False)
    with pytest.raises(UsageError):
        get_credentials("a:b", None, {PASSWORD_ENV: "x"})
    from_url = parse_proxy_url("http://u:pw@198.18.2.2:3128", "HTTPS_PROXY")
    assert get_credentials(None, from_url, {}) == Credentials("u", "pw")


LONG_NAME = "proxy-for-smart-licensing-with-a-long-name.egress.corp.example.test"  # 67


@pytest.mark.parametrize("source", ["--proxy", "HTTPS_PROXY", "iprep_proxy.conf"])
def test_fqdn_over_64_characters_is_config_unsupported(source: str, tmp_path: Path) -> None:
    from pathprobe.findings import finish
    from pathprobe.model import Leg, Severity, VerdictCode
    from pathprobe.proxyconf import config_findings
    from pathprobe.render.evidence import describe

    assert len(LONG_NAME) == 67
    if source == "iprep_proxy.conf":
        conf = tmp_path / "iprep_proxy.conf"
        conf.write_text(f"iprep_proxy {{\n  PROXY_HOST {LONG_NAME};\n  PROXY_PORT 3128;\n}}\n")
        p = discover_proxy(None, {}, conf)
    else:
        p = discover_proxy(f"http://{LONG_NAME}:3128" if source == "--proxy" else None,
                           {"HTTPS_PROXY": f"http://{LONG_NAME}:3128"}, tmp_path / "none")
    assert p is not None and p.host == LONG_NAME and p.port == 3128
    report = finish([config_findings(p)], command="tunnel", started="", duration_s=0)
    (v,) = report.verdicts
    assert (v.code, v.leg, v.severity) == (VerdictCode.PROXY_CONFIG_UNSUPPORTED, Leg.FMC_PROXY,
                                           Severity.WARNING)
    assert "67 characters" in describe(v.evidence[0]) and "at most 64" in describe(v.evidence[0])


@pytest.mark.parametrize("host", ["a" * 60 + ".com", "198.18.2.2", "2001:db8:2::2",
                                  "a" * 62 + ".b."])
def test_names_up_to_64_and_addresses_are_fine(host: str) -> None:
    from pathprobe.proxyconf import config_findings

    shown = f"[{host}]" if ":" in host else host
    p = parse_proxy_url(f"http://{shown}:3128", "--proxy")
    assert p.problems == () and config_findings(p).verdicts == ()
    assert config_findings(None).verdicts == ()


def test_missing_port_in_fmc_file_is_stated() -> None:
    from pathprobe.facts.proxyconf import ProxyConfigFact

    p = parse_fmc_proxy_conf("iprep_proxy {\n  PROXY_HOST 198.18.2.2;\n}\n", "conf")
    assert p is not None and p.port == 80
    assert [e.fact for e in p.problems] == [ProxyConfigFact.PORT_MISSING]


@pytest.mark.parametrize(("line", "number"), [
    ("PROXY_HOST = 198.18.2.2;", 2), ("PROXY_HOST 198.18.2.2", 2), ("PROXY_HOST ;", 2),
    ("proxy_host 198.18.2.2;", 2), ("PROXY_HOST 198.18.2.2; PROXY_PORT 3128;", 2),
])
def test_garbled_setting_is_said_never_no_proxy(line: str, number: int) -> None:
    """Issue 23 item 12: a PROXY_HOST line that cannot be read is an error naming it."""
    with pytest.raises(UsageError, match=f"line {number}: cannot read"):
        parse_fmc_proxy_conf(f"iprep_proxy {{\n  {line}\n}}\n", "conf")
    assert parse_fmc_proxy_conf("iprep_proxy {\n# PROXY_HOST was 10.1.1.1\n}\n") is None


def test_fmc_file_that_is_not_one_or_unreadable_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"not an iprep_proxy\.conf"):
        parse_fmc_proxy_conf("\x00\x01garbage here\n", "conf")
    with pytest.raises(UsageError, match="is a directory"):
        discover_proxy(None, {}, tmp_path)   # a directory: unreadable as a file
    assert discover_proxy(None, {}, tmp_path / "absent") is None
